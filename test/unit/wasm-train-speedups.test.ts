/**
 * The training speed-ups registered by registerWasmGradKernels() beyond the
 * conv gradients' original test table (wasm-grad-kernels.test.ts):
 *  - the FusedBatchNorm and Mean gradients of fast-gradients.ts (all
 *    backends), against tfjs-core's stock gradients and against autodiff of
 *    the explicit formula, and a tf.layers BN model that must train the same;
 *  - the 'shift' / chunked 'gemm' filter gradients and the phase input
 *    gradient at multi-group / multi-chunk / strided / pointwise shapes;
 *  - the wasm Tile, Mean, Identity, Cast and ResizeNearestNeighborGrad
 *    kernels, against the cpu backend.
 */
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerFastGradients } from '../../src-main/train/backends/fast-gradients'
import { registerWasmGradKernels, setWasmGradStrategy } from '../../src-main/train/backends/wasm-grad-kernels'

// tfjs-core's own gradients, captured before anything replaces them.
const STOCK_BN = tf.getGradient('FusedBatchNorm')
const STOCK_MEAN = tf.getGradient('Mean')

let seed = 7
function rand(size: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(size)
  for (let i = 0; i < size; i++) {
    seed = (seed * 1664525 + 1013904223) >>> 0
    out[i] = lo + ((hi - lo) * seed) / 2 ** 32
  }
  return out
}
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1)

function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length)
  let scale = 0
  let diff = 0
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]))
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]))
  }
  return diff / Math.max(scale, 1e-6)
}
const expectClose = (a: ArrayLike<number>, e: ArrayLike<number>, rtol: number) =>
  expect(relErr(a, e)).toBeLessThan(rtol)

/** tf.tidy for functions that return plain data. */
function tidyData<T>(fn: () => T): T {
  let out: T | undefined
  tf.tidy(() => {
    out = fn()
  })
  return out as T
}

async function on<T>(backend: 'wasm' | 'cpu', fn: () => T): Promise<T> {
  await tf.setBackend(backend)
  return fn()
}

function useStockGradients(): void {
  if (!STOCK_BN || !STOCK_MEAN) throw new Error('stock gradients missing')
  tf.registerGradient(STOCK_BN)
  tf.registerGradient(STOCK_MEAN)
}

beforeAll(async () => {
  registerWasmGradKernels()
  await tf.setBackend('wasm')
  await tf.ready()
})

afterAll(async () => {
  registerFastGradients()
  setWasmGradStrategy({ filter: 'auto', input: 'auto' })
  await tf.setBackend('wasm')
})

// ---------------------------------------------------------------------------
// FusedBatchNorm / Mean gradients.
// ---------------------------------------------------------------------------

interface BnCase {
  x: number[]
  /** Shape of mean/variance/scale/offset. */
  p: number[]
  scale: boolean
}

const EPS = 1e-3

/** x, mean, variance, offset, scale, and dy (the output gradient). */
function bnData(c: BnCase) {
  return {
    x: rand(size(c.x), -2, 3),
    mean: rand(size(c.p), -0.5, 0.5),
    variance: rand(size(c.p), 0.2, 2),
    offset: rand(size(c.p)),
    scale: rand(size(c.p), 0.5, 1.5),
    dy: rand(size(c.x)),
  }
}

const BN_INPUTS = ['x', 'mean', 'variance', 'scale', 'offset'] as const

/**
 * The gradient function of `config` applied directly (tfjs-core 4.22's
 * engine cannot record a FusedBatchNorm without scale or offset at all:
 * it clones every inputsToSave entry and walks every input, so the
 * no-scale maths is only reachable this way).
 */
