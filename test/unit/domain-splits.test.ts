import { describe, expect, it } from 'vitest'
import { seededRandom, shuffleInPlace } from '../../src-shared/domain/random'
import {
  DEFAULT_SPLIT_RATIOS,
  splitCounts,
  SplitQuota,
  stratifiedSplit,
  type SplitRatiosLike,
} from '../../src-shared/domain/splits'
import type { Split } from '../../src-shared/domain/types'

describe('seededRandom', () => {
  it('gives the same sequence for the same seed', () => {
    const a = seededRandom(123)
    const b = seededRandom(123)
    const sa = Array.from({ length: 50 }, a)
    expect(Array.from({ length: 50 }, b)).toEqual(sa)
  })

  it('gives different sequences for different seeds', () => {
    const a = Array.from({ length: 10 }, seededRandom(1))
    const b = Array.from({ length: 10 }, seededRandom(2))
    expect(a).not.toEqual(b)
  })

  it('stays in [0, 1) and is roughly uniform', () => {
    const r = seededRandom(99)
    const xs = Array.from({ length: 20_000 }, r)
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...xs)).toBeLessThan(1)
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length
    expect(mean).toBeGreaterThan(0.48)
    expect(mean).toBeLessThan(0.52)
    const buckets = new Array(10).fill(0)
    for (const x of xs) buckets[Math.floor(x * 10)]++
    for (const b of buckets) expect(b).toBeGreaterThan(1700)
  })

  it('treats seeds modulo 2^32 (negative and large seeds work)', () => {
    expect(Array.from({ length: 5 }, seededRandom(-1))).toEqual(
      Array.from({ length: 5 }, seededRandom(2 ** 32 - 1)),
    )
    expect(Number.isFinite(seededRandom(2 ** 40)())).toBe(true)
  })
})

describe('shuffleInPlace', () => {
  it('returns a permutation of the same array, deterministically for a seed', () => {
    const xs = Array.from({ length: 30 }, (_, i) => i)
    const a = shuffleInPlace([...xs], seededRandom(5))
    const b = shuffleInPlace([...xs], seededRandom(5))
    expect(a).toEqual(b)
    expect([...a].sort((p, q) => p - q)).toEqual(xs)
    expect(a).not.toEqual(xs)
    const arr = [1, 2, 3]
    expect(shuffleInPlace(arr, seededRandom(1))).toBe(arr)
  })

  it('leaves empty and one-item arrays alone', () => {
    expect(shuffleInPlace([], seededRandom(1))).toEqual([])
    expect(shuffleInPlace(['x'], seededRandom(1))).toEqual(['x'])
  })
})

describe('splitCounts', () => {
  it('splits 10 as 8/1/1 with the default ratios', () => {
    expect(DEFAULT_SPLIT_RATIOS).toEqual({ train: 0.8, val: 0.1, test: 0.1 })
    expect(splitCounts(10, DEFAULT_SPLIT_RATIOS)).toEqual({ train: 8, val: 1, test: 1 })
  })

  it('uses largest remainders (7 at 0.8/0.1/0.1 is 5/1/1)', () => {
    // exact 5.6 / 0.7 / 0.7: val and test have the larger remainders
    expect(splitCounts(7, DEFAULT_SPLIT_RATIOS)).toEqual({ train: 5, val: 1, test: 1 })
    expect(splitCounts(3, { train: 1, val: 1, test: 1 })).toEqual({ train: 1, val: 1, test: 1 })
    // Ties go to the earlier split.
    expect(splitCounts(1, { train: 1, val: 1, test: 1 })).toEqual({ train: 1, val: 0, test: 0 })
    expect(splitCounts(2, { train: 1, val: 1, test: 1 })).toEqual({ train: 1, val: 1, test: 0 })
  })

  it('does not need normalised ratios', () => {
    expect(splitCounts(20, { train: 8, val: 1, test: 1 })).toEqual(splitCounts(20, DEFAULT_SPLIT_RATIOS))
    expect(splitCounts(20, { train: 70, val: 20, test: 10 })).toEqual({ train: 14, val: 4, test: 2 })
  })

  it('gives a zero-ratio split nothing', () => {
    for (let n = 0; n < 30; n++) {
      expect(splitCounts(n, { train: 3, val: 0, test: 1 }).val).toBe(0)
      expect(splitCounts(n, { train: 0, val: 0, test: 1 })).toEqual({ train: 0, val: 0, test: n })
    }
  })

  it('always adds up to n, with each split within one of its share', () => {
    const ratioSets: SplitRatiosLike[] = [
      DEFAULT_SPLIT_RATIOS,
      { train: 0.7, val: 0.15, test: 0.15 },
      { train: 1, val: 1, test: 1 },
      { train: 0.33, val: 0.33, test: 0.34 },
      { train: 5, val: 0, test: 2 },
    ]
    for (const r of ratioSets) {
      const sum = r.train + r.val + r.test
      for (let n = 0; n <= 200; n++) {
        const c = splitCounts(n, r)
        expect(c.train + c.val + c.test).toBe(n)
        for (const k of ['train', 'val', 'test'] as const) {
          const share = (n * r[k]) / sum
          expect(c[k]).toBeGreaterThanOrEqual(Math.floor(share))
          expect(c[k]).toBeLessThanOrEqual(Math.floor(share) + 1)
        }
      }
    }
  })

  it('refuses all-zero ratios', () => {
    expect(() => splitCounts(5, { train: 0, val: 0, test: 0 })).toThrow(/zero/)
  })
})

