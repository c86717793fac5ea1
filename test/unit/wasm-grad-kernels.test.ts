/**
 * Gradient kernels for the tfjs wasm backend (src-main/train/backends/
 * wasm-grad-kernels.ts): every kernel is compared against the cpu backend
 * (and, where the cpu backend ignores an attribute such as dilations, against
 * a naive reference written here) over a table of shapes/attributes, with
 * both algorithm variants forced; plus end-to-end gradients/training, leak
 * and registration checks.
 */
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerWasmGradKernels, setWasmGradStrategy } from '../../src-main/train/backends/wasm-grad-kernels'

type Pair = [number, number]
type Shape4 = [number, number, number, number]
type Pad = 'valid' | 'same' | [Pair, Pair, Pair, Pair]

const RTOL = 1e-4

let seed = 1
function randomData(size: number): Float32Array {
  // Small deterministic LCG so failures are reproducible.
  const out = new Float32Array(size)
  for (let i = 0; i < size; i++) {
    seed = (seed * 1664525 + 1013904223) >>> 0
    out[i] = seed / 2 ** 31 - 1
  }
  return out
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1)

async function on(backend: 'wasm' | 'cpu', fn: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend(backend)
  const t = tf.tidy(fn)
  const data = (await t.data()) as Float32Array
  t.dispose()
  return data
}

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

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = RTOL): void {
  const err = relErr(actual, expected)
  expect(err).toBeLessThan(rtol)
}

function runKernel(name: string, inputs: Record<string, tf.Tensor>, attrs: object): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor
}

// ---------------------------------------------------------------------------
// Naive references (NHWC). Used for dilations, which the cpu backend's
// backprop kernels ignore.
// ---------------------------------------------------------------------------

function convInfo(
  xShape: Shape4,
  filterShape: Shape4,
  strides: number | Pair,
  dilations: number | Pair,
  pad: Pad,
  depthwise: boolean,
) {
  return tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, dilations, pad, undefined, depthwise)
}

/** Calls f(n, oh, ow, kh, kw, ih, iw) for every in-bounds tap of the conv. */
function forEachTap(
  info: tf.backend_util.Conv2DInfo,
  f: (n: number, oh: number, ow: number, kh: number, kw: number, ih: number, iw: number) => void,
) {
  for (let n = 0; n < info.batchSize; n++)
    for (let oh = 0; oh < info.outHeight; oh++)
      for (let ow = 0; ow < info.outWidth; ow++)
        for (let kh = 0; kh < info.filterHeight; kh++)
          for (let kw = 0; kw < info.filterWidth; kw++) {
            const ih = oh * info.strideHeight + kh * info.dilationHeight - info.padInfo.top
            const iw = ow * info.strideWidth + kw * info.dilationWidth - info.padInfo.left
            if (ih < 0 || iw < 0 || ih >= info.inHeight || iw >= info.inWidth) continue
            f(n, oh, ow, kh, kw, ih, iw)
          }
}

function refConvGrads(
  info: tf.backend_util.Conv2DInfo,
  x: Float32Array,
  w: Float32Array,
  dy: Float32Array,
  depthwise: boolean,
  mult: number,
) {
  const { inHeight: H, inWidth: W, inChannels: Ci, outChannels: Co } = info
  const { outHeight: OH, outWidth: OW, filterWidth: KW } = info
  const dx = new Float32Array(x.length)
  const dw = new Float32Array(w.length)
  forEachTap(info, (n, oh, ow, kh, kw, ih, iw) => {
    const xBase = ((n * H + ih) * W + iw) * Ci
    const yBase = ((n * OH + oh) * OW + ow) * Co
    if (depthwise) {
      for (let c = 0; c < Ci; c++)
        for (let m = 0; m < mult; m++) {
          const wi = ((kh * KW + kw) * Ci + c) * mult + m
          const g = dy[yBase + c * mult + m]
          dw[wi] += x[xBase + c] * g
          dx[xBase + c] += w[wi] * g
        }
    } else {
      for (let ci = 0; ci < Ci; ci++)
        for (let co = 0; co < Co; co++) {
          const wi = ((kh * KW + kw) * Ci + ci) * Co + co
          const g = dy[yBase + co]
          dw[wi] += x[xBase + ci] * g
          dx[xBase + ci] += w[wi] * g
        }
    }
  })
  return { dx, dw }
}

