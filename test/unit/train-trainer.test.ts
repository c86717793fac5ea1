import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { ClassifyConfig, metricOf, type EpochMetrics } from '../../src-shared/api/train'
import { buildModel } from '../../src-main/train/tasks/classify/models/builder'
import { PRESETS } from '../../src-main/train/tasks/classify/models/presets'
import { decodeOptimizer, decodeWeights, encodeModel } from '../../src-main/train/checkpoint'
import { evaluate, trainClassifier as train, type TrainData } from '../../src-main/train/tasks/classify/task'
import { quadrantSet, useBackend } from './train-helpers'

const mlp = [{ type: 'flatten' as const }, { type: 'dense' as const, units: 16, activation: 'relu' as const }]
const cfg = (over: Partial<ClassifyConfig> = {}) =>
  ClassifyConfig.parse({
    task: 'classify',
    model: 'custom',
    layers: mlp,
    optimizer: 'sgd',
    learningRate: 0.1,
    momentum: 0.5,
    batchSize: 16,
    epochs: 5,
    seed: 3,
    ...over,
  })
const data = (): TrainData => ({
  train: quadrantSet(192, 3, 1),
  val: quadrantSet(48, 3, 2),
  test: quadrantSet(48, 3, 3),
  numClasses: 3,
})
const model = (seed = 3, layers = mlp) =>
  buildModel(layers, { input: { width: 8, height: 8, channels: 1 }, numClasses: 3, init: 'torch', seed })

beforeAll(async () => {
  await useBackend('wasm')
})

describe('trainer', () => {
  it('learns a separable set, and reports loss and accuracy per epoch', async () => {
    const m = model()
    const history: EpochMetrics[] = []
    const r = await train(m, data(), cfg(), { onEpoch: (e) => void history.push(e) })
    expect(r.cancelled).toBe(false)
    expect(history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5])
    expect(history[4]!.loss).toBeLessThan(history[0]!.loss)
    expect(metricOf(history[4], 'val_accuracy')).toBeGreaterThan(0.9)
    const ev = await evaluate(m, data().test!, { mean: 0, std: 1 }, 3)
    expect(ev.acc).toBeGreaterThan(0.9)
    m.dispose()
  })

  it('keeps the number of tensors flat across epochs (no leaks)', async () => {
    const m = model()
    const counts: number[] = []
    await train(m, data(), cfg({ epochs: 4, augment: { hflip: true, rotationDeg: 10 } }), {
      onEpoch: () => void counts.push(tf.memory().numTensors),
    })
    expect(counts).toHaveLength(4)
    expect(new Set(counts.slice(1)).size).toBe(1)
    expect(counts[3]).toBe(counts[1])
    m.dispose()
  })

  it('trains the seed CNN preset shape on wasm (convolution gradients included)', async () => {
    const layers = PRESETS['seed-cnn'].layers
    const m = buildModel(layers, {
      input: { width: 28, height: 28, channels: 1 },
      numClasses: 3,
      init: 'torch',
      seed: 1,
    })
    const d: TrainData = {
      train: quadrantSet(96, 3, 1, 28),
      val: quadrantSet(30, 3, 2, 28),
      test: null,
      numClasses: 3,
    }
    const r = await train(m, d, cfg({ model: 'seed-cnn', layers: undefined, epochs: 3, learningRate: 0.05 }))
    expect(r.history[2]!.loss).toBeLessThan(r.history[0]!.loss)
    m.dispose()
  })

  it('cancels within a batch', async () => {
    const m = model()
    const ac = new AbortController()
    let batches = 0
    const r = await train(m, data(), cfg({ epochs: 50 }), {
      signal: ac.signal,
      onBatch: (p) => {
        batches++
        if (p.epoch === 2 && p.batch === 3) ac.abort()
      },
    })
    expect(r.cancelled).toBe(true)
    expect(r.history).toHaveLength(1)
    expect(batches).toBe(12 + 3)
    m.dispose()
  })

  it('resumes from a checkpoint to the same result as an uninterrupted run', async () => {
    const straight = model(5)
    const full = await train(straight, data(), cfg({ epochs: 4 }))

    // The same run, stopped after epoch 2 and resumed from its checkpoint in a fresh model.
    const first = model(5)
    let ckpt: Awaited<ReturnType<typeof encodeModel>> | null = null
    const part = await train(first, data(), cfg({ epochs: 2 }), {
      onEpoch: async (_m, ctx) => {
        ckpt = await encodeModel(ctx.model, ctx.optimizer)
      },
    })
    const again = model(99)
    again.setWeights(decodeWeights(ckpt!))
    const rest = await train(
      again,
      data(),
      cfg({ epochs: 4 }),
      {},
      {
        epochsDone: 2,
        history: part.history,
        optimizerWeights: decodeOptimizer(ckpt!),
      },
    )
    expect(rest.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4])
    expect(rest.history[3]!.loss).toBeCloseTo(full.history[3]!.loss, 4)
    const a = straight.getWeights()[0]!.dataSync()
    const b = again.getWeights()[0]!.dataSync()
    expect(Array.from(b.slice(0, 20)).map((v) => +v.toFixed(4))).toEqual(
      Array.from(a.slice(0, 20)).map((v) => +v.toFixed(4)),
    )
    straight.dispose()
    first.dispose()
    again.dispose()
  })

  it('stops early after `patience` epochs without improvement and restores the best weights', async () => {
    const m = model()
    // A learning rate this high makes validation loss get worse after the first epochs.
    const snapshots = new Map<number, Float32Array>()
    const r = await train(
      m,
      data(),
      cfg({ epochs: 30, learningRate: 3, momentum: 0.9, earlyStopping: { patience: 2 } }),
      {
        onEpoch: (e, ctx) =>
          void snapshots.set(e.epoch, ctx.model.getWeights()[0]!.dataSync().slice() as Float32Array),
      },
    )
    expect(r.stoppedEarly).toBe(true)
    expect(r.history.length).toBeLessThan(30)
    const best = r.bestEpoch!
    expect(r.history.length - best).toBe(2)
    const vals = r.history.map((h) => h.valLoss!)
    expect(Math.min(...vals)).toBe(vals[best - 1])
    expect(Array.from(m.getWeights()[0]!.dataSync())).toEqual(Array.from(snapshots.get(best)!))
    m.dispose()
  })

  it('refuses to go on when the loss becomes NaN, with a clear message', async () => {
    // Softmax regression with a learning rate far past what the settings form allows (zod caps it
    // at 10): the weights become NaN on the first step.
    const m = model(3, [{ type: 'flatten' }])
    await expect(
      train(m, data(), { ...cfg({ epochs: 3, momentum: 0 }), learningRate: Infinity }),
    ).rejects.toThrow(/lower the learning rate/)
    m.dispose()
  })
})
