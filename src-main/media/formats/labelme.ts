/**
 * labelme JSON in and out.
 *
 * In: a folder of labelme `.json` files (searched recursively), or one such file. Each JSON is one
 * image: its embedded `imageData` (base64) where it has one, else the file `imagePath` names,
 * relative to the JSON (Windows `\` separators read; the same name beside the JSON is tried next).
 * A folder named train / val / valid / test (as ./common.ts splitFromName reads them) above a JSON sets its split;
 * else a seeded split is made. Images in the folder that no JSON names come in unlabelled; a JSON
 * with no shapes means someone looked and found nothing, and its image is stored as reviewed.
 * Shapes, in pixels of the image (checked against `imageWidth` / `imageHeight`):
 * - `polygon` (at least 3 points) → a polygon; `rectangle` (2 corners) → a box;
 * - `circle` (centre and a point on the circle) → a polygon of CIRCLE_VERTICES vertices on the circle;
 * - `mask` (labelme ≥ 5.3: 2 corners and a base64 PNG of that window) → a mask;
 * - `point`, `line`, `linestrip` → report rows: Smallset's regions are boxes, polygons and masks.
 * `label` names the class (made as needed). `group_id`, `flags` and `description` are NOT stored
 * (the store has no per-region attributes): shapes sharing a group_id come in as separate regions.
 * Each malformed file and bad shape becomes a report row (file, `shapes[i]`, reason), and the rest
 * comes in. A UTF-8 BOM and Windows line endings are read.
 *
 * Out: labelme's usual layout, the image and `<stem>.json` side by side, in one folder per split
 * (`train/`, `val/`, `test/`: labelme has no splits, and these folders read back as them). Boxes are
 * rectangles, polygons polygons, masks their traced outlines as polygons (one per 4-connected part,
 * sharing a group_id where there are several). labelme has no holes and no crowd flag: holes are
 * dropped (outer outlines only) and crowd regions left out, and the result says so. `imageData` is
 * null (the image is the file beside the JSON). An image with no regions gets no JSON unless it was
 * reviewed (then one with no shapes). A project with image tags and no regions is refused.
 */
import path from 'node:path'
import sharp from 'sharp'
import type { ExportDatasetRequest, ExportDatasetResult } from '../../../src-shared/api/exchange'
import type { Size, Vec } from '../../../src-shared/domain/geometry'
import type { RegionShape } from '../../../src-shared/domain/regions'
import { encodeMask, rleToPolygons } from '../../../src-shared/domain/rle'
import type { Split } from '../../../src-shared/domain/types'
import type { DB } from '../../store/open'
import { regionsForExport, type ExportRegion } from '../../store/repos/annotations'
import { listClasses } from '../../store/repos/classes'
import { imagesForExport } from '../../store/repos/images'
import { exportFileName, OUTSIDE_TOLERANCE_PX } from './coco'
import {
  ExportNotes,
  imageFileBytes,
  isDir,
  isFile,
  isImageName,
  listFiles,
  prepareExportDir,
  px,
  readText,
  refuseTagsOnly,
  stemOf,
  regionsByImage,
  writableRegions,
  writeOut,
  exportProgress,
  bySplitOrder,
  splitFromName,
  type OnExportProgress,
} from './common'
import { checkedShape, type FormatScan, type ImportUnit, type UnitAnnotation } from './types'

/** Vertices of the polygon a labelme circle becomes (on the circle, so the polygon lies inside it). */
export const CIRCLE_VERTICES = 64
/** The labelme version export writes (the file layout of labelme 5.x). */
export const LABELME_VERSION = '5.5.0'
/** Split folders export writes, in order; each reads back as its split (splitFromName). */
const EXPORT_SPLITS: readonly Split[] = ['train', 'val', 'test']

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
const isJsonName = (n: string): boolean => n.toLowerCase().endsWith('.json')

// ================================================================ reading the JSON

/** A labelme document by its keys: a `shapes` list and an `imagePath` or `imageData`; never COCO's. */
function isLabelmeDoc(doc: unknown): doc is Obj {
  return (
    isObj(doc) &&
    Array.isArray(doc.shapes) &&
    ('imagePath' in doc || 'imageData' in doc) &&
    !(Array.isArray(doc.images) && Array.isArray(doc.annotations))
  )
}

