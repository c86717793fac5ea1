import sharp from 'sharp'
import type { Split } from '../../../../src-shared/domain/types'
import { RegionShape, shapeBounds, type RegionShape as Shape } from '../../../../src-shared/domain/regions'
import { decodeToBitmap, fillPolygon, polygonsToRle, type Rle } from '../../../../src-shared/domain/rle'
import { RAW_FORMAT } from '../../../media/decode'
import type { DB } from '../../../store/open'
import {
  detectionImages,
  imageBytesReader,
  regionsOf,
  type DetectionImageRow,
  type RegionRow,
} from '../../../store/repos/training'
import { fillPixels, PixelCache } from '../../host/pixels'
import {
  letterboxFor,
  maskBox,
  PAD_VALUE,
  tighten,
  type DetectionSample,
  type DetectionSet,
  type Instance,
  type Letterbox,
  type MaskWindow,
  type TruthObject,
} from './sample'

/**
 * The detection feed: every labelled image of the project, letterboxed into the training canvas
 * (decoded once with sharp and kept in the project's pixel cache), with its regions as instances
 * in canvas pixels for training and as COCO-style objects in the image's own pixels for
 * evaluation. Polygons are rasterised at each resolution rather than resampled.
 */

export interface DetectionFeed {
  sets: Record<Split, DetectionSet>
  /** Regions skipped, with why (an unknown class, geometry that does not parse). */
  skipped: number
}

/** The letterboxed canvas of one image: resized to fit, centred, padded with grey. */
export async function canvasPixels(
  bytes: Buffer,
  row: Pick<DetectionImageRow, 'format' | 'width' | 'height' | 'channels'>,
  lb: Letterbox,
  width: number,
  height: number,
): Promise<Uint8Array> {
  const nw = Math.round(lb.width * lb.scale)
  const nh = Math.round(lb.height * lb.scale)
  const img =
    row.format === RAW_FORMAT
      ? sharp(bytes, {
          raw: { width: row.width, height: row.height, channels: row.channels as 1 | 2 | 3 | 4 },
        })
      : sharp(bytes, { failOn: 'error' }).rotate()
  const { data } = await img
    .resize(nw, nh, { fit: 'fill', kernel: 'lanczos3' })
    .removeAlpha()
    .toColourspace('srgb')
    .extend({
      left: lb.padX,
      top: lb.padY,
      right: width - nw - lb.padX,
      bottom: height - nh - lb.padY,
      background: { r: PAD_VALUE, g: PAD_VALUE, b: PAD_VALUE },
    })
    .raw()
    .toBuffer({ resolveWithObject: true })
  return new Uint8Array(data.buffer, data.byteOffset, data.length)
}

/** A mask at the image's size, sampled (nearest) into the canvas. */
function rleToCanvas(rle: Rle, lb: Letterbox): MaskWindow | null {
  const src = decodeToBitmap(rle)
  if (!src.width || !src.height) return null
  const x0 = Math.floor(src.x * lb.scale + lb.padX)
  const y0 = Math.floor(src.y * lb.scale + lb.padY)
  const x1 = Math.ceil((src.x + src.width) * lb.scale + lb.padX)
  const y1 = Math.ceil((src.y + src.height) * lb.scale + lb.padY)
  const width = Math.max(1, x1 - x0)
  const height = Math.max(1, y1 - y0)
  const data = new Uint8Array(width * height)
  for (let y = 0; y < height; y++) {
    const sy = Math.floor((y0 + y + 0.5 - lb.padY) / lb.scale) - src.y
    if (sy < 0 || sy >= src.height) continue
    for (let x = 0; x < width; x++) {
      const sx = Math.floor((x0 + x + 0.5 - lb.padX) / lb.scale) - src.x
      if (sx >= 0 && sx < src.width && src.data[sy * src.width + sx]) data[y * width + x] = 1
    }
  }
  return { x: x0, y: y0, width, height, data }
}

/** A polygon (normalised to the image) rasterised straight into the canvas. */
function polygonToCanvas(shape: Extract<Shape, { kind: 'polygon' }>, lb: Letterbox): MaskWindow | null {
  const sx = lb.width * lb.scale
  const sy = lb.height * lb.scale
  const map = (p: [number, number]): [number, number] => [p[0] * sx + lb.padX, p[1] * sy + lb.padY]
  const poly = { points: shape.geometry.points.map(map), holes: shape.geometry.holes?.map((r) => r.map(map)) }
  const xs = poly.points.map((p) => p[0])
  const ys = poly.points.map((p) => p[1])
  const x = Math.max(0, Math.floor(Math.min(...xs)))
  const y = Math.max(0, Math.floor(Math.min(...ys)))
  const width = Math.max(1, Math.ceil(Math.max(...xs)) - x)
  const height = Math.max(1, Math.ceil(Math.max(...ys)) - y)
  const bm = { x, y, width, height, data: new Uint8Array(width * height) }
  fillPolygon(bm, poly)
  return bm
}

