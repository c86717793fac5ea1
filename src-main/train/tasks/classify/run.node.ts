import type { ClassifyConfigParsed, Evaluation } from '../../../../src-shared/api/train'
import { putPredictions, type PredictionRow } from '../../../store/repos/runs'
import type { InputSize } from '../../host/pixels'
import type { RunContext, TaskRun } from '../types'
import { concatSets, holdOut, subset, withAugmentedCopy, type ImageSet } from './data'
import { loadClassificationData } from './feed.node'
import { accuracyOf, confusionMatrix, perClassAccuracy, topK } from './metrics'
import { buildModel } from './models/builder'
import { checkTrainable, layersOf, resolveInput } from './plan.node'
import { classifyOptions, classifyTask, evaluate, type TrainData } from './task'

/** The top-3 guesses for each image of a set, as prediction rows. */
export function predictionRows(
  set: Pick<ImageSet, 'count' | 'ids'>,
  probs: Float32Array,
  classIds: number[],
  k = 3,
): PredictionRow[] {
  const n = classIds.length
  return Array.from({ length: set.count }, (_, i) => ({
    imageId: set.ids[i]!,
    top: topK(probs, i * n, n, Math.min(k, n)).map((g) => ({ classId: classIds[g.index]!, score: g.score })),
  }))
}

export function evaluationOf(
  set: ImageSet,
  probs: Float32Array,
  loss: number,
  classIds: number[],
  split: string,
): Evaluation {
  const n = classIds.length
  const pred = new Int32Array(set.count)
  const rows = predictionRows(set, probs, classIds)
  rows.forEach((r, i) => (pred[i] = classIds.indexOf(r.top[0]!.classId)))
  const confusion = confusionMatrix(set.labels, pred, n)
  // The 200 most confident mistakes (every prediction is also stored, for the confusion cells).
  const wrong = rows
    .flatMap((r, i) =>
      pred[i] === set.labels[i]
        ? []
        : [{ imageId: r.imageId, trueClassId: classIds[set.labels[i]!]!, top3: r.top }],
    )
    .sort((a, b) => b.top3[0]!.score - a.top3[0]!.score)
    .slice(0, 200)
  return {
    split,
    accuracy: accuracyOf(confusion),
    loss,
    classIds,
    perClass: perClassAccuracy(confusion).map((p, i) => ({ classId: classIds[i]!, ...p })),
    confusion,
    wrong,
    samples: set.count,
  }
}

/** Opens a classification run: loads the tagged images, holds out validation, builds the model. */
export async function openClassifyRun(ctx: RunContext<ClassifyConfigParsed>): Promise<TaskRun> {
  const { db, config } = ctx
  // A resumed run keeps the classes and input size it started with, if it got that far.
  const started = ctx.started?.classIds?.length && ctx.started.input ? ctx.started : null
  const classIds = started ? started.classIds : checkTrainable(db, config).classIds
  const input: InputSize = started ? (started.input as InputSize) : resolveInput(db, config)
  const loaded = await loadClassificationData(db, ctx.projectDir, input, classIds, ctx.onLoading, ctx.signal)
  let trainSet = loaded.sets.train
  let val: ImageSet | null = loaded.sets.val
  if (config.validation === 'test') val = loaded.sets.test
  else if (typeof config.validation === 'number') {
    const h = holdOut(trainSet, config.validation, config.seed)
    trainSet = h.rest
    val = h.held
  }
  let augmentFrom = 0
  if (config.augment?.concatOriginal) {
    const doubled = withAugmentedCopy(trainSet)
    trainSet = doubled.set
    augmentFrom = doubled.augmentFrom
  }
  // The pinned images, from whichever split holds them, as one small set.
  const pinnedOnes = config.pinnedImageIds.flatMap((id) =>
    (['train', 'val', 'test'] as const)
      .flatMap((s) => {
        const i = loaded.sets[s].ids.indexOf(id)
        return i >= 0 ? [subset(loaded.sets[s], [i])] : []
      })
      .slice(0, 1),
  )
  const pinned = pinnedOnes.length ? concatSets(pinnedOnes) : null
  const model = buildModel(layersOf(config), {
    input,
    numClasses: classIds.length,
    init: config.init,
    seed: config.seed,
  })
  const data: TrainData = {
    train: trainSet,
    val,
    test: loaded.sets.test,
    numClasses: classIds.length,
    augmentFrom,
  }
  return {
    facts: {
      classIds,
      input,
      normalize: config.normalize,
      counts: { train: trainSet.count, val: val?.count ?? 0, test: loaded.sets.test.count },
    },
    model,
    task: classifyTask(data, config) as TaskRun['task'],
    remote: async () => ({ kind: 'classify', data, config }),
    options: classifyOptions(config),
    pinned: async (m, epoch) => {
      const rows = pinned?.count
        ? predictionRows(
            pinned,
            (await evaluate(m, pinned, config.normalize, classIds.length)).probs,
            classIds,
          )
        : []
      return {
        value: rows.map((r) => ({ imageId: r.imageId, top3: r.top })),
        write: (d, runId) => putPredictions(d, runId, epoch, rows),
      }
    },
    finish: async (m) => {
      const test = loaded.sets.test
      const ev = await evaluate(m, test, config.normalize, classIds.length)
      const evaluation = evaluationOf(test, ev.probs, ev.loss, classIds, 'test')
      return {
        value: {
          testAccuracy: evaluation.accuracy,
          testMetrics: { accuracy: evaluation.accuracy, loss: evaluation.loss },
          evaluation,
        },
        write: (d, runId) => putPredictions(d, runId, -1, predictionRows(test, ev.probs, classIds)),
      }
    },
    dispose: () => model.dispose(),
  }
}