/** A JSON text's document, or what is wrong with it (with its line where the parser says where). */
function parseJson(text: string): { doc: unknown } | { problem: string; line?: number } {
  try {
    return { doc: JSON.parse(text) as unknown }
  } catch (e) {
    const msg = (e as Error).message
    const at = /position (\d+)/.exec(msg)
    const line = at ? text.slice(0, Number(at[1])).split(/\r\n|\r|\n/).length : undefined
    return { problem: `malformed JSON: ${msg}`, ...(line && { line }) }
  }
}

async function readLabelme(file: string): Promise<{ doc: Obj } | { problem: string; line?: number }> {
  const r = await readText(file)
  if ('failure' in r) return { problem: r.failure }
  const parsed = parseJson(r.text)
  if ('problem' in parsed) return parsed
  if (!isLabelmeDoc(parsed.doc))
    return { problem: 'not a labelme file: it needs a "shapes" list and an "imagePath" or "imageData"' }
  return { doc: parsed.doc }
}

/**
 * Whether `--format auto` should read this path as labelme: a .json file that is a labelme document
 * (by its keys), or a folder whose first .json file (in name order, searched recursively) is one.
 */
export async function recogniseLabelme(given: string): Promise<boolean> {
  const p = path.resolve(given)
  let file: string | undefined
  if (await isFile(p)) file = isJsonName(p) ? p : undefined
  else if (await isDir(p)) file = (await listFiles(p, isJsonName))[0]
  if (!file) return false
  return 'doc' in (await readLabelme(file))
}

// ================================================================ shapes

/** One shape read from the JSON, before the image's size is known: its geometry in pixels, or why not. */
type PendingShape = { element: string; label: string } & (
  | { kind: 'polygon'; points: Vec[] }
  | { kind: 'rectangle'; points: [Vec, Vec] }
  | { kind: 'mask'; corner: Vec; bitmap: { width: number; height: number; data: Uint8Array } }
  | { kind: 'problem'; problem: string }
)

const UNSTORED = 'Smallset stores boxes, polygons and masks (regions with an area)'

function readPoints(v: unknown): Vec[] | null {
  if (!Array.isArray(v)) return null
  const out: Vec[] = []
  for (const p of v) {
    if (!Array.isArray(p) || p.length !== 2 || !isNum(p[0]) || !isNum(p[1])) return null
    out.push([p[0], p[1]])
  }
  return out
}

/** The vertices of the polygon a circle becomes: CIRCLE_VERTICES points on it, from angle 0. */
export function circlePolygon(centre: Vec, r: number): Vec[] {
  return Array.from({ length: CIRCLE_VERTICES }, (_, i): Vec => {
    const a = (2 * Math.PI * i) / CIRCLE_VERTICES
    return [centre[0] + r * Math.cos(a), centre[1] + r * Math.sin(a)]
  })
}

/** A labelme mask's PNG, as one byte per pixel (1 where set). */
async function decodeMaskPng(b64: string): Promise<{ width: number; height: number; data: Uint8Array }> {
  const { data, info } = await sharp(Buffer.from(b64, 'base64'))
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true })
  const bits = new Uint8Array(info.width * info.height)
  for (let i = 0; i < bits.length; i++) bits[i] = data[i * info.channels]! ? 1 : 0
  return { width: info.width, height: info.height, data: bits }
}

