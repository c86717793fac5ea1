import { z } from 'zod'
import { Empty, Ok } from './common'
import { DETECTION_ERROR_KINDS } from '../domain/detection-errors'

/** Training calls and events (the training lab): merged into the contract in ./contract.ts. */

export const MODEL_PRESETS = [
  /** Chosen from the project (image size, channels, images per class, balance): models/auto.ts. */
  'auto',
  'seed-mlp',
  'seed-mlp-dropout',
  'seed-cnn',
  'seed-cnn-bn',
  'seed-cats-dogs',
  /** The pretrained MobileNetV2 (nsfwjs, MIT), frozen, with a head trained on its cached features. */
  'transfer-mobilenet-v2',
  'custom',
] as const
export const ModelPreset = z.enum(MODEL_PRESETS)
export type ModelPreset = z.infer<typeof ModelPreset>

export const ACTIVATIONS = ['relu', 'elu', 'leakyRelu', 'tanh', 'sigmoid', 'linear'] as const
export const Activation = z.enum(ACTIVATIONS)
export type Activation = z.infer<typeof Activation>

const pos = z.number().int().min(1)

/** One layer of a custom stack. Shapes are inferred from the input. */
export const LayerSpec = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('conv'),
    filters: pos.max(1024),
    kernel: pos.max(15),
    stride: pos.max(8).default(1),
    padding: z.enum(['valid', 'same']).default('valid'),
    activation: Activation.default('linear'),
  }),
  z.object({
    type: z.literal('pool'),
    kind: z.enum(['max', 'avg']).default('max'),
    size: pos.max(8).default(2),
  }),
  z.object({ type: z.literal('activation'), fn: Activation }),
  z.object({ type: z.literal('batchnorm') }),
  z.object({ type: z.literal('dropout'), rate: z.number().min(0).max(0.95) }),
  z.object({ type: z.literal('flatten') }),
  z.object({ type: z.literal('dense'), units: pos.max(8192), activation: Activation.default('linear') }),
])
export type LayerSpec = z.input<typeof LayerSpec>

/**
 * Geometric augmentation, applied on the fly to training batches only. Ranges are ± around the
 * identity: rotation in degrees, zoom/translate as fractions of the image size, shear in degrees.
 */
export const AugmentConfig = z.object({
  hflip: z.boolean().default(false),
  vflip: z.boolean().default(false),
  rotationDeg: z.number().min(0).max(180).default(0),
  zoom: z.number().min(0).max(0.9).default(0),
  /** Independent scale range, as torchvision's RandomAffine(scale=(a, b)); overrides zoom when set. */
  scale: z.tuple([z.number().min(0.1), z.number().max(4)]).optional(),
  translate: z.number().min(0).max(0.5).default(0),
  shearDeg: z.number().min(0).max(45).default(0),
  /** Train on the original set plus one augmented copy (seed-mlp's variant), instead of replacing. */
  concatOriginal: z.boolean().default(false),
})
export type AugmentConfig = z.input<typeof AugmentConfig>

export const AUGMENT_PRESETS = ['none', 'seed-mlp-affine', 'keras-affine', 'cats-dogs'] as const

/** What a run learns: a class per image, boxes, or boxes with instance masks. */
export const TASKS = ['classify', 'detect', 'segment'] as const
export const Task = z.enum(TASKS)
export type Task = z.infer<typeof Task>

/** Where validation comes from: the project's val split, its test split, or a seeded fraction of train. */
const Validation = z.union([z.literal('val'), z.literal('test'), z.number().gt(0).lt(0.9)]).default('val')
const EarlyStopping = z
  .object({ patience: pos.max(1000) })
  .nullable()
  .default(null)
const PinnedImageIds = z.array(z.number().int()).max(64).default([])

/**
 * The engines a run can train on, fastest first, in the order a run tries them (see
 * src-main/train/backends/select.ts). webgpu and webgl run in Chromium (in Electron, the hidden trainer
 * window's worker); webgpu also in the trainer process through Dawn for Node (CLI, web host).
 */
export const BACKENDS = ['webgpu', 'webgl', 'tensorflow', 'wasm', 'cpu'] as const
/** Forces a run's backend; absent: the fastest that starts here. */
const BackendChoice = z.enum(BACKENDS).optional()

