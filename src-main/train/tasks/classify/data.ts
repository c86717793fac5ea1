import { seededRandom, shuffleInPlace } from '../../../../src-shared/domain/random'
import { affineFor, sampleParams, warpInto, type AugmentParsed } from '../../augment/affine'

/** A set of same-sized images held as compact uint8 pixels (HWC, row-major), with class indices. */
export interface ImageSet {
  width: number
  height: number
  channels: number
  count: number
  pixels: Uint8Array
  /** Class index (into the run's classIds) of each image. */
  labels: Int32Array
  /** Project image id of each image. */
  ids: Int32Array
}

export interface Normalize {
  mean: number
  std: number
}

export function imageSize(s: Pick<ImageSet, 'width' | 'height' | 'channels'>): number {
  return s.width * s.height * s.channels
}

export interface BatchAugment {
  config: AugmentParsed
  rand: () => number
  /** Only samples at or after this index are augmented (the copy in a doubled set); default 0. */
  from?: number
}

/** Copies the chosen images into a new float batch, scaled to [0,1], augmented, then normalised. */
export function makeBatch(
  set: ImageSet,
  indices: ArrayLike<number>,
  norm: Normalize,
  augment?: BatchAugment | null,
): Float32Array {
  const size = imageSize(set)
  const x = new Float32Array(indices.length * size)
  const scratch = augment ? new Float32Array(size) : null
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i]! * size
    const to = i * size
    if (augment && indices[i]! >= (augment.from ?? 0)) {
      for (let k = 0; k < size; k++) scratch![k] = set.pixels[from + k]! / 255
      const m = affineFor(sampleParams(augment.config, augment.rand), set.width, set.height)
      warpInto(scratch!, x, set.width, set.height, set.channels, m, 0, 0, to)
    } else {
      for (let k = 0; k < size; k++) x[to + k] = set.pixels[from + k]! / 255
    }
  }
  if (norm.mean !== 0 || norm.std !== 1) {
    const inv = 1 / norm.std
    for (let k = 0; k < x.length; k++) x[k] = (x[k]! - norm.mean) * inv
  }
  return x
}

/** A seeded, stratified hold-out of a fraction of a set (for validation when the project has no val split). */
export function holdOut(set: ImageSet, fraction: number, seed: number): { rest: ImageSet; held: ImageSet } {
  const byClass = new Map<number, number[]>()
  for (let i = 0; i < set.count; i++) {
    const l = set.labels[i]!
    if (!byClass.has(l)) byClass.set(l, [])
    byClass.get(l)!.push(i)
  }
  const rand = seededRandom(seed + 17)
  const held: number[] = []
  const rest: number[] = []
  for (const idx of byClass.values()) {
    shuffleInPlace(idx, rand)
    const n = Math.round(idx.length * fraction)
    held.push(...idx.slice(0, n))
    rest.push(...idx.slice(n))
  }
  return {
    rest: subset(
      set,
      rest.sort((a, b) => a - b),
    ),
    held: subset(
      set,
      held.sort((a, b) => a - b),
    ),
  }
}

export function subset(set: ImageSet, indices: readonly number[]): ImageSet {
  const size = imageSize(set)
  const pixels = new Uint8Array(indices.length * size)
  const labels = new Int32Array(indices.length)
  const ids = new Int32Array(indices.length)
  indices.forEach((from, i) => {
    pixels.set(set.pixels.subarray(from * size, (from + 1) * size), i * size)
    labels[i] = set.labels[from]!
    ids[i] = set.ids[from]!
  })
  return { ...set, count: indices.length, pixels, labels, ids }
}

/** One set holding the images of several same-sized sets, in order. */
export function concatSets(sets: readonly ImageSet[]): ImageSet {
  const first = sets[0]!
  const pixels = new Uint8Array(sets.reduce((n, s) => n + s.pixels.length, 0))
  let at = 0
  for (const s of sets) {
    pixels.set(s.pixels, at)
    at += s.pixels.length
  }
  return {
    ...first,
    count: sets.reduce((n, s) => n + s.count, 0),
    pixels,
    labels: Int32Array.from(sets.flatMap((s) => Array.from(s.labels))),
    ids: Int32Array.from(sets.flatMap((s) => Array.from(s.ids))),
  }
}

/** Doubles a set with a second copy that the trainer augments (seed-mlp's "concatenate" variant). */
export function withAugmentedCopy(set: ImageSet): { set: ImageSet; augmentFrom: number } {
  return { set: concatSets([set, set]), augmentFrom: set.count }
}
