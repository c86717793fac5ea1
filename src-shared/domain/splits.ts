import { seededRandom, shuffleInPlace } from './random'
import type { Split } from './types'

export interface SplitRatiosLike {
  train: number
  val: number
  test: number
}

export const DEFAULT_SPLIT_RATIOS: SplitRatiosLike = { train: 0.8, val: 0.1, test: 0.1 }

/**
 * How many of `n` items go to each split: largest-remainder rounding, so the counts add up to n
 * and no split gets more than its share plus one.
 */
export function splitCounts(n: number, ratios: SplitRatiosLike): Record<Split, number> {
  const keys: Split[] = ['train', 'val', 'test']
  const sum = ratios.train + ratios.val + ratios.test
  if (!(sum > 0)) throw new Error('split ratios must not all be zero')
  const exact = keys.map((k) => (n * ratios[k]) / sum)
  const counts = exact.map(Math.floor)
  let left = n - counts.reduce((a, b) => a + b, 0)
  const order = keys
    .map((_, i) => i)
    .sort((a, b) => exact[b]! - counts[b]! - (exact[a]! - counts[a]!) || a - b)
  for (const i of order) {
    if (left <= 0) break
    counts[i]!++
    left--
  }
  return { train: counts[0]!, val: counts[1]!, test: counts[2]! }
}

/**
 * A seeded, stratified split: within each stratum (class, or "no class"), items are shuffled with
 * the seed and cut by the ratios. Items are sorted by id first, so the result depends only on the
 * ids, strata, ratios and seed, never on the order they were given in.
 */
export function stratifiedSplit<K>(
  items: readonly { id: number; stratum: K }[],
  ratios: SplitRatiosLike,
  seed: number,
): Map<number, Split> {
  const byStratum = new Map<K, number[]>()
  for (const it of [...items].sort((a, b) => a.id - b.id)) {
    let ids = byStratum.get(it.stratum)
    if (!ids) byStratum.set(it.stratum, (ids = []))
    ids.push(it.id)
  }
  const out = new Map<number, Split>()
  const rand = seededRandom(seed)
  for (const ids of byStratum.values()) {
    shuffleInPlace(ids, rand)
    const c = splitCounts(ids.length, ratios)
    ids.forEach((id, i) => out.set(id, i < c.train ? 'train' : i < c.train + c.val ? 'val' : 'test'))
  }
  return out
}

/** FNV-1a over a string's UTF-16 units, then murmur3's finaliser: 32 well-mixed bits. */
function hash32(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/**
 * Splits images one at a time as an import writes them, stratified by class, so each batch is
 * written with its final splits. Each image goes to a split that is owed at least half an image of
 * its share of its class (or else the most owed), counted over the project's automatically split
 * images, the ones already there included; among those it is picked at random in proportion to what
 * each is owed, the randomness coming from the image's own content hash and the seed. So:
 * - a class of one or two images puts them in train;
 * - every class's counts stay under one over (and two under) each share at every moment, and end
 *   exact where the ratios divide evenly (20 cats at 80/10/10: 16/2/2);
 * - a given image goes where its place in the import and its hash say; an import killed and re-run
 *   (which skips the images it already wrote) ends exactly as one that ran uninterrupted.
 */
export class SplitQuota<K> {
  private readonly counts = new Map<K, Record<Split, number>>()
  private readonly shares: Record<Split, number>

  constructor(
    ratios: SplitRatiosLike,
    private readonly seed: number,
    /** The automatically split images already stored, per class. */
    initial: Iterable<[K, Record<Split, number>]> = [],
  ) {
    const sum = ratios.train + ratios.val + ratios.test
    if (!(sum > 0)) throw new Error('split ratios must not all be zero')
    this.shares = { train: ratios.train / sum, val: ratios.val / sum, test: ratios.test / sum }
    for (const [k, c] of initial) this.counts.set(k, { ...c })
  }

  /** The split for the next image of `stratum`, whose content hash is `key`; counted at once. */
  next(stratum: K, key: string): Split {
    let c = this.counts.get(stratum)
    if (!c) this.counts.set(stratum, (c = { train: 0, val: 0, test: 0 }))
    const n = c.train + c.val + c.test + 1
    const keys: Split[] = ['train', 'val', 'test']
    const owed = keys.map((k) => Math.max(0, this.shares[k] * n - c[k]))
    // Only splits owed at least half an image take part (else the most owed): a class's first
    // images go to train, as a rounded split would put them, not to val or test by chance.
    const most = Math.max(...owed)
    const short = owed.map((d) => (d >= 0.5 || d === most ? d : 0))
    const total = short.reduce((a, b) => a + b, 0)
    let u = (hash32(`${this.seed >>> 0}:${key}`) / 4294967296) * total
    let pick: Split = keys[short.findIndex((d) => d > 0)]!
    for (let i = 0; i < keys.length; i++) {
      if (short[i]! <= 0) continue
      pick = keys[i]!
      if (u < short[i]!) break
      u -= short[i]!
    }
    c[pick]++
    return pick
  }
}
