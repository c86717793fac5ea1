import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  evaluateCoco,
  IOU_THRESHOLDS,
  RECALL_THRESHOLDS,
  type CocoAnnotation,
  type CocoDataset,
  type CocoResult,
  type IouType,
} from '../../src-shared/domain/coco/eval'
import {
  boxIou,
  maskIou,
  rleFromBox,
  rleFromPolygon,
  rleToBox,
  segmentationToRle,
  type CocoCompressedRle,
} from '../../src-shared/domain/coco/polygon'
import { decodeMask, rleArea, rleFromString, rleToString } from '../../src-shared/domain/rle'

const VECTORS = path.resolve(__dirname, '..', 'fixtures', 'coco-eval-vectors')
const CASES = fs
  .readdirSync(VECTORS)
  .filter((f) => f.endsWith('.gt.json'))
  .map((f) => f.slice(0, -'.gt.json'.length))
  .sort()

function load(name: string): {
  gt: CocoDataset
  dets: CocoResult[]
  expected: Partial<Record<IouType, number[]>>
} {
  const read = (suffix: string) => JSON.parse(fs.readFileSync(path.join(VECTORS, name + suffix), 'utf8'))
  return { gt: read('.gt.json'), dets: read('.dets.json'), expected: read('.expected.json') }
}

/** The indices of the stats that differ from `want` by more than 0.001, each with a message. */
function misses(name: string, iouType: string, got: number[], want: number[]): string[] {
  return want.flatMap((w, i) =>
    Math.abs(got[i]! - w) <= 0.001 ? [] : [`${name} ${iouType} stats[${i}]: got ${got[i]}, expected ${w}`],
  )
}

/** A 0/1 picture of a mask, one string a row, for readable expectations. */
function picture(rle: { size: [number, number]; counts: number[] }): string[] {
  const [h, w] = rle.size
  const m = decodeMask(rle)
  return Array.from({ length: h }, (_, y) => Array.from(m.subarray(y * w, (y + 1) * w)).join(''))
}