export const ClassifyConfig = z
  .object({
    task: z.literal('classify'),
    name: z.string().max(200).optional(),
    model: ModelPreset,
    /** For `custom`: the stack, ending in the classifier's hidden layers (the output layer is added). */
    layers: z.array(LayerSpec).max(64).optional(),
    /** Input size; images are resized to it. Default: the preset's, else the project's most common size. */
    input: z
      .object({
        width: pos.max(1024),
        height: pos.max(1024),
        channels: z.union([z.literal(1), z.literal(3)]),
      })
      .optional(),
    /** Pixels are scaled to [0,1], then (x - mean) / std. */
    normalize: z.object({ mean: z.number(), std: z.number().positive() }).default({ mean: 0, std: 1 }),
    optimizer: z.enum(['sgd', 'adam', 'rmsprop']),
    learningRate: z.number().positive().max(10),
    momentum: z.number().min(0).max(0.999).default(0),
    batchSize: pos.max(4096),
    epochs: pos.max(1000),
    seed: z.number().int().default(42),
    validation: Validation,
    /** Stop when validation loss has not improved for `patience` epochs, and restore the best weights. */
    earlyStopping: EarlyStopping,
    augment: AugmentConfig.nullable().default(null),
    /** Weight initialisation: PyTorch's defaults (the seed write-ups) or Keras'. */
    init: z.enum(['torch', 'keras']).default('torch'),
    /** Images whose top-3 predictions are recorded after every epoch. */
    pinnedImageIds: PinnedImageIds,
    /** Evaluate on the test split after every epoch too (the seed write-ups report it). */
    testEachEpoch: z.boolean().default(false),
    backend: BackendChoice,
    /**
     * Learning-rate schedule: a linear warm-up over `warmupEpochs`, then constant or a cosine decay
     * to 5% of the rate. Absent: the constant rate of the seed write-ups.
     */
    schedule: z
      .object({ kind: z.enum(['cosine', 'constant']), warmupEpochs: z.number().int().min(0).max(100) })
      .nullable()
      .optional(),
    /** Decoupled weight decay (AdamW-style) on kernels, per step, times the learning rate. Absent: none. */
    weightDecay: z.number().min(0).max(1).optional(),
    /** Label smoothing of the training loss's targets (0: none). */
    labelSmoothing: z.number().min(0).max(0.5).optional(),
    /** Weigh each class's loss by the inverse of its share of train (`balanced`), or not. */
    classWeights: z.enum(['none', 'balanced']).optional(),
    /** An exponential moving average of the weights, used for evaluation and the final model. */
    ema: z
      .object({ decay: z.number().min(0.5).max(0.99999) })
      .nullable()
      .optional(),
  })
  .superRefine((c, ctx) => {
    if (c.model === 'custom' && !c.layers?.length) {
      ctx.addIssue({ code: 'custom', path: ['layers'], message: 'a custom model needs at least one layer' })
    }
    if (c.model === 'auto' && !c.layers?.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['layers'],
        message: 'an auto recipe carries its chosen layers: ask train.defaults for it',
      })
    }
  })
export type ClassifyConfig = z.input<typeof ClassifyConfig>
export type ClassifyConfigParsed = z.output<typeof ClassifyConfig>

/**
 * Detector architectures (see src-main/train/tasks/detect/model.ts): a pretrained MobileNetV2
 * backbone, frozen, under a trainable feature pyramid and CenterNet heads; or a small network
 * trained from scratch.
 */
export const DETECTION_MODELS = ['mobilenet-v2', 'centernet-s'] as const
export const DetectionModel = z.enum(DETECTION_MODELS)

/**
 * Augmentation for detection, applied to training batches only: copy-paste of labelled instances
 * from other training images (Ghiasi et al. 2021), scale jitter, flips, and photometric changes.
 */
export const DetectAugment = z.object({
  /** Chance that an image gets instances pasted onto it from other training images. */
  copyPaste: z.number().min(0).max(1).default(0.5),
  /** At most this many instances pasted onto one image. */
  copyPasteMax: z.number().int().min(1).max(20).default(4),
  /** Random zoom of the whole image, as a range of scale factors. */
  scale: z.tuple([z.number().min(0.1).max(4), z.number().min(0.1).max(4)]).default([0.6, 1.4]),
  hflip: z.boolean().default(true),
  vflip: z.boolean().default(false),
  /** Brightness and contrast jitter, as fractions (±). */
  brightness: z.number().min(0).max(1).default(0.25),
  contrast: z.number().min(0).max(1).default(0.25),
  /** Standard deviation of added Gaussian noise, in [0,1] pixel units. */
  noise: z.number().min(0).max(0.5).default(0.03),
  /** Chance of a light box blur. */
  blur: z.number().min(0).max(1).default(0.2),
})
export type DetectAugment = z.input<typeof DetectAugment>

