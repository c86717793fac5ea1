import { ApiError } from '../../../../src-shared/api/contract'
import { DetectConfig, SegmentConfig, type DetectionConfigParsed } from '../../../../src-shared/api/train'
import type { DB } from '../../../store/open'
import { detectionImages, regionClasses } from '../../../store/repos/training'

/**
 * What the API checks before a detection or segmentation run: that the labels support the task,
 * which classes it learns, and the training resolution. Reads the store through its repos only.
 */

type DetectionTask = DetectionConfigParsed['task']

/** The training canvas's longer side, by default, at most this (CPU training stays quick). */
export const DEFAULT_MAX_SIDE = 384

/** Classes with regions in the train split (a segmentation run learns boxes only for box-only ones). */
export function detectionClasses(db: DB) {
  return regionClasses(db).filter((c) => (c.bySplit.train ?? 0) > 0)
}

export function detectionUnavailable(db: DB, task: DetectionTask): string | null {
  const all = regionClasses(db)
  if (!all.length)
    return task === 'detect'
      ? 'has no boxes, polygons or masks: draw some in the editor, or import COCO annotations'
      : 'has no polygons or masks: draw some in the editor, or import COCO annotations with segmentations'
  if (task === 'segment' && !all.some((c) => (c.byKind.polygon ?? 0) + (c.byKind.mask ?? 0) > 0))
    return 'has boxes only: instance segmentation needs polygons or masks (train a detector instead)'
  if (!detectionClasses(db).length) return 'has no labelled objects in its train split'
  return null
}

/**
 * The training canvas for a set of image sizes: the median size, brought down so its longer side
 * is at most `maxSide`, each side rounded to the nearest multiple of 32 (the detector's coarsest
 * stride; halfway rounds down, as CPU time grows with the canvas). Images are letterboxed into it.
 */
export function canvasFor(sizes: readonly { width: number; height: number }[], maxSide = DEFAULT_MAX_SIDE) {
  const median = (v: number[]) => {
    const s = [...v].sort((a, b) => a - b)
    return s[Math.floor(s.length / 2)] ?? 256
  }
  const w = median(sizes.map((s) => s.width))
  const h = median(sizes.map((s) => s.height))
  const scale = Math.min(1, maxSide / Math.max(w, h))
  const up = (v: number) => Math.min(1024, Math.max(32, Math.ceil((v * scale) / 32 - 0.5) * 32))
  return { width: up(w), height: up(h) }
}

export function detectionDefaults(db: DB, task: DetectionTask): DetectionConfigParsed {
  const images = detectionImages(db)
  const hasVal = images.some((i) => i.split === 'val')
  const train = images.filter((i) => i.split === 'train')
  const base = { input: canvasFor(train), validation: hasVal ? ('val' as const) : 0.1 }
  return task === 'detect'
    ? DetectConfig.parse({ task: 'detect', ...base })
    : SegmentConfig.parse({ task: 'segment', ...base })
}

export function validateDetection(db: DB, c: DetectionConfigParsed): { notes: string[] } {
  const classes = detectionClasses(db)
  const images = detectionImages(db)
  const count = (split: string) => images.filter((i) => i.split === split).length
  const notes: string[] = []
  if (!classes.length) throw new ApiError('bad_input', 'No class has labelled objects in the train split.')
  if (c.validation === 'val' && count('val') === 0)
    throw new ApiError(
      'bad_input',
      'The val split has no labelled images: re-split the project, or validate on the test split or on a fraction of train.',
    )
  if (count('test') === 0)
    throw new ApiError(
      'bad_input',
      'The test split has no labelled images: every run is evaluated on it. Re-split the project.',
    )
  if (typeof c.validation === 'number' && Math.round(count('train') * c.validation) === 0)
    throw new ApiError(
      'bad_input',
      `Holding out ${c.validation} of ${count('train')} training images leaves no validation images: hold out more, or use the val split.`,
    )
  if (c.batchSize > count('train'))
    notes.push(`the batch size (${c.batchSize}) is larger than the train split (${count('train')} images)`)
  if (c.task === 'segment') {
    const boxOnly = classes.filter((k) => !(k.byKind.polygon ?? 0) && !(k.byKind.mask ?? 0))
    if (boxOnly.length)
      notes.push(`${boxOnly.map((k) => k.name).join(', ')}: boxes only, so these learn boxes but no masks`)
  }
  return { notes }
}
