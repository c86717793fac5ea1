/**
 * Detection through the API, with the trainer in this process (as from sources): which tasks a
 * project's labels allow and why not, the default recipe filled in for the project, the detection
 * demo, and a short segmentation run whose pinned detections (epoch 0 on) and COCO evaluation come
 * back through runs.get.
 */
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { EventPayload, Result } from '../../src-shared/api/contract'
import type { RunDetail, SegmentConfig, TrainConfig } from '../../src-shared/api/train'
import { SmallsetApp } from '../../src-main/api/app'
import { fashionMnistAvailable, writeCocoSceneSet } from '../../src-main/project/scenes'
import { makeTempDir, removeTempDir } from './helpers/fixtures'

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

beforeEach(() => {
  dir = makeTempDir('smallset-detect-')
  app = new SmallsetApp({ demoDir: (kind) => path.join(dir, `demo-${kind}`) })
})

afterEach(() => {
  app.close()
  removeTempDir(dir)
})

const NEEDS = fashionMnistAvailable()
  ? ''
  : ' (skipped: no Fashion-MNIST at /usr/share/datasets/fashion-mnist)'

describe('detection through the API', () => {
  it('says which tasks a project can train, and why not', async () => {
    await ok(app.dispatch('project.create', { dir: path.join(dir, 'empty') }))
    const tasks = await ok<{ task: string; available: boolean; reason: string }[]>(
      app.dispatch('train.tasks', {}),
    )
    expect(tasks.map((t) => t.task)).toEqual(['classify', 'detect', 'segment'])
    expect(tasks.every((t) => !t.available)).toBe(true)
    expect(tasks.find((t) => t.task === 'detect')!.reason).toMatch(/no boxes, polygons or masks/)
    const r = await app.dispatch('train.defaults', { task: 'segment' })
    expect(r.ok).toBe(false)
    expect(!r.ok && r.error.message).toMatch(/cannot train an instance segmentation model/)
  })

  it.skipIf(!fashionMnistAvailable())(
    `opens the detection demo, fills in the recipe for it, and trains a short run${NEEDS}`,
    async () => {
      const demo = await ok<{ counts: { images: number; bySplit: Record<string, number> } }>(
        app.dispatch('project.openDemo', { kind: 'detection' }),
      )
      expect(demo.counts.images).toBe(110)
      expect(demo.counts.bySplit).toEqual({ train: 50, val: 10, test: 50 })
      const tasks = await ok<{ task: string; available: boolean }[]>(app.dispatch('train.tasks', {}))
      expect(tasks.filter((t) => t.available).map((t) => t.task)).toEqual(['detect', 'segment'])
      const d = await ok<TrainConfig>(app.dispatch('train.defaults', { task: 'segment' }))
      expect(d).toMatchObject({ task: 'segment', model: 'mobilenet-v2', input: { width: 160, height: 128 } })

      // A short run on a tiny scene set (the demo would take minutes), from the same recipe.
      const tiny = path.join(dir, 'tiny')
      await writeCocoSceneSet(tiny, { preset: 'tiny' })
      await ok(app.dispatch('project.create', { dir: path.join(dir, 'p') }))
      await app.importNow({ paths: [tiny], format: 'coco' })
      const base = await ok<SegmentConfig>(app.dispatch('train.defaults', { task: 'segment' }))
      const images = await ok<{ items: { id: number }[] }>(
        app.dispatch('images.list', { split: 'train', limit: 1 }),
      )
      const pin = images.items[0]!.id
      const { runId } = await ok<{ runId: number }>(
        app.dispatch('train.start', { config: { ...base, epochs: 3, batchSize: 4, pinnedImageIds: [pin] } }),
      )
      const end = await finished(runId)
      expect(end.status).toBe('done')
      expect(end.summary.task).toBe('segment')
      expect(Object.keys(end.summary.testMetrics!)).toEqual(
        expect.arrayContaining(['box_map', 'box_map50', 'mask_map', 'mask_map50']),
      )
      const detail = await ok<RunDetail>(app.dispatch('runs.get', { runId }))
      expect(detail.history.map((h) => h.epoch)).toEqual([1, 2, 3])
      expect(Object.keys(detail.history[0]!.metrics)).toEqual(
        expect.arrayContaining(['loss_heatmap', 'loss_box', 'loss_mask', 'val_box_map50', 'val_mask_map50']),
      )
      expect(detail.detection!.images).toBe(8)
      expect(detail.detection!.perClass).toHaveLength(2)
      const pinned = detail.pinnedDetections[0]!
      expect(pinned.imageId).toBe(pin)
      expect(pinned.epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3])
      const det = pinned.epochs[3]!.detections[0]!
      expect(det.box.x).toBeGreaterThanOrEqual(0)
      expect(det.box.x + det.box.w).toBeLessThanOrEqual(1 + 1e-9)
      // COCO's compressed RLE: characters 48 ('0') to 111 ('o').
      expect(det.mask!.counts).toMatch(/^[0-o]+$/)
      // Detection models are not exported as tfjs files (yet); the refusal says what to do.
      const exp = await app.dispatch('runs.export', { runId, dir: path.join(dir, 'model') })
      expect(!exp.ok && exp.error.message).toMatch(/export its predictions as COCO/)

      // The error gallery: every test image judged, worst first, each error of a known kind.
      const errs = await ok<{
        threshold: number
        images: number
        byKind: Record<string, number>
        items: { imageId: number; wrongness: number; errors: { kind: string }[] }[]
      }>(app.dispatch('runs.detectionErrors', { runId, threshold: 0.1 }))
      expect(errs.threshold).toBe(0.1)
      expect(errs.images).toBe(8)
      expect(errs.items).toHaveLength(8)
      const w = errs.items.map((i) => i.wrongness)
      expect(w).toEqual([...w].sort((a, b) => b - a))
      const kinds = errs.items.flatMap((i) => i.errors.map((e) => e.kind))
      expect(kinds.length).toBeGreaterThan(0)
      expect(kinds.every((k) => Object.keys(errs.byKind).includes(k))).toBe(true)

      // A test image shows the test evaluation's predictions; a train image none until pre-labelled.
      const testImage = errs.items[0]!.imageId
      const tp = await ok<{ from: string | null; detections: unknown[] }>(
        app.dispatch('runs.imagePredictions', { runId, imageId: testImage }),
      )
      expect(tp.from).toBe('test')
      const before = await ok<{ from: string | null }>(
        app.dispatch('runs.imagePredictions', { runId, imageId: pin }),
      )
      expect(before.from).toBeNull()

      // Pre-label two images, with progress, then step to the unreviewed ones.
      const events: string[] = []
      const off = app.onEvent((event) => {
        if (event.startsWith('prelabel.')) events.push(event)
      })
      const done = new Promise<EventPayload<'prelabel.finished'>>((resolve) => {
        const stop = app.onEvent((event, payload) => {
          if (event === 'prelabel.finished') {
            stop()
            resolve(payload as EventPayload<'prelabel.finished'>)
          }
        })
      })
      const two = (
        await ok<{ items: { id: number }[] }>(app.dispatch('images.list', { split: 'train', limit: 2 }))
      ).items.map((i) => i.id)
      const job = await ok<{ jobId: string; total: number }>(
        app.dispatch('prelabel.start', { runId, imageIds: two }),
      )
      expect(job.total).toBe(2)
      const fin = await done
      off()
      expect(fin).toMatchObject({ runId, done: 2, total: 2, failed: [], cancelled: false, error: null })
      expect(events.filter((e) => e === 'prelabel.progress')).toHaveLength(2)
      const after = await ok<{ from: string | null; detections: { classId: number; score: number }[] }>(
        app.dispatch('runs.imagePredictions', { runId, imageId: two[0]! }),
      )
      expect(after.from).toBe('prelabel')
      expect(after.detections.length).toBeGreaterThan(0)
      const next = await ok<{ id: number | null; prelabelled: number }>(
        app.dispatch('images.nextUnreviewed', { runId, after: two[0]! }),
      )
      expect(next).toEqual({ id: two[1]!, prelabelled: 2 })

      // Accepting a prediction stores it as an annotation with its model origin and run.
      const d0 = after.detections[0]!
      const saved = await ok<{ ids: { id: number }[]; rejected: unknown[] }>(
        app.dispatch('annotations.save', {
          imageId: two[0]!,
          puts: [
            {
              kind: 'box',
              geometry: { x: 0.1, y: 0.1, w: 0.3, h: 0.3 },
              key: 'k1',
              id: null,
              classId: d0.classId,
              z: 99,
              hidden: false,
              locked: false,
              origin: 'model',
              source: { runId, score: d0.score },
            },
          ],
          status: 'reviewed',
        }),
      )
      expect(saved.rejected).toEqual([])
      const ed = await ok<{ annotations: { id: number; origin: string; source?: unknown }[] }>(
        app.dispatch('images.get', { id: two[0]! }),
      )
      const mine = ed.annotations.find((a) => a.id === saved.ids[0]!.id)!
      expect(mine).toMatchObject({ origin: 'model', source: { runId, score: d0.score } })
      // Reviewed now: from the other image, no image is left to review.
      const again = await ok<{ id: number | null }>(
        app.dispatch('images.nextUnreviewed', { runId, after: two[1]! }),
      )
      expect(again.id).toBeNull()
    },
    180_000,
  )
})
