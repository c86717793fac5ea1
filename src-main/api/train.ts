import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import sharp from 'sharp'
import { ApiError } from '../../src-shared/api/contract'
import {
  TrainConfig,
  type BackendInfo,
  type TrainConfigParsed,
  type trainCalls,
} from '../../src-shared/api/train'
import { seededRandom } from '../../src-shared/domain/random'
import { listClasses } from '../store/repos/classes'
import { getImageBytes, unlabeledImageIds } from '../store/repos/images'
import {
  confusionCell,
  createRun,
  deleteRun,
  getCheckpoint,
  getDetections,
  getHistory,
  getPredictions,
  getRunRow,
  listRunRows,
  nextUnreviewed,
  PRELABEL_EPOCH,
  prelabelledCount,
  mergeRunFacts,
  putCheckpoint,
  runFacts,
  setRunStatus,
  toSummary,
} from '../store/repos/runs'
import { tagClassOf } from '../store/repos/training'
import { affineFor, sampleParams, warpInto } from '../train/augment/affine'
import { AugmentConfig } from '../../src-shared/api/train'
import { toInputPixels } from '../train/host/pixels'
import type { TrainRunner } from '../train/host/runner'
import { fromLayersModelFiles, toLayersModelFiles, weightPaths } from '../train/model-files'
import { taskModule, taskNames } from '../train/tasks'
import type { AppContext, HandlerMap } from './context'
import { detectionErrors } from './review'

/** The backend a run will most likely get, without loading tfjs here (runs load it in their own process). */
function expectedBackend(gpuWorker: boolean): BackendInfo {
  const req = createRequire(__filename)
  const tried: BackendInfo['tried'] = []
  for (const name of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      req.resolve(name)
      tried.push({ name: 'tensorflow', ok: true, detail: `${name} is installed` })
      return { name: 'tensorflow', reason: `${name} is installed (confirmed when a run starts)`, tried }
    } catch {
      tried.push({ name: 'tensorflow', ok: false, detail: `${name} is not installed` })
    }
  }
  tried.push({ name: 'wasm', ok: true, detail: 'WebAssembly, with Smallset’s convolution gradient kernels' })
  let webgpu = false
  try {
    req.resolve('webgpu')
    webgpu = !process.versions.electron
  } catch {
    // The optional Dawn for Node package is not installed.
  }
  return {
    name: 'wasm',
    reason:
      (gpuWorker
        ? "WebGPU, then WebGL, in Chromium's GPU worker are tried first when a run starts, where a GPU is found; "
        : webgpu
          ? 'WebGPU is tried first when a run starts, where a GPU adapter is found; '
          : '') +
      'no native TensorFlow package is installed (it is optional); wasm is next (confirmed when a run starts)',
    tried,
  }
}

const taskWords: Record<TrainConfigParsed['task'], string> = {
  classify: 'a classifier',
  detect: 'a detector',
  segment: 'an instance segmentation model',
}

