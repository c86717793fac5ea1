/**
 * The WebGPU backend (tfjs-backend-webgpu through Dawn for Node) trains like the `cpu` backend:
 * the seed CNN and the detector, from the same weights on the same batches, reach the same losses
 * within 1e-3 over a few SGD steps (step 0 does not depend on gradients, so steps 1 and 2 are the
 * ones that count). A gradient kernel scaled by 1.5 must break the match, so the test can fail. The automatic
 * backend choice passes over such a software adapter (slower than wasm) unless webgpu is asked for.
 *
 * No GPU here: Chromium's SwiftShader Vulkan driver gives Dawn an adapter (scripts/test-all.sh
 * installs chromium and the Vulkan loader). Where neither is installed the test is skipped and
 * says so; under CI (where they are installed) a missing adapter is a failure.
 */
import fs from 'node:fs'
import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { registerCpuGradFixes } from '../../src-main/train/backends/cpu-grad-fixes'
import { selectBackend } from '../../src-main/train/backends/select'
import { probeWebGpu } from '../../src-main/train/backends/webgpu.node'
import { buildModel } from '../../src-main/train/tasks/classify/models/builder'
import { PRESETS } from '../../src-main/train/tasks/classify/models/presets'
import { cellCentres, detectionLoss } from '../../src-main/train/tasks/detect/loss'
import { buildDetector, runDetector } from '../../src-main/train/tasks/detect/model'
import { buildTargets, STRIDE } from '../../src-main/train/tasks/detect/targets'
import { seededRandom } from '../../src-shared/domain/random'
import { noiseScene, SCENE_SIZE } from './helpers/detection-scenes'

const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json'
if (!process.env.VK_ICD_FILENAMES && fs.existsSync(ICD)) process.env.VK_ICD_FILENAMES = ICD
const gpu = await probeWebGpu()
// The reference: tfjs's own cpu ResizeNearestNeighborGrad is wrong for batches (see that file).
registerCpuGradFixes()
const WHY = gpu.ok ? '' : ` (skipped: ${gpu.detail})`

/** Losses of `steps` SGD steps on one backend, from the given starting weights. */
async function trainLosses(
  backend: 'cpu' | 'webgpu',
  build: () => tf.LayersModel,
  weights: { shape: number[]; values: Float32Array }[],
  loss: (model: tf.LayersModel) => tf.Scalar,
  steps: number,
): Promise<number[]> {
  await tf.setBackend(backend)
  await tf.ready()
  const model = build()
  model.setWeights(weights.map((w) => tf.tensor(w.values, w.shape)))
  const opt = tf.train.sgd(0.05)
  const out: number[] = []
  for (let s = 0; s < steps; s++) {
    const l = opt.minimize(() => loss(model), true)!
    out.push((await l.data())[0]!)
    l.dispose()
  }
  opt.dispose()
  model.dispose()
  return out
}

async function startingWeights(build: () => tf.LayersModel) {
  await tf.setBackend('cpu')
  const m = build()
  const w = await Promise.all(
    m.getWeights().map(async (t) => ({ shape: t.shape, values: (await t.data()) as Float32Array })),
  )
  m.dispose()
  return w
}

/** Scales one WebGPU kernel's output by `factor` until the returned function puts it back. */
function perturbKernel(name: string, factor: number): () => void {
  const orig = tf.getKernel(name, 'webgpu')!
  const mul = tf.getKernel('Multiply', 'webgpu')!
  tf.unregisterKernel(name, 'webgpu')
  tf.registerKernel({
    ...orig,
    kernelFunc: (args) => {
      const out = orig.kernelFunc(args) as tf.TensorInfo
      const backend = args.backend as unknown as {
        makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo
        disposeData(id: object): void
      }
      const k = backend.makeTensorInfo([], 'float32', new Float32Array([factor]))
      const scaled = mul.kernelFunc({
        inputs: { a: out, b: k },
        backend: args.backend,
        attrs: {},
      }) as tf.TensorInfo
      backend.disposeData(out.dataId)
      backend.disposeData(k.dataId)
      return scaled
    },
  })
  return () => {
    tf.unregisterKernel(name, 'webgpu')
    tf.registerKernel(orig)
  }
}

// ---------------------------------------------------------------- the seed CNN

