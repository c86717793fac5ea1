import * as tf from '@tensorflow/tfjs'
import type { EpochMetrics, TrainConfigParsed } from '../../src-shared/api/train'
import { seededRandom } from '../../src-shared/domain/random'
import { AugmentConfig } from '../../src-shared/api/train'
import { epochOrder, makeBatch, type ImageSet, type Normalize } from './data'

/**
 * The trainer: pure tfjs, no Node or DOM imports, never calls the UI. It takes data, a config,
 * callbacks and an AbortSignal (the tfjs-examples `train(model, onIteration)` shape), so the same
 * code runs in the trainer process here and in a browser worker on WebGPU/WebGL later.
 */

export interface TrainData {
  train: ImageSet
  val: ImageSet | null
  test: ImageSet | null
  numClasses: number
  /** Samples at or after this index of `train` are augmented; the rest are not (default: all are). */
  augmentFrom?: number
}

export interface BatchProgress {
  epoch: number
  batch: number
  batches: number
  loss: number
  samples: number
  seconds: number
}

export interface TrainHooks {
  signal?: AbortSignal
  onBatch?(p: BatchProgress): void
  /** After each epoch: save a checkpoint, record pinned predictions. Awaited before the next epoch. */
  onEpoch?(m: EpochMetrics, ctx: { model: tf.LayersModel; optimizer: tf.Optimizer }): Promise<void> | void
}

export interface ResumeState {
  /** Epochs already done (the next one to run is this + 1). */
  epochsDone: number
  history: EpochMetrics[]
  optimizerWeights?: Parameters<tf.Optimizer['setWeights']>[0]
  /** With early stopping: the weights of the best epoch so far, to restore at the end. */
  bestWeights?: tf.Tensor[]
}

export interface TrainResult {
  history: EpochMetrics[]
  cancelled: boolean
  stoppedEarly: boolean
  /** 1-based epoch with the lowest validation loss (whose weights the model has, with early stopping). */
  bestEpoch: number | null
}

export function makeOptimizer(c: TrainConfigParsed): tf.Optimizer {
  switch (c.optimizer) {
    case 'sgd':
      return c.momentum > 0 ? tf.train.momentum(c.learningRate, c.momentum) : tf.train.sgd(c.learningRate)
    case 'adam':
      return tf.train.adam(c.learningRate)
    case 'rmsprop':
      return tf.train.rmsprop(c.learningRate, 0.9, 0, 1e-7)
  }
}

/** Loss and accuracy of the model on a set, in batches, without training behaviour (no dropout). */
export function evaluate(
  model: tf.LayersModel,
  set: ImageSet,
  norm: Normalize,
  numClasses: number,
  batchSize = 256,
): { loss: number; acc: number; probs: Float32Array } {
  const probs = new Float32Array(set.count * numClasses)
  let lossSum = 0
  let right = 0
  for (let start = 0; start < set.count; start += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, set.count - start) }, (_, i) => start + i)
    const x = makeBatch(set, idx, norm)
    const labels = set.labels.subarray(start, start + idx.length)
    const [p, l] = tf.tidy(() => {
      const xs = tf.tensor4d(x, [idx.length, set.height, set.width, set.channels])
      const logits = model.predict(xs) as tf.Tensor2D
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses)
      const loss = tf.losses.softmaxCrossEntropy(y, logits, undefined, undefined, tf.Reduction.SUM)
      return [tf.softmax(logits), loss]
    })
    const pv = p.dataSync() as Float32Array
    lossSum += l.dataSync()[0]!
    tf.dispose([p, l])
    probs.set(pv, start * numClasses)
    for (let i = 0; i < idx.length; i++) {
      let best = 0
      for (let c = 1; c < numClasses; c++) if (pv[i * numClasses + c]! > pv[i * numClasses + best]!) best = c
      if (best === labels[i]) right++
    }
  }
  return { loss: set.count ? lossSum / set.count : NaN, acc: set.count ? right / set.count : NaN, probs }
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now())
/** Lets the host's event loop run (messages such as Cancel arrive there). */
const breathe = () => new Promise<void>((r) => setTimeout(r, 0))