describe('stratifiedSplit', () => {
  /** 40 of class "a", 25 of "b", 7 of "c", 10 with no class. */
  const items = [
    ...Array.from({ length: 40 }, (_, i) => ({ id: i + 1, stratum: 'a' as string | null })),
    ...Array.from({ length: 25 }, (_, i) => ({ id: 100 + i, stratum: 'b' as string | null })),
    ...Array.from({ length: 7 }, (_, i) => ({ id: 200 + i, stratum: 'c' as string | null })),
    ...Array.from({ length: 10 }, (_, i) => ({ id: 300 + i, stratum: null as string | null })),
  ]
  const asObj = (m: Map<number, Split>) => Object.fromEntries([...m].sort((x, y) => x[0] - y[0]))
  const tally = (m: Map<number, Split>, ids: number[]) => {
    const c: Record<Split, number> = { train: 0, val: 0, test: 0 }
    for (const id of ids) c[m.get(id)!]++
    return c
  }

  it('assigns every item exactly once', () => {
    const m = stratifiedSplit(items, DEFAULT_SPLIT_RATIOS, 42)
    expect(m.size).toBe(items.length)
    expect([...m.keys()].sort((a, b) => a - b)).toEqual(items.map((i) => i.id).sort((a, b) => a - b))
    const c = tally(
      m,
      items.map((i) => i.id),
    )
    expect(c.train + c.val + c.test).toBe(items.length)
  })

  it('keeps each class in proportion (per-stratum counts follow splitCounts)', () => {
    const ratios = { train: 0.7, val: 0.2, test: 0.1 }
    const m = stratifiedSplit(items, ratios, 42)
    for (const s of ['a', 'b', 'c', null]) {
      const ids = items.filter((i) => i.stratum === s).map((i) => i.id)
      expect(tally(m, ids)).toEqual(splitCounts(ids.length, ratios))
    }
    expect(
      tally(
        m,
        items.filter((i) => i.stratum === 'a').map((i) => i.id),
      ),
    ).toEqual({ train: 28, val: 8, test: 4 })
  })

  it('is deterministic for the same seed', () => {
    expect(asObj(stratifiedSplit(items, DEFAULT_SPLIT_RATIOS, 7))).toEqual(
      asObj(stratifiedSplit(items, DEFAULT_SPLIT_RATIOS, 7)),
    )
  })

  it('differs for a different seed', () => {
    expect(asObj(stratifiedSplit(items, DEFAULT_SPLIT_RATIOS, 7))).not.toEqual(
      asObj(stratifiedSplit(items, DEFAULT_SPLIT_RATIOS, 8)),
    )
  })

  it('does not depend on the order the items are given in', () => {
    const base = asObj(stratifiedSplit(items, DEFAULT_SPLIT_RATIOS, 11))
    expect(asObj(stratifiedSplit([...items].reverse(), DEFAULT_SPLIT_RATIOS, 11))).toEqual(base)
    for (let s = 0; s < 5; s++) {
      const shuffled = shuffleInPlace([...items], seededRandom(1000 + s))
      expect(asObj(stratifiedSplit(shuffled, DEFAULT_SPLIT_RATIOS, 11))).toEqual(base)
    }
  })

  it('actually shuffles within a class (not simply the first ids to train)', () => {
    const m = stratifiedSplit(items, DEFAULT_SPLIT_RATIOS, 3)
    const aTest = items.filter((i) => i.stratum === 'a' && m.get(i.id) !== 'train').map((i) => i.id)
    // Had it not shuffled, val/test would be the last 8 ids of "a" (33..40).
    expect(aTest).not.toEqual([33, 34, 35, 36, 37, 38, 39, 40])
  })

  it('handles numeric strata, empty input and a single item', () => {
    expect(stratifiedSplit([], DEFAULT_SPLIT_RATIOS, 1).size).toBe(0)
    expect([...stratifiedSplit([{ id: 5, stratum: 1 }], DEFAULT_SPLIT_RATIOS, 1)]).toEqual([[5, 'train']])
    const m = stratifiedSplit(
      Array.from({ length: 10 }, (_, i) => ({ id: i, stratum: i % 2 })),
      { train: 0.6, val: 0.2, test: 0.2 },
      1,
    )
    expect(tally(m, [0, 2, 4, 6, 8])).toEqual({ train: 3, val: 1, test: 1 })
    expect(tally(m, [1, 3, 5, 7, 9])).toEqual({ train: 3, val: 1, test: 1 })
  })
})

