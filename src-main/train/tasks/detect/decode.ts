import * as tf from '@tensorflow/tfjs'
import { emptyRle, encodeBitmap, type Rle } from '../../../../src-shared/domain/rle'
import { boxesFrom } from './loss'
import { runDetector, type Detector, type DetectorOutputs } from './model'
import { boxToOriginal, type DetectionSample, type Letterbox } from './sample'
import { PROTO_STRIDE, STRIDE } from './targets'

/**
 * From the heads' outputs to detections in the original image's pixels: heatmap peaks (a cell that
 * is the maximum of its 3×3 neighbourhood, CenterNet's stand-in for NMS), the best
 * `maxDetections` of them above the score floor, their boxes, and for segmentation their masks
 * (the cell's coefficients mixing the prototypes, cropped to the box, upsampled bilinearly to the
 * image and thresholded at ½). Pure tfjs.
 */

export interface DecodeOptions {
  maxDetections: number
  scoreFloor: number
}

/** One detection in the original image: box [x, y, w, h] in pixels, and its mask at the image's size. */
export interface ImageDetection {
  classIndex: number
  score: number
  box: [number, number, number, number]
  mask: Rle | null
}

/** Model inputs for samples: canvas pixels scaled to [0,1]. */
export function inputTensor(samples: readonly DetectionSample[], width: number, height: number): tf.Tensor4D {
  const size = width * height * 3
  const x = new Float32Array(samples.length * size)
  samples.forEach((s, i) => {
    for (let k = 0; k < size; k++) x[i * size + k] = s.pixels[k]! / 255
  })
  return tf.tensor4d(x, [samples.length, height, width, 3])
}

/**
 * The logits of one detection's mask over a window of the grid (the box plus a cell around it):
 * Σ_k protos[y, x, k] · coef[k].
 */
function maskLogits(
  protos: Float32Array,
  protoBase: number,
  coef: Float32Array,
  coefBase: number,
  K: number,
  gridW: number,
  win: { x0: number; y0: number; x1: number; y1: number },
): Float32Array {
  const w = win.x1 - win.x0
  const out = new Float32Array(w * (win.y1 - win.y0))
  for (let y = win.y0; y < win.y1; y++)
    for (let x = win.x0; x < win.x1; x++) {
      let s = 0
      const p = protoBase + (y * gridW + x) * K
      for (let k = 0; k < K; k++) s += protos[p + k]! * coef[coefBase + k]!
      out[(y - win.y0) * w + (x - win.x0)] = s
    }
  return out
}

/**
 * The detection's mask in the original image: each pixel of its (original) box samples the grid's
 * logits bilinearly at its centre; positive logits are in.
 */
function maskInImage(
  logits: Float32Array,
  win: { x0: number; y0: number; x1: number; y1: number },
  canvasBox: readonly [number, number, number, number],
  lb: Letterbox,
): Rle {
  const [bx0, by0, bx1, by1] = boxToOriginal(canvasBox, lb)
  const x0 = Math.floor(bx0)
  const y0 = Math.floor(by0)
  const x1 = Math.min(lb.width, Math.ceil(bx1))
  const y1 = Math.min(lb.height, Math.ceil(by1))
  if (x1 <= x0 || y1 <= y0) return emptyRle(lb.height, lb.width)
  const w = x1 - x0
  const data = new Uint8Array(w * (y1 - y0))
  const ww = win.x1 - win.x0
  const wh = win.y1 - win.y0
  const at = (gx: number, gy: number) =>
    logits[Math.min(wh - 1, Math.max(0, gy - win.y0)) * ww + Math.min(ww - 1, Math.max(0, gx - win.x0))]!
  for (let v = y0; v < y1; v++) {
    const cy = (v + 0.5) * lb.scale + lb.padY
    if (cy < canvasBox[1] || cy > canvasBox[3]) continue
    const gy = cy / PROTO_STRIDE - 0.5
    const iy = Math.floor(gy)
    const fy = gy - iy
    for (let u = x0; u < x1; u++) {
      const cx = (u + 0.5) * lb.scale + lb.padX
      if (cx < canvasBox[0] || cx > canvasBox[2]) continue
      const gx = cx / PROTO_STRIDE - 0.5
      const ix = Math.floor(gx)
      const fx = gx - ix
      const l =
        (at(ix, iy) * (1 - fx) + at(ix + 1, iy) * fx) * (1 - fy) +
        (at(ix, iy + 1) * (1 - fx) + at(ix + 1, iy + 1) * fx) * fy
      if (l > 0) {
        data[(v - y0) * w + (u - x0)] = 1
      }
    }
  }
  // An empty mask is still an answer (a poor one): the detection stays, as Mask R-CNN keeps it.
  return encodeBitmap({ x: x0, y: y0, width: w, height: y1 - y0, data }, lb.height, lb.width)
}