describe('COCO evaluation against the pycocotools reference vectors', () => {
  it('has the vector cases', () => {
    expect(CASES).toEqual(
      expect.arrayContaining([
        'noisy-boxes',
        'noisy-boxes-crowd',
        'noisy-masks',
        'noisy-masks-crowd',
        'perfect-boxes',
      ]),
    )
  })

  for (const name of CASES)
    it(`${name}: all 12 stats within 0.001`, () => {
      const { gt, dets, expected } = load(name)
      const types = Object.keys(expected) as IouType[]
      expect(types.length).toBeGreaterThan(0)
      for (const iouType of types) {
        const r = evaluateCoco(gt, dets, iouType)
        expect(r.stats).toHaveLength(12)
        expect(misses(name, iouType, r.stats, expected[iouType]!)).toEqual([])
      }
    })

  it('reads detection areas as loadRes does: w·h whenever the first result has a bbox, even for segm', () => {
    // The mask detections carry both a bbox and a mask. Stripped of boxes they take loadRes's other
    // branch (area = mask area), and the area-range stats then move off the reference.
    for (const name of ['noisy-masks', 'noisy-masks-crowd']) {
      const { gt, dets, expected } = load(name)
      const stripped = dets.map(({ bbox: _bbox, ...d }) => d)
      const r = evaluateCoco(gt, stripped, 'segm')
      const off = misses(name, 'segm', r.stats, expected.segm!)
      expect(off.length).toBeGreaterThan(0)
      expect(off.every((m) => /stats\[(3|4|5)\]/.test(m))).toBe(true)
    }
  })

  it('fails when a detection is wrong: moving one perfect box lowers AP past the tolerance', () => {
    const { gt, dets, expected } = load('perfect-boxes')
    const wrong = dets.map((d, i) => (i === 0 ? { ...d, bbox: [d.bbox![0] + 40, d.bbox![1] + 40, 5, 5] } : d))
    const r = evaluateCoco(gt, wrong as CocoResult[], 'bbox')
    expect(r.ap).toBeLessThan(expected.bbox![0]! - 0.001)
    expect(misses('perfect-boxes', 'bbox', r.stats, expected.bbox!)).not.toEqual([])
  })

  it('matches every perfect detection to its ground truth', () => {
    const { gt, dets } = load('perfect-boxes')
    const r = evaluateCoco(gt, dets, 'bbox')
    const all = r.matches.flatMap((m) => m.detections)
    expect(all).toHaveLength(dets.length)
    for (const d of all) {
      expect(d.gtId).not.toBeNull()
      expect(d.iou).toBeCloseTo(1, 9)
      expect(d.ignored).toBe(false)
    }
    expect(r.matches.flatMap((m) => m.groundTruths).every((g) => g.resultIndex !== null)).toBe(true)
  })

  it('reads every compressed mask of the vectors and writes it back to the same string', () => {
    for (const name of ['noisy-masks', 'noisy-masks-crowd']) {
      const { gt, dets } = load(name)
      const rles = [...dets.map((d) => d.segmentation), ...gt.annotations.map((a) => a.segmentation)].filter(
        (s): s is CocoCompressedRle => !!s && !Array.isArray(s) && typeof s.counts === 'string',
      )
      expect(rles.length).toBeGreaterThan(90)
      for (const s of rles) expect(rleToString(segmentationToRle(s, 0, 0))).toBe(s.counts)
    }
  })

  it('rasterises the polygons of the vectors to the areas pycocotools recorded', () => {
    for (const name of ['noisy-masks', 'noisy-masks-crowd']) {
      const { gt } = load(name)
      const size = new Map(gt.images.map((im) => [im.id, im]))
      for (const a of gt.annotations) {
        const im = size.get(a.image_id)!
        expect(rleArea(segmentationToRle(a.segmentation!, im.height, im.width)), `annotation ${a.id}`).toBe(
          a.area,
        )
      }
    }
  })
})

// Expected masks below are worked by hand through rleFrPoly: vertices ×5 and rounded; a column x is
// crossed at upsampled x = 5x + 2 (its centre); each crossing toggles the column at
// ceil((v + 0.5) / 5 − 0.5), clamped to [0, h].
describe('rleFromPolygon (pycocotools rleFrPoly)', () => {
  it('a 1×1 square on integer corners is one pixel', () => {
    const r = rleFromPolygon([1, 1, 2, 1, 2, 2, 1, 2], 3, 3)
    expect(r.counts).toEqual([4, 1, 4])
    expect(picture(r)).toEqual(['000', '010', '000'])
  })

  it('a 2×2 square on integer corners is four pixels, whichever way it is drawn', () => {
    const want = [6, 2, 3, 2, 12]
    expect(rleFromPolygon([1, 1, 3, 1, 3, 3, 1, 3], 5, 5).counts).toEqual(want)
    expect(rleFromPolygon([1, 3, 3, 3, 3, 1, 1, 1], 5, 5).counts).toEqual(want)
    expect(rleFromPolygon([3, 1, 1, 1, 1, 3, 3, 3], 5, 5).counts).toEqual(want)
  })

  it('a right triangle keeps the pixels whose centres are strictly inside', () => {
    // Centres on the hypotenuse x + y = 4 (e.g. (3.5, 0.5)) fall outside.
    const r = rleFromPolygon([0, 0, 4, 0, 0, 4], 4, 4)
    expect(r.counts).toEqual([0, 3, 1, 2, 2, 1, 7])
    expect(picture(r)).toEqual(['1110', '1100', '1000', '0000'])
    expect(rleArea(r)).toBe(6)
  })

  it('a polygon along the image border fills the whole image', () => {
    const r = rleFromPolygon([0, 0, 4, 0, 4, 3, 0, 3], 3, 4)
    expect(r.counts).toEqual([0, 12])
    expect(rleArea(r)).toBe(12)
  })

  it('a polygon partly outside the image is cut at its edges', () => {
    // Beyond the top left: (int)(−9.5) truncates to −9, and rows clamp at 0.
    const tl = rleFromPolygon([-2, -2, 2, -2, 2, 2, -2, 2], 4, 4)
    expect(tl.counts).toEqual([0, 2, 2, 2, 10])
    expect(picture(tl)).toEqual(['1100', '1100', '0000', '0000'])
    // Beyond the bottom right: columns past w − 1 are dropped and rows clamp at h.
    const br = rleFromPolygon([2, 1, 6, 1, 6, 5, 2, 5], 3, 4)
    expect(br.counts).toEqual([7, 2, 1, 2])
    expect(picture(br)).toEqual(['0000', '0011', '0011'])
  })

  it("rounds upsampled vertices toward zero, as C's (int) does", () => {
    // 5 × −0.15 + 0.5 = −0.25 becomes 0, not −1, so the first vertex lands on the third, (0, 15): the
    // outline runs to (20, 0) and straight back, every crossing cancels, and nothing is filled.
    expect(rleFromPolygon([-0.15, 3, 4, 0, 0, 3], 5, 5).counts).toEqual([25])
  })

  it('gives an empty mask for a polygon with no vertices', () => {
    expect(rleFromPolygon([], 2, 3).counts).toEqual([6])
  })
})

