import * as tf from '@tensorflow/tfjs'
import type { EpochMetrics } from '../../src-shared/api/train'
import { seededRandom, shuffleInPlace } from '../../src-shared/domain/random'

/**
 * The training loop: batches, optimizer, learning-rate schedule, weight decay, a moving average of
 * the weights, early stopping, cancel and progress. It knows nothing of any task: a task (see
 * tasks/) hands it a model, a way to make batches, a loss and an evaluation. Pure tfjs, no Node or
 * DOM imports, and it never calls the UI: it takes callbacks and an AbortSignal (the tfjs-examples
 * `train(model, onIteration)` shape), so the same code runs in the trainer process here and in a
 * browser worker on WebGPU later.
 */

export interface LossResult {
  total: tf.Scalar
  /** Named figures of the batch (batch means, e.g. `accuracy`, `loss_box`), averaged over the epoch. */
  parts?: Record<string, tf.Scalar>
}

export interface EvalResult {
  valLoss: number | null
  metrics: Record<string, number>
}

/** What a task gives the trainer. */
export interface TrainTask<B = unknown> {
  /** Samples in the training set: an epoch visits each once, in a seeded order. */
  readonly trainCount: number
  /** The batch for these sample indices, as plain arrays; `rand` drives augmentation. */
  batch(indices: Int32Array, rand: () => number, epoch: number): B
  /** The loss of one batch. Called inside `optimizer.minimize` and `tf.tidy`. */
  loss(model: tf.LayersModel, batch: B): LossResult
  /** After each epoch, with the evaluation weights (the moving average, when kept) in the model. */
  evaluate(model: tf.LayersModel, epoch: number): Promise<EvalResult> | EvalResult
}

export interface OptimizerSpec {
  kind: 'sgd' | 'adam' | 'rmsprop'
  learningRate: number
  momentum?: number
}

export interface TrainOptions {
  epochs: number
  batchSize: number
  seed: number
  optimizer: OptimizerSpec
  /** Linear warm-up over `warmupEpochs`, then constant or a cosine decay to `minFactor` of the rate. */
  schedule?: { kind: 'constant' | 'cosine'; warmupEpochs: number; minFactor?: number }
  /** Decoupled weight decay on kernels (weights of rank ≥ 2), per step, times the learning rate. */
  weightDecay?: number
  /** Keep an exponential moving average of the weights; evaluation and the final model use it. */
  ema?: { decay: number } | null
  /** Stop when the monitored figure has not improved for `patience` epochs, and restore the best weights. */
  earlyStopping?: { patience: number } | null
  /** What "best" means: `valLoss` or a metric name, lower or higher. Default: lowest valLoss. */
  monitor?: { metric: string; mode: 'min' | 'max' }
  /** Skip an epoch's last, smaller batch (batch statistics are poor on a handful of samples). */
  dropLast?: boolean
  /**
   * Before each evaluation, set every batch-norm layer's moving mean and variance to the average of
   * the statistics of up to `batches` training batches under the current weights ("precise BN").
   * With few steps an epoch, the moving averages otherwise trail weights that have long moved on,
   * and the model evaluates at chance. Not used with `ema` (the averaged weights carry their own).
   */
  batchNormRefresh?: { batches: number } | null
}

export interface BatchProgress {
  epoch: number
  batch: number
  batches: number
  loss: number
  samples: number
  seconds: number
}

export interface EpochContext {
  model: tf.LayersModel
  optimizer: tf.Optimizer
  /** The moving average of the model's weights (same order as model.getWeights()), when kept. */
  ema: tf.Tensor[] | null
}

export interface TrainHooks {
  signal?: AbortSignal
  onBatch?(p: BatchProgress): void
  /** After each epoch: save a checkpoint, record pinned predictions. Awaited before the next epoch. */
  onEpoch?(m: EpochMetrics, ctx: EpochContext): Promise<void> | void
}

export interface ResumeState {
  /** Epochs already done (the next one to run is this + 1). */
  epochsDone: number
  history: EpochMetrics[]
  optimizerWeights?: Parameters<tf.Optimizer['setWeights']>[0]
  /** With early stopping: the weights of the best epoch so far, to restore at the end. */
  bestWeights?: tf.Tensor[]
  /** The moving average of the weights as it was after `epochsDone`. */
  emaWeights?: tf.Tensor[]
}

export interface TrainResult {
  history: EpochMetrics[]
  cancelled: boolean
  stoppedEarly: boolean
  /** 1-based epoch the monitor liked best (whose weights the model has, with early stopping). */
  bestEpoch: number | null
}

export function makeOptimizer(o: OptimizerSpec): tf.Optimizer {
  switch (o.kind) {
    case 'sgd':
      return o.momentum ? tf.train.momentum(o.learningRate, o.momentum) : tf.train.sgd(o.learningRate)
    case 'adam':
      return tf.train.adam(o.learningRate)
    case 'rmsprop':
      return tf.train.rmsprop(o.learningRate, 0.9, 0, 1e-7)
  }
}

