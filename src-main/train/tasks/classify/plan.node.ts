import { ApiError } from '../../../../src-shared/api/contract'
import { ClassifyConfig, type ClassifyConfigParsed, type ModelPreset } from '../../../../src-shared/api/train'
import type { DB } from '../../../store/open'
import { taggedClasses } from '../../../store/repos/training'
import type { InputSize } from '../../host/pixels'
import { dominantInput } from './feed.node'
import { PRESETS } from './models/presets'
import { checkStack } from './models/shapes'

/** Why the project cannot train a classifier, or null when it can. */
export function classifyUnavailable(db: DB): string | null {
  const n = taggedClasses(db).filter((k) => (k.bySplit.train ?? 0) > 0).length
  return n >= 2
    ? null
    : `needs at least 2 classes with tagged images in the train split (this project has ${n})`
}

/** Checks that the project can train this config: classes, splits, sizes. Throws a clear ApiError. */
export function checkTrainable(db: DB, c: ClassifyConfigParsed): { classIds: number[]; notes: string[] } {
  const classes = taggedClasses(db).filter((k) => (k.bySplit.train ?? 0) > 0)
  if (classes.length < 2) {
    throw new ApiError(
      'bad_input',
      `Training needs at least 2 classes with tagged images in the train split; this project has ${classes.length}.`,
    )
  }
  const total = (s: string) => classes.reduce((n, k) => n + (k.bySplit[s] ?? 0), 0)
  const notes: string[] = []
  if (total('train') === 0) throw new ApiError('bad_input', 'The train split is empty.')
  if (c.validation === 'val' && total('val') === 0) {
    throw new ApiError(
      'bad_input',
      'The val split is empty: re-split the project, or validate on the test split or on a fraction of train.',
    )
  }
  if (typeof c.validation === 'number') {
    const held = classes.reduce(
      (n, k) => n + Math.round((k.bySplit.train ?? 0) * (c.validation as number)),
      0,
    )
    if (held === 0) {
      throw new ApiError(
        'bad_input',
        `Holding out ${c.validation} of train leaves no validation images: hold out more, or use the val split.`,
      )
    }
  }
  if (total('test') === 0)
    throw new ApiError(
      'bad_input',
      'The test split is empty: every run is evaluated on it. Re-split the project.',
    )
  if (c.batchSize > total('train'))
    notes.push(`the batch size (${c.batchSize}) is larger than the train split (${total('train')})`)
  return { classIds: classes.map((k) => k.id), notes }
}

/**
 * The model's input size: the config's, else the preset's fixed one (cats vs dogs: 180×180 RGB),
 * else the project's most common image size.
 */
export function resolveInput(db: DB, c: ClassifyConfigParsed): InputSize {
  if (c.input) return c.input
  if (c.model === 'seed-cats-dogs') return PRESETS['seed-cats-dogs'].input!
  const d = dominantInput(db)
  if (!d) throw new ApiError('bad_input', 'The project has no tagged images to train on.')
  return d
}

export function layersOf(c: ClassifyConfigParsed) {
  return c.model === 'custom' ? c.layers! : PRESETS[c.model].layers
}

/** Everything `train.validate` checks: the project's labels and splits, and that the stack fits the input. */
export function validateClassify(db: DB, c: ClassifyConfigParsed): { notes: string[] } {
  const { notes } = checkTrainable(db, c)
  const input = resolveInput(db, c)
  try {
    checkStack(layersOf(c), input)
  } catch (e) {
    throw new ApiError(
      'bad_input',
      `The model does not fit ${input.width}×${input.height}×${input.channels} images: ${(e as Error).message}`,
    )
  }
  return { notes }
}

/** The preset's recipe, filled in for this project (input size, validation source). */
export function classifyDefaults(db: DB, model: ModelPreset): ClassifyConfigParsed {
  const preset = model === 'custom' ? null : PRESETS[model]
  const base = ClassifyConfig.parse({
    task: 'classify',
    model,
    // A preset's own stack comes along, so the UI can start a custom model from it.
    layers:
      model === 'custom'
        ? [{ type: 'flatten' }, { type: 'dense', units: 128, activation: 'relu' }]
        : preset!.layers,
    optimizer: 'adam',
    learningRate: 1e-3,
    batchSize: 32,
    epochs: 10,
    ...(preset?.config ?? {}),
  })
  const hasVal = taggedClasses(db).some((k) => (k.bySplit.val ?? 0) > 0)
  return {
    ...base,
    input:
      model === 'seed-cats-dogs'
        ? PRESETS['seed-cats-dogs'].input
        : (resolveInput(db, { ...base, input: undefined }) ?? undefined),
    validation: hasVal ? 'val' : 0.1,
  }
}
