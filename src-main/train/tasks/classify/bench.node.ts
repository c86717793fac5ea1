import * as tf from '@tensorflow/tfjs'
import { ClassifyConfig } from '../../../../src-shared/api/train'
import { seededRandom } from '../../../../src-shared/domain/random'
import { makeOptimizer } from '../../trainer'
import { buildModel } from './models/builder'
import { PRESETS } from './models/presets'
import { classifyTask, type TrainData } from './task'

/**
 * A seed recipe's training step on its own, for the per-backend benchmark against PyTorch
 * (scripts/bench/backends.mjs, with scripts/bench/step_torch.py as the twin): the preset's model,
 * optimizer and batch size, on a fixed set of seeded random images of the preset's input shape
 * (what is timed is arithmetic, which does not depend on what the pixels show), through the same
 * loss the trainer uses, without augmentation. Not part of the app: `smallset dev-bench-step` runs it.
 */
export interface StepBench {
  model: string
  backend: string
  batch: number
  input: { width: number; height: number; channels: number }
  classes: number
  steps: number
  /** The first step alone: shader compiles and kernel autotuning land here. */
  first_step_ms: number
  /** One optimizer step, median over the steps after the warm-up. */
  step_ms: number
  train_images_per_s: number
  /** The loss of each step, for a parity check across backends. */
  losses: number[]
}

export type BenchPreset = 'seed-cnn' | 'seed-cats-dogs' | 'seed-mlp'

const CLASSES: Record<BenchPreset, number> = { 'seed-cnn': 10, 'seed-mlp': 10, 'seed-cats-dogs': 2 }

export async function benchStep(o: {
  model: BenchPreset
  steps: number
  warmup: number
}): Promise<StepBench> {
  const preset = PRESETS[o.model]
  const input = preset.input!
  const numClasses = CLASSES[o.model]
  const config = ClassifyConfig.parse({ task: 'classify', model: o.model, ...preset.config, augment: null })
  const batch = config.batchSize
  // Four batches' worth of images, cycled: enough that no step sees the same batch twice in a row.
  const count = batch * 4
  const rand = seededRandom(1)
  const pixels = Uint8Array.from({ length: count * input.width * input.height * input.channels }, () =>
    Math.floor(rand() * 256),
  )
  const labels = Int32Array.from({ length: count }, (_, i) => i % numClasses)
  const set = { ...input, count, pixels, labels, ids: Int32Array.from(labels, (_, i) => i) }
  const data: TrainData = { train: set, val: null, test: null, numClasses }
  const task = classifyTask(data, config)
  const model = buildModel(preset.layers, { input, numClasses, init: config.init, seed: config.seed })
  const optimizer = makeOptimizer({
    kind: config.optimizer,
    learningRate: config.learningRate,
    momentum: config.momentum,
  })
  const times: number[] = []
  const losses: number[] = []
  try {
    for (let s = 0; s < o.steps; s++) {
      const idx = Int32Array.from({ length: batch }, (_, i) => ((s % 4) * batch + i) % count)
      const b = task.batch(idx, rand, 1)
      const t0 = performance.now()
      const loss = tf.tidy(() => optimizer.minimize(() => task.loss(model, b).total, true)!)
      losses.push((await loss.data())[0]!)
      loss.dispose()
      times.push(performance.now() - t0)
    }
  } finally {
    optimizer.dispose()
    model.dispose()
  }
  const timed = times.slice(Math.min(o.warmup, times.length - 1)).sort((a, b) => a - b)
  const stepMs = timed[Math.floor(timed.length / 2)]!
  return {
    model: o.model,
    backend: tf.getBackend(),
    batch,
    input,
    classes: numClasses,
    steps: o.steps,
    first_step_ms: times[0]!,
    step_ms: stepMs,
    train_images_per_s: (batch * 1000) / stepMs,
    losses,
  }
}
