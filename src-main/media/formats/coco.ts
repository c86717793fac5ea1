/**
 * COCO in and out.
 *
 * In: a COCO JSON file (`file_name` found beside it, in an `images/` folder beside it, or under the
 * `images` folder the request names), or a folder in the common export layout: `train/`, `valid/` (or
 * `val/`) and `test/`, each holding `_annotations.coco.json` and its images, imported as the three
 * splits. A folder holding `annotations.json` (or `_annotations.coco.json`) at its top, as `exportCoco`
 * writes it, is read as one JSON file. Categories become classes; a bbox alone becomes a box, one
 * polygon a polygon, several polygons or an RLE a mask; `iscrowd` is kept. Every bad image and
 * annotation becomes a report row (file, element, reason) and the rest comes in.
 *
 * Out: `annotations.json` (images, categories, annotations), the images under `images/`, and, given a
 * run, `predictions.json` in COCO's results format from the run's final test-split detections.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { ApiError } from '../../../src-shared/api/contract'
import type { ExportCocoRequest, ExportCocoResult } from '../../../src-shared/api/exchange'
import { rleFromPolygon, rleToBox, segmentationToRle } from '../../../src-shared/domain/coco/polygon'
import type {
  CocoAnnotation,
  CocoBox,
  CocoCategory,
  CocoImage,
  CocoResult,
  CocoSegmentation,
} from '../../../src-shared/domain/coco/eval'
import { pointsBounds, polygonArea, type Size, type Vec } from '../../../src-shared/domain/geometry'
import { MIN_POLYGON_AREA_PX, type RegionShape } from '../../../src-shared/domain/regions'
import { rleArea, rleFromString, rleMerge, rleToString, type Rle } from '../../../src-shared/domain/rle'
import type { Split } from '../../../src-shared/domain/types'
import type { DB } from '../../store/open'
import { regionsForExport } from '../../store/repos/annotations'
import { listClasses } from '../../store/repos/classes'
import { imagesForExport, type ImageExportRow } from '../../store/repos/images'
import { getMeta } from '../../store/repos/meta'
import { getDetections, getRunRow } from '../../store/repos/runs'
import { RAW_FORMAT } from '../decode'
import { errnoReason } from '../read'
import { exportProgress, imageFileBytes, readText, prepareExportDir, type OnExportProgress } from './common'
import {
  checkedShape,
  type FormatScan,
  type ImportUnit,
  type ScanOptions,
  type UnitAnnotation,
} from './types'

/** The annotations file of each split folder in the common (Roboflow-style) export layout. */
export const SPLIT_ANNOTATIONS_FILE = '_annotations.coco.json'
/** What exportCoco writes. */
export const EXPORT_ANNOTATIONS_FILE = 'annotations.json'
export const EXPORT_PREDICTIONS_FILE = 'predictions.json'
export const EXPORT_IMAGES_DIR = 'images'

/** Split folders of the export layout, in import order. */
const LAYOUT: readonly (readonly [string, Split])[] = [
  ['train', 'train'],
  ['valid', 'val'],
  ['val', 'val'],
  ['test', 'test'],
]
/** Files read as the whole set where a folder has no split folders. */
const TOP_FILES = [SPLIT_ANNOTATIONS_FILE, EXPORT_ANNOTATIONS_FILE]

/** Boxes and polygon points may lie this far outside the image (rounding), and are clamped into it. */
export const OUTSIDE_TOLERANCE_PX = 1

// ================================================================ reading the JSON

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
/** COCO ids are whole numbers; a few tools write strings. */
const isId = (v: unknown): v is number | string =>
  (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && v.length > 0)
const showId = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v))
/** Pixel values in messages: at most two decimals. */
const px = (v: number): string => String(Math.round(v * 100) / 100)

interface CocoDoc extends Obj {
  images: unknown[]
  annotations: unknown[]
}

function isCocoDoc(doc: unknown): doc is CocoDoc {
  return isObj(doc) && Array.isArray(doc.images) && Array.isArray(doc.annotations)
}

/**
 * The document recognise() last parsed, kept (one only) so that the scan after it need not parse a
 * large file again. Taken when the file has not changed since.
 */
let lastParsed: { file: string; mtimeMs: number; size: number; doc: CocoDoc } | null = null

