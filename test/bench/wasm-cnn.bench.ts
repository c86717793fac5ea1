/**
 * Training throughput of the seed CNN on the wasm backend (with
 * src-main/train/backends/wasm-grad-kernels.ts). Not part of the unit tests
 * (speed targets don't belong there); run it by hand:
 *
 *   npx vitest bench --run test/bench/wasm-cnn.bench.ts
 *
 * Environment knobs:
 *   BENCH_SECONDS=30        how long to train (default 30)
 *   WASM_GRAD_STRATEGY=auto conv | gemm | auto: force the Conv2D gradient algorithm
 *   BENCH_PROFILE=1         also time every wasm kernel (self time, adds overhead)
 *   BENCH_FIT=1             also measure tf.LayersModel.fit (batch slicing via gather)
 *
 * The model and loop mirror src-main/train/trainer.ts for the 'seed-cnn' preset:
 * 28x28x1 inputs, batch 64, conv 10@5x5 valid -> maxpool 2 -> relu -> conv 20@5x5 ->
 * maxpool 2 -> relu -> flatten -> dense 50 relu -> dropout 0.5 -> dense 10 (logits);
 * SGD lr 0.01 momentum 0.5; softmax cross-entropy; one optimizer.minimize per batch
 * with the batch built from a Float32Array. Inputs are random (throughput only).
 * Prints one JSON line per measurement.
 */
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { bench } from 'vitest'
import {
  registerWasmGradKernels,
  setWasmGradStrategy,
  wasmGradTuning,
  type GradStrategy,
} from '../../src-main/train/backends/wasm-grad-kernels'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30)
const STRATEGY = (process.env.WASM_GRAD_STRATEGY ?? 'auto') as GradStrategy
const PROFILE = process.env.BENCH_PROFILE === '1'
const FIT = process.env.BENCH_FIT === '1'
const BATCH = 64
const POOL = 32 // distinct batches of random data, reused round-robin

function seedCnn(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 10, kernelSize: 5, padding: 'valid' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.reLU(),
      tf.layers.conv2d({ filters: 20, kernelSize: 5, padding: 'valid' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.reLU(),
      tf.layers.flatten(),
      tf.layers.dense({ units: 50, activation: 'relu' }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({ units: 10 }),
    ],
  })
}

interface KernelStat {
  calls: number
  ms: number
}

/** Re-registers every wasm kernel with a self-time (exclusive) timer around it. */
function installProfiler(): Map<string, KernelStat> {
  const stats = new Map<string, KernelStat>()
  const stack: number[] = []
  for (const config of tf.getKernelsForBackend('wasm')) {
    const inner = config.kernelFunc
    tf.unregisterKernel(config.kernelName, 'wasm')
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        stack.push(0)
        const t0 = performance.now()
        const out = inner(args)
        const dt = performance.now() - t0
        const nested = stack.pop()!
        if (stack.length) stack[stack.length - 1] += dt
        const first = Object.values(args.inputs)[0] as tf.TensorInfo | undefined
        const key = `${config.kernelName} ${first?.shape?.join('x') ?? ''}`
        const s = stats.get(key) ?? { calls: 0, ms: 0 }
        s.calls++
        s.ms += dt - nested
        stats.set(key, s)
        return out
      },
    })
  }
  return stats
}

function randomPool(): { xs: Float32Array[]; ys: Int32Array[] } {
  const xs: Float32Array[] = []
  const ys: Int32Array[] = []
  for (let b = 0; b < POOL; b++) {
    xs.push(Float32Array.from({ length: BATCH * 28 * 28 }, () => Math.random() * 2 - 1))
    ys.push(Int32Array.from({ length: BATCH }, () => Math.floor(Math.random() * 10)))
  }
  return { xs, ys }
}

