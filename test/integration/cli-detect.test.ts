/**
 * Detection and instance segmentation through the built CLI, as a user runs them: a tiny scene set
 * of real Fashion-MNIST items is written, imported as COCO, trained for a few epochs in the trainer
 * process, evaluated, predicted with, exported; and a run whose trainer is killed resumes from its
 * checkpoint.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, assertFashionMnist, smallset, spawnSmallset, tempDir } from './cli'

type Line = Record<string, unknown>
const lines = (out: string): Line[] =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line)

let scenes: string

/** A project holding the tiny scene set (24 train, 4 valid, 8 test images; trousers and bags). */
async function sceneProject(): Promise<string> {
  const dir = tempDir('detect')
  await smallset('init', dir)
  const report = JSON.parse((await smallset('import', dir, scenes, '--format', 'coco', '--json')).stdout)
  expect(report.failed).toEqual([])
  expect(report.added).toBe(36)
  return dir
}

beforeAll(async () => {
  assertBuilt()
  assertFashionMnist()
  scenes = path.join(tempDir('scenes'), 'set')
  await smallset('scenes', scenes, '--preset', 'tiny')
}, 60_000)

describe('smallset train --task segment (integration, tiny scene set)', () => {
  it('learns boxes and masks well above what an untrained model gets, and reports them', async () => {
    const dir = await sceneProject()
    const db = new Database(path.join(dir, 'project.sqlite'), { readonly: true })
    const pin = (
      db.prepare("SELECT id FROM images WHERE split = 'train' ORDER BY id LIMIT 1").get() as { id: number }
    ).id
    db.close()
    const { stdout } = await smallset(
      'train',
      dir,
      '--task',
      'segment',
      '--epochs',
      '40',
      '--batch',
      '4',
      '--pin',
      String(pin),
      '--json',
    )
    const out = lines(stdout)
    const epochs = out.filter((l) => l.type === 'epoch')
    const summary = out.find((l) => l.type === 'summary')!
    expect(summary.status).toBe('done')
    expect(epochs).toHaveLength(40)
    for (const k of ['box_map50', 'box_map', 'mask_map50', 'mask_map', 'train_samples_per_s', 'seconds'])
      expect(typeof summary[k]).toBe('number')
    expect(summary.backend).toBe('wasm')
    // Trained, box and mask AP rise far above what the untrained model gets (measured below).
    expect(summary.box_map50 as number).toBeGreaterThan(0.3)
    expect(summary.mask_map50 as number).toBeGreaterThan(0.1)
    // Each epoch line carries its losses, the validation figures and the pinned image's detections.
    const first = epochs[0]!
    for (const k of [
      'loss',
      'valLoss',
      'loss_heatmap',
      'loss_box',
      'loss_mask',
      'val_box_map50',
      'val_mask_map50',
    ])
      expect(typeof first[k]).toBe('number')
    const pinned = (epochs.at(-1)!.pinned as { image_id: number; shown: number; maxScore: number }[])[0]!
    expect(pinned.image_id).toBe(pin)
    expect(pinned.maxScore).toBeGreaterThan(0.5)
    // The store keeps the pinned detections from epoch 0 (untrained) on.
    const store = new Database(path.join(dir, 'project.sqlite'), { readonly: true })
    const byEpoch = store
      .prepare(
        'SELECT epoch, MAX(score) AS max, COUNT(*) AS n FROM predictions WHERE run_id = ? AND image_id = ? GROUP BY epoch ORDER BY epoch',
      )
      .all(summary.run, pin) as { epoch: number; max: number; n: number }[]
    store.close()
    expect(byEpoch.map((r) => r.epoch)).toEqual(Array.from({ length: 41 }, (_, i) => i))
    // Untrained, the model scatters up to 100 detections (maxDetections) at middling scores.
    expect(byEpoch[0]!.n).toBeGreaterThan(20)
    expect(byEpoch[0]!.n).toBeLessThanOrEqual(100)
    expect(byEpoch[0]!.max).toBeLessThan(byEpoch.at(-1)!.max)

    // eval reports the same figures as the summary, with COCO's 12 numbers for boxes and masks.
    const ev = JSON.parse((await smallset('eval', dir, '--run', String(summary.run), '--json')).stdout)
    expect(ev.box_map50).toBeCloseTo(summary.box_map50 as number, 9)
    expect(ev.evaluation.box.ap50).toBeCloseTo(summary.box_map50 as number, 9)
    expect(Object.keys(ev.evaluation.mask)).toHaveLength(12)

    // The floor: the same recipe for one epoch at a learning rate of 1e-9 is the untrained model.
    const untrained = lines(
      (
        await smallset(
          'train',
          dir,
          '--task',
          'segment',
          '--epochs',
          '1',
          '--batch',
          '4',
          '--lr',
          '1e-9',
          '--json',
        )
      ).stdout,
    ).find((l) => l.type === 'summary')!
    expect(untrained.box_map50 as number).toBeLessThan(0.05)
    expect(untrained.mask_map50 as number).toBeLessThan(0.05)

    // predict: detections for an image file, in its own pixels.
    const file = path.join(
      scenes,
      'test',
      fs.readdirSync(path.join(scenes, 'test')).find((f) => f.endsWith('.png'))!,
    )
    const pred = lines(
      (await smallset('predict', dir, '--run', String(summary.run), file, '--json')).stdout,
    )[0]!
    const dets = pred.detections as { score: number; bbox: number[]; segmentation: { size: number[] } }[]
    expect(dets.length).toBeGreaterThan(0)
    expect(dets[0]!.segmentation.size).toEqual([
      (pred.size as { height: number }).height,
      (pred.size as { width: number }).width,
    ])

    // export: annotations and the run's predictions in COCO's formats, with the same image ids.
    const outDir = path.join(tempDir('export'), 'coco')
    await smallset(
      'export',
      dir,
      '--format',
      'coco',
      '--split',
      'test',
      '--run',
      String(summary.run),
      '--out',
      outDir,
    )
    const ann = JSON.parse(fs.readFileSync(path.join(outDir, 'annotations.json'), 'utf8'))
    const preds = JSON.parse(fs.readFileSync(path.join(outDir, 'predictions.json'), 'utf8')) as {
      image_id: number
    }[]
    const ids = new Set((ann.images as { id: number }[]).map((i) => i.id))
    expect(ids.size).toBe(8)
    expect(preds.length).toBeGreaterThan(0)
    expect(preds.every((p) => ids.has(p.image_id))).toBe(true)
  }, 300_000)

  it('a detection run whose trainer is killed resumes from its checkpoint', async () => {
    const dir = await sceneProject()
    const child = spawnSmallset('train', dir, '--task', 'detect', '--epochs', '6', '--batch', '4', '--json')
    let out = ''
    let killed = false
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        if (!killed && out.split('"type":"epoch"').length > 2) {
          killed = true
          const workers = execFileSync('pgrep', ['-P', String(child.pid)])
            .toString()
            .trim()
            .split('\n')
            .map(Number)
          for (const pid of workers) process.kill(pid, 'SIGKILL')
          resolve()
        }
      })
      child.on('exit', () => {
        if (!killed) reject(new Error(`the CLI exited before its second epoch:\n${out}`))
      })
    })
    await new Promise((r) => child.on('exit', r))
    const summary = lines(out).find((l) => l.type === 'summary')!
    expect(summary.status).toBe('failed')
    const db = new Database(path.join(dir, 'project.sqlite'), { readonly: true })
    const done = (
      db.prepare('SELECT MAX(epoch) AS e FROM run_checkpoints WHERE run_id = ?').get(summary.run) as {
        e: number
      }
    ).e
    const ema = db
      .prepare('SELECT ema IS NOT NULL AS has FROM run_checkpoints WHERE run_id = ? AND epoch = ?')
      .get(summary.run, done) as { has: number }
    db.close()
    expect(done).toBeGreaterThanOrEqual(2)
    expect(ema.has).toBe(1)

    const resumed = lines((await smallset('train', dir, '--resume', String(summary.run), '--json')).stdout)
    const end = resumed.find((l) => l.type === 'summary')!
    expect(end.status).toBe('done')
    expect(end.epochs).toBe(6)
    expect(resumed.filter((l) => l.type === 'epoch').map((l) => l.epoch)).toEqual(
      Array.from({ length: 6 - done }, (_, i) => done + 1 + i),
    )
    expect(typeof end.box_map50).toBe('number')
  }, 300_000)
})
