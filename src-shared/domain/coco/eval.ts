/**
 * COCO detection and instance-segmentation evaluation, step for step as pycocotools' COCOeval
 * (evaluate → accumulate → summarize) with COCO.loadRes in front, so the 12 numbers people quote
 * come out the same to 1e-6 on the same data. Quirks of the reference are kept on purpose; each is
 * marked where it happens.
 * Pure TypeScript: no DOM, no Node.
 */
import { rleArea, type Rle } from '../rle'
import {
  boxIouMatrix,
  maskIouMatrix,
  rleFromBox,
  rleToBox,
  segmentationToRle,
  type CocoBox,
  type CocoSegmentation,
} from './polygon'

export type { CocoBox, CocoSegmentation } from './polygon'

export type IouType = 'bbox' | 'segm'

export interface CocoImage {
  id: number
  width: number
  height: number
  file_name?: string
}

export interface CocoCategory {
  id: number
  name: string
}

/**
 * A ground-truth object. `area` (not the box or mask) decides its area range, as in COCO. Ids should be
 * non-zero: pycocotools stores "matched to gt 0" as "unmatched", and so does this.
 */
export interface CocoAnnotation {
  id: number
  image_id: number
  category_id: number
  bbox: CocoBox
  area: number
  iscrowd?: number
  segmentation?: CocoSegmentation
}

export interface CocoDataset {
  images: CocoImage[]
  categories: CocoCategory[]
  annotations: CocoAnnotation[]
}

/** A detection in COCO's results format. */
export interface CocoResult {
  image_id: number
  category_id: number
  score: number
  bbox?: CocoBox
  segmentation?: CocoSegmentation
}

/** The 12 numbers of COCOeval.summarize(), by name. */
export interface CocoStats {
  ap: number
  ap50: number
  ap75: number
  apSmall: number
  apMedium: number
  apLarge: number
  ar1: number
  ar10: number
  ar100: number
  arSmall: number
  arMedium: number
  arLarge: number
}

/** Per category, area all; −1 where the category has no (non-crowd) ground truth. */
export interface CocoCategoryEval {
  categoryId: number
  name: string
  ap: number
  ap50: number
  ap75: number
  ar100: number
}

/** Interpolated precision at each of RECALL_THRESHOLDS (area all, 100 detections); all −1 without ground truth. */
export interface CocoPrCurve {
  categoryId: number
  iou50: number[]
  iou75: number[]
}

/** How one detection fared at IoU 0.5 (area all, top 100 of its image and category). */
export interface CocoDetectionMatch {
  /** Index into the results given to evaluateCoco. */
  resultIndex: number
  score: number
  /** The ground truth it matched, or null: a false positive unless `ignored`. */
  gtId: number | null
  /** IoU with the matched ground truth; 0 when unmatched. */
  iou: number
  /** Its highest IoU with any non-crowd ground truth of its category in the image, matched or not. */
  maxIou: number
  /** Matched to a crowd region: neither a true nor a false positive. */
  ignored: boolean
}

export interface CocoGroundTruthMatch {
  id: number
  /** The detection that matched it at IoU 0.5 (for a crowd, the last of them), or null: a miss unless `ignored`. */
  resultIndex: number | null
  crowd: boolean
  ignored: boolean
}

/** One image and category that has ground truth or detections; crowds come last, as COCOeval orders them. */
export interface CocoImageMatches {
  imageId: number
  categoryId: number
  detections: CocoDetectionMatch[]
  groundTruths: CocoGroundTruthMatch[]
}

export interface CocoEvalResult extends CocoStats {
  iouType: IouType
  /** In summarize()'s order: AP, AP50, AP75, AP S/M/L, AR1, AR10, AR100, AR S/M/L. −1 where nothing counts. */
  stats: number[]
  /** In ascending category id. */
  perCategory: CocoCategoryEval[]
  prCurves: CocoPrCurve[]
  /** By ascending image id, then category id. */
  matches: CocoImageMatches[]
}

