import { AugmentConfig, type ClassifyConfigParsed } from '../../../../../src-shared/api/train'
import { ApiError } from '../../../../../src-shared/api/contract'
import type { DB } from '../../../../store/open'
import { putPredictions } from '../../../../store/repos/runs'
import type { InputSize } from '../../../host/pixels'
import { loadArtifacts } from '../../../pretrained/artifacts'
import { mobileNetV2Artifacts } from '../../../pretrained/mobilenet-v2.node'
import type { RunContext, TaskRun } from '../../types'
import { holdOut, type ImageSet } from '../data'
import { dominantInput, loadClassificationData } from '../feed.node'
import { TRANSFER_NORMALIZE, TRANSFER_VIEWS, transferInput } from './plan'
import { checkTrainable } from '../plan.node'
import { evaluationOf, predictionRows } from '../run.node'
import { classifyOptions } from '../task'
import { extractFeatures, type FeatureSet } from './features'
import { featureModel, freezeBackbone, headLayersJson } from './model'
import { evaluateFeatures, transferTask } from './task'

/**
 * Opens a transfer-learning run (model `transfer-mobilenet-v2`): the tagged images loaded at the
 * backbone's input size, their pooled MobileNetV2 features computed once (training images once more
 * per augmented view), then the head trained on those by the common trainer.
 */

/** The backbone's last layer used: 1280 channels at stride 32, pooled to one vector per image. */
const LAST = 'out_relu'
/** The views' augmentation where the config gives none: what suits photos. */
const DEFAULT_VIEW_AUGMENT = { hflip: true, rotationDeg: 10, zoom: 0.15, translate: 0.1 }

function dominantInputOf(db: DB): InputSize {
  const d = dominantInput(db)
  if (!d) throw new ApiError('bad_input', 'The project has no tagged images to train on.')
  return d
}

function subsetFeatures(f: FeatureSet, rows: number[]): FeatureSet {
  const data = new Float32Array(rows.length * f.views * f.dim)
  const per = f.views * f.dim
  rows.forEach((r, i) => data.set(f.data.subarray(r * per, (r + 1) * per), i * per))
  return {
    ...f,
    count: rows.length,
    data,
    labels: Int32Array.from(rows, (r) => f.labels[r]!),
    ids: Int32Array.from(rows, (r) => f.ids[r]!),
  }
}

export async function openTransferRun(ctx: RunContext<ClassifyConfigParsed>): Promise<TaskRun> {
  const { db, config } = ctx
  const started = ctx.started?.classIds?.length && ctx.started.input ? ctx.started : null
  const classIds = started ? started.classIds : checkTrainable(db, config).classIds
  const input: InputSize = started
    ? (started.input as InputSize)
    : config.input
      ? { ...config.input, channels: 3 }
      : transferInput(dominantInputOf(db))
  const loaded = await loadClassificationData(db, ctx.projectDir, input, classIds, ctx.onLoading, ctx.signal)
  let trainSet: ImageSet = loaded.sets.train
  let val: ImageSet | null = loaded.sets.val
  if (config.validation === 'test') val = loaded.sets.test
  else if (typeof config.validation === 'number') {
    const h = holdOut(trainSet, config.validation, config.seed)
    trainSet = h.rest
    val = h.held
  }

  const artifacts = mobileNetV2Artifacts(LAST, headLayersJson(LAST, classIds.length, 0.2, config.seed))
  artifacts.topology.model_config.config.layers[0]!.config.batch_input_shape = [
    null,
    input.height,
    input.width,
    3,
  ]
  const model = await loadArtifacts(artifacts)
  freezeBackbone(model)
  const features = featureModel(model)

  // The feature cache: the slow part of a run, reported as loading.
  const augment = AugmentConfig.parse(config.augment ?? DEFAULT_VIEW_AUGMENT)
  const work = trainSet.count * TRANSFER_VIEWS + (val?.count ?? 0) + loaded.sets.test.count
  let before = 0
  const extract = async (set: ImageSet, views: number, seed: number) => {
    const f = await extractFeatures(features, set, {
      norm: TRANSFER_NORMALIZE,
      views,
      augment: views > 1 ? augment : null,
      seed,
      signal: ctx.signal,
      onProgress: (done) => ctx.onLoading(before + done, work),
    })
    before += set.count * f.views
    return f
  }
  const train = await extract(trainSet, TRANSFER_VIEWS, config.seed)
  const valF = val === loaded.sets.test ? null : val ? await extract(val, 1, config.seed + 1) : null
  const test = await extract(loaded.sets.test, 1, config.seed + 2)
  const valFeatures = val === loaded.sets.test ? test : valF

  // The pinned images, from whichever split holds them.
  const sources: FeatureSet[] = [train, ...(valFeatures && valFeatures !== test ? [valFeatures] : []), test]
  const pinnedParts = config.pinnedImageIds.flatMap((id) => {
    for (const s of sources) {
      const i = s.ids.indexOf(id)
      if (i >= 0) return [subsetFeatures(s, [i])]
    }
    return []
  })
  const pinned: FeatureSet | null = pinnedParts.length
    ? {
        ...pinnedParts[0]!,
        views: 1,
        count: pinnedParts.length,
        data: Float32Array.from(pinnedParts.flatMap((p) => [...p.data.subarray(0, p.dim)])),
        labels: Int32Array.from(pinnedParts.map((p) => p.labels[0]!)),
        ids: Int32Array.from(pinnedParts.map((p) => p.ids[0]!)),
      }
    : null

  return {
    facts: {
      classIds,
      input,
      normalize: TRANSFER_NORMALIZE,
      counts: { train: trainSet.count, val: val?.count ?? 0, test: loaded.sets.test.count },
    },
    model,
    task: transferTask(
      { train, val: valFeatures, test, numClasses: classIds.length },
      { testEachEpoch: config.testEachEpoch, labelSmoothing: config.labelSmoothing ?? 0 },
    ) as TaskRun['task'],
    // Batch norm lives in the frozen backbone only: nothing to refresh.
    options: { ...classifyOptions(config), batchNormRefresh: null },
    pinned: async (m, epoch) => {
      const rows = pinned
        ? predictionRows(pinned, (await evaluateFeatures(m, pinned, classIds.length)).probs, classIds)
        : []
      return {
        value: rows.map((r) => ({ imageId: r.imageId, top3: r.top })),
        write: (d, runId) => putPredictions(d, runId, epoch, rows),
      }
    },
    finish: async (m) => {
      const ev = await evaluateFeatures(m, test, classIds.length)
      const evaluation = evaluationOf(loaded.sets.test, ev.probs, ev.loss, classIds, 'test')
      return {
        value: {
          testAccuracy: evaluation.accuracy,
          testMetrics: { accuracy: evaluation.accuracy, loss: evaluation.loss },
          evaluation,
        },
        write: (d, runId) => putPredictions(d, runId, -1, predictionRows(test, ev.probs, classIds)),
      }
    },
    // The feature model shares the model's layers: disposing the model frees both.
    dispose: () => model.dispose(),
  }
}
