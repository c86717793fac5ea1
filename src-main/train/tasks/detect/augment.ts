/**
 * Augmentation for detection and instance segmentation, on one sample at a time, before targets
 * are made: copy-paste of labelled instances from other training images (Ghiasi et al. 2021,
 * "Simple Copy-Paste is a Strong Data Augmentation Method for Instance Segmentation"), a random
 * zoom and shift with flips (one affine map: bilinear for pixels, nearest for masks), then
 * brightness, contrast, noise and blur on the float batch. Every instance keeps a box that is
 * exactly its mask's bounds; instances left mostly hidden or outside the canvas are dropped.
 * Pure TypeScript.
 */
import type { DetectAugment } from '../../../../src-shared/api/train'
import type { z } from 'zod'
import { warpInto, type Affine } from '../../augment/affine'
import {
  cloneSample,
  maskArea,
  maskBox,
  PAD_VALUE,
  tighten,
  type DetectionSample,
  type Instance,
  type MaskWindow,
} from './sample'

export type DetectAugmentParsed = z.output<typeof DetectAugment>

/** An instance stays when at least this share of its pixels is still visible ... */
export const MIN_VISIBLE = 0.3
/** ... and it keeps at least this many pixels. */
export const MIN_PIXELS = 12

const uniform = (rand: () => number, lo: number, hi: number) => lo + (hi - lo) * rand()

/** An instance's pixels as a mask window: its own mask, or its whole box for a box-only label. */
function footprint(inst: Instance): MaskWindow {
  if (inst.mask) return inst.mask
  const x = Math.floor(inst.box[0])
  const y = Math.floor(inst.box[1])
  const width = Math.max(1, Math.ceil(inst.box[2]) - x)
  const height = Math.max(1, Math.ceil(inst.box[3]) - y)
  return { x, y, width, height, data: new Uint8Array(width * height).fill(1) }
}

/** Clears the pixels of `m` that `cover` sets; returns a new window (m is left as it was). */
function subtract(m: MaskWindow, cover: MaskWindow): MaskWindow {
  const data = m.data.slice()
  const x0 = Math.max(m.x, cover.x)
  const y0 = Math.max(m.y, cover.y)
  const x1 = Math.min(m.x + m.width, cover.x + cover.width)
  const y1 = Math.min(m.y + m.height, cover.y + cover.height)
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++)
      if (cover.data[(y - cover.y) * cover.width + (x - cover.x)]) data[(y - m.y) * m.width + (x - m.x)] = 0
  return { ...m, data }
}

/**
 * Hides what `cover` covers of each instance: masks lose those pixels and their boxes shrink to
 * what is left; box-only instances keep their box unless mostly hidden. Instances left with too
 * little are dropped.
 */
function occlude(instances: Instance[], cover: MaskWindow): Instance[] {
  const out: Instance[] = []
  for (const inst of instances) {
    const own = footprint(inst)
    const before = maskArea(own)
    const left = subtract(own, cover)
    const after = maskArea(left)
    if (after === before) {
      out.push(inst)
      continue
    }
    if (inst.crowd) {
      // A crowd region is only ignored by training: keep what is left of it, however little.
      if (after > 0 && inst.mask) out.push({ ...inst, mask: tighten(left), box: maskBox(left)! })
      else if (after > 0) out.push(inst)
      continue
    }
    if (after < MIN_PIXELS || after < MIN_VISIBLE * before) continue
    if (inst.mask) {
      const mask = tighten(left)
      out.push({ ...inst, mask, box: maskBox(mask)! })
    } else out.push(inst)
  }
  return out
}

/**
 * Pastes instances cut from other training samples onto `target` (a copy): each at a random
 * scale and position, its pixels where its mask is set, hiding what it covers of the instances
 * already there.
 */