async function readJson(file: string): Promise<{ doc: unknown } | { failure: string }> {
  let st: import('node:fs').Stats
  try {
    st = await fs.stat(file)
  } catch (e) {
    return { failure: errnoReason(e) }
  }
  const cached = lastParsed
  if (cached && cached.file === file && cached.mtimeMs === st.mtimeMs && cached.size === st.size) {
    lastParsed = null
    return { doc: cached.doc }
  }
  const read = await readText(file)
  if ('failure' in read) return read
  try {
    return { doc: JSON.parse(read.text) as unknown }
  } catch (e) {
    return { failure: `invalid JSON: ${(e as Error).message}` }
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile()
  } catch {
    return false
  }
}

/** The JSON files of a folder source: its split folders, else one file at its top. */
async function folderSources(dir: string): Promise<{ json: string; split: Split | null }[]> {
  const found: { json: string; split: Split | null }[] = []
  for (const [name, split] of LAYOUT) {
    const json = path.join(dir, name, SPLIT_ANNOTATIONS_FILE)
    if (await isFile(json)) found.push({ json, split })
  }
  if (found.length) return found
  for (const name of TOP_FILES) {
    const json = path.join(dir, name)
    if (await isFile(json)) return [{ json, split: null }]
  }
  return []
}

/** A JSON file whose top level has `images` and `annotations` lists. */
async function isCocoFile(file: string): Promise<boolean> {
  let st: import('node:fs').Stats
  try {
    st = await fs.stat(file)
  } catch {
    return false
  }
  const r = await readJson(file)
  if (!('doc' in r) || !isCocoDoc(r.doc)) return false
  lastParsed = { file, mtimeMs: st.mtimeMs, size: st.size, doc: r.doc }
  return true
}

/**
 * Whether `--format auto` should read this path as COCO: a `.json` file whose top level has `images`
 * and `annotations`, or a folder with `train/`, `valid/` (or `val/`) or `test/` holding
 * `_annotations.coco.json`, or with a COCO `annotations.json` / `_annotations.coco.json` at its top.
 */
export async function recogniseCoco(given: string): Promise<boolean> {
  const p = path.resolve(given)
  let st: import('node:fs').Stats
  try {
    st = await fs.stat(p)
  } catch {
    return false
  }
  if (st.isFile()) return path.extname(p).toLowerCase() === '.json' && isCocoFile(p)
  if (!st.isDirectory()) return false
  const sources = await folderSources(p)
  if (!sources.length) return false
  return sources[0]!.split !== null || isCocoFile(sources[0]!.json)
}

/** Category id → name, in the file's order; or what is wrong with the list. */
function readCategories(v: unknown): { byId: Map<unknown, string> } | { problem: string } {
  if (!Array.isArray(v)) return { problem: 'there is no "categories" list' }
  const byId = new Map<unknown, string>()
  for (let i = 0; i < v.length; i++) {
    const c: unknown = v[i]
    if (!isObj(c)) return { problem: `entry ${i + 1} is not an object` }
    if (!isId(c.id)) return { problem: `entry ${i + 1} has no id` }
    const name = typeof c.name === 'string' ? c.name.trim() : ''
    if (!name) return { problem: `category ${showId(c.id)} has no name` }
    if (byId.has(c.id)) return { problem: `category id ${showId(c.id)} appears twice` }
    byId.set(c.id, name)
  }
  return { byId }
}

interface PendingAnnotation {
  element: string
  ann: Obj
  className: string
}

interface ImageEntry {
  id: number | string
  fileName: string
  declared: Size | null
  anns: PendingAnnotation[]
}

