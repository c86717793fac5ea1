/**
 * The detection engine's pure parts: target assignment, decoding (peaks, boxes, masks cropped to
 * their boxes and pasted back through the letterbox), copy-paste and the other augmentations
 * (every mask stays consistent with its box), and a round trip: outputs made from the targets
 * decode back to the labels, with COCO AP 1.
 */
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { DetectAugment } from '../../src-shared/api/train'
import { seededRandom } from '../../src-shared/domain/random'
import { decodeToBitmap, encodeBitmap, rleArea, type Rle } from '../../src-shared/domain/rle'
import { augmentSample, copyPaste, warpSample } from '../../src-main/train/tasks/detect/augment'
import { decodeOutputs } from '../../src-main/train/tasks/detect/decode'
import { evaluateSet } from '../../src-main/train/tasks/detect/evaluate'
import { cellCentres, maskLoss } from '../../src-main/train/tasks/detect/loss'
import { loadBackbone } from '../../src-main/train/tasks/detect/backbone.node'
import { encodeModel, loadModel } from '../../src-main/train/checkpoint'
import {
  BOX_UNIT,
  buildDetector,
  runDetector,
  type DetectorOutputs,
} from '../../src-main/train/tasks/detect/model'
import {
  letterboxFor,
  maskArea,
  maskBox,
  type DetectionSample,
  type Instance,
  type MaskWindow,
} from '../../src-main/train/tasks/detect/sample'
import { buildTargets, PROTO_STRIDE, STRIDE } from '../../src-main/train/tasks/detect/targets'
import { useBackend } from './train-helpers'

beforeAll(async () => {
  await useBackend('wasm')
})

/** A filled rectangle (or ellipse) as a mask window in canvas pixels. */
function shapeMask(x0: number, y0: number, w: number, h: number, ellipse = false): MaskWindow {
  const data = new Uint8Array(w * h)
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const dx = (x + 0.5) / w - 0.5
      const dy = (y + 0.5) / h - 0.5
      data[y * w + x] = !ellipse || dx * dx + dy * dy <= 0.25 ? 1 : 0
    }
  return { x: x0, y: y0, width: w, height: h, data }
}

function instance(classIndex: number, mask: MaskWindow, crowd = false): Instance {
  return { classIndex, mask, box: maskBox(mask)!, crowd }
}

/** A sample on a W×H canvas whose image is the canvas itself (no letterbox). */
function sample(W: number, H: number, instances: Instance[], imageId = 1): DetectionSample {
  const pixels = new Uint8Array(W * H * 3)
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37) % 251
  const truth = instances.map((inst) => {
    const m = inst.mask!
    const rle = encodeBitmap(m, H, W)
    const [x0, y0, x1, y1] = inst.box
    return {
      classIndex: inst.classIndex,
      box: [x0, y0, x1 - x0, y1 - y0] as [number, number, number, number],
      mask: rle,
      crowd: inst.crowd,
    }
  })
  return { imageId, pixels, instances, letterbox: letterboxFor(W, H, W, H), truth }
}