async function readShape(s: unknown, i: number): Promise<PendingShape> {
  const obj = isObj(s) ? s : {}
  const label = typeof obj.label === 'string' ? obj.label.trim() : ''
  const element = `shapes[${i}]${label ? ` (${label})` : ''}`
  const problem = (p: string): PendingShape => ({ element, label, kind: 'problem', problem: p })
  if (!isObj(s)) return problem('shape is not an object')
  // labelme before 3.x wrote no shape_type: those shapes are polygons.
  const type = s.shape_type === undefined || s.shape_type === null ? 'polygon' : s.shape_type
  if (typeof type !== 'string') return problem('shape_type is not a string')
  if (type === 'point' || type === 'points') return problem(`points are not stored by Smallset: ${UNSTORED}`)
  if (type === 'line' || type === 'linestrip')
    return problem(`${type} shapes are not stored by Smallset: ${UNSTORED}`)
  if (!['polygon', 'rectangle', 'circle', 'mask'].includes(type))
    return problem(`shape_type "${type}" is not one Smallset reads (polygon, rectangle, circle, mask)`)
  if (!label) return problem('shape has no label')
  const points = readPoints(s.points)
  if (!points) return problem('points must be a list of [x, y] pairs of numbers')
  switch (type) {
    case 'polygon':
      if (points.length < 3) return problem(`polygon has fewer than 3 points (${points.length})`)
      return { element, label, kind: 'polygon', points }
    case 'rectangle': {
      if (points.length !== 2) return problem(`rectangle needs 2 corner points, not ${points.length}`)
      return { element, label, kind: 'rectangle', points: [points[0]!, points[1]!] }
    }
    case 'circle': {
      if (points.length !== 2)
        return problem(`circle needs 2 points (its centre and one on it), not ${points.length}`)
      const [c, q] = points as [Vec, Vec]
      const r = Math.hypot(q[0] - c[0], q[1] - c[1])
      if (!(r > 0)) return problem('circle has no radius: its two points are the same')
      return { element, label, kind: 'polygon', points: circlePolygon(c, r) }
    }
    default: {
      // mask: the window's top-left corner (and its bottom-right), and a PNG of the window.
      if (points.length !== 2) return problem(`mask needs 2 corner points, not ${points.length}`)
      if (typeof s.mask !== 'string' || !s.mask) return problem('mask shape has no "mask" image')
      try {
        const bitmap = await decodeMaskPng(s.mask)
        const corner: Vec = [Math.min(points[0]![0], points[1]![0]), Math.min(points[0]![1], points[1]![1])]
        return { element, label, kind: 'mask', corner, bitmap }
      } catch (e) {
        return problem(`mask image unreadable: ${(e as Error).message}`)
      }
    }
  }
}

/** One shape at a W × H image: pixels → normalised, checked as the editor's saves are. */
function shapeAnnotation(s: PendingShape, size: Size, json: string): UnitAnnotation {
  const { width: W, height: H } = size
  const fail = (reason: string): UnitAnnotation => ({ failure: { path: json, element: s.element, reason } })
  if (s.kind === 'problem') return fail(s.problem)
  const t = OUTSIDE_TOLERANCE_PX
  const outside = (p: Vec) => p[0] < -t || p[1] < -t || p[0] > W + t || p[1] > H + t
  let shape: RegionShape
  if (s.kind === 'mask') {
    const { bitmap: b } = s
    const x0 = Math.round(s.corner[0])
    const y0 = Math.round(s.corner[1])
    if (x0 < 0 || y0 < 0 || x0 + b.width > W || y0 + b.height > H)
      return fail(`mask of ${b.width}×${b.height} at (${x0}, ${y0}) lies outside the ${W}×${H} image`)
    const data = new Uint8Array(W * H)
    for (let y = 0; y < b.height; y++)
      data.set(b.data.subarray(y * b.width, (y + 1) * b.width), (y0 + y) * W + x0)
    shape = { kind: 'mask', geometry: { rle: encodeMask(data, H, W) } }
  } else {
    const bad = s.points.find(outside)
    if (bad)
      return fail(
        `${s.kind === 'rectangle' ? 'rectangle' : 'polygon'} has a point (${px(bad[0])}, ${px(bad[1])}) outside the ${W}×${H} image (by more than ${t} px)`,
      )
    const norm = (p: Vec): Vec => [p[0] / W, p[1] / H]
    if (s.kind === 'rectangle') {
      const [[xa, ya], [xb, yb]] = s.points
      const x = Math.min(xa, xb)
      const y = Math.min(ya, yb)
      shape = {
        kind: 'box',
        geometry: { x: x / W, y: y / H, w: (Math.max(xa, xb) - x) / W, h: (Math.max(ya, yb) - y) / H },
      }
    } else shape = { kind: 'polygon', geometry: { points: s.points.map(norm) } }
  }
  const checked = checkedShape(shape, size)
  if ('problem' in checked) return fail(checked.problem)
  return { region: { className: s.label, shape: checked.shape, crowd: false } }
}

