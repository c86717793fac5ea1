import { fork, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type { EventName, EventPayload } from '../../../src-shared/api/contract'
import { openProjectStore, type DB } from '../../store/open'
import { getHistory, getRunRow, mergeRunFacts, setRunStatus, toSummary } from '../../store/repos/runs'
import type { PredictResult, PrelabelProgress } from './predict'
import type { PortLike } from '../remote/protocol'
import type { TrainerMessage } from './run-training'
import type { WorkerReply, WorkerRequest } from './worker'

/**
 * Where the built trainer process lives (out/main/train-worker.js, beside the entry points; this
 * code may sit in out/main/chunks), or null when running from sources (unit tests).
 */
export function builtWorkerPath(): string | null {
  for (const dir of [__dirname, path.dirname(__dirname)]) {
    const p = path.join(dir, 'train-worker.js')
    if (fs.existsSync(p)) return p
  }
  return null
}

/**
 * A trainer in a Chromium worker that has the machine's GPU: in Electron, the hidden trainer
 * window (src-main/index.ts). Each run gets a port of its own.
 */
export interface GpuHost {
  connect(): Promise<PortLike>
}

/** What the runner needs of the app: the open project's store and the event stream. */
export interface RunnerHost {
  requireDb(): DB
  readonly projectDir: string | null
  emit<E extends EventName>(event: E, payload: EventPayload<E>): void
  /** Where the app has a GPU worker (Electron), the trainer process may train through it. */
  readonly gpuHost?: GpuHost | null
}

interface Job {
  runId: number
  resume: boolean
}

/**
 * Runs training jobs one at a time, each in its own trainer process, and relays what they report
 * as contract events. Where no built worker exists (unit tests on the sources), jobs run in this
 * process instead; the code path is otherwise the same.
 */
export class TrainRunner {
  private queue: Job[] = []
  private active: {
    runId: number
    child: ChildProcess | null
    cancel: () => void
    finished: boolean
  } | null = null

  constructor(
    private readonly ctx: RunnerHost,
    private readonly workerPath: string | null = builtWorkerPath(),
  ) {}

  /** Whether runs may train in a GPU worker (Electron's hidden trainer window). */
  get hasGpuWorker(): boolean {
    return !!this.ctx.gpuHost
  }

  get activeRunId(): number | null {
    return this.active?.runId ?? null
  }

  isQueued(runId: number): boolean {
    return this.queue.some((j) => j.runId === runId)
  }

  /** Whether a run is training or waiting here. */
  get busy(): boolean {
    return this.active !== null || this.queue.length > 0
  }

  /**
   * Whether this run's trainer has said it finished and only its process is still to end: a resume
   * asked for now is queued behind it.
   */
  isFinishing(runId: number): boolean {
    return this.active?.runId === runId && this.active.finished
  }

  /** Queues a run: it is 'queued' in the store from now on, and this process owns it. */
  enqueue(runId: number, resume = false): void {
    if ((this.active?.runId === runId && !this.active.finished) || this.isQueued(runId)) return
    const db = this.ctx.requireDb()
    setRunStatus(db, runId, 'queued')
    mergeRunFacts(db, runId, { ownerPid: process.pid })
    this.queue.push({ runId, resume })
    this.next()
  }

  /** Cancels a running run (it stops within a batch) or drops a queued one. */
  cancel(runId: number): boolean {
    if (this.active?.runId === runId) {
      this.active.cancel()
      return true
    }
    const before = this.queue.length
    this.queue = this.queue.filter((j) => j.runId !== runId)
    if (this.queue.length !== before) {
      const db = this.ctx.requireDb()
      setRunStatus(db, runId, 'cancelled')
      this.emitFinished(db, runId)
      return true
    }
    return false
  }

  /**
   * Stops everything (the app closes): the running run is cancelled; queued runs are dropped here
   * and stay 'queued' in the store, where the next open marks them resumable.
   */
  stopAll(): void {
    this.queue = []
    this.active?.cancel()
  }

  private emitFinished(db: DB, runId: number): void {
    const row = getRunRow(db, runId)
    if (row)
      this.ctx.emit('train.finished', {
        runId,
        status: row.status,
        summary: toSummary(row, getHistory(db, runId)),
      })
  }

  private relay(m: TrainerMessage, projectDir: string): void {
    // A run of a project that is no longer open: its ids mean other runs in the open one.
    if (this.ctx.projectDir !== projectDir) {
      if (m.type === 'finished' && this.active) this.active.finished = true
      return
    }
    switch (m.type) {
      case 'started':
        this.ctx.emit('train.started', { runId: m.runId, backend: m.backend })
        break
      case 'batch': {
        const { type: _t, ...rest } = m
        this.ctx.emit('train.batch', rest)
        break
      }
      case 'epoch':
        this.ctx.emit('train.epoch', { runId: m.runId, metrics: m.metrics, pinned: m.pinned })
        break
      case 'finished':
        if (this.active) this.active.finished = true
        this.ctx.emit('train.finished', { runId: m.runId, status: m.status, summary: m.summary })
        break
      case 'loading':
        break
    }
  }

  private done(): void {
    this.active = null
    this.next()
  }

  private next(): void {
    if (this.active || !this.queue.length) return
    const job = this.queue.shift()!
    const projectDir = this.ctx.projectDir!
    setRunStatus(this.ctx.requireDb(), job.runId, 'running')
    if (!this.workerPath) {
      const ac = new AbortController()
      this.active = { runId: job.runId, child: null, cancel: () => ac.abort(), finished: false }
      const gpuHost = this.ctx.gpuHost
      void Promise.all([import('./run-training'), gpuHost?.connect().catch(() => undefined)])
        .then(([{ runTraining }, gpu]) =>
          runTraining({
            projectDir,
            runId: job.runId,
            resume: job.resume,
            signal: ac.signal,
            send: (m) => this.relay(m, projectDir),
            gpu,
          }),
        )
        .finally(() => this.done())
      return
    }
    const gpuHost = this.ctx.gpuHost ?? null
    const child = fork(this.workerPath, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      ...(gpuHost && { env: { ...process.env, SMALLSET_GPU_RELAY: '1' } }),
    })
    const gpu = gpuHost ? this.relayGpu(child, gpuHost) : null
    this.active = {
      runId: job.runId,
      child,
      // The callback keeps a send to a process that has just exited from throwing (EPIPE).
      cancel: () => {
        if (child.connected) child.send({ type: 'cancel' } satisfies WorkerRequest, () => {})
      },
      finished: false,
    }
    let lastError: string | null = null
    child.on('error', (e) => (lastError = e.message))
    child.on('message', (m: WorkerReply) => {
      if (m.type === 'error') lastError = m.message
      else if (m.type === 'gpu') gpu?.toWorker(m.payload)
      else if (m.type !== 'predicted' && m.type !== 'prelabel-progress' && m.type !== 'prelabeled')
        this.relay(m, projectDir)
    })
    // 'close', not 'exit': it comes after the last message, so a finished run is never taken for a crash.
    child.on('close', (code, signal) => {
      gpu?.close()
      try {
        if (this.active && !this.active.finished) {
          // The process died without finishing (a crash, a kill): the run is resumable from its
          // checkpoint. Its own project is updated, even if the app has moved to another since.
          const db = openProjectStore(projectDir)
          try {
            const why = lastError ?? `the trainer process stopped (${signal ?? `exit code ${code}`})`
            setRunStatus(db, job.runId, 'failed', {
              error: `${why}; resume continues from the last checkpoint`,
            })
            if (this.ctx.projectDir === projectDir) this.emitFinished(db, job.runId)
          } finally {
            db.close()
          }
        }
      } catch (e) {
        console.error(`smallset: could not record the end of run ${job.runId}:`, e)
      } finally {
        this.done()
      }
    })
    child.send({ type: 'train', projectDir, runId: job.runId, resume: job.resume } satisfies WorkerRequest)
  }

  /**
   * Relays between the trainer process and the GPU worker: the port is connected on the first
   * message the process sends it (when a run asks which GPU backend it would get).
   */
  private relayGpu(child: ChildProcess, host: GpuHost): { toWorker(m: unknown): void; close(): void } {
    const toChild = (payload: unknown) => {
      if (child.connected) child.send({ type: 'gpu', payload } satisfies WorkerRequest, () => {})
    }
    let port: Promise<PortLike | null> | null = null
    let stop = () => {}
    return {
      toWorker: (m) => {
        port ??= host.connect().then(
          (p) => {
            stop = p.listen(toChild)
            return p
          },
          (e: unknown) => {
            const message = `the GPU worker did not start: ${e instanceof Error ? e.message : String(e)}`
            toChild({ type: 'error', message })
            return null
          },
        )
        void port.then((p) => p?.postMessage(m))
      },
      close: () => {
        // The trainer process is gone: whatever the worker is training for it stops too.
        void port?.then((p) => p?.postMessage({ type: 'cancel' }))
        stop()
      },
    }
  }

  /** Predicts files with a run's model, in a short-lived trainer process (or in-process from sources). */
  /**
   * Pre-labels images with a run in a process of its own (beside any training), reporting each
   * image as it is stored. `cancel` stops after the image in hand; what was done stays.
   */
  prelabel(
    runId: number,
    imageIds: number[],
    onProgress: (p: PrelabelProgress) => void,
  ): { done: Promise<PrelabelProgress>; cancel: () => void } {
    const projectDir = this.ctx.projectDir!
    if (!this.workerPath) {
      const ac = new AbortController()
      const done = import('./predict').then(({ prelabelImages }) =>
        prelabelImages(projectDir, runId, imageIds, { signal: ac.signal, onProgress }),
      )
      return { done, cancel: () => ac.abort() }
    }
    const child = fork(this.workerPath, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    })
    const done = new Promise<PrelabelProgress>((resolve, reject) => {
      child.on('error', reject)
      child.on('message', (m: WorkerReply) => {
        if (m.type === 'prelabel-progress') onProgress(m.progress)
        else if (m.type === 'prelabeled') resolve(m.progress)
        else if (m.type === 'error') reject(new Error(m.message))
      })
      child.on('close', (code) => reject(new Error(`the pre-labelling process exited (code ${code})`)))
      child.send({ type: 'prelabel', projectDir, runId, imageIds } satisfies WorkerRequest)
    })
    return {
      done,
      cancel: () => {
        if (child.connected) child.send({ type: 'cancel' } satisfies WorkerRequest, () => {})
      },
    }
  }

  async predict(runId: number, paths: string[]): Promise<PredictResult[]> {
    const projectDir = this.ctx.projectDir!
    if (!this.workerPath) {
      const { predictFiles } = await import('./predict')
      return predictFiles(projectDir, runId, paths)
    }
    const child = fork(this.workerPath, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    })
    return new Promise((resolve, reject) => {
      child.on('error', reject)
      child.on('message', (m: WorkerReply) => {
        if (m.type === 'predicted') resolve(m.results)
        else if (m.type === 'error') reject(new Error(m.message))
      })
      // After any message (a resolved promise ignores this).
      child.on('close', (code) => reject(new Error(`the predictor process exited (code ${code})`)))
      child.send({ type: 'predict', projectDir, runId, paths } satisfies WorkerRequest)
    })
  }
}