// ---------------------------------------------------------------------------

beforeAll(async () => {
  registerWasmGradKernels()
  await tf.setBackend('wasm')
  await tf.ready()
  tf.env().set('DEBUG', false)
})

afterAll(async () => {
  setWasmGradStrategy({ filter: 'auto', input: 'auto' })
  await tf.setBackend('wasm')
})

interface ConvCase {
  x: Shape4
  k: Pair
  co: number
  strides: number | Pair
  pad: Pad
  dilations?: number | Pair
}

const convCases: ConvCase[] = [
  { x: [1, 7, 9, 1], k: [3, 3], co: 1, strides: 1, pad: 'valid' },
  { x: [1, 7, 9, 1], k: [3, 3], co: 3, strides: 1, pad: 'same' },
  { x: [3, 13, 11, 3], k: [5, 5], co: 5, strides: 1, pad: 'valid' },
  { x: [3, 13, 11, 3], k: [5, 5], co: 5, strides: 2, pad: 'same' },
  { x: [3, 13, 11, 3], k: [5, 5], co: 1, strides: [2, 1], pad: 'valid' },
  { x: [1, 13, 11, 5], k: [5, 5], co: 3, strides: [2, 1], pad: 'same' },
  { x: [3, 7, 9, 5], k: [3, 2], co: 5, strides: [1, 2], pad: 'same' },
  { x: [3, 14, 14, 1], k: [5, 5], co: 3, strides: 2, pad: 'valid' },
  { x: [1, 9, 7, 3], k: [1, 1], co: 5, strides: 2, pad: 'valid' },
  { x: [3, 7, 9, 3], k: [3, 3], co: 5, strides: 3, pad: 'same' },
  { x: [1, 8, 8, 3], k: [8, 8], co: 1, strides: 1, pad: 'valid' },
  {
    x: [3, 6, 5, 3],
    k: [3, 3],
    co: 3,
    strides: 1,
    pad: [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
  },
  { x: [3, 13, 11, 3], k: [3, 3], co: 5, strides: 1, pad: 'valid', dilations: 2 },
  { x: [1, 13, 11, 1], k: [5, 5], co: 3, strides: 1, pad: 'same', dilations: 2 },
  { x: [3, 9, 7, 5], k: [3, 2], co: 1, strides: 1, pad: 'same', dilations: [2, 1] },
  { x: [3, 13, 11, 3], k: [3, 3], co: 3, strides: 2, pad: 'valid', dilations: 2 },
]

const label = (c: object) => JSON.stringify(c)

describe.each(['conv', 'gemm', 'shift'] as const)('Conv2D gradients on wasm (%s algorithm)', (algo) => {
  beforeAll(() => setWasmGradStrategy({ filter: algo, input: algo }))
  afterAll(() => setWasmGradStrategy({ filter: 'auto', input: 'auto' }))

  it.each(convCases.map((c) => [label(c), c] as const))('%s', async (_name, c) => {
    const wShape: Shape4 = [c.k[0], c.k[1], c.x[3], c.co]
    const dilations = c.dilations ?? 1
    const info = convInfo(c.x, wShape, c.strides, dilations, c.pad, false)
    const x = randomData(size(c.x))
    const w = randomData(size(wShape))
    const dy = randomData(size(info.outShape))
    const xT = () => tf.tensor4d(x, c.x)
    const wT = () => tf.tensor4d(w, wShape)
    const dyT = () => tf.tensor4d(dy, info.outShape)
    const fAttrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: wShape, dilations }
    const iAttrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x, dilations }

    const dwWasm = await on('wasm', () => runKernel('Conv2DBackpropFilter', { x: xT(), dy: dyT() }, fAttrs))
    const dxWasm = await on('wasm', () =>
      runKernel('Conv2DBackpropInput', { dy: dyT(), filter: wT() }, iAttrs),
    )
    const ref = refConvGrads(info, x, w, dy, false, 1)
    expectClose(dwWasm, ref.dw)
    expectClose(dxWasm, ref.dx)
    if (dilations === 1) {
      const dwCpu = await on('cpu', () => runKernel('Conv2DBackpropFilter', { x: xT(), dy: dyT() }, fAttrs))
      const dxCpu = await on('cpu', () =>
        runKernel('Conv2DBackpropInput', { dy: dyT(), filter: wT() }, iAttrs),
      )
      expectClose(dwWasm, dwCpu)
      expectClose(dxWasm, dxCpu)
    }
  })

  it('supports NCHW data format', async () => {
    const xs: Shape4 = [3, 4, 9, 7] // N C H W
    const wShape: Shape4 = [3, 3, 4, 5]
    const outShape: Shape4 = [3, 5, 5, 4] // 'same', stride 2
    const x = randomData(size(xs))
    const w = randomData(size(wShape))
    const dy = randomData(size(outShape))
    const common = { strides: 2, pad: 'same', dataFormat: 'NCHW' }
    const f = () =>
      runKernel(
        'Conv2DBackpropFilter',
        { x: tf.tensor4d(x, xs), dy: tf.tensor4d(dy, outShape) },
        { ...common, filterShape: wShape },
      )
    const i = () =>
      runKernel(
        'Conv2DBackpropInput',
        { dy: tf.tensor4d(dy, outShape), filter: tf.tensor4d(w, wShape) },
        { ...common, inputShape: xs },
      )
    expectClose(await on('wasm', f), await on('cpu', f))
    expectClose(await on('wasm', i), await on('cpu', i))
  })
})

