import type { AugmentConfig, ClassifyConfig, LayerSpec } from '../../../../../src-shared/api/train'

/**
 * The `auto` classification recipe: architecture, input size, optimizer and schedule, augmentation
 * and regularisation chosen from what the project holds (image size and channels, images per class,
 * class balance), each choice with its reason in plain words. Pure: no tfjs, no Node, no SQL, so it
 * is tested on made-up projects. What it returns is an ordinary config: every field stays editable.
 */

export interface ProjectStats {
  /** The most common size of the tagged images, as stored (before any resizing). */
  image: { width: number; height: number; channels: number }
  /** Tagged images per class in the train split (classes with none are left out). */
  trainPerClass: readonly number[]
  /** Tagged images in the val split (0: none, and part of train is held out instead). */
  valImages: number
}

export type AutoConfig = Omit<ClassifyConfig, 'task' | 'model'> & { layers: LayerSpec[] }

export interface AutoRecipe {
  config: AutoConfig
  /** Why each choice, in plain words, most important first. */
  notes: string[]
}

const fmt = (n: number) => n.toLocaleString('en-US')

/** The input's longer side at most: small sets cannot learn fine detail, and big inputs train slowly. */
export function inputCap(trainImages: number): number {
  if (trainImages < 2000) return 64
  if (trainImages < 20000) return 96
  return 128
}

/** The input size: the images' own when they fit under the cap, else scaled down keeping the aspect. */
export function chooseInput(
  image: ProjectStats['image'],
  trainImages: number,
): { width: number; height: number; channels: 1 | 3 } {
  const channels: 1 | 3 = image.channels === 1 || image.channels === 2 ? 1 : 3
  const cap = inputCap(trainImages)
  const longer = Math.max(image.width, image.height)
  const scale = Math.min(1, cap / longer)
  return {
    width: Math.max(8, Math.round(image.width * scale)),
    height: Math.max(8, Math.round(image.height * scale)),
    channels,
  }
}

const convBnRelu = (filters: number): LayerSpec[] => [
  { type: 'conv', filters, kernel: 3, padding: 'same', activation: 'linear' },
  { type: 'batchnorm' },
  { type: 'activation', fn: 'relu' },
]

/**
 * A small VGG-style network with batch norm: stages of two 3×3 conv-BN-ReLU and a 2×2 max-pool
 * until the feature map is at most 8 px, one more conv, global average pooling, dropout. The width
 * doubles each stage from `base`. Global pooling keeps the head tiny (few weights to overfit).
 */
export function autoStack(
  input: { width: number; height: number },
  base: number,
  dropout: number,
): { layers: LayerSpec[]; stages: number; widths: number[] } {
  const layers: LayerSpec[] = []
  const widths: number[] = []
  let side = Math.min(input.width, input.height)
  let width = base
  let stages = 0
  while (side > 8 && stages < 4) {
    layers.push(...convBnRelu(width), ...convBnRelu(width), { type: 'pool', kind: 'max', size: 2 })
    widths.push(width)
    side = Math.floor(side / 2)
    width = Math.min(256, width * 2)
    stages++
  }
  layers.push(...convBnRelu(width))
  widths.push(width)
  // Global average pooling: one window over the whole (square-ish) feature map.
  if (side > 1) layers.push({ type: 'pool', kind: 'avg', size: side })
  layers.push({ type: 'flatten' })
  if (dropout > 0) layers.push({ type: 'dropout', rate: dropout })
  return { layers, stages, widths }
}

/** Augmentation for the project's images and amount of data (see the notes it returns). */
function chooseAugment(
  input: { width: number; height: number; channels: 1 | 3 },
  perClass: number,
): { augment: AugmentConfig; words: string } {
  // Photos (colour, or larger than glyph-sized grey images) are left-right symmetric in meaning;
  // small grey images are often digits, letters or items shot one way round, where a mirror
  // image is a different thing or never occurs.
  const photo = input.channels === 3 || Math.max(input.width, input.height) >= 64
  const level = perClass < 100 ? 'strong' : perClass < 1000 ? 'moderate' : 'light'
  const r = { strong: 1, moderate: 0.75, light: 0.5 }[level]
  const augment: AugmentConfig = {
    hflip: photo,
    rotationDeg: Math.round((photo ? 15 : 10) * r),
    zoom: Number(((photo ? 0.2 : 0.1) * r).toFixed(3)),
    translate: Number((0.1 * r).toFixed(3)),
  }
  const parts = [
    photo ? 'left-right flips' : 'no flips (small grey images: a mirror image may be another thing)',
    `rotation ±${augment.rotationDeg}°`,
    `zoom ±${Math.round(100 * augment.zoom!)}%`,
    `shifts ±${Math.round(100 * augment.translate!)}%`,
  ]
  return { augment, words: `${level} augmentation: ${parts.join(', ')}` }
}

