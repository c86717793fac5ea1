import { useEffect, useState } from 'react'
import type { Evaluation } from '../../../src-shared/api/train'
import { call } from '../../app/api-client'
import { SampleThumb, type Sample } from './SampleModal'
import { useClassNames } from './store'

/**
 * Rows: the true class; columns: the prediction. Shade follows the share of the row, green on the
 * diagonal and red off it. A cell opens the images in it (`runs.cell`).
 */
export function ConfusionMatrix({
  runId,
  evaluation,
  onOpen,
}: {
  runId: number
  evaluation: Evaluation
  onOpen: (s: Sample) => void
}) {
  const name = useClassNames()
  const [cell, setCell] = useState<{ t: number; p: number } | null>(null)
  const ids = evaluation.classIds
  return (
    <div className="cm-wrap">
      <table className="cm" data-testid="confusion">
        <thead>
          <tr>
            <th className="corner muted small">true ↓ · pred →</th>
            {ids.map((id) => (
              <th key={id} className="cm-col" title={name(id)}>
                <span>{name(id)}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {evaluation.confusion.map((row, i) => {
            const total = row.reduce((a, b) => a + b, 0) || 1
            return (
              <tr key={ids[i]}>
                <th className="cm-row">{name(ids[i])}</th>
                {row.map((n, j) => {
                  const share = n / total
                  const diag = i === j
                  const a = n ? 0.12 + 0.88 * Math.sqrt(share) : 0
                  const on = cell?.t === ids[i] && cell?.p === ids[j]
                  return (
                    <td key={j}>
                      <button
                        className={`cm-cell${on ? ' on' : ''}`}
                        style={{
                          background: diag ? `rgba(47,133,90,${a})` : `rgba(192,57,43,${a})`,
                          color: a > 0.55 ? '#fff' : undefined,
                        }}
                        disabled={!n}
                        title={`${n} × true ${name(ids[i])} predicted ${name(ids[j])} (${(share * 100).toFixed(1)}% of the row)`}
                        data-testid="cm-cell"
                        data-true={ids[i]}
                        data-pred={ids[j]}
                        data-count={n}
                        onClick={() => setCell(on ? null : { t: ids[i]!, p: ids[j]! })}
                      >
                        {n || ''}
                      </button>
                    </td>
                  )
                })}
              </tr>
            )
          })}
        </tbody>
      </table>
      {cell && (
        <CellImages
          runId={runId}
          trueClassId={cell.t}
          predClassId={cell.p}
          onOpen={onOpen}
          onClose={() => setCell(null)}
        />
      )}
    </div>
  )
}

function CellImages({
  runId,
  trueClassId,
  predClassId,
  onOpen,
  onClose,
}: {
  runId: number
  trueClassId: number
  predClassId: number
  onOpen: (s: Sample) => void
  onClose: () => void
}) {
  const name = useClassNames()
  const key = `${runId}:${trueClassId}:${predClassId}`
  const [loaded, setLoaded] = useState<{ key: string; items: Sample[]; error: string | null } | null>(null)
  useEffect(() => {
    let stale = false
    call('runs.cell', { runId, trueClassId, predClassId, limit: 60 }).then(
      (r) => !stale && setLoaded({ key, items: r.map((x) => ({ ...x, trueClassId })), error: null }),
      (e: Error) => !stale && setLoaded({ key, items: [], error: e.message }),
    )
    return () => {
      stale = true
    }
  }, [runId, trueClassId, predClassId, key])
  const cur = loaded?.key === key ? loaded : null
  return (
    <div className="cell-images" data-testid="cell-images">
      <div className="row">
        <h4 className="grow">
          True {name(trueClassId)}, predicted {name(predClassId)}
          {cur ? ` · ${cur.items.length}${cur.items.length === 60 ? '+' : ''}` : ''}
        </h4>
        <button onClick={onClose}>Close</button>
      </div>
      {cur?.error && <p className="error small">{cur.error}</p>}
      {!cur && <p className="muted small">Loading…</p>}
      <div className="samples">
        {cur?.items.map((s) => (
          <SampleThumb key={s.imageId} sample={s} onOpen={onOpen} testid="cell-image" />
        ))}
      </div>
    </div>
  )
}