interface DwCase {
  x: Shape4
  k: Pair
  mult: number
  strides: number | Pair
  pad: Pad
  dilations?: number | Pair
}

const dwCases: DwCase[] = [
  { x: [1, 7, 9, 1], k: [3, 3], mult: 1, strides: 1, pad: 'valid' },
  { x: [1, 7, 9, 1], k: [3, 3], mult: 2, strides: 1, pad: 'same' },
  { x: [3, 13, 11, 3], k: [5, 5], mult: 1, strides: 1, pad: 'same' },
  { x: [3, 13, 11, 3], k: [5, 5], mult: 2, strides: 2, pad: 'valid' },
  { x: [3, 13, 11, 5], k: [5, 5], mult: 1, strides: [2, 1], pad: 'same' },
  { x: [1, 13, 11, 3], k: [3, 2], mult: 2, strides: [1, 2], pad: 'valid' },
  { x: [3, 14, 14, 3], k: [3, 3], mult: 2, strides: 2, pad: 'same' },
  { x: [3, 8, 7, 5], k: [1, 1], mult: 2, strides: 1, pad: 'valid' },
  { x: [1, 6, 6, 3], k: [6, 6], mult: 1, strides: 1, pad: 'valid' },
  {
    x: [3, 6, 5, 3],
    k: [3, 3],
    mult: 2,
    strides: 1,
    pad: [
      [0, 0],
      [2, 1],
      [0, 1],
      [0, 0],
    ],
  },
  { x: [3, 13, 11, 3], k: [3, 3], mult: 1, strides: 1, pad: 'same', dilations: 2 },
  { x: [1, 13, 11, 3], k: [3, 3], mult: 2, strides: 1, pad: 'valid', dilations: [2, 1] },
]

