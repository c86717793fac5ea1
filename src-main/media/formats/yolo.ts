/**
 * Ultralytics YOLO in and out.
 *
 * In: a folder holding `data.yaml` (or the YAML file itself): `names` (a list, or an {index: name}
 * map; else `nc` numbers them), an optional `path` (the dataset root; the YAML's folder where it is
 * missing or not there), and `train` / `val` / `test`, each a folder of images under the root (or a
 * list of them, or a .txt file listing images). Without a YAML: `images/{train,val,test}/` beside
 * `labels/{train,val,test}/`, `{train,valid,test}/{images,labels}/`, or a flat `images/` and `labels/`
 * (no splits), with class names from a `classes.txt` where there is one, else the class numbers.
 * An image's labels are the .txt file Ultralytics reads (its path with the last `/images/` made
 * `/labels/`): a line `cls cx cy w h` is a box, `cls x1 y1 x2 y2 …` a polygon, all normalised to
 * [0, 1]. No label file: the image is unlabelled; an empty one: someone found no objects, and the
 * image is stored as reviewed. Each bad line, and each label file with no image, becomes a report
 * row (file, line, reason) and the rest comes in. CRLF line endings and a UTF-8 BOM are read.
 *
 * Out: `data.yaml` (an absolute `path`, so training works from any folder; `names` as a map),
 * `images/<split>/` and `labels/<split>/`. Boxes are detection lines and polygons segmentation lines;
 * masks are traced to polygons (one line per connected part). YOLO has no holes, no crowd flag and no
 * mixed sets, so: holes are dropped (outer contours only: a hole written as a polygon of its own would
 * read back as a filled object, not faithful); crowd regions and regions without a class are left
 * out; and where the set has any polygon, its boxes are written as 4-corner polygons (Ultralytics
 * drops every segment of a set that mixes box and polygon lines). The result says what was changed.
 * A project with image tags and no regions is refused (export it as ImageFolder instead).
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import YAML from 'yaml'
import type { ExportDatasetRequest, ExportDatasetResult } from '../../../src-shared/api/exchange'
import type { Size, Vec } from '../../../src-shared/domain/geometry'
import type { RegionShape } from '../../../src-shared/domain/regions'
import { rleToPolygons } from '../../../src-shared/domain/rle'
import type { Split } from '../../../src-shared/domain/types'
import type { DB } from '../../store/open'
import { regionsForExport, type ExportRegion } from '../../store/repos/annotations'
import { listClasses } from '../../store/repos/classes'
import { imagesForExport } from '../../store/repos/images'
import { exportFileName } from './coco'
import {
  ExportNotes,
  imageFileBytes,
  isDir,
  isFile,
  isImageName,
  listFiles,
  prepareExportDir,
  readText,
  refuseTagsOnly,
  shellWord,
  stemOf,
  textLines,
  regionsByImage,
  writableRegions,
  writeOut,
  exportProgress,
  type OnExportProgress,
} from './common'
import { checkedShape, type FormatScan, type ImportUnit, type UnitAnnotation } from './types'

/** Names `--format auto` looks for in a folder. */
const YAML_NAMES = ['data.yaml', 'data.yml', 'dataset.yaml', 'dataset.yml']
const CLASSES_TXT = 'classes.txt'
const YAML_SPLITS: readonly Split[] = ['train', 'val', 'test']
/** Split folder names of the layouts without a YAML. */
const SPLIT_DIRS: readonly (readonly [string, Split])[] = [
  ['train', 'train'],
  ['val', 'val'],
  ['valid', 'val'],
  ['test', 'test'],
]
/** Normalised coordinates may stray this far outside [0, 1] (rounding), and are clamped into it. */
const EPS = 1e-6

/** Class index → name; a map with gaps leaves holes. */
type Names = (string | undefined)[]

// ================================================================ finding the set

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

function readNames(doc: Obj): { names: Names } | { problem: string } {
  const v = doc.names
  if (Array.isArray(v)) {
    const names = v.map((n) => (typeof n === 'string' || typeof n === 'number' ? String(n).trim() : ''))
    const bad = names.findIndex((n) => !n)
    if (bad >= 0) return { problem: `names entry ${bad} is not a name` }
    return { names }
  }
  if (isObj(v)) {
    const names: Names = []
    for (const [k, n] of Object.entries(v)) {
      if (!/^\d+$/.test(k)) return { problem: `names key "${k}" is not a class index (a whole number ≥ 0)` }
      if (typeof n !== 'string' && typeof n !== 'number') return { problem: `names ${k} is not a name` }
      names[Number(k)] = String(n).trim()
    }
    return { names }
  }
  if (v === undefined && Number.isInteger(doc.nc) && (doc.nc as number) > 0)
    return { names: Array.from({ length: doc.nc as number }, (_, i) => String(i)) }
  return { problem: 'it has no "names" list (nor an "nc" count)' }
}

