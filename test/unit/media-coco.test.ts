/**
 * COCO in and out, through the registry of import formats (src-main/media/formats/).
 *
 * A tiny COCO set is made at test time (noise PNGs, and every kind of COCO geometry: a bbox, a single
 * polygon, several polygons, compressed and uncompressed RLE, a crowd RLE), imported, and checked row
 * by row against what the store holds. Bad inputs each become a report row naming the file, the element
 * and the reason while the rest comes in; whole-file failures change nothing. Export writes
 * annotations.json, images/ and predictions.json; re-importing the export gives the same regions.
 */
import fs from 'node:fs'
import path from 'node:path'
import sharp from 'sharp'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { calls, type ImportFailure, type ImportRequest, type Result } from '../../src-shared/api/contract'
import type { ExportCocoResult } from '../../src-shared/api/exchange'
import {
  evaluateCoco,
  type CocoDataset,
  type CocoResult,
  type CocoSegmentation,
} from '../../src-shared/domain/coco/eval'
import { rleFromPolygon, segmentationToRle } from '../../src-shared/domain/coco/polygon'
import {
  encodeMask,
  rleArea,
  rleFromString,
  rleMerge,
  rleToString,
  type Rle,
} from '../../src-shared/domain/rle'
import { SmallsetApp } from '../../src-main/api/app'
import { exportCoco } from '../../src-main/media/formats/coco'
import { recognise } from '../../src-main/media/formats'
import { runImport } from '../../src-main/media/import'
import { createProjectStore, type DB } from '../../src-main/store/open'
import { saveAnnotations } from '../../src-main/store/repos/annotations'
import { listClasses } from '../../src-main/store/repos/classes'
import { createRun, putDetections } from '../../src-main/store/repos/runs'
import {
  gzip,
  idxImages,
  idxLabels,
  makeTempDir,
  pngBytes,
  removeTempDir,
  snapshot,
  writeFile,
} from './helpers/fixtures'

let tmp: string
const dbs: DB[] = []
function newProject(name = 'coco'): DB {
  const d = createProjectStore(path.join(tmp, 'projects', `${name}-${dbs.length}`), name)
  dbs.push(d)
  return d
}
beforeEach(() => {
  tmp = makeTempDir('smallset-coco-')
})
afterEach(() => {
  while (dbs.length) dbs.pop()!.close()
  removeTempDir(tmp)
})

const doImport = (db: DB, req: ImportRequest) => runImport(db, calls['import.start'].req.parse(req))

let seed = 50_000
/** Writes a unique noise PNG of w × h and returns its path. */
async function png(file: string, w = 40, h = 30): Promise<string> {
  return writeFile(file, await pngBytes(seed++, w, h))
}

/** A w × h mask with the rectangle [x0, x1) × [y0, y1) set. */
function rectMask(h: number, w: number, x0: number, y0: number, x1: number, y1: number): Rle {
  const data = new Uint8Array(h * w)
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * w + x] = 1
  return encodeMask(data, h, w)
}

interface StoredRegion {
  imageId: number
  source: string
  hash: string
  className: string | null
  kind: 'box' | 'polygon' | 'mask'
  geometry: {
    x?: number
    y?: number
    w?: number
    h?: number
    points?: [number, number][]
    holes?: [number, number][][]
    rle?: Rle
  }
  crowd: number
  origin: string
  z: number
}

function storedRegions(db: DB): StoredRegion[] {
  return (
    db
      .prepare(
        `SELECT a.image_id AS imageId, i.source, i.hash, c.name AS className, a.kind, a.geometry, a.crowd, a.origin, a.z
         FROM annotations a JOIN images i ON i.id = a.image_id LEFT JOIN classes c ON c.id = a.class_id
         WHERE a.kind <> 'tag' ORDER BY a.image_id, a.z, a.id`,
      )
      .all() as (Omit<StoredRegion, 'geometry'> & { geometry: string })[]
  ).map((r) => ({ ...r, geometry: JSON.parse(r.geometry) as StoredRegion['geometry'] }))
}

function storedImages(db: DB) {
  return db
    .prepare(
      'SELECT id, source, split, split_locked AS locked, status, width, height, hash FROM images ORDER BY id',
    )
    .all() as {
    id: number
    source: string
    split: string
    locked: number
    status: string
    width: number
    height: number
    hash: string
  }[]
}

const base = (p: string) => path.basename(p)

