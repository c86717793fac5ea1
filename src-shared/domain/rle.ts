/**
 * Binary masks as run-length encodings, in COCO's layout so that pycocotools reads them as they are:
 * `{size: [h, w], counts}` where the runs go down each column in turn (column-major, pixel index
 * x·h + y), alternate 0s and 1s, and start with a (possibly empty) run of 0s. `counts` here is the
 * uncompressed list form; rleToString / rleFromString give COCO's compressed string form.
 *
 * Pixel (x, y) covers [x, x+1) × [y, y+1) in pixel units. Polygons are rasterised by pixel centre, and
 * traced back along pixel edges, so a mask survives mask → polygons → mask exactly, holes included.
 * Pure TypeScript: no DOM, no Node.
 */
import {
  clamp,
  distToSegment,
  pointInRing,
  pointsBounds,
  ringSignedArea,
  scalePolygon,
  simplifyRing,
  type PolygonGeom,
  type Vec,
} from './geometry'

export interface Rle {
  /** [height, width] in pixels. */
  size: [number, number]
  counts: number[]
}

/** A rectangle of pixels: x, y, width, height (integers). */
export interface PixelRect {
  x: number
  y: number
  width: number
  height: number
}

/** A window of a mask: `data` holds width × height bytes (0 or 1), row-major, for the pixels of the rectangle. */
export interface Bitmap extends PixelRect {
  data: Uint8Array
}

/** Collects runs; adjacent runs of one value merge. */
class Runs {
  readonly counts: number[] = []
  private cur = 0
  private run = 0
  push(v: number, n: number): void {
    if (n <= 0) return
    if (v === this.cur) this.run += n
    else {
      this.counts.push(this.run)
      this.cur = v
      this.run = n
    }
  }
  done(): number[] {
    this.counts.push(this.run)
    return this.counts
  }
}

export function emptyRle(h: number, w: number): Rle {
  return { size: [h, w], counts: [h * w] }
}

/** Number of pixels set (COCO's area). */
export function rleArea(rle: Rle): number {
  let a = 0
  for (let i = 1; i < rle.counts.length; i += 2) a += rle.counts[i]!
  return a
}

export function rleIsEmpty(rle: Rle): boolean {
  return rleArea(rle) === 0
}

/** Why an RLE is malformed, or null when it is well formed. */
export function rleProblem(rle: Rle): string | null {
  const [h, w] = rle.size
  if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0)
    return `mask size must be two positive whole numbers, not [${h}, ${w}]`
  let sum = 0
  for (const c of rle.counts) {
    if (!Number.isInteger(c) || c < 0) return `mask run lengths must be whole numbers ≥ 0 (found ${c})`
    sum += c
  }
  if (sum !== h * w) return `mask runs cover ${sum} pixels, but a ${w}×${h} mask has ${h * w}`
  return null
}

/** Encodes a window of a mask (all pixels outside it are 0). The window must lie inside the h × w image. */
export function encodeBitmap(bm: Bitmap, h: number, w: number): Rle {
  if (bm.x < 0 || bm.y < 0 || bm.x + bm.width > w || bm.y + bm.height > h)
    throw new RangeError(`window ${bm.width}×${bm.height}+${bm.x}+${bm.y} is outside the ${w}×${h} image`)
  const runs = new Runs()
  const below = h - bm.y - bm.height
  for (let x = 0; x < w; x++) {
    const col = x - bm.x
    if (col < 0 || col >= bm.width) {
      runs.push(0, h)
      continue
    }
    runs.push(0, bm.y)
    // Runs within the column, counted here so each pixel costs no call.
    let y = 0
    while (y < bm.height) {
      const v = bm.data[y * bm.width + col] ? 1 : 0
      let n = 1
      while (y + n < bm.height && (bm.data[(y + n) * bm.width + col] ? 1 : 0) === v) n++
      runs.push(v, n)
      y += n
    }
    runs.push(0, below)
  }
  return { size: [h, w], counts: runs.done() }
}

/** Encodes a whole h × w mask given row-major (0 = out, anything else = in). */
export function encodeMask(data: Uint8Array, h: number, w: number): Rle {
  return encodeBitmap({ x: 0, y: 0, width: w, height: h, data }, h, w)
}

