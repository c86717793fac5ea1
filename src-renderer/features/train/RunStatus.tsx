import { useState } from 'react'
import type { RunDetail, RunSummary } from '../../../src-shared/api/train'
import { call } from '../../app/api-client'
import { duration } from './format'
import { asClassify, useTrain } from './store'

/** The engine in use (or expected), with the reason it was picked. */
export function BackendLine({ runId }: { runId: number | null }) {
  const expected = useTrain((s) => s.expectedBackend)
  const live = useTrain((s) => (runId === null ? undefined : s.live[runId]?.backend))
  const runBackend = useTrain((s) => s.runs.find((r) => r.id === runId)?.backend ?? null)
  const info = live ?? (runBackend ? null : expected)
  const name = live?.name ?? runBackend ?? expected?.name
  if (!name) return null
  return (
    <p
      className="backend small"
      data-testid="backend"
      title={info?.tried.map((t) => `${t.ok ? '✓' : '✗'} ${t.name}: ${t.detail}`).join('\n')}
    >
      Backend: <b data-testid="backend-name">{name}</b>
      {info && <span className="muted"> — {info.reason}</span>}
    </p>
  )
}

/** The selected run at a glance: status, progress through the current epoch, speed, ETA and controls. */
export function RunStatus({ summary, detail }: { summary: RunSummary; detail: RunDetail | null }) {
  const batch = useTrain((s) => s.live[summary.id]?.batch)
  const setConfig = useTrain((s) => s.setConfig)
  const refreshRuns = useTrain((s) => s.refreshRuns)
  const select = useTrain((s) => s.select)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const running = summary.status === 'running'

  const act = async (what: 'cancel' | 'resume') => {
    setBusy(true)
    setError(null)
    try {
      if (what === 'cancel') await call('train.cancel', { runId: summary.id })
      else {
        await call('train.resume', { runId: summary.id })
        select(summary.id, true)
      }
      await refreshRuns()
    } catch (e) {
      setError((e as Error).message)
    } finally {
      setBusy(false)
    }
  }

  const progress = running && batch ? batch.batch / batch.batches : null
  const imported = !!(detail?.config as { imported?: boolean } | undefined)?.imported
  return (
    <div
      className="card run-status"
      data-testid="run-status"
      data-status={summary.status}
      data-run-id={summary.id}
    >
      <div className="row top">
        <div className="grow">
          <h3 className="run-title">
            {summary.name} <span className={`status status-${summary.status}`}>{summary.status}</span>
          </h3>
          <p className="muted small">
            run #{summary.id} · {summary.model} · {summary.epochsDone} / {summary.epochs} epochs
          </p>
        </div>
        {(running || summary.status === 'queued') && (
          <button disabled={busy} onClick={() => void act('cancel')} data-testid="train-cancel">
            Cancel
          </button>
        )}
        {(summary.status === 'cancelled' || summary.status === 'failed') && (
          <button
            className="primary"
            disabled={busy}
            onClick={() => void act('resume')}
            data-testid="train-resume"
          >
            Resume
          </button>
        )}
        {detail?.config?.task === 'classify' && !imported && (
          <button
            title="Load this run's settings into the config panel"
            onClick={() => setConfig({ ...asClassify(detail.config!), name: undefined }, true)}
          >
            Use config
          </button>
        )}
      </div>
      <BackendLine runId={summary.id} />
      {running && (
        <div className="progress" data-testid="epoch-progress">
          <div className="row small">
            <span className="grow">
              {batch
                ? `Epoch ${batch.epoch} of ${summary.epochs} · batch ${batch.batch} / ${batch.batches}`
                : 'Loading the data…'}
            </span>
            {batch && (
              <>
                <span data-testid="images-per-s">
                  {Math.round(batch.imagesPerS).toLocaleString('en')} images/s
                </span>
                <span data-testid="eta">ETA {duration(batch.etaS)}</span>
              </>
            )}
          </div>
          <div className="bar">
            <div style={{ width: `${((progress ?? 0) * 100).toFixed(1)}%` }} />
          </div>
        </div>
      )}
      {summary.status === 'queued' && <p className="muted small">Waiting for the runs before it.</p>}
      {summary.error && <p className="error small">{summary.error}</p>}
      {error && (
        <p className="error small" role="alert">
          {error}
        </p>
      )}
    </div>
  )
}
