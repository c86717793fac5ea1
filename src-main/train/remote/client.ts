import * as tf from '@tensorflow/tfjs'
import type { BackendInfo, EpochMetrics } from '../../../src-shared/api/train'
import { decodeEma, decodeWeights, encodeModel, type EncodedModel } from '../checkpoint'
import type { BatchProgress, TrainOptions, TrainResult } from '../trainer'
import type { HostMessage, PortLike, RemoteResume, RemoteTaskSpec, WorkerMessage } from './protocol'

/**
 * The host's side of remote training (see ./protocol.ts). The host keeps a model of its own, the
 * mirror: after each epoch it holds the worker's weights, so that pinned predictions, checkpoints
 * and the final evaluation run where the store is, exactly as for a run trained here.
 */

/** Asks the worker which GPU backend it would train on. */
export function probeRemote(
  port: PortLike,
  prefer?: string,
  timeoutMs = 30_000,
): Promise<{ backend: BackendInfo | null; tried: BackendInfo['tried'] }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop()
      reject(new Error(`the GPU worker did not answer within ${timeoutMs / 1000} s`))
    }, timeoutMs)
    const stop = port.listen((raw) => {
      const m = raw as WorkerMessage
      if (m.type !== 'probe' && m.type !== 'error') return
      clearTimeout(timer)
      stop()
      if (m.type === 'error') reject(new Error(m.message))
      else resolve({ backend: m.backend, tried: m.tried })
    })
    port.postMessage({ type: 'probe', prefer } satisfies HostMessage)
  })
}

export interface RemoteTrainArgs {
  port: PortLike
  prefer?: string
  spec: RemoteTaskSpec
  /** The mirror: it starts the run with its weights, and ends it with the trained ones. */
  model: tf.LayersModel
  options: TrainOptions
  resume: RemoteResume | null
  signal: AbortSignal
  onStarted?(backend: BackendInfo): void
  onBatch?(p: BatchProgress): void
  /** After each epoch, with the mirror holding the epoch's weights; awaited before the next one. */
  onEpoch?(m: EpochMetrics, checkpoint: EncodedModel, ema: tf.Tensor[] | null): Promise<void> | void
}

/** Trains `model` in the worker; resolves as train() does, with the trained weights in the mirror. */
export async function trainRemote(a: RemoteTrainArgs): Promise<TrainResult> {
  const start = await encodeModel(a.model)
  const send = (m: HostMessage) => a.port.postMessage(m)
  const onAbort = () => send({ type: 'cancel' })
  a.signal.addEventListener('abort', onAbort)
  // Messages are handled one at a time, in order: an epoch is stored before the next is looked at.
  let chain = Promise.resolve()
  let stop = () => {}
  try {
    return await new Promise<TrainResult>((resolve, reject) => {
      const handle = async (m: WorkerMessage): Promise<void> => {
        switch (m.type) {
          case 'started':
            a.onStarted?.(m.backend)
            return
          case 'batch':
            a.onBatch?.(m.progress)
            return
          case 'epoch': {
            setWeights(a.model, m.checkpoint)
            const ema = decodeEma(m.checkpoint)
            try {
              await a.onEpoch?.(m.metrics, m.checkpoint, ema)
            } finally {
              tf.dispose(ema ?? [])
            }
            send({ type: 'epoch-saved' })
            return
          }
          case 'done':
            setWeights(a.model, m.weights)
            resolve(m.result)
            return
          case 'error':
            reject(new Error(m.message))
            return
        }
      }
      stop = a.port.listen((raw) => {
        chain = chain
          .then(() => handle(raw as WorkerMessage))
          .catch((e: unknown) => {
            // The host could not store an epoch: stop the worker too.
            send({ type: 'cancel' })
            reject(e instanceof Error ? e : new Error(String(e)))
          })
      })
      send({
        type: 'train',
        prefer: a.prefer,
        spec: a.spec,
        model: { topology: start.topology, weights: start.weights },
        options: a.options,
        resume: a.resume,
      })
    })
  } finally {
    stop()
    a.signal.removeEventListener('abort', onAbort)
  }
}

function setWeights(model: tf.LayersModel, e: Pick<EncodedModel, 'topology' | 'weights'>): void {
  const w = decodeWeights(e)
  model.setWeights(w)
  tf.dispose(w)
}