/** np.linspace(.5, .95, 10) to the bit: i·step + start, the last one exact. */
export const IOU_THRESHOLDS: readonly number[] = Array.from({ length: 10 }, (_, i) =>
  i === 9 ? 0.95 : i * ((0.95 - 0.5) / 9) + 0.5,
)
/** np.linspace(0, 1, 101) to the bit: i·0.01, which is not i/100 for ten of them. */
export const RECALL_THRESHOLDS: readonly number[] = Array.from({ length: 101 }, (_, i) =>
  i === 100 ? 1 : i * 0.01,
)
export const MAX_DETS = [1, 10, 100] as const
/** Bounds are inclusive at both ends, so an area of exactly 32² is both small and medium. */
export const AREA_RANGES: Readonly<Record<'all' | 'small' | 'medium' | 'large', readonly [number, number]>> =
  {
    all: [0, 1e10],
    small: [0, 32 ** 2],
    medium: [32 ** 2, 96 ** 2],
    large: [96 ** 2, 1e10],
  }

const RANGES = [AREA_RANGES.all, AREA_RANGES.small, AREA_RANGES.medium, AREA_RANGES.large]
const T = IOU_THRESHOLDS.length
const R = RECALL_THRESHOLDS.length
const A = RANGES.length
const M = MAX_DETS.length
/** np.spacing(1), added to the precision denominator. */
const EPS = 2.220446049250313e-16

interface Gt {
  id: number
  area: number
  crowd: boolean
  box: CocoBox
  rle: Rle | null
}

interface Dt {
  /** loadRes numbers results from 1 in the order given. */
  id: number
  resultIndex: number
  score: number
  area: number
  box: CocoBox
  rle: Rle | null
}

/** evaluateImg's output for one image, category and area range. */
interface EvalImg {
  /** Sorted by score, at most 100. */
  dts: Dt[]
  /** Ignored ones last. */
  gts: Gt[]
  /** Row-major D × G over `dts` and the gts in their given order; `gtOrder` maps sorted → given. */
  ious: Float64Array
  gtOrder: number[]
  gtIgnore: Uint8Array
  /** T × D: the matched gt's id, 0 for none (as pycocotools, so an id of 0 reads as no match). */
  dtMatches: Float64Array
  dtMatchIou: Float64Array
  /** T × G: the matching detection's id, 0 for none. */
  gtMatches: Float64Array
  /** T × D */
  dtIgnore: Uint8Array
}

function hasBox(r: { bbox?: readonly number[] }): r is { bbox: CocoBox } {
  return Array.isArray(r.bbox) && r.bbox.length > 0
}

function checkBox(box: unknown, what: string): CocoBox {
  if (
    !Array.isArray(box) ||
    box.length !== 4 ||
    !box.every((v) => typeof v === 'number' && Number.isFinite(v))
  )
    throw new Error(`${what}: bbox must be [x, y, width, height], four finite numbers`)
  return box as CocoBox
}

/** Stable sort by descending score, as np.argsort(-scores, kind='mergesort'). */
function byScore<X extends { score: number }>(xs: readonly X[]): X[] {
  return xs.slice().sort((p, q) => (p.score > q.score ? -1 : p.score < q.score ? 1 : 0))
}

