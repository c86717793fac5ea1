import { useCallback, useEffect, useState } from 'react'
import type { ProjectSummary } from '../../src-shared/api/contract'
import { call } from './api-client'
import { ProjectPicker } from '../features/projects/ProjectPicker'
import { ProjectShell } from './ProjectShell'

export function App() {
  const [project, setProject] = useState<ProjectSummary | null>(null)
  const [loading, setLoading] = useState(true)
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    call('app.info', {})
      .then((info) => setProject(info.project))
      .catch((e: Error) => setError(e.message))
      .finally(() => setLoading(false))
  }, [])

  const refresh = useCallback(async () => {
    const info = await call('app.info', {})
    setProject(info.project)
  }, [])

  if (loading) return <div className="splash">Loading…</div>
  return (
    <div className="app">
      {error && (
        <div className="banner error" role="alert">
          {error} <button onClick={() => setError(null)}>Dismiss</button>
        </div>
      )}
      {project ? (
        <ProjectShell project={project} onChanged={refresh} onCloseProject={() => setProject(null)} />
      ) : (
        <ProjectPicker onOpened={setProject} />
      )}
    </div>
  )
}