/** A box equal to `want` up to float rounding (clampBox recomputes w and h from the corners). */
function expectClose(got: StoredRegion['geometry'] | undefined, want: Record<'x' | 'y' | 'w' | 'h', number>) {
  expect(Object.keys(got ?? {}).sort()).toEqual(['h', 'w', 'x', 'y'])
  for (const k of ['x', 'y', 'w', 'h'] as const) expect(Math.abs(got![k]! - want[k])).toBeLessThan(1e-12)
}

// ---------------------------------------------------------------- the tiny set

const MULTI = [
  [2, 2, 10, 2, 10, 10, 2, 10],
  [20, 20, 30, 20, 30, 28, 20, 28],
]
const COMPRESSED = rectMask(30, 40, 5, 4, 15, 20)
const UNCOMPRESSED = rectMask(32, 32, 1, 1, 9, 12)
const CROWD = rectMask(32, 32, 16, 10, 30, 31)

/** Categories deliberately not in id order: new classes follow the list's order. */
const CATEGORIES = [
  { id: 7, name: 'cat', supercategory: 'animal' },
  { id: 3, name: 'dog', supercategory: 'animal' },
  { id: 5, name: 'bird', supercategory: 'animal' },
  { id: 9, name: 'unused', supercategory: 'animal' },
]

/** Writes the tiny set into `dir` (images beside the JSON) and returns the JSON's path. */
async function tinySet(dir: string, jsonName = 'tiny.json', imgDir = dir): Promise<string> {
  await png(path.join(imgDir, 'a.png'))
  await png(path.join(imgDir, 'b.png'))
  await png(path.join(imgDir, 'c.png'), 32, 32)
  await png(path.join(imgDir, 'd.png'), 24, 24)
  const doc = {
    info: { description: 'tiny' },
    images: [
      { id: 1, file_name: 'a.png', width: 40, height: 30 },
      { id: 2, file_name: 'b.png', width: 40, height: 30 },
      { id: 3, file_name: 'c.png', width: 32, height: 32 },
      { id: 4, file_name: 'd.png', width: 24, height: 24 },
    ],
    categories: CATEGORIES,
    annotations: [
      { id: 11, image_id: 1, category_id: 7, bbox: [4, 3, 10, 6], area: 60, iscrowd: 0, segmentation: [] },
      {
        id: 12,
        image_id: 1,
        category_id: 3,
        bbox: [10, 5, 20, 20],
        area: 400,
        iscrowd: 0,
        segmentation: [[10, 5, 30, 5, 30, 25, 10, 25]],
      },
      {
        id: 13,
        image_id: 2,
        category_id: 5,
        bbox: [2, 2, 28, 26],
        area: 144,
        iscrowd: 0,
        segmentation: MULTI,
      },
      {
        id: 14,
        image_id: 2,
        category_id: 7,
        bbox: [5, 4, 10, 16],
        area: 160,
        iscrowd: 0,
        segmentation: { size: [30, 40], counts: rleToString(COMPRESSED) },
      },
      {
        id: 15,
        image_id: 3,
        category_id: 7,
        bbox: [1, 1, 8, 11],
        area: 88,
        iscrowd: 0,
        segmentation: { size: [32, 32], counts: UNCOMPRESSED.counts },
      },
      {
        id: 16,
        image_id: 3,
        category_id: 3,
        bbox: [16, 10, 14, 21],
        area: 294,
        iscrowd: 1,
        segmentation: { size: [32, 32], counts: rleToString(CROWD) },
      },
    ],
  }
  return writeFile(path.join(dir, jsonName), JSON.stringify(doc))
}

