import { useState } from 'react'
import type { RunSummary } from '../../../src-shared/api/train'
import { call } from '../../app/api-client'
import { pct } from './format'
import { useTrain } from './store'

/** Every run of the project, newest first: pick one to view, tick two or more to compare. */
export function RunsList() {
  const runs = useTrain((s) => s.runs)
  const selectedId = useTrain((s) => s.selectedId)
  const compareIds = useTrain((s) => s.compareIds)
  const select = useTrain((s) => s.select)
  const toggleCompare = useTrain((s) => s.toggleCompare)
  const setTab = useTrain((s) => s.setTab)

  return (
    <aside className="train-runs" data-testid="runs-list">
      <div className="row">
        <h3 className="grow">Runs</h3>
        <button
          disabled={compareIds.length < 2}
          onClick={() => setTab('compare')}
          data-testid="compare-open"
          title="Tick two or more runs"
        >
          Compare {compareIds.length >= 2 ? compareIds.length : ''}
        </button>
      </div>
      {runs.length === 0 && <p className="muted small">No runs yet. Set up a recipe and start training.</p>}
      <ul className="runs">
        {runs.map((r) => (
          <RunRow
            key={r.id}
            run={r}
            selected={r.id === selectedId}
            compared={compareIds.includes(r.id)}
            onSelect={() => select(r.id, r.status === 'running')}
            onCompare={() => toggleCompare(r.id)}
          />
        ))}
      </ul>
    </aside>
  )
}

function RunRow({
  run,
  selected,
  compared,
  onSelect,
  onCompare,
}: {
  run: RunSummary
  selected: boolean
  compared: boolean
  onSelect: () => void
  onCompare: () => void
}) {
  const refreshRuns = useTrain((s) => s.refreshRuns)
  const setError = useTrain((s) => s.setError)
  const [confirm, setConfirm] = useState(false)
  const remove = async () => {
    try {
      await call('runs.delete', { runId: run.id })
      await refreshRuns()
    } catch (e) {
      setError((e as Error).message)
    } finally {
      setConfirm(false)
    }
  }
  const busy = run.status === 'running' || run.status === 'queued'
  return (
    <li
      className={`run-row${selected ? ' on' : ''}`}
      data-testid="run-row"
      data-run-id={run.id}
      data-status={run.status}
      onClick={onSelect}
    >
      <input
        type="checkbox"
        checked={compared}
        disabled={run.model === 'imported' && !compared}
        title={run.model === 'imported' ? 'An imported model has no curves to compare' : undefined}
        aria-label={`Compare run ${run.id}`}
        onClick={(e) => e.stopPropagation()}
        onChange={onCompare}
        data-testid="run-compare"
      />
      <div className="grow run-main">
        <div className="run-name" title={run.name}>
          {run.name}
        </div>
        <div className="small muted">
          <span className={`status status-${run.status}`}>{run.status}</span> #{run.id} · {run.epochsDone}/
          {run.epochs} ep
          {run.bestEpoch !== null && <> · best ep {run.bestEpoch}</>}
        </div>
      </div>
      <div className="run-acc" title="test accuracy" data-testid="run-test-acc">
        {run.testAccuracy !== null ? pct(run.testAccuracy) : ''}
      </div>
      {confirm ? (
        <span className="confirm" onClick={(e) => e.stopPropagation()}>
          <button className="danger" onClick={() => void remove()} data-testid="run-delete-confirm">
            Delete
          </button>
          <button onClick={() => setConfirm(false)}>Keep</button>
        </span>
      ) : (
        <button
          className="icon"
          aria-label={`Delete run ${run.id}`}
          title={busy ? 'Cancel the run before deleting it' : 'Delete this run'}
          disabled={busy}
          onClick={(e) => {
            e.stopPropagation()
            setConfirm(true)
          }}
          data-testid="run-delete"
        >
          ✕
        </button>
      )}
    </li>
  )
}