async function readYaml(file: string): Promise<{ doc: Obj } | { failure: string }> {
  const r = await readText(file)
  if ('failure' in r) return r
  let doc: unknown
  try {
    doc = YAML.parse(r.text)
  } catch (e) {
    return { failure: `malformed YAML: ${(e as Error).message}` }
  }
  return isObj(doc) ? { doc } : { failure: 'not a YOLO dataset YAML: its top level is not a mapping' }
}

async function yamlIn(dir: string): Promise<string | null> {
  for (const n of YAML_NAMES) if (await isFile(path.join(dir, n))) return path.join(dir, n)
  return null
}

/** Where Ultralytics looks for an image's labels: the last `/images/` made `/labels/`, and `.txt`. */
export function labelPathOf(image: string): string {
  const sa = `${path.sep}images${path.sep}`
  const i = image.lastIndexOf(sa)
  const p = i >= 0 ? `${image.slice(0, i)}${path.sep}labels${path.sep}${image.slice(i + sa.length)}` : image
  return p.slice(0, p.length - path.extname(p).length) + '.txt'
}

/** The labels folder of an images folder, by the same rule. */
const labelsDirOf = (dir: string): string => path.dirname(labelPathOf(path.join(dir, 'x.png')))

interface SplitSource {
  split: Split | null
  images: string[]
  /** The images folders, whose labels folders are checked for label files with no image. */
  dirs: string[]
}

/** The splits of a folder without a YAML: images/<split>/, <split>/images/, or a flat images/. */
async function layoutSplits(root: string): Promise<SplitSource[]> {
  const dirs: { split: Split | null; dir: string }[] = []
  for (const [name, split] of SPLIT_DIRS) {
    const a = path.join(root, 'images', name)
    const b = path.join(root, name, 'images')
    if (await isDir(a)) dirs.push({ split, dir: a })
    else if ((await isDir(b)) && (await isDir(path.join(root, name, 'labels')))) dirs.push({ split, dir: b })
  }
  if (!dirs.length && (await isDir(path.join(root, 'images'))) && (await isDir(path.join(root, 'labels'))))
    dirs.push({ split: null, dir: path.join(root, 'images') })
  const out: SplitSource[] = []
  for (const d of dirs)
    out.push({ split: d.split, images: await listFiles(d.dir, isImageName), dirs: [d.dir] })
  return out
}

/** The images one `train` / `val` / `test` entry of a YAML names: a folder, a .txt list, or an image. */
async function entryImages(
  entry: string,
  places: string[],
): Promise<{ images: string[]; dir: string | null } | { problem: string }> {
  const tried = [...new Set(places.map((p) => path.resolve(p, entry)))]
  for (const p of tried) {
    if (await isDir(p)) return { images: await listFiles(p, isImageName), dir: p }
    if (!(await isFile(p))) continue
    if (isImageName(p)) return { images: [p], dir: null }
    const r = await readText(p)
    if ('failure' in r) return { problem: `${p}: ${r.failure}` }
    const list = textLines(r.text)
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => path.resolve(path.dirname(p), l))
    return { images: list, dir: null }
  }
  return { problem: `it is not there (looked for ${tried.join(', ')})` }
}

interface YoloSet {
  root: string
  names: Names | null
  /** Where the class names come from, for messages. */
  namesFrom: string
  splits: SplitSource[]
}