describe('COCO import', () => {
  it('stores every kind of COCO geometry as the matching region', async () => {
    const db = newProject()
    const json = await tinySet(path.join(tmp, 'src'))
    const report = await doImport(db, { paths: [json], format: 'coco' })
    expect(report).toMatchObject({ added: 4, duplicates: 0, failed: [], cancelled: false })
    // Used categories only, in the file's order (not by id); "unused" makes no class.
    expect(report.classesCreated).toEqual(['cat', 'dog', 'bird'])
    expect(listClasses(db).map((c) => c.name)).toEqual(['cat', 'dog', 'bird'])

    const regions = storedRegions(db)
    expect(regions.map((r) => [base(r.source), r.kind, r.className, r.crowd, r.origin, r.z])).toEqual([
      ['a.png', 'box', 'cat', 0, 'import', 0],
      ['a.png', 'polygon', 'dog', 0, 'import', 1],
      ['b.png', 'mask', 'bird', 0, 'import', 0],
      ['b.png', 'mask', 'cat', 0, 'import', 1],
      ['c.png', 'mask', 'cat', 0, 'import', 0],
      ['c.png', 'mask', 'dog', 1, 'import', 1],
    ])
    const [box, poly, multi, compressed, uncompressed, crowd] = regions.map((r) => r.geometry)
    expectClose(box, { x: 4 / 40, y: 3 / 30, w: 10 / 40, h: 6 / 30 })
    expect(poly).toEqual({
      points: [
        [10 / 40, 5 / 30],
        [30 / 40, 5 / 30],
        [30 / 40, 25 / 30],
        [10 / 40, 25 / 30],
      ],
    })
    // Several polygons: their union, rasterised as pycocotools does; masks keep the list form of counts.
    expect(multi!.rle).toEqual(segmentationToRle(MULTI, 30, 40))
    expect(compressed!.rle).toEqual(COMPRESSED)
    expect(uncompressed!.rle).toEqual(UNCOMPRESSED)
    expect(crowd!.rle).toEqual(CROWD)

    const images = storedImages(db)
    expect(images.map((i) => [base(i.source), i.status, i.width, i.height])).toEqual([
      ['a.png', 'labeled', 40, 30],
      ['b.png', 'labeled', 40, 30],
      ['c.png', 'labeled', 32, 32],
      ['d.png', 'unlabeled', 24, 24],
    ])
    // A single JSON has no split of its own: the seeded split was made (and is not locked).
    for (const im of images) {
      expect(im.locked).toBe(0)
      expect(['train', 'val', 'test']).toContain(im.split)
    }
    // No class tags: COCO has no image-level class.
    expect(db.prepare("SELECT COUNT(*) AS n FROM annotations WHERE kind = 'tag'").get()).toEqual({ n: 0 })
  })

  it('finds images under the folder the request names (--images)', async () => {
    const db = newProject()
    const json = await tinySet(path.join(tmp, 'src'), 'tiny.json', path.join(tmp, 'elsewhere'))
    const missing = await doImport(db, { paths: [json], format: 'coco' })
    expect(missing.added).toBe(0)
    expect(missing.failed).toHaveLength(4)
    expect(missing.failed[0]).toEqual({
      path: path.join(tmp, 'src', 'a.png'),
      element: 'image 1 (a.png)',
      reason: `image file not found (nor at ${path.join(tmp, 'src', 'images', 'a.png')})`,
    })
    expect(listClasses(db)).toEqual([])
    const found = await doImport(db, { paths: [json], format: 'coco', images: path.join(tmp, 'elsewhere') })
    expect(found).toMatchObject({ added: 4, failed: [] })
    expect(storedRegions(db)).toHaveLength(6)
  })

  it('imports the train/valid/test folder layout as the three splits, recognised by --format auto', async () => {
    const root = path.join(tmp, 'layout')
    for (const s of ['train', 'valid', 'test']) await tinySet(path.join(root, s), '_annotations.coco.json')
    expect(await recognise(root)).toBe('coco')
    const db = newProject()
    const report = await doImport(db, { paths: [root] })
    expect(report).toMatchObject({ added: 12, failed: [], classesCreated: ['cat', 'dog', 'bird'] })
    const images = storedImages(db)
    expect(images.map((i) => [i.split, i.locked, path.relative(root, i.source)])).toEqual(
      ['train', 'valid', 'test'].flatMap((dir) =>
        ['a', 'b', 'c', 'd'].map((n) => [dir === 'valid' ? 'val' : dir, 1, `${dir}/${n}.png`]),
      ),
    )
    expect(storedRegions(db)).toHaveLength(18)
  })

  it('recognises COCO sources, and nothing else', async () => {
    const json = await tinySet(path.join(tmp, 'src'))
    expect(await recognise(json)).toBe('coco')
    const notCoco = writeFile(path.join(tmp, 'other.json'), JSON.stringify({ images: [] }))
    expect(await recognise(notCoco)).toBe('imagefolder')
    expect(await recognise(writeFile(path.join(tmp, 'broken.json'), '{'))).toBe('imagefolder')
    const folder = path.join(tmp, 'plain')
    await png(path.join(folder, 'cat', 'x.png'))
    expect(await recognise(folder)).toBe('imagefolder')
    expect(await recognise(path.join(folder, 'cat', 'x.png'))).toBe('imagefolder')
    expect(await recognise(path.join(tmp, 'nothing-here'))).toBe('imagefolder')
    // With --format auto, a plain folder still goes to the class-folder importer.
    const db = newProject()
    const r = await doImport(db, { paths: [folder] })
    expect(r).toMatchObject({ added: 1, failed: [], classesCreated: ['cat'] })
  })

  it('a duplicate import changes nothing', async () => {
    const db = newProject()
    const json = await tinySet(path.join(tmp, 'src'))
    await doImport(db, { paths: [json] })
    const before = snapshot(db)
    const again = await doImport(db, { paths: [json] })
    expect(again).toMatchObject({ added: 0, duplicates: 4, failed: [], classesCreated: [] })
    expect(snapshot(db)).toEqual(before)
  })

  it('the shipped detection demo set imports with no failures', async () => {
    const demo = path.resolve(__dirname, '..', '..', 'resources', 'detection-demo')
    const doc = (s: string) =>
      JSON.parse(fs.readFileSync(path.join(demo, s, '_annotations.coco.json'), 'utf8')) as CocoDataset
    const docs = { train: doc('train'), val: doc('valid'), test: doc('test') }
    const db = newProject()
    const report = await doImport(db, { paths: [demo] })
    expect(report.failed).toEqual([])
    const n = (k: keyof typeof docs) => docs[k].images.length
    expect(report.added).toBe(n('train') + n('val') + n('test'))
    expect(listClasses(db).map((c) => c.name)).toEqual(docs.train.categories.map((c) => c.name))
    const counts = db.prepare('SELECT split, COUNT(*) AS n FROM images GROUP BY split').all()
    expect(Object.fromEntries((counts as { split: string; n: number }[]).map((r) => [r.split, r.n]))).toEqual(
      {
        train: n('train'),
        val: n('val'),
        test: n('test'),
      },
    )
    // Every instance is a mask whose RLE is the one in the file.
    const regions = storedRegions(db)
    const all = [...docs.train.annotations, ...docs.val.annotations, ...docs.test.annotations]
    expect(regions).toHaveLength(all.length)
    expect(regions.every((r) => r.kind === 'mask' && r.crowd === 0)).toBe(true)
    const first = docs.train.annotations[0]!
    const seg = first.segmentation as { size: [number, number]; counts: string }
    expect(regions[0]!.geometry.rle).toEqual(rleFromString(seg.counts, seg.size[0], seg.size[1]))
  })
})