const multipleOf32 = z
  .number()
  .int()
  .min(32)
  .max(1024)
  .refine((v) => v % 32 === 0, 'must be a multiple of 32')

const detectionFields = {
  name: z.string().max(200).optional(),
  model: DetectionModel.default('mobilenet-v2'),
  /** The training resolution (letterboxed). Default: chosen from the project's image sizes. */
  input: z.object({ width: multipleOf32, height: multipleOf32 }).optional(),
  optimizer: z.enum(['adam', 'sgd']).default('adam'),
  learningRate: z.number().positive().max(10).default(4e-3),
  momentum: z.number().min(0).max(0.999).default(0.9),
  /** Decoupled weight decay (AdamW-style), per step, times the learning rate. */
  weightDecay: z.number().min(0).max(0.1).default(5e-4),
  batchSize: pos.max(256).default(8),
  epochs: pos.max(2000).default(100),
  /** Linear warm-up, then a cosine decay to 5% of the learning rate. */
  warmupEpochs: z.number().int().min(0).max(100).default(3),
  schedule: z.enum(['cosine', 'constant']).default('cosine'),
  /** An exponential moving average of the weights, used for evaluation and predictions. */
  ema: z
    .object({ decay: z.number().min(0.5).max(0.99999) })
    .nullable()
    .default({ decay: 0.995 }),
  augment: DetectAugment.default(DetectAugment.parse({})),
  /** Detections kept per image (Mask R-CNN's default is 100). */
  maxDetections: z.number().int().min(1).max(1000).default(100),
  /** Detections scoring below this are dropped when decoding. */
  scoreFloor: z.number().min(0).max(1).default(0.01),
  /** Detections at or above this count as shown (the per-epoch tables, the CLI). */
  displayThreshold: z.number().min(0).max(1).default(0.5),
  seed: z.number().int().default(42),
  validation: Validation,
  earlyStopping: EarlyStopping,
  /** Images whose detections are recorded before training and after every epoch. */
  pinnedImageIds: PinnedImageIds,
  testEachEpoch: z.boolean().default(false),
  backend: BackendChoice,
}

export const DetectConfig = z.object({ task: z.literal('detect'), ...detectionFields })
export const SegmentConfig = z.object({
  task: z.literal('segment'),
  ...detectionFields,
  /** Number of mask prototypes (YOLACT-style); each instance mixes them with its own coefficients. */
  prototypes: z.number().int().min(4).max(64).default(16),
})
export type DetectConfig = z.input<typeof DetectConfig>
export type SegmentConfig = z.input<typeof SegmentConfig>
export type DetectionConfigParsed = z.output<typeof DetectConfig> | z.output<typeof SegmentConfig>

/** One run's settings: a union on `task`. Each task's own fields are in its schema above. */
export const TrainConfig = z.discriminatedUnion('task', [ClassifyConfig, DetectConfig, SegmentConfig])
export type TrainConfig = z.input<typeof TrainConfig>
export type TrainConfigParsed = z.output<typeof TrainConfig>

export const RunStatus = z.enum(['queued', 'running', 'cancelled', 'failed', 'done'])

export const Top3 = z.array(z.object({ classId: z.number().int(), score: z.number() }))

/**
 * One epoch of any task. `metrics` holds the task's named figures: classification reports
 * `accuracy`, `val_accuracy` (and `test_loss`, `test_accuracy` when the test split is evaluated
 * every epoch); detection reports its loss parts (`loss_heatmap`, `loss_box`, `loss_mask`) and the
 * validation COCO figures (`val_box_map`, `val_box_map50`, `val_mask_map`, `val_mask_map50`, ...).
 */
export const EpochMetrics = z.object({
  epoch: z.number().int(),
  loss: z.number(),
  valLoss: z.number().nullable(),
  metrics: z.record(z.string(), z.number()),
  imagesPerS: z.number(),
  seconds: z.number(),
  lr: z.number(),
  /** The smoothed per-batch training loss through the epoch, sampled (at most about 50 points). */
  batchLoss: z.array(z.number()).optional(),
})
export type EpochMetrics = z.infer<typeof EpochMetrics>