describe('targets', () => {
  it('puts a heatmap peak of 1 at the centre cell of the right class, and box targets around it', () => {
    const s = sample(64, 64, [instance(1, shapeMask(8, 12, 24, 16))])
    const t = buildTargets([s], { batch: 1, gridW: 16, gridH: 16, classes: 2 }, false)
    // Centre (20, 20) px → cell (5, 5).
    expect(t.heat[(5 * 16 + 5) * 2 + 1]).toBe(1)
    expect(t.heat[(5 * 16 + 5) * 2 + 0]).toBe(0)
    expect(Math.max(...t.heat.filter((_, i) => i % 2 === 1))).toBe(1)
    expect(t.heat[(5 * 16 + 7) * 2 + 1]).toBeLessThan(1)
    expect(t.heat[(5 * 16 + 7) * 2 + 1]).toBeGreaterThan(0)
    expect(Array.from(t.box.subarray((5 * 16 + 5) * 4, (5 * 16 + 5) * 4 + 4))).toEqual([8, 12, 32, 28])
    // The object's weights add up to log(area).
    const sum = t.boxWeight.reduce((a, b) => a + b, 0)
    expect(sum).toBeCloseTo(Math.log(24 * 16), 5)
    // Nothing outside the box gets a box target.
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 16; x++)
        if (x < 2 || x >= 8 || y < 3 || y >= 7) expect(t.boxWeight[y * 16 + x]).toBe(0)
    expect(t.objects).toBe(1)
  })

  it('gives shared cells to the smaller object, and crowd regions neither positives nor negatives', () => {
    const big = instance(0, shapeMask(0, 0, 40, 40))
    const small = instance(0, shapeMask(12, 12, 12, 12))
    const crowd = instance(1, shapeMask(44, 44, 16, 16), true)
    const t = buildTargets(
      [sample(64, 64, [big, small, crowd])],
      { batch: 1, gridW: 16, gridH: 16, classes: 2 },
      true,
    )
    expect(Array.from(t.box.subarray((4 * 16 + 4) * 4, (4 * 16 + 4) * 4 + 4))).toEqual([12, 12, 24, 24])
    expect(t.objects).toBe(2)
    expect(t.heatWeight[12 * 16 + 12]).toBe(0)
    expect(t.heatWeight[2 * 16 + 2]).toBe(1)
    expect(Math.max(...t.heat.filter((_, i) => i % 2 === 1))).toBe(0)
    // Mask cells: the centres of the two objects (and neighbours they own), none for the crowd.
    const masks = t.masks!
    expect(masks.count).toBeGreaterThanOrEqual(2)
    const cells = Array.from(masks.cell)
    expect(cells).toContain(4 * 16 + 4)
    expect(cells).toContain(5 * 16 + 5)
    // The small object's target at the grid is its coverage, and its crop is its box plus a cell.
    // (The prototypes' grid is 32 × 32: stride 2 on the 64-px canvas.)
    const j = cells.indexOf(4 * 16 + 4)
    const target = masks.target.subarray(j * 1024, (j + 1) * 1024)
    expect(target[8 * 32 + 8]).toBe(1)
    expect(target[5 * 32 + 5]).toBe(0)
    const weight = masks.weight.subarray(j * 1024, (j + 1) * 1024)
    expect(weight[5 * 32 + 5]).toBeGreaterThan(0)
    expect(weight[4 * 32 + 4]).toBe(0)
    expect(weight.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5)
  })
})

/** Heads' outputs that say exactly what the targets say (the decoder's ideal input). */
function perfectOutputs(
  samples: DetectionSample[],
  W: number,
  H: number,
  classes: number,
  withMasks: boolean,
) {
  const gw = W / STRIDE
  const gh = H / STRIDE
  const t = buildTargets(samples, { batch: samples.length, gridW: gw, gridH: gh, classes }, false)
  const logit = (p: number) => Math.log(Math.max(1e-6, p) / Math.max(1e-6, 1 - p))
  const heat = Float32Array.from(t.heat, (p) => logit(p >= 1 ? 0.99 : p * 0.9))
  const centres = cellCentres(gw, gh)
  const box = new Float32Array(samples.length * gw * gh * 4)
  for (let i = 0; i < samples.length * gw * gh; i++) {
    if (!t.boxWeight[i]) continue
    const q = i % (gw * gh)
    const cx = centres[q * 2]!
    const cy = centres[q * 2 + 1]!
    const [x0, y0, x1, y1] = t.box.subarray(i * 4, i * 4 + 4)
    box.set(
      [(cx - x0!) / BOX_UNIT, (cy - y0!) / BOX_UNIT, (x1! - cx) / BOX_UNIT, (y1! - cy) / BOX_UNIT],
      i * 4,
    )
  }
  const out: { heat: tf.Tensor4D; box: tf.Tensor4D; coef?: tf.Tensor4D; protos?: tf.Tensor4D } = {
    heat: tf.tensor4d(heat, [samples.length, gh, gw, classes]),
    box: tf.tensor4d(box, [samples.length, gh, gw, 4]),
  }
  if (withMasks) {
    // One prototype per object: its coverage of each prototype cell (stride 2); each object's
    // centre cell picks its own.
    const K = Math.max(...samples.map((s) => s.instances.length))
    const pw = W / PROTO_STRIDE
    const ph = H / PROTO_STRIDE
    const protos = new Float32Array(samples.length * pw * ph * K)
    const coef = new Float32Array(samples.length * gw * gh * K)
    samples.forEach((s, b) =>
      s.instances.forEach((inst, k) => {
        const m = inst.mask!
        for (let y = 0; y < m.height; y++)
          for (let x = 0; x < m.width; x++)
            if (m.data[y * m.width + x]) {
              const q = Math.floor((m.y + y) / PROTO_STRIDE) * pw + Math.floor((m.x + x) / PROTO_STRIDE)
              protos[(b * pw * ph + q) * K + k] += 20 / (PROTO_STRIDE * PROTO_STRIDE)
            }
        for (let q = 0; q < gw * gh; q++) coef[(b * gw * gh + q) * K + k] = 0
        const cx = Math.floor((inst.box[0] + inst.box[2]) / 2 / STRIDE)
        const cy = Math.floor((inst.box[1] + inst.box[3]) / 2 / STRIDE)
        coef[(b * gw * gh + cy * gw + cx) * K + k] = 1
      }),
    )
    // Logit = 20·coverage − 10: positive where a cell is more than half covered.
    for (let i = 0; i < protos.length; i++) protos[i] = protos[i]! - 10 / K
    out.protos = tf.tensor4d(protos, [samples.length, ph, pw, K])
    out.coef = tf.tensor4d(coef, [samples.length, gh, gw, K])
  }
  return { out, centres: tf.tensor4d(centres, [1, gh, gw, 2]) }
}

