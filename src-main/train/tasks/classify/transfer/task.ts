import * as tf from '@tensorflow/tfjs'
import type { TrainTask } from '../../../trainer'
import { scoreInBatches } from '../task'
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
  return scoreInBatches(set.count, set.labels, numClasses, batchSize, (idx) =>
    headLogits(
      model,
      tf.tensor2d(
        featureBatch(set, idx, () => 0),
        [idx.length, set.dim],
      ),
      false,
    ),
  )
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
