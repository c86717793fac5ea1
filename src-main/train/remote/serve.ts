import * as tf from '@tensorflow/tfjs'
import type { BackendInfo } from '../../../src-shared/api/train'
import { decodeEma, decodeOptimizer, decodeWeights, encodeModel, loadModel } from '../checkpoint'
import { train, type ResumeState } from '../trainer'
import type { HostMessage, PortLike, WorkerMessage } from './protocol'
import { remoteTask } from './tasks'

/** How the worker's context picks its backend (./../backends/browser.ts in Chromium). */
export interface BackendChooser {
  /** The GPU backend this context would train on, or null, with what was tried. */
  probeGpu(prefer?: string): Promise<{ backend: BackendInfo | null; tried: BackendInfo['tried'] }>
  /** Starts the backend to train on (the one asked for, else the fastest that starts). */
  select(prefer?: string): Promise<BackendInfo>
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e))

/**
 * The worker's side of remote training (see ./protocol.ts): one run at a time, on whichever backend
 * `backends` starts, with the same train() loop and task code as the trainer process. Each epoch's
 * checkpoint goes back to the host, and the next epoch waits until the host has stored it, so a run
 * that dies here (a lost GPU device, memory running out) is resumable from its last epoch.
 */
export function serveRemoteTrainer(port: PortLike, backends: BackendChooser): void {
  const post = (m: WorkerMessage) => port.postMessage(m)
  let abort: AbortController | null = null
  let saved: (() => void) | null = null
  port.listen((raw) => {
    const m = raw as HostMessage
    if (m.type === 'cancel') {
      abort?.abort()
      saved?.()
    } else if (m.type === 'epoch-saved') saved?.()
    else if (m.type === 'probe')
      void backends
        .probeGpu(m.prefer)
        .then((r) => post({ type: 'probe', ...r }))
        .catch((e: unknown) => post({ type: 'error', message: message(e) }))
    else if (m.type === 'train') {
      const ac = new AbortController()
      abort = ac
      void run(m, ac.signal)
        .catch((e: unknown) => post({ type: 'error', message: message(e) }))
        .finally(() => {
          if (abort === ac) abort = null
        })
    }
  })

  async function run(m: Extract<HostMessage, { type: 'train' }>, signal: AbortSignal): Promise<void> {
    const backend = await backends.select(m.prefer)
    post({ type: 'started', backend })
    const model = await loadModel(m.model)
    let disposeTask = () => {}
    try {
      let resume: ResumeState | undefined
      if (m.resume) {
        const ckpt = m.resume.checkpoint
        const weights = decodeWeights(ckpt)
        model.setWeights(weights)
        tf.dispose(weights)
        resume = {
          epochsDone: m.resume.epochsDone,
          history: m.resume.history,
          optimizerWeights: decodeOptimizer(ckpt),
          bestWeights: m.resume.bestWeights
            ? decodeWeights({ topology: ckpt.topology, weights: m.resume.bestWeights })
            : undefined,
          emaWeights: decodeEma(ckpt) ?? undefined,
        }
      }
      const remote = await remoteTask(m.spec)
      disposeTask = remote.dispose
      const task = remote.task
      const result = await train(
        model,
        task,
        m.options,
        {
          signal,
          onBatch: (progress) => post({ type: 'batch', progress }),
          onEpoch: async (metrics, ctx) => {
            const checkpoint = await encodeModel(ctx.model, ctx.optimizer, ctx.ema)
            const stored = new Promise<void>((resolve) => (saved = resolve))
            post({ type: 'epoch', metrics, checkpoint })
            await stored
            saved = null
          },
        },
        resume,
      )
      const final = await encodeModel(model)
      post({ type: 'done', result, weights: { topology: final.topology, weights: final.weights } })
    } finally {
      disposeTask()
      model.dispose()
    }
  }
}
