/**
 * Pascal VOC XML in and out.
 *
 * In: a folder holding `Annotations/*.xml` and `JPEGImages/`, with splits from
 * `ImageSets/Main/{train,val,test}.txt` where they are there (an image listed only in `trainval.txt`
 * is train; one in no list gets a seeded split), or a single annotation file (its image beside it or
 * in ../JPEGImages). Each `<object>` with a `<bndbox>` becomes a box. VOC boxes are 1-based pixel
 * indices, both ends included: the box covers pixels xmin..xmax, so its edges are xmin − 1 and xmax.
 * `difficult` = 1 becomes the crowd flag: VOC evaluation ignores difficult objects as COCO ignores crowd
 * regions. `truncated`, `occluded` and `pose` are kept as the region's attributes, and export writes
 * them back (truncated 0 and pose Unspecified where a region has none). Each malformed file (with its line) and bad object
 * becomes a report row, and the rest comes in.
 *
 * Out: `Annotations/<name>.xml`, `JPEGImages/<name>` (the stored bytes: PNGs stay PNG, and the XML's
 * filename names them), `ImageSets/Main/<split>.txt` (and trainval.txt). Polygons and masks are
 * written as their bounding boxes (VOC XML holds boxes only); edges are rounded to whole pixels.
 */
import path from 'node:path'
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser'
import type { ExportDatasetRequest, ExportDatasetResult } from '../../../src-shared/api/exchange'
import type { Size } from '../../../src-shared/domain/geometry'
import { shapeBounds, type RegionAttributes } from '../../../src-shared/domain/regions'
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
  listFiles,
  prepareExportDir,
  px,
  readText,
  refuseTagsOnly,
  stemOf,
  textLines,
  regionsByImage,
  writableRegions,
  writeOut,
  exportProgress,
  type OnExportProgress,
} from './common'
import { checkedShape, type FormatScan, type UnitAnnotation } from './types'

const ANNOTATIONS = 'Annotations'
const IMAGES = 'JPEGImages'
const SETS = path.join('ImageSets', 'Main')
/** Split lists, in the order they are read: an image in an earlier list keeps that split. */
const SPLIT_LISTS: readonly (readonly [string, Split])[] = [
  ['train', 'train'],
  ['val', 'val'],
  ['test', 'test'],
  ['trainval', 'train'],
]

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: (_name, jpath) => jpath === 'annotation.object',
})

/** An XML text's `<annotation>`, or what is wrong with the text (with its line). */
function parseVoc(text: string): { ann: Obj } | { problem: string; line?: number } {
  const valid = XMLValidator.validate(text)
  if (valid !== true) return { problem: `malformed XML: ${valid.err.msg}`, line: valid.err.line }
  const doc = parser.parse(text) as unknown
  if (!isObj(doc) || !isObj(doc.annotation))
    return { problem: 'not a VOC annotation: its root is not <annotation>' }
  return { ann: doc.annotation }
}

const str = (v: unknown): string =>
  typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : ''

/**
 * Whether `--format auto` should read this path as VOC: an .xml file whose root is `<annotation>`, or
 * a folder with `Annotations/` whose first .xml file is one.
 */
export async function recogniseVoc(given: string): Promise<boolean> {
  const p = path.resolve(given)
  let file: string | undefined
  if (await isFile(p)) file = p.toLowerCase().endsWith('.xml') ? p : undefined
  else if (await isDir(path.join(p, ANNOTATIONS)))
    file = (await listFiles(path.join(p, ANNOTATIONS), (n) => n.toLowerCase().endsWith('.xml')))[0]
  if (!file) return false
  const r = await readText(file)
  return 'text' in r && 'ann' in parseVoc(r.text)
}

/** Image id (file stem) → split, from ImageSets/Main. */
async function readSplits(root: string, out: FormatScan): Promise<Map<string, Split>> {
  const splits = new Map<string, Split>()
  for (const [name, split] of SPLIT_LISTS) {
    const f = path.join(root, SETS, `${name}.txt`)
    if (!(await isFile(f))) continue
    const r = await readText(f)
    if ('failure' in r) {
      out.failures.push({ path: f, reason: r.failure })
      continue
    }
    for (const l of textLines(r.text)) {
      const id = l.trim().split(/\s+/)[0]
      if (id && !splits.has(id)) splits.set(id, split)
    }
  }
  return splits
}

interface PendingObject {
  element: string
  name: string
  box: [number, number, number, number] | null
  problem: string | null
  difficult: boolean
  attributes: RegionAttributes
}

