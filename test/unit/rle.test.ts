import { describe, expect, it } from 'vitest'
import { polygonArea, type PolygonGeom, type Vec } from '../../src-shared/domain/geometry'
import {
  decodeMask,
  decodeToBitmap,
  emptyRle,
  encodeBitmap,
  encodeMask,
  paintStroke,
  polygonToRle,
  polygonsToRle,
  rleArea,
  rleBounds,
  rleFromString,
  rleIou,
  rleLookup,
  rleMerge,
  rleProblem,
  rleToPolygons,
  rleToString,
  rleTranslate,
  rleWithStroke,
  type Rle,
} from '../../src-shared/domain/rle'

/** A deterministic pseudo-random mask, row-major; `density` is the chance a pixel is set. */
function randomMask(seed: number, h: number, w: number, density = 0.5): Uint8Array {
  let a = seed >>> 0 || 1
  const m = new Uint8Array(h * w)
  for (let i = 0; i < m.length; i++) {
    a ^= a << 13
    a >>>= 0
    a ^= a >>> 17
    a ^= a << 5
    a >>>= 0
    m[i] = (a % 1000) / 1000 < density ? 1 : 0
  }
  return m
}

/** Row-major mask from rows of '#' and '.'. */
function art(rows: string[]): { data: Uint8Array; h: number; w: number } {
  const h = rows.length
  const w = rows[0]!.length
  const data = new Uint8Array(h * w)
  rows.forEach((r, y) => [...r].forEach((c, x) => (data[y * w + x] = c === '#' ? 1 : 0)))
  return { data, h, w }
}

/** What pycocotools' encode does: runs down each column, from a run of 0s. */
function naiveCoco(data: Uint8Array, h: number, w: number): number[] {
  const counts: number[] = []
  let p = 0
  let c = 0
  for (let x = 0; x < w; x++)
    for (let y = 0; y < h; y++) {
      const v = data[y * w + x]!
      if (v !== p) {
        counts.push(c)
        c = 0
        p = v
      }
      c++
    }
  counts.push(c)
  return counts
}