/** Decodes the pixels of an RLE that fall in a window (by default its bounding box). */
export function decodeToBitmap(rle: Rle, win: PixelRect = rleBounds(rle)): Bitmap {
  const h = rle.size[0]
  const data = new Uint8Array(Math.max(0, win.width * win.height))
  const wx1 = win.x + win.width
  const wy1 = win.y + win.height
  let p = 0
  let v = 0
  for (const c of rle.counts) {
    if (v && c > 0) {
      const e = p + c
      let i = p
      while (i < e) {
        const x = Math.floor(i / h)
        const y = i - x * h
        const colEnd = Math.min(e, (x + 1) * h)
        if (x >= win.x && x < wx1) {
          const y0 = Math.max(y, win.y)
          const y1 = Math.min(y + (colEnd - i), wy1)
          for (let yy = y0; yy < y1; yy++) data[(yy - win.y) * win.width + (x - win.x)] = 1
        }
        i = colEnd
      }
    }
    p += c
    v ^= 1
  }
  return { ...win, data }
}

/** The whole mask, row-major h × w. */
export function decodeMask(rle: Rle): Uint8Array {
  return decodeToBitmap(rle, { x: 0, y: 0, width: rle.size[1], height: rle.size[0] }).data
}

/** The smallest pixel rectangle holding every set pixel (COCO's toBbox); zero-sized when empty. */
export function rleBounds(rle: Rle): PixelRect {
  const h = rle.size[0]
  let xs = Infinity
  let ys = Infinity
  let xe = -1
  let ye = -1
  let p = 0
  for (let j = 0; j < rle.counts.length; j++) {
    const c = rle.counts[j]!
    if (j % 2 === 1 && c > 0) {
      const s = p
      const e = p + c - 1
      const x0 = Math.floor(s / h)
      const x1 = Math.floor(e / h)
      const y0 = s - x0 * h
      const y1 = e - x1 * h
      xs = Math.min(xs, x0)
      xe = Math.max(xe, x1)
      if (x0 === x1) {
        ys = Math.min(ys, y0)
        ye = Math.max(ye, y1)
      } else {
        // The run goes on past the bottom of a column into the top of the next: every row.
        ys = 0
        ye = h - 1
      }
    }
    p += c
  }
  if (xe < 0) return { x: 0, y: 0, width: 0, height: 0 }
  return { x: xs, y: ys, width: xe - xs + 1, height: ye - ys + 1 }
}

export type MaskOp = 'union' | 'intersect' | 'subtract' | 'xor'

const OPS: Record<MaskOp, (a: number, b: number) => number> = {
  union: (a, b) => a | b,
  intersect: (a, b) => a & b,
  subtract: (a, b) => a & (b ^ 1),
  xor: (a, b) => a ^ b,
}

/** Combines two masks of one size run by run, without decoding them. */
export function rleMerge(a: Rle, b: Rle, op: MaskOp): Rle {
  const [h, w] = a.size
  if (b.size[0] !== h || b.size[1] !== w)
    throw new RangeError(`mask sizes differ: [${a.size.join(', ')}] and [${b.size.join(', ')}]`)
  const f = OPS[op]
  const runs = new Runs()
  let ia = 0
  let ib = 0
  let ra = a.counts[0] ?? 0
  let rb = b.counts[0] ?? 0
  let va = 0
  let vb = 0
  let left = h * w
  while (left > 0) {
    while (ra === 0 && ia < a.counts.length - 1) {
      ra = a.counts[++ia]!
      va ^= 1
    }
    while (rb === 0 && ib < b.counts.length - 1) {
      rb = b.counts[++ib]!
      vb ^= 1
    }
    const n = Math.min(ra, rb, left)
    if (n <= 0) throw new RangeError('malformed mask: its runs end before its size')
    runs.push(f(va, vb), n)
    ra -= n
    rb -= n
    left -= n
  }
  return { size: [h, w], counts: runs.done() }
}

/** Intersection over union of two masks (0 when both are empty). */
export function rleIou(a: Rle, b: Rle): number {
  const u = rleArea(rleMerge(a, b, 'union'))
  return u ? rleArea(rleMerge(a, b, 'intersect')) / u : 0
}

/** A fast point query: is pixel (x, y) set? Binary search over the run starts. */
export function rleLookup(rle: Rle): (x: number, y: number) => boolean {
  const [h, w] = rle.size
  const starts = new Float64Array(rle.counts.length + 1)
  for (let i = 0; i < rle.counts.length; i++) starts[i + 1] = starts[i]! + rle.counts[i]!
  return (x, y) => {
    const xi = Math.floor(x)
    const yi = Math.floor(y)
    if (xi < 0 || yi < 0 || xi >= w || yi >= h) return false
    const idx = xi * h + yi
    let lo = 0
    let hi = rle.counts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (starts[mid]! <= idx) lo = mid
      else hi = mid - 1
    }
    return lo % 2 === 1
  }
}