function readObject(o: unknown, i: number): PendingObject {
  const obj = isObj(o) ? o : {}
  const name = str(obj.name)
  const element = `object ${i + 1}${name ? ` (${name})` : ''}`
  const attributes: RegionAttributes = {}
  for (const k of ['truncated', 'occluded'] as const) {
    const v = str(obj[k])
    if (v === '0' || v === '1') attributes[k] = Number(v)
  }
  const pose = str(obj.pose)
  if (pose && pose !== 'Unspecified') attributes.pose = pose
  const p: PendingObject = {
    element,
    name,
    box: null,
    problem: null,
    difficult: str(obj.difficult) === '1',
    attributes,
  }
  if (!name) return { ...p, problem: 'object has no <name>' }
  const b = obj.bndbox
  if (!isObj(b)) return { ...p, problem: 'object has no <bndbox>' }
  const v = (['xmin', 'ymin', 'xmax', 'ymax'] as const).map((k) => ({
    k,
    s: str(b[k]),
    n: Number(str(b[k])),
  }))
  const bad = v.find((c) => !c.s || !Number.isFinite(c.n))
  if (bad)
    return { ...p, problem: `<bndbox> <${bad.k}> is ${bad.s ? `"${bad.s}", not a number` : 'missing'}` }
  const [xmin, ymin, xmax, ymax] = v.map((c) => c.n) as [number, number, number, number]
  if (xmax < xmin || ymax < ymin)
    return { ...p, problem: `box of negative size: xmin ${xmin}, xmax ${xmax}, ymin ${ymin}, ymax ${ymax}` }
  return { ...p, box: [xmin, ymin, xmax, ymax] }
}

/** One object at a W × H image: 1-based inclusive pixel indices → pixel edges → normalised. */
function objectAnnotation(o: PendingObject, { width: W, height: H }: Size, xml: string): UnitAnnotation {
  const fail = (reason: string): UnitAnnotation => ({ failure: { path: xml, element: o.element, reason } })
  if (o.problem || !o.box) return fail(o.problem ?? 'object has no box')
  const [xmin, ymin, xmax, ymax] = o.box
  const x0 = xmin - 1
  const y0 = ymin - 1
  const t = OUTSIDE_TOLERANCE_PX
  if (x0 < -t || y0 < -t || xmax > W + t || ymax > H + t)
    return fail(
      `box (${[xmin, ymin, xmax, ymax].map(px).join(', ')}) lies outside the ${W}×${H} image (VOC boxes run from 1 to the width and height)`,
    )
  const shape = {
    kind: 'box' as const,
    geometry: { x: x0 / W, y: y0 / H, w: (xmax - x0) / W, h: (ymax - y0) / H },
  }
  const checked = checkedShape(shape, { width: W, height: H })
  if ('problem' in checked) return fail(checked.problem)
  return {
    region: {
      className: o.name,
      shape: checked.shape,
      crowd: o.difficult,
      ...(Object.keys(o.attributes).length && { attributes: o.attributes }),
    },
  }
}

/** Reads a VOC folder (or one XML file) into import units, one per annotation file, in name order. */
export async function scanVoc(given: string): Promise<FormatScan> {
  const out: FormatScan = { units: [], failures: [], classes: [] }
  const p = path.resolve(given)
  let files: string[]
  let root: string
  const single = await isFile(p)
  if (single) {
    files = [p]
    root = path.dirname(path.dirname(p))
  } else if (await isDir(path.join(p, ANNOTATIONS))) {
    root = p
    files = await listFiles(path.join(p, ANNOTATIONS), (n) => n.toLowerCase().endsWith('.xml'))
  } else {
    out.failures.push({
      path: p,
      reason: `not a VOC folder: expected ${ANNOTATIONS}/ holding .xml files and ${IMAGES}/`,
    })
    return out
  }
  const splits = single ? new Map<string, Split>() : await readSplits(root, out)
  const classes = new Set<string>()
  for (const xml of files) {
    const r = await readText(xml)
    if ('failure' in r) {
      out.failures.push({ path: xml, reason: r.failure })
      continue
    }
    const parsed = parseVoc(r.text)
    if ('problem' in parsed) {
      out.failures.push({
        path: xml,
        ...(parsed.line && { element: `line ${parsed.line}` }),
        reason: parsed.problem,
      })
      continue
    }
    const ann = parsed.ann
    const id = stemOf(xml)
    const fileName = str(ann.filename) || `${id}.jpg`
    const dirs = single ? [path.dirname(xml), path.join(root, IMAGES)] : [path.join(root, IMAGES)]
    const names = [fileName, `${id}.jpg`, `${id}.png`]
    const places = [...new Set(dirs.flatMap((d) => names.map((n) => path.join(d, n))))]
    const size = isObj(ann.size) ? ann.size : {}
    const w = Number(str(size.width))
    const h = Number(str(size.height))
    const objects = ((ann.object as unknown[] | undefined) ?? []).map(readObject)
    for (const o of objects) if (!o.problem) classes.add(o.name)
    out.units.push({
      file: places[0]!,
      alternatives: places.slice(1),
      element: `image ${fileName} (${path.relative(root, xml)})`,
      split: splits.get(id) ?? null,
      declaredSize:
        Number.isInteger(w) && Number.isInteger(h) && w > 0 && h > 0 ? { width: w, height: h } : null,
      annotationCount: objects.length,
      annotations: (sz) => objects.map((o) => objectAnnotation(o, sz, xml)),
    })
  }
  out.classes = [...classes]
  return out
}