describe('DepthwiseConv2dNative gradients on wasm', () => {
  it.each(dwCases.map((c) => [label(c), c] as const))('%s', async (_name, c) => {
    const wShape: Shape4 = [c.k[0], c.k[1], c.x[3], c.mult]
    const dilations = c.dilations ?? 1
    const info = convInfo(c.x, wShape, c.strides, dilations, c.pad, true)
    const x = randomData(size(c.x))
    const w = randomData(size(wShape))
    const dy = randomData(size(info.outShape))
    const attrs = { strides: c.strides, pad: c.pad, dilations }
    const f = () =>
      runKernel(
        'DepthwiseConv2dNativeBackpropFilter',
        { x: tf.tensor4d(x, c.x), dy: tf.tensor4d(dy, info.outShape) },
        { ...attrs, filterShape: wShape },
      )
    const i = () =>
      runKernel(
        'DepthwiseConv2dNativeBackpropInput',
        { dy: tf.tensor4d(dy, info.outShape), filter: tf.tensor4d(w, wShape) },
        { ...attrs, inputShape: c.x },
      )
    const dwWasm = await on('wasm', f)
    const dxWasm = await on('wasm', i)
    const ref = refConvGrads(info, x, w, dy, true, c.mult)
    expectClose(dwWasm, ref.dw)
    expectClose(dxWasm, ref.dx)
    if (dilations === 1) {
      expectClose(dwWasm, await on('cpu', f))
      expectClose(dxWasm, await on('cpu', i))
    }
  })
})

describe('MaxPoolGrad on wasm', () => {
  const cases: { x: Shape4; f: number | Pair; s: number | Pair; pad: 'valid' | 'same' }[] = [
    { x: [3, 24, 24, 5], f: 2, s: 2, pad: 'valid' },
    { x: [1, 7, 9, 3], f: 2, s: 2, pad: 'same' },
    { x: [3, 13, 11, 1], f: 3, s: 2, pad: 'same' },
    { x: [1, 13, 11, 3], f: 3, s: 1, pad: 'valid' },
    { x: [3, 9, 7, 5], f: [3, 2], s: [1, 2], pad: 'same' },
  ]
  it.each(cases.map((c) => [label(c), c] as const))('%s', async (_name, c) => {
    const x = randomData(size(c.x))
    // Quantise so that ties occur (the first maximum must win, as on cpu).
    for (let i = 0; i < x.length; i++) x[i] = Math.round(x[i] * 4) / 4
    const g = () =>
      tf.grad((t: tf.Tensor) => {
        const y = tf.maxPool(t as tf.Tensor4D, c.f, c.s, c.pad)
        return y.mul(tf.range(1, y.size + 1).reshape(y.shape)).sum()
      })(tf.tensor4d(x, c.x))
    expectClose(await on('wasm', g), await on('cpu', g), 1e-6)
  })

  it('routes gradients like cpu around -Infinity and NaN inputs', async () => {
    for (const [f, s] of [
      [2, 2],
      [3, 2],
    ] as const) {
      const shape: Shape4 = [2, 8, 6, 3]
      const x = randomData(size(shape))
      x.fill(-Infinity, 0, 24) // whole windows of -inf in the first rows
      for (let i = 40; i < x.length; i += 37) x[i] = NaN
      const g = () =>
        tf.grad((t: tf.Tensor) => {
          const y = tf.maxPool(t as tf.Tensor4D, f, s, 'valid')
          return y.mul(tf.range(1, y.size + 1).reshape(y.shape)).sum()
        })(tf.tensor4d(x, shape))
      const wasm = await on('wasm', g)
      const cpu = await on('cpu', g)
      expect(Array.from(wasm)).toEqual(Array.from(cpu))
    }
  })
})

describe('BatchMatMul with transposed operands on wasm', () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[7, 5], [7, 3], true, false],
    [[7, 5], [3, 5], false, true],
    [[5, 7], [3, 5], true, true],
    [[1, 7, 5], [7, 3], true, false],
    [[1, 6, 4], [1, 5, 4], false, true],
    [[2, 6, 4], [2, 6, 3], true, false], // batched: stock path
    [[6, 4], [4, 3], false, false],
  ]
  it.each(cases.map((c) => [label(c), c] as const))('%s', async (_name, [as, bs, ta, tb]) => {
    const a = randomData(size(as))
    const b = randomData(size(bs))
    const f = () => tf.matMul(tf.tensor(a, as), tf.tensor(b, bs), ta, tb)
    const wasm = await on('wasm', f)
    const cpu = await on('cpu', f)
    expectClose(wasm, cpu)
    await tf.setBackend('wasm')
    const shape = tf.tidy(() => f().shape)
    await tf.setBackend('cpu')
    expect(shape).toEqual(tf.tidy(() => f().shape))
  })
})

