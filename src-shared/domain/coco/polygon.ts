/**
 * COCO masks made the way pycocotools makes them (common/maskApi.c and _mask.pyx), so that mask areas
 * and IoUs, and so the AP built on them, match the reference to the pixel. Polygons here are COCO's
 * flat pixel lists [x1, y1, x2, y2, …], not the normalised PolygonGeom of ../rle.ts, whose own
 * rasteriser samples pixel centres slightly differently.
 * Pure TypeScript: no DOM, no Node.
 */
import { rleArea, rleFromString, rleMerge, rleProblem, type Rle } from '../rle'

/** [x, y, width, height] in pixels: COCO's box layout. */
export type CocoBox = [number, number, number, number]

/** COCO's uncompressed RLE: runs down each column in turn, starting with 0s. */
export interface CocoUncompressedRle {
  size: [number, number]
  counts: number[]
}

/** COCO's compressed RLE, as pycocotools writes it. */
export interface CocoCompressedRle {
  size: [number, number]
  counts: string
}

/** A COCO `segmentation`: polygons (one flat [x1, y1, x2, y2, …] list each), or an RLE in either form. */
export type CocoSegmentation = number[][] | CocoUncompressedRle | CocoCompressedRle

/** C's (int) cast as x86 does it: toward zero, and INT_MIN for NaN or overflow (a repeated vertex gives NaN). */
function cInt(x: number): number {
  return x > -2147483649 && x < 2147483648 ? Math.trunc(x) : -2147483648
}

/**
 * Rasterises one polygon as rleFrPoly does: vertices are scaled by 5 and rounded, the edges walked
 * point by point, and a column's run starts or ends wherever the outline crosses the column's centre
 * line (x + 0.5), at the first pixel whose centre is on or below the crossing. Parts outside the image
 * are cut off. `xy` is [x1, y1, x2, y2, …] in pixels; an odd last number is ignored, as in pycocotools.
 */
export function rleFromPolygon(xy: readonly number[], h: number, w: number): Rle {
  const scale = 5
  const k = Math.floor(xy.length / 2)
  const x = new Int32Array(k + 1)
  const y = new Int32Array(k + 1)
  for (let j = 0; j < k; j++) {
    x[j] = cInt(scale * xy[j * 2]! + 0.5)
    y[j] = cInt(scale * xy[j * 2 + 1]! + 0.5)
  }
  x[k] = x[0]!
  y[k] = y[0]!

  // Every upsampled point along the closed outline, in order.
  let n = 0
  for (let j = 0; j < k; j++) n += Math.max(Math.abs(x[j]! - x[j + 1]!), Math.abs(y[j]! - y[j + 1]!)) + 1
  const u = new Int32Array(n)
  const v = new Int32Array(n)
  let m = 0
  for (let j = 0; j < k; j++) {
    let xs = x[j]!
    let xe = x[j + 1]!
    let ys = y[j]!
    let ye = y[j + 1]!
    const dx = Math.abs(xe - xs)
    const dy = Math.abs(ys - ye)
    // Walking each edge from its lower end keeps the rounding the same whichever way it is drawn.
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye)
    if (flip) {
      ;[xs, xe] = [xe, xs]
      ;[ys, ye] = [ye, ys]
    }
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy
    if (dx >= dy)
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d
        u[m] = t + xs
        v[m] = cInt(ys + s * t + 0.5)
        m++
      }
    else
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d
        v[m] = t + ys
        u[m] = cInt(xs + s * t + 0.5)
        m++
      }
  }

  // Where the outline crosses a column centre, back at pixel scale: a toggle of that column's value.
  const toggles: number[] = []
  for (let j = 1; j < m; j++) {
    if (u[j] === u[j - 1]) continue
    let xd = u[j]! < u[j - 1]! ? u[j]! : u[j]! - 1
    xd = (xd + 0.5) / scale - 0.5
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue
    let yd = v[j]! < v[j - 1]! ? v[j]! : v[j - 1]!
    yd = (yd + 0.5) / scale - 0.5
    if (yd < 0) yd = 0
    else if (yd > h) yd = h
    yd = Math.ceil(yd)
    toggles.push(xd * h + yd)
  }
  toggles.push(h * w)
  const a = Float64Array.from(toggles).sort()
  let p = 0
  for (let j = 0; j < a.length; j++) {
    const t = a[j]!
    a[j] = t - p
    p = t
  }
  // Two toggles at one place cancel: drop the empty run between them.
  const counts = [a[0]!]
  for (let j = 1; j < a.length;) {
    if (a[j]! > 0) counts.push(a[j++]!)
    else {
      j++
      if (j < a.length) counts[counts.length - 1] += a[j++]!
    }
  }
  return { size: [h, w], counts }
}

