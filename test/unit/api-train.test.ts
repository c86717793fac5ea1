import fs from 'node:fs'
import path from 'node:path'
import sharp from 'sharp'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { SmallsetApp } from '../../src-main/api/app'
import type { EventName, EventPayload, Result } from '../../src-shared/api/contract'
import type { ClassifyConfig, RunDetail } from '../../src-shared/api/train'
import { idxBytes, makeTempDir, removeTempDir } from './helpers/fixtures'
import { quadrantSet } from './train-helpers'

let dir: string
let app: SmallsetApp
const events: { event: EventName; payload: unknown }[] = []

async function ok<T>(p: Promise<Result<unknown>>): Promise<T> {
  const r = await p
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`)
  return r.value as T
}

/** Waits for the run's train.finished event. */
function finished(runId: number): Promise<EventPayload<'train.finished'>> {
  return new Promise((resolve) => {
    const off = app.onEvent((event, payload) => {
      if (event === 'train.finished' && (payload as EventPayload<'train.finished'>).runId === runId) {
        off()
        resolve(payload as EventPayload<'train.finished'>)
      }
    })
  })
}

/** A project of 8×8 quadrant images in 3 classes: 150 train, 30 val, 30 test. */
async function quadrantProject(classes = 3): Promise<void> {
  const set = quadrantSet(210, classes, 7)
  const src = path.join(dir, 'src')
  fs.mkdirSync(src)
  fs.writeFileSync(path.join(src, 'q-images-idx3-ubyte'), idxBytes([210, 8, 8], Buffer.from(set.pixels)))
  fs.writeFileSync(
    path.join(src, 'q-labels-idx1-ubyte'),
    idxBytes([210], Buffer.from(Array.from(set.labels))),
  )
  await ok(app.dispatch('project.create', { dir: path.join(dir, 'p') }))
  await app.importNow({
    paths: [src],
    classNames: ['top-left', 'top-right', 'bottom-left'].slice(0, classes),
    splitRatios: { train: 150, val: 30, test: 30 },
  })
}

const config = (over: Partial<ClassifyConfig> = {}): ClassifyConfig => ({
  task: 'classify',
  model: 'custom',
  layers: [{ type: 'flatten' }, { type: 'dense', units: 16, activation: 'relu' }],
  optimizer: 'sgd',
  learningRate: 0.1,
  momentum: 0.5,
  batchSize: 16,
  epochs: 4,
  ...over,
})

beforeEach(() => {
  dir = makeTempDir('smallset-train-')
  app = new SmallsetApp()
  events.length = 0
  app.onEvent((event, payload) => void events.push({ event, payload }))
})

afterEach(() => {
  app.close()
  removeTempDir(dir)
})

describe('training API (trainer in-process, as from sources)', () => {
  it('trains, streams progress, stores history, evaluation, pinned predictions per epoch', async () => {
    await quadrantProject()
    const pin = (
      await ok<{ items: { id: number }[] }>(app.dispatch('images.list', { split: 'test', limit: 2 }))
    ).items.map((i) => i.id)
    const { runId } = await ok<{ runId: number }>(
      app.dispatch('train.start', { config: config({ pinnedImageIds: pin }) }),
    )
    const fin = await finished(runId)
    expect(fin.status).toBe('done')
    expect(events.find((e) => e.event === 'train.started')).toBeTruthy()
    expect(events.filter((e) => e.event === 'train.epoch')).toHaveLength(4)
    expect(events.some((e) => e.event === 'train.batch')).toBe(true)

    const d = await ok<RunDetail>(app.dispatch('runs.get', { runId }))
    expect(d.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4])
    expect(d.summary.backend).toBe('wasm')
    const ev = d.evaluation!
    expect(ev.samples).toBe(30)
    expect(ev.accuracy).toBeGreaterThan(0.8)
    expect(ev.confusion.flat().reduce((a, b) => a + b, 0)).toBe(30)
    expect(ev.perClass).toHaveLength(3)
    // Pinned images: epochs 0 (untrained) to 4, each with a top-3.
    expect(d.pinned).toHaveLength(2)
    for (const p of d.pinned) {
      expect(p.epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3, 4])
      for (const e of p.epochs) expect(e.top3).toHaveLength(3)
    }
    // The prediction grid and a confusion-matrix cell.
    const preds = await ok<{ imageId: number; trueClassId: number; top3: unknown[] }[]>(
      app.dispatch('runs.predictions', { runId, limit: 36 }),
    )
    expect(preds).toHaveLength(30)
    const [t, p] = [ev.classIds[0]!, ev.classIds[0]!]
    const cell = await ok<{ imageId: number }[]>(
      app.dispatch('runs.cell', { runId, trueClassId: t, predClassId: p }),
    )
    expect(cell.length).toBe(ev.confusion[0]![0])
  })

  it('defaults to the auto recipe, says why, and trains it as it comes', async () => {
    await quadrantProject()
    const d = await ok<ClassifyConfig & { notes?: string[] }>(
      app.dispatch('train.defaults', { task: 'classify' }),
    )
    expect(d.model).toBe('auto')
    expect(d.input).toEqual({ width: 8, height: 8, channels: 1 })
    expect(d.layers!.some((l) => l.type === 'batchnorm')).toBe(true)
    expect(d.notes!.join('\n')).toMatch(/150 training images, 50 per class/)
    expect(d.notes!.join('\n')).toMatch(/val split \(30 images\)/)
    // The seed presets are still there, without notes.
    const cnn = await ok<ClassifyConfig & { notes?: string[] }>(
      app.dispatch('train.defaults', { task: 'classify', model: 'seed-cnn' }),
    )
    expect(cnn.schedule ?? null).toBeNull()
    expect(cnn.notes).toBeUndefined()
    // The notes are not part of the config; the config, shortened, trains as is.
    const { notes: _n, ...c } = d
    const { runId } = await ok<{ runId: number }>(
      app.dispatch('train.start', { config: { ...c, epochs: 3 } }),
    )
    const fin = await finished(runId)
    expect(fin.status).toBe('done')
    const run = await ok<RunDetail>(app.dispatch('runs.get', { runId }))
    expect(run.config).toMatchObject({ model: 'auto', labelSmoothing: 0.1, weightDecay: 0.05 })
    expect(run.history).toHaveLength(3)
    // Without its layers, an auto config is refused (they are what train.defaults chose).
    const bare = await app.dispatch('train.validate', { config: { ...c, layers: undefined } })
    expect(!bare.ok && bare.error.message).toMatch(/auto recipe carries its chosen layers/)
  })

  it('cancels a run within a batch and resumes it from its checkpoint to the end', async () => {
    await quadrantProject()
    const { runId } = await ok<{ runId: number }>(
      app.dispatch('train.start', { config: config({ epochs: 6 }) }),
    )
    const first = finished(runId)
    await new Promise<void>((resolve) => {
      const off = app.onEvent((event) => {
        if (event === 'train.epoch') {
          off()
          void app.dispatch('train.cancel', { runId }).then(() => resolve())
        }
      })
    })
    expect((await first).status).toBe('cancelled')
    const cut = await ok<RunDetail>(app.dispatch('runs.get', { runId }))
    expect(cut.history.length).toBeGreaterThanOrEqual(1)
    expect(cut.history.length).toBeLessThan(6)

    const again = finished(runId)
    await ok(app.dispatch('train.resume', { runId }))
    expect((await again).status).toBe('done')
    const d = await ok<RunDetail>(app.dispatch('runs.get', { runId }))
    expect(d.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5, 6])
    expect(d.history.slice(0, cut.history.length)).toEqual(cut.history)
    expect(d.evaluation).not.toBeNull()
  })

  // The Train tab offers Resume as soon as it hears that the run ended, which can be before the
  // trainer's process has closed: the resume waits for it instead of being refused.
  it('resumes a run asked for the moment it is cancelled, while its trainer is still closing', async () => {
    await quadrantProject()
    const { runId } = await ok<{ runId: number }>(
      app.dispatch('train.start', { config: config({ epochs: 5 }) }),
    )
    const resumed = new Promise<Result<unknown>>((resolve) => {
      const off = app.onEvent((event) => {
        if (event === 'train.epoch') void app.dispatch('train.cancel', { runId })
        if (event === 'train.finished') {
          off()
          // Synchronously, inside the event: the runner has not let go of the run yet.
          resolve(app.dispatch('train.resume', { runId }))
        }
      })
    })
    await ok(resumed)
    const fin = await finished(runId)
    expect(fin.status).toBe('done')
    const d = await ok<RunDetail>(app.dispatch('runs.get', { runId }))
    expect(d.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5])
  })

  it('refuses bad settings and unfit projects before anything starts, with clear messages', async () => {
    await quadrantProject()
    const bad = await app.dispatch('train.start', { config: config({ learningRate: -1 }) })
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid_request' } })
    expect(!bad.ok && bad.error.message).toMatch(/learningRate/)
    const tooSmall = await app.dispatch('train.validate', {
      config: config({ model: 'seed-cnn', layers: undefined }),
    })
    expect(tooSmall).toMatchObject({ ok: false, error: { code: 'bad_input' } })
    expect(!tooSmall.ok && tooSmall.error.message).toMatch(/does not fit 8×8×1/)

    // An empty val split.
    const ids = (
      await ok<{ items: { id: number }[] }>(app.dispatch('images.list', { split: 'val', limit: 100 }))
    ).items.map((i) => i.id)
    await ok(app.dispatch('images.setSplit', { ids, split: 'train' }))
    const noVal = await app.dispatch('train.start', { config: config() })
    expect(!noVal.ok && noVal.error.message).toMatch(/val split is empty/)
    expect(await ok<unknown[]>(app.dispatch('runs.list', {}))).toEqual([])
  })

  it('refuses a project with fewer than 2 classes', async () => {
    await quadrantProject(1)
    const r = await app.dispatch('train.start', { config: config() })
    expect(r).toMatchObject({ ok: false, error: { code: 'bad_input' } })
    expect(!r.ok && r.error.message).toMatch(/at least 2 classes/)
  })

  it('exports a model as tfjs files, imports it back, and predicts new image files', async () => {
    await quadrantProject()
    const { runId } = await ok<{ runId: number }>(app.dispatch('train.start', { config: config() }))
    await finished(runId)
    const out = path.join(dir, 'export')
    const { files } = await ok<{ files: string[] }>(app.dispatch('runs.export', { runId, dir: out }))
    expect(files.map((f) => path.basename(f)).sort()).toEqual(['model.json', 'smallset.json', 'weights.bin'])
    expect(JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8')).format).toBe('layers-model')

    const { runId: imported } = await ok<{ runId: number }>(app.dispatch('models.import', { dir: out }))
    // A bright top-left square, and a file that is not an image.
    const px = Buffer.alloc(64, 10)
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) px[y * 8 + x] = 230
    const png = path.join(dir, 'tl.png')
    await sharp(px, { raw: { width: 8, height: 8, channels: 1 } })
      .png()
      .toFile(png)
    fs.writeFileSync(path.join(dir, 'notes.png'), 'not an image')
    const classes = await ok<{ id: number; name: string }[]>(app.dispatch('classes.list', {}))
    for (const id of [runId, imported]) {
      const [good, badFile] = await ok<{ path: string; top3?: { classId: number }[]; error?: string }[]>(
        app.dispatch('models.predict', { runId: id, paths: [png, path.join(dir, 'notes.png')] }),
      )
      expect(classes.find((c) => c.id === good!.top3![0]!.classId)!.name).toBe('top-left')
      expect(badFile!.error).toBeTruthy()
    }
    const broken = await app.dispatch('models.import', { dir: path.join(dir, 'nowhere') })
    expect(broken).toMatchObject({ ok: false, error: { code: 'bad_input' } })
  })

  it('previews nine augmented versions of an image', async () => {
    await quadrantProject()
    const id = (await ok<{ items: { id: number }[] }>(app.dispatch('images.list', { limit: 1 }))).items[0]!.id
    const r = await ok<{ images: string[] }>(
      app.dispatch('augment.preview', { imageId: id, augment: { hflip: true, rotationDeg: 36, zoom: 0.2 } }),
    )
    expect(r.images).toHaveLength(9)
    expect(new Set(r.images).size).toBeGreaterThan(1)
    for (const u of r.images) expect(u).toMatch(/^data:image\/png;base64,/)
  })

  it('queues a sweep and runs its grid one after another', async () => {
    await quadrantProject()
    const { runIds } = await ok<{ runIds: number[] }>(
      app.dispatch('train.sweep', {
        base: config({ epochs: 1 }),
        grid: { learningRate: [0.05, 0.1], batchSize: [16, 32] },
      }),
    )
    expect(runIds).toHaveLength(4)
    await finished(runIds[3]!)
    const list = await ok<{ id: number; status: string }[]>(app.dispatch('runs.list', {}))
    expect(list.filter((r) => runIds.includes(r.id)).map((r) => r.status)).toEqual([
      'done',
      'done',
      'done',
      'done',
    ])
  })

  it('resumes a run that was cancelled while still queued, and refuses to queue a run twice', async () => {
    await quadrantProject()
    const { runIds } = await ok<{ runIds: number[] }>(
      app.dispatch('train.sweep', { base: config({ epochs: 1 }), grid: { learningRate: [0.05, 0.1] } }),
    )
    const [first, second] = runIds as [number, number]
    // The second waits behind the first: cancel it before it starts.
    await ok(app.dispatch('train.cancel', { runId: second }))
    const again = await app.dispatch('train.resume', { runId: first })
    expect(again).toMatchObject({ ok: false, error: { code: 'bad_input' } })
    await finished(first)
    const resumed = finished(second)
    await ok(app.dispatch('train.resume', { runId: second }))
    expect(await app.dispatch('train.resume', { runId: second })).toMatchObject({ ok: false })
    expect((await resumed).status).toBe('done')
    const d = await ok<RunDetail>(app.dispatch('runs.get', { runId: second }))
    expect(d.history.map((h) => h.epoch)).toEqual([1])
  })
})
