import * as tf from '@tensorflow/tfjs'
import type { TrainTask } from '../../../trainer'
import { featureBatch, type FeatureSet } from './features'
import { headLogits } from './model'

/**
 * Transfer learning as a training task: the head trained on cached backbone features, each
 * training image seen through a random one of its cached views per epoch. Pure tfjs.
 */

interface Batch {
  x: Float32Array
  labels: Int32Array
}

export interface TransferData {
  train: FeatureSet
  val: FeatureSet | null
  test: FeatureSet | null
  numClasses: number
}

/** Loss, accuracy and class probabilities of the model's head on a set's first view (the images as they are). */
export async function evaluateFeatures(
  model: tf.LayersModel,
  set: FeatureSet,
  numClasses: number,
  batchSize = 512,
): Promise<{ loss: number; acc: number; probs: Float32Array }> {
  const probs = new Float32Array(set.count * numClasses)
  let lossSum = 0
  let right = 0
  for (let start = 0; start < set.count; start += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, set.count - start) }, (_, i) => start + i)
    const x = featureBatch(set, idx, () => 0)
    const labels = set.labels.subarray(start, start + idx.length)
    const [p, l] = tf.tidy(() => {
      const logits = headLogits(model, tf.tensor2d(x, [idx.length, set.dim]), false)
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses)
      return [
        tf.softmax(logits),
        tf.losses.softmaxCrossEntropy(y, logits, undefined, undefined, tf.Reduction.SUM),
      ]
    })
    const pv = (await p.data()) as Float32Array
    lossSum += (await l.data())[0]!
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

export function transferTask(
  data: TransferData,
  opts: { testEachEpoch: boolean; labelSmoothing?: number },
): TrainTask<Batch> {
  const set = data.train
  return {
    trainCount: set.count,
    batch: (idx, rand) => ({
      x: featureBatch(set, idx, () => Math.floor(rand() * set.views)),
      labels: Int32Array.from(idx, (i) => set.labels[i]!),
    }),
    loss: (model, b) => {
      const ys = tf.tensor1d(b.labels, 'int32')
      const logits = headLogits(model, tf.tensor2d(b.x, [b.labels.length, set.dim]), true)
      return {
        total: tf.losses.softmaxCrossEntropy(
          tf.oneHot(ys, data.numClasses),
          logits,
          undefined,
          opts.labelSmoothing ?? 0,
        ) as tf.Scalar,
        parts: { accuracy: tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), ys), 'float32')) as tf.Scalar },
      }
    },
    evaluate: async (model) => {
      const metrics: Record<string, number> = {}
      const val = data.val?.count ? await evaluateFeatures(model, data.val, data.numClasses) : null
      if (val) metrics.val_accuracy = val.acc
      if (opts.testEachEpoch && data.test?.count) {
        const test = await evaluateFeatures(model, data.test, data.numClasses)
        metrics.test_loss = test.loss
        metrics.test_accuracy = test.acc
      }
      return { valLoss: val?.loss ?? null, metrics }
    },
  }
}
