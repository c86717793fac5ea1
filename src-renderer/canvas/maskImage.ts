/**
 * Masks are drawn as small canvases covering only their bounding box, one pixel per image pixel (the
 * stage scales them, without smoothing, so they stay crisp). Cached per RLE object and colour: an
 * unchanged mask is never painted twice.
 */
import { decodeToBitmap, rleBounds, type Rle } from '../../src-shared/domain/rle'

export interface MaskImage {
  canvas: HTMLCanvasElement
  x: number
  y: number
  width: number
  height: number
}

const cache = new WeakMap<Rle, Map<string, MaskImage | null>>()

export function maskImage(rle: Rle, color: string, alpha = 0.5): MaskImage | null {
  let byColor = cache.get(rle)
  if (!byColor) cache.set(rle, (byColor = new Map()))
  const key = `${color}/${alpha}`
  if (byColor.has(key)) return byColor.get(key)!
  const b = rleBounds(rle)
  let out: MaskImage | null = null
  if (b.width && b.height) {
    const bm = decodeToBitmap(rle, b)
    const canvas = document.createElement('canvas')
    canvas.width = b.width
    canvas.height = b.height
    const ctx = canvas.getContext('2d')!
    const img = ctx.createImageData(b.width, b.height)
    const n = parseInt(color.slice(1), 16)
    const r = (n >> 16) & 255
    const g = (n >> 8) & 255
    const bl = n & 255
    const a = Math.round(alpha * 255)
    const px = new Uint32Array(img.data.buffer)
    // ImageData is RGBA in memory; on little-endian machines a Uint32 reads it as ABGR.
    const word = ((a << 24) | (bl << 16) | (g << 8) | r) >>> 0
    for (let i = 0; i < bm.data.length; i++) if (bm.data[i]) px[i] = word
    ctx.putImageData(img, 0, 0)
    out = { canvas, x: b.x, y: b.y, width: b.width, height: b.height }
  }
  byColor.set(key, out)
  return out
}