describe('COCO segmentations and boxes', () => {
  it('merges a list of polygons by union, as annToRLE does', () => {
    const r = segmentationToRle(
      [
        [0, 0, 2, 0, 2, 2, 0, 2],
        [1, 1, 3, 1, 3, 3, 1, 3],
      ],
      4,
      4,
    )
    expect(picture(r)).toEqual(['1100', '1110', '0110', '0000'])
  })

  it('reads a list whose first entry has four numbers as boxes, as frPyObjects does', () => {
    expect(segmentationToRle([[1, 1, 2, 2]], 5, 5).counts).toEqual([6, 2, 3, 2, 12])
    expect(rleFromBox([1, 1, 2, 2], 5, 5).counts).toEqual([6, 2, 3, 2, 12])
  })

  it('round-trips compressed and uncompressed RLE', () => {
    // By hand from rleToString: 1, 2, 3 as themselves ('1', '2', '3'); the 4th is sent as 1 − 2 = −1,
    // five bits 11111 with the sign bit set and nothing more: 31 + 48 = 'O'.
    expect(rleToString({ size: [7, 1], counts: [1, 2, 3, 1] })).toBe('123O')
    const un = { size: [7, 1] as [number, number], counts: [1, 2, 3, 1] }
    const co = { size: [7, 1] as [number, number], counts: '123O' }
    expect(segmentationToRle(co, 99, 99)).toEqual(un)
    expect(segmentationToRle(un, 99, 99)).toEqual(un)
    const tri = rleFromPolygon([0, 0, 4, 0, 0, 4], 4, 4)
    expect(rleFromString(rleToString(tri), 4, 4)).toEqual(tri)
  })

  it('refuses a malformed RLE', () => {
    expect(() => segmentationToRle({ size: [2, 2], counts: [1, 2] }, 2, 2)).toThrow(/cover 3 pixels/)
  })

  it('finds a mask box as toBbox does', () => {
    expect(rleToBox(rleFromPolygon([0, 0, 4, 0, 0, 4], 4, 4))).toEqual([0, 0, 3, 3])
    // One run over several columns spans the full height.
    expect(rleToBox({ size: [3, 4], counts: [2, 3, 7] })).toEqual([0, 0, 2, 3])
    expect(rleToBox({ size: [3, 4], counts: [12] })).toEqual([0, 0, 0, 0])
  })
})

