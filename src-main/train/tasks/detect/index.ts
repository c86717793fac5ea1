import type { DetectionConfigParsed } from '../../../../src-shared/api/train'
import type { TaskModule } from '../types'
import { detectionDefaults, detectionUnavailable, validateDetection } from './plan.node'

/** Detection (boxes) and instance segmentation (boxes and masks): one module, two task names. */
function detectionModule(task: DetectionConfigParsed['task']): TaskModule<DetectionConfigParsed> {
  return {
    plan: {
      unavailable: (db) => detectionUnavailable(db, task),
      defaults: (db) => detectionDefaults(db, task),
      validate: validateDetection,
      runName: (c) =>
        c.name ??
        `${c.task} · ${c.model} · ${c.input ? `${c.input.width}×${c.input.height} · ` : ''}${c.epochs} ep`,
    },
    open: async (ctx) => (await import('./run.node')).openDetectRun(ctx),
    predictImage: async (model, facts, file) =>
      (await import('./predict.node')).detectImage(model, facts, file),
  }
}

export const detect = detectionModule('detect')
export const segment = detectionModule('segment')