/** Moves a mask by whole pixels; what leaves the image is cut off. */
export function rleTranslate(rle: Rle, dx: number, dy: number): Rle {
  const [h, w] = rle.size
  dx = Math.round(dx)
  dy = Math.round(dy)
  if (!dx && !dy) return rle
  const src = decodeToBitmap(rle)
  const x0 = clamp(src.x + dx, 0, w)
  const y0 = clamp(src.y + dy, 0, h)
  const x1 = clamp(src.x + src.width + dx, 0, w)
  const y1 = clamp(src.y + src.height + dy, 0, h)
  const out: Bitmap = {
    x: x0,
    y: y0,
    width: x1 - x0,
    height: y1 - y0,
    data: new Uint8Array((x1 - x0) * (y1 - y0)),
  }
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++)
      out.data[(y - y0) * out.width + (x - x0)] = src.data[(y - dy - src.y) * src.width + (x - dx - src.x)]!
  return encodeBitmap(out, h, w)
}

// ---------------------------------------------------------------- COCO's compressed string

/** COCO's compressed counts string (LEB128-like, 6 bits a character), as pycocotools writes it. */
export function rleToString(rle: Rle): string {
  let s = ''
  const c = rle.counts
  for (let i = 0; i < c.length; i++) {
    let x = c[i]!
    if (i > 2) x -= c[i - 2]!
    let more = true
    while (more) {
      let ch = x & 0x1f
      x = Math.floor(x / 32)
      more = ch & 0x10 ? x !== -1 : x !== 0
      if (more) ch |= 0x20
      s += String.fromCharCode(ch + 48)
    }
  }
  return s
}

/** Reads COCO's compressed counts string. */
export function rleFromString(s: string, h: number, w: number): Rle {
  const counts: number[] = []
  let p = 0
  while (p < s.length) {
    let x = 0
    let k = 0
    let more = true
    while (more) {
      if (p >= s.length) throw new RangeError('truncated RLE string')
      const c = s.charCodeAt(p) - 48
      x += (c & 0x1f) * 2 ** (5 * k)
      more = (c & 0x20) !== 0
      p++
      k++
      if (!more && c & 0x10) x -= 2 ** (5 * k)
    }
    if (counts.length > 2) x += counts[counts.length - 2]!
    counts.push(x)
  }
  return { size: [h, w], counts }
}

// ---------------------------------------------------------------- polygons → mask

/** Sets (value 1) or clears (0) the pixels of `bm` whose centres fall inside the polygon (pixel coordinates, even-odd). */
export function fillPolygon(bm: Bitmap, poly: PolygonGeom, value = 1): void {
  const rings = [poly.points, ...(poly.holes ?? [])]
  const edges: [number, number, number, number][] = []
  for (const r of rings)
    for (let i = 0; i < r.length; i++) {
      const a = r[i]!
      const b = r[(i + 1) % r.length]!
      if (a[1] !== b[1]) edges.push([a[0], a[1], b[0], b[1]])
    }
  const bb = pointsBounds(poly.points)
  const y0 = Math.max(bm.y, Math.floor(bb.y))
  const y1 = Math.min(bm.y + bm.height, Math.ceil(bb.y + bb.h))
  const xs: number[] = []
  for (let y = y0; y < y1; y++) {
    const cy = y + 0.5
    xs.length = 0
    for (const [ax, ay, bx, by] of edges)
      if (ay <= cy !== by <= cy) xs.push(ax + ((cy - ay) * (bx - ax)) / (by - ay))
    xs.sort((a, b) => a - b)
    for (let k = 0; k + 1 < xs.length; k += 2) {
      // Pixel i is in when its centre i + 0.5 lies in [xs[k], xs[k+1]).
      const i0 = Math.max(bm.x, Math.ceil(xs[k]! - 0.5))
      const i1 = Math.min(bm.x + bm.width, Math.ceil(xs[k + 1]! - 0.5))
      const row = (y - bm.y) * bm.width - bm.x
      for (let i = i0; i < i1; i++) bm.data[row + i] = value
    }
  }
}

/** The pixel rectangle (inside the image) that can hold a shape with these pixel bounds. */
function windowFor(x0: number, y0: number, x1: number, y1: number, h: number, w: number): PixelRect {
  const x = clamp(Math.floor(x0), 0, w)
  const y = clamp(Math.floor(y0), 0, h)
  return { x, y, width: clamp(Math.ceil(x1), 0, w) - x, height: clamp(Math.ceil(y1), 0, h) - y }
}

