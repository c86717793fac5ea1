import fs from 'node:fs'
import path from 'node:path'
import { Worker } from 'node:worker_threads'
import { build } from 'rolldown'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { SmallsetApp } from '../../src-main/api/app'
import type { GpuHost } from '../../src-main/train/host/runner'
import type { PortLike } from '../../src-main/train/remote/protocol'
import type { EventPayload, Result } from '../../src-shared/api/contract'
import type { ClassifyConfig, DetectConfig, RunDetail } from '../../src-shared/api/train'
import { fashionMnistAvailable, writeCocoSceneSet } from '../../src-main/project/scenes'
import { idxBytes, makeTempDir, removeTempDir } from './helpers/fixtures'
import { quadrantSet } from './train-helpers'

/**
 * Training through a remote trainer (train/remote/): the app's runner and the trainer host hand the
 * run to a trainer in another JavaScript context, as Electron hands it to the GPU worker of its
 * hidden window; here that context is a worker thread on tfjs `cpu` (helpers/remote-trainer-thread.ts).
 * The store must end up as after a run trained in place: every epoch, checkpoint, pinned
 * prediction and the test evaluation. A trainer that fails mid-run (a lost GPU device) fails the run
 * with its message, and the run resumes from its last stored epoch.
 */

const ROOT = path.resolve(__dirname, '..', '..')
let bundle: string
let dir: string
let threads: Worker[] = []