/** One region as a training instance in the canvas, and as an evaluation object in the image. */
export function regionToInstance(
  shape: Shape,
  classIndex: number,
  crowd: boolean,
  lb: Letterbox,
  masks: boolean,
): { instance: Instance; truth: TruthObject } | null {
  const { width: w, height: h } = lb
  const b = shapeBounds(shape)
  const box: TruthObject['box'] = [b.x * w, b.y * h, b.w * w, b.h * h]
  let rle: Rle | null = null
  let mask: MaskWindow | null = null
  if (masks && shape.kind !== 'box') {
    rle = shape.kind === 'mask' ? shape.geometry.rle : polygonsToRle([shape.geometry], h, w)
    const m = shape.kind === 'mask' ? rleToCanvas(rle, lb) : polygonToCanvas(shape, lb)
    mask = m && tighten(m)
  }
  const canvasBox: Instance['box'] = mask
    ? (maskBox(mask) ?? [0, 0, 0, 0])
    : [
        box[0] * lb.scale + lb.padX,
        box[1] * lb.scale + lb.padY,
        (box[0] + box[2]) * lb.scale + lb.padX,
        (box[1] + box[3]) * lb.scale + lb.padY,
      ]
  if (canvasBox[2] - canvasBox[0] <= 0 || canvasBox[3] - canvasBox[1] <= 0) return null
  return {
    instance: { classIndex, box: canvasBox, mask, crowd },
    truth: { classIndex, box, mask: rle, crowd },
  }
}

export interface FeedOptions {
  width: number
  height: number
  classIds: readonly number[]
  /** Segmentation: instance masks from polygons and masks. Detection: boxes only. */
  masks: boolean
  signal?: AbortSignal
  onProgress?: (done: number, total: number) => void
}

/** Loads every labelled image as a letterboxed sample, by split. */
export async function loadDetectionData(db: DB, projectDir: string, o: FeedOptions): Promise<DetectionFeed> {
  const { width, height } = o
  const rows = detectionImages(db)
  const regions = regionsOf(db)
  const byImage = new Map<number, RegionRow[]>()
  for (const r of regions) {
    const list = byImage.get(r.imageId) ?? []
    list.push(r)
    byImage.set(r.imageId, list)
  }
  const classIndex = new Map(o.classIds.map((id, i) => [id, i]))
  const size = width * height * 3
  const pixels = new Uint8Array(rows.length * size)
  const bytes = imageBytesReader(db)
  const letterboxes = rows.map((r) => letterboxFor(r.width, r.height, width, height))
  const letterboxOf = new Map(rows.map((r, i) => [r, letterboxes[i]!]))
  const cache = new PixelCache(projectDir, `letterbox-${width}x${height}x3`, size)
  try {
    await fillPixels(rows, pixels, size, {
      cache,
      decode: (r) => canvasPixels(bytes(r.id), r, letterboxOf.get(r)!, width, height),
      signal: o.signal,
      onProgress: (done) => o.onProgress?.(done, rows.length),
    })
  } finally {
    cache.close()
  }
  let skipped = 0
  const sets: Record<Split, DetectionSet> = {
    train: { width, height, samples: [] },
    val: { width, height, samples: [] },
    test: { width, height, samples: [] },
  }
  rows.forEach((row, i) => {
    const lb = letterboxes[i]!
    const instances: Instance[] = []
    const truth: TruthObject[] = []
    for (const r of byImage.get(row.id) ?? []) {
      const k = r.classId === null ? undefined : classIndex.get(r.classId)
      let parsed: ReturnType<typeof RegionShape.safeParse> | null
      try {
        parsed = RegionShape.safeParse({ kind: r.kind, geometry: JSON.parse(r.geometry) })
      } catch {
        parsed = null
      }
      if (k === undefined || !parsed?.success) {
        skipped++
        continue
      }
      const c = regionToInstance(parsed.data as Shape, k, r.crowd, lb, o.masks)
      if (!c) {
        skipped++
        continue
      }
      instances.push(c.instance)
      truth.push(c.truth)
    }
    sets[row.split].samples.push({
      imageId: row.id,
      pixels: pixels.subarray(i * size, (i + 1) * size),
      instances,
      letterbox: lb,
      truth,
    } satisfies DetectionSample)
  })
  return { sets, skipped }
}
