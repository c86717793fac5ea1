import type Konva from 'konva'
import { memo } from 'react'
import { Image as KImage, Rect, Shape } from 'react-konva'
import type { Size } from '../../src-shared/domain/geometry'
import type { Region } from '../editor/types'
import { boxPx, ringsPx, withAlpha } from './coords'
import { maskImage } from './maskImage'

export const NO_CLASS_COLOR = '#888888'

/** Traces polygon rings (flat image-pixel lists) as one path; filled even-odd, so holes stay open. */
export function traceRings(ctx: Konva.Context, rings: number[][]): void {
  ctx.beginPath()
  for (const r of rings) {
    if (r.length < 4) continue
    ctx.moveTo(r[0]!, r[1]!)
    for (let i = 2; i < r.length; i += 2) ctx.lineTo(r[i]!, r[i + 1]!)
    ctx.closePath()
  }
}

/**
 * One region, drawn in image pixels (the stage scales it). Memoised: when one region changes, only
 * its node is rebuilt. Nothing here listens for events: the editor does its own hit testing.
 */
export const RegionNode = memo(function RegionNode({
  region,
  color,
  size,
  offset,
}: {
  region: Region
  color: string
  size: Size
  /** Whole-pixel shift while a mask is being dragged. */
  offset?: { dx: number; dy: number }
}) {
  if (region.kind === 'box') {
    return (
      <Rect
        {...boxPx(region.geometry, size)}
        fill={withAlpha(color, 0.18)}
        stroke={color}
        strokeWidth={2}
        strokeScaleEnabled={false}
        perfectDrawEnabled={false}
        listening={false}
      />
    )
  }
  if (region.kind === 'polygon') {
    const rings = ringsPx(region.geometry, size)
    return (
      <Shape
        sceneFunc={(ctx, shape) => {
          traceRings(ctx, rings)
          ctx.fillStrokeShape(shape)
        }}
        fill={withAlpha(color, 0.22)}
        fillRule="evenodd"
        stroke={color}
        strokeWidth={2}
        strokeScaleEnabled={false}
        perfectDrawEnabled={false}
        listening={false}
      />
    )
  }
  const img = maskImage(region.geometry.rle, color)
  if (!img) return null
  return (
    <KImage
      image={img.canvas}
      x={img.x + (offset?.dx ?? 0)}
      y={img.y + (offset?.dy ?? 0)}
      width={img.width}
      height={img.height}
      perfectDrawEnabled={false}
      listening={false}
    />
  )
})