const CNN_INPUT = { width: 28, height: 28, channels: 1 as const }
const buildCnn = () =>
  buildModel(PRESETS['seed-cnn'].layers, { input: CNN_INPUT, numClasses: 10, init: 'torch', seed: 3 })
const rand = seededRandom(5)
const cnnX = Float32Array.from({ length: 8 * 28 * 28 }, () => rand())
const cnnY = Int32Array.from({ length: 8 }, (_, i) => i % 10)
const cnnLoss = (m: tf.LayersModel) =>
  tf.losses.softmaxCrossEntropy(
    tf.oneHot(tf.tensor1d(cnnY, 'int32'), 10),
    m.predict(tf.tensor4d(cnnX, [8, 28, 28, 1])) as tf.Tensor2D,
  ) as tf.Scalar

// ---------------------------------------------------------------- the detector (from scratch, 64×64)

const W = SCENE_SIZE
const samples = [noiseScene(1), noiseScene(2)]
const targets = buildTargets(samples, { batch: 2, gridW: W / STRIDE, gridH: W / STRIDE, classes: 2 }, true)
const detX = Float32Array.from(samples.flatMap((s) => Array.from(s.pixels, (p) => p / 255)))
const buildDet = () =>
  buildDetector({ model: 'centernet-s', width: W, height: W, classes: 2, prototypes: 4, seed: 2 }).head
const detLoss = (m: tf.LayersModel) =>
  detectionLoss(
    runDetector({ backbone: null, head: m }, tf.tensor4d(detX, [2, W, W, 3]), true),
    targets,
    tf.tensor4d(cellCentres(W / STRIDE, W / STRIDE), [1, W / STRIDE, W / STRIDE, 2]),
  ).total

describe(`WebGPU trains like cpu${WHY}`, () => {
  it('finds an adapter where the CI machine has SwiftShader', () => {
    if (process.env.CI && fs.existsSync(ICD)) expect(gpu).toMatchObject({ ok: true })
  })

  it.skipIf(!gpu.ok)(
    'the seed CNN: the same losses over 3 steps, and a perturbed gradient kernel breaks the match',
    async () => {
      const w = await startingWeights(buildCnn)
      const cpu = await trainLosses('cpu', buildCnn, w, cnnLoss, 3)
      const gpuLosses = await trainLosses('webgpu', buildCnn, w, cnnLoss, 3)
      for (let s = 0; s < 3; s++) expect(Math.abs(gpuLosses[s]! - cpu[s]!)).toBeLessThan(1e-3)
      const restore = perturbKernel('Conv2DBackpropFilter', 1.5)
      try {
        const bad = await trainLosses('webgpu', buildCnn, w, cnnLoss, 3)
        expect(Math.max(Math.abs(bad[1]! - cpu[1]!), Math.abs(bad[2]! - cpu[2]!))).toBeGreaterThan(1e-3)
      } finally {
        restore()
      }
    },
    180_000,
  )

  it.skipIf(!gpu.ok)(
    'the detector (heatmap, box and mask losses): the same losses over 3 steps',
    async () => {
      const w = await startingWeights(buildDet)
      const cpu = await trainLosses('cpu', buildDet, w, detLoss, 3)
      const gpuLosses = await trainLosses('webgpu', buildDet, w, detLoss, 3)
      for (let s = 0; s < 3; s++) expect(Math.abs(gpuLosses[s]! - cpu[s]!)).toBeLessThan(1e-3)
      // It learns at all: the loss moves.
      expect(Math.abs(cpu[2]! - cpu[0]!)).toBeGreaterThan(1e-3)
    },
    240_000,
  )

  it.skipIf(!gpu.ok)(
    'the automatic choice passes over a software adapter and says why; asking for webgpu uses it',
    async () => {
      const none = { packageName: null, detail: 'no native TensorFlow here' }
      const auto = await selectBackend(none)
      expect(auto.name).toBe('wasm')
      expect(auto.tried[0]).toMatchObject({ name: 'webgpu', ok: false })
      expect(auto.tried[0]!.detail).toMatch(/software adapter/)
      const asked = await selectBackend(none, 'webgpu')
      expect(asked.name).toBe('webgpu')
      expect(asked.tried[0]!.detail).toMatch(/WebGPU on .*Dawn for Node/)
    },
    60_000,
  )
})