/** Reads one COCO JSON file into import units; every bad part becomes a row of `out.failures`. */
async function scanFile(
  json: string,
  split: Split | null,
  opts: ScanOptions,
  out: FormatScan,
): Promise<void> {
  const read = await readJson(json)
  if ('failure' in read) {
    out.failures.push({ path: json, reason: read.failure })
    return
  }
  const doc = read.doc
  if (!isCocoDoc(doc)) {
    out.failures.push({
      path: json,
      reason: 'not a COCO file: its top level needs an "images" list and an "annotations" list',
    })
    return
  }
  const cats = readCategories(doc.categories)
  if ('problem' in cats) {
    out.failures.push({ path: json, reason: `malformed categories: ${cats.problem}` })
    return
  }
  const fail = (element: string, reason: string) => out.failures.push({ path: json, element, reason })

  const images = new Map<unknown, ImageEntry>()
  /** Ids of image entries that were reported and skipped: their annotations go with them, unreported. */
  const skipped = new Set<unknown>()
  doc.images.forEach((im: unknown, i) => {
    if (!isObj(im) || !isId(im.id)) {
      fail(`image #${i + 1}`, 'image entry has no id')
      return
    }
    const element = `image ${showId(im.id)}`
    if (images.has(im.id) || skipped.has(im.id)) {
      fail(element, `image id ${showId(im.id)} appears twice in the images list: the later entry was skipped`)
      return
    }
    if (typeof im.file_name !== 'string' || !im.file_name) {
      skipped.add(im.id)
      fail(element, 'image entry has no file_name')
      return
    }
    const w = im.width
    const h = im.height
    const declared =
      Number.isInteger(w) && Number.isInteger(h) && (w as number) > 0 && (h as number) > 0
        ? { width: w as number, height: h as number }
        : null
    images.set(im.id, { id: im.id, fileName: im.file_name, declared, anns: [] })
  })

  const used = new Set<unknown>()
  doc.annotations.forEach((a: unknown, i) => {
    const element = isObj(a) && isId(a.id) ? `annotation ${showId(a.id)}` : `annotation #${i + 1}`
    if (!isObj(a)) {
      fail(element, 'annotation entry is not an object')
      return
    }
    const img = images.get(a.image_id)
    if (!img) {
      if (!skipped.has(a.image_id))
        fail(element, `names image id ${showId(a.image_id)}, which is not in the images list`)
      return
    }
    const className = cats.byId.get(a.category_id)
    if (className === undefined) {
      fail(element, `names category id ${showId(a.category_id)}, which is not in the categories list`)
      return
    }
    used.add(a.category_id)
    img.anns.push({ element, ann: a, className })
  })

  // New classes in the file's category order; categories no annotation uses make none.
  for (const [id, name] of cats.byId) if (used.has(id) && !out.classes.includes(name)) out.classes.push(name)

  const base = path.dirname(json)
  for (const img of images.values()) {
    const places = opts.images
      ? [path.resolve(opts.images, img.fileName)]
      : [path.resolve(base, img.fileName), path.resolve(base, EXPORT_IMAGES_DIR, img.fileName)]
    const unit: ImportUnit = {
      file: places[0]!,
      alternatives: places.slice(1),
      element: `image ${showId(img.id)} (${img.fileName})`,
      split,
      declaredSize: img.declared,
      annotationCount: img.anns.length,
      annotations: (size) => img.anns.map((p) => readAnnotation(p, size, json)),
    }
    out.units.push(unit)
  }
}

/**
 * Reads a COCO source (a JSON file, or a folder in the split layout) into import units: one per
 * image entry, in the file's order, train before val before test.
 */
export async function scanCoco(given: string, opts: ScanOptions = {}): Promise<FormatScan> {
  const out: FormatScan = { units: [], failures: [], classes: [] }
  const p = path.resolve(given)
  let st: import('node:fs').Stats
  try {
    st = await fs.stat(p)
  } catch (e) {
    out.failures.push({ path: p, reason: errnoReason(e) })
    return out
  }
  const images = opts.images ? { images: path.resolve(opts.images) } : {}
  if (!st.isDirectory()) {
    await scanFile(p, null, images, out)
    return out
  }
  const sources = await folderSources(p)
  if (!sources.length)
    out.failures.push({
      path: p,
      reason: `not a COCO folder: expected train/, valid/ (or val/) or test/ holding ${SPLIT_ANNOTATIONS_FILE}, or an ${EXPORT_ANNOTATIONS_FILE}`,
    })
  for (const s of sources) await scanFile(s.json, s.split, images, out)
  return out
}

// ================================================================ one annotation → one region

type ShapeOrProblem = { shape: RegionShape } | { problem: string }