function bnGradFunc(config: tf.GradConfig, c: BnCase, d: ReturnType<typeof bnData>): (Float32Array | null)[] {
  return tidyData(() => {
    const x = tf.tensor(d.x, c.x)
    const saved = [x, tf.tensor(d.mean, c.p), tf.tensor(d.variance, c.p)]
    if (c.scale) saved.push(tf.tensor(d.scale, c.p))
    const grads = config.gradFunc(tf.tensor(d.dy, c.x), saved, { varianceEpsilon: EPS })
    return BN_INPUTS.map((name) => {
      if (name === 'scale' && !c.scale) return null
      return (grads[name]() as tf.Tensor).dataSync() as Float32Array
    })
  })
}

/** Autodiff of the explicit formula (elementary ops), same order as BN_INPUTS. */
function bnReference(c: BnCase, d: ReturnType<typeof bnData>): (Float32Array | null)[] {
  return tidyData(() => {
    const args = [tf.tensor(d.x, c.x), tf.tensor(d.mean, c.p), tf.tensor(d.variance, c.p)]
    args.push(tf.tensor(c.scale ? d.scale : new Float32Array(size(c.p)).fill(1), c.p))
    args.push(tf.tensor(d.offset, c.p))
    const dy = tf.tensor(d.dy, c.x)
    const f = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) =>
      tf.sum(tf.mul(tf.add(tf.mul(tf.mul(tf.sub(x, m), tf.rsqrt(tf.add(v, EPS))), s), o), dy))
    const g = tf.grads(f as (...a: tf.Tensor[]) => tf.Tensor)(args)
    return g.map((t, i) => (i === 3 && !c.scale ? null : (t.dataSync() as Float32Array)))
  })
}

const bnCases: BnCase[] = []
for (const [x, p] of [
  [[1, 1, 6, 5], [5]], // rank 2 [6,5] as tf.batchNorm passes it to the kernel
  [[3, 4, 5, 6], [6]], // rank 4, channels last (the CNN case)
  [
    [3, 4, 5, 6],
    [1, 4, 1, 1],
  ], // tf.layers' broadcast path (axis = 1)
  [
    [3, 4, 5, 6],
    [1, 1, 1, 6],
  ],
  [
    [3, 4, 5, 6],
    [3, 4, 5, 6],
  ], // no reduction at all
] as const) {
  for (const scale of [true, false]) bnCases.push({ x: [...x], p: [...p], scale })
}

