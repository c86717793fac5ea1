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
import { getImageBytes } from '../store/repos/images'
import {
  createRun,
  deleteRun,
  getCheckpoint,
  getHistory,
  getPredictions,
  getRunRow,
  listRunRows,
  mergeRunFacts,
  putCheckpoint,
  runFacts,
  setRunStatus,
  toSummary,
} from '../store/repos/runs'
import { affineFor, sampleParams, warpInto } from '../train/augment/affine'
import { AugmentConfig } from '../../src-shared/api/train'
import { toInputPixels, taggedClasses } from '../train/host/dataset'
import { resolveInput } from '../train/host/plan'
import type { TrainRunner } from '../train/host/runner'
import { checkTrainable } from '../train/host/checks'
import { fromLayersModelFiles, toLayersModelFiles, weightPaths } from '../train/model-files'
import { PRESETS } from '../train/models/presets'
import { checkStack } from '../train/models/shapes'
import type { AppContext, HandlerMap } from './context'

/** The backend a run will most likely get, without loading tfjs here (runs load it in their own process). */
function expectedBackend(): BackendInfo {
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
  return {
    name: 'wasm',
    reason:
      'no native TensorFlow package is installed (it is optional); wasm is next (confirmed when a run starts)',
    tried,
  }
}

function layersOf(c: TrainConfigParsed) {
  return c.model === 'custom' ? c.layers! : PRESETS[c.model].layers
}

/** Handlers for the training calls. Training itself runs in the trainer process (see train/host/runner.ts). */
export function trainHandlers(ctx: AppContext, runner: TrainRunner): HandlerMap<keyof typeof trainCalls> {
  const validate = (raw: unknown) => {
    const db = ctx.requireDb()
    const c = TrainConfig.parse(raw)
    const { notes } = checkTrainable(db, c)
    const input = resolveInput(db, c)
    try {
      checkStack(layersOf(c), input)
    } catch (e) {
      throw new ApiError(
        'bad_input',
        `The model does not fit ${input.width}×${input.height}×${input.channels} images: ${(e as Error).message}`,
      )
    }
    return { config: c, notes }
  }
  const runName = (c: TrainConfigParsed) =>
    c.name ?? `${c.model} · lr ${c.learningRate} · batch ${c.batchSize} · ${c.epochs} ep`
  const row = (runId: number) => {
    const r = getRunRow(ctx.requireDb(), runId)
    if (!r) throw new ApiError('not_found', `There is no run ${runId}`)
    return r
  }

  return {
    'train.backend': () => expectedBackend(),
    'train.defaults': ({ model }) => {
      const db = ctx.requireDb()
      const preset = model === 'custom' ? null : PRESETS[model]
      const base: TrainConfigParsed = TrainConfig.parse({
        model,
        // A preset's own stack comes along, so the UI can start a custom model from it.
        layers:
          model === 'custom'
            ? [{ type: 'flatten' }, { type: 'dense', units: 128, activation: 'relu' }]
            : preset!.layers,
        optimizer: 'adam',
        learningRate: 1e-3,
        batchSize: 32,
        epochs: 10,
        ...(preset?.config ?? {}),
      })
      const hasVal = taggedClasses(db).some((k) => (k.bySplit.val ?? 0) > 0)
      return {
        ...base,
        input:
          model === 'seed-cats-dogs'
            ? PRESETS['seed-cats-dogs'].input
            : (resolveInput(db, { ...base, input: undefined }) ?? undefined),
        validation: hasVal ? 'val' : 0.1,
      }
    },
    'train.validate': ({ config }) => ({ ok: true as const, notes: validate(config).notes }),
    'train.start': ({ config }) => {
      const { config: c } = validate(config)
      const runId = createRun(ctx.requireDb(), runName(c), c)
      runner.enqueue(runId)
      return { runId }
    },
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
      if (
        runner.activeRunId === runId ||
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
            const runId = createRun(ctx.requireDb(), `sweep · ${runName(one)}`, one)
            runIds.push(runId)
            runner.enqueue(runId)
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
      const preds = getPredictions(db, runId, { imageIds: pinnedIds })
      const truth = db.prepare("SELECT class_id FROM annotations WHERE image_id = ? AND kind = 'tag'").pluck()
      return {
        summary: toSummary(r, history),
        config: parsed.success ? parsed.data : null,
        history,
        evaluation: facts?.evaluation ?? null,
        pinned: pinnedIds.map((imageId) => ({
          imageId,
          trueClassId: (truth.get(imageId) as number | undefined) ?? null,
          epochs: preds.filter((p) => p.imageId === imageId).map((p) => ({ epoch: p.epoch, top3: p.top })),
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
      const rows = db
        .prepare(
          `SELECT p.image_id AS imageId FROM predictions p
           JOIN annotations a ON a.image_id = p.image_id AND a.kind = 'tag'
           WHERE p.run_id = ? AND p.epoch = -1 AND p.rank = 0 AND a.class_id = ? AND p.class_id = ?
           ORDER BY p.score DESC LIMIT ?`,
        )
        .all(runId, trueClassId, predClassId, limit) as { imageId: number }[]
      const preds = getPredictions(db, runId, { imageIds: rows.map((r) => r.imageId) }).filter(
        (p) => p.epoch === -1,
      )
      return rows.map((r) => ({
        imageId: r.imageId,
        top3: preds.find((p) => p.imageId === r.imageId)?.top ?? [],
      }))
    },
    'runs.predictions': ({ runId, offset, limit }) => {
      const db = ctx.requireDb()
      row(runId)
      const preds = getPredictions(db, runId, { epoch: -1, offset, limit })
      const truth = db.prepare("SELECT class_id FROM annotations WHERE image_id = ? AND kind = 'tag'").pluck()
      return preds.map((p) => ({
        imageId: p.imageId,
        trueClassId: (truth.get(p.imageId) as number | undefined) ?? null,
        top3: p.top,
      }))
    },
    'runs.export': ({ runId, dir }) => {
      const db = ctx.requireDb()
      const facts = runFacts(row(runId))
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
      const classes = ctx.requireDb().prepare('SELECT id, name FROM classes').all() as {
        id: number
        name: string
      }[]
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
      const projectClasses = db.prepare('SELECT id, name FROM classes ORDER BY position, id').all() as {
        id: number
        name: string
      }[]
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