export function copyPaste(
  target: DetectionSample,
  donors: readonly DetectionSample[],
  count: number,
  width: number,
  height: number,
  rand: () => number,
): DetectionSample {
  const out = cloneSample(target)
  for (let n = 0; n < count; n++) {
    const donor = donors[Math.floor(rand() * donors.length)]
    const candidates = donor?.instances.filter((i) => !i.crowd) ?? []
    if (!donor || !candidates.length) continue
    const inst = candidates[Math.floor(rand() * candidates.length)]!
    const src = footprint(inst)
    const s = uniform(rand, 0.6, 1.4)
    const w = Math.max(1, Math.round(src.width * s))
    const h = Math.max(1, Math.round(src.height * s))
    if (w >= width || h >= height) continue
    const ox = Math.floor(rand() * (width - w))
    const oy = Math.floor(rand() * (height - h))
    const data = new Uint8Array(w * h)
    for (let y = 0; y < h; y++) {
      const sy = Math.min(src.height - 1, Math.floor((y + 0.5) / s))
      for (let x = 0; x < w; x++) {
        const sx = Math.min(src.width - 1, Math.floor((x + 0.5) / s))
        if (!src.data[sy * src.width + sx]) continue
        data[y * w + x] = 1
        // Nearest sampling keeps the donor's pixels crisp, as the mask is.
        const from = ((src.y + sy) * width + (src.x + sx)) * 3
        const to = ((oy + y) * width + (ox + x)) * 3
        out.pixels[to] = donor.pixels[from]!
        out.pixels[to + 1] = donor.pixels[from + 1]!
        out.pixels[to + 2] = donor.pixels[from + 2]!
      }
    }
    const mask = tighten({ x: ox, y: oy, width: w, height: h, data })
    const box = maskBox(mask)
    if (!box) continue
    out.instances = occlude(out.instances, mask)
    // A box-only label is pasted as its box, so it stays box-only.
    out.instances.push({ classIndex: inst.classIndex, box, mask: inst.mask ? mask : null, crowd: false })
  }
  return out
}

/** The canvas map of one sample: zoom about a random point, shift, flips (canvas pixel edges). */
export function sampleAffine(
  c: DetectAugmentParsed,
  width: number,
  height: number,
  rand: () => number,
): Affine {
  const s = uniform(rand, Math.min(c.scale[0], c.scale[1]), Math.max(c.scale[0], c.scale[1]))
  // Where the canvas centre lands: anywhere that keeps the zoomed image overlapping the canvas.
  const spanX = Math.abs(s - 1) * width * 0.5 + 0.1 * width
  const spanY = Math.abs(s - 1) * height * 0.5 + 0.1 * height
  const tx = uniform(rand, -spanX, spanX)
  const ty = uniform(rand, -spanY, spanY)
  const fx = c.hflip && rand() < 0.5 ? -1 : 1
  const fy = c.vflip && rand() < 0.5 ? -1 : 1
  // x' = fx·s·(x − W/2) + W/2 + tx
  return [
    fx * s,
    0,
    width / 2 + tx - (fx * s * width) / 2,
    0,
    fy * s,
    height / 2 + ty - (fy * s * height) / 2,
  ]
}

/** Applies a scale-and-flip map (no rotation or shear) to a sample: pixels, masks and boxes. */
export function warpSample(
  sample: DetectionSample,
  m: Affine,
  width: number,
  height: number,
): DetectionSample {
  const [a, , c, , e, f] = m
  const pixels = new Uint8Array(sample.pixels.length)
  // warpInto puts pixel centres at integers: x_c' = a·x_c + (c + a/2 − 1/2).
  warpInto(sample.pixels, pixels, width, height, 3, [a, 0, c + a / 2 - 0.5, 0, e, f + e / 2 - 0.5], PAD_VALUE)
  const instances: Instance[] = []
  for (const inst of sample.instances) {
    const mx = (x: number) => a * x + c
    const my = (y: number) => e * y + f
    const bx0 = Math.max(0, Math.min(mx(inst.box[0]), mx(inst.box[2])))
    const bx1 = Math.min(width, Math.max(mx(inst.box[0]), mx(inst.box[2])))
    const by0 = Math.max(0, Math.min(my(inst.box[1]), my(inst.box[3])))
    const by1 = Math.min(height, Math.max(my(inst.box[1]), my(inst.box[3])))
    const fullW = Math.abs(a) * (inst.box[2] - inst.box[0])
    const fullH = Math.abs(e) * (inst.box[3] - inst.box[1])
    if (bx1 - bx0 < 1 || by1 - by0 < 1) continue
    if (!inst.mask) {
      // A box-only label that leaves the canvas keeps what is inside, if enough of it is.
      if ((bx1 - bx0) * (by1 - by0) < MIN_VISIBLE * fullW * fullH && !inst.crowd) continue
      instances.push({ ...inst, box: [bx0, by0, bx1, by1] })
      continue
    }
    const x0 = Math.floor(bx0)
    const y0 = Math.floor(by0)
    const w = Math.ceil(bx1) - x0
    const h = Math.ceil(by1) - y0
    const data = new Uint8Array(w * h)
    const src = inst.mask
    for (let y = 0; y < h; y++) {
      const sy = Math.floor((y0 + y + 0.5 - f) / e) - src.y
      if (sy < 0 || sy >= src.height) continue
      for (let x = 0; x < w; x++) {
        const sx = Math.floor((x0 + x + 0.5 - c) / a) - src.x
        if (sx >= 0 && sx < src.width && src.data[sy * src.width + sx]) data[y * w + x] = 1
      }
    }
    const before = maskArea(src) * Math.abs(a * e)
    const mask = tighten({ x: x0, y: y0, width: w, height: h, data })
    const area = maskArea(mask)
    if (!inst.crowd && (area < MIN_PIXELS || area < MIN_VISIBLE * before)) continue
    const box = maskBox(mask)
    if (box) instances.push({ ...inst, mask, box })
  }
  return { ...sample, pixels, instances }
}