describe('decoding', () => {
  it('decodes ideal outputs back to the labelled boxes (COCO box AP 1)', async () => {
    const samples = [
      sample(96, 64, [instance(0, shapeMask(8, 8, 24, 20)), instance(1, shapeMask(50, 20, 30, 36))], 1),
      sample(96, 64, [instance(1, shapeMask(40, 4, 16, 16))], 2),
    ]
    const { out, centres } = perfectOutputs(samples, 96, 64, 2, false)
    const dets = await decodeOutputs(out, samples, centres, { maxDetections: 100, scoreFloor: 0.05 })
    expect(dets[0]!.length).toBeGreaterThanOrEqual(2)
    const top = dets[0]!.filter((d) => d.score > 0.9)
    expect(top.map((d) => d.box.map((v) => Math.round(v)))).toEqual(
      expect.arrayContaining([
        [8, 8, 24, 20],
        [50, 20, 30, 36],
      ]),
    )
    const e = evaluateSet(samples, dets, 2, false)
    expect(e.box.ap).toBeGreaterThan(1 - 1e-9)
    tf.dispose([out.heat, out.box, centres])
  })

  it('keeps at most maxDetections above the score floor, peaks only', async () => {
    const samples = [sample(64, 64, [instance(0, shapeMask(8, 8, 20, 20))])]
    const { out, centres } = perfectOutputs(samples, 64, 64, 1, false)
    const one = await decodeOutputs(out, samples, centres, { maxDetections: 1, scoreFloor: 0 })
    expect(one[0]).toHaveLength(1)
    expect(one[0]![0]!.score).toBeCloseTo(0.99, 5)
    const none = await decodeOutputs(out, samples, centres, { maxDetections: 100, scoreFloor: 0.995 })
    expect(none[0]).toHaveLength(0)
    // The Gaussian around the peak is suppressed: only local maxima are detections.
    const all = await decodeOutputs(out, samples, centres, { maxDetections: 100, scoreFloor: 0.01 })
    expect(all[0]).toHaveLength(1)
    tf.dispose([out.heat, out.box, centres])
  })

  it('crops masks to their boxes and pastes them back into the original image through the letterbox', async () => {
    // An image of 128×64 letterboxed into a 64×64 canvas: scale ½, 16 px of padding above and below.
    const W = 64
    const H = 64
    const lb = letterboxFor(128, 64, W, H)
    expect(lb).toMatchObject({ scale: 0.5, padX: 0, padY: 16 })
    const m = shapeMask(16, 24, 24, 24, true)
    const s: DetectionSample = { ...sample(W, H, [instance(0, m)]), letterbox: lb }
    const { out, centres } = perfectOutputs([s], W, H, 1, true)
    const dets = await decodeOutputs(out, [s], centres, { maxDetections: 5, scoreFloor: 0.5 })
    expect(dets[0]).toHaveLength(1)
    const d = dets[0]![0]!
    // The box in the original image: canvas (16, 24)–(40, 48) → image (32, 16)–(80, 64).
    expect(d.box.map((v) => Math.round(v))).toEqual([32, 16, 48, 48])
    const rle = d.mask!
    expect(rle.size).toEqual([64, 128])
    const bm = decodeToBitmap(rle)
    // Cropped to the box, and about the ellipse's area (π/4 of the box) at the image's scale.
    expect(bm.x).toBeGreaterThanOrEqual(32)
    expect(bm.y).toBeGreaterThanOrEqual(16)
    expect(bm.x + bm.width).toBeLessThanOrEqual(80)
    expect(bm.y + bm.height).toBeLessThanOrEqual(64)
    expect(rleArea(rle) / (48 * 48)).toBeGreaterThan(0.6)
    expect(rleArea(rle) / (48 * 48)).toBeLessThan(0.95)
    // The truth in the original image, for COCO: the same ellipse drawn at the image's size.
    const truth = ellipseRle(128, 64, 32, 16, 48, 48)
    const e = evaluateSet(
      [{ ...s, truth: [{ classIndex: 0, box: [32, 16, 48, 48], mask: truth, crowd: false }] }],
      dets,
      1,
      true,
    )
    expect(e.mask!.ap50).toBeGreaterThan(1 - 1e-9)
    tf.dispose([out.heat, out.box, out.coef!, out.protos!, centres])
  })
})