/** Sets an optimizer's learning rate between steps (tfjs optimizers read it on every step). */
function setLearningRate(opt: tf.Optimizer, lr: number): void {
  // SGD and momentum keep it as a scalar tensor too (setLearningRate); Adam and RMSprop as a number.
  const o = opt as unknown as { learningRate: number; setLearningRate?: (lr: number) => void }
  if (o.setLearningRate) o.setLearningRate(lr)
  else o.learningRate = lr
}

/** The learning rate at a step (0-based) of a run with `stepsPerEpoch` steps per epoch. */
export function learningRateAt(o: TrainOptions, step: number, stepsPerEpoch: number): number {
  const base = o.optimizer.learningRate
  const s = o.schedule
  if (!s) return base
  const warm = s.warmupEpochs * stepsPerEpoch
  if (step < warm) return base * ((step + 1) / warm)
  if (s.kind === 'constant') return base
  const total = Math.max(1, o.epochs * stepsPerEpoch - warm)
  const t = Math.min(1, (step - warm) / total)
  const min = s.minFactor ?? 0.05
  return base * (min + (1 - min) * 0.5 * (1 + Math.cos(Math.PI * t)))
}

/** The sample order of one epoch: a seeded shuffle, the same for the same seed and epoch (so resume repeats it). */
export function epochOrder(count: number, seed: number, epoch: number): Int32Array {
  const order = Array.from({ length: count }, (_, i) => i)
  shuffleInPlace(order, seededRandom(seed * 7919 + epoch * 104729 + 1))
  return Int32Array.from(order)
}

/** The moving average of a model's weights, updated after every optimizer step. */
class WeightAverage {
  private steps = 0
  constructor(
    readonly decay: number,
    public shadow: tf.Tensor[],
  ) {}

  update(model: tf.LayersModel): void {
    // Ramped up over the first steps, as TensorFlow's ExponentialMovingAverage(num_updates) does,
    // so that a short run is not dominated by its random start.
    const d = Math.min(this.decay, (1 + this.steps) / (10 + this.steps))
    this.steps++
    const weights = model.getWeights()
    const next = tf.tidy(() => this.shadow.map((s, i) => s.mul(d).add(weights[i]!.mul(1 - d))))
    tf.dispose(this.shadow)
    this.shadow = next
  }
}

/** Every batch-norm layer of a model, in nested models too. */
export function batchNormLayers(model: tf.LayersModel): tf.layers.Layer[] {
  const out: tf.layers.Layer[] = []
  const visit = (layers: tf.layers.Layer[]) => {
    for (const l of layers) {
      if (l.getClassName() === 'BatchNormalization') out.push(l)
      else if (l instanceof tf.LayersModel) visit(l.layers)
    }
  }
  visit(model.layers)
  return out
}

/**
 * Precise BN (see TrainOptions.batchNormRefresh): forward passes in training mode over a seeded set
 * of training batches, with each layer's momentum set so its moving statistics become the plain
 * average over those batches; the momenta are put back after. The weights do not change.
 */
async function refreshBatchNorm<B>(
  model: tf.LayersModel,
  task: TrainTask<B>,
  o: TrainOptions,
  epoch: number,
  batches: number,
): Promise<void> {
  const layers = batchNormLayers(model) as unknown as { momentum: number }[]
  if (!layers.length) return
  const momenta = layers.map((l) => l.momentum)
  const count = task.trainCount
  // Its own order and randomness, so the training epoch's are untouched (and resume repeats this).
  const order = epochOrder(count, o.seed + 104_729, epoch)
  const rand = seededRandom(o.seed * 131 + epoch)
  const n = Math.min(batches, Math.floor(count / o.batchSize) || 1)
  try {
    for (let k = 0; k < n; k++) {
      for (const l of layers) l.momentum = k / (k + 1)
      const idx = order.subarray(k * o.batchSize, Math.min((k + 1) * o.batchSize, count))
      const batch = task.batch(idx, rand, epoch)
      tf.tidy(() => {
        task.loss(model, batch)
      })
      if (k % 8 === 7) await breathe()
    }
  } finally {
    layers.forEach((l, i) => (l.momentum = momenta[i]!))
  }
}

/** Runs `fn` with other weights in the model (e.g. their moving average), then puts its own back. */
export async function withWeights<T>(
  model: tf.LayersModel,
  weights: readonly tf.Tensor[],
  fn: () => Promise<T> | T,
): Promise<T> {
  const own = model.getWeights().map((w) => w.clone())
  model.setWeights(weights as tf.Tensor[])
  try {
    return await fn()
  } finally {
    model.setWeights(own)
    tf.dispose(own)
  }
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now())
/** Lets the host's event loop run (messages such as Cancel arrive there). */
const breathe = () => new Promise<void>((r) => setTimeout(r, 0))

