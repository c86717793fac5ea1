/**
 * The one place where region coordinates (normalised to the image) become canvas units (image pixels).
 * The stage's own transform (the editor's view) takes image pixels on to the screen.
 */
import type { BoxGeom, PolygonGeom, Size, Vec } from '../../src-shared/domain/geometry'

export function boxPx(b: BoxGeom, size: Size): { x: number; y: number; width: number; height: number } {
  return { x: b.x * size.width, y: b.y * size.height, width: b.w * size.width, height: b.h * size.height }
}

export function pointPx(p: Vec, size: Size): Vec {
  return [p[0] * size.width, p[1] * size.height]
}

/** Each ring of a polygon as a flat [x0, y0, x1, y1, ...] list in image pixels. */
export function ringsPx(p: PolygonGeom, size: Size): number[][] {
  return [p.points, ...(p.holes ?? [])].map((ring) =>
    ring.flatMap(([x, y]) => [x * size.width, y * size.height]),
  )
}

/** A colour with an alpha, from #rrggbb. */
export function withAlpha(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16)
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`
}