export function chooseAuto(stats: ProjectStats): AutoRecipe {
  const counts = stats.trainPerClass.filter((n) => n > 0)
  const classes = counts.length
  const n = counts.reduce((a, b) => a + b, 0)
  if (classes < 1 || n < 1) throw new RangeError('the auto recipe needs tagged training images')
  const sorted = [...counts].sort((a, b) => a - b)
  const perClass = sorted[Math.floor((sorted.length - 1) / 2)]!
  const min = sorted[0]!
  const max = sorted[sorted.length - 1]!
  const imbalance = max / min
  const notes: string[] = []

  // Input.
  const input = chooseInput(stats.image, n)
  const { width: iw, height: ih, channels } = stats.image
  const sizeWords = `${input.width}×${input.height} ${input.channels === 1 ? 'grey' : 'RGB'}`
  notes.push(
    input.width === iw && input.height === ih
      ? `Input ${sizeWords}: the images' own size.`
      : `Input ${sizeWords}, scaled down from ${iw}×${ih}: with ${fmt(n)} training images the model cannot use finer detail, and it trains ${Math.max(1, Math.round((iw * ih) / (input.width * input.height)))}× faster.`,
  )
  if (channels === 2 || channels === 4) notes.push('The alpha channel is dropped.')

  // Data amount → capacity and regularisation.
  const base = n < 2000 ? 16 : 32
  const dropout = perClass <= 30 ? 0.5 : perClass <= 300 ? 0.3 : 0.2
  const stack = autoStack(input, base, dropout)
  notes.push(
    `${fmt(n)} training images, ${fmt(perClass)} per class: a small batch-norm CNN (${stack.widths.join('-')} filters, ` +
      `${stack.stages} pooling stage${stack.stages === 1 ? '' : 's'}, global average pooling) with dropout ${dropout}` +
      (base === 16 ? ', kept narrow so it cannot memorise so few images.' : '.'),
  )
  const aug = chooseAugment(input, perClass)
  notes.push(`${aug.words[0]!.toUpperCase()}${aug.words.slice(1)}.`)

  // Batch, epochs, schedule.
  const batchSize = n < 160 ? 8 : n < 400 ? 16 : n < 20000 ? 32 : 64
  const steps = Math.ceil(n / batchSize)
  const epochs = n <= 1000 ? 100 : n <= 5000 ? 60 : n <= 20000 ? 40 : 30
  const warmupEpochs = Math.max(1, Math.min(5, Math.round(epochs / 20)))
  // Validation: the val split, else a stratified part of train. On a small one, validation loss
  // is noisy from epoch to epoch, so stopping waits longer (the best epoch's weights are kept).
  const hasVal = stats.valImages > 0
  const validation = hasVal ? 'val' : perClass < 20 ? 0.2 : 0.1
  const valImages = hasVal ? stats.valImages : Math.round(n * (validation as number))
  const smallVal = valImages < 100
  const patience = Math.max(10, Math.round(epochs / (smallVal ? 2 : 4)))
  notes.push(
    `AdamW (Adam, learning rate 0.002, decoupled weight decay 0.05), batch ${batchSize} (${steps} steps an epoch), ` +
      `${warmupEpochs} warm-up epoch${warmupEpochs === 1 ? '' : 's'}, then a cosine decay over ${epochs} epochs.`,
  )
  const labelSmoothing = classes > 2 ? 0.1 : 0.05
  notes.push(
    `Label smoothing ${labelSmoothing}: softer targets, so the model is less over-confident` +
      (perClass <= 300 ? ' on so few images.' : '.'),
  )

  // Validation and stopping.
  notes.push(
    (hasVal
      ? `Validates on the val split (${fmt(valImages)} images)`
      : `No val split: validates on ${Math.round(100 * (validation as number))}% of train (about ${fmt(valImages)} images), held out per class`) +
      `; stops early when validation loss has not improved for ${patience} epochs` +
      (smallVal ? ' (patient: so few validation images make it noisy)' : '') +
      ", and keeps the best epoch's weights.",
  )
  notes.push(
    steps < 100
      ? `Batch norm with only ${steps} steps an epoch: its statistics are recomputed on training batches before every evaluation (precise BN), as its running averages would trail the weights.`
      : 'Batch norm: its statistics are recomputed on training batches before every evaluation (precise BN).',
  )

  // Balance.
  let classWeights: 'none' | 'balanced' = 'none'
  if (classes > 1 && imbalance >= 3) {
    classWeights = 'balanced'
    notes.push(
      `Classes are imbalanced (${fmt(max)} vs ${fmt(min)} images, ${imbalance.toFixed(1)}×): each class's loss is weighted by the inverse of its share.`,
    )
  } else if (classes > 1 && imbalance >= 1.5) {
    notes.push(`Classes are mildly imbalanced (${imbalance.toFixed(1)}×): no reweighting.`)
  }
  if (min < 10) {
    notes.push(
      `Some classes have fewer than 10 training images (the fewest: ${min}): expect test figures to swing from run to run; labelling more helps most.`,
    )
  }

  return {
    config: {
      layers: stack.layers,
      input,
      normalize: { mean: 0, std: 1 },
      // Seeded (the same run twice gives the same model); batch norm makes the scale matter little.
      init: 'torch',
      optimizer: 'adam',
      learningRate: 2e-3,
      momentum: 0,
      weightDecay: 0.05,
      schedule: { kind: 'cosine', warmupEpochs },
      batchSize,
      epochs,
      labelSmoothing,
      classWeights,
      ema: null,
      augment: aug.augment,
      earlyStopping: { patience },
      validation,
      testEachEpoch: false,
    },
    notes,
  }
}
