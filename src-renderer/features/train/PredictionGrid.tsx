import { useEffect, useState } from 'react'
import { call } from '../../app/api-client'
import { SampleThumb, type Sample } from './SampleModal'
import { useClassNames } from './store'

const PAGE = 36

/** Test predictions, 36 a page, titled "pred (true)": a green border where right, red where wrong. */
export function PredictionGrid({
  runId,
  total,
  onOpen,
}: {
  runId: number
  total: number
  onOpen: (s: Sample) => void
}) {
  const name = useClassNames()
  const [page, setPage] = useState(0)
  const key = `${runId}:${page}`
  const [loaded, setLoaded] = useState<{ key: string; items: Sample[]; error: string | null } | null>(null)
  useEffect(() => {
    let stale = false
    call('runs.predictions', { runId, offset: page * PAGE, limit: PAGE }).then(
      (r) => !stale && setLoaded({ key, items: r, error: null }),
      (e: Error) => !stale && setLoaded({ key, items: [], error: e.message }),
    )
    return () => {
      stale = true
    }
  }, [runId, page, key])
  const pages = Math.max(1, Math.ceil(total / PAGE))
  const items = loaded?.items ?? []
  const right = items.filter((s) => s.trueClassId !== null && s.top3[0]?.classId === s.trueClassId).length
  return (
    <div className="pred-grid-wrap">
      <div className="row">
        <span className="grow muted small">
          Page {page + 1} of {pages}
          {items.length ? ` · ${right} of ${items.length} right on this page` : ''}
        </span>
        <button aria-label="Previous predictions" disabled={page === 0} onClick={() => setPage((p) => p - 1)}>
          ‹ Prev
        </button>
        <button
          aria-label="Next predictions"
          disabled={page + 1 >= pages}
          onClick={() => setPage((p) => p + 1)}
          data-testid="pred-next"
        >
          Next ›
        </button>
      </div>
      {loaded?.error && <p className="error small">{loaded.error}</p>}
      <div
        className={`pred-grid${loaded?.key !== key ? ' loading' : ''}`}
        data-testid="pred-grid"
        data-count={items.length}
      >
        {items.map((s) => (
          <SampleThumb
            key={s.imageId}
            sample={s}
            onOpen={onOpen}
            testid="pred-cell"
            caption={`${name(s.top3[0]?.classId)} (${name(s.trueClassId)})`}
          />
        ))}
      </div>
    </div>
  )
}
