import type { z } from 'zod'
import type { AugmentConfig } from '../../../src-shared/api/train'

/** An augmentation config with its defaults filled in (parse it once, not per sample). */
export type AugmentParsed = z.output<typeof AugmentConfig>

/** A 2-D affine map [a b c; d e f]: (x, y) → (a·x + b·y + c, d·x + e·y + f). */
export type Affine = [number, number, number, number, number, number]

export const IDENTITY: Affine = [1, 0, 0, 0, 1, 0]

/** p ∘ q: apply q, then p. */
export function compose(p: Affine, q: Affine): Affine {
  return [
    p[0] * q[0] + p[1] * q[3],
    p[0] * q[1] + p[1] * q[4],
    p[0] * q[2] + p[1] * q[5] + p[2],
    p[3] * q[0] + p[4] * q[3],
    p[3] * q[1] + p[4] * q[4],
    p[3] * q[2] + p[4] * q[5] + p[5],
  ]
}

export function invert(m: Affine): Affine {
  const det = m[0] * m[4] - m[1] * m[3]
  if (Math.abs(det) < 1e-12) throw new Error('the transform is not invertible')
  const a = m[4] / det
  const b = -m[1] / det
  const d = -m[3] / det
  const e = m[0] / det
  return [a, b, -(a * m[2] + b * m[5]), d, e, -(d * m[2] + e * m[5])]
}

export function apply(m: Affine, x: number, y: number): [number, number] {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]]
}

export interface AffineParams {
  /** Degrees, counter-clockwise as seen on screen. */
  rotationDeg: number
  /** > 1 makes the content larger. */
  scale: number
  /** Fractions of the width / height. */
  tx: number
  ty: number
  shearDeg: number
  hflip: boolean
  vflip: boolean
}

/**
 * The forward map for these parameters, about the image centre, in pixel coordinates
 * (x right, y down): flip, then scale, shear, rotate, and translate.
 */
export function affineFor(p: AffineParams, width: number, height: number): Affine {
  const cx = (width - 1) / 2
  const cy = (height - 1) / 2
  const t = (p.rotationDeg * Math.PI) / 180
  const sh = Math.tan((p.shearDeg * Math.PI) / 180)
  const cos = Math.cos(t)
  const sin = Math.sin(t)
  let m: Affine = [1, 0, -cx, 0, 1, -cy]
  m = compose([p.hflip ? -1 : 1, 0, 0, 0, p.vflip ? -1 : 1, 0], m)
  m = compose([p.scale, 0, 0, 0, p.scale, 0], m)
  m = compose([1, sh, 0, 0, 1, 0], m)
  // y points down on screen, so a counter-clockwise turn uses -sin in the top row's y term.
  m = compose([cos, sin, 0, -sin, cos, 0], m)
  return compose([1, 0, cx + p.tx * width, 0, 1, cy + p.ty * height], m)
}

const uniform = (rand: () => number, lo: number, hi: number) => lo + (hi - lo) * rand()

/** Draws one sample's parameters from the config's ranges. */
export function sampleParams(c: AugmentParsed, rand: () => number): AffineParams {
  const scale = c.scale
    ? uniform(rand, c.scale[0], c.scale[1])
    : c.zoom
      ? uniform(rand, 1 - c.zoom, 1 + c.zoom)
      : 1
  return {
    rotationDeg: c.rotationDeg ? uniform(rand, -c.rotationDeg, c.rotationDeg) : 0,
    scale,
    tx: c.translate ? uniform(rand, -c.translate, c.translate) : 0,
    ty: c.translate ? uniform(rand, -c.translate, c.translate) : 0,
    shearDeg: c.shearDeg ? uniform(rand, -c.shearDeg, c.shearDeg) : 0,
    hflip: c.hflip && rand() < 0.5,
    vflip: c.vflip && rand() < 0.5,
  }
}

/**
 * Warps one HWC image with the forward map `m` by bilinear sampling through its inverse;
 * pixels from outside the source are `fill`. Works on any numeric array (uint8 or float).
 */
export function warpInto(
  src: ArrayLike<number>,
  dst: { [i: number]: number },
  width: number,
  height: number,
  channels: number,
  m: Affine,
  fill = 0,
  srcOffset = 0,
  dstOffset = 0,
): void {
  const inv = invert(m)
  for (let y = 0; y < height; y++) {
    // Walk the row incrementally: source = inv · (x, y).
    let sx = inv[1] * y + inv[2]
    let sy = inv[4] * y + inv[5]
    for (let x = 0; x < width; x++, sx += inv[0], sy += inv[3]) {
      const o = dstOffset + (y * width + x) * channels
      const x0 = Math.floor(sx)
      const y0 = Math.floor(sy)
      const fx = sx - x0
      const fy = sy - y0
      if (x0 < -1 || y0 < -1 || x0 >= width || y0 >= height) {
        for (let k = 0; k < channels; k++) dst[o + k] = fill
        continue
      }
      const w00 = (1 - fx) * (1 - fy)
      const w10 = fx * (1 - fy)
      const w01 = (1 - fx) * fy
      const w11 = fx * fy
      const in00 = x0 >= 0 && y0 >= 0
      const in10 = x0 + 1 < width && y0 >= 0
      const in01 = x0 >= 0 && y0 + 1 < height
      const in11 = x0 + 1 < width && y0 + 1 < height
      const base = srcOffset + (y0 * width + x0) * channels
      for (let k = 0; k < channels; k++) {
        const v00 = in00 ? src[base + k]! : fill
        const v10 = in10 ? src[base + channels + k]! : fill
        const v01 = in01 ? src[base + width * channels + k]! : fill
        const v11 = in11 ? src[base + (width + 1) * channels + k]! : fill
        dst[o + k] = v00 * w00 + v10 * w10 + v01 * w01 + v11 * w11
      }
    }
  }
}