// ---------------------------------------------------------------- bad input

describe('bad COCO input', () => {
  /** Failures as [path, element, reason] for readable diffs. */
  const rows = (f: ImportFailure[]) => f.map((x) => [x.path, x.element ?? null, x.reason])

  it('reports each bad image and annotation with file, element and reason, and imports the rest', async () => {
    const dir = path.join(tmp, 'bad')
    await png(path.join(dir, 'good.png'))
    await png(path.join(dir, 'fits.png'))
    await png(path.join(dir, 'misfit.png'))
    const json = path.join(dir, 'bad.json')
    const mask = rectMask(30, 40, 0, 0, 10, 10)
    const good = (id: number, extra: object) => ({ id, image_id: 1, category_id: 1, iscrowd: 0, ...extra })
    const doc = {
      images: [
        { id: 1, file_name: 'good.png', width: 40, height: 30 },
        { id: 2, file_name: 'missing.png', width: 40, height: 30 },
        // The file is 40×30: a box at (2, 2) still fits it (kept, reported); one at (50, 40) does not.
        { id: 3, file_name: 'fits.png', width: 50, height: 40 },
        { id: 4, file_name: 'misfit.png', width: 80, height: 60 },
      ],
      categories: [
        { id: 1, name: 'thing' },
        { id: 2, name: 'other' },
      ],
      annotations: [
        good(100, { bbox: [1, 1, 5, 5] }),
        good(101, { image_id: 999, bbox: [1, 1, 5, 5] }),
        good(102, { category_id: 42, bbox: [1, 1, 5, 5] }),
        good(103, { bbox: [35, 5, 10, 5] }),
        // Within 1 px of the edges: clamped and kept.
        good(104, { bbox: [-0.5, -0.4, 40.8, 30.6] }),
        good(105, { bbox: [5, 5, 0, 4] }),
        good(106, { segmentation: { size: [30, 40], counts: [10, 5] } }),
        good(107, { segmentation: { size: [30, 40], counts: [600, -5, 605] } }),
        good(108, { segmentation: { size: [30, 40], counts: rleToString(mask) + 'h' } }),
        good(109, { segmentation: { size: [20, 20], counts: rleToString(rectMask(20, 20, 0, 0, 5, 5)) } }),
        good(110, { segmentation: [[1, 1, 5, 5]] }),
        good(111, { segmentation: [[1, 1, 5, 5, 9]] }),
        good(112, { segmentation: [[1, 1, 9, 1, 9, 9, 1, 9]] }),
        good(113, { image_id: 2, bbox: [1, 1, 5, 5] }),
        good(114, { image_id: 3, bbox: [2, 2, 5, 5] }),
        good(115, { image_id: 4, bbox: [50, 40, 10, 10] }),
        good(116, { segmentation: { size: [30, 40], counts: rleToString(mask) } }),
      ],
    }
    writeFile(json, JSON.stringify(doc))
    const db = newProject()
    const report = await doImport(db, { paths: [json] })
    const img = (n: string) => path.join(dir, n)
    expect(rows(report.failed)).toEqual([
      [json, 'annotation 101', 'names image id 999, which is not in the images list'],
      [json, 'annotation 102', 'names category id 42, which is not in the categories list'],
      [json, 'annotation 103', 'box [35, 5, 10, 5] lies outside the 40×30 image (by more than 1 px)'],
      [json, 'annotation 105', 'box has no area: it is 0×4 px'],
      [json, 'annotation 106', 'malformed RLE: its runs cover 15 pixels, but a 40×30 mask has 1200'],
      [json, 'annotation 107', 'malformed RLE: a negative run length (-5)'],
      [json, 'annotation 108', 'malformed RLE: its counts string cannot be decoded (truncated RLE string)'],
      [json, 'annotation 109', "RLE size [20, 20] is not the image's size [30, 40] (as [height, width])"],
      [json, 'annotation 110', 'polygon has fewer than 3 points (2)'],
      [json, 'annotation 111', 'polygon has an odd number of coordinates (5)'],
      [
        img('missing.png'),
        'image 2 (missing.png)',
        `image file not found (nor at ${img('images/missing.png')})`,
      ],
      [
        img('fits.png'),
        'image 3 (fits.png)',
        "the source says the image is 50×40, but the file is 40×30: its annotations fit the file's size, and were kept",
      ],
      [
        img('misfit.png'),
        'image 4 (misfit.png)',
        "the source says the image is 80×60, but the file is 40×30, and its annotations do not fit the file's size: its 1 annotation was skipped",
      ],
    ])
    expect(report).toMatchObject({ added: 3, duplicates: 0, classesCreated: ['thing'] })
    const regions = storedRegions(db)
    expect(regions.map((r) => [base(r.source), r.kind])).toEqual([
      ['good.png', 'box'],
      ['good.png', 'box'],
      ['good.png', 'polygon'],
      ['good.png', 'mask'],
      ['fits.png', 'box'],
    ])
    // Clamped into the image; the kept box of the mis-sized image is normalised to the real size.
    expect(regions[1]!.geometry).toEqual({ x: 0, y: 0, w: 1, h: 1 })
    expectClose(regions[4]!.geometry, { x: 2 / 40, y: 2 / 30, w: 5 / 40, h: 5 / 30 })
    expect(storedImages(db).map((i) => [base(i.source), i.status])).toEqual([
      ['good.png', 'labeled'],
      ['fits.png', 'labeled'],
      ['misfit.png', 'unlabeled'],
    ])
  })

  it.each([
    ['invalid JSON', '{"images": [', /^invalid JSON: /],
    ['JSON that is not COCO', '{"images": [], "categories": []}', /^not a COCO file: its top level needs/],
    ['a JSON list', '[1, 2, 3]', /^not a COCO file/],
    [
      'no categories list',
      '{"images": [], "annotations": []}',
      /^malformed categories: there is no "categories" list$/,
    ],
    [
      'a category without a name',
      '{"images": [], "annotations": [], "categories": [{"id": 1}]}',
      /^malformed categories: category 1 has no name$/,
    ],
    [
      'a category id twice',
      '{"images": [], "annotations": [], "categories": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]}',
      /^malformed categories: category id 1 appears twice$/,
    ],
  ])('%s: the import fails as a whole, reports the file and changes nothing', async (_name, text, reason) => {
    const db = newProject()
    await doImport(db, { paths: [await tinySet(path.join(tmp, 'first'))] })
    const before = snapshot(db)
    const dir = path.join(tmp, 'bad')
    await png(path.join(dir, 'a.png'))
    const json = writeFile(path.join(dir, 'whole.json'), text)
    const report = await doImport(db, { paths: [json], format: 'coco' })
    expect(report).toMatchObject({ added: 0, duplicates: 0, classesCreated: [] })
    expect(report.failed).toEqual([{ path: json, reason: expect.stringMatching(reason) }])
    expect(snapshot(db)).toEqual(before)
  })

  it('a folder with no COCO layout, given as --format coco, is reported', async () => {
    const db = newProject()
    const dir = path.join(tmp, 'plain')
    await png(path.join(dir, 'a.png'))
    const report = await doImport(db, { paths: [dir], format: 'coco' })
    expect(rows(report.failed)).toEqual([
      [
        dir,
        null,
        'not a COCO folder: expected train/, valid/ (or val/) or test/ holding _annotations.coco.json, or an annotations.json',
      ],
    ])
    expect(report.added).toBe(0)
  })

  it('a bad split file is reported and the other splits come in', async () => {
    const root = path.join(tmp, 'layout')
    await tinySet(path.join(root, 'train'), '_annotations.coco.json')
    writeFile(path.join(root, 'valid', '_annotations.coco.json'), 'not json')
    const db = newProject()
    const report = await doImport(db, { paths: [root] })
    expect(report.added).toBe(4)
    expect(rows(report.failed)).toEqual([
      [path.join(root, 'valid', '_annotations.coco.json'), null, expect.stringMatching(/^invalid JSON/)],
    ])
  })
})

