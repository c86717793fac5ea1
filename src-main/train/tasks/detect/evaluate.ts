import type { CocoStats, DetectionEvaluation } from '../../../../src-shared/api/train'
import {
  evaluateCoco,
  type CocoAnnotation,
  type CocoDataset,
  type CocoEvalResult,
  type CocoResult,
} from '../../../../src-shared/domain/coco/eval'
import { rleFromBox } from '../../../../src-shared/domain/coco/polygon'
import { rleArea } from '../../../../src-shared/domain/rle'
import type { ImageDetection } from './decode'
import type { DetectionSample } from './sample'

/**
 * COCO evaluation of a detector's output on a set of samples, in the original images' pixels,
 * with the project's own evaluator (src-shared/domain/coco, matched to pycocotools). Category ids
 * are the run's class indices + 1 (COCO ids are never 0). Pure TypeScript.
 */

/** The samples' labels as a COCO ground-truth dataset. */
export function groundTruth(samples: readonly DetectionSample[], classes: number): CocoDataset {
  let id = 1
  const annotations: CocoAnnotation[] = []
  for (const s of samples)
    for (const t of s.truth) {
      const { width: w, height: h } = s.letterbox
      // A box-only object in a segmentation run is graded as its box.
      const mask = t.mask ?? rleFromBox(t.box, h, w)
      annotations.push({
        id: id++,
        image_id: s.imageId,
        category_id: t.classIndex + 1,
        bbox: t.box,
        area: t.mask ? rleArea(t.mask) : t.box[2] * t.box[3],
        iscrowd: t.crowd ? 1 : 0,
        segmentation: { size: mask.size, counts: mask.counts },
      })
    }
  return {
    images: samples.map((s) => ({ id: s.imageId, width: s.letterbox.width, height: s.letterbox.height })),
    categories: Array.from({ length: classes }, (_, i) => ({ id: i + 1, name: String(i) })),
    annotations,
  }
}

export function cocoResults(
  samples: readonly DetectionSample[],
  dets: readonly ImageDetection[][],
): CocoResult[] {
  return samples.flatMap((s, i) =>
    dets[i]!.map((d) => ({
      image_id: s.imageId,
      category_id: d.classIndex + 1,
      score: d.score,
      bbox: d.box,
      ...(d.mask && { segmentation: { size: d.mask.size, counts: d.mask.counts } }),
    })),
  )
}

const stats = (r: CocoEvalResult): CocoStats => ({
  ap: r.ap,
  ap50: r.ap50,
  ap75: r.ap75,
  apSmall: r.apSmall,
  apMedium: r.apMedium,
  apLarge: r.apLarge,
  ar1: r.ar1,
  ar10: r.ar10,
  ar100: r.ar100,
  arSmall: r.arSmall,
  arMedium: r.arMedium,
  arLarge: r.arLarge,
})

export interface SetEvaluation {
  box: CocoEvalResult
  mask: CocoEvalResult | null
}

export function evaluateSet(
  samples: readonly DetectionSample[],
  dets: readonly ImageDetection[][],
  classes: number,
  masks: boolean,
): SetEvaluation {
  const gt = groundTruth(samples, classes)
  const results = cocoResults(samples, dets)
  return {
    box: evaluateCoco(gt, results, 'bbox'),
    mask: masks ? evaluateCoco(gt, results, 'segm') : null,
  }
}

/** The figures an epoch reports, under a prefix (`val_`, `test_`): box_map, box_map50, ... */
export function epochFigures(e: SetEvaluation, prefix: string): Record<string, number> {
  const out: Record<string, number> = {
    [`${prefix}box_map`]: e.box.ap,
    [`${prefix}box_map50`]: e.box.ap50,
    [`${prefix}box_map75`]: e.box.ap75,
  }
  if (e.mask) {
    out[`${prefix}mask_map`] = e.mask.ap
    out[`${prefix}mask_map50`] = e.mask.ap50
    out[`${prefix}mask_map75`] = e.mask.ap75
  }
  return out
}

/** The stored evaluation of a split: both summaries and the per-class figures, by class id. */
export function detectionEvaluation(
  e: SetEvaluation,
  samples: readonly DetectionSample[],
  classIds: readonly number[],
  split: string,
): DetectionEvaluation {
  const counts = new Array<number>(classIds.length).fill(0)
  let instances = 0
  for (const s of samples)
    for (const t of s.truth)
      if (!t.crowd) {
        counts[t.classIndex]!++
        instances++
      }
  return {
    split,
    images: samples.length,
    instances,
    box: stats(e.box),
    mask: e.mask ? stats(e.mask) : null,
    perClass: classIds.map((classId, i) => {
      const b = e.box.perCategory.find((c) => c.categoryId === i + 1)
      const m = e.mask?.perCategory.find((c) => c.categoryId === i + 1)
      return {
        classId,
        instances: counts[i]!,
        boxAp: b?.ap ?? -1,
        boxAp50: b?.ap50 ?? -1,
        maskAp: m ? m.ap : null,
        maskAp50: m ? m.ap50 : null,
        boxPr50: [...(e.box.prCurves.find((c) => c.categoryId === i + 1)?.iou50 ?? [])],
      }
    }),
  }
}