describe('FusedBatchNorm gradient', () => {
  it.each(bnCases.map((c) => [JSON.stringify(c), c] as const))('%s', async (_name, c) => {
    const d = bnData(c)
    await tf.setBackend('cpu')
    registerFastGradients()
    const fast = tf.getGradient('FusedBatchNorm')
    expect(fast).not.toBe(STOCK_BN)
    if (!fast || !STOCK_BN) throw new Error('no gradient')
    const ours = bnGradFunc(fast, c, d)
    const reference = bnReference(c, d)
    ours.forEach((g, i) => (g ? expectClose(g, reference[i] as Float32Array, 1e-5) : undefined))
    // The stock gradient only works for per-channel (rank-1) or full-shape
    // statistics; it throws for the broadcast shapes.
    if (c.p.length === 1 || size(c.p) === size(c.x)) {
      const stock = bnGradFunc(STOCK_BN, c, d)
      ours.forEach((g, i) => (g ? expectClose(g, stock[i] as Float32Array, 1e-5) : undefined))
    } else {
      expect(() => bnGradFunc(STOCK_BN, c, d)).toThrow()
    }
    const wasm = await on('wasm', () => bnGradFunc(fast, c, d))
    wasm.forEach((g, i) => (g ? expectClose(g, ours[i] as Float32Array, 1e-5) : undefined))
  })

  it('tf.grads of tf.batchNorm matches the stock gradient (cpu and wasm)', async () => {
    const c: BnCase = { x: [2, 6, 7, 5], p: [5], scale: true }
    const d = bnData(c)
    const grads = () =>
      tf.tidy(() => {
        const args = [c.x, c.p, c.p, c.p, c.p].map((shape, i) =>
          tf.tensor([d.x, d.mean, d.variance, d.offset, d.scale][i], shape),
        )
        const dy = tf.tensor(d.dy, c.x)
        const f = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, o: tf.Tensor, s: tf.Tensor) =>
          tf.sum(tf.mul(tf.batchNorm(x, m, v, o, s, EPS), dy))
        return tf
          .grads(f as (...a: tf.Tensor[]) => tf.Tensor)(args)
          .map((g) => g.dataSync())
      })
    for (const backend of ['cpu', 'wasm'] as const) {
      await tf.setBackend(backend)
      useStockGradients()
      let stock: ArrayLike<number>[]
      try {
        stock = grads()
      } finally {
        registerFastGradients()
      }
      grads().forEach((g, i) => expectClose(g, stock[i], 1e-5))
    }
  })

  it('a tf.layers BN model trains identically with the stock and the new gradient', async () => {
    // Fixed conv-gradient formulations: 'auto' could time different ones in
    // the two runs, and Adam turns float-rounding differences of near-zero
    // gradient entries into whole steps.
    setWasmGradStrategy({ filter: 'shift', input: 'conv' })
    for (const backend of ['cpu', 'wasm'] as const) {
      await tf.setBackend(backend)
      const input = tf.input({ shape: [8, 10, 3] })
      let h = tf.layers
        .conv2d({ filters: 6, kernelSize: 3, padding: 'same', useBias: false })
        .apply(input) as tf.SymbolicTensor
      h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor
      h = tf.layers.reLU().apply(h) as tf.SymbolicTensor
      h = tf.layers
        .conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false })
        .apply(h) as tf.SymbolicTensor
      h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor
      // (a ReLU here keeps this BN's beta meaningful: BN -> dense -> BN would
      // give it an exactly-zero gradient, which Adam turns from rounding
      // noise into full steps)
      h = tf.layers.reLU().apply(h) as tf.SymbolicTensor
      h = tf.layers.flatten().apply(h) as tf.SymbolicTensor
      h = tf.layers.dense({ units: 5, useBias: false }).apply(h) as tf.SymbolicTensor
      h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor // rank 2
      const out = tf.layers.dense({ units: 2 }).apply(h) as tf.SymbolicTensor
      const model = tf.model({ inputs: input, outputs: out })
      const initial = model.getWeights().map((w) => w.clone())
      const xs = tf.tensor(rand(6 * 8 * 10 * 3, -1, 2), [6, 8, 10, 3])
      const ys = tf.tensor(rand(6 * 2), [6, 2])

      const train = () => {
        model.setWeights(initial)
        const opt = tf.train.adam(0.01)
        let loss = NaN
        for (let i = 0; i < 3; i++) {
          const l = opt.minimize(
            () =>
              tf.losses.meanSquaredError(ys, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar,
            true,
          )
          loss = l?.dataSync()[0] ?? NaN
          l?.dispose()
        }
        const after = model.predict(xs) as tf.Tensor
        const final = tf.tidy(() => tf.losses.meanSquaredError(ys, after).dataSync()[0])
        after.dispose()
        opt.dispose()
        return [loss, final]
      }
      useStockGradients()
      let stock: number[]
      try {
        stock = train()
      } finally {
        registerFastGradients()
      }
      const ours = train()
      expect(Number.isFinite(ours[1])).toBe(true)
      for (let i = 0; i < 2; i++)
        expect(Math.abs(ours[i] - stock[i])).toBeLessThan(1e-5 * Math.max(1, stock[i]))
      tf.dispose([xs, ys, ...initial])
      model.dispose()
    }
    setWasmGradStrategy({ filter: 'auto', input: 'auto' })
  })
})

