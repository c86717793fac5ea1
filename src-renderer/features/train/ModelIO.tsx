import { useState } from 'react'
import type { Res } from '../../../src-shared/api/contract'
import { call } from '../../app/api-client'
import { Top3List } from './PinnedFlipbook'
import { useClassNames, useTrain } from './store'

/** Model files: export a run's model, import one as a run, and predict files on disk with a run. */
export function ModelIO() {
  const runs = useTrain((s) => s.runs)
  const selectedId = useTrain((s) => s.selectedId)
  const usable = runs.filter((r) => r.status === 'done')
  const [runId, setRunId] = useState<number | null>(null)
  const chosen = runId ?? (usable.some((r) => r.id === selectedId) ? selectedId : (usable[0]?.id ?? null))

  return (
    <div className="model-io" data-testid="model-io">
      <div className="card">
        <label>
          Run
          <select
            aria-label="Run for export and prediction"
            value={chosen ?? ''}
            onChange={(e) => setRunId(e.target.value ? Number(e.target.value) : null)}
            data-testid="io-run"
          >
            {!usable.length && <option value="">no finished runs yet</option>}
            {usable.map((r) => (
              <option key={r.id} value={r.id}>
                #{r.id} {r.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ExportModel runId={chosen} />
      <PredictFiles runId={chosen} />
      <ImportModel onImported={setRunId} />
    </div>
  )
}

function ExportModel({ runId }: { runId: number | null }) {
  const [dir, setDir] = useState('')
  const [files, setFiles] = useState<string[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const run = async () => {
    if (runId === null) return
    setBusy(true)
    setError(null)
    setFiles(null)
    try {
      setFiles((await call('runs.export', { runId, dir: dir.trim() })).files)
    } catch (e) {
      setError((e as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <div className="card">
      <h3>Export the model</h3>
      <p className="muted small">
        Writes TensorFlow.js LayersModel files (model.json, weights.bin) and smallset.json (class names, input
        size, normalisation) into a folder on this machine.
      </p>
      <div className="row">
        <label className="grow">
          Folder
          <input
            aria-label="Export folder"
            placeholder="/path/to/folder"
            value={dir}
            onChange={(e) => setDir(e.target.value)}
          />
        </label>
        <button
          className="primary"
          disabled={busy || runId === null || !dir.trim()}
          onClick={() => void run()}
          data-testid="export-run"
        >
          Export
        </button>
      </div>
      {error && <p className="error small">{error}</p>}
      {files && (
        <ul className="mono small" data-testid="export-files">
          {files.map((f) => (
            <li key={f}>{f}</li>
          ))}
        </ul>
      )}
    </div>
  )
}

function ImportModel({ onImported }: { onImported: (runId: number) => void }) {
  const refreshRuns = useTrain((s) => s.refreshRuns)
  const [dir, setDir] = useState('')
  const [name, setName] = useState('')
  const [done, setDone] = useState<number | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const run = async () => {
    setBusy(true)
    setError(null)
    setDone(null)
    try {
      const { runId } = await call('models.import', { dir: dir.trim(), name: name.trim() || undefined })
      await refreshRuns()
      setDone(runId)
      onImported(runId)
    } catch (e) {
      setError((e as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <div className="card">
      <h3>Import a model</h3>
      <p className="muted small">
        A folder with model.json and its weights (from an export, or another tfjs LayersModel). It becomes a
        finished run to predict with; its classes must be in this project.
      </p>
      <div className="grid2">
        <label>
          Folder
          <input
            aria-label="Import folder"
            placeholder="/path/to/folder"
            value={dir}
            onChange={(e) => setDir(e.target.value)}
          />
        </label>
        <label>
          Name (optional)
          <input aria-label="Imported run name" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
      </div>
      <div className="row">
        <button disabled={busy || !dir.trim()} onClick={() => void run()} data-testid="import-model">
          Import
        </button>
        {done !== null && (
          <span className="ok small" data-testid="import-done">
            Imported as run #{done}.
          </span>
        )}
      </div>
      {error && <p className="error small">{error}</p>}
    </div>
  )
}

function PredictFiles({ runId }: { runId: number | null }) {
  const name = useClassNames()
  const [text, setText] = useState('')
  const [results, setResults] = useState<Res<'models.predict'> | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const paths = text
    .split('\n')
    .map((p) => p.trim())
    .filter(Boolean)
  const run = async () => {
    if (runId === null) return
    setBusy(true)
    setError(null)
    try {
      setResults(await call('models.predict', { runId, paths }))
    } catch (e) {
      setError((e as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <div className="card">
      <h3>Predict new images</h3>
      <label>
        Image files on this machine, one path per line
        <textarea
          aria-label="Image paths"
          rows={4}
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder="/home/me/photos/shoe.png"
        />
      </label>
      <div className="row">
        <button
          className="primary"
          disabled={busy || runId === null || !paths.length || paths.length > 500}
          onClick={() => void run()}
          data-testid="predict-run"
        >
          {busy ? 'Predicting…' : `Predict ${paths.length || ''}`}
        </button>
        {paths.length > 500 && <span className="error small">At most 500 files at a time.</span>}
      </div>
      {error && <p className="error small">{error}</p>}
      {results && (
        <table className="table" data-testid="predict-results">
          <thead>
            <tr>
              <th>File</th>
              <th>Top 3</th>
            </tr>
          </thead>
          <tbody>
            {results.map((r) => (
              <tr key={r.path} data-testid="predict-row">
                <td className="mono small">{r.path}</td>
                <td>
                  {r.top3 ? (
                    <Top3List top3={r.top3} name={name} />
                  ) : (
                    <span className="error small">{r.error}</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}