describe('RLE in COCO layout', () => {
  it('runs go down columns, starting with 0s', () => {
    // h=2, w=3: [[0,1,1],[0,0,1]] → column-major 0,0 | 1,0 | 1,1
    const { data, h, w } = art(['.##', '..#'])
    expect(encodeMask(data, h, w)).toEqual({ size: [2, 3], counts: [2, 1, 1, 2] })
    expect(encodeMask(new Uint8Array(6).fill(1), 2, 3).counts).toEqual([0, 6])
    expect(encodeMask(new Uint8Array(6), 2, 3).counts).toEqual([6])
    expect(emptyRle(2, 3)).toEqual({ size: [2, 3], counts: [6] })
  })

  it('matches the reference encoder and round-trips on random masks of many shapes', () => {
    for (const [h, w] of [
      [1, 1],
      [1, 7],
      [7, 1],
      [28, 28],
      [13, 31],
      [64, 48],
    ] as const) {
      for (const density of [0, 0.05, 0.5, 0.95, 1]) {
        const m = randomMask(h * 1000 + w + density * 7, h, w, density)
        const rle = encodeMask(m, h, w)
        expect(rle.counts).toEqual(naiveCoco(m, h, w))
        expect(rleProblem(rle)).toBeNull()
        expect(decodeMask(rle)).toEqual(m)
        expect(rleArea(rle)).toBe(m.reduce((s, v) => s + v, 0))
      }
    }
  })

  it('encodes and decodes windows of a larger image', () => {
    const h = 40
    const w = 50
    const win = { x: 7, y: 11, width: 9, height: 5 }
    const inner = randomMask(3, win.height, win.width)
    const rle = encodeBitmap({ ...win, data: inner }, h, w)
    const full = decodeMask(rle)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const inside = x >= win.x && x < win.x + win.width && y >= win.y && y < win.y + win.height
        expect(full[y * w + x]).toBe(inside ? inner[(y - win.y) * win.width + x - win.x] : 0)
      }
    expect(decodeToBitmap(rle, win).data).toEqual(inner)
    expect(() => encodeBitmap({ ...win, x: 45, data: inner }, h, w)).toThrow(/outside/)
  })

  it('finds the bounding box like COCO toBbox, also for runs that wrap into the next column', () => {
    for (let seed = 1; seed < 30; seed++) {
      const h = 5 + (seed % 7)
      const w = 4 + (seed % 5)
      const m = randomMask(seed, h, w, 0.15)
      let x0 = Infinity
      let y0 = Infinity
      let x1 = -1
      let y1 = -1
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          if (m[y * w + x]) {
            x0 = Math.min(x0, x)
            y0 = Math.min(y0, y)
            x1 = Math.max(x1, x)
            y1 = Math.max(y1, y)
          }
      const b = rleBounds(encodeMask(m, h, w))
      if (x1 < 0) expect(b).toEqual({ x: 0, y: 0, width: 0, height: 0 })
      else {
        expect(b.x).toBe(x0)
        expect(b.width).toBe(x1 - x0 + 1)
        // A run that goes on from the bottom of one column to the top of the next spans every row.
        expect(b.y).toBeLessThanOrEqual(y0)
        expect(b.y + b.height - 1).toBeGreaterThanOrEqual(y1)
      }
    }
    const { data, h, w } = art(['....', '.#..', '.##.', '....'])
    expect(rleBounds(encodeMask(data, h, w))).toEqual({ x: 1, y: 1, width: 2, height: 2 })
  })

  it('merges masks run by run as pixel-wise boolean operations', () => {
    const h = 17
    const w = 23
    const a = randomMask(11, h, w, 0.4)
    const b = randomMask(12, h, w, 0.6)
    const ra = encodeMask(a, h, w)
    const rb = encodeMask(b, h, w)
    const ops = {
      union: (x: number, y: number) => x | y,
      intersect: (x: number, y: number) => x & y,
      subtract: (x: number, y: number) => x & (1 - y),
      xor: (x: number, y: number) => x ^ y,
    }
    for (const [op, f] of Object.entries(ops)) {
      const want = a.map((v, i) => f(v, b[i]!))
      const got = rleMerge(ra, rb, op as keyof typeof ops)
      expect(got.counts).toEqual(naiveCoco(want, h, w))
    }
    const inter = rleArea(rleMerge(ra, rb, 'intersect'))
    const uni = rleArea(rleMerge(ra, rb, 'union'))
    expect(rleIou(ra, rb)).toBeCloseTo(inter / uni, 12)
    expect(() => rleMerge(ra, emptyRle(3, 3), 'union')).toThrow(/sizes differ/)
  })

  it('looks up single pixels', () => {
    const h = 9
    const w = 12
    const m = randomMask(5, h, w)
    const has = rleLookup(encodeMask(m, h, w))
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) expect(has(x + 0.5, y + 0.2)).toBe(m[y * w + x] === 1)
    expect(has(-1, 0)).toBe(false)
    expect(has(w, 0)).toBe(false)
  })

  it('moves a mask by whole pixels, cutting off what leaves the image', () => {
    const { data, h, w } = art(['##..', '#...', '....'])
    const moved = decodeMask(rleTranslate(encodeMask(data, h, w), 2, 1))
    expect(moved).toEqual(art(['....', '..##', '..#.']).data)
    const off = decodeMask(rleTranslate(encodeMask(data, h, w), -1, 0))
    expect(off).toEqual(art(['#...', '....', '....']).data)
  })

  it('reports malformed RLEs', () => {
    expect(rleProblem({ size: [2, 2], counts: [1, 2] })).toMatch(/cover 3 pixels/)
    expect(rleProblem({ size: [0, 2], counts: [] })).toMatch(/positive/)
    expect(rleProblem({ size: [1, 2], counts: [1, -1, 2] })).toMatch(/≥ 0/)
  })
})

