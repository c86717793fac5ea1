import { z } from 'zod'

/** Where an image sits for training. `unassigned` only exists until a split is made. */
export const SPLITS = ['train', 'val', 'test'] as const
export const Split = z.enum(SPLITS)
export type Split = z.infer<typeof Split>

export const ImageStatus = z.enum(['unlabeled', 'labeled', 'reviewed'])
export type ImageStatus = z.infer<typeof ImageStatus>

export const RegionKind = z.enum(['tag', 'box', 'polygon', 'mask'])
export type RegionKind = z.infer<typeof RegionKind>

export const ClassLabel = z.object({
  id: z.number().int(),
  name: z.string(),
  color: z.string(),
  position: z.number().int(),
})
export type ClassLabel = z.infer<typeof ClassLabel>

export const ImageMeta = z.object({
  id: z.number().int(),
  hash: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  channels: z.number().int(),
  format: z.string(),
  split: Split,
  status: ImageStatus,
  source: z.string(),
  /** The class of the image's tag annotation, if it has one. */
  classId: z.number().int().nullable(),
})
export type ImageMeta = z.infer<typeof ImageMeta>

export const Counts = z.object({
  images: z.number().int(),
  bySplit: z.record(z.string(), z.number().int()),
  byClass: z.array(
    z.object({ classId: z.number().int().nullable(), name: z.string(), count: z.number().int() }),
  ),
  byAnnotationKind: z.record(z.string(), z.number().int()),
  byStatus: z.record(z.string(), z.number().int()),
})
export type Counts = z.infer<typeof Counts>
