import { describe, expect, it } from 'vitest'
import { AugmentConfig } from '../../src-shared/api/train'
import { seededRandom } from '../../src-shared/domain/random'
import {
  affineFor,
  apply,
  compose,
  IDENTITY,
  invert,
  sampleParams,
  warpInto,
  type AffineParams,
} from '../../src-main/train/augment/affine'

const none: AffineParams = { rotationDeg: 0, scale: 1, tx: 0, ty: 0, shearDeg: 0, hflip: false, vflip: false }
const close = (a: [number, number], b: [number, number]) => {
  expect(a[0]).toBeCloseTo(b[0], 6)
  expect(a[1]).toBeCloseTo(b[1], 6)
}
/** A 5×4 grey image whose pixel value is 10·y + x. */
const W = 5
const H = 4
const ramp = Uint8Array.from({ length: W * H }, (_, i) => 10 * Math.floor(i / W) + (i % W))
const warp = (p: Partial<AffineParams>, src = ramp) => {
  const out = new Float32Array(W * H)
  warpInto(src, out, W, H, 1, affineFor({ ...none, ...p }, W, H))
  return Array.from(out, (v) => Math.round(v * 1000) / 1000)
}

describe('affine geometry', () => {
  it('composes and inverts', () => {
    const m = affineFor({ ...none, rotationDeg: 30, scale: 1.3, tx: 0.1, ty: -0.2, shearDeg: 5 }, 28, 28)
    close(apply(compose(invert(m), m), 7, 11), [7, 11])
    expect(compose(IDENTITY, m)).toEqual(m)
  })

  it('leaves the image as it is with no transform', () => {
    expect(warp({})).toEqual(Array.from(ramp))
  })

  it('mirrors left-right with hflip and up-down with vflip', () => {
    const h = warp({ hflip: true })
    const v = warp({ vflip: true })
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        expect(h[y * W + x]).toBe(ramp[y * W + (W - 1 - x)])
        expect(v[y * W + x]).toBe(ramp[(H - 1 - y) * W + x])
      }
  })

  it('turns a square image by 90° counter-clockwise on screen', () => {
    // 3×3: the top-right corner moves to the top-left.
    const sq = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9])
    const out = new Float32Array(9)
    warpInto(sq, out, 3, 3, 1, affineFor({ ...none, rotationDeg: 90 }, 3, 3))
    expect(Array.from(out, (v) => Math.round(v))).toEqual([3, 6, 9, 2, 5, 8, 1, 4, 7])
  })

  it('translates by a fraction of the size and fills what comes in from outside with 0', () => {
    const t = warp({ tx: 1 / W })
    for (let y = 0; y < H; y++) {
      expect(t[y * W]).toBe(0)
      for (let x = 1; x < W; x++) expect(t[y * W + x]).toBe(ramp[y * W + x - 1])
    }
  })

  it('zooms about the centre', () => {
    const m = affineFor({ ...none, scale: 2 }, 9, 9)
    close(apply(m, 4, 4), [4, 4])
    close(apply(m, 5, 4), [6, 4])
  })

  it('draws parameters within the configured ranges, reproducibly from the seed', () => {
    const cfg = AugmentConfig.parse({ rotationDeg: 36, zoom: 0.2, translate: 0.1, hflip: true })
    const a = Array.from(
      { length: 200 },
      (() => {
        const r = seededRandom(9)
        return () => sampleParams(cfg, r)
      })(),
    )
    const b = Array.from(
      { length: 200 },
      (() => {
        const r = seededRandom(9)
        return () => sampleParams(cfg, r)
      })(),
    )
    expect(a).toEqual(b)
    for (const p of a) {
      expect(Math.abs(p.rotationDeg)).toBeLessThanOrEqual(36)
      expect(p.scale).toBeGreaterThanOrEqual(0.8)
      expect(p.scale).toBeLessThanOrEqual(1.2)
      expect(Math.abs(p.tx)).toBeLessThanOrEqual(0.1)
      expect(p.vflip).toBe(false)
    }
    const flips = a.filter((p) => p.hflip).length
    expect(flips).toBeGreaterThan(60)
    expect(flips).toBeLessThan(140)
  })

  it('uses an explicit scale range over zoom (torchvision RandomAffine scale=(0.8, 1.2))', () => {
    const cfg = AugmentConfig.parse({ scale: [0.8, 1.2], zoom: 0.5 })
    const r = seededRandom(1)
    for (let i = 0; i < 100; i++) {
      const s = sampleParams(cfg, r).scale
      expect(s).toBeGreaterThanOrEqual(0.8)
      expect(s).toBeLessThanOrEqual(1.2)
    }
  })
})
