/**
 * A run's predictions over the image being edited: which are shown, which one a point hits, how
 * each is drawn so that it is never mistaken for a label, and the shape it becomes when accepted.
 * Pure: no React, no Konva.
 */
import type { Detection } from '../../src-shared/api/train'
import type { Vec } from '../../src-shared/domain/geometry'
import { boxIou } from '../../src-shared/domain/detection-errors'
import { shapeBounds, type RegionShape } from '../../src-shared/domain/regions'
import { rleFromString, rleIsEmpty } from '../../src-shared/domain/rle'
import type { Region } from './types'

/** A prediction on screen: its index in the run's list, so accept and reject name it stably. */
export interface ShownPrediction {
  index: number
  detection: Detection
}

/**
 * The predictions to draw: at or above the threshold, not rejected, and not already accepted (a
 * region made from it: the same run, class and score, overlapping it), most confident first. An
 * accept that is undone shows its prediction again.
 */
export function shownPredictions(
  detections: readonly Detection[],
  threshold: number,
  rejected: ReadonlySet<number>,
  regions: readonly Region[] = [],
  runId: number | null = null,
): ShownPrediction[] {
  const accepted = regions.filter((r) => r.origin === 'model' && r.source?.runId === runId)
  return detections
    .map((detection, index) => ({ index, detection }))
    .filter(
      ({ index, detection: d }) =>
        d.score >= threshold &&
        !rejected.has(index) &&
        !accepted.some(
          (r) =>
            r.classId === d.classId &&
            Math.abs((r.source?.score ?? -1) - d.score) < 1e-9 &&
            boxIou(shapeBounds(r), d.box) >= 0.3,
        ),
    )
    .sort((a, b) => b.detection.score - a.detection.score)
}

/**
 * The prediction under a point (normalised): of those whose box holds it, the smallest, so that an
 * object inside another can still be picked; ties go to the more confident. Null when none.
 */
export function hitPrediction(shown: readonly ShownPrediction[], p: Vec): ShownPrediction | null {
  let best: ShownPrediction | null = null
  let bestArea = Infinity
  for (const s of shown) {
    const b = s.detection.box
    if (p[0] < b.x || p[0] > b.x + b.w || p[1] < b.y || p[1] > b.y + b.h) continue
    const area = b.w * b.h
    if (area < bestArea || (area === bestArea && best && s.detection.score > best.detection.score)) {
      best = s
      bestArea = area
    }
  }
  return best
}

/** The next prediction to highlight after `current` (in the shown order), wrapping round. */
export function nextPrediction(shown: readonly ShownPrediction[], current: number | null): number | null {
  if (!shown.length) return null
  const i = shown.findIndex((s) => s.index === current)
  return shown[(i + 1) % shown.length]!.index
}

export interface PredictionStyle {
  stroke: string
  /** Predictions are dashed; labels are solid. */
  dash: number[]
  strokeWidth: number
  /** Mask fill opacity: lighter than a label's. */
  fillAlpha: number
  label: string
}

/** How a prediction is drawn: dashed in its class colour, its score in its tag, bolder when highlighted. */
export function predictionStyle(
  d: Detection,
  color: string,
  className: string,
  highlighted: boolean,
): PredictionStyle {
  return {
    stroke: color,
    dash: highlighted ? [10, 4] : [6, 4],
    strokeWidth: highlighted ? 3 : 1.5,
    fillAlpha: highlighted ? 0.35 : 0.2,
    label: `${className} ${Math.round(d.score * 100)}%`,
  }
}

/** What a prediction becomes as a label: its mask where it has a non-empty one, else its box. */
export function predictionShape(d: Detection): RegionShape {
  if (d.mask) {
    const rle = rleFromString(d.mask.counts, d.mask.size[0], d.mask.size[1])
    if (!rleIsEmpty(rle)) return { kind: 'mask', geometry: { rle } }
  }
  return { kind: 'box', geometry: { ...d.box } }
}
