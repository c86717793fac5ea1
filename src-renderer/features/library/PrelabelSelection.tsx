import { useEffect, useRef, useState } from 'react'
import type { RunSummary } from '../../../src-shared/api/train'
import { api, call } from '../../app/api-client'

type Job = { jobId: string; done: number; total: number; failed: number }

/**
 * The library's selection, pre-labelled with a finished detection run: progress and cancel, then
 * the first of them opened in the editor with that run's predictions to accept or correct.
 */
export function PrelabelSelection({
  ids,
  onReview,
}: {
  ids: number[]
  onReview: (imageId: number, runId: number) => void
}) {
  const [runs, setRuns] = useState<RunSummary[]>([])
  const [runId, setRunId] = useState<number | null>(null)
  const [job, setJobState] = useState<Job | null>(null)
  const jobRef = useRef<Job | null>(null)
  /** The selection the running job was started on. */
  const startedOn = useRef<number[]>([])
  const setJob = (j: Job | null) => {
    jobRef.current = j
    setJobState(j)
  }
  const [result, setResult] = useState<{ text: string; runId: number; first: number } | null>(null)
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    let stale = false
    call('runs.list', {}).then(
      (all) => {
        if (stale) return
        const done = all.filter((r) => r.task !== 'classify' && r.status === 'done').reverse()
        setRuns(done)
        setRunId((cur) => cur ?? done[0]?.id ?? null)
      },
      () => undefined,
    )
    return () => {
      stale = true
    }
  }, [])

  useEffect(() => {
    const mine = (jobId: string) => jobRef.current?.jobId === jobId
    const offs = [
      api.on('prelabel.progress', (e) => {
        if (mine(e.jobId)) setJob({ ...jobRef.current!, done: e.done, failed: e.failed })
      }),
      api.on('prelabel.finished', (e) => {
        if (!mine(e.jobId)) return
        setJob(null)
        if (e.error) setError(e.error)
        else
          setResult({
            text: `${e.cancelled ? 'Cancelled: pre-labelled' : 'Pre-labelled'} ${e.done - e.failed.length} of ${e.total}${e.failed.length ? ` (${e.failed.length} failed: ${e.failed[0]!.error})` : ''}.`,
            runId: e.runId,
            first: startedOn.current[0]!,
          })
      }),
    ]
    return () => offs.forEach((off) => off())
  }, [])

  if (!runs.length) return null
  if (job)
    return (
      <span className="prelabel-inline" data-testid="prelabel-selection-progress">
        Pre-labelling {job.done} / {job.total}
        <progress max={job.total} value={job.done} />
        <button onClick={() => void call('prelabel.cancel', { jobId: job.jobId })}>Cancel</button>
      </span>
    )
  return (
    <span className="prelabel-inline">
      {result ? (
        <>
          <span className="small">{result.text}</span>
          <button onClick={() => onReview(result.first, result.runId)} data-testid="prelabel-review">
            Review in the editor
          </button>
        </>
      ) : (
        <>
          <span className="muted">Pre-label with</span>
          <select
            aria-label="Run to pre-label with"
            value={runId ?? ''}
            onChange={(e) => setRunId(Number(e.target.value))}
          >
            {runs.map((r) => (
              <option key={r.id} value={r.id}>
                #{r.id} {r.name}
              </option>
            ))}
          </select>
          <button
            disabled={runId === null}
            onClick={() => {
              setError(null)
              startedOn.current = ids
              call('prelabel.start', { runId: runId!, imageIds: ids }).then(
                (r) => setJob({ jobId: r.jobId, done: 0, total: r.total, failed: 0 }),
                (e: Error) => setError(e.message),
              )
            }}
            data-testid="prelabel-selection"
          >
            Pre-label
          </button>
        </>
      )}
      {error && <span className="error small">{error}</span>}
    </span>
  )
}
