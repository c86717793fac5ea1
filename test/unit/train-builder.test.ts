import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildModel, fuseReluBeforeMaxPool } from '../../src-main/train/tasks/classify/models/builder'
import { PRESETS } from '../../src-main/train/tasks/classify/models/presets'
import { useBackend } from './train-helpers'

beforeAll(async () => {
  await useBackend('wasm')
})

const input = { width: 28, height: 28, channels: 1 }

describe('model builder', () => {
  it('builds every preset with one logit per class, and the seed CNN with the write-up’s parameter count', () => {
    for (const [name, p] of Object.entries(PRESETS)) {
      const m = buildModel(p.layers, { input: p.input ?? input, numClasses: 10, init: 'torch', seed: 1 })
      expect(m.outputs[0]!.shape, name).toEqual([null, 10])
      m.dispose()
    }
    // conv1 10·(25+1) + conv2 20·(250+1) + fc1 50·(320+1) + fc2 10·(50+1) = 21,840 (as in PyTorch).
    const cnn = buildModel(PRESETS['seed-cnn'].layers, { input, numClasses: 10, init: 'torch', seed: 1 })
    expect(cnn.countParams()).toBe(21_840)
    cnn.dispose()
  })

  it('builds custom stacks with each activation, batch norm, dropout and strided convs', () => {
    for (const activation of ['relu', 'elu', 'leakyRelu', 'tanh', 'sigmoid', 'linear'] as const) {
      const m = buildModel(
        [
          { type: 'conv', filters: 4, kernel: 3, stride: 2, padding: 'same', activation },
          { type: 'batchnorm' },
          { type: 'pool', kind: 'avg', size: 2 },
          { type: 'dropout', rate: 0.2 },
          { type: 'dense', units: 8, activation },
        ],
        { input, numClasses: 3, init: 'keras', seed: 1 },
      )
      const out = m.predict(tf.zeros([2, 28, 28, 1])) as tf.Tensor
      expect(out.shape).toEqual([2, 3])
      out.dispose()
      m.dispose()
    }
  })

  it('initialises like PyTorch: weights and biases within ±1/√fan_in, not all zero', () => {
    const m = buildModel([{ type: 'flatten' }, { type: 'dense', units: 512, activation: 'relu' }], {
      input,
      numClasses: 10,
      init: 'torch',
      seed: 4,
    })
    const [w, b] = m.layers.find((l) => l.getClassName() === 'Dense')!.getWeights()
    const bound = 1 / Math.sqrt(784)
    for (const t of [w!, b!]) {
      const v = Array.from(t.dataSync())
      const max = v.reduce((a, x) => Math.max(a, x), -Infinity)
      const min = v.reduce((a, x) => Math.min(a, x), Infinity)
      expect(max).toBeLessThanOrEqual(bound)
      expect(min).toBeGreaterThanOrEqual(-bound)
      // Uniform: the extremes come close to the bound.
      expect(max).toBeGreaterThan(0.9 * bound)
    }
    m.dispose()
  })

  it('refuses a stack that cannot fit, with a message', () => {
    expect(() =>
      buildModel(
        [
          { type: 'pool', size: 8 },
          { type: 'pool', size: 8 },
        ],
        { input, numClasses: 2, init: 'keras', seed: 1 },
      ),
    ).toThrow(/smaller than the 8×8 pool/)
  })

  it('moves a ReLU after a max-pool into the conv before it, computing exactly the same', () => {
    const cnn = PRESETS['seed-cnn'].layers
    const fused = fuseReluBeforeMaxPool(cnn)
    expect(fused.filter((l) => l.type === 'activation')).toHaveLength(0)
    expect(
      fused.filter((l) => l.type === 'conv').map((l) => (l as { activation: string }).activation),
    ).toEqual(['relu', 'relu'])
    // The same function: relu(maxpool(x)) = maxpool(relu(x)), checked numerically on random input.
    const a = buildModel(cnn, { input, numClasses: 10, init: 'torch', seed: 2 })
    const unfused = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 10, kernelSize: 5 }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.activation({ activation: 'relu' }),
        tf.layers.conv2d({ filters: 20, kernelSize: 5 }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.activation({ activation: 'relu' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 50, activation: 'relu' }),
        tf.layers.dense({ units: 10 }),
      ],
    })
    unfused.setWeights(a.getWeights())
    const x = tf.randomNormal([4, 28, 28, 1], 0, 1, 'float32', 7)
    const [ya, yb] = [a.predict(x) as tf.Tensor, unfused.predict(x) as tf.Tensor]
    expect(tf.max(tf.abs(tf.sub(ya, yb))).dataSync()[0]).toBeLessThan(1e-5)
    tf.dispose([x, ya, yb])
    a.dispose()
    unfused.dispose()
  })
})
