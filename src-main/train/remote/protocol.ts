import type {
  BackendInfo,
  ClassifyConfigParsed,
  DetectionConfigParsed,
  EpochMetrics,
} from '../../../src-shared/api/train'
import type { EncodedModel } from '../checkpoint'
import type { ModelArtifacts } from '../pretrained/artifacts'
import type { TrainData } from '../tasks/classify/task'
import type { DetectionData } from '../tasks/detect/task'
import type { BatchProgress, TrainOptions, TrainResult } from '../trainer'

/**
 * Training in another JavaScript context: the trainer process (which holds the store) hands a run's
 * data, model and options to a trainer in a Chromium worker, which has the machine's GPU through
 * WebGPU or WebGL, and keeps everything else (checkpoints, pinned predictions, evaluation rows) to
 * itself. The worker (./serve.ts) runs the same train() loop on the same task code; this file is
 * what the two say to each other. Messages are structured-clone data only (typed arrays, plain
 * objects), so any MessagePort-like channel carries them: a DOM MessagePort, Electron's
 * MessagePortMain relayed over the trainer process's IPC, or a test's bridge into a page.
 */

/** The least of a MessagePort that both sides use. */
export interface PortLike {
  postMessage(message: unknown): void
  /** Adds a listener for incoming messages; returns a function that removes it. */
  listen(onMessage: (message: unknown) => void): () => void
}

/** What a task gives the worker so that it can rebuild its TrainTask there (pure data). */
export type RemoteTaskSpec =
  | { kind: 'classify'; data: TrainData; config: ClassifyConfigParsed }
  | {
      kind: 'detect'
      data: DetectionData
      config: DetectionConfigParsed
      /**
       * The frozen pretrained backbone under the trained head, where the recipe has one: the
       * artifacts it is cut from (tasks/detect/backbone.ts), as the trainer process cuts it.
       */
      backbone: { name: string; artifacts: ModelArtifacts } | null
    }

/** A run already under way: its last checkpoint, and the best epoch's weights with early stopping. */
export interface RemoteResume {
  epochsDone: number
  history: EpochMetrics[]
  checkpoint: EncodedModel
  bestWeights: Uint8Array | null
}

export type HostMessage =
  /** Which backend the worker would train on, and why the ones before it were passed over. */
  | { type: 'probe'; prefer?: string }
  | {
      type: 'train'
      prefer?: string
      spec: RemoteTaskSpec
      /** The untrained (or resumed) model: topology and weights. */
      model: Pick<EncodedModel, 'topology' | 'weights'>
      options: TrainOptions
      resume: RemoteResume | null
    }
  /** The host has stored the epoch last sent: the next one may start. */
  | { type: 'epoch-saved' }
  | { type: 'cancel' }

export type WorkerMessage =
  | { type: 'probe'; backend: BackendInfo | null; tried: BackendInfo['tried'] }
  | { type: 'started'; backend: BackendInfo }
  | { type: 'batch'; progress: BatchProgress }
  /** One epoch done: its figures, and a checkpoint with the weights, optimizer and moving average. */
  | { type: 'epoch'; metrics: EpochMetrics; checkpoint: EncodedModel }
  /** Training is over: the result, and the weights the model ends with (best, averaged or last). */
  | { type: 'done'; result: TrainResult; weights: Pick<EncodedModel, 'topology' | 'weights'> }
  | { type: 'error'; message: string }