/** A named metric of an epoch, or null where the epoch did not measure it. */
export function metricOf(m: EpochMetrics | undefined, name: string): number | null {
  const v = m?.metrics[name]
  return v === undefined ? null : v
}

/** A detection: a box (normalised to the image), a class, a score and, for segmentation, a mask. */
export const Detection = z.object({
  classId: z.number().int(),
  score: z.number(),
  box: z.object({ x: z.number(), y: z.number(), w: z.number(), h: z.number() }),
  /** The instance mask at the image's own size, in COCO's compressed RLE string form. */
  mask: z.object({ size: z.tuple([z.number().int(), z.number().int()]), counts: z.string() }).optional(),
})
export type Detection = z.infer<typeof Detection>

/** The 12 figures of COCO's summary, for boxes or masks. */
export const CocoStats = z.object({
  ap: z.number(),
  ap50: z.number(),
  ap75: z.number(),
  apSmall: z.number(),
  apMedium: z.number(),
  apLarge: z.number(),
  ar1: z.number(),
  ar10: z.number(),
  ar100: z.number(),
  arSmall: z.number(),
  arMedium: z.number(),
  arLarge: z.number(),
})
export type CocoStats = z.infer<typeof CocoStats>

/** COCO evaluation of a detection or segmentation run on one split. -1: not measurable (no such objects). */
export const DetectionEvaluation = z.object({
  split: z.string(),
  images: z.number().int(),
  instances: z.number().int(),
  box: CocoStats,
  mask: CocoStats.nullable(),
  perClass: z.array(
    z.object({
      classId: z.number().int(),
      instances: z.number().int(),
      boxAp: z.number(),
      boxAp50: z.number(),
      maskAp: z.number().nullable(),
      maskAp50: z.number().nullable(),
      /** Box precision at IoU 0.5 at the 101 recall points 0, 0.01 … 1 (-1 where undefined). */
      boxPr50: z.array(z.number()),
    }),
  ),
})
export type DetectionEvaluation = z.infer<typeof DetectionEvaluation>

export const BackendInfo = z.object({
  name: z.string(),
  reason: z.string(),
  /** What was tried, in order, and why each was or was not used. */
  tried: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string() })),
})
export type BackendInfo = z.infer<typeof BackendInfo>

export const RunSummary = z.object({
  id: z.number().int(),
  name: z.string(),
  status: RunStatus,
  model: z.string(),
  backend: z.string().nullable(),
  /** Why that backend: what was tried before it. */
  backendReason: z.string().nullable(),
  epochsDone: z.number().int(),
  epochs: z.number().int(),
  bestValLoss: z.number().nullable(),
  bestEpoch: z.number().int().nullable(),
  testAccuracy: z.number().nullable(),
  task: Task,
  /** The run's headline test figures: `accuracy`, or `box_map50`, `box_map`, `mask_map50`, `mask_map`. */
  testMetrics: z.record(z.string(), z.number()).nullable(),
  createdAt: z.string(),
  error: z.string().nullable(),
})
export type RunSummary = z.infer<typeof RunSummary>

export const Evaluation = z.object({
  split: z.string(),
  accuracy: z.number(),
  loss: z.number(),
  classIds: z.array(z.number().int()),
  perClass: z.array(z.object({ classId: z.number().int(), accuracy: z.number(), count: z.number().int() })),
  /** confusion[true][pred], indexed like classIds. */
  confusion: z.array(z.array(z.number().int())),
  /** Wrong samples, most confident first, with the model's top-3 guesses. */
  wrong: z.array(z.object({ imageId: z.number().int(), trueClassId: z.number().int(), top3: Top3 })),
  samples: z.number().int(),
})
export type Evaluation = z.infer<typeof Evaluation>

export const RunDetail = z.object({
  summary: RunSummary,
  /** null for an imported model, which has no training config. */
  config: TrainConfig.nullable(),
  history: z.array(EpochMetrics),
  evaluation: Evaluation.nullable(),
  /** Detection and segmentation runs: COCO figures on the test split. */
  detection: DetectionEvaluation.nullable(),
  /** Per pinned image, per epoch, the top-3 guesses (classification). */
  pinned: z.array(
    z.object({
      imageId: z.number().int(),
      /** The image's class tag now, if it has one. */
      trueClassId: z.number().int().nullable(),
      epochs: z.array(z.object({ epoch: z.number().int(), top3: Top3 })),
    }),
  ),
  /** Per pinned image, per epoch from 0 (untrained), the detections (detection and segmentation). */
  pinnedDetections: z.array(
    z.object({
      imageId: z.number().int(),
      epochs: z.array(z.object({ epoch: z.number().int(), detections: z.array(Detection) })),
    }),
  ),
})
export type RunDetail = z.infer<typeof RunDetail>

