import { useState, type FormEvent } from 'react'
import type { ProjectSummary } from '../../../src-shared/api/contract'
import { call } from '../../app/api-client'

/** Create a new project or open one, by folder path (the host's file system). */
export function ProjectPicker({ onOpened }: { onOpened: (p: ProjectSummary) => void }) {
  const [dir, setDir] = useState('')
  const [name, setName] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const go = async (e: FormEvent, mode: 'create' | 'open') => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      onOpened(
        mode === 'create'
          ? await call('project.create', { dir: dir.trim(), name: name.trim() || undefined })
          : await call('project.open', { dir: dir.trim() }),
      )
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }

  return (
    <div className="picker">
      <h1>Smallset</h1>
      <p className="muted">Label a few dozen to a few thousand images, train on your own machine, review.</p>
      <form className="card" onSubmit={(e) => void go(e, 'open')}>
        <label>
          Project folder
          <input
            name="project-dir"
            value={dir}
            onChange={(e) => setDir(e.target.value)}
            placeholder="/home/me/projects/flowers"
            required
          />
        </label>
        <label>
          Name (for a new project)
          <input
            name="project-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="flowers"
          />
        </label>
        <div className="row">
          <button
            type="button"
            className="primary"
            disabled={busy || !dir.trim()}
            onClick={(e) => void go(e, 'create')}
          >
            Create project
          </button>
          <button type="submit" disabled={busy || !dir.trim()}>
            Open project
          </button>
        </div>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </div>
  )
}
