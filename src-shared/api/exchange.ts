/** Exports to other tools' formats (COCO today): merged into the contract in ./contract.ts. */
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

export const exchangeCalls = {
  'export.coco': { req: ExportCocoRequest, res: ExportCocoResult },
} as const