/**
 * Photometric changes on one sample's float pixels (0..1, HWC) in place: brightness and contrast
 * jitter, a light box blur now and then, and Gaussian noise.
 */
export function photometric(
  x: Float32Array,
  offset: number,
  width: number,
  height: number,
  c: DetectAugmentParsed,
  rand: () => number,
): void {
  const n = width * height * 3
  const gain = 1 + uniform(rand, -c.contrast, c.contrast)
  const bias = uniform(rand, -c.brightness, c.brightness) * 0.5
  let mean = 0
  for (let i = 0; i < n; i++) mean += x[offset + i]!
  mean /= n
  for (let i = 0; i < n; i++) x[offset + i] = (x[offset + i]! - mean) * gain + mean + bias
  if (c.blur > 0 && rand() < c.blur) boxBlur3(x, offset, width, height)
  if (c.noise > 0) {
    const sigma = c.noise * rand()
    for (let i = 0; i < n; i += 2) {
      // Box–Muller: two normal draws from two uniform ones.
      const u = Math.max(1e-12, rand())
      const r = Math.sqrt(-2 * Math.log(u)) * sigma
      const t = 2 * Math.PI * rand()
      x[offset + i] = x[offset + i]! + r * Math.cos(t)
      if (i + 1 < n) x[offset + i + 1] = x[offset + i + 1]! + r * Math.sin(t)
    }
  }
}

/** A 3×3 box blur of an HWC RGB float image, in place (edges use the pixels there are). */
function boxBlur3(x: Float32Array, offset: number, width: number, height: number): void {
  const src = x.slice(offset, offset + width * height * 3)
  for (let y = 0; y < height; y++)
    for (let xx = 0; xx < width; xx++)
      for (let k = 0; k < 3; k++) {
        let sum = 0
        let cnt = 0
        for (let dy = -1; dy <= 1; dy++) {
          const yy = y + dy
          if (yy < 0 || yy >= height) continue
          for (let dx = -1; dx <= 1; dx++) {
            const xs = xx + dx
            if (xs < 0 || xs >= width) continue
            sum += src[(yy * width + xs) * 3 + k]!
            cnt++
          }
        }
        x[offset + (y * width + xx) * 3 + k] = sum / cnt
      }
}

/** The whole geometric part for one training sample: copy-paste, then zoom, shift and flips. */
export function augmentSample(
  sample: DetectionSample,
  donors: readonly DetectionSample[],
  c: DetectAugmentParsed,
  width: number,
  height: number,
  rand: () => number,
): DetectionSample {
  let s = sample
  if (c.copyPaste > 0 && donors.length && rand() < c.copyPaste) {
    const count = 1 + Math.floor(rand() * c.copyPasteMax)
    s = copyPaste(s, donors, count, width, height, rand)
  }
  return warpSample(s, sampleAffine(c, width, height, rand), width, height)
}
