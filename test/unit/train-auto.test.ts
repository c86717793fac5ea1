import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { ClassifyConfig, LayerSpec } from '../../src-shared/api/train'
import {
  autoStack,
  chooseAuto,
  chooseInput,
  type ProjectStats,
} from '../../src-main/train/tasks/classify/models/auto'
import { buildModel } from '../../src-main/train/tasks/classify/models/builder'
import { checkStack } from '../../src-main/train/tasks/classify/models/shapes'
import {
  balancedClassWeights,
  classifyOptions,
  classifyTask,
  trainClassifier,
} from '../../src-main/train/tasks/classify/task'
import { quadrantSet, useBackend } from './train-helpers'

/**
 * The `auto` recipe: what it picks follows from the project's images (size, channels, images per
 * class, balance), every pick comes with its reason, and the result is an ordinary config.
 */

const stats = (over: Partial<ProjectStats> & { perClass?: number; classes?: number } = {}): ProjectStats => ({
  image: over.image ?? { width: 28, height: 28, channels: 1 },
  trainPerClass: over.trainPerClass ?? Array(over.classes ?? 10).fill(over.perClass ?? 50),
  valImages: over.valImages ?? 200,
})
const text = (notes: string[]) => notes.join('\n')
const convs = (layers: LayerSpec[]) => layers.filter((l) => l.type === 'conv')
const dropoutOf = (layers: LayerSpec[]) =>
  layers.flatMap((l) => (l.type === 'dropout' ? [l.rate] : []))[0] ?? 0