// ================================================================ scan

/** The split a JSON's folders name: the nearest folder named train / val / valid / test …, if any. */
function splitOf(dirs: readonly string[]): Split | null {
  for (let i = dirs.length - 1; i >= 0; i--) {
    const s = splitFromName(dirs[i]!)
    if (s) return s
  }
  return null
}

/** A path a JSON names, with Windows separators read as `/`. */
const portable = (p: string): string => p.replace(/\\/g, '/')

/**
 * Reads a labelme folder (or one JSON file) into import units: one per JSON file in name order, then
 * one per image in the folder that no JSON names (unlabelled); train before val before test.
 */
export async function scanLabelme(given: string): Promise<FormatScan> {
  const out: FormatScan = { units: [], failures: [], classes: [] }
  const p = path.resolve(given)
  const single = await isFile(p)
  let root: string
  let files: string[]
  if (single) {
    root = path.dirname(p)
    files = [p]
  } else if (await isDir(p)) {
    root = p
    files = await listFiles(p, isJsonName)
  } else {
    out.failures.push({ path: p, reason: 'file not found (or a broken symlink)' })
    return out
  }
  const classes = new Set<string>()
  /** Every place a JSON's image may be, so that the folder's other images are not taken twice. */
  const claimed = new Set<string>()
  for (const json of files) {
    const read = await readLabelme(json)
    if ('problem' in read) {
      out.failures.push({
        path: json,
        ...(read.line && { element: `line ${read.line}` }),
        reason: read.problem,
      })
      continue
    }
    const doc = read.doc
    const dir = path.dirname(json)
    const imagePath = typeof doc.imagePath === 'string' ? portable(doc.imagePath.trim()) : ''
    const imageData = typeof doc.imageData === 'string' && doc.imageData ? doc.imageData : null
    if (!imagePath && !imageData) {
      out.failures.push({
        path: json,
        reason: 'it names no image: "imagePath" is empty and there is no "imageData"',
      })
      continue
    }
    const places = imagePath
      ? [...new Set([path.resolve(dir, imagePath), path.join(dir, path.posix.basename(imagePath))])]
      : [json]
    for (const place of places) claimed.add(place)
    const shapes = await Promise.all((doc.shapes as unknown[]).map(readShape))
    for (const s of shapes) if (s.kind !== 'problem') classes.add(s.label)
    const w = doc.imageWidth
    const h = doc.imageHeight
    const rel = path.relative(root, json) || path.basename(json)
    const unit: ImportUnit = {
      file: places[0]!,
      alternatives: imageData ? [] : places.slice(1),
      element: `image ${imagePath || '(embedded)'} (${rel})`,
      split: single ? splitFromName(path.basename(dir)) : splitOf(path.dirname(rel).split(path.sep)),
      declaredSize:
        Number.isInteger(w) && Number.isInteger(h) && (w as number) > 0 && (h as number) > 0
          ? { width: w as number, height: h as number }
          : null,
      annotationCount: shapes.length,
      annotations: (size) => shapes.map((s) => shapeAnnotation(s, size, json)),
      // No shapes: someone looked and found nothing to label.
      ...(shapes.length === 0 && { status: 'reviewed' as const }),
    }
    if (imageData) {
      unit.read = () => {
        if (!/^[A-Za-z0-9+/=\s]*$/.test(imageData))
          return Promise.reject(new Error('"imageData" is not base64'))
        return Promise.resolve(Buffer.from(imageData, 'base64'))
      }
    }
    out.units.push(unit)
  }
  // The folder's images that no JSON names: not labelled yet.
  if (!single)
    for (const image of await listFiles(root, isImageName)) {
      if (claimed.has(image)) continue
      const rel = path.relative(root, image)
      out.units.push({
        file: image,
        alternatives: [],
        element: `image ${rel}`,
        split: splitOf(path.dirname(rel).split(path.sep)),
        declaredSize: null,
        annotationCount: 0,
        annotations: () => [],
      })
    }
  bySplitOrder(out.units)
  out.classes = [...classes]
  return out
}

// ================================================================ export

/** Pixel coordinates with at most 9 decimals: exact for what a labelme file held, without float noise. */
const pix = (v: number): number => Math.round(v * 1e9) / 1e9 || 0

