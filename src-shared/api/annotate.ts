/** Labeling calls and events (the annotation editor): merged into the contract in ./contract.ts. */
import { z } from 'zod'
import { Annotation, ModelSource, Origin, RegionProps, RegionShape } from '../domain/regions'
import { ClassLabel, ImageMeta, ImageStatus } from '../domain/types'

const Id = z.number().int()
const ClassName = z
  .string()
  .trim()
  .min(1, 'a class needs a name')
  .max(100, 'class names are at most 100 characters')
const Color = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour is #rrggbb')

/** An image opened in the editor: its row, its class tag and its regions (lowest z first). */
export const ImageForEditor = z.object({
  image: ImageMeta,
  /** The class of the whole image, or null. */
  tag: Id.nullable(),
  annotations: z.array(Annotation),
  /** Stored rows whose geometry could not be read (left as they are, not shown). */
  skipped: z.number().int(),
})
export type ImageForEditor = z.infer<typeof ImageForEditor>

/**
 * One region to write: `key` is the editor's own name for it, `id` its row once it has one. A put with
 * no id (or an id whose row is gone) inserts a new row; the answer maps keys to row ids.
 */
export const AnnotationPut = z.intersection(
  RegionShape,
  RegionProps.extend({
    key: z.string().min(1).max(64),
    id: Id.nullable(),
    /** Set when the region is first written; absent: drawn by a person. */
    origin: Origin.optional(),
    source: ModelSource.optional(),
  }),
)
export type AnnotationPut = z.infer<typeof AnnotationPut>

/** A batch of edits to one image, written in one transaction. */
export const SaveRequest = z.object({
  imageId: Id,
  puts: z.array(AnnotationPut).max(5000).default([]),
  /** Row ids of regions to delete. */
  deletes: z.array(Id).max(5000).default([]),
  /** The image's class tag: a class id, null to remove it, absent to leave it. */
  tag: Id.nullable().optional(),
  /** The image's status, absent to leave it. */
  status: ImageStatus.optional(),
})
export type SaveRequest = z.input<typeof SaveRequest>

export const SaveResult = z.object({
  /** Row ids for every put that was written. */
  ids: z.array(z.object({ key: z.string(), id: Id })),
  /** Puts that were refused, and why (a degenerate shape, a class that no longer exists...). */
  rejected: z.array(z.object({ key: z.string(), reason: z.string() })),
  /** The tag was refused (its class no longer exists). */
  tagRejected: z.string().optional(),
  status: ImageStatus,
})
export type SaveResult = z.infer<typeof SaveResult>

export const ClassUsage = z.object({
  /** Regions and tags of this class. */
  annotations: z.number().int(),
  /** Images with at least one of them. */
  images: z.number().int(),
})
export type ClassUsage = z.infer<typeof ClassUsage>

export const annotateCalls = {
  'images.get': { req: z.object({ id: Id }), res: ImageForEditor },
  /** The images around one (in library order, by id): for next/previous and the filmstrip. */
  'images.neighbors': {
    req: z.object({
      id: Id,
      before: z.number().int().min(0).max(200).default(10),
      after: z.number().int().min(0).max(200).default(10),
    }),
    res: z.object({
      /** Position of `id` among all images (0-based). */
      index: z.number().int(),
      total: z.number().int(),
      /** Up to `before` images, the image itself, and up to `after` images, in order. */
      items: z.array(ImageMeta),
    }),
  },
  /** The first unlabeled image after `after` (wrapping round), or after the start when null. */
  'images.nextUnlabeled': {
    req: z.object({ after: Id.nullable().default(null) }),
    res: z.object({ id: Id.nullable() }),
  },
  'images.setStatus': {
    req: z.object({ ids: z.array(Id).min(1).max(100_000), status: ImageStatus }),
    res: z.object({ changed: z.number().int() }),
  },
  'annotations.save': { req: SaveRequest, res: SaveResult },
  'classes.create': { req: z.object({ name: ClassName, color: Color.optional() }), res: ClassLabel },
  'classes.rename': { req: z.object({ id: Id, name: ClassName }), res: ClassLabel },
  'classes.recolor': { req: z.object({ id: Id, color: Color }), res: ClassLabel },
  'classes.usage': { req: z.object({ id: Id }), res: ClassUsage },
  /** Moves every annotation of `from` to `into`, then deletes `from`. */
  'classes.merge': {
    req: z.object({ from: Id, into: Id }).refine((r) => r.from !== r.into, {
      message: 'a class cannot be merged into itself',
    }),
    res: z.object({ moved: z.number().int() }),
  },
  /**
   * Deletes a class. One that annotations still use is refused unless `deleteAnnotations` is true,
   * when they are deleted with it (the editor asks first).
   */
  'classes.delete': {
    req: z.object({ id: Id, deleteAnnotations: z.boolean().default(false) }),
    res: ClassUsage,
  },
} as const

export const annotateEvents = {
  /** An image's annotations or status were written. */
  'annotations.changed': z.object({ imageId: Id, status: ImageStatus }),
  /** Classes were added, renamed, recoloured, merged or deleted. */
  'classes.changed': z.object({}),
} as const