describe('Mean gradient', () => {
  const cases: { x: number[]; axis: number | number[]; keepDims: boolean }[] = [
    { x: [3, 4, 5, 6], axis: [0, 1, 2], keepDims: false },
    { x: [3, 4, 5, 6], axis: [0, 1, 2], keepDims: true },
    { x: [3, 4, 5, 6], axis: 1, keepDims: false },
    { x: [3, 4, 5, 6], axis: [-1, 0], keepDims: true },
    { x: [7, 9], axis: 0, keepDims: false },
    { x: [7, 9], axis: [0, 1], keepDims: false },
  ]
  it.each(cases.map((c) => [JSON.stringify(c), c] as const))('%s', async (_name, c) => {
    const x = rand(size(c.x))
    const grad = () =>
      tf.tidy(() => {
        const xt = tf.tensor(x, c.x)
        const m = tf.mean(xt, c.axis, c.keepDims)
        const w = tf.tensor(rand(size(m.shape)), m.shape) // (same w per call: seed reset below)
        return tf
          .grad((a: tf.Tensor) => tf.sum(tf.mul(tf.mean(a, c.axis, c.keepDims), w)))(xt)
          .dataSync()
      })
    for (const backend of ['cpu', 'wasm'] as const) {
      await tf.setBackend(backend)
      const s0 = seed
      useStockGradients()
      let stock: ArrayLike<number>
      try {
        stock = grad()
      } finally {
        registerFastGradients()
      }
      seed = s0
      const ours = grad()
      expectClose(ours, stock, 1e-6)
    }
  })
})

// ---------------------------------------------------------------------------
// Conv gradients at shapes that exercise image groups, chunks and phases.
// ---------------------------------------------------------------------------

interface ConvCase {
  x: [number, number, number, number]
  k: [number, number]
  co: number
  strides: number | [number, number]
  pad: 'same' | 'valid'
}

const convCases: ConvCase[] = [
  // 'shift': planes of 31x31 -> two images per group, a partial last group;
  // 'gemm': two chunks, the boundary inside an image.
  { x: [3, 30, 30, 4], k: [3, 3], co: 5, strides: 1, pad: 'same' },
  { x: [2, 40, 48, 3], k: [3, 3], co: 4, strides: 1, pad: 'same' }, // one image per group
  { x: [3, 20, 24, 6], k: [3, 3], co: 5, strides: 2, pad: 'same' }, // even sizes, s2
  { x: [3, 21, 23, 6], k: [3, 3], co: 5, strides: 2, pad: 'same' }, // odd sizes, s2
  { x: [3, 21, 23, 6], k: [3, 3], co: 5, strides: 2, pad: 'valid' },
  { x: [2, 17, 19, 4], k: [5, 3], co: 3, strides: [3, 2], pad: 'same' },
  { x: [2, 16, 20, 4], k: [2, 2], co: 3, strides: 2, pad: 'valid' },
  { x: [3, 16, 20, 24], k: [1, 1], co: 8, strides: 1, pad: 'same' }, // pointwise, Co < Ci
  { x: [3, 16, 20, 8], k: [1, 1], co: 24, strides: 1, pad: 'same' }, // pointwise, Co > Ci
  { x: [2, 15, 17, 8], k: [1, 1], co: 6, strides: 2, pad: 'same' },
  { x: [8, 4, 5, 16], k: [3, 3], co: 16, strides: 1, pad: 'same' }, // the smallest FPN level
]

