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
