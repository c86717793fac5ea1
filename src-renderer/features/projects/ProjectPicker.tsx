import { useState, type FormEvent } from 'react'
import type { DemoKind, ProjectSummary } from '../../../src-shared/api/contract'
import { call } from '../../app/api-client'

const DEMOS: { kind: DemoKind; title: string; text: string }[] = [
  {
    kind: 'classification',
    title: 'Classification demo',
    text: '300 Fashion-MNIST images in 10 classes: train a classifier and watch it learn.',
  },
  {
    kind: 'detection',
    title: 'Detection demo',
    text: '110 scenes of Fashion-MNIST items on textured backgrounds, with boxes and masks: train a detector.',
  },
]

/** Create a new project or open one, by folder path (the host's file system), or open a demo. */
export function ProjectPicker({ onOpened }: { onOpened: (p: ProjectSummary) => void }) {
  const [dir, setDir] = useState('')
  const [name, setName] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const [demoBusy, setDemoBusy] = useState<DemoKind | null>(null)

  const openDemo = async (kind: DemoKind) => {
    setDemoBusy(kind)
    setError(null)
    try {
      onOpened(await call('project.openDemo', { kind }))
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setDemoBusy(null)
    }
  }

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
      <h2 className="picker-demos-title">Or try a demo project</h2>
      <div className="picker-demos">
        {DEMOS.map((d) => (
          <div key={d.kind} className="card demo-card" data-testid={`demo-${d.kind}`}>
            <b>{d.title}</b>
            <span className="muted small">{d.text}</span>
            <button disabled={busy || demoBusy !== null} onClick={() => void openDemo(d.kind)}>
              {demoBusy === d.kind ? 'Making the demo project…' : `Open the ${d.kind} demo`}
            </button>
          </div>
        ))}
      </div>
    </div>
  )
}
