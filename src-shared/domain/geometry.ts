/**
 * Plane geometry for regions. Pure functions over plain numbers: no DOM, no Konva.
 *
 * Two coordinate systems meet here, and every function says which it takes:
 *  - normalised: the image spans [0, 1] × [0, 1] (what the store holds);
 *  - pixels: the image spans [0, width] × [0, height]; pixel (i, j) covers [i, i+1) × [j, j+1), so its
 *    centre is (i + 0.5, j + 0.5) (the COCO convention).
 */

/** A point [x, y]. */
export type Vec = [number, number]

/** An axis-aligned box: top-left corner and size. */
export interface BoxGeom {
  x: number
  y: number
  w: number
  h: number
}

/** A simple polygon: its outer ring, and rings cut out of it (holes). Rings are not closed (no repeated first point). */
export interface PolygonGeom {
  points: Vec[]
  holes?: Vec[][]
}

export interface Size {
  width: number
  height: number
}

export const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v)
export const clamp01 = (v: number): number => clamp(v, 0, 1)

/** The box spanned by two corners, in any order. */
export function boxFromCorners(x0: number, y0: number, x1: number, y1: number): BoxGeom {
  return { x: Math.min(x0, x1), y: Math.min(y0, y1), w: Math.abs(x1 - x0), h: Math.abs(y1 - y0) }
}

/** Clamps a normalised box into the image; what falls outside is cut off. */
export function clampBox(b: BoxGeom): BoxGeom {
  const x0 = clamp01(Math.min(b.x, b.x + b.w))
  const y0 = clamp01(Math.min(b.y, b.y + b.h))
  const x1 = clamp01(Math.max(b.x, b.x + b.w))
  const y1 = clamp01(Math.max(b.y, b.y + b.h))
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 }
}

export function clampPoint(p: Vec): Vec {
  return [clamp01(p[0]), clamp01(p[1])]
}

export function clampPolygon(p: PolygonGeom): PolygonGeom {
  const out: PolygonGeom = { points: p.points.map(clampPoint) }
  if (p.holes?.length) out.holes = p.holes.map((r) => r.map(clampPoint))
  return out
}

/** Signed area of a ring (shoelace). With y pointing down, clockwise on screen is positive. */
export function ringSignedArea(ring: readonly Vec[]): number {
  let s = 0
  for (let i = 0, n = ring.length; i < n; i++) {
    const a = ring[i]!
    const b = ring[(i + 1) % n]!
    s += a[0] * b[1] - b[0] * a[1]
  }
  return s / 2
}

/** Area of a polygon: its outer ring less its holes. Units follow the points' units. */
export function polygonArea(p: PolygonGeom): number {
  let a = Math.abs(ringSignedArea(p.points))
  for (const h of p.holes ?? []) a -= Math.abs(ringSignedArea(h))
  return Math.max(0, a)
}

/** Even-odd test of a point against one ring. */
export function pointInRing(pt: Vec, ring: readonly Vec[]): boolean {
  const [x, y] = pt
  let inside = false
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!
    const [xj, yj] = ring[j]!
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside
  }
  return inside
}

export function pointInPolygon(pt: Vec, p: PolygonGeom): boolean {
  if (!pointInRing(pt, p.points)) return false
  for (const h of p.holes ?? []) if (pointInRing(pt, h)) return false
  return true
}

export function pointInBox(pt: Vec, b: BoxGeom): boolean {
  return pt[0] >= b.x && pt[0] <= b.x + b.w && pt[1] >= b.y && pt[1] <= b.y + b.h
}

/** Distance from a point to the segment a–b. */
export function distToSegment(p: Vec, a: Vec, b: Vec): number {
  const dx = b[0] - a[0]
  const dy = b[1] - a[1]
  const len2 = dx * dx + dy * dy
  let t = len2 ? ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2 : 0
  t = clamp(t, 0, 1)
  const qx = a[0] + t * dx - p[0]
  const qy = a[1] + t * dy - p[1]
  return Math.sqrt(qx * qx + qy * qy)
}

/** Distance from a point to a closed ring's outline. */
export function distToRing(p: Vec, ring: readonly Vec[]): number {
  let d = Infinity
  for (let i = 0; i < ring.length; i++)
    d = Math.min(d, distToSegment(p, ring[i]!, ring[(i + 1) % ring.length]!))
  return d
}

export const dist = (a: Vec, b: Vec): number => Math.hypot(a[0] - b[0], a[1] - b[1])

/** The bounding box of some points (zero box for none). */
export function pointsBounds(points: readonly Vec[]): BoxGeom {
  if (!points.length) return { x: 0, y: 0, w: 0, h: 0 }
  let x0 = Infinity
  let y0 = Infinity
  let x1 = -Infinity
  let y1 = -Infinity
  for (const [x, y] of points) {
    if (x < x0) x0 = x
    if (y < y0) y0 = y
    if (x > x1) x1 = x
    if (y > y1) y1 = y
  }
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 }
}

export function translatePolygon(p: PolygonGeom, dx: number, dy: number): PolygonGeom {
  const move = (r: Vec[]) => r.map(([x, y]) => [x + dx, y + dy] as Vec)
  const out: PolygonGeom = { points: move(p.points) }
  if (p.holes?.length) out.holes = p.holes.map(move)
  return out
}

/** Scales a polygon's coordinates: normalised → pixels with (width, height), pixels → normalised with (1/width, 1/height). */
export function scalePolygon(p: PolygonGeom, sx: number, sy: number): PolygonGeom {
  const sc = (r: Vec[]) => r.map(([x, y]) => [x * sx, y * sy] as Vec)
  const out: PolygonGeom = { points: sc(p.points) }
  if (p.holes?.length) out.holes = p.holes.map(sc)
  return out
}

/** Drops points that repeat their predecessor, or lie on the straight line through their neighbours. */
export function removeCollinear(ring: readonly Vec[], eps = 1e-12): Vec[] {
  const out = ring.slice()
  let i = 0
  let stable = 0
  while (out.length > 3 && stable < out.length) {
    const n = out.length
    i %= n
    const a = out[(i + n - 1) % n]!
    const b = out[i]!
    const c = out[(i + 1) % n]!
    const cross = (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])
    if (Math.abs(cross) <= eps) {
      out.splice(i, 1)
      stable = 0
    } else {
      i++
      stable++
    }
  }
  return out
}

/**
 * Douglas–Peucker simplification of a closed ring: keeps the points that stray more than `tolerance`
 * from the simplified outline. The two anchors are the ring's first point and the point farthest from it.
 */
export function simplifyRing(ring: readonly Vec[], tolerance: number): Vec[] {
  if (tolerance <= 0 || ring.length <= 4) return ring.slice()
  let far = 0
  let farD = -1
  for (let i = 1; i < ring.length; i++) {
    const d = dist(ring[0]!, ring[i]!)
    if (d > farD) {
      farD = d
      far = i
    }
  }
  const keep = new Uint8Array(ring.length)
  keep[0] = 1
  keep[far] = 1
  const stack: [number, number][] = [
    [0, far],
    [far, ring.length],
  ]
  while (stack.length) {
    const [s, e] = stack.pop()!
    const a = ring[s]!
    const b = ring[e % ring.length]!
    let best = -1
    let bestD = tolerance
    for (let i = s + 1; i < e; i++) {
      const d = distToSegment(ring[i]!, a, b)
      if (d > bestD) {
        bestD = d
        best = i
      }
    }
    if (best >= 0) {
      keep[best] = 1
      stack.push([s, best], [best, e])
    }
  }
  return ring.filter((_, i) => keep[i])
}