/** A box as a mask, as rleFrBbox does it (through rleFromPolygon, so edges round the same way). */
export function rleFromBox(box: readonly number[], h: number, w: number): Rle {
  const [xs, ys, bw, bh] = box as CocoBox
  const xe = xs + bw
  const ye = ys + bh
  return rleFromPolygon([xs, ys, xs, ye, xe, ye, xe, ys], h, w)
}

function checkedRle(rle: Rle): Rle {
  const why = rleProblem(rle)
  if (why) throw new Error(`bad COCO RLE segmentation: ${why}`)
  return rle
}

/**
 * A COCO `segmentation` as a mask, as COCO.annToRLE does it: polygons are rasterised at the image's
 * size and merged by union; an RLE keeps its own size. As in pycocotools' frPyObjects, a list whose
 * first entry has exactly four numbers is read as boxes [x, y, w, h]. An empty list gives an empty
 * mask (pycocotools fails on it).
 */
export function segmentationToRle(seg: CocoSegmentation, h: number, w: number): Rle {
  if (Array.isArray(seg)) {
    if (seg.length === 0) return { size: [h, w], counts: [h * w] }
    const asBoxes = seg[0]!.length === 4
    const parts = seg.map((p) => {
      if (!Array.isArray(p)) throw new Error('a COCO polygon segmentation must be a list of number lists')
      if (asBoxes && p.length !== 4)
        throw new Error(
          'a segmentation list whose first entry has 4 numbers is read as boxes; all must have 4',
        )
      return asBoxes ? rleFromBox(p, h, w) : rleFromPolygon(p, h, w)
    })
    return parts.reduce((acc, r) => rleMerge(acc, r, 'union'))
  }
  if (!seg || !Array.isArray(seg.size)) throw new Error('a COCO RLE segmentation needs a size [h, w]')
  const [rh, rw] = seg.size
  if (typeof seg.counts === 'string') return checkedRle(rleFromString(seg.counts, rh, rw))
  if (Array.isArray(seg.counts)) return checkedRle({ size: [rh, rw], counts: seg.counts.slice() })
  throw new Error('a COCO RLE segmentation needs counts (a string or a list of numbers)')
}

/**
 * The box of a mask as rleToBbox computes it (COCO's toBbox). A run that wraps from one column into the
 * next takes the box to the full height, as a run does in pycocotools; a trailing odd run is skipped.
 */
export function rleToBox(rle: Rle): CocoBox {
  const [h, w] = rle.size
  const c = rle.counts
  const m = Math.floor(c.length / 2) * 2
  if (m === 0) return [0, 0, 0, 0]
  let xs = w
  let ys = h
  let xe = 0
  let ye = 0
  let cc = 0
  let xp = 0
  for (let j = 0; j < m; j++) {
    cc += c[j]!
    // Run ends as unsigned C ints: a leading pair of empty runs wraps, as it does there.
    const t = (cc - (j % 2)) >>> 0
    const y = t % h
    const x = (t - y) / h
    if (j % 2 === 0) xp = x
    else if (xp < x) {
      ys = 0
      ye = h - 1
    }
    xs = Math.min(xs, x)
    xe = Math.max(xe, x)
    ys = Math.min(ys, y)
    ye = Math.max(ye, y)
  }
  return [xs, ys, xe - xs + 1, ye - ys + 1]
}