describe("COCO's compressed string form", () => {
  it('matches hand-worked examples of the pycocotools codec', () => {
    // Deltas from the count two before apply from the fourth count on (i > 2), as in maskApi.c.
    expect(rleToString({ size: [2, 3], counts: [2, 1, 1, 2] })).toBe('2111')
    expect(rleToString({ size: [19, 1], counts: [5, 3, 10, 1] })).toBe('53:N')
    expect(rleFromString('53:N', 19, 1).counts).toEqual([5, 3, 10, 1])
  })

  it('round-trips long and large counts', () => {
    for (const [h, w] of [
      [3000, 4000],
      [28, 28],
    ] as const) {
      const m = randomMask(h, Math.min(h, 300), Math.min(w, 300), 0.3)
      const rle = encodeBitmap(
        { x: 10, y: 20, width: Math.min(w, 300) - 20, height: Math.min(h, 300) - 40, data: m },
        h,
        w,
      )
      const s = rleToString(rle)
      expect(s).toMatch(/^[0-o]*$/)
      expect(rleFromString(s, h, w)).toEqual(rle)
    }
    const big: Rle = { size: [12000, 12000], counts: [143_999_999, 1] }
    expect(rleFromString(rleToString(big), 12000, 12000)).toEqual(big)
  })
})

describe('polygons → mask', () => {
  it('takes the pixels whose centres are inside', () => {
    const h = 5
    const w = 6
    // Pixels x 1..3, y 1..2 (a 3×2 block) in pixel coordinates.
    const square: PolygonGeom = {
      points: [
        [1 / w, 1 / h],
        [4 / w, 1 / h],
        [4 / w, 3 / h],
        [1 / w, 3 / h],
      ],
    }
    const m = decodeMask(polygonToRle(square, h, w))
    expect(m).toEqual(art(['......', '.###..', '.###..', '......', '......']).data)
    // A box just short of a pixel centre takes none of that pixel.
    const thin: PolygonGeom = { points: square.points.map(([x, y]) => [x, y === 1 / h ? 1.6 / h : y] as Vec) }
    expect(rleArea(polygonToRle(thin, h, w))).toBe(3)
  })

  it('cuts holes, clips to the image and unions several polygons', () => {
    const n = 10
    const ring = (x0: number, y0: number, x1: number, y1: number): Vec[] => [
      [x0 / n, y0 / n],
      [x1 / n, y0 / n],
      [x1 / n, y1 / n],
      [x0 / n, y1 / n],
    ]
    const holed: PolygonGeom = { points: ring(1, 1, 9, 9), holes: [ring(3, 3, 7, 7)] }
    expect(rleArea(polygonToRle(holed, n, n))).toBe(64 - 16)
    // Half outside the image: only the inside half counts.
    expect(rleArea(polygonToRle({ points: ring(-5, 0, 5, 10) }, n, n))).toBe(50)
    expect(rleArea(polygonsToRle([{ points: ring(0, 0, 4, 4) }, { points: ring(2, 2, 6, 6) }], n, n))).toBe(
      16 + 16 - 4,
    )
    // Entirely outside: an empty mask.
    expect(rleArea(polygonToRle({ points: ring(20, 20, 30, 30) }, n, n))).toBe(0)
  })

  it('approximates a triangle’s area', () => {
    const tri: PolygonGeom = {
      points: [
        [0.1, 0.1],
        [0.9, 0.1],
        [0.1, 0.9],
      ],
    }
    const area = rleArea(polygonToRle(tri, 200, 200))
    expect(Math.abs(area - polygonArea(tri) * 200 * 200)).toBeLessThan(200)
  })
})