/** Finds the set at a path; a problem with it becomes a report row. */
async function findSet(given: string, out: FormatScan): Promise<YoloSet | null> {
  const p = path.resolve(given)
  const yamlFile = (await isFile(p)) ? p : await yamlIn(p)
  if (!yamlFile) {
    if (!(await isDir(p))) {
      out.failures.push({ path: p, reason: 'file not found (or a broken symlink)' })
      return null
    }
    const splits = await layoutSplits(p)
    if (!splits.length) {
      out.failures.push({
        path: p,
        reason:
          'not a YOLO folder: expected a data.yaml, images/{train,val,test}/ beside labels/{train,val,test}/, or images/ beside labels/',
      })
      return null
    }
    let names: Names | null = null
    let namesFrom = 'the class numbers (no data.yaml or classes.txt)'
    for (const f of [path.join(p, CLASSES_TXT), path.join(p, 'labels', CLASSES_TXT)]) {
      const r = (await isFile(f)) ? await readText(f) : null
      if (!r) continue
      if ('failure' in r) out.failures.push({ path: f, reason: r.failure })
      else {
        names = textLines(r.text)
          .map((l) => l.trim())
          .filter(Boolean)
        namesFrom = `${f} (${names.length} classes)`
      }
      break
    }
    return { root: p, names, namesFrom, splits }
  }

  const fail = (reason: string) => out.failures.push({ path: yamlFile, reason })
  const read = await readYaml(yamlFile)
  if ('failure' in read) {
    fail(read.failure)
    return null
  }
  const names = readNames(read.doc)
  if ('problem' in names) {
    fail(`malformed data.yaml: ${names.problem}`)
    return null
  }
  const yamlDir = path.dirname(yamlFile)
  let root = yamlDir
  if (typeof read.doc.path === 'string' && read.doc.path.trim()) {
    const given = path.resolve(yamlDir, read.doc.path.trim())
    if (await isDir(given)) root = given
  }
  const splits: SplitSource[] = []
  for (const split of YAML_SPLITS) {
    const v = read.doc[split]
    if (v === undefined || v === null) continue
    const entries = Array.isArray(v) ? v : [v]
    const source: SplitSource = { split, images: [], dirs: [] }
    for (const e of entries) {
      if (typeof e !== 'string' || !e.trim()) {
        fail(`malformed data.yaml: "${split}" must name a folder, a .txt file, or a list of them`)
        continue
      }
      const r = await entryImages(e.trim(), [root, yamlDir])
      if ('problem' in r) {
        fail(`data.yaml's ${split}: ${e}: ${r.problem}`)
        continue
      }
      source.images.push(...r.images)
      if (r.dir) source.dirs.push(r.dir)
    }
    splits.push(source)
  }
  if (!splits.length) splits.push(...(await layoutSplits(root)))
  if (!splits.length)
    fail('data.yaml names no train, val or test images, and there is no images/ folder beside it')
  const n = names.names.length
  return { root, names: names.names, namesFrom: `${yamlFile} (${n} class${n === 1 ? '' : 'es'})`, splits }
}

/**
 * Whether `--format auto` should read this path as YOLO: a YAML file (or a folder holding
 * data.yaml) with `names`, or a folder with images/ (split folders or flat) beside a labels/ folder
 * holding .txt label files.
 */
export async function recogniseYolo(given: string): Promise<boolean> {
  const p = path.resolve(given)
  const yamlFile = (await isFile(p)) ? (/\.ya?ml$/i.test(p) ? p : null) : await yamlIn(p)
  if (yamlFile) {
    const r = await readYaml(yamlFile)
    return 'doc' in r && (Array.isArray(r.doc.names) || isObj(r.doc.names))
  }
  if (!(await isDir(p))) return false
  for (const s of await layoutSplits(p))
    for (const d of s.dirs)
      if ((await listFiles(labelsDirOf(d), (n) => n.endsWith('.txt') && n !== CLASSES_TXT)).length)
        return true
  return false
}

// ================================================================ label lines

type Line =
  | { line: number; cls: number; kind: 'box'; v: [number, number, number, number] }
  | { line: number; cls: number; kind: 'polygon'; v: number[] }

/** One label line read, or why it is bad; null for a blank line. */
function parseLine(text: string, line: number, set: YoloSet): Line | { problem: string } | null {
  const t = text.trim().split(/\s+/)
  if (t[0] === '') return null
  const cls = Number(t[0])
  if (!Number.isInteger(cls) || cls < 0)
    return { problem: `class "${t[0]}" is not a class index (a whole number ≥ 0)` }
  if (set.names && set.names[cls] === undefined)
    return {
      problem: `class index ${cls} is out of range: ${set.namesFrom} has no class ${cls}`,
    }
  const v = t.slice(1).map(Number)
  const nan = v.findIndex((x) => !Number.isFinite(x))
  if (nan >= 0) return { problem: `"${t[nan + 1]}" is not a number` }
  if (v.length === 4) {
    const [, , w, h] = v as [number, number, number, number]
    if (!(w > 0 && h > 0)) return { problem: `box has negative or no size: width ${w}, height ${h}` }
  } else if (v.length === 0) return { problem: 'class index with no coordinates' }
  else if (v.length % 2) {
    return {
      problem: `${v.length} coordinates: neither a box (4 values) nor a polygon (an even number, at least 6)`,
    }
  } else if (v.length < 6) return { problem: `polygon has fewer than 3 points (${v.length / 2})` }
  const out = v.find((x) => x < -EPS || x > 1 + EPS)
  if (out !== undefined)
    return { problem: `coordinate ${out} is outside [0, 1]: YOLO coordinates are normalised` }
  return v.length === 4
    ? { line, cls, kind: 'box', v: v as [number, number, number, number] }
    : { line, cls, kind: 'polygon', v }
}

