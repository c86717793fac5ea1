import { ApiError } from '../../../../src-shared/api/contract'
import { ClassifyConfig, type ClassifyConfigParsed, type ModelPreset } from '../../../../src-shared/api/train'
import type { DB } from '../../../store/open'
import { dominantTaggedSize, taggedClasses } from '../../../store/repos/training'
import type { InputSize } from '../../host/pixels'
import { dominantInput } from './feed.node'
import { chooseAuto } from './models/auto'
import { PRESETS } from './models/presets'
import { TRANSFER_MIN_SIDE, TRANSFER_MODEL, transferInput } from './transfer/plan'
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
  if (c.model === TRANSFER_MODEL && c.input) return { ...c.input, channels: 3 }
  if (c.input) return c.input
  if (c.model === 'seed-cats-dogs') return PRESETS['seed-cats-dogs'].input!
  const d = dominantInput(db)
  if (!d) throw new ApiError('bad_input', 'The project has no tagged images to train on.')
  // The pretrained backbone takes RGB at about photo scale (see ./transfer/plan.ts).
  return c.model === TRANSFER_MODEL ? transferInput(d) : d
}

export function layersOf(c: ClassifyConfigParsed) {
  return c.model === 'custom' || c.model === 'auto' ? c.layers! : PRESETS[c.model].layers
}

/** Everything `train.validate` checks: the project's labels and splits, and that the stack fits the input. */
export function validateClassify(db: DB, c: ClassifyConfigParsed): { notes: string[] } {
  const { notes } = checkTrainable(db, c)
  const input = resolveInput(db, c)
  if (c.model === TRANSFER_MODEL) {
    if (Math.min(input.width, input.height) < TRANSFER_MIN_SIDE)
      throw new ApiError(
        'bad_input',
        `Transfer learning needs an input of at least ${TRANSFER_MIN_SIDE}×${TRANSFER_MIN_SIDE} (the backbone downsamples by 32); ${input.width}×${input.height} is too small.`,
      )
    return { notes }
  }
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

/** The `auto` recipe for this project, with its reasons (see models/auto.ts). */
export function autoDefaults(db: DB): ClassifyConfigParsed & { notes: string[] } {
  const classes = taggedClasses(db)
  const image = dominantTaggedSize(db)
  if (!image) throw new ApiError('bad_input', 'The project has no tagged images to train on.')
  const r = chooseAuto({
    image,
    trainPerClass: classes.map((k) => k.bySplit.train ?? 0).filter((n) => n > 0),
    valImages: classes.reduce((n, k) => n + (k.bySplit.val ?? 0), 0),
  })
  // Photos (RGB, 64 px and more): the pretrained backbone is offered, not chosen; on the photo-like
  // data available to measure it (scripts/bench/transfer.mjs) it did not beat this recipe.
  const notes =
    image.channels >= 3 && Math.min(image.width, image.height) >= 64
      ? [
          ...r.notes,
          `These look like photos (${image.width}×${image.height} RGB): the model ${TRANSFER_MODEL} (a MobileNetV2 pretrained on photos, frozen, with a trained head) is worth a try too; it caches features once, so it trains fast.`,
        ]
      : r.notes
  return { ...ClassifyConfig.parse({ task: 'classify', model: 'auto', ...r.config }), notes }
}

/** The preset's recipe, filled in for this project (input size, validation source). */
export function classifyDefaults(db: DB, model: ModelPreset): ClassifyConfigParsed & { notes?: string[] } {
  if (model === 'auto') return autoDefaults(db)
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
