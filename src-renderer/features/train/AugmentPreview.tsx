import { useEffect, useState } from 'react'
import type { AugmentConfig } from '../../../src-shared/api/train'
import { call } from '../../app/api-client'

/** Nine augmented versions of one image (`augment.preview`), as seed 001 shows them. */
export function AugmentPreview({
  augment,
  pinnedIds,
}: {
  augment: AugmentConfig | null | undefined
  pinnedIds: number[]
}) {
  const [imageId, setImageId] = useState<number | null>(null)
  const [seed, setSeed] = useState(1)
  const [shown, setShown] = useState<{ key: string; images: string[]; error: string | null } | null>(null)
  const [pickError, setPickError] = useState<string | null>(null)
  const key = JSON.stringify([imageId, augment ?? null, seed])

  useEffect(() => {
    if (imageId === null) return
    let stale = false
    const t = setTimeout(() => {
      call('augment.preview', { imageId, augment: augment ?? {}, seed, size: 160 }).then(
        (r) => !stale && setShown({ key, images: r.images, error: null }),
        (e: Error) => !stale && setShown({ key, images: [], error: e.message }),
      )
    }, 250)
    return () => {
      stale = true
      clearTimeout(t)
    }
    // `key` covers imageId, augment and seed.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key])

  const randomTrain = async () => {
    setPickError(null)
    try {
      const first = await call('images.list', { split: 'train', limit: 1 })
      if (!first.total) throw new Error('There are no train images')
      const offset = Math.floor(Math.random() * first.total)
      const r = await call('images.list', { split: 'train', offset, limit: 1 })
      setImageId(r.items[0]!.id)
    } catch (e) {
      setPickError((e as Error).message)
    }
  }

  return (
    <div className="augment-preview" data-testid="augment-preview">
      <div className="row">
        <label>
          Image
          <select
            aria-label="Preview image"
            value={imageId ?? ''}
            onChange={(e) => setImageId(e.target.value ? Number(e.target.value) : null)}
          >
            <option value="">
              {pinnedIds.length ? 'a pinned image…' : 'pin images, or pick a random one'}
            </option>
            {imageId !== null && !pinnedIds.includes(imageId) && <option value={imageId}>#{imageId}</option>}
            {pinnedIds.map((id) => (
              <option key={id} value={id}>
                #{id} (pinned)
              </option>
            ))}
          </select>
        </label>
        <button onClick={() => void randomTrain()} data-testid="augment-random">
          Random train image
        </button>
        <button title="New random draws" disabled={imageId === null} onClick={() => setSeed((s) => s + 1)}>
          ↻
        </button>
      </div>
      {pickError && <p className="error small">{pickError}</p>}
      {!augment && imageId !== null && (
        <p className="muted small">No augmentation: the nine are the image itself.</p>
      )}
      {shown?.error && <p className="error small">{shown.error}</p>}
      {imageId !== null && (
        <div
          className={`aug-grid${shown?.key !== key ? ' loading' : ''}`}
          data-testid="augment-grid"
          data-count={shown?.images.length ?? 0}
        >
          {(shown?.images ?? []).map((src, i) => (
            <img key={i} src={src} alt={`augmented ${i + 1}`} className="pixelated" />
          ))}
        </div>
      )}
    </div>
  )
}