function lineShape(l: Line): RegionShape {
  if (l.kind === 'box') {
    const [cx, cy, w, h] = l.v
    return { kind: 'box', geometry: { x: cx - w / 2, y: cy - h / 2, w, h } }
  }
  const points: Vec[] = []
  for (let i = 0; i < l.v.length; i += 2) points.push([l.v[i]!, l.v[i + 1]!])
  return { kind: 'polygon', geometry: { points } }
}

// ================================================================ scan

/** Reads a YOLO set into import units: train, then val, then test, each folder's images in name order. */
export async function scanYolo(given: string): Promise<FormatScan> {
  const out: FormatScan = { units: [], failures: [], classes: [] }
  const set = await findSet(given, out)
  if (!set) return out
  const claimed = new Set<string>()
  const used = new Set<number>()
  for (const s of set.splits) {
    for (const image of s.images) {
      const labelFile = labelPathOf(image)
      claimed.add(labelFile)
      const element = `image ${path.relative(set.root, image) || path.basename(image)}`
      // No label file: an unlabelled image.
      const read = (await isFile(labelFile)) ? await readText(labelFile) : null
      const lines: Line[] = []
      let status: ImportUnit['status']
      const lineFailures: UnitAnnotation[] = []
      if (read && 'failure' in read) out.failures.push({ path: labelFile, reason: read.failure })
      else if (read) {
        let blank = true
        textLines(read.text).forEach((text, i) => {
          const l = parseLine(text, i + 1, set)
          if (l === null) return
          blank = false
          if ('problem' in l)
            lineFailures.push({ failure: { path: labelFile, element: `line ${i + 1}`, reason: l.problem } })
          else {
            lines.push(l)
            used.add(l.cls)
          }
        })
        if (blank) status = 'reviewed'
      }
      const name = (cls: number) => set.names?.[cls] ?? String(cls)
      out.units.push({
        file: image,
        alternatives: [],
        element,
        split: s.split,
        declaredSize: null,
        annotationCount: lines.length + lineFailures.length,
        annotations: (size: Size) => [
          ...lineFailures,
          ...lines.map((l): UnitAnnotation => {
            const checked = checkedShape(lineShape(l), size)
            if ('problem' in checked)
              return { failure: { path: labelFile, element: `line ${l.line}`, reason: checked.problem } }
            return { region: { className: name(l.cls), shape: checked.shape, crowd: false } }
          }),
        ],
        ...(status && { status }),
      })
    }
  }
  // Label files no image claims.
  for (const s of set.splits)
    for (const d of s.dirs) {
      const labelsDir = labelsDirOf(d)
      for (const f of await listFiles(labelsDir, (n) => n.endsWith('.txt') && n !== CLASSES_TXT))
        if (!claimed.has(f)) {
          claimed.add(f)
          out.failures.push({
            path: f,
            reason: `label file with no image: there is no image named ${stemOf(f)}.* in ${path.join(d, path.relative(labelsDir, path.dirname(f)))}`,
          })
        }
    }
  // Classes: the names in index order (a YOLO class list is positional); without names, the numbers used.
  out.classes = set.names
    ? [...new Set(set.names.filter((n): n is string => n !== undefined))]
    : [...used].sort((a, b) => a - b).map(String)
  return out
}

// ================================================================ export

/** Normalised coordinates with 8 decimals (well under 1e-6 of any image side), trailing zeros cut. */
const num = (v: number): string => v.toFixed(8).replace(/\.?0+$/, '') || '0'