describe('SplitQuota', () => {
  const keys = Array.from({ length: 300 }, (_, i) => `img-${i}`)
  const strata = keys.map((_, i) => (i % 3 === 0 ? 'cat' : i % 3 === 1 ? 'dog' : null))
  const ratios = { train: 0.8, val: 0.1, test: 0.1 }

  it('keeps every class under one over, and two under, its shares at every step; exact where they divide evenly', () => {
    const q = new SplitQuota<string | null>(ratios, 42)
    const c = new Map<string | null, Record<string, number>>()
    keys.forEach((k, i) => {
      const s = strata[i]!
      let t = c.get(s)
      if (!t) c.set(s, (t = { train: 0, val: 0, test: 0 }))
      t[q.next(s, k)]!++
      const n = t.train! + t.val! + t.test!
      for (const split of ['train', 'val', 'test'] as const) {
        expect(t[split]! - n * ratios[split]).toBeLessThan(1 + 1e-9)
        expect(n * ratios[split] - t[split]!).toBeLessThan(2 + 1e-9)
      }
    })
    for (const t of c.values()) expect(t).toEqual({ train: 80, val: 10, test: 10 })
  })

  it('gives an import done in two pieces (the second started from the stored counts) the same splits', () => {
    const whole = new SplitQuota<string | null>(ratios, 7)
    const once = keys.map((k, i) => whole.next(strata[i]!, k))
    for (const cut of [1, 37, 150, 299]) {
      const first = new SplitQuota<string | null>(ratios, 7)
      const a = keys.slice(0, cut).map((k, i) => first.next(strata[i]!, k))
      const stored = new Map<string | null, Record<Split, number>>()
      a.forEach((s, i) => {
        let t = stored.get(strata[i]!)
        if (!t) stored.set(strata[i]!, (t = { train: 0, val: 0, test: 0 }))
        t[s]++
      })
      const second = new SplitQuota<string | null>(ratios, 7, stored)
      const b = keys.slice(cut).map((k, i) => second.next(strata[cut + i]!, k))
      expect([...a, ...b]).toEqual(once)
    }
  })

  it('depends on the seed and on the images, not on a fixed pattern', () => {
    const run = (seed: number, ks: string[]) => {
      const q = new SplitQuota<string>(ratios, seed)
      return ks.map((k) => q.next('x', k))
    }
    expect(run(1, keys)).not.toEqual(run(2, keys))
    expect(run(1, keys)).not.toEqual(
      run(
        1,
        keys.map((k) => `${k}b`),
      ),
    )
    // The val images are not simply every tenth one.
    const val = run(1, keys).flatMap((s, i) => (s === 'val' ? [i % 10] : []))
    expect(new Set(val).size).toBeGreaterThan(3)
  })

  it("puts a class's first images in train, as a rounded split would (none lands in val by chance)", () => {
    for (let i = 0; i < 200; i++) {
      const q = new SplitQuota<string>(ratios, i)
      expect([q.next('x', `a${i}`), q.next('x', `b${i}`), q.next('x', `c${i}`)]).toEqual([
        'train',
        'train',
        'train',
      ])
    }
  })

  it('sends nothing to a split whose ratio is zero', () => {
    const q = new SplitQuota<string>({ train: 3, val: 0, test: 1 }, 1)
    expect(keys.map((k) => q.next('x', k))).not.toContain('val')
  })
})
