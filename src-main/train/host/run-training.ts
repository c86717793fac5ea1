import * as tf from '@tensorflow/tfjs'
import {
  TrainConfig,
  type BackendInfo,
  type EpochMetrics,
  type RunSummary,
} from '../../../src-shared/api/train'
import { ApiError } from '../../../src-shared/api/contract'
import { openProjectStore } from '../../store/open'
import {
  bestEpochOf,
  getCheckpoint,
  getHistory,
  getRunRow,
  mergeRunFacts,
  putCheckpoint,
  putEpoch,
  runFacts,
  setRunStatus,
  toSummary,
  truncateHistory,
} from '../../store/repos/runs'
import { selectBackend, type BackendName } from '../backends/select'
import { decodeEma, decodeOptimizer, decodeWeights, encodeModel, type EncodedModel } from '../checkpoint'
import { probeRemote, trainRemote } from '../remote/client'
import type { PortLike, RemoteResume } from '../remote/protocol'
import { taskModule } from '../tasks'
import type { PinnedItem, TaskRun } from '../tasks/types'
import { train, withWeights, type BatchProgress, type ResumeState } from '../trainer'
import { probeNative } from './native'

/** Messages the trainer process sends its parent (and the in-process runner its listener). */
export type TrainerMessage =
  | { type: 'started'; runId: number; backend: BackendInfo }
  | { type: 'loading'; runId: number; done: number; total: number }
  | {
      type: 'batch'
      runId: number
      epoch: number
      batch: number
      batches: number
      loss: number
      smoothLoss: number
      imagesPerS: number
      etaS: number
      backend: string
    }
  | { type: 'epoch'; runId: number; metrics: EpochMetrics; pinned: PinnedItem[] }
  | { type: 'finished'; runId: number; status: RunSummary['status']; summary: RunSummary }

export interface RunTrainingOptions {
  projectDir: string
  runId: number
  resume: boolean
  signal: AbortSignal
  send: (m: TrainerMessage) => void
  prefer?: BackendName
  /** A trainer in a Chromium worker with the machine's GPU (Electron's hidden trainer window). */
  gpu?: PortLike
}

/** The backends a Chromium worker has and the trainer process does not (in Electron). */
const REMOTE_BACKENDS = new Set<string>(['webgpu', 'webgl'])

type GpuProbe = Awaited<ReturnType<typeof probeRemote>>

/** What the GPU worker would train on; its failure to answer is a reason, not an error. */
async function probeGpu(port: PortLike, prefer: string | undefined): Promise<GpuProbe> {
  try {
    return await probeRemote(port, prefer)
  } catch (e) {
    const detail = `the GPU worker did not start: ${e instanceof Error ? e.message : String(e)}`
    return { backend: null, tried: [{ name: prefer ?? 'webgpu', ok: false, detail }] }
  }
}

/** The trainer process's backend, with why the GPU worker's backends were passed over first. */
function withGpuTried(local: BackendInfo, gpu: GpuProbe | null, unused: string | null): BackendInfo {
  if (!gpu) return local
  const passed = unused
    ? (gpu.backend ? [gpu.backend.name] : []).map((name) => ({ name, ok: false, detail: unused }))
    : []
  const tried = [
    ...gpu.tried.filter((t) => !t.ok).map((t) => ({ ...t, detail: `in Chromium: ${t.detail}` })),
    ...passed,
    ...local.tried.filter((t) => !REMOTE_BACKENDS.has(t.name)),
  ]
  const skipped = tried.filter((t) => !t.ok)
  return {
    ...local,
    tried,
    reason: `${local.name}, because ${skipped.map((t) => `${t.name} is unavailable (${t.detail})`).join('; ')}`,
  }
}

/**
 * One run, start to end (or to a cancel), for any task: everything it learns goes into the store as
 * it goes. The task (tasks/<name>/) loads its data, builds its model, and says what to store; this
 * host picks the backend, resumes from checkpoints, relays progress and writes epochs, checkpoints
 * and predictions.
 */