/** The label lines of one image; `asPolygons` writes boxes as 4-corner polygons. */
function yoloLines(
  regions: readonly ExportRegion[],
  cls: Map<number, number>,
  asPolygons: boolean,
  notes: ExportNotes,
): string[] {
  const poly = (c: number, ring: readonly Vec[]) =>
    [c, ...ring.flatMap(([x, y]) => [num(x), num(y)])].join(' ')
  const lines: string[] = []
  for (const r of regions) {
    const c = cls.get(r.classId!)!
    const s = r.shape
    if (s.kind === 'box') {
      const { x, y, w, h } = s.geometry
      if (asPolygons) {
        notes.add(
          '{n} boxes were written as 4-corner polygons: the set also has polygons or masks, and Ultralytics drops every segment of a set that mixes box and polygon lines',
        )
        lines.push(
          poly(c, [
            [x, y],
            [x + w, y],
            [x + w, y + h],
            [x, y + h],
          ]),
        )
      } else lines.push([c, num(x + w / 2), num(y + h / 2), num(w), num(h)].join(' '))
    } else if (s.kind === 'polygon') {
      if (s.geometry.holes?.length)
        notes.add('{n} polygons with holes were written as their outer outline: YOLO has no holes')
      lines.push(poly(c, s.geometry.points))
    } else {
      // Outer contours only, one line per 4-connected part (see the header).
      const parts = rleToPolygons(s.geometry.rle)
      if (parts.some((p) => p.holes?.length))
        notes.add('{n} masks with holes were written as their outer outlines: YOLO has no holes')
      if (parts.length > 1)
        notes.add('{n} masks of several parts were written as one line (one object) per part')
      for (const p of parts) lines.push(poly(c, p.points))
    }
  }
  return lines
}

/**
 * Writes the project (or one split) as an Ultralytics YOLO set into `dir`; see the header for what
 * each region becomes. Images without a label file are unlabelled; reviewed images with no regions get
 * an empty label file.
 */
export async function exportYolo(
  db: DB,
  req: Omit<ExportDatasetRequest, 'format'>,
  onProgress?: OnExportProgress,
): Promise<ExportDatasetResult> {
  const dir = path.resolve(req.dir)
  const all = regionsForExport(db, req.split)
  refuseTagsOnly(db, 'YOLO', all, req.split)
  await prepareExportDir(dir)
  const notes = new ExportNotes()
  const regions = writableRegions(all, notes, 'YOLO')
  const classes = listClasses(db)
  const cls = new Map(classes.map((c, i) => [c.id, i]))
  const asPolygons = regions.some((r) => r.shape.kind !== 'box')
  const byImage = regionsByImage(regions)

  const files: string[] = []
  const splits = new Set<Split>()
  let images = 0
  let annotations = 0
  const rows = imagesForExport(db, req.split)
  const tick = exportProgress(rows.length, onProgress)
  for (const im of rows) {
    tick()
    const bytes = await imageFileBytes(db, im)
    if (!bytes) continue
    const name = exportFileName(im)
    const imageFile = `images/${im.split}/${name}`
    await writeOut(path.join(dir, imageFile), bytes)
    files.push(imageFile)
    splits.add(im.split)
    images++
    const regs = byImage.get(im.id) ?? []
    if (!regs.length && im.status !== 'reviewed') continue
    const lines = yoloLines(regs, cls, asPolygons, notes)
    const labelFile = `labels/${im.split}/${stemOf(name)}.txt`
    await writeOut(path.join(dir, labelFile), lines.map((l) => `${l}\n`).join(''))
    files.push(labelFile)
    annotations += lines.length
  }

  const yamlFile = path.join(dir, 'data.yaml')
  const doc: Record<string, unknown> = { path: dir }
  for (const s of YAML_SPLITS) if (splits.has(s)) doc[s] = `images/${s}`
  if (!splits.has('val') && splits.has('train')) {
    doc.val = 'images/train'
    notes.add(
      "there are no val images: data.yaml's val points at the train images (Ultralytics needs a val set)",
    )
  }
  doc.names = new Map(classes.map((c, i) => [i, c.name]))
  const task = asPolygons ? 'segment' : 'detect'
  const trainCommand = splits.has('train')
    ? `yolo ${task} train data=${shellWord(yamlFile)} model=${asPolygons ? 'yolo11n-seg.pt' : 'yolo11n.pt'}`
    : null
  if (!trainCommand) notes.add('there are no train images, so there is no training command')
  const header = `# Written by Smallset.${trainCommand ? ` Train on it with: ${trainCommand}` : ''}\n`
  await fs.writeFile(yamlFile, header + YAML.stringify(doc))
  return {
    format: 'yolo',
    dir,
    files: ['data.yaml', ...files],
    images,
    annotations,
    notes: notes.list(),
    trainCommand,
  }
}

/** For the registry (./index.ts). */
export const yoloFormat = {
  name: 'yolo',
  recognise: recogniseYolo,
  scan: scanYolo,
  export: exportYolo,
} as const
