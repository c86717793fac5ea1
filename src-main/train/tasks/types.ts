import type * as tf from '@tensorflow/tfjs'
import type { EventPayload } from '../../../src-shared/api/contract'
import type { TrainConfigParsed } from '../../../src-shared/api/train'
import type { PredictResult } from '../host/predict'
import type { DB } from '../../store/open'
import type { RunFacts } from '../../store/repos/runs'
import type { RemoteTaskSpec } from '../remote/protocol'
import type { TrainOptions, TrainTask } from '../trainer'

/**
 * The shape every training task has (classify, detect, segment): the plan the API uses before a
 * run (light: no tfjs), and the run the trainer process opens. See tasks/index.ts for the registry.
 */

export type PinnedItem = EventPayload<'train.epoch'>['pinned'][number]

/** What the API asks of a task, in the app's own process, before anything trains. */
export interface TaskPlan<C extends TrainConfigParsed = TrainConfigParsed> {
  /** Why this project cannot train the task (its labels do not support it), or null when it can. */
  unavailable(db: DB): string | null
  /** The task's default recipe for this project; `notes`, when given, say why it is what it is. */
  defaults(db: DB, opts: { model?: string }): C & { notes?: string[] }
  /** Refuses, with an ApiError saying why, a config this project cannot train; notes otherwise. */
  validate(db: DB, c: C): { notes: string[] }
  /** A short name for the runs list. */
  runName(c: C): string
}

export interface RunContext<C extends TrainConfigParsed = TrainConfigParsed> {
  db: DB
  projectDir: string
  runId: number
  config: C
  /** A resumed run's facts from when it started (its classes and input size stay), or null. */
  started: RunFacts | null
  signal: AbortSignal
  onLoading(done: number, total: number): void
}

/** Output that the run host stores, in the same transaction as the epoch's other rows. */
export interface Stored<T> {
  value: T
  write(db: DB, runId: number): void
}

/** One run of a task, opened in the trainer process with its data loaded and its model built. */
export interface TaskRun {
  /** What the run records about itself once its data is loaded (classes, input size, counts). */
  facts: Partial<RunFacts>
  model: tf.LayersModel
  task: TrainTask<unknown>
  /**
   * The task as data, for a trainer in another context (a Chromium worker on the GPU, see
   * train/remote/); absent where the task trains only in the trainer process.
   */
  remote?(): Promise<RemoteTaskSpec>
  options: TrainOptions
  /** What the model now says of the pinned images, for an epoch (0: before training). */
  pinned(model: tf.LayersModel, epoch: number): Promise<Stored<PinnedItem[]>>
  /** After training: the evaluation on the test split and its prediction rows. */
  finish(model: tf.LayersModel): Promise<Stored<Partial<RunFacts>>>
  dispose(): void
}

/** An image file to predict: its bytes and what sharp read of it. */
export interface ImageFile {
  bytes: Buffer
  format: string
  width: number
  height: number
  channels: number
}

export type ImagePrediction = Omit<PredictResult, 'path' | 'error'>

export interface TaskModule<C extends TrainConfigParsed = TrainConfigParsed> {
  plan: TaskPlan<C>
  /** Loaded on demand, in the trainer process (it brings tfjs). */
  open(ctx: RunContext<C>): Promise<TaskRun>
  /** Loaded on demand: what a trained model says of one image file. */
  predictImage(model: tf.LayersModel, facts: RunFacts, file: ImageFile): Promise<ImagePrediction>
}