export async function train<B>(
  model: tf.LayersModel,
  task: TrainTask<B>,
  o: TrainOptions,
  hooks: TrainHooks = {},
  resume?: ResumeState,
): Promise<TrainResult> {
  const count = task.trainCount
  if (count === 0) throw new Error('the training split is empty')
  const optimizer = makeOptimizer(o.optimizer)
  const history = [...(resume?.history ?? [])]
  if (resume?.optimizerWeights?.length) {
    await optimizer.setWeights(resume.optimizerWeights)
    // The optimizer made its own variables from them.
    tf.dispose(resume.optimizerWeights.map((w) => w.tensor))
  }
  const ema = o.ema
    ? new WeightAverage(o.ema.decay, resume?.emaWeights ?? model.getWeights().map((w) => w.clone()))
    : null
  const monitor = o.monitor ?? { metric: 'valLoss', mode: 'min' as const }
  const monitored = (m: EpochMetrics): number | null => {
    const v = monitor.metric === 'valLoss' ? m.valLoss : (m.metrics[monitor.metric] ?? null)
    return v === null || !Number.isFinite(v) ? null : monitor.mode === 'min' ? v : -v
  }
  let best = { value: Infinity, epoch: 0 }
  for (const h of history) {
    const v = monitored(h)
    if (v !== null && v < best.value) best = { value: v, epoch: h.epoch }
  }
  let bestWeights: tf.Tensor[] | null = resume?.bestWeights ?? null
  let stoppedEarly = false
  let cancelled = false
  const batches =
    o.dropLast && count > o.batchSize ? Math.floor(count / o.batchSize) : Math.ceil(count / o.batchSize)
  const decaying = o.weightDecay
    ? model.trainableWeights.filter((w) => w.shape.length >= 2).map((w) => w.read() as tf.Variable)
    : []
  let lastBreath = now()

  for (let epoch = (resume?.epochsDone ?? 0) + 1; epoch <= o.epochs; epoch++) {
    const order = epochOrder(count, o.seed, epoch)
    const rand = seededRandom(o.seed * 31 + epoch)
    const t0 = now()
    let lossSum = 0
    const partSums: Record<string, number> = {}
    let seen = 0
    let lr = o.optimizer.learningRate
    for (let b = 0; b < batches; b++) {
      if (hooks.signal?.aborted) {
        cancelled = true
        break
      }
      const idx = order.subarray(b * o.batchSize, Math.min((b + 1) * o.batchSize, count))
      const batch = task.batch(idx, rand, epoch)
      lr = learningRateAt(o, (epoch - 1) * batches + b, batches)
      if (o.schedule) setLearningRate(optimizer, lr)
      let parts: Record<string, tf.Scalar> = {}
      const loss = tf.tidy(() =>
        optimizer.minimize(() => {
          const r = task.loss(model, batch)
          parts = Object.fromEntries(Object.entries(r.parts ?? {}).map(([k, v]) => [k, tf.keep(v)]))
          return r.total
        }, true)!,
      )
      if (decaying.length) {
        const keep = 1 - lr * o.weightDecay!
        tf.tidy(() => decaying.forEach((v) => v.assign(v.mul(keep))))
      }
      ema?.update(model)
      const lossValue = (await loss.data())[0]!
      for (const [k, v] of Object.entries(parts))
        partSums[k] = (partSums[k] ?? 0) + (await v.data())[0]! * idx.length
      tf.dispose([loss, ...Object.values(parts)])
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
    if (o.batchNormRefresh && !ema) await refreshBatchNorm(model, task, o, epoch, o.batchNormRefresh.batches)
    const evaluated = ema
      ? await withWeights(model, ema.shadow, () => task.evaluate(model, epoch))
      : await task.evaluate(model, epoch)
    const metrics: Record<string, number> = {}
    for (const [k, v] of Object.entries(partSums)) metrics[k] = v / seen
    Object.assign(metrics, evaluated.metrics)
    const m: EpochMetrics = {
      epoch,
      loss: lossSum / seen,
      valLoss: evaluated.valLoss,
      metrics,
      imagesPerS: seen / seconds,
      seconds,
      lr,
    }
    history.push(m)
    const v = monitored(m)
    if (v !== null && v < best.value) {
      best = { value: v, epoch }
      if (o.earlyStopping) {
        tf.dispose(bestWeights ?? [])
        bestWeights = (ema?.shadow ?? model.getWeights()).map((w) => w.clone())
      }
    }
    await hooks.onEpoch?.(m, { model, optimizer, ema: ema?.shadow ?? null })
    // Without a monitored figure there is nothing to stop on.
    if (o.earlyStopping && v !== null && epoch - best.epoch >= o.earlyStopping.patience) {
      stoppedEarly = true
      break
    }
  }
  if (o.earlyStopping && bestWeights) {
    model.setWeights(bestWeights)
    tf.dispose(bestWeights)
  } else if (ema && !cancelled) model.setWeights(ema.shadow)
  if (ema) tf.dispose(ema.shadow)
  optimizer.dispose()
  return { history, cancelled, stoppedEarly, bestEpoch: best.epoch || null }
}