function evaluateImg(
  gtsGiven: readonly Gt[],
  dts: Dt[],
  ious: Float64Array,
  [lo, hi]: readonly [number, number],
): EvalImg {
  const G = gtsGiven.length
  const D = dts.length
  const ign = gtsGiven.map((g) => (g.crowd || g.area < lo || g.area > hi ? 1 : 0))
  const gtOrder = [...ign.keys()].filter((j) => !ign[j]).concat([...ign.keys()].filter((j) => ign[j]))
  const gts = gtOrder.map((j) => gtsGiven[j]!)
  const gtIgnore = Uint8Array.from(gtOrder, (j) => ign[j]!)
  const dtMatches = new Float64Array(T * D)
  const dtMatchIou = new Float64Array(T * D)
  const gtMatches = new Float64Array(T * G)
  const dtIgnore = new Uint8Array(T * D)
  if (D && G)
    for (let t = 0; t < T; t++)
      for (let d = 0; d < D; d++) {
        let iou = Math.min(IOU_THRESHOLDS[t]!, 1 - 1e-10)
        let m = -1
        for (let g = 0; g < G; g++) {
          // A crowd may take any number of detections; anything else only one.
          if (gtMatches[t * G + g]! > 0 && !gts[g]!.crowd) continue
          // Once matched to a counted gt, never trade it for an ignored one (they are sorted last).
          if (m > -1 && gtIgnore[m] === 0 && gtIgnore[g] === 1) break
          const v = ious[d * G + gtOrder[g]!]!
          if (v < iou) continue
          iou = v
          m = g
        }
        if (m === -1) continue
        dtIgnore[t * D + d] = gtIgnore[m]!
        dtMatches[t * D + d] = gts[m]!.id
        dtMatchIou[t * D + d] = iou
        gtMatches[t * G + m] = dts[d]!.id
      }
  // A detection outside the range that found nothing is neither right nor wrong for this range.
  for (let d = 0; d < D; d++) {
    const a = dts[d]!.area
    if (a < lo || a > hi) for (let t = 0; t < T; t++) if (dtMatches[t * D + d] === 0) dtIgnore[t * D + d] = 1
  }
  return { dts, gts, ious, gtOrder, gtIgnore, dtMatches, dtMatchIou, gtMatches, dtIgnore }
}

function mean(values: Iterable<number>): number {
  let s = 0
  let n = 0
  for (const v of values)
    if (v > -1) {
      s += v
      n++
    }
  return n ? s / n : -1
}

/**
 * Evaluates detections against a COCO dataset as `COCOeval(gt, gt.loadRes(results), iouType)` followed by
 * evaluate(), accumulate() and summarize() would.
 *
 * Detections are read as loadRes reads them, which decides by the *first* result: if it has a bbox, every
 * result with a bbox gets area = w·h (even for segm) and, lacking a segmentation, its box as one; otherwise
 * area is the mask's and a missing bbox is the mask's box. A result with no bbox is read the second way
 * either way (pycocotools would fail). Results naming a category not in `gt` are left out, as there.
 */
