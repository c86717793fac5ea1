import * as tf from '@tensorflow/tfjs'
import { seededRandom } from '../../../../../src-shared/domain/random'
import type { AugmentParsed } from '../../../augment/affine'
import { makeBatch, type ImageSet, type Normalize } from '../data'

/**
 * Transfer learning's feature cache: each image run once through the frozen backbone (and each
 * training image once more per augmented view), its pooled features kept, so that training the head
 * on top costs a small dense layer per step instead of the backbone's forward pass.
 */

/** Pooled backbone features of a set's images: `views` rows per image (view 0 the image itself). */
export interface FeatureSet {
  count: number
  views: number
  dim: number
  /** count × views × dim, image by image. */
  data: Float32Array
  labels: Int32Array
  ids: Int32Array
}

export interface ExtractOptions {
  norm: Normalize
  /** Rows per image: the image itself, then `views - 1` augmented copies. */
  views: number
  /** The augmentation of views 1 and after. */
  augment: AugmentParsed | null
  seed: number
  batchSize?: number
  signal?: AbortSignal
  /** Images done so far, of this set. */
  onProgress?: (done: number) => void
}

/** Runs every image (and its views) of a set through `features` (input → pooled features). */
export async function extractFeatures(
  features: tf.LayersModel,
  set: ImageSet,
  o: ExtractOptions,
): Promise<FeatureSet> {
  const views = o.augment ? Math.max(1, o.views) : 1
  const dim = (features.outputs[0]!.shape as number[]).at(-1)!
  const data = new Float32Array(set.count * views * dim)
  const rand = seededRandom(o.seed * 7919 + set.count)
  const batch = o.batchSize ?? 32
  for (let v = 0; v < views; v++) {
    for (let start = 0; start < set.count; start += batch) {
      if (o.signal?.aborted) throw new Error('cancelled')
      const idx = Int32Array.from({ length: Math.min(batch, set.count - start) }, (_, i) => start + i)
      const x = makeBatch(set, idx, o.norm, v > 0 && o.augment ? { config: o.augment, rand } : null)
      const out = tf.tidy(() =>
        features.predict(tf.tensor4d(x, [idx.length, set.height, set.width, set.channels])),
      ) as tf.Tensor
      const rows = (await out.data()) as Float32Array
      out.dispose()
      for (let i = 0; i < idx.length; i++)
        data.set(rows.subarray(i * dim, (i + 1) * dim), ((start + i) * views + v) * dim)
      o.onProgress?.(Math.min(set.count, start + idx.length) + v * set.count)
      // Lets the host's event loop run (a cancel arrives there).
      await new Promise<void>((r) => setTimeout(r, 0))
    }
  }
  return { count: set.count, views, dim, data, labels: set.labels, ids: set.ids }
}

/** The rows of the chosen images, one view each (`view(i)` picks it), as a float batch. */
export function featureBatch(
  f: FeatureSet,
  indices: ArrayLike<number>,
  view: (i: number) => number,
): Float32Array {
  const x = new Float32Array(indices.length * f.dim)
  for (let i = 0; i < indices.length; i++) {
    const row = (indices[i]! * f.views + view(i)) * f.dim
    x.set(f.data.subarray(row, row + f.dim), i * f.dim)
  }
  return x
}
