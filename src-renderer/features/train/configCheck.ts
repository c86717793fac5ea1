import { TrainConfig } from '../../../src-shared/api/train'

/** One problem with the config being edited, said for a person: which field, and what is wrong. */
export interface ConfigIssue {
  /** Dotted path, e.g. `learningRate` or `layers.2.filters`: the form marks that field. */
  path: string
  text: string
}

const LABELS: Record<string, string> = {
  name: 'Name',
  model: 'Model',
  layers: 'Layers',
  input: 'Input size',
  'input.width': 'Input width',
  'input.height': 'Input height',
  'input.channels': 'Input channels',
  'normalize.mean': 'Normalise mean',
  'normalize.std': 'Normalise std',
  optimizer: 'Optimizer',
  learningRate: 'Learning rate',
  momentum: 'Momentum',
  batchSize: 'Batch size',
  epochs: 'Epochs',
  seed: 'Seed',
  validation: 'Validation fraction',
  'earlyStopping.patience': 'Early-stopping patience',
  'augment.rotationDeg': 'Rotation',
  'augment.zoom': 'Zoom',
  'augment.translate': 'Translate',
  'augment.shearDeg': 'Shear',
  'augment.scale': 'Scale range',
  pinnedImageIds: 'Pinned images',
  weightDecay: 'Weight decay',
  warmupEpochs: 'Warm-up epochs',
  'schedule.warmupEpochs': 'Warm-up epochs',
  labelSmoothing: 'Label smoothing',
  'ema.decay': 'EMA decay',
  'augment.copyPaste': 'Copy-paste chance',
  'augment.copyPasteMax': 'Pasted at most',
  'augment.brightness': 'Brightness',
  'augment.contrast': 'Contrast',
  'augment.noise': 'Noise',
  'augment.blur': 'Blur chance',
  maxDetections: 'Max detections per image',
  scoreFloor: 'Score floor',
  displayThreshold: 'Shown from',
  prototypes: 'Mask prototypes',
}

function label(path: PropertyKey[]): string {
  const key = path.map(String).join('.')
  if (LABELS[key]) return LABELS[key]
  if (path[0] === 'layers' && typeof path[1] === 'number') {
    return `Layer ${path[1] + 1}${path[2] !== undefined ? ` ${String(path[2])}` : ''}`
  }
  if (path[0] === 'augment' && path[1] === 'scale') return 'Scale range'
  return key || 'Config'
}

interface LooseIssue {
  code: string
  path: PropertyKey[]
  message: string
  minimum?: number | bigint
  maximum?: number | bigint
  inclusive?: boolean
  expected?: string
  received?: string
}

function say(i: LooseIssue): string {
  if (i.code === 'invalid_type' && i.received === 'NaN') return 'is not a number'
  if (i.code === 'invalid_type' && i.expected === 'int') return 'must be a whole number'
  if (i.code === 'too_small') return `must be ${i.inclusive ? 'at least' : 'more than'} ${String(i.minimum)}`
  if (i.code === 'too_big') return `must be ${i.inclusive ? 'at most' : 'less than'} ${String(i.maximum)}`
  return i.message
}

/** Checks the config with the contract's own schema, before the backend is asked. */
export function configIssues(config: unknown): ConfigIssue[] {
  const r = TrainConfig.safeParse(config)
  if (r.success) return []
  return r.error.issues.map((i) => {
    const li = i as unknown as LooseIssue
    const path = li.path.map(String).join('.')
    return { path, text: `${label(li.path)}: ${say(li)}` }
  })
}