describe('IoU with the crowd rule', () => {
  it('boxes: a crowd divides by the detection area', () => {
    expect(boxIou([0, 0, 10, 10], [0, 0, 100, 100])).toBeCloseTo(0.01, 12)
    expect(boxIou([0, 0, 10, 10], [0, 0, 100, 100], true)).toBe(1)
    expect(boxIou([95, 0, 10, 10], [0, 0, 100, 100], true)).toBe(0.5)
    expect(boxIou([0, 0, 10, 10], [10, 0, 10, 10])).toBe(0) // touching edges
  })

  it('masks: computed on the runs, crowd rule alike', () => {
    const det = rleFromBox([0, 0, 10, 10], 20, 20)
    const crowd = rleFromBox([0, 0, 20, 20], 20, 20)
    expect(maskIou(det, crowd)).toBe(0.25)
    expect(maskIou(det, crowd, true)).toBe(1)
    const half = rleFromBox([5, 0, 10, 10], 20, 20)
    expect(maskIou(det, half)).toBeCloseTo(50 / 150, 12)
    expect(maskIou(half, det, true)).toBe(0.5)
    expect(maskIou(det, rleFromBox([12, 12, 5, 5], 20, 20))).toBe(0)
    expect(maskIou(det, rleFromBox([0, 0, 10, 10], 20, 30))).toBe(-1) // sizes differ: never a match
  })
})

/** A one-image dataset of 100 × 100 with the given ground truths (category 1 unless given). */
function scene(anns: Partial<CocoAnnotation>[], categories = [{ id: 1, name: 'a' }]): CocoDataset {
  return {
    images: [{ id: 7, width: 100, height: 100 }],
    categories,
    annotations: anns.map((a, i) => {
      const bbox = a.bbox ?? [0, 0, 10, 10]
      return { id: i + 1, image_id: 7, category_id: 1, area: bbox[2] * bbox[3], iscrowd: 0, ...a, bbox }
    }),
  }
}

function det(bbox: [number, number, number, number], score: number, category_id = 1): CocoResult {
  return { image_id: 7, category_id, score, bbox }
}

