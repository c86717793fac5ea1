/** Exports to other tools' formats (COCO, YOLO, Pascal VOC, labelme, ImageFolder): merged into the contract in ./contract.ts. */
import { z } from 'zod'
import { Split } from '../domain/types'

const Id = z.number().int()

export const ExportCocoRequest = z.object({
  /** The folder to write: made when missing; refused when it holds anything already. */
  dir: z.string().min(1),
  /** Only this split's images (default: every image). */
  split: Split.optional(),
  /** Also write `predictions.json` (COCO results) from this run's final test-split detections. */
  runId: Id.optional(),
})
export type ExportCocoRequest = z.input<typeof ExportCocoRequest>

export const ExportCocoResult = z.object({
  /** Every file written, relative to `dir`: annotations.json, predictions.json, images/…. */
  files: z.array(z.string()),
  /** Images written (to annotations.json and images/). */
  images: z.number().int(),
  /** COCO annotations written (regions with a class; image-level class tags are not COCO objects). */
  annotations: z.number().int(),
  /** Detections written to predictions.json; null when no run was given. */
  predictions: z.number().int().nullable(),
  /** Images of the export for which the run has no stored final predictions (empty without a run). */
  imagesWithoutPredictions: z.object({ count: z.number().int(), ids: z.array(Id) }),
})
export type ExportCocoResult = z.infer<typeof ExportCocoResult>

/** The formats `export.dataset` writes (COCO, with its run predictions, has `export.coco`). */
export const DATASET_EXPORT_FORMATS = ['yolo', 'voc', 'labelme', 'imagefolder'] as const
export const DatasetExportFormat = z.enum(DATASET_EXPORT_FORMATS)
export type DatasetExportFormat = z.infer<typeof DatasetExportFormat>

export const ExportDatasetRequest = z.object({
  format: DatasetExportFormat,
  /** The folder to write: made when missing; refused when it holds anything already. */
  dir: z.string().min(1),
  /** Only this split's images (default: every image). */
  split: Split.optional(),
})
export type ExportDatasetRequest = z.input<typeof ExportDatasetRequest>

export const ExportDatasetResult = z.object({
  format: DatasetExportFormat,
  /** The folder written, absolute. */
  dir: z.string(),
  /** Every file written, relative to `dir`, in the order written. */
  files: z.array(z.string()),
  /** Images written. */
  images: z.number().int(),
  /** Objects written: label lines (YOLO), objects (VOC), shapes (labelme), or tagged images (ImageFolder). */
  annotations: z.number().int(),
  /** What the format cannot hold as it is, and what was done with it, one sentence each. */
  notes: z.array(z.string()),
  /** A command that trains on the export with an existing engine, or null where there is none. */
  trainCommand: z.string().nullable(),
})
export type ExportDatasetResult = z.infer<typeof ExportDatasetResult>

export const exchangeCalls = {
  'export.coco': { req: ExportCocoRequest, res: ExportCocoResult },
  'export.dataset': { req: ExportDatasetRequest, res: ExportDatasetResult },
} as const
