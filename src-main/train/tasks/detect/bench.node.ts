import fs from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import type { DetectionConfigParsed } from '../../../../src-shared/api/train'
import { seededRandom } from '../../../../src-shared/domain/random'
import type { DB } from '../../../store/open'
import { epochOrder, makeOptimizer } from '../../trainer'
import { detectionDefaults } from './plan.node'
import { openDetectRun } from './run.node'
import type { DetectionBatch } from './task'

/**
 * The detector's training step on its own, for the benchmark against a PyTorch twin
 * (scripts/bench/detect_torch.py): it makes `steps` augmented batches of the project with the
 * default recipe, writes them (inputs and targets) so the twin trains on exactly the same data,
 * and times Smallset's own steps on them. Not part of the app: the `smallset dev-bench-detector`
 * command runs it.
 */
export interface DetectorBench {
  steps: number
  batch: number
  canvas: { width: number; height: number }
  classes: number
  prototypes: number
  /** Making a batch: augmentation and targets (the twin is given them made). */
  batch_ms: number
  /** One optimizer step on a made batch, median over the steps after the warm-up. */
  step_ms: number
  train_images_per_s: number
  backend: string
}

const f32 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)
const i32 = (a: Int32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)

export async function benchDetector(
  db: DB,
  projectDir: string,
  o: { steps: number; warmup: number; out: string | null; task?: 'detect' | 'segment' },
): Promise<DetectorBench> {
  const config = detectionDefaults(db, o.task ?? 'segment') as DetectionConfigParsed
  const run = await openDetectRun({
    db,
    projectDir,
    runId: 0,
    config,
    started: null,
    signal: new AbortController().signal,
    onLoading: () => {},
  })
  try {
    const task = run.task
    const rand = seededRandom(config.seed)
    const order = epochOrder(task.trainCount, config.seed, 1)
    const batches: DetectionBatch[] = []
    const t0 = performance.now()
    for (let s = 0; s < o.steps; s++) {
      const idx = Int32Array.from(
        { length: config.batchSize },
        (_, i) => order[(s * config.batchSize + i) % order.length]!,
      )
      batches.push(task.batch(idx, rand, 1) as DetectionBatch)
    }
    const batchMs = (performance.now() - t0) / o.steps
    const { width, height } = run.facts.input!
    if (o.out) {
      fs.mkdirSync(o.out, { recursive: true })
      batches.forEach((b, s) => {
        const t = b.targets
        const m = t.masks
        const parts = [f32(b.x), f32(t.heat), f32(t.heatWeight), f32(t.box), f32(t.boxWeight)]
        if (m) parts.push(i32(m.sample), i32(m.cell), f32(m.target), f32(m.weight))
        fs.writeFileSync(path.join(o.out!, `batch-${s}.bin`), Buffer.concat(parts))
        fs.writeFileSync(
          path.join(o.out!, `batch-${s}.json`),
          JSON.stringify({ count: b.count, objects: t.objects, maskCells: m?.count ?? 0 }),
        )
      })
      fs.writeFileSync(
        path.join(o.out, 'manifest.json'),
        JSON.stringify(
          {
            steps: o.steps,
            batch: config.batchSize,
            width,
            height,
            classes: run.facts.classIds!.length,
            prototypes: config.task === 'segment' ? config.prototypes : 0,
            model: config.model,
            learningRate: config.learningRate,
            layout:
              'per batch, float32 unless named: x [B,H,W,3], heat [B,H/4,W/4,C], heatWeight [B,H/4,W/4,1], box [B,H/4,W/4,4], boxWeight [B,H/4,W/4,1]; segmentation adds int32 sample [M], int32 cell [M], target [M,H/2·W/2], weight [M,H/2·W/2] (at the prototypes stride, 2)',
          },
          null,
          2,
        ),
      )
    }
    const optimizer = makeOptimizer({ kind: config.optimizer, learningRate: config.learningRate })
    const times: number[] = []
    for (const b of batches) {
      const s0 = performance.now()
      const loss = tf.tidy(() => optimizer.minimize(() => task.loss(run.model, b).total, true)!)
      await loss.data()
      loss.dispose()
      times.push(performance.now() - s0)
    }
    optimizer.dispose()
    const timed = times.slice(o.warmup).sort((a, b) => a - b)
    const stepMs = timed[Math.floor(timed.length / 2)] ?? NaN
    return {
      steps: o.steps,
      batch: config.batchSize,
      canvas: { width, height },
      classes: run.facts.classIds!.length,
      prototypes: config.task === 'segment' ? config.prototypes : 0,
      batch_ms: batchMs,
      step_ms: stepMs,
      train_images_per_s: (config.batchSize * 1000) / stepMs,
      backend: tf.getBackend(),
    }
  } finally {
    run.dispose()
  }
}