/** Detections for a batch of samples (at most a few dozen at once: the outputs are read back). */
export async function detect(
  model: Detector,
  samples: readonly DetectionSample[],
  width: number,
  height: number,
  centres: tf.Tensor,
  o: DecodeOptions,
): Promise<ImageDetection[][]> {
  if (!samples.length) return []
  const out = tf.tidy(() => runDetector(model, inputTensor(samples, width, height), false))
  try {
    return await decodeOutputs(out, samples, centres, o)
  } finally {
    tf.dispose(Object.values(out).filter((v): v is tf.Tensor4D => v !== undefined))
  }
}

/** Detections from the heads' outputs for a batch of samples (the outputs are left to the caller). */
export async function decodeOutputs(
  out: DetectorOutputs,
  samples: readonly DetectionSample[],
  centres: tf.Tensor,
  o: DecodeOptions,
): Promise<ImageDetection[][]> {
  const [B, H, W, C] = out.heat.shape
  const width = W * STRIDE
  const height = H * STRIDE
  const t = tf.tidy(() => {
    const heat = tf.sigmoid(out.heat)
    const peak = tf.maxPool(heat, 3, 1, 'same')
    const kept = heat.mul(tf.cast(tf.equal(heat, peak), 'float32'))
    const top = tf.topk(kept.reshape([B, H * W * C]), Math.min(o.maxDetections, H * W * C))
    return { values: top.values, indices: top.indices, boxes: boxesFrom(out.box, centres) }
  })
  const values = (await t.values.data()) as Float32Array
  const indices = (await t.indices.data()) as Int32Array
  const boxData = (await t.boxes.data()) as Float32Array
  tf.dispose(Object.values(t))
  const coefData = out.coef && out.protos ? ((await out.coef.data()) as Float32Array) : null
  const protoData = out.coef && out.protos ? ((await out.protos.data()) as Float32Array) : null
  const K = out.protos ? out.protos.shape[3]! : 0
  const k = values.length / B
  return samples.map((s, b) => {
    const dets: ImageDetection[] = []
    for (let j = 0; j < k; j++) {
      const score = values[b * k + j]!
      if (score < o.scoreFloor) break
      const flat = indices[b * k + j]!
      const cell = Math.floor(flat / C)
      const classIndex = flat - cell * C
      const bb = boxData.subarray((b * H * W + cell) * 4, (b * H * W + cell) * 4 + 4)
      const canvasBox: [number, number, number, number] = [
        Math.max(0, bb[0]!),
        Math.max(0, bb[1]!),
        Math.min(width, bb[2]!),
        Math.min(height, bb[3]!),
      ]
      const [x0, y0, x1, y1] = boxToOriginal(canvasBox, s.letterbox)
      if (x1 - x0 <= 0 || y1 - y0 <= 0) continue
      let mask: Rle | null = null
      if (coefData && protoData) {
        const Wp = (W * STRIDE) / PROTO_STRIDE
        const Hp = (H * STRIDE) / PROTO_STRIDE
        const win = {
          x0: Math.max(0, Math.floor(canvasBox[0] / PROTO_STRIDE) - 1),
          y0: Math.max(0, Math.floor(canvasBox[1] / PROTO_STRIDE) - 1),
          x1: Math.min(Wp, Math.ceil(canvasBox[2] / PROTO_STRIDE) + 1),
          y1: Math.min(Hp, Math.ceil(canvasBox[3] / PROTO_STRIDE) + 1),
        }
        const logits = maskLogits(protoData, b * Hp * Wp * K, coefData, (b * H * W + cell) * K, K, Wp, win)
        mask = maskInImage(logits, win, canvasBox, s.letterbox)
      }
      dets.push({ classIndex, score, box: [x0, y0, x1 - x0, y1 - y0], mask })
    }
    return dets
  })
}

/** Detections for a whole set, in batches. */
export async function detectAll(
  model: Detector,
  samples: readonly DetectionSample[],
  width: number,
  height: number,
  centres: tf.Tensor,
  o: DecodeOptions,
  batch = 8,
): Promise<ImageDetection[][]> {
  const out: ImageDetection[][] = []
  for (let i = 0; i < samples.length; i += batch)
    out.push(...(await detect(model, samples.slice(i, i + batch), width, height, centres, o)))
  return out
}