describe('Sum over leading axes (bias gradients) on wasm', () => {
  const cases: [number[], number[], boolean][] = [
    [[64, 24, 24, 10], [0, 1, 2], false],
    [[3, 13, 11, 5], [0, 1, 2], true],
    [[5, 9, 7, 3], [-4, -3, -2], false],
    [[4096, 3], [0], false],
    [[3, 2048, 2], [1, 0], true],
    [[6, 5, 4], [0, 1], false], // small: stock path
    [[64, 24, 24, 10], [1, 2], false], // other axes: stock path
  ]
  it.each(cases.map((c) => [label(c), c] as const))('%s', async (_name, [shape, axes, keep]) => {
    const x = randomData(size(shape))
    const f = () => tf.sum(tf.tensor(x, shape), axes, keep)
    expectClose(await on('wasm', f), await on('cpu', f), 1e-5)
    await tf.setBackend('wasm')
    const wasmShape = tf.tidy(() => f().shape)
    await tf.setBackend('cpu')
    expect(wasmShape).toEqual(tf.tidy(() => f().shape))
  })

  it('leaves int32 sums to the stock kernel', async () => {
    const f = () => tf.sum(tf.range(0, 8192, 1, 'int32').reshape([64, 128]), 0)
    const wasm = await on('wasm', f)
    expect(Array.from(wasm)).toEqual(Array.from(await on('cpu', f)))
  })
})

describe('end to end on wasm', () => {
  it('tf.grads of a conv net matches the cpu backend', async () => {
    const xs: Shape4 = [3, 13, 11, 3]
    const x = randomData(size(xs))
    const w1 = randomData(3 * 3 * 3 * 4)
    const w2 = randomData(3 * 3 * 4 * 2)
    const grads = (which: number) => () => {
      const f = (xt: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => {
        const h = tf.relu(tf.conv2d(xt as tf.Tensor4D, a as tf.Tensor4D, 1, 'same'))
        const d = tf.depthwiseConv2d(h, b as tf.Tensor4D, 2, 'valid')
        return tf.maxPool(d, 2, 1, 'same').square().sum()
      }
      const g = tf.grads(f)([
        tf.tensor4d(x, xs),
        tf.tensor4d(w1, [3, 3, 3, 4]),
        tf.tensor4d(w2, [3, 3, 4, 2]),
      ])
      return g[which]
    }
    for (let i = 0; i < 3; i++) {
      expectClose(await on('wasm', grads(i)), await on('cpu', grads(i)))
    }
  })

  it('variable gradients of a small CNN model match the cpu backend', async () => {
    const build = () =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 5 }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.reLU(),
          tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same' }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 5, activation: 'softmax' }),
        ],
      })
    await tf.setBackend('cpu')
    const ref = build()
    const weights = ref.getWeights().map((w) => ({ shape: w.shape, data: w.dataSync().slice() }))
    ref.dispose()
    const x = randomData(4 * 12 * 12)
    const labels = [0, 3, 1, 4]
    const result: Record<string, Float32Array[]> = {}
    for (const b of ['wasm', 'cpu'] as const) {
      await tf.setBackend(b)
      const model = build()
      model.setWeights(weights.map((w) => tf.tensor(w.data, w.shape)))
      const xt = tf.tensor4d(x, [4, 12, 12, 1])
      const yt = tf.oneHot(tf.tensor1d(labels, 'int32'), 5)
      const { grads, value } = tf.variableGrads(() =>
        tf.losses.softmaxCrossEntropy(yt, model.apply(xt) as tf.Tensor),
      )
      result[b] = model.trainableWeights.map((v) => grads[v.originalName].dataSync().slice() as Float32Array)
      tf.dispose([xt, yt, value, ...Object.values(grads)])
      model.dispose()
    }
    expect(result.wasm.length).toBe(result.cpu.length)
    result.wasm.forEach((g, i) => expectClose(g, result.cpu[i]))
  })

  it('model.fit trains the seed CNN on wasm', async () => {
    await tf.setBackend('wasm')
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 10, kernelSize: 5 }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.reLU(),
        tf.layers.conv2d({ filters: 20, kernelSize: 5 }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.reLU(),
        tf.layers.flatten(),
        tf.layers.dense({ units: 50, activation: 'relu' }),
        tf.layers.dropout({ rate: 0.5 }),
        tf.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    })
    model.compile({ optimizer: tf.train.momentum(0.05, 0.5), loss: 'categoricalCrossentropy' })
    // A learnable toy task: the class is encoded as a bright row.
    const n = 64
    const xs = new Float32Array(n * 28 * 28)
    const ys: number[] = []
    for (let i = 0; i < n; i++) {
      const cls = i % 10
      ys.push(cls)
      for (let c = 0; c < 28; c++) xs[i * 784 + (2 + cls * 2) * 28 + c] = 1
    }
    const xt = tf.tensor4d(xs, [n, 28, 28, 1])
    const yt = tf.oneHot(tf.tensor1d(ys, 'int32'), 10).toFloat()
    const first = await model.fit(xt, yt, { batchSize: 16, epochs: 1, verbose: 0 })
    const before = tf.memory().numTensors // optimizer slots now exist
    const hist = await model.fit(xt, yt, { batchSize: 16, epochs: 8, verbose: 0 })
    const losses = [...(first.history.loss as number[]), ...(hist.history.loss as number[])]
    expect(losses.every(Number.isFinite)).toBe(true)
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.8)
    expect(tf.memory().numTensors).toBe(before)
    tf.dispose([xt, yt])
    model.dispose()
  })
})