describe('the auto recipe', () => {
  it('is a valid, ordinary classify config that fits its own input', () => {
    for (const s of [
      stats(),
      stats({ image: { width: 180, height: 180, channels: 3 }, perClass: 1000, classes: 2 }),
      stats({ image: { width: 640, height: 480, channels: 4 }, perClass: 8, classes: 3, valImages: 0 }),
      stats({ image: { width: 8, height: 8, channels: 1 }, perClass: 5000 }),
    ]) {
      const { config, notes } = chooseAuto(s)
      const parsed = ClassifyConfig.parse({ task: 'classify', model: 'auto', ...config })
      expect(parsed.layers!.length).toBeGreaterThan(0)
      expect(() => checkStack(config.layers, config.input!)).not.toThrow()
      expect(notes.length).toBeGreaterThanOrEqual(5)
      // Early stopping on validation keeps the best weights; a schedule and weight decay are on.
      expect(parsed.earlyStopping?.patience).toBeGreaterThan(0)
      expect(parsed.schedule?.kind).toBe('cosine')
      expect(parsed.weightDecay).toBeGreaterThan(0)
      // Every choice can be overridden: it is just a config.
      expect(ClassifyConfig.parse({ ...parsed, epochs: 3, learningRate: 0.1 }).epochs).toBe(3)
    }
  })

  it('keeps tiny grey images as they are, and scales large photos down', () => {
    const grey = chooseAuto(stats())
    expect(grey.config.input).toEqual({ width: 28, height: 28, channels: 1 })
    expect(text(grey.notes)).toMatch(/Input 28×28 grey: the images' own size/)
    const photo = chooseAuto(stats({ image: { width: 180, height: 180, channels: 3 }, perClass: 100 }))
    expect(photo.config.input).toEqual({ width: 64, height: 64, channels: 3 })
    expect(text(photo.notes)).toMatch(/Input 64×64 RGB, scaled down from 180×180/)
    // More data affords a larger input; the aspect ratio is kept; alpha is dropped.
    expect(chooseInput({ width: 180, height: 180, channels: 3 }, 30_000).width).toBe(128)
    expect(chooseInput({ width: 640, height: 480, channels: 4 }, 500)).toEqual({
      width: 64,
      height: 48,
      channels: 3,
    })
    // More pooling stages for the larger input.
    expect(convs(photo.config.layers).length).toBeGreaterThan(convs(grey.config.layers).length)
  })

  it('flips photos but not small grey images', () => {
    expect(chooseAuto(stats()).config.augment).toMatchObject({ hflip: false })
    expect(text(chooseAuto(stats()).notes)).toMatch(/no flips/)
    const photo = chooseAuto(stats({ image: { width: 96, height: 96, channels: 3 } }))
    expect(photo.config.augment).toMatchObject({ hflip: true })
    expect(text(photo.notes)).toMatch(/left-right flips/)
  })

  it('regularises harder, and trains longer per image, with fewer images per class', () => {
    const few = chooseAuto(stats({ perClass: 24 }))
    const some = chooseAuto(stats({ perClass: 200 }))
    const many = chooseAuto(stats({ perClass: 6000 }))
    expect(dropoutOf(few.config.layers)).toBeGreaterThan(dropoutOf(some.config.layers))
    expect(dropoutOf(some.config.layers)).toBeGreaterThan(dropoutOf(many.config.layers))
    const rot = (r: typeof few) => r.config.augment!.rotationDeg!
    expect(rot(few)).toBeGreaterThan(rot(many))
    expect(text(few.notes)).toMatch(/240 training images, 24 per class: .*dropout 0\.5/)
    expect(text(few.notes)).toMatch(/^Strong augmentation/m)
    expect(text(many.notes)).toMatch(/^Light augmentation/m)
    expect(few.config.epochs).toBeGreaterThan(many.config.epochs!)
    expect(few.config.batchSize).toBeLessThan(many.config.batchSize!)
    // A wider network once there is enough data to fill it.
    expect(convs(many.config.layers)[0]).toMatchObject({ filters: 32 })
    expect(convs(few.config.layers)[0]).toMatchObject({ filters: 16 })
  })

  it('weighs the classes when they are imbalanced, and says so', () => {
    const even = chooseAuto(stats())
    expect(even.config.classWeights).toBe('none')
    expect(text(even.notes)).not.toMatch(/imbalanced/)
    const skewed = chooseAuto(stats({ trainPerClass: [400, 50, 60, 55] }))
    expect(skewed.config.classWeights).toBe('balanced')
    expect(text(skewed.notes)).toMatch(/imbalanced \(400 vs 50 images, 8\.0×\)/)
    const mild = chooseAuto(stats({ trainPerClass: [100, 60, 80] }))
    expect(mild.config.classWeights).toBe('none')
    expect(text(mild.notes)).toMatch(/mildly imbalanced/)
  })

  it('holds out part of train when there is no val split, and warns of very few images', () => {
    const r = chooseAuto(stats({ perClass: 6, classes: 3, valImages: 0 }))
    expect(r.config.validation).toBe(0.2)
    expect(text(r.notes)).toMatch(/No val split: validates on 20% of train/)
    expect(text(r.notes)).toMatch(/fewer than 10 training images/)
    expect(chooseAuto(stats()).config.validation).toBe('val')
  })

  it('waits longer before stopping early when the val split is small', () => {
    const big = chooseAuto(stats({ valImages: 200 }))
    const small = chooseAuto(stats({ valImages: 30 }))
    expect(small.config.earlyStopping!.patience).toBeGreaterThan(big.config.earlyStopping!.patience)
    expect(text(small.notes)).toMatch(/val split \(30 images\).*patient/)
    expect(text(big.notes)).not.toMatch(/patient/)
  })

  it('ends in global average pooling, so the head stays small', () => {
    const { layers, stages } = autoStack({ width: 28, height: 28 }, 16, 0.3)
    expect(stages).toBe(2)
    expect(layers.filter((l) => l.type === 'batchnorm').length).toBe(convs(layers).length)
    expect(layers).toContainEqual({ type: 'pool', kind: 'avg', size: 7 })
    expect(checkStack(layers, { width: 28, height: 28, channels: 1 })).toBe(64)
  })
})

describe('the loss and loop settings auto uses', () => {
  it('balanced class weights average 1 and even out the classes', () => {
    const w = balancedClassWeights(Int32Array.from([0, 0, 0, 1]), 3)
    ;[4 / 6, 2, 0].forEach((v, i) => expect(w[i]).toBeCloseTo(v, 6))
    const labels = Int32Array.from([0, 0, 0, 1])
    const mean = Array.from(labels).reduce((s, l) => s + w[l]!, 0) / labels.length
    expect(mean).toBeCloseTo(1, 6)
  })

  it('label smoothing and class weights change the training loss (and only when set)', async () => {
    await useBackend('wasm')
    const train = quadrantSet(12, 3, 4)
    // Skewed on purpose: 6 of class 0, 3 each of 1 and 2.
    train.labels.set([0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    const base = ClassifyConfig.parse({
      task: 'classify',
      model: 'custom',
      layers: [{ type: 'flatten' }],
      optimizer: 'adam',
      learningRate: 1e-3,
      batchSize: 12,
      epochs: 1,
    })
    const model = buildModel(base.layers!, {
      input: { width: 8, height: 8, channels: 1 },
      numClasses: 3,
      init: 'torch',
      seed: 1,
    })
    const lossOf = (over: Partial<typeof base>) => {
      const task = classifyTask({ train, val: null, test: null, numClasses: 3 }, { ...base, ...over })
      const batch = task.batch(
        Int32Array.from({ length: 12 }, (_, i) => i),
        () => 0.5,
        1,
      )
      return tf.tidy(() => task.loss(model, batch).total.dataSync()[0]!)
    }
    const plain = lossOf({})
    expect(lossOf({ labelSmoothing: 0, classWeights: 'none' })).toBeCloseTo(plain, 6)
    expect(Math.abs(lossOf({ labelSmoothing: 0.1 }) - plain)).toBeGreaterThan(1e-4)
    expect(Math.abs(lossOf({ classWeights: 'balanced' }) - plain)).toBeGreaterThan(1e-4)
    model.dispose()
  })

  it('passes schedule, weight decay and EMA to the trainer only when set', () => {
    const base = ClassifyConfig.parse({
      task: 'classify',
      model: 'seed-cnn',
      optimizer: 'sgd',
      learningRate: 0.01,
      batchSize: 64,
      epochs: 2,
    })
    const plain = classifyOptions(base)
    expect(plain.schedule).toBeUndefined()
    expect(plain.weightDecay).toBeUndefined()
    expect(plain.ema).toBeUndefined()
    const tuned = classifyOptions({
      ...base,
      schedule: { kind: 'cosine', warmupEpochs: 1 },
      weightDecay: 0.05,
      ema: { decay: 0.99 },
    })
    expect(tuned.schedule).toEqual({ kind: 'cosine', warmupEpochs: 1 })
    expect(tuned.weightDecay).toBe(0.05)
    expect(tuned.ema).toEqual({ decay: 0.99 })
  })

  it('trains its own model on a tiny set (label smoothing, class weights, cosine, precise BN)', async () => {
    await useBackend('wasm')
    const train = quadrantSet(72, 3, 1, 16)
    const val = quadrantSet(30, 3, 2, 16)
    const { config } = chooseAuto({
      image: { width: 16, height: 16, channels: 1 },
      trainPerClass: [24, 24, 24],
      valImages: 30,
    })
    const c = ClassifyConfig.parse({
      task: 'classify',
      model: 'auto',
      ...config,
      epochs: 6,
      classWeights: 'balanced',
    })
    const model = buildModel(c.layers!, { input: c.input!, numClasses: 3, init: c.init, seed: c.seed })
    const before = tf.memory().numTensors
    const r = await trainClassifier(model, { train, val, test: null, numClasses: 3 }, c)
    const last = r.history.at(-1)!
    expect(r.history.length).toBe(6)
    // The cosine schedule has brought the rate down from its peak.
    expect(last.lr).toBeLessThan(c.learningRate)
    expect(Math.max(...r.history.map((h) => h.metrics.val_accuracy!))).toBeGreaterThan(0.9)
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 2)
    model.dispose()
  })
})