// ---------------------------------------------------------------- export

/** Reads a written JSON file. */
const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T

/** A project holding the tiny set, a polygon with a hole drawn in the editor, and IDX images with tags. */
async function richProject(): Promise<DB> {
  const db = newProject('rich')
  const json = await tinySet(path.join(tmp, 'src'))
  expect((await doImport(db, { paths: [json] })).failed).toEqual([])
  const a = storedImages(db).find((i) => base(i.source) === 'a.png')!
  const cat = listClasses(db).find((c) => c.name === 'cat')!
  const saved = saveAnnotations(db, {
    imageId: a.id,
    puts: [
      {
        key: 'holey',
        id: null,
        kind: 'polygon',
        geometry: {
          points: [
            [0.05, 0.1],
            [0.6, 0.1],
            [0.6, 0.9],
            [0.05, 0.9],
          ],
          holes: [
            [
              [0.2, 0.3],
              [0.4, 0.3],
              [0.4, 0.6],
              [0.2, 0.6],
            ],
          ],
        },
        classId: cat.id,
        z: 5,
        hidden: false,
        locked: false,
      },
    ],
    deletes: [],
  })
  expect(saved.rejected).toEqual([])
  const idx = path.join(tmp, 'idx')
  writeFile(path.join(idx, 'train-images-idx3-ubyte.gz'), gzip(idxImages(3, 8, 8, 777)))
  writeFile(path.join(idx, 'train-labels-idx1-ubyte.gz'), gzip(idxLabels([0, 1, 0])))
  const r = await doImport(db, { paths: [idx], classNames: ['shirt', 'shoe'] })
  expect(r).toMatchObject({ added: 3, failed: [] })
  return db
}

