/**
 * Detection samples in memory: each image letterboxed into the training canvas (W×H, RGB), with its
 * instances in canvas pixels. Coordinates are continuous, pixel i covering [i, i+1), as in the
 * shared RLE code. Pure TypeScript.
 */
import type { Rle } from '../../../../src-shared/domain/rle'

/** A window of a binary mask: `data` holds width × height bytes (0 or 1), row-major. */
export interface MaskWindow {
  x: number
  y: number
  width: number
  height: number
  data: Uint8Array
}

export interface Instance {
  /** Index into the run's classes. */
  classIndex: number
  /** [x0, y0, x1, y1] in canvas pixels. */
  box: [number, number, number, number]
  /** The instance's own pixels (segmentation), or null for a box-only label. */
  mask: MaskWindow | null
  /** A COCO crowd region: neither a positive nor a negative for training. */
  crowd: boolean
}

/** How an image of the original size sits in the canvas: canvas = original · scale + pad. */
export interface Letterbox {
  scale: number
  padX: number
  padY: number
  /** The original image's size. */
  width: number
  height: number
}

/** A labelled object in the original image's own pixels: what evaluation compares with. */
export interface TruthObject {
  classIndex: number
  /** [x, y, w, h] in the original image's pixels. */
  box: [number, number, number, number]
  /** The object's mask at the image's size, or null for a box-only label. */
  mask: Rle | null
  crowd: boolean
}

export interface DetectionSample {
  imageId: number
  /** Canvas pixels, H×W×3, uint8. */
  pixels: Uint8Array
  instances: Instance[]
  letterbox: Letterbox
  /** The labels in the original image (for evaluation). */
  truth: TruthObject[]
}

export interface DetectionSet {
  width: number
  height: number
  samples: DetectionSample[]
}

/** The grey that fills the canvas around a letterboxed image (and what augmentation exposes). */
export const PAD_VALUE = 114

/** Fits an image of w × h into a W × H canvas, centred, keeping its aspect ratio. */
export function letterboxFor(w: number, h: number, W: number, H: number): Letterbox {
  const scale = Math.min(W / w, H / h)
  const nw = Math.round(w * scale)
  const nh = Math.round(h * scale)
  return { scale, padX: Math.floor((W - nw) / 2), padY: Math.floor((H - nh) / 2), width: w, height: h }
}

/** A box in canvas pixels, back in the original image's pixels (clipped to the image). */
export function boxToOriginal(
  b: readonly [number, number, number, number],
  lb: Letterbox,
): [number, number, number, number] {
  const cx = (v: number) => Math.min(lb.width, Math.max(0, (v - lb.padX) / lb.scale))
  const cy = (v: number) => Math.min(lb.height, Math.max(0, (v - lb.padY) / lb.scale))
  return [cx(b[0]), cy(b[1]), cx(b[2]), cy(b[3])]
}

/** The tight box of a mask window, [x0, y0, x1, y1], or null when it is empty. */
export function maskBox(m: MaskWindow): [number, number, number, number] | null {
  let x0 = Infinity
  let y0 = Infinity
  let x1 = -1
  let y1 = -1
  for (let y = 0; y < m.height; y++)
    for (let x = 0; x < m.width; x++)
      if (m.data[y * m.width + x]) {
        if (x < x0) x0 = x
        if (x > x1) x1 = x
        if (y < y0) y0 = y
        if (y > y1) y1 = y
      }
  if (x1 < 0) return null
  return [m.x + x0, m.y + y0, m.x + x1 + 1, m.y + y1 + 1]
}

export function maskArea(m: MaskWindow): number {
  let n = 0
  for (let i = 0; i < m.data.length; i++) n += m.data[i]!
  return n
}

/** The smallest window holding the mask's pixels (or the mask itself when it is empty). */
export function tighten(m: MaskWindow): MaskWindow {
  const b = maskBox(m)
  if (!b) return m
  const [x0, y0, x1, y1] = b
  if (x0 === m.x && y0 === m.y && x1 - x0 === m.width && y1 - y0 === m.height) return m
  const width = x1 - x0
  const height = y1 - y0
  const data = new Uint8Array(width * height)
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) data[y * width + x] = m.data[(y + y0 - m.y) * m.width + (x + x0 - m.x)]!
  return { x: x0, y: y0, width, height, data }
}

/** A copy of a sample that augmentation may change (pixels and instances; masks shared until changed). */
export function cloneSample(s: DetectionSample): DetectionSample {
  return {
    ...s,
    pixels: s.pixels.slice(),
    instances: s.instances.map((i) => ({ ...i, box: [...i.box] as Instance['box'] })),
  }
}