function readAnnotation(p: PendingAnnotation, size: Size, json: string): UnitAnnotation {
  const fail = (reason: string): UnitAnnotation => ({ failure: { path: json, element: p.element, reason } })
  const read = annotationShape(p.ann, size)
  if ('problem' in read) return fail(read.problem)
  const checked = checkedShape(read.shape, size)
  if ('problem' in checked) return fail(checked.problem)
  const crowd = p.ann.iscrowd === 1 || p.ann.iscrowd === true
  return { region: { className: p.className, shape: checked.shape, crowd } }
}

/** The region an annotation describes, in coordinates normalised to a W × H image. */
export function annotationShape(ann: Obj, { width: W, height: H }: Size): ShapeOrProblem {
  const seg = ann.segmentation
  if (seg === undefined || seg === null || (Array.isArray(seg) && seg.length === 0))
    return boxShape(ann.bbox, W, H)
  if (Array.isArray(seg)) return polygonsShape(seg, W, H)
  if (isObj(seg)) return rleShape(seg, W, H)
  return { problem: 'segmentation is neither a list of polygons nor an RLE' }
}

const outside = (x: number, y: number, W: number, H: number) =>
  x < -OUTSIDE_TOLERANCE_PX ||
  y < -OUTSIDE_TOLERANCE_PX ||
  x > W + OUTSIDE_TOLERANCE_PX ||
  y > H + OUTSIDE_TOLERANCE_PX

function boxShape(bbox: unknown, W: number, H: number): ShapeOrProblem {
  if (bbox === undefined) return { problem: 'annotation has neither a segmentation nor a bbox' }
  if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every(isNum))
    return { problem: 'bbox must be [x, y, width, height]: four numbers' }
  const [x, y, w, h] = bbox as CocoBox
  if (!(w > 0 && h > 0)) return { problem: `box has no area: it is ${px(w)}×${px(h)} px` }
  if (outside(x, y, W, H) || outside(x + w, y + h, W, H))
    return {
      problem: `box [${[x, y, w, h].map(px).join(', ')}] lies outside the ${W}×${H} image (by more than ${OUTSIDE_TOLERANCE_PX} px)`,
    }
  return { shape: { kind: 'box', geometry: { x: x / W, y: y / H, w: w / W, h: h / H } } }
}

function polygonsShape(seg: unknown[], W: number, H: number): ShapeOrProblem {
  for (let k = 0; k < seg.length; k++) {
    const p = seg[k]
    const which = seg.length > 1 ? `polygon ${k + 1} of ${seg.length}` : 'polygon'
    if (!Array.isArray(p) || !p.every(isNum)) return { problem: `${which} is not a list of numbers` }
    if (p.length % 2) return { problem: `${which} has an odd number of coordinates (${p.length})` }
    if (p.length < 6) return { problem: `${which} has fewer than 3 points (${p.length / 2})` }
    for (let j = 0; j < p.length; j += 2)
      if (outside(p[j]!, p[j + 1]!, W, H))
        return {
          problem: `${which} has a point (${px(p[j]!)}, ${px(p[j + 1]!)}) outside the ${W}×${H} image (by more than ${OUTSIDE_TOLERANCE_PX} px)`,
        }
  }
  const polys = seg as number[][]
  if (polys.length === 1) {
    const flat = polys[0]!
    const points: Vec[] = []
    for (let j = 0; j < flat.length; j += 2) points.push([flat[j]! / W, flat[j + 1]! / H])
    if (polygonArea({ points }) * W * H < MIN_POLYGON_AREA_PX)
      return { problem: 'polygon has no area (its points lie on one line)' }
    return { shape: { kind: 'polygon', geometry: { points } } }
  }
  // Several polygons are one object in COCO: their union, rasterised as pycocotools does.
  const rle = segmentationToRle(polys, H, W)
  if (rleArea(rle) === 0) return { problem: `the ${polys.length} polygons cover no pixel` }
  return { shape: { kind: 'mask', geometry: { rle } } }
}

