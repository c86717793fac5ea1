import * as tf from '@tensorflow/tfjs'
import type { DetectionConfigParsed } from '../../../../src-shared/api/train'

/**
 * The detector: a backbone giving features at strides 4, 8, 16 and 32 (a pretrained MobileNetV2,
 * frozen, or a small residual network trained from scratch), a feature pyramid brought back to
 * stride 4 with nearest-neighbour upsampling (no transposed convolutions, which are slow on wasm),
 * and CenterNet-style heads on the stride-4 map: class heatmaps, box edge distances and, for
 * instance segmentation, per-cell mask coefficients that mix a set of mask prototypes (YOLACT).
 * What trains uses only ops that the wasm and WebGPU backends can train: conv2d, batch norm, ReLU,
 * add, resize.
 */

/**
 * MobileNetV2's layers the pretrained detector reads features from: stride 2 (for the mask
 * prototypes' detail), then 4, 8, 16 and 32 (the feature pyramid).
 */
export const BACKBONE_TAPS = [
  'expanded_conv_project_BN',
  'block_2_add',
  'block_5_add',
  'block_12_add',
  'block_16_project_BN',
] as const

/** A frozen, pretrained feature extractor: image in [0,1] → the four taps' maps. */
export interface Backbone {
  model: tf.LayersModel
  name: string
}

/** The detector as it trains: the trainable part (`head`), and the frozen backbone under it, if any. */
export interface Detector {
  backbone: Backbone | null
  head: tf.LayersModel
}

export interface DetectorSpec {
  model: DetectionConfigParsed['model']
  width: number
  height: number
  classes: number
  /** Number of mask prototypes; 0 for boxes only. */
  prototypes: number
  seed: number
}

interface Widths {
  stages: number[]
  fpn: number
  head: number
  protos: number
}

const WIDTHS: Record<DetectorSpec['model'], Widths> = {
  'mobilenet-v2': { stages: [], fpn: 64, head: 48, protos: 32 },
  'centernet-s': { stages: [16, 32, 64, 96, 128], fpn: 64, head: 48, protos: 32 },
}

/** Whether an architecture reads a pretrained backbone (then the caller loads and passes it). */
export const usesBackbone = (model: DetectorSpec['model']): boolean => model === 'mobilenet-v2'

/** Box edge distances are predicted in units of this many input pixels. */
export const BOX_UNIT = 16
/** The heatmap's starting probability everywhere (CenterNet's focal-loss prior). */
const PRIOR = 0.1

