import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { ClassifyConfig } from '../../src-shared/api/train'
import { seededRandom } from '../../src-shared/domain/random'
import { AugmentConfig } from '../../src-shared/api/train'
import { loadArtifacts } from '../../src-main/train/pretrained/artifacts'
import { mobileNetV2Artifacts } from '../../src-main/train/pretrained/mobilenet-v2.node'
import { makeBatch, type ImageSet } from '../../src-main/train/tasks/classify/data'
import { extractFeatures } from '../../src-main/train/tasks/classify/transfer/features'
import {
  featureModel,
  freezeBackbone,
  headLayersJson,
  headLogits,
  LOGITS_LAYER,
} from '../../src-main/train/tasks/classify/transfer/model'
import { evaluateFeatures, transferTask } from '../../src-main/train/tasks/classify/transfer/task'
import { TRANSFER_NORMALIZE } from '../../src-main/train/tasks/classify/transfer/plan'
import { classifyOptions } from '../../src-main/train/tasks/classify/task'
import { train } from '../../src-main/train/trainer'
import { useBackend } from './train-helpers'

/**
 * Transfer learning: the pretrained MobileNetV2 from nsfwjs, frozen, with a head trained on its
 * cached pooled features. The images here are stripes, horizontal (class 0) or vertical (class 1),
 * at a random phase and period under noise: orientation survives global pooling, position would not.
 */

const SIZE = 96

function stripes(count: number, seed: number): ImageSet {
  const rand = seededRandom(seed)
  const px = SIZE * SIZE * 3
  const pixels = new Uint8Array(count * px)
  const labels = new Int32Array(count)
  for (let i = 0; i < count; i++) {
    const k = i % 2
    labels[i] = k
    const period = 8 + Math.floor(rand() * 8)
    const phase = Math.floor(rand() * period)
    const tint = [rand(), rand(), rand()]
    for (let y = 0; y < SIZE; y++)
      for (let x = 0; x < SIZE; x++) {
        const on = ((k === 0 ? y : x) + phase) % period < period / 2
        for (let c = 0; c < 3; c++)
          pixels[i * px + (y * SIZE + x) * 3 + c] = Math.min(
            255,
            Math.floor((on ? 160 + 90 * tint[c]! : 40) + rand() * 40),
          )
      }
  }
  return {
    width: SIZE,
    height: SIZE,
    channels: 3,
    count,
    pixels,
    labels,
    ids: Int32Array.from(labels, (_, i) => i + 1),
  }
}

async function transferModel(numClasses: number, seed = 1): Promise<tf.LayersModel> {
  const a = mobileNetV2Artifacts('out_relu', headLayersJson('out_relu', numClasses, 0.2, seed))
  a.topology.model_config.config.layers[0]!.config.batch_input_shape = [null, SIZE, SIZE, 3]
  const m = await loadArtifacts(a)
  freezeBackbone(m)
  return m
}

beforeAll(async () => {
  await useBackend('wasm')
})

describe('transfer learning on the shipped MobileNetV2', () => {
  it('trains the head only, and the whole model predicts what the head says on cached features', async () => {
    const model = await transferModel(3)
    expect(model.trainableWeights.map((w) => w.originalName)).toEqual([
      `${LOGITS_LAYER}/kernel`,
      `${LOGITS_LAYER}/bias`,
    ])
    expect(model.getLayer(LOGITS_LAYER).getWeights()[0]!.shape).toEqual([1280, 3])
    const set = stripes(4, 3)
    const f = await extractFeatures(featureModel(model), set, {
      norm: TRANSFER_NORMALIZE,
      views: 1,
      augment: null,
      seed: 1,
    })
    expect(f.dim).toBe(1280)
    const direct = tf.tidy(() =>
      (
        model.predict(
          tf.tensor4d(makeBatch(set, [0, 1, 2, 3], TRANSFER_NORMALIZE), [4, SIZE, SIZE, 3]),
        ) as tf.Tensor
      ).arraySync(),
    ) as number[][]
    const viaHead = tf.tidy(() => headLogits(model, tf.tensor2d(f.data, [4, 1280]), false).arraySync())
    for (let i = 0; i < 4; i++)
      for (let c = 0; c < 3; c++) expect(viaHead[i]![c]!).toBeCloseTo(direct[i]![c]!, 4)
    model.dispose()
  }, 60_000)

  it('learns from a few dozen images, with augmented views cached once', async () => {
    const model = await transferModel(2)
    const features = featureModel(model)
    const augment = AugmentConfig.parse({ hflip: true, zoom: 0.1 })
    const trainSet = stripes(24, 11)
    const valSet = stripes(16, 12)
    const opts = { norm: TRANSFER_NORMALIZE, augment, seed: 5 }
    const trainF = await extractFeatures(features, trainSet, { ...opts, views: 3 })
    const valF = await extractFeatures(features, valSet, { ...opts, views: 1, augment: null })
    expect(trainF.views).toBe(3)
    // A view is not the image itself.
    const row = (v: number) => trainF.data.subarray(v * 1280, (v + 1) * 1280)
    expect(Array.from(row(1))).not.toEqual(Array.from(row(0)))
    const before = await evaluateFeatures(model, valF, 2)
    const config = ClassifyConfig.parse({
      task: 'classify',
      model: 'seed-mlp',
      optimizer: 'adam',
      learningRate: 0.01,
      batchSize: 8,
      epochs: 12,
    })
    const result = await train(
      model,
      transferTask({ train: trainF, val: valF, test: null, numClasses: 2 }, { testEachEpoch: false }),
      { ...classifyOptions(config), batchNormRefresh: null },
    )
    const after = await evaluateFeatures(model, valF, 2)
    expect(result.history).toHaveLength(12)
    expect(after.loss).toBeLessThan(before.loss)
    expect(after.acc).toBeGreaterThanOrEqual(0.9)
    model.dispose()
  }, 120_000)
})