function rleShape(seg: Obj, W: number, H: number): ShapeOrProblem {
  const size = seg.size
  if (
    !Array.isArray(size) ||
    size.length !== 2 ||
    !size.every((v) => Number.isInteger(v) && (v as number) > 0)
  )
    return { problem: 'malformed RLE: its size must be [height, width], two positive whole numbers' }
  const [h, w] = size as [number, number]
  if (h !== H || w !== W)
    return { problem: `RLE size [${h}, ${w}] is not the image's size [${H}, ${W}] (as [height, width])` }
  let counts: number[]
  if (typeof seg.counts === 'string') {
    try {
      counts = rleFromString(seg.counts, h, w).counts
    } catch (e) {
      return { problem: `malformed RLE: its counts string cannot be decoded (${(e as Error).message})` }
    }
  } else if (Array.isArray(seg.counts)) {
    if (!seg.counts.every(isNum)) return { problem: 'malformed RLE: its counts must all be numbers' }
    counts = (seg.counts as number[]).slice()
  } else return { problem: 'malformed RLE: its counts must be a string or a list of numbers' }
  const negative = counts.find((c) => c < 0)
  if (negative !== undefined) return { problem: `malformed RLE: a negative run length (${negative})` }
  const fraction = counts.find((c) => !Number.isInteger(c))
  if (fraction !== undefined)
    return { problem: `malformed RLE: run lengths must be whole numbers (found ${fraction})` }
  const sum = counts.reduce((s, c) => s + c, 0)
  if (sum !== h * w)
    return { problem: `malformed RLE: its runs cover ${sum} pixels, but a ${w}×${h} mask has ${h * w}` }
  const rle: Rle = { size: [h, w], counts }
  if (rleArea(rle) === 0) return { problem: 'mask is empty: no pixel is set' }
  return { shape: { kind: 'mask', geometry: { rle } } }
}

// ================================================================ export

/** A region as COCO has it: pixel box, area and segmentation. */
export function toCocoGeometry(
  shape: RegionShape,
  W: number,
  H: number,
): { bbox: CocoBox; area: number; segmentation: CocoSegmentation } {
  switch (shape.kind) {
    case 'box': {
      const g = shape.geometry
      const bbox: CocoBox = [g.x * W, g.y * H, g.w * W, g.h * H]
      return { bbox, area: bbox[2] * bbox[3], segmentation: [] }
    }
    case 'polygon': {
      const flat = (ring: readonly Vec[]) => ring.flatMap(([x, y]) => [x * W, y * H])
      const outer = flat(shape.geometry.points)
      const holes = shape.geometry.holes ?? []
      if (!holes.length) {
        const b = pointsBounds(shape.geometry.points.map(([x, y]) => [x * W, y * H] as Vec))
        return {
          bbox: [b.x, b.y, b.w, b.h],
          area: rleArea(rleFromPolygon(outer, H, W)),
          segmentation: [outer],
        }
      }
      // COCO polygons cannot have holes: the outline less its holes, as a mask.
      const cut = holes.map((r) => rleFromPolygon(flat(r), H, W)).reduce((a, b) => rleMerge(a, b, 'union'))
      return maskGeometry(rleMerge(rleFromPolygon(outer, H, W), cut, 'subtract'))
    }
    case 'mask':
      return maskGeometry(shape.geometry.rle)
  }
}

function maskGeometry(rle: Rle): { bbox: CocoBox; area: number; segmentation: CocoSegmentation } {
  return {
    bbox: rleToBox(rle),
    area: rleArea(rle),
    segmentation: { size: [rle.size[0], rle.size[1]], counts: rleToString(rle) },
  }
}

const EXTENSIONS: Record<string, string> = {
  jpeg: '.jpg',
  png: '.png',
  webp: '.webp',
  gif: '.gif',
  tiff: '.tif',
  avif: '.avif',
  [RAW_FORMAT]: '.png',
}

/** `<id>-<name of the source file>.<ext>`; raw (IDX) images become `<id>.png`. */
export function exportFileName(im: Pick<ImageExportRow, 'id' | 'format' | 'source'>): string {
  const ext = EXTENSIONS[im.format] ?? `.${im.format}`
  if (im.format === RAW_FORMAT) return `${im.id}${ext}`
  const base = path.basename(im.source)
  const stem = base
    .slice(0, base.length - path.extname(base).length)
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 60)
  return stem ? `${im.id}-${stem}${ext}` : `${im.id}${ext}`
}

async function emptyFolder(dir: string): Promise<void> {
  await prepareExportDir(dir)
  await fs.mkdir(path.join(dir, EXPORT_IMAGES_DIR), { recursive: true })
}

/** Chunks of ids small enough for one SQL `IN (...)`. */
function chunks<T>(xs: readonly T[], n = 500): T[][] {
  const out: T[][] = []
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n))
  return out
}

