import { useSqliteBinding } from '../../store/open'
import { predictFiles, prelabelImages, type PrelabelProgress } from './predict'
import type { PortLike } from '../remote/protocol'
import { runTraining, type TrainerMessage } from './run-training'

/**
 * The trainer process: forked by the app (or the CLI) so that training never blocks the UI and a
 * crash in native code cannot take the app down. It talks to its parent in messages only.
 */
export type WorkerRequest =
  | { type: 'train'; projectDir: string; runId: number; resume: boolean }
  | { type: 'predict'; projectDir: string; runId: number; paths: string[] }
  | { type: 'prelabel'; projectDir: string; runId: number; imageIds: number[] }
  | { type: 'cancel' }
  /** From the GPU worker, relayed by the parent (see gpuRelay below). */
  | { type: 'gpu'; payload: unknown }

export type WorkerReply =
  | TrainerMessage
  | { type: 'predicted'; results: Awaited<ReturnType<typeof predictFiles>> }
  | { type: 'prelabel-progress'; progress: PrelabelProgress }
  | { type: 'prelabeled'; progress: PrelabelProgress }
  | { type: 'error'; message: string }
  /** To the GPU worker, relayed by the parent. */
  | { type: 'gpu'; payload: unknown }

useSqliteBinding(process.env.SMALLSET_SQLITE_BINDING)
const ac = new AbortController()

/**
 * The parent is gone (the app or the CLI died, or was killed): nothing is left to report to. The
 * job is cancelled (it stops within a batch; its checkpoints stay, so the run can be resumed) and
 * the process leaves quietly, at the latest after a grace period, instead of crashing on a write to
 * the closed channel.
 */
let orphaned = false
function parentGone(): void {
  if (orphaned) return
  orphaned = true
  ac.abort()
  setTimeout(() => process.exit(0), 10_000).unref()
}

// With a callback, a send on a closed channel reports to it instead of throwing on the process
// (ERR_IPC_CHANNEL_CLOSED, EPIPE as an uncaught 'error' event).
const send = (m: WorkerReply) => {
  if (!process.connected) return parentGone()
  process.send?.(m, undefined, undefined, (e: Error | null) => {
    if (e) parentGone()
  })
}

// stdout and stderr are inherited: when what they led to (the parent's terminal or pipe) is gone,
// writes fail with EPIPE. Nothing can be said there any more; that is no reason to crash.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})

/**
 * In the app, the parent holds a port to a trainer in a Chromium worker with the machine's GPU
 * (Electron's hidden trainer window: Dawn for Node cannot run in Electron's processes) and says so
 * with SMALLSET_GPU_RELAY=1; the two talk through the parent, over this process's IPC channel.
 */
const gpuListeners = new Set<(m: unknown) => void>()
const gpu: PortLike | undefined =
  process.env.SMALLSET_GPU_RELAY === '1'
    ? {
        postMessage: (payload) => send({ type: 'gpu', payload }),
        listen: (fn) => {
          gpuListeners.add(fn)
          return () => gpuListeners.delete(fn)
        },
      }
    : undefined

process.on('message', (msg: WorkerRequest) => {
  if (msg.type === 'gpu') {
    for (const fn of [...gpuListeners]) fn(msg.payload)
    return
  }
  if (msg.type === 'cancel') {
    ac.abort()
    return
  }
  const job =
    msg.type === 'train'
      ? runTraining({
          projectDir: msg.projectDir,
          runId: msg.runId,
          resume: msg.resume,
          signal: ac.signal,
          send,
          gpu,
        })
      : msg.type === 'prelabel'
        ? prelabelImages(msg.projectDir, msg.runId, msg.imageIds, {
            signal: ac.signal,
            onProgress: (progress) => send({ type: 'prelabel-progress', progress }),
          }).then((progress) => send({ type: 'prelabeled', progress }))
        : predictFiles(msg.projectDir, msg.runId, msg.paths).then((results) =>
            send({ type: 'predicted', results }),
          )
  job
    .catch((e: unknown) => send({ type: 'error', message: e instanceof Error ? e.message : String(e) }))
    .finally(() => {
      if (process.connected) process.disconnect?.()
      // Dawn for Node (the WebGPU backend) keeps the process alive on its own: leave explicitly,
      // once the messages above are flushed.
      setTimeout(() => process.exit(0), 50).unref()
    })
})
process.on('disconnect', parentGone)
