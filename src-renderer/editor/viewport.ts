/**
 * The view onto the image: screen = image × scale + (x, y), in CSS pixels relative to the canvas.
 * Pure math, shared by the tools (hit tolerances in screen pixels) and the canvas (the stage transform).
 */
import { clamp, type Size, type Vec } from '../../src-shared/domain/geometry'

export interface View {
  scale: number
  x: number
  y: number
}

export const IDENTITY_VIEW: View = { scale: 1, x: 0, y: 0 }

export function screenToImage(v: View, sx: number, sy: number): Vec {
  return [(sx - v.x) / v.scale, (sy - v.y) / v.scale]
}

export function imageToScreen(v: View, x: number, y: number): Vec {
  return [x * v.scale + v.x, y * v.scale + v.y]
}

/** How far the view may zoom: out to a small thumbnail, in to where one pixel fills much of the screen. */
export function scaleLimits(img: Size, vp: Size): { min: number; max: number } {
  const fit = fitScale(img, vp)
  return { min: Math.min(fit / 4, 0.05), max: Math.max(64, fit * 4) }
}

function fitScale(img: Size, vp: Size, margin = 12): number {
  const w = Math.max(1, vp.width - 2 * margin)
  const h = Math.max(1, vp.height - 2 * margin)
  return Math.min(w / img.width, h / img.height)
}

/** The whole image, centred, as large as fits. */
export function fitView(img: Size, vp: Size): View {
  const scale = fitScale(img, vp)
  return { scale, x: (vp.width - img.width * scale) / 2, y: (vp.height - img.height * scale) / 2 }
}

/** One image pixel per screen pixel, keeping the image point at the middle of the view where it is. */
export function oneToOneView(v: View, vp: Size): View {
  return zoomAt(v, vp.width / 2, vp.height / 2, 1 / v.scale, { min: 1, max: 1 })
}

/** Zooms by `factor` around a screen point, which keeps showing the same image point. */
export function zoomAt(
  v: View,
  sx: number,
  sy: number,
  factor: number,
  limits: { min: number; max: number },
): View {
  const scale = clamp(v.scale * factor, limits.min, limits.max)
  const [ix, iy] = screenToImage(v, sx, sy)
  return { scale, x: sx - ix * scale, y: sy - iy * scale }
}

export function panBy(v: View, dx: number, dy: number): View {
  return { ...v, x: v.x + dx, y: v.y + dy }
}