/**
 * Writes the project (or one split) as COCO into `dir`: the images under `images/` (the stored
 * bytes; raw IDX pixels as PNG), `annotations.json` (image ids are the project's, category ids its
 * class ids, annotation ids its region ids), and, given a run, `predictions.json` with the run's final
 * test-split detections in COCO's results format. Image-level class tags and regions without a class
 * have no COCO form and are left out.
 */
export async function exportCoco(
  db: DB,
  req: ExportCocoRequest,
  onProgress?: OnExportProgress,
): Promise<ExportCocoResult> {
  const dir = path.resolve(req.dir)
  if (req.runId !== undefined) {
    const run = getRunRow(db, req.runId)
    if (!run) throw new ApiError('not_found', `No run with id ${req.runId}`)
    if (run.task === 'classify')
      throw new ApiError(
        'bad_input',
        `Run ${req.runId} is a classification run: it has no detections to write as COCO results`,
      )
  }
  await emptyFolder(dir)

  const rows = imagesForExport(db, req.split)
  const byId = new Map(rows.map((r) => [r.id, r]))
  const imageFiles: string[] = []
  const images: CocoImage[] = []
  const tick = exportProgress(rows.length, onProgress)
  for (const im of rows) {
    tick()
    const bytes = await imageFileBytes(db, im)
    if (!bytes) continue
    const name = exportFileName(im)
    await fs.writeFile(path.join(dir, EXPORT_IMAGES_DIR, name), bytes)
    imageFiles.push(`${EXPORT_IMAGES_DIR}/${name}`)
    images.push({ id: im.id, file_name: name, width: im.width, height: im.height })
  }

  const categories: CocoCategory[] = listClasses(db).map((c) => ({ id: c.id, name: c.name }))
  const annotations: CocoAnnotation[] = []
  for (const r of regionsForExport(db, req.split)) {
    const im = byId.get(r.imageId)
    if (r.classId === null || !im) continue
    annotations.push({
      id: r.id,
      image_id: r.imageId,
      category_id: r.classId,
      ...toCocoGeometry(r.shape, im.width, im.height),
      iscrowd: r.crowd ? 1 : 0,
    })
  }
  const name = getMeta(db, 'name')
  const doc = {
    info: {
      description: `Smallset project${name ? ` "${name}"` : ''}${req.split ? `, ${req.split} split` : ''}`,
      version: '1.0',
      date_created: new Date().toISOString(),
      contributor: 'Smallset',
    },
    licenses: [],
    images,
    categories,
    annotations,
  }
  await fs.writeFile(path.join(dir, EXPORT_ANNOTATIONS_FILE), JSON.stringify(doc))
  const files = [EXPORT_ANNOTATIONS_FILE]

  let predictions: number | null = null
  const without: number[] = []
  if (req.runId !== undefined) {
    const results: CocoResult[] = []
    const predicted = new Set<number>()
    for (const ids of chunks(images.map((i) => i.id)))
      for (const g of getDetections(db, req.runId, { epoch: -1, imageIds: ids })) {
        const im = byId.get(g.imageId)!
        predicted.add(g.imageId)
        for (const d of g.detections) {
          if (d.classId === null || d.classId === undefined) continue
          results.push({
            image_id: g.imageId,
            category_id: d.classId,
            bbox: [d.box.x * im.width, d.box.y * im.height, d.box.w * im.width, d.box.h * im.height],
            score: d.score,
            ...(d.mask && {
              segmentation: { size: [d.mask.size[0], d.mask.size[1]], counts: d.mask.counts },
            }),
          })
        }
      }
    for (const im of images) if (!predicted.has(im.id)) without.push(im.id)
    await fs.writeFile(path.join(dir, EXPORT_PREDICTIONS_FILE), JSON.stringify(results))
    files.push(EXPORT_PREDICTIONS_FILE)
    predictions = results.length
  }

  return {
    files: [...files, ...imageFiles],
    images: images.length,
    annotations: annotations.length,
    predictions,
    imagesWithoutPredictions: { count: without.length, ids: without },
  }
}

/** For the registry (./index.ts). */
export const cocoFormat = {
  name: 'coco',
  recognise: recogniseCoco,
  scan: scanCoco,
  export: exportCoco,
} as const