export function evaluateCoco(
  gt: CocoDataset,
  results: readonly CocoResult[],
  iouType: IouType,
): CocoEvalResult {
  if (iouType !== 'bbox' && iouType !== 'segm') throw new Error(`unknown iouType ${String(iouType)}`)
  const images = new Map<number, CocoImage>()
  for (const im of gt.images) images.set(im.id, im)
  const imgIds = [...images.keys()].sort((a, b) => a - b)
  const cats = new Map<number, CocoCategory>()
  for (const c of gt.categories) cats.set(c.id, c)
  const catIds = [...cats.keys()].sort((a, b) => a - b)
  const I = imgIds.length
  const K = catIds.length
  const imgIndex = new Map(imgIds.map((id, i) => [id, i]))
  const catIndex = new Map(catIds.map((id, k) => [id, k]))

  const gtGroups = new Map<number, Gt[]>()
  const dtGroups = new Map<number, Dt[]>()
  const push = <X>(groups: Map<number, X[]>, key: number, x: X) => {
    const list = groups.get(key)
    if (list) list.push(x)
    else groups.set(key, [x])
  }

  for (const ann of gt.annotations) {
    const i = imgIndex.get(ann.image_id)
    const k = catIndex.get(ann.category_id)
    if (i === undefined || k === undefined) continue
    const what = `ground truth annotation ${ann.id}`
    if (typeof ann.area !== 'number' || !Number.isFinite(ann.area))
      throw new Error(`${what}: area must be a finite number`)
    const box = iouType === 'bbox' ? checkBox(ann.bbox, what) : (ann.bbox as CocoBox)
    let rle: Rle | null = null
    if (iouType === 'segm') {
      if (!ann.segmentation) throw new Error(`${what} has no segmentation, which segm evaluation needs`)
      const im = images.get(ann.image_id)!
      rle = segmentationToRle(ann.segmentation, im.height, im.width)
    }
    push(gtGroups, i * K + k, { id: ann.id, area: ann.area, crowd: !!ann.iscrowd, box, rle })
  }

  // loadRes: every result must be for an image of the ground truth.
  results.forEach((r, n) => {
    if (!imgIndex.has(r.image_id))
      throw new Error(`result ${n} is for image ${r.image_id}, which is not in the ground truth`)
  })
  const boxBranch = results.length > 0 && hasBox(results[0]!)
  results.forEach((r, n) => {
    const k = catIndex.get(r.category_id)
    if (k === undefined) return
    const what = `result ${n}`
    if (typeof r.score !== 'number' || Number.isNaN(r.score))
      throw new Error(`${what}: score must be a number`)
    const im = images.get(r.image_id)!
    let box: CocoBox
    let area: number
    let rle: Rle | null = null
    if (boxBranch && hasBox(r)) {
      box = checkBox(r.bbox, what)
      area = box[2] * box[3]
      if (iouType === 'segm')
        rle = r.segmentation
          ? segmentationToRle(r.segmentation, im.height, im.width)
          : rleFromBox(box, im.height, im.width)
    } else if (r.segmentation) {
      rle = segmentationToRle(r.segmentation, im.height, im.width)
      area = rleArea(rle)
      box = hasBox(r) ? checkBox(r.bbox, what) : rleToBox(rle)
      if (iouType === 'bbox') rle = null
    } else throw new Error(`${what} has neither a bbox nor a segmentation`)
    push(dtGroups, imgIndex.get(r.image_id)! * K + k, {
      id: n + 1,
      resultIndex: n,
      score: r.score,
      area,
      box,
      rle,
    })
  })

  // evaluate(): IoUs once per image and category, then matching for each area range at 100 detections.
  const evalImgs: (EvalImg | null)[] = new Array<EvalImg | null>(K * A * I).fill(null)
  for (let i = 0; i < I; i++)
    for (let k = 0; k < K; k++) {
      const gts = gtGroups.get(i * K + k) ?? []
      const all = dtGroups.get(i * K + k) ?? []
      if (!gts.length && !all.length) continue
      const dts = byScore(all).slice(0, MAX_DETS[M - 1])
      const crowd = gts.map((g) => g.crowd)
      const ious =
        iouType === 'bbox'
          ? boxIouMatrix(
              dts.map((d) => d.box),
              gts.map((g) => g.box),
              crowd,
            )
          : maskIouMatrix(
              dts.map((d) => d.rle!),
              gts.map((g) => g.rle!),
              crowd,
            )
      for (let a = 0; a < A; a++) evalImgs[k * A * I + a * I + i] = evaluateImg(gts, dts, ious, RANGES[a]!)
    }

  // accumulate()
  const precision = new Float64Array(T * R * K * A * M).fill(-1)
  const recall = new Float64Array(T * K * A * M).fill(-1)
  const pAt = (t: number, r: number, k: number, a: number, m: number) =>
    (((t * R + r) * K + k) * A + a) * M + m
  const rAt = (t: number, k: number, a: number, m: number) => ((t * K + k) * A + a) * M + m
  for (let k = 0; k < K; k++)
    for (let a = 0; a < A; a++)
      for (let m = 0; m < M; m++) {
        const maxDet = MAX_DETS[m]
        const E: EvalImg[] = []
        for (let i = 0; i < I; i++) {
          const e = evalImgs[k * A * I + a * I + i]
          if (e) E.push(e)
        }
        if (!E.length) continue
        // Across images, in ascending image id, then a stable sort by score.
        const picks: { e: EvalImg; d: number; score: number }[] = []
        let npig = 0
        for (const e of E) {
          const n = Math.min(maxDet, e.dts.length)
          for (let d = 0; d < n; d++) picks.push({ e, d, score: e.dts[d]!.score })
          for (const g of e.gtIgnore) if (!g) npig++
        }
        if (npig === 0) continue
        const sorted = byScore(picks)
        const nd = sorted.length
        const rc = new Float64Array(nd)
        const pr = new Float64Array(nd)
        for (let t = 0; t < T; t++) {
          let tp = 0
          let fp = 0
          for (let j = 0; j < nd; j++) {
            const { e, d } = sorted[j]!
            const at = t * e.dts.length + d
            if (!e.dtIgnore[at]) {
              if (e.dtMatches[at] !== 0) tp++
              else fp++
            }
            rc[j] = tp / npig
            pr[j] = tp / (fp + tp + EPS)
          }
          recall[rAt(t, k, a, m)] = nd ? rc[nd - 1]! : 0
          for (let j = nd - 1; j > 0; j--) if (pr[j]! > pr[j - 1]!) pr[j - 1] = pr[j]!
          // searchsorted(rc, recThrs, 'left'); past the last recall reached precision stays 0.
          let j = 0
          for (let r = 0; r < R; r++) {
            while (j < nd && rc[j]! < RECALL_THRESHOLDS[r]!) j++
            precision[pAt(t, r, k, a, m)] = j < nd ? pr[j]! : 0
          }
        }
      }

  // summarize()
  const range = (n: number) => [...Array(n).keys()]
  const ap = (ts: number[], a: number, m: number, ks = range(K)) =>
    mean(ts.flatMap((t) => range(R).flatMap((r) => ks.map((k) => precision[pAt(t, r, k, a, m)]!))))
  const ar = (ts: number[], a: number, m: number, ks = range(K)) =>
    mean(ts.flatMap((t) => ks.map((k) => recall[rAt(t, k, a, m)]!)))
  const allT = range(T)
  const t75 = IOU_THRESHOLDS.indexOf(0.75)
  const stats = [
    ap(allT, 0, 2),
    ap([0], 0, 2),
    ap([t75], 0, 2),
    ap(allT, 1, 2),
    ap(allT, 2, 2),
    ap(allT, 3, 2),
    ar(allT, 0, 0),
    ar(allT, 0, 1),
    ar(allT, 0, 2),
    ar(allT, 1, 2),
    ar(allT, 2, 2),
    ar(allT, 3, 2),
  ]
  const perCategory = catIds.map((categoryId, k) => ({
    categoryId,
    name: cats.get(categoryId)!.name,
    ap: ap(allT, 0, 2, [k]),
    ap50: ap([0], 0, 2, [k]),
    ap75: ap([t75], 0, 2, [k]),
    ar100: ar(allT, 0, 2, [k]),
  }))
  const prCurves = catIds.map((categoryId, k) => ({
    categoryId,
    iou50: range(R).map((r) => precision[pAt(0, r, k, 0, 2)]!),
    iou75: range(R).map((r) => precision[pAt(t75, r, k, 0, 2)]!),
  }))

  const matches: CocoImageMatches[] = []
  for (let i = 0; i < I; i++)
    for (let k = 0; k < K; k++) {
      const e = evalImgs[k * A * I + i] // area all
      if (!e) continue
      const G = e.gts.length
      matches.push({
        imageId: imgIds[i]!,
        categoryId: catIds[k]!,
        detections: e.dts.map((dt, d) => {
          let maxIou = 0
          for (let g = 0; g < G; g++)
            if (!e.gts[g]!.crowd) maxIou = Math.max(maxIou, e.ious[d * G + e.gtOrder[g]!]!)
          const gtId = e.dtMatches[d]!
          return {
            resultIndex: dt.resultIndex,
            score: dt.score,
            gtId: gtId !== 0 ? gtId : null,
            iou: gtId !== 0 ? e.dtMatchIou[d]! : 0,
            maxIou,
            ignored: e.dtIgnore[d] === 1,
          }
        }),
        groundTruths: e.gts.map((g, j) => ({
          id: g.id,
          resultIndex: e.gtMatches[j] ? e.gtMatches[j]! - 1 : null,
          crowd: g.crowd,
          ignored: e.gtIgnore[j] === 1,
        })),
      })
    }

  const [a0, a1, a2, a3, a4, a5, r0, r1, r2, r3, r4, r5] = stats as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  return {
    iouType,
    stats,
    ap: a0,
    ap50: a1,
    ap75: a2,
    apSmall: a3,
    apMedium: a4,
    apLarge: a5,
    ar1: r0,
    ar10: r1,
    ar100: r2,
    arSmall: r3,
    arMedium: r4,
    arLarge: r5,
    perCategory,
    prCurves,
    matches,
  }
}