export async function runTraining(o: RunTrainingOptions): Promise<void> {
  const db = openProjectStore(o.projectDir)
  let run: TaskRun | null = null
  try {
    const row = getRunRow(db, o.runId)
    if (!row) throw new ApiError('not_found', `There is no run ${o.runId}`)
    const config = TrainConfig.parse(JSON.parse(row.config))
    const prefer = o.prefer ?? config.backend ?? (process.env.SMALLSET_BACKEND as BackendName | undefined)
    // A GPU in a Chromium worker (Electron's hidden trainer window), where the host gave one.
    const gpu = o.gpu && (!prefer || REMOTE_BACKENDS.has(prefer)) ? await probeGpu(o.gpu, prefer) : null
    // The trainer process's own backend: the one it trains on, or, with the GPU worker training,
    // the one its mirror of the model predicts with (pinned images, the test split).
    const local = await selectBackend(probeNative(), gpu?.backend ? undefined : prefer).catch(
      (e: unknown) => {
        // Asked for a GPU backend that neither the GPU worker nor this process could start.
        if (!gpu) throw e
        const chromium = gpu.tried.map((t) => `${t.name} in Chromium: ${t.detail}`).join('; ')
        throw new Error(`${chromium}; ${e instanceof Error ? e.message : String(e)}`)
      },
    )

    run = await taskModule(config.task).open({
      db,
      projectDir: o.projectDir,
      runId: o.runId,
      config,
      started: o.resume ? runFacts(row) : null,
      signal: o.signal,
      onLoading: (done, total) => o.send({ type: 'loading', runId: o.runId, done, total }),
    })
    const { model } = run
    const remote = gpu?.backend && run.remote ? { port: o.gpu!, spec: await run.remote() } : null
    const backend = remote
      ? gpu!.backend!
      : withGpuTried(local, gpu, run.remote ? null : 'the GPU worker does not train this recipe (yet)')
    setRunStatus(db, o.runId, 'running', { backend: backend.name })
    o.send({ type: 'started', runId: o.runId, backend })
    mergeRunFacts(db, o.runId, {
      ...run.facts,
      backend: backend.name,
      backendReason: backend.reason,
      monitor: run.options.monitor,
    })

    let resumeState: ResumeState | undefined
    let remoteResume: RemoteResume | null = null
    if (o.resume) {
      const ckpt = getCheckpoint(db, o.runId)
      const history = getHistory(db, o.runId).filter((h) => !ckpt || h.epoch <= ckpt.epoch)
      if (ckpt) {
        const weights = decodeWeights(ckpt)
        model.setWeights(weights)
        tf.dispose(weights)
        truncateHistory(db, o.runId, ckpt.epoch)
        const best = bestEpochOf(history, run.options.monitor)
        const bestCkpt =
          run.options.earlyStopping && best ? getCheckpoint(db, o.runId, best.epoch) : undefined
        if (remote)
          remoteResume = {
            epochsDone: ckpt.epoch,
            history,
            checkpoint: ckpt,
            bestWeights: bestCkpt ? (bestCkpt.ema ?? bestCkpt.weights) : null,
          }
        else
          resumeState = {
            epochsDone: ckpt.epoch,
            history,
            optimizerWeights: decodeOptimizer(ckpt),
            bestWeights: bestCkpt ? (decodeEma(bestCkpt) ?? decodeWeights(bestCkpt)) : undefined,
            emaWeights: decodeEma(ckpt) ?? undefined,
          }
      } else truncateHistory(db, o.runId, 0)
    }
    if (!resumeState) {
      // Epoch 0: what the untrained model says of the pinned images.
      const pin = await run.pinned(model, 0)
      pin.write(db, o.runId)
    }

    let smooth: number | null = null
    // The smoothed batch loss of the current epoch, about 50 samples, stored with the epoch.
    let batchLoss: number[] = []
    let lastSent = 0
    const { epochs, batchSize } = run.options
    const trainCount = run.task.trainCount
    // The best epoch so far: its checkpoint is kept beside the latest one.
    const history: EpochMetrics[] = [...(resumeState?.history ?? [])]
    const taskRun = run
    const onBatch = (p: BatchProgress) => {
      smooth = smooth === null ? p.loss : 0.95 * smooth + 0.05 * p.loss
      if (p.batch === 1) batchLoss = []
      if (p.batch % Math.max(1, Math.floor(p.batches / 50)) === 0 || p.batch === p.batches)
        batchLoss.push(smooth)
      const t = Date.now()
      if (t - lastSent < 200 && p.batch !== p.batches) return
      lastSent = t
      const ips = p.samples / Math.max(p.seconds, 1e-6)
      const left = (p.batches - p.batch) * batchSize + (epochs - p.epoch) * trainCount
      o.send({
        type: 'batch',
        runId: o.runId,
        epoch: p.epoch,
        batch: p.batch,
        batches: p.batches,
        loss: p.loss,
        smoothLoss: smooth,
        imagesPerS: ips,
        etaS: left / ips,
        backend: backend.name,
      })
    }
    /** Stores an epoch: its figures, its checkpoint and what the model says of the pinned images. */
    const saveEpoch = async (
      epochMetrics: EpochMetrics,
      enc: EncodedModel,
      mdl: tf.LayersModel,
      ema: tf.Tensor[] | null,
    ) => {
      const m = { ...epochMetrics, batchLoss }
      history.push(m)
      const best = bestEpochOf(history, taskRun.options.monitor)
      // Pinned predictions use the weights the run evaluates with.
      const pin = ema
        ? await withWeights(mdl, ema, () => taskRun.pinned(mdl, m.epoch))
        : await taskRun.pinned(mdl, m.epoch)
      db.transaction(() => {
        putEpoch(db, o.runId, m)
        putCheckpoint(
          db,
          o.runId,
          {
            epoch: m.epoch,
            topology: enc.topology,
            weights: Buffer.from(enc.weights),
            optimizer: enc.optimizer ? Buffer.from(enc.optimizer) : null,
            ema: enc.ema ? Buffer.from(enc.ema) : null,
          },
          best?.epoch ?? null,
        )
        pin.write(db, o.runId)
      }).immediate()
      o.send({ type: 'epoch', runId: o.runId, metrics: m, pinned: pin.value })
    }
    const result = remote
      ? await trainRemote({
          port: remote.port,
          prefer,
          spec: remote.spec,
          model,
          options: run.options,
          resume: remoteResume,
          signal: o.signal,
          onBatch,
          onEpoch: (m, enc, ema) => saveEpoch(m, enc, model, ema),
        }).catch((e: unknown) => {
          // The worker's backend failed mid-run (a lost device, memory): what is stored stays.
          const why = e instanceof Error ? e.message : String(e)
          throw new Error(
            `${backend.name} in the GPU worker failed: ${why}; resume continues from the last stored epoch`,
          )
        })
      : await train(
          model,
          run.task,
          run.options,
          {
            signal: o.signal,
            onBatch,
            onEpoch: async (m, { model: mdl, optimizer, ema }) =>
              saveEpoch(m, await encodeModel(mdl, optimizer, ema), mdl, ema),
          },
          resumeState,
        )

    if (result.cancelled) {
      setRunStatus(db, o.runId, 'cancelled')
    } else {
      const final = await run.finish(model)
      const trained = result.history.filter((h) => h.epoch > (resumeState?.epochsDone ?? 0))
      const samples = trained.reduce((n, h) => n + h.imagesPerS * h.seconds, 0)
      const seconds = trained.reduce((n, h) => n + h.seconds, 0)
      db.transaction(() => {
        final.write(db, o.runId)
        mergeRunFacts(db, o.runId, {
          ...final.value,
          bestEpoch: result.bestEpoch,
          finalEpoch:
            run!.options.earlyStopping && result.bestEpoch !== null
              ? result.bestEpoch
              : (result.history.at(-1)?.epoch ?? null),
          stoppedEarly: result.stoppedEarly,
          trainSamplesPerS: seconds ? samples / seconds : undefined,
        })
      }).immediate()
      setRunStatus(db, o.runId, 'done')
    }
    const final = getRunRow(db, o.runId)!
    o.send({
      type: 'finished',
      runId: o.runId,
      status: final.status,
      summary: toSummary(final, getHistory(db, o.runId)),
    })
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    // Cancelled while its data was loading: a cancel, not a failure.
    if (o.signal.aborted) setRunStatus(db, o.runId, 'cancelled')
    else setRunStatus(db, o.runId, 'failed', { error: message })
    const final = getRunRow(db, o.runId)
    if (final)
      o.send({
        type: 'finished',
        runId: o.runId,
        status: final.status,
        summary: toSummary(final, getHistory(db, o.runId)),
      })
  } finally {
    run?.dispose()
    db.close()
  }
}
