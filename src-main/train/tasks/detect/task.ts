import * as tf from '@tensorflow/tfjs'
import { DetectAugment, type DetectionConfigParsed } from '../../../../src-shared/api/train'
import type { TrainOptions, TrainTask } from '../../trainer'
import { augmentSample, photometric } from './augment'
import { decodeOutputs, detectAll, inputTensor, type DecodeOptions, type ImageDetection } from './decode'
import { epochFigures, evaluateSet } from './evaluate'
import { cellCentres, detectionLoss } from './loss'
import { runDetector, type Backbone } from './model'
import type { DetectionSet } from './sample'
import { buildTargets, STRIDE, type Targets } from './targets'

/**
 * Detection and instance segmentation as a training task: batches of augmented canvases with their
 * targets, the detector's loss, and after each epoch the validation loss and COCO mAP. Pure tfjs.
 */

export interface DetectionData {
  train: DetectionSet
  val: DetectionSet | null
  test: DetectionSet | null
  classes: number
  /** Train masks (segment) or boxes only (detect). */
  masks: boolean
}

export interface DetectionBatch {
  x: Float32Array
  count: number
  targets: Targets
}

/** What the heads' loss needs beyond the outputs: the grid's cell centres, made once per run. */
export interface DetectionTask extends TrainTask<DetectionBatch> {
  /** Detections with the head as it is (evaluation weights in place), for any samples of the run's canvas size. */
  detect(head: tf.LayersModel, set: DetectionSet, o?: Partial<DecodeOptions>): Promise<ImageDetection[][]>
  dispose(): void
}

/**
 * The task over the trainable part of the detector (`head`: what the trainer optimises, averages
 * and checkpoints); a pretrained backbone, frozen, runs under it.
 */
export function detectionTask(
  data: DetectionData,
  config: DetectionConfigParsed,
  backbone: Backbone | null,
): DetectionTask {
  const { width, height } = data.train
  const gridW = width / STRIDE
  const gridH = height / STRIDE
  const augment = DetectAugment.parse(config.augment)
  const centres = tf.tensor4d(cellCentres(gridW, gridH), [1, gridH, gridW, 2])
  const decode: DecodeOptions = { maxDetections: config.maxDetections, scoreFloor: config.scoreFloor }
  const shape = (batch: number) => ({ batch, gridW, gridH, classes: data.classes })

  /** Float inputs for samples (augmented ones get photometric changes). */
  const toInput = (samples: DetectionSet['samples'], rand: (() => number) | null) => {
    const size = width * height * 3
    const x = new Float32Array(samples.length * size)
    samples.forEach((s, i) => {
      const o = i * size
      for (let k = 0; k < size; k++) x[o + k] = s.pixels[k]! / 255
      if (rand) photometric(x, o, width, height, augment, rand)
    })
    return x
  }

  const lossOf = (head: tf.LayersModel, b: DetectionBatch, training: boolean) => {
    const out = runDetector({ backbone, head }, tf.tensor4d(b.x, [b.count, height, width, 3]), training)
    return detectionLoss(out, b.targets, centres)
  }

  const task: DetectionTask = {
    trainCount: data.train.samples.length,
    batch: (indices, rand) => {
      const samples = Array.from(indices, (i) =>
        augmentSample(data.train.samples[i]!, data.train.samples, augment, width, height, rand),
      )
      return {
        x: toInput(samples, rand),
        count: samples.length,
        targets: buildTargets(samples, shape(samples.length), data.masks),
      }
    },
    loss: (model, b) => lossOf(model, b, true),
    evaluate: async (model) => {
      const val = data.val
      if (!val?.samples.length) return { valLoss: null, metrics: {} }
      // The validation loss and the detections from one forward pass per batch, unaugmented.
      let lossSum = 0
      const n = val.samples.length
      const dets: ImageDetection[][] = []
      const step = Math.max(config.batchSize, 16)
      for (let i = 0; i < n; i += step) {
        const samples = val.samples.slice(i, i + step)
        const targets = buildTargets(samples, shape(samples.length), data.masks)
        const out = tf.tidy(() =>
          runDetector({ backbone, head: model }, inputTensor(samples, width, height), false),
        )
        try {
          const l = tf.tidy(() => detectionLoss(out, targets, centres).total)
          lossSum += (await l.data())[0]! * samples.length
          l.dispose()
          dets.push(...(await decodeOutputs(out, samples, centres, decode)))
        } finally {
          tf.dispose(Object.values(out).filter((v): v is tf.Tensor4D => v !== undefined))
        }
      }
      const figures = epochFigures(evaluateSet(val.samples, dets, data.classes, data.masks), 'val_')
      if (config.testEachEpoch && data.test?.samples.length) {
        const test = await task.detect(model, data.test)
        Object.assign(
          figures,
          epochFigures(evaluateSet(data.test.samples, test, data.classes, data.masks), 'test_'),
        )
      }
      return { valLoss: lossSum / n, metrics: figures }
    },
    detect: (head, set, o = {}) =>
      detectAll({ backbone, head }, set.samples, width, height, centres, { ...decode, ...o }),
    dispose: () => centres.dispose(),
  }
  return task
}

/** The loop settings of a detection recipe: warm-up and cosine decay, weight decay, moving average. */
export function detectionOptions(c: DetectionConfigParsed): TrainOptions {
  return {
    epochs: c.epochs,
    batchSize: c.batchSize,
    seed: c.seed,
    optimizer: { kind: c.optimizer, learningRate: c.learningRate, momentum: c.momentum },
    schedule: { kind: c.schedule, warmupEpochs: c.warmupEpochs },
    weightDecay: c.weightDecay,
    ema: c.ema,
    earlyStopping: c.earlyStopping,
    // The best epoch is the one with the highest validation mAP (masks for segmentation).
    monitor: { metric: c.task === 'segment' ? 'val_mask_map' : 'val_box_map', mode: 'max' },
    dropLast: true,
  }
}