const RunRef = z.object({ runId: z.number().int() })

const Box = z.object({ x: z.number(), y: z.number(), w: z.number(), h: z.number() })

/** One thing a detector got wrong on an image (see src-shared/domain/detection-errors.ts). */
export const DetectionErrorItem = z.object({
  kind: z.enum(DETECTION_ERROR_KINDS),
  /** The detection's index in the image's `detections` (absent for a miss). */
  detection: z.number().int().optional(),
  /** The labelled object's index in the image's `truths` (absent for a false positive). */
  truth: z.number().int().optional(),
  classId: z.number().int(),
  trueClassId: z.number().int().optional(),
  score: z.number().optional(),
  iou: z.number(),
  box: Box,
  weight: z.number(),
})
export type DetectionErrorItem = z.infer<typeof DetectionErrorItem>

/** A test image judged: its shown detections, its labels now, and what is wrong, worst first. */
export const ImageDetectionErrors = z.object({
  imageId: z.number().int(),
  width: z.number().int(),
  height: z.number().int(),
  detections: z.array(Detection),
  truths: z.array(z.object({ classId: z.number().int(), box: Box, crowd: z.boolean() })),
  correct: z.number().int(),
  errors: z.array(DetectionErrorItem),
  wrongness: z.number(),
})
export type ImageDetectionErrors = z.infer<typeof ImageDetectionErrors>

