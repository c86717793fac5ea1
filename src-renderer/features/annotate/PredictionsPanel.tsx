import { useEffect, useState } from 'react'
import type { Detection } from '../../../src-shared/api/train'
import { api, call } from '../../app/api-client'
import { useEditor } from '../../canvas/useEditor'
import type { Editor } from '../../editor/editor'
import { DetectionImage } from '../train/DetectionImage'
import type { Predictions } from './usePredictions'

type Job = { jobId: string; runId: number; done: number; total: number; failed: number }

/**
 * A run's predictions beside the labels: pick the run and a threshold, accept or reject each
 * prediction (or all above the threshold), pre-label unlabeled images with progress and cancel,
 * step through what was pre-labelled, and compare two runs on this image.
 */
export function PredictionsPanel({
  editor,
  imageId,
  p,
  onNextUnreviewed,
}: {
  editor: Editor
  imageId: number | null
  p: Predictions
  onNextUnreviewed: () => void
}) {
  const classes = useEditor(editor, (s) => s.classes)
  const status = useEditor(editor, (s) => s.doc.status)
  const [job, setJob] = useState<Job | null>(null)
  const [jobError, setJobError] = useState<string | null>(null)
  const [compareWith, setCompareWith] = useState<number | null>(null)
  const name = (id: number) => classes.find((c) => c.id === id)?.name ?? `class ${id}`
  const { reload } = p

  useEffect(() => {
    const offs = [
      api.on('prelabel.progress', (e) =>
        setJob((j) => (j && j.jobId === e.jobId ? { ...j, done: e.done, failed: e.failed } : j)),
      ),
      api.on('prelabel.finished', (e) => {
        setJob((j) => (j && j.jobId === e.jobId ? null : j))
        if (e.error) setJobError(e.error)
        else {
          editor.notify(
            `${e.cancelled ? 'Pre-labelling cancelled' : 'Pre-labelled'}: ${e.done - e.failed.length} of ${e.total} image(s)` +
              (e.failed.length
                ? `; ${e.failed.length} failed (#${e.failed[0]!.imageId}: ${e.failed[0]!.error})`
                : '') +
              '. Press U for the next unreviewed one.',
            e.failed.length ? 'warn' : 'info',
          )
          reload()
        }
      }),
    ]
    return () => offs.forEach((off) => off())
  }, [editor, reload])

  const prelabel = async (ids?: number[]) => {
    if (p.runId === null) return
    setJobError(null)
    try {
      const r = await call('prelabel.start', { runId: p.runId, ...(ids && { imageIds: ids }) })
      setJob({ jobId: r.jobId, runId: p.runId, done: 0, total: r.total, failed: 0 })
    } catch (e) {
      setJobError((e as Error).message)
    }
  }

  if (!p.runs.length)
    return (
      <section className="predictions-panel" data-testid="predictions-panel">
        <h4>Predictions</h4>
        <p className="muted small">Train a detector on the Train tab to see its predictions here.</p>
      </section>
    )
  return (
    <section className="predictions-panel" data-testid="predictions-panel">
      <div className="row">
        <h4 className="grow">Predictions</h4>
        <label className="check small" title="O">
          <input type="checkbox" checked={p.visible} onChange={p.toggle} data-testid="overlay-toggle" />
          show (O)
        </label>
      </div>
      <select
        aria-label="Run"
        value={p.runId ?? ''}
        onChange={(e) => p.setRunId(Number(e.target.value))}
        data-testid="overlay-run"
      >
        {p.runs.map((r) => (
          <option key={r.id} value={r.id}>
            #{r.id} {r.name}
          </option>
        ))}
      </select>
      <label className="small">
        Score ≥ {Math.round(p.threshold * 100)}%
        <input
          type="range"
          min={0}
          max={1}
          step={0.01}
          value={p.threshold}
          onChange={(e) => p.setThreshold(Number(e.target.value))}
          aria-label="Prediction threshold"
          data-testid="overlay-threshold"
        />
      </label>
      {p.loaded && (
        <p className="muted small" data-testid="overlay-source">
          {p.loaded.from === 'test'
            ? 'From the run’s test evaluation.'
            : p.loaded.from === 'prelabel'
              ? 'Pre-labelled by the run.'
              : 'The run has not predicted this image yet.'}{' '}
          {p.loaded.from !== 'test' && imageId !== null && !job && (
            <button className="link" onClick={() => void prelabel([imageId])} data-testid="predict-this">
              {p.loaded.from ? 'Predict again' : 'Predict this image'}
            </button>
          )}
        </p>
      )}
      <ol className="prediction-list" data-testid="prediction-list" data-count={p.shown.length}>
        {p.shown.map((s) => (
          <li
            key={s.index}
            className={p.highlighted === s.index ? 'on' : undefined}
            onMouseEnter={() => p.setHighlighted(s.index)}
            data-testid="prediction-item"
          >
            <span className="grow">
              ◇ {name(s.detection.classId)}{' '}
              <span className="muted">{Math.round(s.detection.score * 100)}%</span>
            </span>
            <button onClick={() => p.accept(s.index)} title="Accept as a label (K)" data-testid="accept-one">
              ✓
            </button>
            <button onClick={() => p.reject(s.index)} title="Reject (X)" aria-label="Reject">
              ✕
            </button>
          </li>
        ))}
      </ol>
      <div className="row">
        <button onClick={p.acceptAll} disabled={!p.shown.length} data-testid="accept-all" title="Shift+K">
          Accept all ({p.shown.length})
        </button>
        <button
          onClick={() => editor.setStatus(status === 'reviewed' ? 'labeled' : 'reviewed')}
          data-testid="mark-reviewed"
          title="R"
        >
          {status === 'reviewed' ? 'Reviewed ✓' : 'Mark reviewed'}
        </button>
      </div>
      <div className="prelabel">
        {job ? (
          <div data-testid="prelabel-progress">
            <div className="small">
              Pre-labelling {job.done} / {job.total}
              {job.failed ? ` · ${job.failed} failed` : ''}
            </div>
            <div className="bar">
              <div style={{ width: `${(100 * job.done) / Math.max(1, job.total)}%` }} />
            </div>
            <button onClick={() => void call('prelabel.cancel', { jobId: job.jobId })}>Cancel</button>
          </div>
        ) : (
          <div className="row">
            <button onClick={() => void prelabel()} data-testid="prelabel-start">
              Pre-label unlabeled images
            </button>
            <button onClick={onNextUnreviewed} title="U" data-testid="next-unreviewed">
              Next unreviewed
            </button>
          </div>
        )}
        {jobError && (
          <p className="error small" role="alert">
            {jobError}
          </p>
        )}
      </div>
      {p.runs.length > 1 && imageId !== null && (
        <label className="small">
          Compare with
          <select
            aria-label="Compare with run"
            value={compareWith ?? ''}
            onChange={(e) => setCompareWith(e.target.value ? Number(e.target.value) : null)}
            data-testid="compare-run"
          >
            <option value="">—</option>
            {p.runs
              .filter((r) => r.id !== p.runId)
              .map((r) => (
                <option key={r.id} value={r.id}>
                  #{r.id} {r.name}
                </option>
              ))}
          </select>
        </label>
      )}
      {compareWith !== null && p.runId !== null && imageId !== null && (
        <CompareDialog
          imageId={imageId}
          runs={[p.runId, compareWith]}
          threshold={p.threshold}
          onClose={() => setCompareWith(null)}
        />
      )}
    </section>
  )
}

