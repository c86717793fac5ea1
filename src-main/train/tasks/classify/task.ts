import * as tf from '@tensorflow/tfjs'
import { AugmentConfig, type ClassifyConfigParsed } from '../../../../src-shared/api/train'
import {
  train,
  type ResumeState,
  type TrainHooks,
  type TrainOptions,
  type TrainResult,
  type TrainTask,
} from '../../trainer'
import { makeBatch, type ImageSet, type Normalize } from './data'

/**
 * Classification as a training task: softmax cross-entropy on a class per image, with accuracy
 * as its figure. Pure tfjs, no Node or DOM imports.
 */

export interface TrainData {
  train: ImageSet
  val: ImageSet | null
  test: ImageSet | null
  numClasses: number
  /** Samples at or after this index of `train` are augmented; the rest are not (default: all are). */
  augmentFrom?: number
}

interface Batch {
  x: Float32Array
  labels: Int32Array
}

/** Loss and accuracy of the model on a set, in batches, without training behaviour (no dropout). */
export async function evaluate(
  model: tf.LayersModel,
  set: ImageSet,
  norm: Normalize,
  numClasses: number,
  batchSize = 256,
): Promise<{ loss: number; acc: number; probs: Float32Array }> {
  return scoreInBatches(set.count, set.labels, numClasses, batchSize, (idx) => {
    const x = makeBatch(set, idx, norm)
    return model.predict(tf.tensor4d(x, [idx.length, set.height, set.width, set.channels])) as tf.Tensor2D
  })
}

/**
 * Loss (summed softmax cross-entropy, then averaged), accuracy and class probabilities over `count`
 * samples, `batchSize` at a time; `logitsOf` gives a batch's logits (called inside tf.tidy).
 */
export async function scoreInBatches(
  count: number,
  labels: Int32Array,
  numClasses: number,
  batchSize: number,
  logitsOf: (idx: Int32Array) => tf.Tensor2D,
): Promise<{ loss: number; acc: number; probs: Float32Array }> {
  const probs = new Float32Array(count * numClasses)
  let lossSum = 0
  let right = 0
  for (let start = 0; start < count; start += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, count - start) }, (_, i) => start + i)
    const batchLabels = labels.subarray(start, start + idx.length)
    const [p, l] = tf.tidy(() => {
      const logits = logitsOf(idx)
      const y = tf.oneHot(tf.tensor1d(batchLabels, 'int32'), numClasses)
      const loss = tf.losses.softmaxCrossEntropy(y, logits, undefined, undefined, tf.Reduction.SUM)
      return [tf.softmax(logits), loss]
    })
    // Read back asynchronously: a GPU backend cannot read synchronously in every host.
    const pv = (await p.data()) as Float32Array
    lossSum += (await l.data())[0]!
    tf.dispose([p, l])
    probs.set(pv, start * numClasses)
    for (let i = 0; i < idx.length; i++) {
      let best = 0
      for (let c = 1; c < numClasses; c++) if (pv[i * numClasses + c]! > pv[i * numClasses + best]!) best = c
      if (best === batchLabels[i]) right++
    }
  }
  return { loss: count ? lossSum / count : NaN, acc: count ? right / count : NaN, probs }
}

/**
 * Per-class loss weights for `classWeights: 'balanced'`: n / (classes × count), so that every class
 * weighs the same in the loss and the mean weight over the set is 1. Classes absent from the set get 0.
 */
export function balancedClassWeights(labels: Int32Array, numClasses: number): Float32Array {
  const counts = new Float64Array(numClasses)
  for (const l of labels) counts[l]!++
  const present = counts.filter((c) => c > 0).length
  return Float32Array.from(counts, (c) => (c > 0 ? labels.length / (present * c) : 0))
}

export function classifyTask(data: TrainData, config: ClassifyConfigParsed): TrainTask<Batch> {
  const set = data.train
  const augment = config.augment ? AugmentConfig.parse(config.augment) : null
  const shape: [number, number, number] = [set.height, set.width, set.channels]
  const smoothing = config.labelSmoothing ?? 0
  const weights =
    config.classWeights === 'balanced' ? balancedClassWeights(set.labels, data.numClasses) : null
  return {
    trainCount: set.count,
    batch: (idx, rand) => ({
      x: makeBatch(
        set,
        idx,
        config.normalize,
        augment ? { config: augment, rand, from: data.augmentFrom ?? 0 } : null,
      ),
      labels: Int32Array.from(idx, (i) => set.labels[i]!),
    }),
    loss: (model, b) => {
      const xs = tf.tensor4d(b.x, [b.labels.length, ...shape])
      const ys = tf.tensor1d(b.labels, 'int32')
      const logits = model.apply(xs, { training: true }) as tf.Tensor2D
      const onehot = tf.oneHot(ys, data.numClasses)
      const total = (
        weights || smoothing
          ? tf.losses.softmaxCrossEntropy(
              onehot,
              logits,
              weights ? tf.gather(tf.tensor1d(weights), ys) : undefined,
              smoothing,
            )
          : tf.losses.softmaxCrossEntropy(onehot, logits)
      ) as tf.Scalar
      return {
        total,
        parts: { accuracy: tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), ys), 'float32')) as tf.Scalar },
      }
    },
    evaluate: async (model) => {
      const metrics: Record<string, number> = {}
      const val = data.val?.count ? await evaluate(model, data.val, config.normalize, data.numClasses) : null
      if (val) metrics.val_accuracy = val.acc
      if (config.testEachEpoch && data.test?.count) {
        const test = await evaluate(model, data.test, config.normalize, data.numClasses)
        metrics.test_loss = test.loss
        metrics.test_accuracy = test.acc
      }
      return { valLoss: val?.loss ?? null, metrics }
    },
  }
}

/**
 * The loop settings of a classification recipe: a constant learning rate, as the write-ups use,
 * unless the config asks for a schedule, weight decay or a moving average of the weights (`auto`).
 */
export function classifyOptions(c: ClassifyConfigParsed): TrainOptions {
  return {
    epochs: c.epochs,
    batchSize: c.batchSize,
    seed: c.seed,
    optimizer: { kind: c.optimizer, learningRate: c.learningRate, momentum: c.momentum },
    ...(c.schedule && { schedule: { kind: c.schedule.kind, warmupEpochs: c.schedule.warmupEpochs } }),
    ...(c.weightDecay && { weightDecay: c.weightDecay }),
    ...(c.ema && { ema: c.ema }),
    earlyStopping: c.earlyStopping,
    // A no-op for models without batch norm; with it, small projects evaluate as they train.
    batchNormRefresh: { batches: 50 },
  }
}

/** Trains a classifier on in-memory sets (the trainer process and the tests). */
export function trainClassifier(
  model: tf.LayersModel,
  data: TrainData,
  config: ClassifyConfigParsed,
  hooks: TrainHooks = {},
  resume?: ResumeState,
): Promise<TrainResult> {
  return train(model, classifyTask(data, config), classifyOptions(config), hooks, resume)
}