// ================================================================ export

const builder = new XMLBuilder({ format: true, indentBy: '  ', suppressEmptyNode: false })

/**
 * Writes the project (or one split) as Pascal VOC into `dir`; see the header for what each region
 * becomes. Crowd regions are written as difficult; regions without a class are left out.
 */
export async function exportVoc(
  db: DB,
  req: Omit<ExportDatasetRequest, 'format'>,
  onProgress?: OnExportProgress,
): Promise<ExportDatasetResult> {
  const dir = path.resolve(req.dir)
  const all = regionsForExport(db, req.split)
  refuseTagsOnly(db, 'Pascal VOC', all, req.split)
  await prepareExportDir(dir)
  const notes = new ExportNotes()
  // Crowd regions are kept here (as difficult), so only classless ones are left out.
  const regions = writableRegions(
    all.map((r) => ({ ...r, crowd: false, difficult: r.crowd })),
    notes,
    'Pascal VOC',
  ) as (ExportRegion & { difficult: boolean })[]
  const names = new Map(listClasses(db).map((c) => [c.id, c.name]))
  const byImage = regionsByImage(regions)

  const files: string[] = []
  const lists = new Map<Split, string[]>()
  let images = 0
  let annotations = 0
  const rows = imagesForExport(db, req.split)
  const tick = exportProgress(rows.length, onProgress)
  for (const im of rows) {
    tick()
    const bytes = await imageFileBytes(db, im)
    if (!bytes) continue
    const name = exportFileName(im)
    const id = stemOf(name)
    await writeOut(path.join(dir, IMAGES, name), bytes)
    files.push(`${IMAGES}/${name}`)
    images++
    lists.set(im.split, [...(lists.get(im.split) ?? []), id])
    const objects = (byImage.get(im.id) ?? []).map((r) => {
      if (r.shape.kind !== 'box')
        notes.add('{n} polygons and masks were written as their bounding boxes: VOC XML holds boxes only')
      const b = shapeBounds(r.shape)
      const edges = [b.x * im.width, b.y * im.height, (b.x + b.w) * im.width, (b.y + b.h) * im.height]
      if (edges.some((e) => Math.abs(e - Math.round(e)) > 1e-6))
        notes.add('{n} boxes with sub-pixel edges were rounded to whole pixels (VOC boxes are pixel indices)')
      const [x0, y0, x1, y1] = edges.map(Math.round) as [number, number, number, number]
      return {
        name: names.get(r.classId!)!,
        pose: typeof r.attributes.pose === 'string' ? r.attributes.pose : 'Unspecified',
        truncated: r.attributes.truncated === 1 ? 1 : 0,
        ...(r.attributes.occluded !== undefined && { occluded: r.attributes.occluded === 1 ? 1 : 0 }),
        difficult: r.difficult ? 1 : 0,
        bndbox: { xmin: x0 + 1, ymin: y0 + 1, xmax: Math.max(x1, x0 + 1), ymax: Math.max(y1, y0 + 1) },
      }
    })
    annotations += objects.length
    const xml = builder.build({
      annotation: {
        folder: IMAGES,
        filename: name,
        source: { database: 'Smallset' },
        size: { width: im.width, height: im.height, depth: im.channels },
        segmented: 0,
        ...(objects.length && { object: objects }),
      },
    }) as string
    await writeOut(path.join(dir, ANNOTATIONS, `${id}.xml`), xml)
    files.push(`${ANNOTATIONS}/${id}.xml`)
  }
  const write = async (name: string, ids: string[]) => {
    await writeOut(path.join(dir, SETS, `${name}.txt`), ids.map((i) => `${i}\n`).join(''))
    files.push(`ImageSets/Main/${name}.txt`)
  }
  for (const s of ['train', 'val', 'test'] as const) if (lists.has(s)) await write(s, lists.get(s)!)
  if (lists.has('train') || lists.has('val'))
    await write('trainval', [...(lists.get('train') ?? []), ...(lists.get('val') ?? [])])
  return { format: 'voc', dir, files, images, annotations, notes: notes.list(), trainCommand: null }
}

/** For the registry (./index.ts). */
export const vocFormat = {
  name: 'voc',
  recognise: recogniseVoc,
  scan: scanVoc,
  export: exportVoc,
} as const