function blank(r: PixelRect): Bitmap {
  return { ...r, data: new Uint8Array(Math.max(0, r.width * r.height)) }
}

/** Rasterises normalised polygons (their union) into an h × w mask. */
export function polygonsToRle(polys: readonly PolygonGeom[], h: number, w: number): Rle {
  const px = polys.map((p) => scalePolygon(p, w, h))
  const all = pointsBounds(px.flatMap((p) => p.points))
  const bm = blank(windowFor(all.x, all.y, all.x + all.w, all.y + all.h, h, w))
  for (const p of px) {
    const one = blank(bm)
    fillPolygon(one, p)
    for (let i = 0; i < one.data.length; i++) bm.data[i] |= one.data[i]!
  }
  return encodeBitmap(bm, h, w)
}

export function polygonToRle(poly: PolygonGeom, h: number, w: number): Rle {
  return polygonsToRle([poly], h, w)
}

// ---------------------------------------------------------------- mask → polygons

const DX = [1, 0, -1, 0] // E S W N
const DY = [0, 1, 0, -1]

export interface TraceOptions {
  /**
   * Douglas–Peucker tolerance in pixels. 0 keeps every corner, so the polygons give back the mask
   * exactly; more gives smoother, shorter outlines. A ring that would collapse keeps its full outline,
   * so no hole or island is lost.
   */
  tolerance?: number
}

/**
 * Traces a mask's outlines along pixel edges: one polygon per 4-connected island, with its holes.
 * Coordinates come back normalised.
 */
export function rleToPolygons(rle: Rle, opts: TraceOptions = {}): PolygonGeom[] {
  const [h, w] = rle.size
  const bb = rleBounds(rle)
  if (!bb.width || !bb.height) return []
  // One pixel of padding on every side, so each set pixel has four neighbours to look at.
  const pw = bb.width + 2
  const ph = bb.height + 2
  const ox = bb.x - 1
  const oy = bb.y - 1
  const inner = decodeToBitmap(rle, bb)
  const grid = new Uint8Array(pw * ph)
  for (let y = 0; y < bb.height; y++)
    for (let x = 0; x < bb.width; x++) grid[(y + 1) * pw + x + 1] = inner.data[y * bb.width + x]!

  // Directed boundary edges, with the set pixel on their right: out[v] holds a bit per direction.
  const vw = pw + 1
  const out = new Uint8Array(vw * (ph + 1))
  for (let y = 1; y < ph - 1; y++)
    for (let x = 1; x < pw - 1; x++) {
      if (!grid[y * pw + x]) continue
      if (!grid[(y - 1) * pw + x]) out[y * vw + x]! |= 1 << 0 // top side, eastwards
      if (!grid[y * pw + x + 1]) out[y * vw + x + 1]! |= 1 << 1 // right side, southwards
      if (!grid[(y + 1) * pw + x]) out[(y + 1) * vw + x + 1]! |= 1 << 2 // bottom side, westwards
      if (!grid[y * pw + x - 1]) out[(y + 1) * vw + x]! |= 1 << 3 // left side, northwards
    }

  const used = new Uint8Array(out.length)
  const outers: { ring: Vec[]; area: number }[] = []
  const holes: { ring: Vec[]; probe: Vec }[] = []
  for (let v0 = 0; v0 < out.length; v0++) {
    while (out[v0]! & ~used[v0]!) {
      const free = out[v0]! & ~used[v0]!
      const d0 = free & 1 ? 0 : free & 2 ? 1 : free & 4 ? 2 : 3
      const ring: Vec[] = []
      let v = v0
      let d = d0
      let prev = -1
      for (;;) {
        if (d !== prev) ring.push([(v % vw) + ox, Math.floor(v / vw) + oy])
        used[v]! |= 1 << d
        v += DX[d]! + DY[d]! * vw
        const o = out[v]!
        prev = d
        // At a saddle (two ways on), turn right: the pixel on our right stays ours (4-connectivity).
        const right = (d + 1) % 4
        const left = (d + 3) % 4
        d = o & (1 << right) ? right : o & (1 << d) ? d : left
        if (v === v0 && d === d0) break
      }
      const area = ringSignedArea(ring)
      if (area > 0) outers.push({ ring, area })
      else {
        // The pixel on the left of the ring's first edge lies inside the hole.
        const vx = (v0 % vw) + ox
        const vy = Math.floor(v0 / vw) + oy
        const px = d0 === 0 ? vx : d0 === 1 ? vx : vx - 1
        const py = d0 === 0 ? vy - 1 : d0 === 1 ? vy : d0 === 2 ? vy : vy - 1
        holes.push({ ring, probe: [px + 0.5, py + 0.5] })
      }
    }
  }

  const polys = outers.map((o) => ({ outer: o, bounds: pointsBounds(o.ring), holes: [] as Vec[][] }))
  for (const hole of holes) {
    let best: (typeof polys)[number] | undefined
    for (const p of polys) {
      const b = p.bounds
      const [x, y] = hole.probe
      if (x < b.x || y < b.y || x > b.x + b.w || y > b.y + b.h) continue
      if (best && best.outer.area <= p.outer.area) continue
      if (pointInRing(hole.probe, p.outer.ring)) best = p
    }
    best?.holes.push(hole.ring)
  }

  const tol = opts.tolerance ?? 0
  const simplify = (ring: Vec[]): Vec[] => {
    if (tol <= 0) return ring
    const s = simplifyRing(ring, tol)
    const a0 = ringSignedArea(ring)
    const a1 = ringSignedArea(s)
    return s.length >= 3 && Math.sign(a1) === Math.sign(a0) && Math.abs(a1) >= 0.5 * Math.abs(a0) ? s : ring
  }
  const norm = (ring: Vec[]): Vec[] => ring.map(([x, y]) => [x / w, y / h] as Vec)
  return polys.map((p) => {
    const g: PolygonGeom = { points: norm(simplify(p.outer.ring)) }
    if (p.holes.length) g.holes = p.holes.map((r) => norm(simplify(r)))
    return g
  })
}