/** Two runs' predictions on the same image, side by side. */
function CompareDialog({
  imageId,
  runs,
  threshold,
  onClose,
}: {
  imageId: number
  runs: [number, number]
  threshold: number
  onClose: () => void
}) {
  const [dets, setDets] = useState<{ key: string; items: (Detection[] | null)[] } | null>(null)
  const key = `${imageId}:${runs.join(',')}`
  useEffect(() => {
    let stale = false
    Promise.all(
      runs.map((runId) =>
        call('runs.imagePredictions', { runId, imageId }).then(
          (r) => (r.from ? r.detections : null),
          () => null,
        ),
      ),
    ).then((items) => !stale && setDets({ key, items }))
    return () => {
      stale = true
    }
    // `key` is the image and the runs.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key])
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div className="modal compare-runs" onClick={(e) => e.stopPropagation()} data-testid="compare-dialog">
        <div className="row">
          <h3 className="grow">Two runs on image #{imageId}</h3>
          <button onClick={onClose}>Close</button>
        </div>
        <div className="row top">
          {runs.map((runId, i) => (
            <figure key={runId}>
              <figcaption className="small">Run #{runId}</figcaption>
              {dets?.key !== key ? (
                <p className="muted small">Loading…</p>
              ) : dets.items[i] ? (
                <DetectionImage
                  imageId={imageId}
                  detections={dets.items[i]!}
                  threshold={threshold}
                  maxWidth={420}
                  maxHeight={360}
                />
              ) : (
                <p className="muted small">This run has not predicted this image: pre-label it first.</p>
              )}
            </figure>
          ))}
        </div>
      </div>
    </div>
  )
}
