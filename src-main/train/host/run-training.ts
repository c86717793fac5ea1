import * as tf from '@tensorflow/tfjs'
import {
  TrainConfig,
  type BackendInfo,
  type EpochMetrics,
  type Evaluation,
  type RunSummary,
  type TrainConfigParsed,
} from '../../../src-shared/api/train'
import { ApiError } from '../../../src-shared/api/contract'
import { openProjectStore } from '../../store/open'
import {
  getCheckpoint,
  getHistory,
  getRunRow,
  mergeRunFacts,
  putCheckpoint,
  putEpoch,
  putPredictions,
  runFacts,
  setRunStatus,
  toSummary,
  truncateHistory,
  type PredictionRow,
} from '../../store/repos/runs'
import { selectBackend, type BackendName } from '../backends/select'
import { decodeOptimizer, decodeWeights, encodeModel } from '../checkpoint'
import { concatSets, holdOut, subset, withAugmentedCopy, type ImageSet } from '../data'
import { accuracyOf, confusionMatrix, perClassAccuracy, topK } from '../metrics'
import { buildModel } from '../models/builder'
import { PRESETS } from '../models/presets'
import { evaluate, train, type TrainData } from '../trainer'
import { checkTrainable } from './checks'
import { loadClassificationData, type InputSize } from './dataset'
import { probeNative } from './native'
import { resolveInput } from './plan'

/** Messages the trainer process sends its parent (and the in-process runner its listener). */
export type TrainerMessage =
  | { type: 'started'; runId: number; backend: BackendInfo }
  | { type: 'loading'; runId: number; done: number; total: number }
  | {
      type: 'batch'
      runId: number
      epoch: number
      batch: number
      batches: number
      loss: number
      smoothLoss: number
      imagesPerS: number
      etaS: number
      backend: string
    }
  | {
      type: 'epoch'
      runId: number
      metrics: EpochMetrics
      pinned: { imageId: number; top3: { classId: number; score: number }[] }[]
    }
  | { type: 'finished'; runId: number; status: RunSummary['status']; summary: RunSummary }

export interface RunTrainingOptions {
  projectDir: string
  runId: number
  resume: boolean
  signal: AbortSignal
  send: (m: TrainerMessage) => void
  prefer?: BackendName
}

function layersFor(c: TrainConfigParsed) {
  if (c.model === 'custom') return c.layers!
  return PRESETS[c.model].layers
}