// ---------------------------------------------------------------- brush strokes

/** The pixels a stroke of this radius along these points (pixel coordinates) can touch, inside the image. */
export function strokeWindow(points: readonly Vec[], radius: number, h: number, w: number): PixelRect {
  const b = pointsBounds(points)
  return windowFor(b.x - radius - 1, b.y - radius - 1, b.x + b.w + radius + 1, b.y + b.h + radius + 1, h, w)
}

/**
 * Paints a round brush of `radius` pixels along a polyline into `bm`: every pixel whose centre is
 * within `radius` of the path gets `value`. The pixel under each point always does, so that a
 * one-pixel brush paints where it is clicked.
 */
export function paintStroke(bm: Bitmap, points: readonly Vec[], radius: number, value: 0 | 1): void {
  const put = (x: number, y: number) => {
    if (x >= bm.x && y >= bm.y && x < bm.x + bm.width && y < bm.y + bm.height)
      bm.data[(y - bm.y) * bm.width + (x - bm.x)] = value
  }
  const segs =
    points.length === 1 ? [[points[0]!, points[0]!]] : points.slice(1).map((p, i) => [points[i]!, p])
  for (const [a, b] of segs) {
    const x0 = Math.max(bm.x, Math.floor(Math.min(a![0], b![0]) - radius))
    const x1 = Math.min(bm.x + bm.width - 1, Math.ceil(Math.max(a![0], b![0]) + radius))
    const y0 = Math.max(bm.y, Math.floor(Math.min(a![1], b![1]) - radius))
    const y1 = Math.min(bm.y + bm.height - 1, Math.ceil(Math.max(a![1], b![1]) + radius))
    for (let y = y0; y <= y1; y++)
      for (let x = x0; x <= x1; x++) if (distToSegment([x + 0.5, y + 0.5], a!, b!) <= radius) put(x, y)
  }
  for (const p of points) put(Math.floor(p[0]), Math.floor(p[1]))
}

/**
 * A mask with a brush stroke added (or, with `erase`, taken away). `base` null starts from an empty
 * mask. Only the pixels around the mask and the stroke are decoded.
 */
export function rleWithStroke(
  base: Rle | null,
  points: readonly Vec[],
  radius: number,
  erase: boolean,
  h: number,
  w: number,
): Rle {
  const sw = strokeWindow(points, radius, h, w)
  const bb = base ? rleBounds(base) : { x: 0, y: 0, width: 0, height: 0 }
  let win: PixelRect = sw
  if (bb.width && !erase) {
    const x0 = Math.min(sw.x, bb.x)
    const y0 = Math.min(sw.y, bb.y)
    win = {
      x: x0,
      y: y0,
      width: Math.max(sw.x + sw.width, bb.x + bb.width) - x0,
      height: Math.max(sw.y + sw.height, bb.y + bb.height) - y0,
    }
  } else if (erase) win = bb
  const bm = base ? decodeToBitmap(base, win) : blank(win)
  paintStroke(bm, points, radius, erase ? 0 : 1)
  return encodeBitmap(bm, h, w)
}
