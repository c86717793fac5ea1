import { useEffect } from 'react'
import type { ProjectSummary } from '../../../src-shared/api/contract'
import { call } from '../../app/api-client'
import { CompareRuns } from './CompareRuns'
import { ConfigPanel } from './ConfigPanel'
import { ModelIO } from './ModelIO'
import { RunsList } from './RunsList'
import { RunView } from './RunView'
import { useTrain, type MainTab } from './store'
import { useTrainEvents } from './useTrainEvents'
import './train.css'

/**
 * The training lab: the recipe on the left, the selected run (live curves, flipbook, evaluation),
 * a comparison or the model files in the middle, and the project's runs on the right.
 */
export function TrainView({
  project,
  onOpenImage,
}: {
  project: ProjectSummary
  onChanged: () => Promise<void>
  onOpenImage: (imageId: number, runId: number) => void
}) {
  useTrainEvents()
  useEffect(() => {
    useTrain.setState({ openImage: onOpenImage })
    return () => useTrain.setState({ openImage: null })
  }, [onOpenImage])
  const tab = useTrain((s) => s.tab)
  const setTab = useTrain((s) => s.setTab)
  const compareCount = useTrain((s) => s.compareIds.length)
  const error = useTrain((s) => s.error)
  const setError = useTrain((s) => s.setError)

  useEffect(() => {
    const s = useTrain.getState()
    if (s.projectDir !== project.dir) s.reset(project.dir)
    let stale = false
    call('classes.list', {}).then(
      (classes) => !stale && useTrain.setState({ classes }),
      (e: Error) => !stale && setError(e.message),
    )
    call('train.backend', {}).then(
      (expectedBackend) => !stale && useTrain.setState({ expectedBackend }),
      () => undefined,
    )
    void s.refreshRuns().then(() => {
      const now = useTrain.getState()
      if (stale || now.selectedId !== null || !now.runs.length) return
      const running = now.runs.find((r) => r.status === 'running')
      now.select((running ?? now.runs[0]!).id, !!running)
    })
    return () => {
      stale = true
    }
  }, [project.dir, setError])

  const tabButton = (t: MainTab, label: string, disabled = false) => (
    <button
      className={tab === t ? 'tab on' : 'tab'}
      onClick={() => setTab(t)}
      disabled={disabled}
      data-testid={`train-tab-${t}`}
    >
      {label}
    </button>
  )

  return (
    <div className="train-lab" data-testid="train-lab">
      <ConfigPanel />
      <main className="train-main">
        <div className="row">
          <nav className="tabs">
            {tabButton('run', 'Run')}
            {tabButton(
              'compare',
              `Compare${compareCount >= 2 ? ` (${compareCount})` : ''}`,
              compareCount < 2,
            )}
            {tabButton('models', 'Model files')}
          </nav>
        </div>
        {error && (
          <div className="banner error" role="alert">
            {error} <button onClick={() => setError(null)}>Dismiss</button>
          </div>
        )}
        {tab === 'run' && <RunView />}
        {tab === 'compare' && <CompareRuns />}
        {tab === 'models' && <ModelIO />}
      </main>
      <RunsList />
    </div>
  )
}