describe('mask → polygons', () => {
  const roundTrip = (data: Uint8Array, h: number, w: number, tolerance = 0) => {
    const rle = encodeMask(data, h, w)
    const polys = rleToPolygons(rle, { tolerance })
    return { rle, polys, back: polygonsToRle(polys, h, w) }
  }

  it('traces a ring with a hole as one polygon with one hole, and gives back the same mask', () => {
    const { data, h, w } = art(['.......', '.#####.', '.#...#.', '.#...#.', '.#####.', '.......'])
    const { rle, polys, back } = roundTrip(data, h, w)
    expect(polys).toHaveLength(1)
    expect(polys[0]!.holes).toHaveLength(1)
    expect(polys[0]!.points).toHaveLength(4)
    expect(back).toEqual(rle)
  })

  it('keeps diagonal neighbours apart (4-connectivity) and islands inside holes', () => {
    const diag = art(['#.', '.#'])
    expect(roundTrip(diag.data, diag.h, diag.w).polys).toHaveLength(2)
    const nested = art(['#######', '#.....#', '#.###.#', '#.#.#.#', '#.###.#', '#.....#', '#######'])
    const { rle, polys, back } = roundTrip(nested.data, nested.h, nested.w)
    expect(polys).toHaveLength(2)
    expect(polys.map((p) => p.holes?.length ?? 0).sort()).toEqual([1, 1])
    expect(back).toEqual(rle)
  })

  it('round-trips random masks exactly, saddles and holes included', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const h = 3 + (seed % 13)
      const w = 2 + ((seed * 7) % 17)
      const m = randomMask(seed * 31, h, w, [0.2, 0.5, 0.8][seed % 3])
      const { rle, back } = roundTrip(m, h, w)
      expect(back).toEqual(rle)
    }
  })

  it('with a tolerance, outlines get shorter but no hole or island is lost', () => {
    const n = 120
    const m = new Uint8Array(n * n)
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) {
        const d = Math.hypot(x + 0.5 - 60, y + 0.5 - 60)
        const small = Math.hypot(x + 0.5 - 10, y + 0.5 - 10) < 1
        m[y * n + x] = (d < 50 && d > 20) || (x === 60 && y === 60) || small ? 1 : 0
      }
    const exact = roundTrip(m, n, n)
    const smooth = roundTrip(m, n, n, 1)
    expect(exact.back).toEqual(exact.rle)
    expect(smooth.polys).toHaveLength(exact.polys.length)
    expect(smooth.polys.map((p) => p.holes?.length ?? 0)).toEqual(
      exact.polys.map((p) => p.holes?.length ?? 0),
    )
    const count = (ps: PolygonGeom[]) =>
      ps.reduce((s, p) => s + p.points.length + (p.holes ?? []).flat().length, 0)
    expect(count(smooth.polys)).toBeLessThan(count(exact.polys) / 3)
    expect(rleIou(smooth.back, exact.rle)).toBeGreaterThan(0.97)
  })

  it('gives nothing for an empty mask', () => {
    expect(rleToPolygons(emptyRle(4, 4))).toEqual([])
  })
})

describe('brush strokes', () => {
  it('a one-pixel brush paints the pixel it is clicked on, a wider one a disc', () => {
    const one = rleWithStroke(null, [[3.9, 2.1]], 0.5, false, 8, 8)
    expect(rleArea(one)).toBe(1)
    expect(rleLookup(one)(3, 2)).toBe(true)
    const disc = rleWithStroke(null, [[10, 10]], 3, false, 20, 20)
    expect(Math.abs(rleArea(disc) - Math.PI * 9)).toBeLessThan(6)
  })

  it('a stroke along a line covers a capsule, clipped to the image', () => {
    const s = rleWithStroke(
      null,
      [
        [-5, 5],
        [25, 5],
      ],
      1,
      false,
      10,
      20,
    )
    // Rows 4 and 5 have centres within 1 px of y = 5, across the whole width.
    expect(rleArea(s)).toBe(40)
  })

  it('adds to a mask and erases from it', () => {
    const base = rleWithStroke(null, [[5, 5]], 2, false, 12, 12)
    const more = rleWithStroke(base, [[9, 9]], 1, false, 12, 12)
    expect(rleArea(more)).toBe(rleArea(base) + rleArea(rleWithStroke(null, [[9, 9]], 1, false, 12, 12)))
    const less = rleWithStroke(more, [[9, 9]], 1.5, true, 12, 12)
    expect(less).toEqual(base)
    expect(rleArea(rleWithStroke(base, [[5, 5]], 5, true, 12, 12))).toBe(0)
  })

  it('paintStroke writes into a window', () => {
    const bm = { x: 2, y: 2, width: 4, height: 4, data: new Uint8Array(16) }
    paintStroke(bm, [[0, 0]], 0.5, 1)
    expect(bm.data.every((v) => v === 0)).toBe(true)
    paintStroke(bm, [[3.5, 3.5]], 0.5, 1)
    expect(bm.data.reduce((a, b) => a + b, 0)).toBe(1)
  })
})
