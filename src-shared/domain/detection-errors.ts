/**
 * What a detector got wrong on one image, in the kinds a person fixes differently (after TIDE,
 * Bolya et al. 2020, simplified to one IoU threshold):
 * - `false_positive`: a detection that overlaps no labelled object (IoU < `background` with all);
 * - `duplicate`: a second detection of an object already found;
 * - `wrong_class`: a detection on an object (IoU ≥ `match`) of another class;
 * - `poor_localisation`: the right class, but `background` ≤ IoU < `match`;
 * - `miss`: a labelled object that no detection above the threshold explains.
 * Detections below `threshold` are not shown, so they are not judged. Boxes are in any one
 * coordinate frame (normalised, or pixels). Pure.
 */
import type { BoxGeom } from './geometry'

export const DETECTION_ERROR_KINDS = [
  'false_positive',
  'duplicate',
  'wrong_class',
  'poor_localisation',
  'miss',
] as const
export type DetectionErrorKind = (typeof DETECTION_ERROR_KINDS)[number]

export interface TruthBox {
  classId: number
  box: BoxGeom
  /** Crowd regions: a detection on one is neither right nor wrong. */
  crowd?: boolean
}

export interface PredictedBox {
  classId: number
  score: number
  box: BoxGeom
}

export interface DetectionError {
  kind: DetectionErrorKind
  /** The detection's index in the input (absent for a miss). */
  detection?: number
  /** The labelled object's index in the input (absent for a false positive). */
  truth?: number
  /** The detection's class, else the object's. */
  classId: number
  /** The labelled object's class, where one is involved. */
  trueClassId?: number
  score?: number
  /** The best IoU with a labelled object of the relevant kind (0 where none). */
  iou: number
  /** The box to show: the detection's, or for a miss the object's. */
  box: BoxGeom
  /** How bad it is, for sorting: a confident false detection costs its score; a miss costs 1. */
  weight: number
}

export interface ImageErrors {
  /** Detections that matched an object of their class. */
  correct: number
  errors: DetectionError[]
  /** The sum of the errors' weights: how wrong the image is. */
  wrongness: number
}

export interface ErrorOptions {
  threshold: number
  /** IoU at which a detection matches an object (COCO AP50's 0.5). */
  match?: number
  /** Below this IoU with every object, a detection is on the background. */
  background?: number
}

export function boxIou(a: BoxGeom, b: BoxGeom): number {
  const iw = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x)
  const ih = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y)
  if (iw <= 0 || ih <= 0) return 0
  const inter = iw * ih
  const union = a.w * a.h + b.w * b.h - inter
  return union > 0 ? inter / union : 0
}

/** Judges one image's shown detections against its labels. */
export function imageErrors(
  truths: readonly TruthBox[],
  detections: readonly PredictedBox[],
  opts: ErrorOptions,
): ImageErrors {
  const match = opts.match ?? 0.5
  const background = opts.background ?? 0.1
  const order = detections
    .map((d, i) => ({ d, i }))
    .filter(({ d }) => d.score >= opts.threshold)
    .sort((a, b) => b.d.score - a.d.score)
  const taken = new Array<boolean>(truths.length).fill(false)
  /** Objects a wrong-class or poorly placed detection already accounts for: not also a miss. */
  const explained = new Array<boolean>(truths.length).fill(false)
  const errors: DetectionError[] = []
  let correct = 0

  for (const { d, i } of order) {
    // The best free object of the same class, as COCO matches (greedy by score).
    let best = -1
    let bestIou = 0
    let bestTaken = -1
    let bestTakenIou = 0
    let any = 0
    let other = -1
    let otherIou = 0
    let crowd = false
    for (let t = 0; t < truths.length; t++) {
      const g = truths[t]!
      const iou = boxIou(d.box, g.box)
      any = Math.max(any, iou)
      if (g.crowd) {
        if (g.classId === d.classId && iou >= match) crowd = true
        continue
      }
      if (g.classId === d.classId) {
        if (!taken[t] && iou > bestIou) {
          bestIou = iou
          best = t
        } else if (taken[t] && iou > bestTakenIou) {
          bestTakenIou = iou
          bestTaken = t
        }
      } else if (iou > otherIou) {
        otherIou = iou
        other = t
      }
    }
    const base = { detection: i, classId: d.classId, score: d.score, box: d.box, weight: d.score }
    if (best >= 0 && bestIou >= match) {
      taken[best] = true
      correct++
    } else if (crowd) {
      // On a crowd region: ignored, as COCO ignores it.
    } else if (bestTaken >= 0 && bestTakenIou >= match) {
      errors.push({
        ...base,
        kind: 'duplicate',
        truth: bestTaken,
        trueClassId: d.classId,
        iou: bestTakenIou,
      })
    } else if (other >= 0 && otherIou >= match) {
      explained[other] = true
      errors.push({
        ...base,
        kind: 'wrong_class',
        truth: other,
        trueClassId: truths[other]!.classId,
        iou: otherIou,
      })
    } else if (best >= 0 && bestIou >= background) {
      explained[best] = true
      errors.push({ ...base, kind: 'poor_localisation', truth: best, trueClassId: d.classId, iou: bestIou })
    } else {
      // On the background, or overlapping an object a little without its class or its place.
      errors.push({ ...base, kind: 'false_positive', iou: any })
    }
  }

  for (let t = 0; t < truths.length; t++) {
    const g = truths[t]!
    if (g.crowd || taken[t] || explained[t]) continue
    errors.push({
      kind: 'miss',
      truth: t,
      classId: g.classId,
      trueClassId: g.classId,
      iou: 0,
      box: g.box,
      weight: 1,
    })
  }
  errors.sort((a, b) => b.weight - a.weight)
  return { correct, errors, wrongness: errors.reduce((s, e) => s + e.weight, 0) }
}
