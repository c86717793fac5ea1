import { useEffect, useState } from 'react'
import type { ImageMeta, Split } from '../../../src-shared/domain/types'
import { SPLITS } from '../../../src-shared/domain/types'
import { api, call } from '../../app/api-client'
import { useTrain } from './store'

const PAGE = 24
const MAX_PINNED = 64

/** The images whose top-3 each epoch records: typed ids, or picked from a small thumbnail grid. */
export function PinnedPicker({ ids, onChange }: { ids: number[]; onChange: (ids: number[]) => void }) {
  const [text, setText] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [picking, setPicking] = useState(false)

  const add = () => {
    const parts = text.split(/[\s,;]+/).filter(Boolean)
    const nums = parts.map(Number)
    const badOne = parts.find((_p, i) => !Number.isInteger(nums[i]) || nums[i]! < 1)
    if (badOne !== undefined) return setError(`"${badOne}" is not an image id`)
    const next = [...new Set([...ids, ...nums])]
    if (next.length > MAX_PINNED) return setError(`At most ${MAX_PINNED} images can be pinned`)
    setError(null)
    setText('')
    onChange(next)
  }
  const toggle = (id: number) => {
    if (ids.includes(id)) onChange(ids.filter((x) => x !== id))
    else if (ids.length >= MAX_PINNED) setError(`At most ${MAX_PINNED} images can be pinned`)
    else onChange([...ids, id])
  }

  return (
    <div className="pinned-picker" data-testid="pinned-picker">
      <div className="pinned-list" data-testid="pinned-list" data-count={ids.length}>
        {ids.length === 0 && <span className="muted small">None pinned.</span>}
        {ids.map((id) => (
          <span key={id} className="pinned-chip" data-testid="pinned-chip" data-image-id={id}>
            <img src={api.mediaUrl('thumb', id)} alt={`#${id}`} className="pixelated" />#{id}
            <button aria-label={`Unpin ${id}`} onClick={() => toggle(id)}>
              ✕
            </button>
          </span>
        ))}
      </div>
      <div className="row">
        <label>
          Image ids
          <input
            aria-label="Image ids to pin"
            placeholder="e.g. 12, 40, 311"
            value={text}
            onChange={(e) => setText(e.target.value)}
            onKeyDown={(e) => e.key === 'Enter' && add()}
          />
        </label>
        <button onClick={add} disabled={!text.trim()}>
          Pin
        </button>
        <button onClick={() => setPicking((p) => !p)} data-testid="pin-pick">
          {picking ? 'Done' : 'Pick…'}
        </button>
      </div>
      {error && <p className="error small">{error}</p>}
      {picking && <PickGrid pinned={ids} onToggle={toggle} />}
    </div>
  )
}

function PickGrid({ pinned, onToggle }: { pinned: number[]; onToggle: (id: number) => void }) {
  const [split, setSplit] = useState<Split>('test')
  const [page, setPage] = useState(0)
  const [data, setData] = useState<{ total: number; items: ImageMeta[] } | null>(null)
  const [error, setError] = useState<string | null>(null)
  const rememberTruth = useTrain((s) => s.rememberTruth)
  const names = useTrain((s) => s.classes)

  useEffect(() => {
    let stale = false
    call('images.list', { split, offset: page * PAGE, limit: PAGE }).then(
      (r) => {
        if (stale) return
        setData(r)
        rememberTruth(r.items.map((i) => ({ id: i.id, classId: i.classId })))
      },
      (e: Error) => !stale && setError(e.message),
    )
    return () => {
      stale = true
    }
  }, [split, page, rememberTruth])

  const pages = data ? Math.max(1, Math.ceil(data.total / PAGE)) : 1
  return (
    <div className="pick-grid" data-testid="pick-grid">
      <div className="row">
        <div className="tabs">
          {SPLITS.map((s) => (
            <button
              key={s}
              className={s === split ? 'tab on' : 'tab'}
              onClick={() => {
                setSplit(s)
                setPage(0)
              }}
            >
              {s}
            </button>
          ))}
        </div>
        <span className="muted small grow">{data ? `${page + 1} / ${pages}` : '…'}</span>
        <button aria-label="Previous page" disabled={page === 0} onClick={() => setPage((p) => p - 1)}>
          ‹
        </button>
        <button aria-label="Next page" disabled={page + 1 >= pages} onClick={() => setPage((p) => p + 1)}>
          ›
        </button>
      </div>
      {error && <p className="error small">{error}</p>}
      {data?.total === 0 && <p className="muted small">No {split} images.</p>}
      <div className="thumbs">
        {data?.items.map((im) => (
          <button
            key={im.id}
            className={`thumb${pinned.includes(im.id) ? ' on' : ''}`}
            data-testid="pick-thumb"
            data-image-id={im.id}
            title={`#${im.id} · ${names.find((c) => c.id === im.classId)?.name ?? 'unlabeled'}`}
            onClick={() => onToggle(im.id)}
          >
            <img src={api.mediaUrl('thumb', im.id)} alt={`#${im.id}`} className="pixelated" loading="lazy" />
          </button>
        ))}
      </div>
    </div>
  )
}