export async function train(
  model: tf.LayersModel,
  data: TrainData,
  config: TrainConfigParsed,
  hooks: TrainHooks = {},
  resume?: ResumeState,
): Promise<TrainResult> {
  const { train: set, numClasses } = data
  if (set.count === 0) throw new Error('the training split is empty')
  const norm = config.normalize
  const optimizer = makeOptimizer(config)
  const augment = config.augment ? AugmentConfig.parse(config.augment) : null
  const history = [...(resume?.history ?? [])]
  if (resume?.optimizerWeights?.length) {
    await optimizer.setWeights(resume.optimizerWeights)
    // The optimizer made its own variables from them.
    tf.dispose(resume.optimizerWeights.map((w) => w.tensor))
  }
  let best = { loss: Infinity, epoch: 0 }
  for (const h of history)
    if (h.valLoss !== null && h.valLoss < best.loss) best = { loss: h.valLoss, epoch: h.epoch }
  let bestWeights: tf.Tensor[] | null = resume?.bestWeights ?? null
  let stoppedEarly = false
  let cancelled = false
  const shape: [number, number, number] = [set.height, set.width, set.channels]
  const batches = Math.ceil(set.count / config.batchSize)
  let lastBreath = now()

  for (let epoch = (resume?.epochsDone ?? 0) + 1; epoch <= config.epochs; epoch++) {
    const order = epochOrder(set.count, config.seed, epoch)
    const rand = seededRandom(config.seed * 31 + epoch)
    const t0 = now()
    let lossSum = 0
    let right = 0
    let seen = 0
    for (let b = 0; b < batches; b++) {
      if (hooks.signal?.aborted) {
        cancelled = true
        break
      }
      const idx = order.subarray(b * config.batchSize, Math.min((b + 1) * config.batchSize, set.count))
      const x = makeBatch(
        set,
        idx,
        norm,
        augment ? { config: augment, rand, from: data.augmentFrom ?? 0 } : null,
      )
      const labels = Int32Array.from(idx, (i) => set.labels[i]!)
      let correct: tf.Scalar | null = null
      const loss = tf.tidy(() => {
        const xs = tf.tensor4d(x, [idx.length, ...shape])
        const ys = tf.tensor1d(labels, 'int32')
        return optimizer.minimize(() => {
          const logits = model.apply(xs, { training: true }) as tf.Tensor2D
          correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), ys), 'int32')))
          return tf.losses.softmaxCrossEntropy(tf.oneHot(ys, numClasses), logits) as tf.Scalar
        }, true)!
      })
      const lossValue = (await loss.data())[0]!
      const c = correct as tf.Scalar | null
      right += c ? (await c.data())[0]! : 0
      tf.dispose([loss, c as tf.Scalar | null].filter(Boolean) as tf.Tensor[])
      if (!Number.isFinite(lossValue)) {
        throw new Error(
          `the loss became ${lossValue} in epoch ${epoch}, batch ${b + 1}: lower the learning rate`,
        )
      }
      lossSum += lossValue * idx.length
      seen += idx.length
      hooks.onBatch?.({
        epoch,
        batch: b + 1,
        batches,
        loss: lossValue,
        samples: seen,
        seconds: (now() - t0) / 1000,
      })
      if (now() - lastBreath > 50) {
        await breathe()
        lastBreath = now()
      }
    }
    if (cancelled) break
    const seconds = (now() - t0) / 1000
    const val = data.val?.count ? evaluate(model, data.val, norm, numClasses) : null
    const test =
      config.testEachEpoch && data.test?.count ? evaluate(model, data.test, norm, numClasses) : null
    const m: EpochMetrics = {
      epoch,
      loss: lossSum / seen,
      acc: right / seen,
      valLoss: val?.loss ?? null,
      valAcc: val?.acc ?? null,
      testLoss: test?.loss ?? null,
      testAcc: test?.acc ?? null,
      imagesPerS: seen / seconds,
      seconds,
      lr: config.learningRate,
    }
    history.push(m)
    if (m.valLoss !== null && m.valLoss < best.loss) {
      best = { loss: m.valLoss, epoch }
      if (config.earlyStopping) {
        tf.dispose(bestWeights ?? [])
        bestWeights = model.getWeights().map((w) => w.clone())
      }
    }
    await hooks.onEpoch?.(m, { model, optimizer })
    // Without validation there is nothing to stop on.
    if (config.earlyStopping && data.val?.count && epoch - best.epoch >= config.earlyStopping.patience) {
      stoppedEarly = true
      break
    }
  }
  if (config.earlyStopping && bestWeights) {
    model.setWeights(bestWeights)
    tf.dispose(bestWeights)
  }
  optimizer.dispose()
  return { history, cancelled, stoppedEarly, bestEpoch: best.epoch || null }
}