describe('resources', () => {
  it('repeated gradient calls do not leak tensors or wasm memory', async () => {
    await tf.setBackend('wasm')
    const backend = tf.backend() as unknown as { numDataIds(): number }
    const x = tf.tensor4d(randomData(3 * 13 * 11 * 3), [3, 13, 11, 3])
    const w = tf.tensor4d(randomData(5 * 5 * 3 * 4), [5, 5, 3, 4])
    const dw = tf.tensor4d(randomData(3 * 3 * 3 * 2), [3, 3, 3, 2])
    const step = () =>
      tf.tidy(() => {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
          const h = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')
          const d = tf.depthwiseConv2d(a as tf.Tensor4D, c as tf.Tensor4D, 1, 'valid')
          return tf.maxPool(h, 2, 2, 'same').sum().add(d.square().sum())
        })([x, w, dw])
        return tf.matMul(tf.reshape(g[1], [-1, 4]), tf.ones([3, 4]), false, true).sum()
      })
    for (const algo of ['conv', 'gemm', 'shift', 'auto'] as const) {
      setWasmGradStrategy({ filter: algo, input: algo })
      step().dispose() // warm up (lazy allocations)
      const before = tf.memory()
      const ids = backend.numDataIds()
      for (let i = 0; i < 10; i++) step().dispose()
      const after = tf.memory()
      expect(after.numTensors).toBe(before.numTensors)
      expect(after.numBytes).toBe(before.numBytes)
      expect(backend.numDataIds()).toBe(ids)
    }
    tf.dispose([x, w, dw])
  })

  it('registration is idempotent', () => {
    const kernel = tf.getKernel('Conv2DBackpropFilter', 'wasm')
    const warn = console.warn
    const warnings: unknown[] = []
    console.warn = (...a: unknown[]) => void warnings.push(a)
    try {
      registerWasmGradKernels()
      registerWasmGradKernels()
    } finally {
      console.warn = warn
    }
    expect(warnings).toEqual([])
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBe(kernel)
    for (const name of [
      'Conv2DBackpropFilter',
      'Conv2DBackpropInput',
      'DepthwiseConv2dNativeBackpropFilter',
      'DepthwiseConv2dNativeBackpropInput',
      'MaxPoolGrad',
      'BatchMatMul',
      'Sum',
    ]) {
      expect(tf.getKernel(name, 'wasm')).toBeDefined()
    }
  })
})