beforeAll(async () => {
  const cache = path.join(ROOT, 'node_modules', '.cache')
  fs.mkdirSync(cache, { recursive: true })
  bundle = path.join(fs.mkdtempSync(path.join(cache, 'smallset-remote-test-')), 'thread.cjs')
  await build({
    input: path.join(__dirname, 'helpers', 'remote-trainer-thread.ts'),
    platform: 'node',
    external: [/^@tensorflow\//, /^node:/, /^webgpu$/],
    output: { file: bundle, format: 'cjs', codeSplitting: false },
    logLevel: 'silent',
  })
}, 60_000)
afterAll(() => fs.rmSync(path.dirname(bundle), { recursive: true, force: true }))

/** Each connect() starts a fresh trainer thread; `failAfterEpochs` applies to the first one only. */
function threadHost(failAfterEpochs = 0, backend: 'cpu' | 'wasm' = 'cpu'): GpuHost & { connects: number } {
  const host = {
    connects: 0,
    async connect(): Promise<PortLike> {
      const w = new Worker(bundle, {
        workerData: { backend, failAfterEpochs: host.connects++ ? 0 : failAfterEpochs },
      })
      threads.push(w)
      return {
        postMessage: (m) => w.postMessage(m),
        listen: (fn) => {
          w.on('message', fn)
          return () => w.off('message', fn)
        },
      }
    },
  }
  return host
}

async function ok<T>(p: Promise<Result<unknown>>): Promise<T> {
  const r = await p
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`)
  return r.value as T
}

function finished(app: SmallsetApp, runId: number): Promise<EventPayload<'train.finished'>> {
  return new Promise((resolve) => {
    const off = app.onEvent((event, payload) => {
      if (event === 'train.finished' && (payload as EventPayload<'train.finished'>).runId === runId) {
        off()
        resolve(payload as EventPayload<'train.finished'>)
      }
    })
  })
}

async function quadrantProject(app: SmallsetApp, name: string): Promise<void> {
  const set = quadrantSet(120, 3, 7)
  const src = path.join(dir, `${name}-src`)
  fs.mkdirSync(src)
  fs.writeFileSync(path.join(src, 'q-images-idx3-ubyte'), idxBytes([120, 8, 8], Buffer.from(set.pixels)))
  fs.writeFileSync(
    path.join(src, 'q-labels-idx1-ubyte'),
    idxBytes([120], Buffer.from(Array.from(set.labels))),
  )
  await ok(app.dispatch('project.create', { dir: path.join(dir, name) }))
  await app.importNow({
    paths: [src],
    classNames: ['top-left', 'top-right', 'bottom-left'],
    splitRatios: { train: 80, val: 20, test: 20 },
  })
}

const config: ClassifyConfig = {
  task: 'classify',
  model: 'custom',
  layers: [
    { type: 'conv', filters: 4, kernel: 3, activation: 'relu' },
    { type: 'pool', kind: 'max', size: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 16, activation: 'relu' },
  ],
  optimizer: 'sgd',
  learningRate: 0.1,
  momentum: 0.5,
  batchSize: 16,
  epochs: 4,
  seed: 5,
}

beforeEach(() => {
  dir = makeTempDir('smallset-remote-')
  threads = []
})
afterEach(async () => {
  await Promise.all(threads.map((t) => t.terminate()))
  removeTempDir(dir)
})

/** Two test images to pin: their predictions are stored at every epoch. */
async function pins(app: SmallsetApp): Promise<number[]> {
  const r = await ok<{ items: { id: number }[] }>(app.dispatch('images.list', { split: 'test', limit: 2 }))
  return r.items.map((i) => i.id)
}

async function trainedHere(): Promise<RunDetail> {
  const app = new SmallsetApp()
  try {
    await quadrantProject(app, 'here')
    const { runId } = await ok<{ runId: number }>(
      app.dispatch('train.start', { config: { ...config, pinnedImageIds: await pins(app) } }),
    )
    await finished(app, runId)
    return await ok<RunDetail>(app.dispatch('runs.get', { runId }))
  } finally {
    app.close()
  }
}

describe('remote training (the GPU worker route)', () => {
  it('stores what a run trained in place stores, with the same figures', async () => {
    const host = threadHost()
    const app = new SmallsetApp({ gpuHost: host })
    let remote: RunDetail
    try {
      await quadrantProject(app, 'remote')
      // Before a run, the Train tab says the GPU worker is tried first.
      const expected = await ok<{ reason: string }>(app.dispatch('train.backend', {}))
      expect(expected.reason).toMatch(/GPU worker are tried first/)
      const { runId } = await ok<{ runId: number }>(
        app.dispatch('train.start', { config: { ...config, pinnedImageIds: await pins(app) } }),
      )
      const end = await finished(app, runId)
      expect(end.status, end.summary.error ?? '').toBe('done')
      remote = await ok<RunDetail>(app.dispatch('runs.get', { runId }))
    } finally {
      app.close()
    }
    expect(host.connects).toBe(1)
    expect(remote.summary.backend).toBe('cpu')
    expect(remote.summary.backendReason).toMatch(/test thread/)
    expect(remote.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4])
    expect(remote.evaluation?.samples).toBe(20)
    expect(remote.pinned).toHaveLength(2)
    for (const p of remote.pinned) expect(p.epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3, 4])

    // The same run in place, on the trainer's own backend: the same losses and accuracies.
    const here = await trainedHere()
    expect(here.summary.backend).not.toBe(remote.summary.backend)
    for (const [a, b] of here.history.map((h, i) => [h, remote.history[i]!] as const)) {
      expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-3)
      expect(Math.abs(a.valLoss! - b.valLoss!)).toBeLessThan(1e-3)
    }
    expect(Math.abs(here.evaluation!.accuracy - remote.evaluation!.accuracy)).toBeLessThan(0.051)
    // What the mirror predicted of the pinned images at the end: what the run trained in place did.
    const top = (d: RunDetail) => d.pinned.map((p) => p.epochs.at(-1)!.top3[0]!.score)
    top(here).forEach((s, i) => expect(Math.abs(s - top(remote)[i]!)).toBeLessThan(1e-3))
    expect(remote.evaluation!.accuracy).toBeGreaterThan(0.8)
  }, 120_000)

  it('fails a run whose trainer fails mid-run, with its message, and resumes it from the last epoch', async () => {
    const host = threadHost(2)
    const app = new SmallsetApp({ gpuHost: host })
    try {
      await quadrantProject(app, 'lost')
      const { runId } = await ok<{ runId: number }>(app.dispatch('train.start', { config }))
      const end = await finished(app, runId)
      expect(end.status).toBe('failed')
      expect(end.summary.error).toMatch(/GPU device was lost \(simulated\)/)
      const failed = await ok<RunDetail>(app.dispatch('runs.get', { runId }))
      expect(failed.history.map((h) => h.epoch)).toEqual([1, 2])

      const resumed = finished(app, runId)
      await ok(app.dispatch('train.resume', { runId }))
      const again = await resumed
      expect(again.status, again.summary.error ?? '').toBe('done')
      const done = await ok<RunDetail>(app.dispatch('runs.get', { runId }))
      expect(done.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4])
      expect(host.connects).toBe(2)
      // Resumed, not restarted: epochs 1 and 2 are the ones stored before the failure.
      expect(done.history.slice(0, 2).map((h) => h.loss)).toEqual(failed.history.map((h) => h.loss))
      expect(done.evaluation!.accuracy).toBeGreaterThan(0.8)
    } finally {
      app.close()
    }
  }, 120_000)

  it('cancels a remote run mid-way, keeps the epochs it stored, and resumes it from them', async () => {
    const host = threadHost()
    const app = new SmallsetApp({ gpuHost: host })
    try {
      await quadrantProject(app, 'cancel')
      const { runId } = await ok<{ runId: number }>(
        app.dispatch('train.start', { config: { ...config, epochs: 30 } }),
      )
      const firstEpoch = new Promise<void>((resolve) => {
        const off = app.onEvent((event) => {
          if (event !== 'train.epoch') return
          off()
          resolve()
        })
      })
      const end = finished(app, runId)
      await firstEpoch
      await ok(app.dispatch('train.cancel', { runId }))
      const cancelled = await end
      expect(cancelled.status).toBe('cancelled')
      const kept = await ok<RunDetail>(app.dispatch('runs.get', { runId }))
      expect(kept.history.length).toBeGreaterThanOrEqual(1)
      expect(kept.history.length).toBeLessThan(30)

      const resumed = finished(app, runId)
      await ok(app.dispatch('train.resume', { runId }))
      const again = await resumed
      expect(again.status, again.summary.error ?? '').toBe('done')
      const done = await ok<RunDetail>(app.dispatch('runs.get', { runId }))
      expect(done.history.map((h) => h.epoch)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
      expect(host.connects).toBe(2)
      expect(done.history.slice(0, kept.history.length).map((h) => h.loss)).toEqual(
        kept.history.map((h) => h.loss),
      )
    } finally {
      app.close()
    }
  }, 120_000)

  it.skipIf(!fashionMnistAvailable())(
    `trains a detector remotely, its backbone sent along, with the figures of the run in place${
      fashionMnistAvailable() ? '' : ' (skipped: no Fashion-MNIST at /usr/share/datasets/fashion-mnist)'
    }`,
    async () => {
      const tiny = path.join(dir, 'tiny')
      await writeCocoSceneSet(tiny, { preset: 'tiny' })
      const run = async (gpuHost?: GpuHost): Promise<RunDetail> => {
        const app = new SmallsetApp(gpuHost ? { gpuHost } : {})
        try {
          await ok(app.dispatch('project.create', { dir: path.join(dir, gpuHost ? 'remote' : 'here') }))
          await app.importNow({ paths: [tiny], format: 'coco' })
          const base = await ok<DetectConfig>(app.dispatch('train.defaults', { task: 'detect' }))
          const { runId } = await ok<{ runId: number }>(
            app.dispatch('train.start', { config: { ...base, epochs: 2, batchSize: 4 } }),
          )
          const end = await finished(app, runId)
          expect(end.status, end.summary.error ?? '').toBe('done')
          return await ok<RunDetail>(app.dispatch('runs.get', { runId }))
        } finally {
          app.close()
        }
      }
      const host = threadHost(0, 'wasm')
      const remote = await run(host)
      expect(host.connects).toBe(1)
      expect(remote.summary.backendReason).toMatch(/test thread/)
      const here = await run()
      expect(remote.history.map((h) => h.epoch)).toEqual([1, 2])
      for (const [a, b] of here.history.map((h, i) => [h, remote.history[i]!] as const))
        expect(Math.abs(a.loss - b.loss), `${a.loss} ${b.loss}`).toBeLessThan(1e-3)
      expect(remote.detection!.images).toBe(here.detection!.images)
      expect(
        Math.abs(remote.summary.testMetrics!.box_map50! - here.summary.testMetrics!.box_map50!),
      ).toBeLessThan(0.02)
    },
    300_000,
  )
})