describe('COCO export', () => {
  it('writes annotations.json and the images; re-importing it gives the same regions', async () => {
    const db = await richProject()
    const out = path.join(tmp, 'out')
    const result = await exportCoco(db, { dir: out })
    const images = storedImages(db)
    expect(result).toMatchObject({
      images: images.length,
      annotations: 7,
      predictions: null,
      imagesWithoutPredictions: { count: 0, ids: [] },
    })
    expect(result.files[0]).toBe('annotations.json')
    expect(result.files.slice(1).sort()).toEqual(
      fs
        .readdirSync(path.join(out, 'images'))
        .map((f) => `images/${f}`)
        .sort(),
    )

    const doc = readJson<CocoDataset>(path.join(out, 'annotations.json'))
    expect(doc.images.map((i) => i.id)).toEqual(images.map((i) => i.id))
    for (const im of doc.images) {
      const row = images.find((i) => i.id === im.id)!
      expect([im.width, im.height]).toEqual([row.width, row.height])
      expect(fs.existsSync(path.join(out, 'images', im.file_name!))).toBe(true)
    }
    expect(doc.categories).toEqual(listClasses(db).map((c) => ({ id: c.id, name: c.name })))
    // Raw IDX pixels come out as PNG files with the same pixels.
    const raw = images.find((i) => i.source.includes('#1'))!
    const rawFile = doc.images.find((i) => i.id === raw.id)!.file_name!
    expect(rawFile).toBe(`${raw.id}.png`)
    const stored = db.prepare('SELECT bytes FROM image_data WHERE image_id = ?').get(raw.id) as {
      bytes: Buffer
    }
    expect((await sharp(path.join(out, 'images', rawFile)).metadata()).channels).toBe(1)
    const decoded = await sharp(path.join(out, 'images', rawFile))
      .extractChannel(0)
      .raw()
      .toBuffer()
    expect(Buffer.compare(decoded, stored.bytes)).toBe(0)

    // Each kind as COCO has it.
    const byId = new Map(doc.annotations.map((a) => [a.id, a]))
    const kinds = db
      .prepare("SELECT id, kind, crowd FROM annotations WHERE kind <> 'tag' ORDER BY id")
      .all() as { id: number; kind: string; crowd: number }[]
    for (const k of kinds) {
      const a = byId.get(k.id)!
      expect(a.iscrowd).toBe(k.crowd)
      if (k.kind === 'box') {
        expect(a.segmentation).toEqual([])
        expect(a.area).toBeCloseTo(a.bbox[2] * a.bbox[3], 9)
      } else if (k.kind === 'mask') {
        const seg = a.segmentation as { size: [number, number]; counts: unknown }
        expect(typeof seg.counts).toBe('string')
        expect(a.area).toBe(rleArea(segmentationToRle(a.segmentation!, seg.size[0], seg.size[1])))
      }
    }
    const polygon = doc.annotations.find((a) => Array.isArray(a.segmentation) && a.segmentation.length === 1)!
    expect(polygon.segmentation).toEqual([[10, 5, 30, 5, 30, 25, 10, 25]])
    expect(polygon.bbox).toEqual([10, 5, 20, 20])
    expect(polygon.area).toBe(rleArea(rleFromPolygon([10, 5, 30, 5, 30, 25, 10, 25], 30, 40)))

    // Re-import into a new project: same images, same regions.
    const db2 = newProject('again')
    expect(await recognise(out)).toBe('coco')
    const back = await doImport(db2, { paths: [out] })
    expect(back).toMatchObject({ added: images.length, failed: [] })
    const hashOf = new Map(images.map((i) => [i.id, i.hash]))
    const before = storedRegions(db)
    const after = storedRegions(db2)
    expect(after).toHaveLength(before.length)
    const holey = before.find((r) => r.geometry.holes)!
    for (let i = 0; i < before.length; i++) {
      const b = before[i]!
      const a = after.find(
        (r) =>
          r.hash === hashOf.get(b.imageId) &&
          r.z === before.filter((x) => x.imageId === b.imageId).indexOf(b),
      )!
      expect(a).toBeDefined()
      expect([a.className, a.crowd, a.origin]).toEqual([b.className, b.crowd, 'import'])
      if (b === holey) {
        // COCO polygons have no holes: it comes back as the mask of the outline less the hole.
        const px = (ring: [number, number][]) => ring.flatMap(([x, y]) => [x * 40, y * 30])
        const want = rleMerge(
          rleFromPolygon(px(b.geometry.points!), 30, 40),
          rleFromPolygon(px(b.geometry.holes![0]!), 30, 40),
          'subtract',
        )
        expect(a.kind).toBe('mask')
        expect(a.geometry.rle).toEqual(want)
        continue
      }
      expect(a.kind).toBe(b.kind)
      if (b.kind === 'mask') expect(a.geometry.rle).toEqual(b.geometry.rle)
      else if (b.kind === 'polygon') {
        expect(a.geometry.points).toHaveLength(b.geometry.points!.length)
        a.geometry.points!.forEach(([x, y], j) => {
          expect(Math.abs(x - b.geometry.points![j]![0])).toBeLessThan(1e-6)
          expect(Math.abs(y - b.geometry.points![j]![1])).toBeLessThan(1e-6)
        })
      } else
        for (const k of ['x', 'y', 'w', 'h'] as const)
          expect(Math.abs(a.geometry[k]! - b.geometry[k]!)).toBeLessThan(1e-9)
    }
  })

  it('annotations.json evaluated against itself gives AP 1 (boxes, and masks where there are segmentations)', async () => {
    const db = await richProject()
    const out = path.join(tmp, 'out')
    await exportCoco(db, { dir: out })
    const doc = readJson<CocoDataset>(path.join(out, 'annotations.json'))
    const asResults = (d: CocoDataset): CocoResult[] =>
      d.annotations
        .filter((a) => !a.iscrowd)
        .map((a) => ({
          image_id: a.image_id,
          category_id: a.category_id,
          bbox: a.bbox,
          score: 1,
          segmentation: a.segmentation,
        }))
    const box = evaluateCoco(doc, asResults(doc), 'bbox')
    expect(box.ap).toBeGreaterThanOrEqual(1 - 1e-9)
    const segmented = (s: CocoSegmentation | undefined) => !(Array.isArray(s) && s.length === 0)
    const masks = { ...doc, annotations: doc.annotations.filter((a) => segmented(a.segmentation)) }
    const segm = evaluateCoco(masks, asResults(masks), 'segm')
    expect(segm.ap).toBeGreaterThanOrEqual(1 - 1e-9)
  })

  it("writes predictions.json from a run's stored detections, for the exported images only", async () => {
    const root = path.join(tmp, 'layout')
    for (const s of ['train', 'valid', 'test']) await tinySet(path.join(root, s), '_annotations.coco.json')
    const db = newProject()
    expect((await doImport(db, { paths: [root] })).failed).toEqual([])
    const images = storedImages(db)
    const test = images.filter((i) => i.split === 'test')
    const train = images.filter((i) => i.split === 'train')
    const cat = listClasses(db)[0]!
    const run = createRun(db, 'det', { task: 'detect' }, 'done', 'detect')
    const mask = rectMask(30, 40, 2, 2, 12, 12)
    putDetections(db, run, -1, [
      {
        imageId: test[0]!.id,
        detections: [
          { classId: cat.id, score: 0.9, box: { x: 0.25, y: 0.5, w: 0.25, h: 0.25 } },
          {
            classId: cat.id,
            score: 0.4,
            box: { x: 0.05, y: 2 / 30, w: 0.25, h: 1 / 3 },
            mask: { size: [30, 40], counts: rleToString(mask) },
          },
        ],
      },
      {
        imageId: test[2]!.id,
        detections: [{ classId: cat.id, score: 0.7, box: { x: 0, y: 0, w: 0.5, h: 0.5 } }],
      },
      // Not in the export (a train image), and an earlier epoch: neither is written.
      {
        imageId: train[0]!.id,
        detections: [{ classId: cat.id, score: 0.8, box: { x: 0, y: 0, w: 1, h: 1 } }],
      },
    ])
    putDetections(db, run, 3, [
      {
        imageId: test[1]!.id,
        detections: [{ classId: cat.id, score: 0.8, box: { x: 0, y: 0, w: 1, h: 1 } }],
      },
    ])
    const out = path.join(tmp, 'out')
    const result = await exportCoco(db, { dir: out, split: 'test', runId: run })
    expect(result).toMatchObject({
      images: 4,
      predictions: 3,
      imagesWithoutPredictions: { count: 2, ids: [test[1]!.id, test[3]!.id] },
    })
    expect(result.files.slice(0, 2)).toEqual(['annotations.json', 'predictions.json'])
    const doc = readJson<CocoDataset>(path.join(out, 'annotations.json'))
    expect(doc.images.map((i) => i.id)).toEqual(test.map((i) => i.id))
    const preds = readJson<CocoResult[]>(path.join(out, 'predictions.json'))
    expect(preds).toHaveLength(3)
    const ids = new Set(doc.images.map((i) => i.id))
    expect(preds.every((p) => ids.has(p.image_id))).toBe(true)
    expect(preds[0]).toEqual({
      image_id: test[0]!.id,
      category_id: cat.id,
      bbox: [10, 15, 10, 7.5],
      score: 0.9,
    })
    expect(preds[1]!.segmentation).toEqual({ size: [30, 40], counts: rleToString(mask) })
    // The results load against the export's own annotations, as pycocotools' loadRes needs.
    expect(() => evaluateCoco(doc, preds, 'bbox')).not.toThrow()
  })

  it('export.coco through the API: the result, and refusals as data', async () => {
    const app = new SmallsetApp()
    try {
      app.createProject(path.join(tmp, 'api-project'))
      await app.importNow({ paths: [await tinySet(path.join(tmp, 'src'))] })
      const out = path.join(tmp, 'api-out')
      const r = (await app.dispatch('export.coco', { dir: out })) as Result<ExportCocoResult>
      expect(r.ok && r.value).toMatchObject({ images: 4, annotations: 6, predictions: null })
      const again = await app.dispatch('export.coco', { dir: out })
      expect(again).toMatchObject({
        ok: false,
        error: { code: 'bad_input', message: expect.stringMatching(/is not empty/) },
      })
      const noRun = await app.dispatch('export.coco', { dir: path.join(tmp, 'x'), runId: 99 })
      expect(noRun).toMatchObject({ ok: false, error: { code: 'not_found' } })
      const badSplit = await app.dispatch('export.coco', { dir: path.join(tmp, 'y'), split: 'valid' })
      expect(badSplit).toMatchObject({ ok: false, error: { code: 'invalid_request' } })
    } finally {
      app.close()
    }
  })
})
