import type { Split } from '../../../../src-shared/domain/types'
import { RAW_FORMAT } from '../../../media/decode'
import type { DB } from '../../../store/open'
import { dominantTaggedSize, imageBytesReader, taggedImages } from '../../../store/repos/training'
import { fillPixels, PixelCache, toInputPixels, type InputSize } from '../../host/pixels'
import type { ImageSet } from './data'

/** The project's most common image size, as a model input (grey stays grey; alpha is dropped). */
export function dominantInput(db: DB): InputSize | null {
  const r = dominantTaggedSize(db)
  if (!r) return null
  // Large photos are brought down to at most 256 px on their longer side.
  const scale = Math.min(1, 256 / Math.max(r.width, r.height))
  return {
    width: Math.max(1, Math.round(r.width * scale)),
    height: Math.max(1, Math.round(r.height * scale)),
    channels: r.channels === 1 || r.channels === 2 ? 1 : 3,
  }
}

export interface LoadedData {
  classIds: number[]
  sets: Record<Split, ImageSet>
}

/**
 * Loads every tagged image of the given classes into compact per-split pixel arrays at the input
 * size: raw pixels straight from the store when they already fit, otherwise from the decode cache,
 * decoding (with sharp) only what is not cached yet.
 */
export async function loadClassificationData(
  db: DB,
  projectDir: string,
  input: InputSize,
  classIds: readonly number[],
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<LoadedData> {
  const classIndex = new Map(classIds.map((id, i) => [id, i]))
  const rows = taggedImages(db).filter((r) => classIndex.has(r.classId))
  const size = input.width * input.height * input.channels
  const bytes = imageBytesReader(db)
  const cache = new PixelCache(projectDir, `pixels-${input.width}x${input.height}x${input.channels}`, size)
  const sets = {} as Record<Split, ImageSet>
  let before = 0
  try {
    for (const split of ['train', 'val', 'test'] as const) {
      const list = rows.filter((r) => r.split === split)
      const pixels = new Uint8Array(list.length * size)
      await fillPixels(list, pixels, size, {
        cache,
        direct: (r) =>
          r.format === RAW_FORMAT &&
          r.width === input.width &&
          r.height === input.height &&
          r.channels === input.channels
            ? bytes(r.id)
            : null,
        decode: (r) => toInputPixels(bytes(r.id), r, input),
        signal,
        onProgress: (done) => onProgress?.(before + done, rows.length),
      })
      before += list.length
      sets[split] = {
        width: input.width,
        height: input.height,
        channels: input.channels,
        count: list.length,
        pixels,
        labels: Int32Array.from(list, (r) => classIndex.get(r.classId)!),
        ids: Int32Array.from(list, (r) => r.id),
      }
    }
  } finally {
    cache.close()
  }
  onProgress?.(rows.length, rows.length)
  return { classIds: [...classIds], sets }
}