function ellipseRle(W: number, H: number, x0: number, y0: number, w: number, h: number): Rle {
  const m = shapeMask(x0, y0, w, h, true)
  return encodeBitmap(m, H, W)
}

describe('augmentation', () => {
  const aug = DetectAugment.parse({
    copyPaste: 1,
    copyPasteMax: 4,
    scale: [0.5, 1.5],
    hflip: true,
    vflip: true,
  })
  const donors = [
    sample(96, 80, [instance(0, shapeMask(4, 4, 30, 24, true)), instance(1, shapeMask(40, 30, 20, 36))], 1),
    sample(96, 80, [instance(2, shapeMask(20, 10, 40, 40, true))], 2),
    sample(96, 80, [instance(1, shapeMask(60, 8, 24, 60, true))], 3),
  ]

  it('keeps every mask consistent with its box through copy-paste, zoom, shift and flips', () => {
    const rand = seededRandom(7)
    for (let n = 0; n < 200; n++) {
      const out = augmentSample(donors[n % 3]!, donors, aug, 96, 80, rand)
      for (const inst of out.instances) {
        expect(inst.box).toEqual(maskBox(inst.mask!))
        expect(maskArea(inst.mask!)).toBeGreaterThan(0)
        expect(inst.box[0]).toBeGreaterThanOrEqual(0)
        expect(inst.box[1]).toBeGreaterThanOrEqual(0)
        expect(inst.box[2]).toBeLessThanOrEqual(96)
        expect(inst.box[3]).toBeLessThanOrEqual(80)
      }
    }
  })

  it('pastes instances that hide what they cover: masks never overlap afterwards', () => {
    const rand = seededRandom(3)
    for (let n = 0; n < 50; n++) {
      const out = copyPaste(donors[0]!, donors, 4, 96, 80, rand)
      expect(out.instances.length).toBeGreaterThanOrEqual(1)
      const covered = new Uint8Array(96 * 80)
      let overlaps = 0
      for (const inst of out.instances) {
        const m = inst.mask!
        for (let y = 0; y < m.height; y++)
          for (let x = 0; x < m.width; x++)
            if (m.data[y * m.width + x]) overlaps += covered[(m.y + y) * 96 + m.x + x]++ ? 1 : 0
      }
      expect(overlaps).toBe(0)
      // The donor's original is untouched.
      expect(donors[0]!.instances).toHaveLength(2)
    }
  })

  it('moves pixels and masks together under a flip', () => {
    const s = donors[1]!
    const flipped = warpSample(s, [-1, 0, 96, 0, 1, 0], 96, 80)
    const inst = flipped.instances[0]!
    expect(inst.box).toEqual([96 - 60, 10, 96 - 20, 50])
    // Pixel (x, y) of the source is pixel (95 − x, y) of the flipped image.
    for (const [x, y] of [
      [25, 30],
      [50, 20],
    ])
      for (let k = 0; k < 3; k++)
        expect(flipped.pixels[(y! * 96 + 95 - x!) * 3 + k]).toBe(s.pixels[(y! * 96 + x!) * 3 + k])
  })

  it('drops instances that zooming pushes off the canvas, keeps those still mostly inside', () => {
    const s = sample(96, 80, [instance(0, shapeMask(0, 0, 20, 20)), instance(1, shapeMask(40, 30, 16, 16))])
    // Zoom ×2 about the canvas centre: the corner object leaves, the central one grows.
    const out = warpSample(s, [2, 0, -48, 0, 2, -40], 96, 80)
    expect(out.instances.map((i) => i.classIndex)).toEqual([1])
    expect(out.instances[0]!.box).toEqual([32, 20, 64, 52])
  })
})