describe.each(['shift', 'gemm', 'conv', 'auto'] as const)('conv gradients, %s', (algo) => {
  beforeAll(() => setWasmGradStrategy({ filter: algo, input: algo }))
  afterAll(() => setWasmGradStrategy({ filter: 'auto', input: 'auto' }))

  it.each(convCases.map((c) => [JSON.stringify(c), c] as const))('%s', async (_name, c) => {
    const wShape = [c.k[0], c.k[1], c.x[3], c.co] as [number, number, number, number]
    const yShape = tf.backend_util.computeConv2DInfo(c.x, wShape, c.strides, 1, c.pad).outShape
    const x = rand(size(c.x))
    const w = rand(size(wShape))
    const dy = rand(size(yShape))
    const common = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: 1 }
    const run = () =>
      tf.tidy(() => {
        const dw = tf
          .engine()
          .runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(x, c.x), dy: tf.tensor4d(dy, yShape) }, {
            ...common,
            filterShape: wShape,
          } as unknown as tf.NamedAttrMap) as tf.Tensor
        const dx = tf
          .engine()
          .runKernel('Conv2DBackpropInput', { dy: tf.tensor4d(dy, yShape), filter: tf.tensor4d(w, wShape) }, {
            ...common,
            inputShape: c.x,
          } as unknown as tf.NamedAttrMap) as tf.Tensor
        return [dw.dataSync(), dx.dataSync()]
      })
    const expected = await on('cpu', run)
    // 'auto' times the candidates over its first calls: check all of them.
    for (let i = 0; i < (algo === 'auto' ? 12 : 1); i++) {
      const got = await on('wasm', run)
      expectClose(got[0], expected[0], 1e-4)
      expectClose(got[1], expected[1], 1e-4)
    }
  })
})

// ---------------------------------------------------------------------------
// Smaller wasm kernels.
// ---------------------------------------------------------------------------

describe('wasm Tile', () => {
  const cases: { x: number[]; reps: number[]; dtype: 'float32' | 'int32' | 'bool' }[] = [
    { x: [3], reps: [4], dtype: 'float32' },
    { x: [2, 3], reps: [3, 1], dtype: 'float32' },
    { x: [2, 3], reps: [1, 5], dtype: 'int32' },
    { x: [1, 1, 1, 5], reps: [2, 3, 4, 1], dtype: 'float32' },
    { x: [2, 1, 3, 1], reps: [1, 4, 1, 7], dtype: 'float32' },
    { x: [2, 3, 2, 2], reps: [1, 1, 1, 1], dtype: 'bool' },
    { x: [2, 2, 2, 2, 3], reps: [2, 1, 3, 1, 2], dtype: 'int32' },
    { x: [2, 3], reps: [0, 2], dtype: 'float32' },
  ]
  it.each(cases.map((c) => [JSON.stringify(c), c] as const))('%s', async (_name, c) => {
    const values = Array.from(rand(size(c.x), -5, 5), (v) => (c.dtype === 'bool' ? v > 0 : Math.round(v)))
    const run = () =>
      tf.tidy(() => tf.tile(tf.tensor(values as number[] | boolean[], c.x, c.dtype), c.reps).dataSync())
    expect(Array.from(await on('wasm', run))).toEqual(Array.from(await on('cpu', run)))
  })
})

describe('wasm Mean', () => {
  const cases: { x: number[]; axis: number | number[]; keepDims: boolean; dtype?: 'int32' }[] = [
    { x: [8, 16, 20, 12], axis: [0, 1, 2], keepDims: false }, // fast path
    { x: [8, 16, 20, 12], axis: [2, 0, 1], keepDims: true }, // fast path, keepDims
    { x: [96, 64], axis: 0, keepDims: false }, // fast path, rank 2
    { x: [8, 16, 20, 12], axis: [1, 2], keepDims: false }, // stock
    { x: [8, 16, 20, 12], axis: [0, 1, 2], keepDims: false, dtype: 'int32' }, // stock
  ]
  it.each(cases.map((c) => [JSON.stringify(c), c] as const))('%s', async (_name, c) => {
    const values = Array.from(rand(size(c.x), -5, 5), (v) => (c.dtype ? Math.round(v) : v))
    const run = () =>
      tf.tidy(() => {
        const m = tf.mean(tf.tensor(values, c.x, c.dtype ?? 'float32'), c.axis, c.keepDims)
        return { shape: m.shape, data: m.dataSync() }
      })
    const got = await on('wasm', run)
    const expected = await on('cpu', run)
    expect(got.shape).toEqual(expected.shape)
    expectClose(got.data, expected.data, 1e-5)
  })
})