/** Handlers for the training calls. Training itself runs in the trainer process (see train/host/runner.ts). */
export function trainHandlers(ctx: AppContext, runner: TrainRunner): HandlerMap<keyof typeof trainCalls> {
  const validate = (raw: unknown) => {
    const db = ctx.requireDb()
    const c = TrainConfig.parse(raw)
    const plan = taskModule(c.task).plan
    const why = plan.unavailable(db)
    if (why) throw new ApiError('bad_input', `This project cannot train ${taskWords[c.task]}: it ${why}.`)
    return { config: c, notes: plan.validate(db, c).notes }
  }
  const runName = (c: TrainConfigParsed) => taskModule(c.task).plan.runName(c)
  const start = (c: TrainConfigParsed, name = runName(c)) => {
    const runId = createRun(ctx.requireDb(), name, c, 'queued', c.task)
    runner.enqueue(runId)
    return runId
  }
  /** Pre-labelling jobs under way, by job id: how to cancel each. */
  const prelabels = new Map<string, () => void>()
  const row = (runId: number) => {
    const r = getRunRow(ctx.requireDb(), runId)
    if (!r) throw new ApiError('not_found', `There is no run ${runId}`)
    return r
  }

  return {
    'train.backend': () => expectedBackend(runner.hasGpuWorker),
    'train.tasks': () => {
      const db = ctx.requireDb()
      return taskNames().map((task) => {
        const why = taskModule(task).plan.unavailable(db)
        return { task, available: !why, reason: why ?? 'ready' }
      })
    },
    'train.defaults': ({ task, model }) => {
      const db = ctx.requireDb()
      const plan = taskModule(task).plan
      const why = plan.unavailable(db)
      if (why) throw new ApiError('bad_input', `This project cannot train ${taskWords[task]}: it ${why}.`)
      return plan.defaults(db, { model })
    },
    'train.validate': ({ config }) => ({ ok: true as const, notes: validate(config).notes }),
    'train.start': ({ config }) => ({ runId: start(validate(config).config) }),
    'train.cancel': ({ runId }) => {
      if (runner.cancel(runId)) return { ok: true as const }
      const r = row(runId)
      if (r.status !== 'running' && r.status !== 'queued') {
        throw new ApiError('not_found', `Run ${runId} is not running or queued`)
      }
      // Marked running or queued by a process that is not running it (another app instance, or a
      // pid since reused): the user's cancel settles it, and Resume becomes possible.
      setRunStatus(ctx.requireDb(), runId, 'cancelled')
      return { ok: true as const }
    },
    'train.resume': ({ runId }) => {
      const r = row(runId)
      // A run that has just ended while its process is still closing can be resumed at once: the
      // resume waits in the queue for that process.
      if (
        (runner.activeRunId === runId && !runner.isFinishing(runId)) ||
        runner.isQueued(runId) ||
        (r.status !== 'cancelled' && r.status !== 'failed')
      ) {
        throw new ApiError(
          'bad_input',
          `Run ${runId} is ${r.status}: only a cancelled or failed run can be resumed`,
        )
      }
      runner.enqueue(runId, true)
      return { runId }
    },
    'train.sweep': ({ base, grid }) => {
      const { config: c } = validate(base)
      const lrs = grid.learningRate?.length ? grid.learningRate : [c.learningRate]
      const bss = grid.batchSize?.length ? grid.batchSize : [c.batchSize]
      const opts = grid.optimizer?.length ? grid.optimizer : [c.optimizer]
      const runIds: number[] = []
      for (const optimizer of opts)
        for (const learningRate of lrs)
          for (const batchSize of bss) {
            const one = TrainConfig.parse({ ...c, optimizer, learningRate, batchSize, name: undefined })
            runIds.push(start(one, `sweep · ${runName(one)}`))
          }
      return { runIds }
    },
    'runs.list': () => {
      const db = ctx.requireDb()
      return listRunRows(db).map((r) => toSummary(r, getHistory(db, r.id)))
    },
    'runs.get': ({ runId }) => {
      const db = ctx.requireDb()
      const r = row(runId)
      const history = getHistory(db, runId)
      const facts = runFacts(r)
      const parsed = TrainConfig.safeParse(JSON.parse(r.config))
      const pinnedIds = parsed.success ? parsed.data.pinnedImageIds : []
      const classify = r.task === 'classify'
      const preds = classify ? getPredictions(db, runId, { imageIds: pinnedIds }) : []
      const dets = classify ? [] : getDetections(db, runId, { imageIds: pinnedIds })
      return {
        summary: toSummary(r, history),
        config: parsed.success ? parsed.data : null,
        history,
        evaluation: facts?.evaluation ?? null,
        detection: facts?.detection ?? null,
        pinned: classify
          ? pinnedIds.map((imageId) => ({
              imageId,
              trueClassId: tagClassOf(db, imageId),
              epochs: preds
                .filter((p) => p.imageId === imageId)
                .map((p) => ({ epoch: p.epoch, top3: p.top })),
            }))
          : [],
        pinnedDetections: classify
          ? []
          : pinnedIds.map((imageId) => ({
              imageId,
              epochs: dets
                .filter((d) => d.imageId === imageId)
                .map((d) => ({ epoch: d.epoch, detections: d.detections })),
            })),
      }
    },
    'runs.delete': ({ runId }) => {
      if (runner.activeRunId === runId || runner.isQueued(runId)) {
        throw new ApiError('busy', `Run ${runId} is running or queued: cancel it first`)
      }
      if (!deleteRun(ctx.requireDb(), runId)) throw new ApiError('not_found', `There is no run ${runId}`)
      return { ok: true as const }
    },
    'runs.cell': ({ runId, trueClassId, predClassId, limit }) => {
      const db = ctx.requireDb()
      row(runId)
      const ids = confusionCell(db, runId, trueClassId, predClassId, limit)
      const preds = getPredictions(db, runId, { imageIds: ids }).filter((p) => p.epoch === -1)
      return ids.map((imageId) => ({
        imageId,
        top3: preds.find((p) => p.imageId === imageId)?.top ?? [],
      }))
    },
    'runs.predictions': ({ runId, offset, limit }) => {
      const db = ctx.requireDb()
      row(runId)
      const preds = getPredictions(db, runId, { epoch: -1, offset, limit })
      return preds.map((p) => ({ imageId: p.imageId, trueClassId: tagClassOf(db, p.imageId), top3: p.top }))
    },
    'runs.detectionErrors': ({ runId, threshold, limit }) => {
      const db = ctx.requireDb()
      const r = row(runId)
      if (r.task === 'classify')
        throw new ApiError(
          'bad_input',
          `Run ${runId} is a classifier: its mistakes are in its confusion matrix`,
        )
      const parsed = TrainConfig.safeParse(JSON.parse(r.config))
      const t =
        threshold ?? (parsed.success && parsed.data.task !== 'classify' ? parsed.data.displayThreshold : 0.5)
      return { threshold: t, ...detectionErrors(db, runId, t, limit) }
    },
    'runs.imagePredictions': ({ runId, imageId }) => {
      const db = ctx.requireDb()
      row(runId)
      for (const [epoch, from] of [
        [PRELABEL_EPOCH, 'prelabel'],
        [-1, 'test'],
      ] as const) {
        const found = getDetections(db, runId, { epoch, imageIds: [imageId] })[0]
        if (found) return { detections: found.detections, from }
      }
      return { detections: [], from: null }
    },
    'prelabel.start': ({ runId, imageIds }) => {
      const db = ctx.requireDb()
      const r = row(runId)
      if (r.task === 'classify')
        throw new ApiError('bad_input', `Run ${runId} is a classifier: only detectors pre-label objects`)
      if (r.status !== 'done') throw new ApiError('bad_input', `Run ${runId} has not finished training`)
      const ids = imageIds ?? unlabeledImageIds(db)
      if (!ids.length)
        throw new ApiError('bad_input', 'Every image is labelled: there is nothing to pre-label')
      const jobId = randomUUID()
      const job = runner.prelabel(runId, ids, (p) =>
        ctx.emit('prelabel.progress', {
          jobId,
          runId,
          done: p.done,
          total: p.total,
          failed: p.failed.length,
        }),
      )
      prelabels.set(jobId, job.cancel)
      job.done
        .then(
          (p) => ctx.emit('prelabel.finished', { jobId, runId, ...p, error: null }),
          (e: unknown) =>
            ctx.emit('prelabel.finished', {
              jobId,
              runId,
              done: 0,
              total: ids.length,
              failed: [],
              cancelled: false,
              error: e instanceof Error ? e.message : String(e),
            }),
        )
        .finally(() => prelabels.delete(jobId))
      return { jobId, total: ids.length }
    },
    'prelabel.cancel': ({ jobId }) => {
      const cancel = prelabels.get(jobId)
      if (!cancel) throw new ApiError('not_found', `There is no pre-labelling job ${jobId}`)
      cancel()
      return { ok: true as const }
    },
    'images.nextUnreviewed': ({ runId, after }) => {
      const db = ctx.requireDb()
      row(runId)
      return { id: nextUnreviewed(db, runId, after), prelabelled: prelabelledCount(db, runId) }
    },
    'runs.export': ({ runId, dir }) => {
      const db = ctx.requireDb()
      const r = row(runId)
      if (r.task !== 'classify')
        throw new ApiError(
          'bad_input',
          `Run ${runId} is a ${r.task} run: only classifiers export as tfjs model files for now (export its predictions as COCO with export.coco)`,
        )
      const facts = runFacts(r)
      const ckpt =
        (facts?.finalEpoch != null ? getCheckpoint(db, runId, facts.finalEpoch) : undefined) ??
        getCheckpoint(db, runId)
      if (!ckpt) throw new ApiError('not_found', `Run ${runId} has no trained weights yet`)
      const { modelJson, weightsBin } = toLayersModelFiles(ckpt)
      fs.mkdirSync(dir, { recursive: true })
      const files = [
        path.join(dir, 'model.json'),
        path.join(dir, 'weights.bin'),
        path.join(dir, 'smallset.json'),
      ]
      fs.writeFileSync(files[1]!, weightsBin)
      fs.writeFileSync(files[0]!, modelJson)
      // What the outputs mean: class names in output order, the input size and normalisation.
      const classes = listClasses(db)
      fs.writeFileSync(
        files[2]!,
        JSON.stringify(
          {
            classes: (facts?.classIds ?? []).map(
              (id) => classes.find((c) => c.id === id)?.name ?? String(id),
            ),
            input: facts?.input,
            normalize: facts?.normalize,
            outputs: 'logits',
          },
          null,
          2,
        ),
      )
      return { files }
    },
    'models.import': ({ dir, name }) => {
      const db = ctx.requireDb()
      const jsonPath = path.join(dir, 'model.json')
      let stored
      let meta: {
        classes?: string[]
        input?: { width: number; height: number; channels: number }
        normalize?: { mean: number; std: number }
      } = {}
      try {
        const modelJson = fs.readFileSync(jsonPath, 'utf8')
        const weights = weightPaths(modelJson).map((p) => new Uint8Array(fs.readFileSync(path.join(dir, p))))
        stored = fromLayersModelFiles(modelJson, weights)
        const metaPath = path.join(dir, 'smallset.json')
        if (fs.existsSync(metaPath)) meta = JSON.parse(fs.readFileSync(metaPath, 'utf8'))
      } catch (e) {
        throw new ApiError('bad_input', `${jsonPath}: ${(e as Error).message}`)
      }
      const topo = JSON.parse(stored.topology) as {
        modelTopology: { config?: { layers?: { config?: { batch_input_shape?: number[] } }[] } }
      }
      const shape = topo.modelTopology.config?.layers?.[0]?.config?.batch_input_shape
      const input =
        meta.input ?? (shape ? { height: shape[1]!, width: shape[2]!, channels: shape[3]! } : null)
      if (!input) throw new ApiError('bad_input', `${jsonPath}: the model does not say its input size`)
      const projectClasses = listClasses(db)
      const classIds = meta.classes
        ? meta.classes.map((n) => {
            const c = projectClasses.find((k) => k.name === n)
            if (!c) throw new ApiError('bad_input', `${dir}: the model's class "${n}" is not in this project`)
            return c.id
          })
        : projectClasses.map((c) => c.id)
      const runId = createRun(
        db,
        name ?? `imported · ${path.basename(dir)}`,
        { imported: true, source: dir },
        'done',
      )
      putCheckpoint(
        db,
        runId,
        { epoch: 0, topology: stored.topology, weights: Buffer.from(stored.weights), optimizer: null },
        null,
      )
      mergeRunFacts(db, runId, {
        classIds,
        input,
        normalize: meta.normalize ?? { mean: 0, std: 1 },
        imported: true,
        finalEpoch: 0,
      })
      return { runId }
    },
    'models.predict': async ({ runId, paths }) => {
      row(runId)
      return runner.predict(runId, paths)
    },
    'augment.preview': async ({ imageId, augment, seed, size }) => {
      const m = getImageBytes(ctx.requireDb(), imageId)
      if (!m) throw new ApiError('not_found', `There is no image ${imageId}`)
      const scale = Math.min(1, size / Math.max(m.width, m.height))
      const input = {
        width: Math.max(1, Math.round(m.width * scale)),
        height: Math.max(1, Math.round(m.height * scale)),
        channels: (m.channels === 1 ? 1 : 3) as 1 | 3,
      }
      const pixels = await toInputPixels(m.bytes, m, input)
      const cfg = AugmentConfig.parse(augment)
      const rand = seededRandom(seed)
      const images: string[] = []
      for (let i = 0; i < 9; i++) {
        const out = new Uint8Array(pixels.length)
        warpInto(
          pixels,
          out,
          input.width,
          input.height,
          input.channels,
          affineFor(sampleParams(cfg, rand), input.width, input.height),
        )
        const png = await sharp(Buffer.from(out), {
          raw: { width: input.width, height: input.height, channels: input.channels },
        })
          .png()
          .toBuffer()
        images.push(`data:image/png;base64,${png.toString('base64')}`)
      }
      return { images }
    },
  }
}
