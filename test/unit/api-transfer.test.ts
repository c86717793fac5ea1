import fs from 'node:fs'
import path from 'node:path'
import sharp from 'sharp'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { SmallsetApp } from '../../src-main/api/app'
import type { EventPayload, Result } from '../../src-shared/api/contract'
import type { ClassifyConfig, RunDetail } from '../../src-shared/api/train'
import { seededRandom } from '../../src-shared/domain/random'
import { makeTempDir, removeTempDir } from './helpers/fixtures'

/**
 * Transfer learning through the API, as the Train tab and `smallset train --model
 * transfer-mobilenet-v2` use it: defaults for the project, a run with pinned images, its evaluation,
 * and predictions for a new file by the saved whole model (backbone and head together).
 */

let dir: string
let app: SmallsetApp

async function ok<T>(p: Promise<Result<unknown>>): Promise<T> {
  const r = await p
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`)
  return r.value as T
}

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

/** Horizontal or vertical stripes, tinted, at a random period and phase, as a 100×100 PNG. */
async function stripesPng(file: string, vertical: boolean, rand: () => number): Promise<string> {
  const S = 100
  const px = Buffer.alloc(S * S * 3)
  const period = 8 + Math.floor(rand() * 10)
  const phase = Math.floor(rand() * period)
  const tint = [rand(), rand(), rand()]
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const on = ((vertical ? x : y) + phase) % period < period / 2
      for (let c = 0; c < 3; c++)
        px[(y * S + x) * 3 + c] = Math.min(255, Math.floor((on ? 150 + 100 * tint[c]! : 30) + rand() * 40))
    }
  fs.mkdirSync(path.dirname(file), { recursive: true })
  await sharp(px, { raw: { width: S, height: S, channels: 3 } })
    .png()
    .toFile(file)
  return file
}

beforeEach(() => {
  dir = makeTempDir('smallset-transfer-')
  app = new SmallsetApp()
})
afterEach(() => {
  app.close()
  removeTempDir(dir)
})

describe('transfer learning (transfer-mobilenet-v2) through the API', () => {
  it('fills in its input, trains its head on cached features, and the saved model predicts new files', async () => {
    const rand = seededRandom(3)
    const tree = path.join(dir, 'tree')
    const counts = { train: 24, valid: 8, test: 8 }
    for (const [split, n] of Object.entries(counts))
      for (let i = 0; i < n; i++)
        for (const cls of ['horizontal', 'vertical'])
          await stripesPng(path.join(tree, split, cls, `${i}.png`), cls === 'vertical', rand)
    await ok(app.dispatch('project.create', { dir: path.join(dir, 'p') }))
    const report = await app.importNow({ paths: [tree] })
    expect(report.added).toBe(80)

    const d = await ok<ClassifyConfig & { notes?: string[] }>(
      app.dispatch('train.defaults', { task: 'classify', model: 'transfer-mobilenet-v2' }),
    )
    // 100 px RGB images: a 96×96 RGB input (32s, at least 96), MobileNetV2's [-1, 1] scaling.
    expect(d.input).toEqual({ width: 96, height: 96, channels: 3 })
    expect(d.normalize).toEqual({ mean: 0.5, std: 0.5 })
    const auto = await ok<{ notes?: string[] }>(app.dispatch('train.defaults', { task: 'classify' }))
    expect(auto.notes?.join(' ')).toMatch(/transfer-mobilenet-v2/)

    const pin = (
      await ok<{ items: { id: number }[] }>(app.dispatch('images.list', { split: 'test', limit: 2 }))
    ).items.map((i) => i.id)
    const { runId } = await ok<{ runId: number }>(
      app.dispatch('train.start', {
        config: { ...d, epochs: 8, learningRate: 0.01, earlyStopping: null, pinnedImageIds: pin },
      }),
    )
    const fin = await finished(runId)
    expect(fin.status).toBe('done')
    const run = await ok<RunDetail>(app.dispatch('runs.get', { runId }))
    expect(run.history).toHaveLength(8)
    expect(run.evaluation!.samples).toBe(16)
    expect(run.evaluation!.accuracy).toBeGreaterThanOrEqual(0.85)
    expect(run.pinned.map((p) => p.epochs.map((e) => e.epoch))).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7, 8],
      [0, 1, 2, 3, 4, 5, 6, 7, 8],
    ])

    // New files, through the whole saved model (pixels in, not cached features).
    const files = [
      await stripesPng(path.join(dir, 'new', 'v.png'), true, rand),
      await stripesPng(path.join(dir, 'new', 'h.png'), false, rand),
    ]
    const classes = await ok<{ id: number; name: string }[]>(app.dispatch('classes.list', {}))
    const preds = await ok<{ top3?: { classId: number }[] }[]>(
      app.dispatch('models.predict', { runId, paths: files }),
    )
    expect(preds.map((p) => classes.find((c) => c.id === p.top3![0]!.classId)!.name)).toEqual([
      'vertical',
      'horizontal',
    ])
  }, 180_000)
})