/** The top-3 guesses for each image of a set, as prediction rows. */
function predictionRows(set: ImageSet, probs: Float32Array, classIds: number[], k = 3): PredictionRow[] {
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

function pinnedPredictions(
  model: tf.LayersModel,
  pinned: ImageSet | null,
  norm: { mean: number; std: number },
  classIds: number[],
) {
  if (!pinned?.count) return []
  const { probs } = evaluate(model, pinned, norm, classIds.length)
  return predictionRows(pinned, probs, classIds).map((r) => ({ imageId: r.imageId, top3: r.top }))
}

/** One run, start to end (or to a cancel): everything it learns goes into the store as it goes. */
export async function runTraining(o: RunTrainingOptions): Promise<void> {
  const db = openProjectStore(o.projectDir)
  let model: tf.LayersModel | null = null
  try {
    const row = getRunRow(db, o.runId)
    if (!row) throw new ApiError('not_found', `There is no run ${o.runId}`)
    const config = TrainConfig.parse(JSON.parse(row.config))
    const backend = await selectBackend(
      probeNative(),
      o.prefer ?? (process.env.SMALLSET_BACKEND as BackendName | undefined),
    )
    setRunStatus(db, o.runId, 'running', { backend: backend.name })
    o.send({ type: 'started', runId: o.runId, backend })

    // A resumed run keeps the classes and input size it started with, if it got that far.
    const facts = o.resume ? runFacts(row) : null
    const started = facts?.classIds?.length && facts.input ? facts : null
    const classIds = started ? started.classIds : checkTrainable(db, config).classIds
    const input: InputSize = started ? (started.input as InputSize) : resolveInput(db, config)
    const loaded = await loadClassificationData(
      db,
      o.projectDir,
      input,
      classIds,
      (done, total) => o.send({ type: 'loading', runId: o.runId, done, total }),
      o.signal,
    )
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
    mergeRunFacts(db, o.runId, {
      classIds,
      input,
      normalize: config.normalize,
      backend: backend.name,
      backendReason: backend.reason,
      counts: { train: trainSet.count, val: val?.count ?? 0, test: loaded.sets.test.count },
    })
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

    model = buildModel(layersFor(config), {
      input,
      numClasses: classIds.length,
      init: config.init,
      seed: config.seed,
    })
    let resumeState: Parameters<typeof train>[4]
    if (o.resume) {
      const ckpt = getCheckpoint(db, o.runId)
      const history = getHistory(db, o.runId).filter((h) => !ckpt || h.epoch <= ckpt.epoch)
      if (ckpt) {
        const weights = decodeWeights(ckpt)
        model.setWeights(weights)
        tf.dispose(weights)
        truncateHistory(db, o.runId, ckpt.epoch)
        const best = history.reduce<EpochMetrics | null>(
          (b, h) => (h.valLoss !== null && (!b || h.valLoss < b.valLoss!) ? h : b),
          null,
        )
        const bestCkpt = config.earlyStopping && best ? getCheckpoint(db, o.runId, best.epoch) : undefined
        resumeState = {
          epochsDone: ckpt.epoch,
          history,
          optimizerWeights: decodeOptimizer(ckpt),
          bestWeights: bestCkpt ? decodeWeights(bestCkpt) : undefined,
        }
      } else truncateHistory(db, o.runId, 0)
    }
    if (!resumeState) {
      // Epoch 0: what the untrained model guesses for the pinned images.
      putPredictions(
        db,
        o.runId,
        0,
        pinnedPredictions(model, pinned, config.normalize, classIds).map((p) => ({
          imageId: p.imageId,
          top: p.top3,
        })),
      )
    }

    const data: TrainData = {
      train: trainSet,
      val,
      test: loaded.sets.test,
      numClasses: classIds.length,
      augmentFrom,
    }
    let smooth: number | null = null
    // The smoothed batch loss of the current epoch, about 50 samples, stored with the epoch.
    let batchLoss: number[] = []
    let lastSent = 0
    const epochsLeft = (epoch: number) => config.epochs - epoch
    // The best epoch so far: its checkpoint is kept beside the latest one.
    const best = { loss: Infinity, epoch: null as number | null }
    const noteBest = (h: EpochMetrics) => {
      if (h.valLoss !== null && h.valLoss < best.loss)
        Object.assign(best, { loss: h.valLoss, epoch: h.epoch })
    }
    resumeState?.history.forEach(noteBest)
    const result = await train(
      model,
      data,
      config,
      {
        signal: o.signal,
        onBatch: (p) => {
          smooth = smooth === null ? p.loss : 0.95 * smooth + 0.05 * p.loss
          if (p.batch === 1) batchLoss = []
          if (p.batch % Math.max(1, Math.floor(p.batches / 50)) === 0 || p.batch === p.batches)
            batchLoss.push(smooth)
          const t = Date.now()
          if (t - lastSent < 200 && p.batch !== p.batches) return
          lastSent = t
          const ips = p.samples / Math.max(p.seconds, 1e-6)
          const left = (p.batches - p.batch) * config.batchSize + epochsLeft(p.epoch) * trainSet.count
          o.send({
            type: 'batch',
            runId: o.runId,
            epoch: p.epoch,
            batch: p.batch,
            batches: p.batches,
            loss: p.loss,
            smoothLoss: smooth,
            imagesPerS: ips,
            etaS: left / ips,
            backend: backend.name,
          })
        },
        onEpoch: async (epochMetrics, { model: mdl, optimizer }) => {
          const m = { ...epochMetrics, batchLoss }
          noteBest(m)
          const enc = await encodeModel(mdl, optimizer)
          const pin = pinnedPredictions(mdl, pinned, config.normalize, classIds)
          db.transaction(() => {
            putEpoch(db, o.runId, m)
            putCheckpoint(
              db,
              o.runId,
              {
                epoch: m.epoch,
                topology: enc.topology,
                weights: Buffer.from(enc.weights),
                optimizer: enc.optimizer ? Buffer.from(enc.optimizer) : null,
              },
              best.epoch,
            )
            putPredictions(
              db,
              o.runId,
              m.epoch,
              pin.map((p) => ({ imageId: p.imageId, top: p.top3 })),
            )
          })()
          o.send({ type: 'epoch', runId: o.runId, metrics: m, pinned: pin })
        },
      },
      resumeState,
    )

    if (result.cancelled) {
      setRunStatus(db, o.runId, 'cancelled')
    } else {
      const test = loaded.sets.test
      const ev = evaluate(model, test, config.normalize, classIds.length)
      const evaluation = evaluationOf(test, ev.probs, ev.loss, classIds, 'test')
      putPredictions(db, o.runId, -1, predictionRows(test, ev.probs, classIds))
      const trained = result.history.filter((h) => h.epoch > (resumeState?.epochsDone ?? 0))
      const samples = trained.reduce((n, h) => n + h.imagesPerS * h.seconds, 0)
      const seconds = trained.reduce((n, h) => n + h.seconds, 0)
      mergeRunFacts(db, o.runId, {
        testAccuracy: evaluation.accuracy,
        evaluation,
        bestEpoch: result.bestEpoch,
        finalEpoch:
          config.earlyStopping && result.bestEpoch !== null
            ? result.bestEpoch
            : (result.history.at(-1)?.epoch ?? null),
        stoppedEarly: result.stoppedEarly,
        trainSamplesPerS: seconds ? samples / seconds : undefined,
      })
      setRunStatus(db, o.runId, 'done')
    }
    const final = getRunRow(db, o.runId)!
    o.send({
      type: 'finished',
      runId: o.runId,
      status: final.status,
      summary: toSummary(final, getHistory(db, o.runId)),
    })
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    // Cancelled while its data was loading: a cancel, not a failure.
    if (o.signal.aborted) setRunStatus(db, o.runId, 'cancelled')
    else setRunStatus(db, o.runId, 'failed', { error: message })
    const final = getRunRow(db, o.runId)
    if (final)
      o.send({
        type: 'finished',
        runId: o.runId,
        status: final.status,
        summary: toSummary(final, getHistory(db, o.runId)),
      })
  } finally {
    model?.dispose()
    db.close()
  }
}