/** The trainable part of the detector; with a backbone, its inputs are the backbone's four maps. */
export function buildDetector(spec: DetectorSpec, backbone: Backbone | null = null): Detector {
  if (usesBackbone(spec.model) !== !!backbone)
    throw new Error(`the ${spec.model} detector ${backbone ? 'takes no' : 'needs a'} pretrained backbone`)
  const w = WIDTHS[spec.model]
  let seed = spec.seed * 1000
  const init = () => tf.initializers.heNormal({ seed: seed++ })
  const conv = (x: tf.SymbolicTensor, filters: number, kernel: number, strides = 1, bias = false) =>
    tf.layers
      .conv2d({
        filters,
        kernelSize: kernel,
        strides,
        padding: 'same',
        useBias: bias,
        kernelInitializer: init(),
      })
      .apply(x) as tf.SymbolicTensor
  const bn = (x: tf.SymbolicTensor) =>
    tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3 }).apply(x) as tf.SymbolicTensor
  const relu = (x: tf.SymbolicTensor) => tf.layers.reLU().apply(x) as tf.SymbolicTensor
  const cbr = (x: tf.SymbolicTensor, filters: number, kernel = 3, strides = 1) =>
    relu(bn(conv(x, filters, kernel, strides)))
  const block = (x: tf.SymbolicTensor, filters: number) => {
    const y = bn(conv(cbr(x, filters), filters, 3))
    return relu(tf.layers.add().apply([x, y]) as tf.SymbolicTensor)
  }

  let inputs: tf.SymbolicTensor[]
  let features: tf.SymbolicTensor[]
  if (backbone) {
    // The backbone's maps at the canvas size, as the head's inputs.
    const probe = tf.tidy(
      () => backbone.model.predict(tf.zeros([1, spec.height, spec.width, 3])) as tf.Tensor[],
    )
    features = probe.map((t) => tf.input({ shape: t.shape.slice(1) as number[] }))
    tf.dispose(probe)
    // Without mask prototypes nothing reads the stride-2 map: it is no input of the head (a saved
    // model keeps only the inputs its outputs use, so a reloaded head would not take it either).
    inputs = spec.prototypes > 0 ? features : features.slice(1)
  } else {
    const input = tf.input({ shape: [spec.height, spec.width, 3] })
    let x = cbr(input, w.stages[0]!, 3, 2)
    features = [x]
    for (const filters of w.stages.slice(1)) {
      x = cbr(x, filters, 3, 2)
      x = block(x, filters)
      features.push(x)
    }
    inputs = [input]
  }
  // Top-down pathway back to stride 4: upsample, add the lateral 1×1 of the level, smooth.
  // features[0] is the stride-2 map, which only the mask prototypes read.
  let p = conv(features[features.length - 1]!, w.fpn, 1, 1, true)
  for (let i = features.length - 2; i >= 1; i--) {
    const up = tf.layers.upSampling2d({ size: [2, 2] }).apply(p) as tf.SymbolicTensor
    const lateral = conv(features[i]!, w.fpn, 1, 1, true)
    p = cbr(tf.layers.add().apply([up, lateral]) as tf.SymbolicTensor, w.fpn)
  }

  // Two towers on the stride-4 map (it is where most of the compute goes): one for the class
  // heatmaps, one shared by the boxes and the mask coefficients; and a lighter one for prototypes.
  const out1x1 = (
    x: tf.SymbolicTensor,
    outputs: number,
    biasInit: ReturnType<typeof tf.initializers.zeros>,
    activation?: 'tanh' | 'relu',
  ) =>
    tf.layers
      .conv2d({
        filters: outputs,
        kernelSize: 1,
        activation,
        kernelInitializer: tf.initializers.randomNormal({ stddev: 0.01, seed: seed++ }),
        biasInitializer: biasInit,
      })
      .apply(x) as tf.SymbolicTensor
  const heatTower = cbr(p, w.head)
  const boxTower = cbr(p, w.head)
  const outputs = [
    out1x1(heatTower, spec.classes, tf.initializers.constant({ value: -Math.log((1 - PRIOR) / PRIOR) })),
    // Distances start near one unit (16 px) from the cell centre, so GIoU has a box to grade.
    out1x1(boxTower, 4, tf.initializers.constant({ value: 1 })),
  ]
  if (spec.prototypes > 0) {
    outputs.push(out1x1(boxTower, spec.prototypes, tf.initializers.zeros(), 'tanh'))
    // Prototypes at stride 2: made at stride 4, upsampled, plus a 1×1 of the stride-2 features
    // for their edges. Every op at stride 2 is a thin one: they cost the most on a CPU.
    const coarse = conv(cbr(p, w.protos), spec.prototypes, 1, 1, true)
    const up = tf.layers.upSampling2d({ size: [2, 2] }).apply(coarse) as tf.SymbolicTensor
    const fine = conv(features[0]!, spec.prototypes, 1, 1, false)
    outputs.push(relu(tf.layers.add().apply([up, fine]) as tf.SymbolicTensor))
  }
  return { backbone, head: tf.model({ inputs, outputs }) }
}

/** The model's outputs, named. */
export type DetectorOutputs = {
  /** [B, Hg, Wg, C] heatmap logits. */
  heat: tf.Tensor4D
  /** [B, Hg, Wg, 4] raw edge distances (left, top, right, bottom) before ReLU × BOX_UNIT. */
  box: tf.Tensor4D
  /** [B, Hg, Wg, K] mask coefficients in (-1, 1). */
  coef?: tf.Tensor4D
  /** [B, 2·Hg, 2·Wg, K] mask prototypes (≥ 0), at stride 2. */
  protos?: tf.Tensor4D
}

/**
 * The detector's outputs for a batch of canvases (pixels in [0,1]). The backbone always runs in
 * inference mode: it is frozen, so no gradient goes into it.
 */
export function runDetector(d: Detector, x: tf.Tensor4D, training: boolean): DetectorOutputs {
  let inputs = d.backbone ? (d.backbone.model.predict(x) as tf.Tensor4D[]) : [normaliseInput(x)]
  // The backbone's maps the head takes: the last ones (a detector without masks skips stride 2).
  if (inputs.length > d.head.inputs.length) {
    tf.dispose(inputs.slice(0, inputs.length - d.head.inputs.length))
    inputs = inputs.slice(inputs.length - d.head.inputs.length)
  }
  const out = (training ? d.head.apply(inputs, { training: true }) : d.head.predict(inputs)) as tf.Tensor4D[]
  return { heat: out[0]!, box: out[1]!, coef: out[2], protos: out[3] }
}

/** The network trained from scratch sees (v − 0.5) / 0.25; the pretrained one the [0,1] it was trained on. */
function normaliseInput(x: tf.Tensor4D): tf.Tensor4D {
  return x.sub(0.5).mul(4)
}
