import { useEffect, useRef } from 'react'
import type { ImageMeta } from '../../../src-shared/domain/types'
import { api } from '../../app/api-client'

/** The images around the current one, with their status; click one to open it. */
export function Filmstrip({
  items,
  currentId,
  firstIndex,
  onOpen,
}: {
  items: ImageMeta[]
  currentId: number | null
  /** The position of items[0] among all images. */
  firstIndex: number
  onOpen: (id: number) => void
}) {
  const strip = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const el = strip.current?.querySelector<HTMLElement>('.film-item.current')
    el?.scrollIntoView({ block: 'nearest', inline: 'center' })
  }, [currentId, items])
  return (
    <div className="filmstrip" data-testid="filmstrip" ref={strip}>
      {items.map((im, i) => (
        <button
          key={im.id}
          className={`film-item${im.id === currentId ? ' current' : ''}`}
          data-testid="film-item"
          data-image-id={im.id}
          data-status={im.status}
          title={`#${(firstIndex + i + 1).toLocaleString('en')} · ${im.source}\n${im.width}×${im.height} · ${im.status}`}
          onClick={() => onOpen(im.id)}
        >
          <img
            src={api.mediaUrl('thumb', im.id)}
            alt=""
            loading="lazy"
            decoding="async"
            className={Math.max(im.width, im.height) <= 64 ? 'pixelated' : undefined}
          />
          <span className={`dot ${im.status}`} />
        </button>
      ))}
    </div>
  )
}
