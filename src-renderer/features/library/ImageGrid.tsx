import { useVirtualizer } from '@tanstack/react-virtual'
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type MouseEvent } from 'react'
import type { ClassLabel, ImageMeta } from '../../../src-shared/domain/types'
import { api, call } from '../../app/api-client'
import type { Filter } from './LibraryView'

const CELL = 132
const PAGE = 600

/**
 * A virtualised thumbnail grid: only the rows in view (plus a few) are in the DOM, and image rows
 * are fetched a page at a time as they scroll into view, so 70,000 images scroll like 70.
 */
export function ImageGrid({
  filter,
  classes,
  selection,
  onSelectionChange,
  onOpen,
}: {
  filter: Filter
  classes: ClassLabel[]
  selection: Set<number>
  onSelectionChange: (s: Set<number>) => void
  /** Double-click: open the image in the editor. */
  onOpen: (imageId: number) => void
}) {
  const scrollRef = useRef<HTMLDivElement>(null)
  const [width, setWidth] = useState(800)
  const [total, setTotal] = useState<number | null>(null)
  const [pages, setPages] = useState<Map<number, ImageMeta[]>>(new Map())
  const [error, setError] = useState<string | null>(null)
  const requested = useRef(new Set<number>())
  const lastClicked = useRef<number | null>(null)
  const colors = new Map(classes.map((c) => [c.id, c]))

  useLayoutEffect(() => {
    const el = scrollRef.current
    if (!el) return
    const ro = new ResizeObserver(() => setWidth(el.clientWidth))
    ro.observe(el)
    setWidth(el.clientWidth)
    return () => ro.disconnect()
  }, [])

  const loadPage = useCallback(
    (page: number) => {
      if (requested.current.has(page)) return
      requested.current.add(page)
      call('images.list', {
        split: filter.split,
        classId: filter.classId,
        offset: page * PAGE,
        limit: PAGE,
      }).then(
        (r) => {
          setTotal(r.total)
          setPages((old) => new Map(old).set(page, r.items))
        },
        (e: Error) => {
          requested.current.delete(page)
          setError(e.message)
        },
      )
    },
    [filter.split, filter.classId],
  )

  useEffect(() => loadPage(0), [loadPage])

  const columns = Math.max(1, Math.floor(width / CELL))
  const rows = total === null ? 0 : Math.ceil(total / columns)
  // eslint-disable-next-line react-hooks/incompatible-library -- the grid re-renders on scroll by design
  const virtualizer = useVirtualizer({
    count: rows,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => CELL,
    overscan: 4,
  })
  const items = virtualizer.getVirtualItems()

  useEffect(() => {
    if (!items.length) return
    const first = items[0]!.index * columns
    const last = Math.min((items[items.length - 1]!.index + 1) * columns, total ?? 0) - 1
    for (let p = Math.floor(first / PAGE); p <= Math.floor(last / PAGE); p++) loadPage(p)
  }, [items, columns, total, loadPage])

  const imageAt = (i: number): ImageMeta | undefined => pages.get(Math.floor(i / PAGE))?.[i % PAGE]

  const click = (e: MouseEvent, index: number, id: number) => {
    const next = new Set(e.metaKey || e.ctrlKey || e.shiftKey ? selection : [])
    if (e.shiftKey && lastClicked.current !== null) {
      const [a, b] = [Math.min(lastClicked.current, index), Math.max(lastClicked.current, index)]
      for (let i = a; i <= b; i++) {
        const im = imageAt(i)
        if (im) next.add(im.id)
      }
    } else if (next.has(id)) next.delete(id)
    else next.add(id)
    lastClicked.current = index
    onSelectionChange(next)
  }

  return (
    <div className="grid-scroll" ref={scrollRef} data-testid="image-grid">
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
        {items.map((row) => (
          <div
            key={row.key}
            className="grid-row"
            style={{ position: 'absolute', top: 0, transform: `translateY(${row.start}px)`, height: CELL }}
          >
            {Array.from({ length: columns }, (_, col) => {
              const index = row.index * columns + col
              if (total !== null && index >= total) return null
              const im = imageAt(index)
              if (!im) return <div key={col} className="cell placeholder" />
              const cls = im.classId === null ? undefined : colors.get(im.classId)
              return (
                <button
                  key={im.id}
                  className={`cell${selection.has(im.id) ? ' selected' : ''}`}
                  data-testid="thumb"
                  data-image-id={im.id}
                  title={`${im.source}\n${im.width}×${im.height} · ${im.split}${cls ? ` · ${cls.name}` : ''}`}
                  onClick={(e) => click(e, index, im.id)}
                  onDoubleClick={() => onOpen(im.id)}
                >
                  <img
                    src={api.mediaUrl('thumb', im.id)}
                    alt={cls?.name ?? 'unlabeled'}
                    loading="lazy"
                    decoding="async"
                    className={Math.max(im.width, im.height) <= 64 ? 'pixelated' : undefined}
                  />
                  <span className={`badge split-${im.split}`}>{im.split}</span>
                  {cls && (
                    <span className="label" style={{ borderColor: cls.color }}>
                      {cls.name}
                    </span>
                  )}
                </button>
              )
            })}
          </div>
        ))}
      </div>
      {total === 0 && <p className="muted empty">No images match this filter.</p>}
    </div>
  )
}