/**
 * IoU of two xywh boxes as bbIou computes it (no +1, same operation order). For a crowd ground truth the
 * union is the detection's own area, so a detection wholly inside a crowd region scores 1.
 */
export function boxIou(dt: readonly number[], gt: readonly number[], crowd = false): number {
  const iw = Math.min(dt[2]! + dt[0]!, gt[2]! + gt[0]!) - Math.max(dt[0]!, gt[0]!)
  if (iw <= 0) return 0
  const ih = Math.min(dt[3]! + dt[1]!, gt[3]! + gt[1]!) - Math.max(dt[1]!, gt[1]!)
  if (ih <= 0) return 0
  const i = iw * ih
  const da = dt[2]! * dt[3]!
  const u = crowd ? da : da + gt[2]! * gt[3]! - i
  return i / u
}

/** Intersection and union walked over the runs of both masks at once, as rleIou does. */
function runIou(dt: Rle, gt: Rle, crowd: boolean): number {
  const dc = dt.counts
  const gc = gt.counts
  let ca = dc[0] ?? 0
  let cb = gc[0] ?? 0
  let a = 1
  let b = 1
  let va = false
  let vb = false
  let i = 0
  let u = 0
  let ct = 1
  while (ct > 0) {
    const c = Math.min(ca, cb)
    if (va || vb) {
      u += c
      if (va && vb) i += c
    }
    ct = 0
    ca -= c
    if (!ca && a < dc.length) {
      ca = dc[a++]!
      va = !va
    }
    ct += ca
    cb -= c
    if (!cb && b < gc.length) {
      cb = gc[b++]!
      vb = !vb
    }
    ct += cb
  }
  if (i === 0) u = 1
  else if (crowd) u = rleArea(dt)
  return i / u
}

function maskIouWithBoxes(dt: Rle, gt: Rle, crowd: boolean, dBox: CocoBox, gBox: CocoBox): number {
  // pycocotools only walks the runs where the boxes overlap; masks of different sizes give -1 (never a match).
  if (!(boxIou(dBox, gBox, crowd) > 0)) return 0
  if (dt.size[0] !== gt.size[0] || dt.size[1] !== gt.size[1]) return -1
  return runIou(dt, gt, crowd)
}

/** Mask IoU as rleIou computes it, on the runs (nothing is decoded); crowd rule as in boxIou. */
export function maskIou(dt: Rle, gt: Rle, crowd = false): number {
  return maskIouWithBoxes(dt, gt, crowd, rleToBox(dt), rleToBox(gt))
}

/** maskUtils.iou for boxes: entry [d * gts.length + g] is the IoU of detection d with ground truth g. */
export function boxIouMatrix(
  dts: readonly (readonly number[])[],
  gts: readonly (readonly number[])[],
  crowd: readonly boolean[],
): Float64Array {
  const out = new Float64Array(dts.length * gts.length)
  for (let d = 0; d < dts.length; d++)
    for (let g = 0; g < gts.length; g++) out[d * gts.length + g] = boxIou(dts[d]!, gts[g]!, crowd[g]!)
  return out
}

/** maskUtils.iou for masks, laid out as boxIouMatrix; each mask's box is found once. */
export function maskIouMatrix(
  dts: readonly Rle[],
  gts: readonly Rle[],
  crowd: readonly boolean[],
): Float64Array {
  const db = dts.map(rleToBox)
  const gb = gts.map(rleToBox)
  const out = new Float64Array(dts.length * gts.length)
  for (let d = 0; d < dts.length; d++)
    for (let g = 0; g < gts.length; g++)
      out[d * gts.length + g] = maskIouWithBoxes(dts[d]!, gts[g]!, crowd[g]!, db[d]!, gb[g]!)
  return out
}
