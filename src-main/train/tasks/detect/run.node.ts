import type { Detection, DetectionConfigParsed } from '../../../../src-shared/api/train'
import { seededRandom, shuffleInPlace } from '../../../../src-shared/domain/random'
import { rleToString } from '../../../../src-shared/domain/rle'
import { detectionImages } from '../../../store/repos/training'
import { putDetections } from '../../../store/repos/runs'
import type { RunContext, TaskRun } from '../types'
import type { ImageDetection } from './decode'
import { detectionEvaluation, epochFigures, evaluateSet } from './evaluate'
import { loadDetectionData } from './feed.node'
import { backboneArtifacts, loadBackbone } from './backbone.node'
import { buildDetector, usesBackbone } from './model'
import { canvasFor, detectionClasses } from './plan.node'
import type { DetectionSample, DetectionSet } from './sample'
import { detectionOptions, detectionTask } from './task'

/** Detections as the API and the store keep them: class ids, boxes normalised, masks as COCO strings. */
export function toDetections(
  dets: readonly ImageDetection[],
  sample: Pick<DetectionSample, 'letterbox'>,
  classIds: readonly number[],
): Detection[] {
  const { width: w, height: h } = sample.letterbox
  return dets.map((d) => ({
    classId: classIds[d.classIndex]!,
    score: d.score,
    box: { x: d.box[0] / w, y: d.box[1] / h, w: d.box[2] / w, h: d.box[3] / h },
    ...(d.mask && { mask: { size: d.mask.size, counts: rleToString(d.mask) } }),
  }))
}

/** A seeded share of a set's samples held out for validation. */
function holdOut(
  set: DetectionSet,
  fraction: number,
  seed: number,
): { rest: DetectionSet; held: DetectionSet } {
  const order = shuffleInPlace(
    set.samples.map((_, i) => i),
    seededRandom(seed + 17),
  )
  const n = Math.max(1, Math.round(set.samples.length * fraction))
  const held = new Set(order.slice(0, n))
  return {
    rest: { ...set, samples: set.samples.filter((_, i) => !held.has(i)) },
    held: { ...set, samples: set.samples.filter((_, i) => held.has(i)) },
  }
}

/** Opens a detection or segmentation run: loads the labelled images, builds the detector. */
export async function openDetectRun(ctx: RunContext<DetectionConfigParsed>): Promise<TaskRun> {
  const { db, config } = ctx
  const masks = config.task === 'segment'
  const started = ctx.started?.classIds?.length && ctx.started.input ? ctx.started : null
  const classIds = started ? started.classIds : detectionClasses(db).map((c) => c.id)
  const input =
    (started?.input as { width: number; height: number } | undefined) ??
    config.input ??
    canvasFor(detectionImages(db).filter((i) => i.split === 'train'))
  const feed = await loadDetectionData(db, ctx.projectDir, {
    width: input.width,
    height: input.height,
    classIds,
    masks,
    signal: ctx.signal,
    onProgress: ctx.onLoading,
  })
  let train = feed.sets.train
  let val: DetectionSet | null = feed.sets.val
  if (config.validation === 'test') val = feed.sets.test
  else if (typeof config.validation === 'number') {
    const h = holdOut(train, config.validation, config.seed)
    train = h.rest
    val = h.held
  }
  const test = feed.sets.test
  const all = [...feed.sets.train.samples, ...feed.sets.val.samples, ...test.samples]
  const pinned: DetectionSet = {
    ...train,
    samples: config.pinnedImageIds.flatMap((id) => all.filter((s) => s.imageId === id).slice(0, 1)),
  }
  const backbone = usesBackbone(config.model) ? await loadBackbone() : null
  const { head: model } = buildDetector(
    {
      model: config.model,
      width: input.width,
      height: input.height,
      classes: classIds.length,
      prototypes: config.task === 'segment' ? config.prototypes : 0,
      seed: config.seed,
    },
    backbone,
  )
  const data = { train, val, test, classes: classIds.length, masks }
  const task = detectionTask(data, config, backbone)
  const rowsOf = (set: DetectionSet, dets: ImageDetection[][]) =>
    set.samples.map((s, i) => ({ imageId: s.imageId, detections: toDetections(dets[i]!, s, classIds) }))
  return {
    facts: {
      classIds,
      input: { ...input, channels: 3 },
      model: config.model,
      decode: { maxDetections: config.maxDetections, scoreFloor: config.scoreFloor },
      counts: { train: train.samples.length, val: val?.samples.length ?? 0, test: test.samples.length },
    },
    model,
    task: task as unknown as TaskRun['task'],
    // For a trainer in a Chromium worker (train/remote/): the same data, and the backbone's weights.
    remote: async () => ({
      kind: 'detect',
      data,
      config,
      backbone: backbone && { name: backbone.name, artifacts: backboneArtifacts() },
    }),
    options: detectionOptions(config),
    pinned: async (m, epoch) => {
      const rows = rowsOf(pinned, await task.detect(m, pinned))
      return {
        value: rows,
        write: (d, runId) => putDetections(d, runId, epoch, rows),
      }
    },
    finish: async (m) => {
      const dets = await task.detect(m, test)
      const e = evaluateSet(test.samples, dets, classIds.length, masks)
      const rows = rowsOf(test, dets)
      return {
        value: {
          testMetrics: epochFigures(e, ''),
          detection: detectionEvaluation(e, test.samples, classIds, 'test'),
        },
        write: (d, runId) => putDetections(d, runId, -1, rows),
      }
    },
    dispose: () => {
      model.dispose()
      task.dispose()
    },
  }
}