export const trainCalls = {
  'train.backend': { req: Empty, res: BackendInfo },
  /** The tasks this project's labels can train, and why the others cannot. */
  'train.tasks': {
    req: Empty,
    res: z.array(z.object({ task: Task, available: z.boolean(), reason: z.string() })),
  },
  /**
   * A task's recipe (for classification, a preset's; `auto` by default), filled in for this project
   * (input size, classes). `notes`: why the recipe is what it is, in plain words (`auto` explains
   * each choice from the project's images); not part of the config.
   */
  'train.defaults': {
    req: z.object({ task: Task.default('classify'), model: ModelPreset.default('auto') }),
    res: TrainConfig.and(z.object({ notes: z.array(z.string()).optional() })),
  },
  /** Checks a config against the project without starting anything. */
  'train.validate': {
    req: z.object({ config: TrainConfig }),
    res: z.object({ ok: z.literal(true), notes: z.array(z.string()) }),
  },
  'train.start': { req: z.object({ config: TrainConfig }), res: RunRef },
  'train.cancel': { req: RunRef, res: Ok },
  'train.resume': { req: RunRef, res: RunRef },
  /** Queues one run per combination of the grid's values over the base config. */
  'train.sweep': {
    req: z.object({
      base: TrainConfig,
      grid: z.object({
        learningRate: z.array(z.number().positive()).max(6).optional(),
        batchSize: z.array(pos).max(6).optional(),
        optimizer: z
          .array(z.enum(['sgd', 'adam', 'rmsprop']))
          .max(3)
          .optional(),
      }),
    }),
    res: z.object({ runIds: z.array(z.number().int()) }),
  },
  'runs.list': { req: Empty, res: z.array(RunSummary) },
  'runs.get': { req: RunRef, res: RunDetail },
  'runs.delete': { req: RunRef, res: Ok },
  /** The images in one confusion-matrix cell. */
  'runs.cell': {
    req: RunRef.extend({
      trueClassId: z.number().int(),
      predClassId: z.number().int(),
      limit: pos.max(2000).default(200),
    }),
    res: z.array(z.object({ imageId: z.number().int(), top3: Top3 })),
  },
  /** Test-split predictions, for the prediction grid. */
  'runs.predictions': {
    req: RunRef.extend({ offset: z.number().int().min(0).default(0), limit: pos.max(500).default(36) }),
    res: z.array(
      z.object({ imageId: z.number().int(), trueClassId: z.number().int().nullable(), top3: Top3 }),
    ),
  },
  /**
   * A detection run's test images judged against their labels as they are now, worst first: false
   * positives, duplicates, wrong classes, poor localisation and misses (the error gallery).
   */
  'runs.detectionErrors': {
    req: RunRef.extend({
      /** Detections below this are not judged. Default: the run's display threshold. */
      threshold: z.number().min(0).max(1).optional(),
      limit: pos.max(2000).default(200),
    }),
    res: z.object({
      threshold: z.number(),
      images: z.number().int(),
      byKind: z.record(z.string(), z.number().int()),
      items: z.array(ImageDetectionErrors),
    }),
  },
  /**
   * A run's stored predictions for one image: from the test evaluation, or from pre-labelling
   * (`from` says which; null and none when the run has not predicted it).
   */
  'runs.imagePredictions': {
    req: RunRef.extend({ imageId: z.number().int() }),
    res: z.object({ detections: z.array(Detection), from: z.enum(['test', 'prelabel']).nullable() }),
  },
  /** Pre-labels images with a detection run (default: every unlabeled image), as a cancellable job. */
  'prelabel.start': {
    req: RunRef.extend({ imageIds: z.array(z.number().int()).min(1).max(100_000).optional() }),
    res: z.object({ jobId: z.string(), total: z.number().int() }),
  },
  'prelabel.cancel': { req: z.object({ jobId: z.string() }), res: Ok },
  /** The next image (after `after`, wrapping) that the run pre-labelled and nobody marked reviewed. */
  'images.nextUnreviewed': {
    req: RunRef.extend({ after: z.number().int().nullable() }),
    res: z.object({ id: z.number().int().nullable(), prelabelled: z.number().int() }),
  },
  /** Writes the run's model as tfjs LayersModel files (model.json + weights.bin) into a folder. */
  'runs.export': {
    req: RunRef.extend({ dir: z.string().min(1) }),
    res: z.object({ files: z.array(z.string()) }),
  },
  /** Imports tfjs LayersModel files as a finished run, to predict with. */
  'models.import': {
    req: z.object({ dir: z.string().min(1), name: z.string().optional() }),
    res: RunRef,
  },
  /** Predicts new images (files on disk) with a run's model: the top-3 for each. */
  'models.predict': {
    req: RunRef.extend({ paths: z.array(z.string().min(1)).min(1).max(500) }),
    res: z.array(
      z.object({
        path: z.string(),
        top3: Top3.optional(),
        /** Detection runs: what was found, in the file's own pixel size. */
        detections: z.array(Detection).optional(),
        size: z.object({ width: z.number().int(), height: z.number().int() }).optional(),
        error: z.string().optional(),
      }),
    ),
  },
  /** Nine augmented versions of one image, as PNG data URLs. */
  'augment.preview': {
    req: z.object({
      imageId: z.number().int(),
      augment: AugmentConfig,
      seed: z.number().int().default(1),
      size: pos.max(512).default(160),
    }),
    res: z.object({ images: z.array(z.string()) }),
  },
} as const

export const TrainBatch = z.object({
  runId: z.number().int(),
  epoch: z.number().int(),
  batch: z.number().int(),
  batches: z.number().int(),
  loss: z.number(),
  /** Exponentially smoothed loss. */
  smoothLoss: z.number(),
  imagesPerS: z.number(),
  etaS: z.number(),
  backend: z.string(),
})

export const trainEvents = {
  'train.started': z.object({ runId: z.number().int(), backend: BackendInfo }),
  'train.batch': TrainBatch,
  'train.epoch': z.object({
    runId: z.number().int(),
    metrics: EpochMetrics,
    /** What the model now says of each pinned image: its top-3, or its detections. */
    pinned: z.array(
      z.object({
        imageId: z.number().int(),
        top3: Top3.optional(),
        detections: z.array(Detection).optional(),
      }),
    ),
  }),
  'train.finished': z.object({ runId: z.number().int(), status: RunStatus, summary: RunSummary }),
  'prelabel.progress': z.object({
    jobId: z.string(),
    runId: z.number().int(),
    done: z.number().int(),
    total: z.number().int(),
    failed: z.number().int(),
  }),
  'prelabel.finished': z.object({
    jobId: z.string(),
    runId: z.number().int(),
    done: z.number().int(),
    total: z.number().int(),
    failed: z.array(z.object({ imageId: z.number().int(), error: z.string() })),
    cancelled: z.boolean(),
    error: z.string().nullable(),
  }),
} as const