async function trainLoop(seconds: number, stats: Map<string, KernelStat> | null) {
  const model = seedCnn()
  const optimizer = tf.train.momentum(0.01, 0.5)
  const data = randomPool()
  const step = async (b: number) => {
    const loss = tf.tidy(() => {
      const xs = tf.tensor4d(data.xs[b % POOL], [BATCH, 28, 28, 1])
      const ys = tf.tensor1d(data.ys[b % POOL], 'int32')
      return optimizer.minimize(() => {
        const logits = model.apply(xs, { training: true }) as tf.Tensor2D
        return tf.losses.softmaxCrossEntropy(tf.oneHot(ys, 10), logits) as tf.Scalar
      }, true)!
    })
    const value = (await loss.data())[0]
    loss.dispose()
    if (!Number.isFinite(value)) throw new Error(`loss became ${value}`)
  }
  // Warm up: JIT, XNNPACK operator caches, algorithm auto-tuning.
  for (let b = 0; b < 20; b++) await step(b)
  stats?.clear()
  const tensorsBefore = tf.memory().numTensors
  const windows: number[] = [] // images/s over consecutive 2-second windows
  const start = performance.now()
  let windowStart = start
  let windowImages = 0
  let images = 0
  let b = 0
  while (performance.now() - start < seconds * 1000) {
    await step(b++)
    images += BATCH
    windowImages += BATCH
    const t = performance.now()
    if (t - windowStart >= 2000) {
      windows.push((windowImages * 1000) / (t - windowStart))
      windowStart = t
      windowImages = 0
    }
  }
  const elapsed = (performance.now() - start) / 1000
  const tensorsAfter = tf.memory().numTensors
  model.dispose()
  optimizer.dispose()
  windows.sort((x, y) => x - y)
  return {
    imagesPerSec: Math.round(images / elapsed),
    bestWindowImagesPerSec: Math.round(windows[windows.length - 1] ?? images / elapsed),
    medianWindowImagesPerSec: Math.round(windows[windows.length >> 1] ?? images / elapsed),
    msPerBatch: +((elapsed * 1000 * BATCH) / images).toFixed(2),
    seconds: +elapsed.toFixed(1),
    batches: b,
    leakedTensors: tensorsAfter - tensorsBefore,
  }
}

async function fitLoop(seconds: number) {
  const model = seedCnn()
  model.compile({
    optimizer: tf.train.momentum(0.01, 0.5),
    loss: (y: tf.Tensor, p: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, p),
  })
  const n = BATCH * POOL
  const xs = tf.randomUniform([n, 28, 28, 1], -1, 1)
  const ys = tf.oneHot(tf.randomUniform([n], 0, 10, 'int32'), 10).toFloat()
  await model.fit(xs, ys, { batchSize: BATCH, epochs: 1, verbose: 0 })
  const start = performance.now()
  let images = 0
  while (performance.now() - start < seconds * 1000) {
    await model.fit(xs, ys, { batchSize: BATCH, epochs: 1, verbose: 0 })
    images += n
  }
  const elapsed = (performance.now() - start) / 1000
  tf.dispose([xs, ys])
  model.dispose()
  return { imagesPerSec: Math.round(images / elapsed), seconds: +elapsed.toFixed(1) }
}

bench(
  'seed CNN training on wasm',
  async () => {
    registerWasmGradKernels()
    setWasmGradStrategy({ filter: STRATEGY, input: STRATEGY })
    await tf.setBackend('wasm')
    await tf.ready()
    const stats = PROFILE ? installProfiler() : null
    const result = await trainLoop(SECONDS, stats)
    const out: Record<string, unknown> = {
      bench: 'seed-cnn-train',
      backend: tf.getBackend(),
      simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
      threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
      batch: BATCH,
      strategy: STRATEGY,
      ...result,
      tuning: wasmGradTuning(),
    }
    if (stats) {
      const total = [...stats.values()].reduce((a, s) => a + s.ms, 0)
      out.kernelMsPerBatch = Object.fromEntries(
        [...stats]
          .sort((a, b) => b[1].ms - a[1].ms)
          .slice(0, 25)
          .map(([k, s]) => [k, +(s.ms / result.batches).toFixed(3)]),
      )
      out.kernelTotalMsPerBatch = +(total / result.batches).toFixed(2)
    }
    console.log(JSON.stringify(out))
    if (FIT) {
      const fit = await fitLoop(Math.max(5, SECONDS / 3))
      console.log(JSON.stringify({ bench: 'seed-cnn-fit', backend: tf.getBackend(), ...fit }))
    }
  },
  { iterations: 1, warmupIterations: 0, time: 0, warmupTime: 0 },
)
