/** Hit testing in image pixels: which region, or which handle of the selected one, is under the pointer. */
import {
  distToRing,
  pointInBox,
  pointInPolygon,
  scalePolygon,
  type Size,
  type Vec,
} from '../../src-shared/domain/geometry'
import { rleLookup, type Rle } from '../../src-shared/domain/rle'
import type { Region } from './types'

const lookups = new WeakMap<Rle, (x: number, y: number) => boolean>()

/** Is pixel (x, y) of the mask set? Cached per mask, so hovering over many masks stays cheap. */
export function maskHas(rle: Rle, x: number, y: number): boolean {
  let f = lookups.get(rle)
  if (!f) lookups.set(rle, (f = rleLookup(rle)))
  return f(x, y)
}

export const BOX_HANDLES = ['nw', 'n', 'ne', 'e', 'se', 's', 'sw', 'w'] as const
export type BoxHandle = (typeof BOX_HANDLES)[number]
export type Handle = { kind: 'box'; name: BoxHandle } | { kind: 'vertex'; ring: number; index: number }

/** The handles a region shows when selected, with where they are (image pixels). Masks have none. */
export function handlesOf(r: Region, size: Size): { handle: Handle; at: Vec }[] {
  if (r.kind === 'box') {
    const { x, y, w, h } = r.geometry
    const x0 = x * size.width
    const y0 = y * size.height
    const x1 = (x + w) * size.width
    const y1 = (y + h) * size.height
    const xm = (x0 + x1) / 2
    const ym = (y0 + y1) / 2
    const at: Record<BoxHandle, Vec> = {
      nw: [x0, y0],
      n: [xm, y0],
      ne: [x1, y0],
      e: [x1, ym],
      se: [x1, y1],
      s: [xm, y1],
      sw: [x0, y1],
      w: [x0, ym],
    }
    return BOX_HANDLES.map((name) => ({ handle: { kind: 'box', name }, at: at[name] }))
  }
  if (r.kind === 'polygon') {
    const rings = [r.geometry.points, ...(r.geometry.holes ?? [])]
    return rings.flatMap((ring, ri) =>
      ring.map((p, i) => ({
        handle: { kind: 'vertex', ring: ri, index: i } as Handle,
        at: [p[0] * size.width, p[1] * size.height] as Vec,
      })),
    )
  }
  return []
}

export function handleAt(r: Region, p: Vec, tol: number, size: Size): Handle | null {
  let best: Handle | null = null
  let bestD = tol
  for (const h of handlesOf(r, size)) {
    const d = Math.hypot(h.at[0] - p[0], h.at[1] - p[1])
    if (d <= bestD) {
      bestD = d
      best = h.handle
    }
  }
  return best
}

/** Does the region cover the point (or pass within `tol` of it, for outlines)? */
export function regionContains(r: Region, p: Vec, tol: number, size: Size): boolean {
  switch (r.kind) {
    case 'box': {
      const { x, y, w, h } = r.geometry
      return pointInBox(p, {
        x: x * size.width - tol,
        y: y * size.height - tol,
        w: w * size.width + 2 * tol,
        h: h * size.height + 2 * tol,
      })
    }
    case 'polygon': {
      const px = scalePolygon(r.geometry, size.width, size.height)
      return pointInPolygon(p, px) || distToRing(p, px.points) <= tol
    }
    case 'mask':
      return maskHas(r.geometry.rle, p[0], p[1])
  }
}

/** The topmost visible, unlocked region under the point. */
export function regionAt(regions: readonly Region[], p: Vec, tol: number, size: Size): Region | null {
  for (let i = regions.length - 1; i >= 0; i--) {
    const r = regions[i]!
    if (r.hidden || r.locked) continue
    if (regionContains(r, p, tol, size)) return r
  }
  return null
}
