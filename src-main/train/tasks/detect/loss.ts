import * as tf from '@tensorflow/tfjs'
import { BOX_UNIT, type DetectorOutputs } from './model'
import { STRIDE, type Targets } from './targets'

/**
 * The detector's loss: focal loss on the heatmaps (CenterNet's variant of Lin et al.'s, with
 * Gaussian-softened negatives), GIoU on the boxes of the cells near each centre (TTFNet's
 * weighting), and, for instance masks, binary cross-entropy of each trained cell's mask (its
 * coefficients mixing the prototypes) inside its object's box (YOLACT). Pure tfjs.
 */

export const LOSS_WEIGHTS = { heatmap: 1, box: 5, mask: 2 }

/** Cell centres in input pixels, [1, Hg, Wg, 2] as (x, y). */
export function cellCentres(gridW: number, gridH: number): Float32Array {
  const c = new Float32Array(gridW * gridH * 2)
  for (let y = 0; y < gridH; y++)
    for (let x = 0; x < gridW; x++) {
      c[(y * gridW + x) * 2] = (x + 0.5) * STRIDE
      c[(y * gridW + x) * 2 + 1] = (y + 0.5) * STRIDE
    }
  return c
}

/** Decoded boxes [.., 4] as (x0, y0, x1, y1) from raw edge distances and cell centres. */
export function boxesFrom(raw: tf.Tensor4D, centres: tf.Tensor): tf.Tensor4D {
  const d = tf.relu(raw).mul(BOX_UNIT)
  const [l, t, r, b] = tf.split(d, 4, 3)
  const [cx, cy] = tf.split(centres, 2, 3)
  return tf.concat([cx!.sub(l!), cy!.sub(t!), cx!.add(r!), cy!.add(b!)], 3) as tf.Tensor4D
}

/** Focal loss over the heatmaps, normalised by the number of objects. */
function heatmapLoss(
  logits: tf.Tensor4D,
  heat: tf.Tensor4D,
  weight: tf.Tensor4D,
  objects: number,
): tf.Scalar {
  const p = tf.sigmoid(logits)
  const pos = tf.cast(tf.greaterEqual(heat, 1 - 1e-4), 'float32')
  // log σ(x) and log(1 − σ(x)), computed stably.
  const logP = tf.neg(tf.softplus(tf.neg(logits)))
  const logNotP = tf.neg(tf.softplus(logits))
  const posLoss = logP.mul(tf.square(tf.sub(1, p))).mul(pos)
  const negLoss = logNotP
    .mul(tf.square(p))
    .mul(tf.pow(tf.sub(1, heat), 4))
    .mul(tf.sub(1, pos))
    .mul(weight)
  return tf.neg(tf.add(tf.sum(posLoss), tf.sum(negLoss))).div(Math.max(1, objects)) as tf.Scalar
}

/** 1 − GIoU per cell between predicted and target boxes, weighted and averaged. */
export function giouLoss(pred: tf.Tensor4D, target: tf.Tensor4D, weight: tf.Tensor4D): tf.Scalar {
  const [px0, py0, px1, py1] = tf.split(pred, 4, 3)
  const [gx0, gy0, gx1, gy1] = tf.split(target, 4, 3)
  const eps = 1e-6
  const areaP = px1!.sub(px0!).mul(py1!.sub(py0!))
  const areaG = gx1!.sub(gx0!).mul(gy1!.sub(gy0!))
  const iw = tf.relu(tf.minimum(px1!, gx1!).sub(tf.maximum(px0!, gx0!)))
  const ih = tf.relu(tf.minimum(py1!, gy1!).sub(tf.maximum(py0!, gy0!)))
  const inter = iw.mul(ih)
  const union = areaP.add(areaG).sub(inter).add(eps)
  const enclose = tf
    .maximum(px1!, gx1!)
    .sub(tf.minimum(px0!, gx0!))
    .mul(tf.maximum(py1!, gy1!).sub(tf.minimum(py0!, gy0!)))
    .add(eps)
  const giou = inter.div(union).sub(enclose.sub(union).div(enclose))
  return tf.sum(tf.sub(1, giou).mul(weight)).div(tf.sum(weight).add(eps)) as tf.Scalar
}

/**
 * Mask loss of the trained cells: each cell's coefficients mix the prototypes of its image. The
 * cells are laid out per image (padded to the image with the most), so that one batched product
 * [B, P, K] × [B, K, S] makes every mask without copying the prototypes per cell.
 */
export function maskLoss(out: DetectorOutputs, t: NonNullable<Targets['masks']>): tf.Scalar {
  const coef = out.coef!
  const protos = out.protos!
  const [B, H, W, K] = coef.shape
  const P = protos.shape[1] * protos.shape[2]
  const M = t.count
  // Each cell's slot in its image.
  const slot = new Int32Array(M)
  const used = new Int32Array(B)
  for (let j = 0; j < M; j++) slot[j] = used[t.sample[j]!]!++
  const S = Math.max(1, ...used)
  // The cells' coefficients, picked per image by a one-hot matrix so that the gradient is a plain matrix
  // product (wasm has no UnsortedSegmentSum for gather's gradient).
  const cellPick = new Float32Array(B * S * H * W)
  const target = new Float32Array(B * P * S)
  const weight = new Float32Array(B * P * S)
  for (let j = 0; j < M; j++) {
    const b = t.sample[j]!
    const row = b * S + slot[j]!
    cellPick[row * H * W + t.cell[j]!] = 1
    for (let q = 0, src = j * P, dst = b * P * S + slot[j]!; q < P; q++, dst += S) {
      target[dst] = t.target[src + q]!
      weight[dst] = t.weight[src + q]!
    }
  }
  const c = tf.matMul(tf.tensor3d(cellPick, [B, S, H * W]), coef.reshape([B, H * W, K]) as tf.Tensor3D)
  const logits = tf.matMul(protos.reshape([B, P, K]) as tf.Tensor3D, c, false, true)
  const tt = tf.tensor3d(target, [B, P, S])
  // Binary cross-entropy with logits: max(x, 0) − x·t + log(1 + e^−|x|).
  const bce = tf
    .relu(logits)
    .sub(logits.mul(tt))
    .add(tf.softplus(tf.neg(tf.abs(logits))))
  return tf.sum(bce.mul(tf.tensor3d(weight, [B, P, S]))).div(M) as tf.Scalar
}

export interface LossParts {
  total: tf.Scalar
  parts: Record<string, tf.Scalar>
}

export function detectionLoss(out: DetectorOutputs, t: Targets, centres: tf.Tensor): LossParts {
  const [B, H, W, C] = out.heat.shape
  const heat = tf.tensor4d(t.heat, [B, H, W, C])
  const heatWeight = tf.tensor4d(t.heatWeight, [B, H, W, 1])
  const boxTarget = tf.tensor4d(t.box, [B, H, W, 4])
  const boxWeight = tf.tensor4d(t.boxWeight, [B, H, W, 1])
  const hm = heatmapLoss(out.heat, heat, heatWeight, t.objects)
  const bx = giouLoss(boxesFrom(out.box, centres), boxTarget, boxWeight)
  const parts: Record<string, tf.Scalar> = { loss_heatmap: hm, loss_box: bx }
  let total = hm.add(bx.mul(LOSS_WEIGHTS.box))
  if (t.masks && out.protos) {
    const mk = t.masks.count ? maskLoss(out, t.masks) : tf.scalar(0)
    parts.loss_mask = mk
    total = total.add(mk.mul(LOSS_WEIGHTS.mask))
  }
  return { total: total as tf.Scalar, parts }
}