interface LabelmeShape {
  label: string
  points: number[][]
  group_id: number | null
  description: string
  shape_type: 'rectangle' | 'polygon'
  flags: Record<string, never>
  mask: null
}

/** The labelme shapes of one image (see the header for what each region becomes). */
function labelmeShapes(
  regions: readonly ExportRegion[],
  names: Map<number, string>,
  { width: W, height: H }: Size,
  notes: ExportNotes,
): LabelmeShape[] {
  const ring = (pts: readonly Vec[]) => pts.map(([x, y]) => [pix(x * W), pix(y * H)])
  const shape = (
    label: string,
    type: LabelmeShape['shape_type'],
    points: number[][],
    group: number | null,
  ) => ({
    label,
    points,
    group_id: group,
    description: '',
    shape_type: type,
    flags: {},
    mask: null,
  })
  const out: LabelmeShape[] = []
  let group = 0
  for (const r of regions) {
    const label = names.get(r.classId!)!
    const s = r.shape
    if (s.kind === 'box') {
      const { x, y, w, h } = s.geometry
      out.push(
        shape(
          label,
          'rectangle',
          ring([
            [x, y],
            [x + w, y + h],
          ]),
          null,
        ),
      )
    } else if (s.kind === 'polygon') {
      if (s.geometry.holes?.length)
        notes.add('{n} polygons with holes were written as their outer outline: labelme has no holes')
      out.push(shape(label, 'polygon', ring(s.geometry.points), null))
    } else {
      const parts = rleToPolygons(s.geometry.rle)
      if (parts.some((p) => p.holes?.length))
        notes.add('{n} masks with holes were written as their outer outlines: labelme has no holes')
      notes.add('{n} masks were written as polygons (their traced outlines)')
      if (parts.length > 1) {
        group++
        notes.add('{n} masks of several parts were written as one polygon per part, sharing a group_id')
      }
      for (const p of parts)
        out.push(shape(label, 'polygon', ring(p.points), parts.length > 1 ? group : null))
    }
  }
  return out
}

/**
 * Writes the project (or one split) as labelme JSON into `dir`: `<split>/<image>` and
 * `<split>/<stem>.json` side by side; see the header for what each region becomes.
 */
export async function exportLabelme(
  db: DB,
  req: Omit<ExportDatasetRequest, 'format'>,
  onProgress?: OnExportProgress,
): Promise<ExportDatasetResult> {
  const dir = path.resolve(req.dir)
  const all = regionsForExport(db, req.split)
  refuseTagsOnly(db, 'labelme', all, req.split)
  await prepareExportDir(dir)
  const notes = new ExportNotes()
  const regions = writableRegions(all, notes, 'labelme')
  const names = new Map(listClasses(db).map((c) => [c.id, c.name]))
  const byImage = regionsByImage(regions)

  const files: string[] = []
  let images = 0
  let annotations = 0
  const rows = imagesForExport(db, req.split)
  const tick = exportProgress(rows.length, onProgress)
  for (const split of EXPORT_SPLITS)
    for (const im of rows) {
      if (im.split !== split) continue
      tick()
      const bytes = await imageFileBytes(db, im)
      if (!bytes) continue
      const name = exportFileName(im)
      await writeOut(path.join(dir, split, name), bytes)
      files.push(`${split}/${name}`)
      images++
      const regs = byImage.get(im.id) ?? []
      if (!regs.length && im.status !== 'reviewed') continue
      const shapes = labelmeShapes(regs, names, im, notes)
      annotations += shapes.length
      const doc = {
        version: LABELME_VERSION,
        flags: {},
        shapes,
        imagePath: name,
        imageData: null,
        imageHeight: im.height,
        imageWidth: im.width,
      }
      const json = `${split}/${stemOf(name)}.json`
      await writeOut(path.join(dir, json), JSON.stringify(doc, null, 2) + '\n')
      files.push(json)
    }
  return { format: 'labelme', dir, files, images, annotations, notes: notes.list(), trainCommand: null }
}

/** For the registry (./index.ts). */
export const labelmeFormat = {
  name: 'labelme',
  recognise: recogniseLabelme,
  scan: scanLabelme,
  export: exportLabelme,
} as const
