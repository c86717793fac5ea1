/**
 * Regions: the shapes an image is labelled with (box | polygon | mask), their schemas, and the
 * rules every one must pass before it is stored. Coordinates are normalised to the image (0..1);
 * a mask is an RLE at the image's own pixel size. The whole-image class (a tag) is not a region
 * here: an image has at most one, kept apart.
 */
import { z } from 'zod'
import {
  clampBox,
  clampPolygon,
  pointsBounds,
  polygonArea,
  type BoxGeom,
  type PolygonGeom,
  type Size,
} from './geometry'
import { rleArea, rleBounds, rleProblem, type Rle } from './rle'

export const SPATIAL_KINDS = ['box', 'polygon', 'mask'] as const
export const SpatialKind = z.enum(SPATIAL_KINDS)
export type SpatialKind = z.infer<typeof SpatialKind>

export const ORIGINS = ['user', 'import', 'model'] as const
export const Origin = z.enum(ORIGINS)
export type Origin = z.infer<typeof Origin>

/** Where a label the model proposed came from: the run, and the score it had when accepted. */
export const ModelSource = z.object({ runId: z.number().int().nullable(), score: z.number().nullable() })
export type ModelSource = z.infer<typeof ModelSource>

/** Enough for any outline a person draws or a mask traces to; keeps one request bounded. */
const MAX_POINTS = 200_000

export const Point = z.tuple([z.number(), z.number()])
export const BoxGeometry = z.object({ x: z.number(), y: z.number(), w: z.number(), h: z.number() })
export const PolygonGeometry = z.object({
  points: z.array(Point).max(MAX_POINTS),
  holes: z.array(z.array(Point).max(MAX_POINTS)).max(10_000).optional(),
})
export const RleSchema = z.object({
  size: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  counts: z.array(z.number().int().min(0)),
})
export const MaskGeometry = z.object({ rle: RleSchema })

export const BoxShape = z.object({ kind: z.literal('box'), geometry: BoxGeometry })
export const PolygonShape = z.object({ kind: z.literal('polygon'), geometry: PolygonGeometry })
export const MaskShape = z.object({ kind: z.literal('mask'), geometry: MaskGeometry })
/** A region's kind and geometry. */
/** What a source says of a region beyond its shape and class (VOC's truncated, occluded, pose). */
export const RegionAttributes = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
export type RegionAttributes = z.infer<typeof RegionAttributes>

export const RegionShape = z.discriminatedUnion('kind', [BoxShape, PolygonShape, MaskShape])
export type RegionShape =
  | { kind: 'box'; geometry: BoxGeom }
  | { kind: 'polygon'; geometry: PolygonGeom }
  | { kind: 'mask'; geometry: { rle: Rle } }

/** What every region has besides its shape. */
export const RegionProps = z.object({
  classId: z.number().int().nullable(),
  /** Drawing order: higher is on top. */
  z: z.number().int(),
  hidden: z.boolean(),
  locked: z.boolean(),
})
export type RegionProps = z.infer<typeof RegionProps>

/** A stored region, as the API hands it out. */
export const Annotation = z.intersection(
  RegionShape,
  RegionProps.extend({ id: z.number().int(), origin: Origin, source: ModelSource.optional() }),
)
export type Annotation = RegionShape & RegionProps & { id: number; origin: Origin; source?: ModelSource }

/** Boxes thinner than this (in image pixels) are refused as having no area. */
export const MIN_BOX_PX = 1
/** Polygons with less area than this (in square image pixels) are refused. */
export const MIN_POLYGON_AREA_PX = 0.5

/** The shape with every coordinate clamped into the image. */
export function clampShape(s: RegionShape): RegionShape {
  switch (s.kind) {
    case 'box':
      return { kind: 'box', geometry: clampBox(s.geometry) }
    case 'polygon':
      return { kind: 'polygon', geometry: clampPolygon(s.geometry) }
    case 'mask':
      return s
  }
}

/** Area in square image pixels. */
export function shapeAreaPx(s: RegionShape, size: Size): number {
  switch (s.kind) {
    case 'box':
      return Math.abs(s.geometry.w * s.geometry.h) * size.width * size.height
    case 'polygon':
      return polygonArea(s.geometry) * size.width * size.height
    case 'mask':
      return rleArea(s.geometry.rle)
  }
}

/** Normalised bounding box. */
export function shapeBounds(s: RegionShape): BoxGeom {
  switch (s.kind) {
    case 'box':
      return { ...s.geometry }
    case 'polygon':
      return pointsBounds(s.geometry.points)
    case 'mask': {
      const [h, w] = s.geometry.rle.size
      const b = rleBounds(s.geometry.rle)
      return { x: b.x / w, y: b.y / h, w: b.width / w, h: b.height / h }
    }
  }
}

/**
 * Why a (clamped) shape must not be stored, in words for the person who drew it; null when it is fine.
 * Degenerate shapes: a box with no width or height, a polygon of fewer than 3 points or no area, an
 * empty mask, or a mask whose size is not the image's.
 */
export function shapeProblem(s: RegionShape, size: Size): string | null {
  switch (s.kind) {
    case 'box': {
      const w = s.geometry.w * size.width
      const h = s.geometry.h * size.height
      if (!(w >= MIN_BOX_PX && h >= MIN_BOX_PX))
        return `A box needs some width and height: this one is ${fmt(w)}×${fmt(h)} px, so it was not saved. Drag to draw one.`
      return null
    }
    case 'polygon': {
      const n = s.geometry.points.length
      if (n < 3) return `A polygon needs at least 3 points (this one has ${n}), so it was not saved.`
      if ((s.geometry.holes ?? []).some((r) => r.length < 3))
        return 'Each hole of a polygon needs at least 3 points, so this polygon was not saved.'
      if (shapeAreaPx(s, size) < MIN_POLYGON_AREA_PX)
        return 'This polygon has no area (its points lie on one line), so it was not saved.'
      return null
    }
    case 'mask': {
      const bad = rleProblem(s.geometry.rle)
      if (bad) return `This mask is malformed (${bad}), so it was not saved.`
      const [h, w] = s.geometry.rle.size
      if (h !== size.height || w !== size.width)
        return `A mask must have the image's size (${size.width}×${size.height}), not ${w}×${h}.`
      if (rleArea(s.geometry.rle) === 0) return 'This mask is empty, so it was not saved.'
      return null
    }
  }
}

function fmt(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v * 100) / 100) : String(v)
}
