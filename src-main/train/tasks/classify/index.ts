import type { ClassifyConfigParsed } from '../../../../src-shared/api/train'
import type { TaskModule } from '../types'
import { classifyDefaults, classifyUnavailable, validateClassify } from './plan.node'
import { TRANSFER_MODEL } from './transfer/plan'

/** Classification: a class per image (tags), the seed recipes' task. */
export const classify: TaskModule<ClassifyConfigParsed> = {
  plan: {
    unavailable: classifyUnavailable,
    defaults: (db, { model }) =>
      classifyDefaults(db, (model as ClassifyConfigParsed['model'] | undefined) ?? 'auto'),
    validate: validateClassify,
    runName: (c) => c.name ?? `${c.model} · lr ${c.learningRate} · batch ${c.batchSize} · ${c.epochs} ep`,
  },
  open: async (ctx) =>
    ctx.config.model === TRANSFER_MODEL
      ? (await import('./transfer/run.node')).openTransferRun(ctx)
      : (await import('./run.node')).openClassifyRun(ctx),
  predictImage: async (model, facts, file) =>
    (await import('./predict.node')).classifyImage(model, facts, file),
}