describe('mask loss', () => {
  it('equals the per-cell sum of weighted cross-entropies, whatever the order of the cells', () => {
    const rand = seededRandom(7)
    const [B, H, W, K] = [3, 4, 5, 6]
    const [Hp, Wp] = [H * 2, W * 2]
    const P = Hp * Wp
    const coef = Float32Array.from({ length: B * H * W * K }, () => rand() * 2 - 1)
    const protos = Float32Array.from({ length: B * P * K }, () => rand())
    const M = 7
    const sampleOf = Int32Array.from([2, 0, 2, 1, 0, 2, 2])
    const cell = Int32Array.from({ length: M }, () => Math.floor(rand() * H * W))
    const target = Float32Array.from({ length: M * P }, () => (rand() < 0.4 ? 1 : rand() * 0.5))
    const weight = Float32Array.from({ length: M * P }, () => (rand() < 0.7 ? rand() : 0))
    const out = {
      coef: tf.tensor4d(coef, [B, H, W, K]),
      protos: tf.tensor4d(protos, [B, Hp, Wp, K]),
    } as unknown as DetectorOutputs
    const got = maskLoss(out, { count: M, sample: sampleOf, cell, target, weight }).dataSync()[0]!
    let want = 0
    for (let j = 0; j < M; j++) {
      const b = sampleOf[j]!
      for (let p = 0; p < P; p++) {
        let x = 0
        for (let k = 0; k < K; k++) x += protos[(b * P + p) * K + k]! * coef[(b * H * W + cell[j]!) * K + k]!
        const t = target[j * P + p]!
        const bce = Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)))
        want += bce * weight[j * P + p]!
      }
    }
    expect(got).toBeCloseTo(want / M, 4)
  })
})

describe('the detector on the pretrained backbone', () => {
  it('reloads from its saved topology and weights, with or without masks, and gives the same outputs', async () => {
    // A saved model keeps only the inputs its outputs use: without mask prototypes the head does
    // not read the backbone's stride-2 map, and a reloaded head must still run (the GPU worker and
    // a stored run's predictions both reload it).
    const backbone = await loadBackbone()
    const x = tf.tensor4d(
      Float32Array.from({ length: 64 * 64 * 3 }, (_, i) => ((i * 37) % 251) / 251),
      [1, 64, 64, 3],
    )
    for (const prototypes of [0, 4]) {
      const spec = { model: 'mobilenet-v2' as const, width: 64, height: 64, classes: 2, prototypes, seed: 1 }
      const built = buildDetector(spec, backbone)
      const reloaded = await loadModel(await encodeModel(built.head))
      expect(reloaded.inputs).toHaveLength(prototypes ? 5 : 4)
      const a = runDetector(built, x, false)
      const b = runDetector({ backbone, head: reloaded }, x, false)
      expect(Object.keys(b)).toEqual(Object.keys(a))
      for (const k of ['heat', 'box', 'coef', 'protos'] as const) {
        if (!a[k]) continue
        expect(b[k]!.shape).toEqual(a[k]!.shape)
        expect(tf.max(tf.abs(tf.sub(a[k]!, b[k]!))).dataSync()[0]).toBeLessThan(1e-5)
      }
      tf.dispose([...Object.values(a), ...Object.values(b)] as tf.Tensor[])
      built.head.dispose()
      reloaded.dispose()
    }
    x.dispose()
  })
})
