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
import { decodeEma, decodeOptimizer, decodeWeights, encodeModel } from '../checkpoint'
import { taskModule } from '../tasks'
import type { PinnedItem, TaskRun } from '../tasks/types'
import { train, withWeights, type ResumeState } from '../trainer'
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
    const backend = await selectBackend(
      probeNative(),
      o.prefer ?? config.backend ?? (process.env.SMALLSET_BACKEND as BackendName | undefined),
    )
    setRunStatus(db, o.runId, 'running', { backend: backend.name })
    o.send({ type: 'started', runId: o.runId, backend })

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
    mergeRunFacts(db, o.runId, {
      ...run.facts,
      backend: backend.name,
      backendReason: backend.reason,
      monitor: run.options.monitor,
    })

    let resumeState: ResumeState | undefined
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
    const result = await train(
      model,
      run.task,
      run.options,
      {
        signal: o.signal,
        onBatch: (p) => {
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
        },
        onEpoch: async (epochMetrics, { model: mdl, optimizer, ema }) => {
          const m = { ...epochMetrics, batchLoss }
          history.push(m)
          const best = bestEpochOf(history, taskRun.options.monitor)
          const enc = await encodeModel(mdl, optimizer, ema)
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
        },
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