describe('evaluateCoco semantics', () => {
  it('precision is 0 past the last recall reached (51 of 101 recall points for half the objects)', () => {
    const gt = scene([{ bbox: [0, 0, 10, 10] }, { bbox: [50, 50, 10, 10] }])
    const r = evaluateCoco(gt, [det([0, 0, 10, 10], 0.9)], 'bbox')
    expect(r.ap50).toBeCloseTo(51 / 101, 12)
    expect(r.ar100).toBe(0.5)
    // Precision is tp / (tp + fp + eps), as in pycocotools, so a perfect one is 1 − 2.2e-16.
    expect(r.prCurves[0]!.iou50.slice(49, 53).map((p) => Math.round(p * 1e9) / 1e9)).toEqual([1, 1, 0, 0])
  })

  it('lets one crowd region absorb many detections without counting them', () => {
    const anns: Partial<CocoAnnotation>[] = [{ bbox: [0, 0, 10, 10] }, { bbox: [50, 50, 40, 40], iscrowd: 1 }]
    const dets = [det([55, 55, 10, 10], 0.9), det([70, 70, 10, 10], 0.8), det([0, 0, 10, 10], 0.5)]
    const r = evaluateCoco(scene(anns), dets, 'bbox')
    expect(r.ap).toBeCloseTo(1, 12)
    const m = r.matches[0]!
    expect(m.detections.map((d) => [d.resultIndex, d.gtId, d.ignored])).toEqual([
      [0, 2, true],
      [1, 2, true],
      [2, 1, false],
    ])
    expect(m.groundTruths.map((g) => [g.id, g.crowd, g.ignored])).toEqual([
      [1, false, false],
      [2, true, true],
    ])
    // The same region as an ordinary object: the two high-scoring detections become false positives.
    const plain = evaluateCoco(scene(anns.map((a) => ({ ...a, iscrowd: 0 }))), dets, 'bbox')
    expect(plain.ap).toBeLessThan(0.5)
  })

  it('keeps a match to a counted object rather than trade it for a better ignored one', () => {
    // IoU 100/110 with the object, 1 with the crowd (intersection over the detection's area).
    const gt = scene([{ bbox: [0, 0, 10, 10] }, { bbox: [0, 0, 10, 12], iscrowd: 1 }])
    const r = evaluateCoco(gt, [det([0, 0, 10, 11], 0.9)], 'bbox')
    expect(r.ap50).toBeCloseTo(1, 12)
    expect(r.matches[0]!.detections[0]!.gtId).toBe(1)
  })

  it('applies maxDets per image and category', () => {
    const gt = scene([{ bbox: [0, 0, 10, 10] }, { bbox: [50, 50, 10, 10] }])
    const r = evaluateCoco(gt, [det([0, 0, 10, 10], 0.9), det([50, 50, 10, 10], 0.8)], 'bbox')
    expect([r.ar1, r.ar10, r.ar100]).toEqual([0.5, 1, 1])
  })

  it("uses the ground truth's area field for its area range", () => {
    const gt = scene([{ bbox: [0, 0, 10, 10], area: 5000 }])
    const r = evaluateCoco(gt, [det([0, 0, 10, 10], 0.9)], 'bbox')
    expect(r.apSmall).toBe(-1)
    expect(r.apMedium).toBeCloseTo(1, 12)
    expect(r.apLarge).toBe(-1)
  })

  it('gives −1 for a category with no ground truth and leaves it out of the mean', () => {
    const gt = scene(
      [{ bbox: [0, 0, 10, 10] }],
      [
        { id: 1, name: 'a' },
        { id: 2, name: 'b' },
      ],
    )
    const r = evaluateCoco(gt, [det([0, 0, 10, 10], 0.9), det([50, 50, 10, 10], 0.95, 2)], 'bbox')
    expect(r.perCategory.map((c) => [c.categoryId, c.ap.toFixed(9), c.ar100])).toEqual([
      [1, '1.000000000', 1],
      [2, '-1.000000000', -1],
    ])
    expect(r.prCurves[1]!.iou75.every((p) => p === -1)).toBe(true)
    expect(r.ap).toBeCloseTo(1, 12)
  })

  it('evaluates masks, taking a box-only detection as its box polygon', () => {
    const gt = scene([{ bbox: [10, 10, 20, 20], segmentation: [[10, 10, 30, 10, 30, 30, 10, 30]] }])
    const r = evaluateCoco(gt, [det([10, 10, 20, 20], 0.9)], 'segm')
    expect(r.ap).toBeCloseTo(1, 12)
  })

  it('gives a segmentation-only detection its box from the mask for bbox evaluation', () => {
    const gt = scene([{ bbox: [10, 10, 20, 20] }])
    const seg = {
      size: [100, 100] as [number, number],
      counts: rleToString(rleFromBox([10, 10, 20, 20], 100, 100)),
    }
    const r = evaluateCoco(gt, [{ image_id: 7, category_id: 1, score: 0.9, segmentation: seg }], 'bbox')
    expect(r.ap).toBeCloseTo(1, 12)
  })

  it('refuses a result for an image that is not in the ground truth, as loadRes does', () => {
    const gt = scene([{ bbox: [0, 0, 10, 10] }])
    expect(() => evaluateCoco(gt, [{ ...det([0, 0, 10, 10], 0.9), image_id: 8 }], 'bbox')).toThrow(
      /result 0 is for image 8, which is not in the ground truth/,
    )
  })

  it('uses the thresholds of np.linspace to the bit', () => {
    expect(IOU_THRESHOLDS).toHaveLength(10)
    expect(IOU_THRESHOLDS[5]).toBe(0.75)
    expect(IOU_THRESHOLDS[8]).toBe(0.8999999999999999)
    expect(RECALL_THRESHOLDS).toHaveLength(101)
    expect(RECALL_THRESHOLDS[35]).toBe(0.35000000000000003) // 35 × 0.01, not 35 / 100
    expect(RECALL_THRESHOLDS[100]).toBe(1)
  })
})