describe('wasm Identity and Cast share buffers safely', () => {
  it('clone / cast to the same dtype survive disposing the source, without leaks', async () => {
    await tf.setBackend('wasm')
    const backend = tf.backend() as unknown as { numDataIds(): number }
    const ids = backend.numDataIds()
    const before = tf.memory().numTensors
    const x = tf.tensor([1, 2, 3, 4], [2, 2])
    const c = tf.clone(x)
    const k = tf.cast(x, 'float32')
    const i = tf.cast(x, 'int32')
    x.dispose()
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3, 4])
    expect(Array.from(k.dataSync())).toEqual([1, 2, 3, 4])
    expect(i.dtype).toBe('int32')
    c.dispose()
    expect(Array.from(k.dataSync())).toEqual([1, 2, 3, 4])
    k.dispose()
    i.dispose()
    expect(tf.memory().numTensors).toBe(before)
    expect(backend.numDataIds()).toBe(ids)
  })

  it('a cloned variable keeps its value when the variable is assigned', async () => {
    await tf.setBackend('wasm')
    const v = tf.variable(tf.tensor([1, 2, 3]))
    const snapshot = tf.clone(v)
    v.assign(tf.tensor([7, 8, 9]))
    expect(Array.from(snapshot.dataSync())).toEqual([1, 2, 3])
    expect(Array.from(v.dataSync())).toEqual([7, 8, 9])
    tf.dispose([v, snapshot])
  })
})

describe('wasm ResizeNearestNeighborGrad', () => {
  const cases: { x: number[]; size: [number, number]; alignCorners: boolean; halfPixelCenters: boolean }[] = [
    { x: [2, 4, 5, 3], size: [8, 10], alignCorners: false, halfPixelCenters: false },
    { x: [2, 4, 5, 3], size: [8, 10], alignCorners: false, halfPixelCenters: true },
    { x: [1, 3, 3, 2], size: [12, 6], alignCorners: false, halfPixelCenters: false },
    { x: [3, 3, 5, 2], size: [3, 10], alignCorners: false, halfPixelCenters: false },
    { x: [2, 4, 5, 2], size: [8, 10], alignCorners: true, halfPixelCenters: false }, // stock
    { x: [2, 4, 5, 2], size: [12, 15], alignCorners: false, halfPixelCenters: false }, // stock (x3)
  ]
  it.each(cases.map((c) => [JSON.stringify(c), c] as const))('%s', async (_name, c) => {
    const [N, H, W, C] = c.x
    const [OH, OW] = c.size
    const w = rand(N * OH * OW * C)
    // Reference (the cpu backend's own grad kernel mixes up images when
    // N > 1): route each output's w to the pixel the forward copied.
    await tf.setBackend('cpu')
    const index = tf.tidy(() => {
      const ids = tf.range(0, N * H * W).reshape([N, H, W, 1]) as tf.Tensor4D
      return tf.image.resizeNearestNeighbor(ids, c.size, c.alignCorners, c.halfPixelCenters).dataSync()
    })
    const expected = new Float32Array(N * H * W * C)
    for (let o = 0; o < index.length; o++) {
      for (let ch = 0; ch < C; ch++) expected[index[o] * C + ch] += w[o * C + ch]
    }
    const got = await on('wasm', () =>
      tf.tidy(() => {
        const wt = tf.tensor4d(w, [N, OH, OW, C])
        const f = (a: tf.Tensor) =>
          tf.sum(
            tf.mul(
              tf.image.resizeNearestNeighbor(a as tf.Tensor4D, c.size, c.alignCorners, c.halfPixelCenters),
              wt,
            ),
          )
        return tf
          .grad(f)(tf.tensor4d(rand(N * H * W * C), [N, H, W, C]))
          .dataSync()
      }),
    )
    expectClose(got, expected, 1e-5)
  })
})
