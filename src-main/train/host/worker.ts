import { useSqliteBinding } from '../../store/open'
import { predictFiles, prelabelImages, type PrelabelProgress } from './predict'
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

export type WorkerReply =
  | TrainerMessage
  | { type: 'predicted'; results: Awaited<ReturnType<typeof predictFiles>> }
  | { type: 'prelabel-progress'; progress: PrelabelProgress }
  | { type: 'prelabeled'; progress: PrelabelProgress }
  | { type: 'error'; message: string }

useSqliteBinding(process.env.SMALLSET_SQLITE_BINDING)
const ac = new AbortController()
const send = (m: WorkerReply) => process.send?.(m)

process.on('message', (msg: WorkerRequest) => {
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
      process.disconnect?.()
      // Dawn for Node (the WebGPU backend) keeps the process alive on its own: leave explicitly,
      // once the messages above are flushed.
      setTimeout(() => process.exit(0), 50).unref()
    })
})
// The parent went away: nothing left to report to.
process.on('disconnect', () => ac.abort())
