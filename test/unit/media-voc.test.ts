/**
 * Pascal VOC XML in and out (src-main/media/formats/voc.ts).
 *
 * A tiny VOC folder is written at test time as the VOC devkit and labelImg write it (Annotations/,
 * JPEGImages/, ImageSets/Main/), imported, and checked against the store: 1-based inclusive pixel boxes
 * converted to edges, `difficult` kept as the crowd flag, splits from the ImageSets lists, CRLF + BOM
 * files. Bad files and objects are report rows naming the file, the line or object, and the reason.
 * Export writes the same layout, and importing it back gives the same classes, splits and boxes, with
 * the same integer coordinates in the XML.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { XMLParser } from 'fast-xml-parser'
import { SmallsetApp } from '../../src-main/api/app'
import { recognise } from '../../src-main/media/formats'
import { exportVoc } from '../../src-main/media/formats/voc'
import {
  classNames,
  doImport,
  expectSameRegions,
  formatTestEnv,
  png,
  storedImages,
  storedRegions,
  writeFile,
} from './helpers/formats'

const env = formatTestEnv('smallset-voc-', { beforeEach, afterEach })
const tmp = () => env.tmp()

interface Obj {
  name: string
  box: [number | string, number | string, number | string, number | string]
  difficult?: 0 | 1
  truncated?: 0 | 1
  occluded?: 0 | 1
  pose?: string
}

/** An annotation file as the VOC devkit writes it (tabs, a <source> block, <pose>, <truncated>). */
function vocXml(file: string, w: number, h: number, objects: Obj[]): string {
  const obj = objects
    .map(
      (o) => `\t<object>
\t\t<name>${o.name}</name>
\t\t<pose>${o.pose ?? 'Unspecified'}</pose>
\t\t<truncated>${o.truncated ?? 0}</truncated>${o.occluded === undefined ? '' : `\n\t\t<occluded>${o.occluded}</occluded>`}
\t\t<difficult>${o.difficult ?? 0}</difficult>
\t\t<bndbox>
\t\t\t<xmin>${o.box[0]}</xmin>
\t\t\t<ymin>${o.box[1]}</ymin>
\t\t\t<xmax>${o.box[2]}</xmax>
\t\t\t<ymax>${o.box[3]}</ymax>
\t\t</bndbox>
\t</object>
`,
    )
    .join('')
  return `<annotation>
\t<folder>VOC2007</folder>
\t<filename>${file}</filename>
\t<source>
\t\t<database>The VOC2007 Database</database>
\t</source>
\t<size>
\t\t<width>${w}</width>
\t\t<height>${h}</height>
\t\t<depth>3</depth>
\t</size>
\t<segmented>0</segmented>
${obj}</annotation>
`
}

async function tinySet(root: string): Promise<string> {
  const put = async (id: string, w: number, h: number, objects: Obj[], crlfBom = false) => {
    await png(path.join(root, 'JPEGImages', `${id}.png`), w, h)
    let xml = vocXml(`${id}.png`, w, h, objects)
    if (crlfBom) xml = '\uFEFF<?xml version="1.0" encoding="utf-8"?>\r\n' + xml.replace(/\n/g, '\r\n')
    writeFile(path.join(root, 'Annotations', `${id}.xml`), xml)
  }
  await put('000001', 40, 30, [
    { name: 'dog', box: [1, 1, 40, 30], truncated: 1, occluded: 1, pose: 'Left' },
    { name: 'cat', box: [5, 6, 14, 11], difficult: 1 },
  ])
  await put('000002', 40, 30, [{ name: 'cat', box: [11, 3, 30, 22] }], true)
  await put('000003', 20, 20, [{ name: 'person', box: [2, 2, 19, 19] }])
  await put('000004', 20, 20, [])
  await put('000005', 20, 20, [{ name: 'dog', box: [3, 4, 10, 12] }])
  writeFile(path.join(root, 'ImageSets/Main/train.txt'), '000001\n000002\n')
  writeFile(path.join(root, 'ImageSets/Main/val.txt'), '000003\r\n')
  writeFile(path.join(root, 'ImageSets/Main/trainval.txt'), '000001\n000002\n000003\n000005\n')
  writeFile(path.join(root, 'ImageSets/Main/test.txt'), '000004\n')
  // A per-class list (as the devkit ships) is not a split list.
  writeFile(path.join(root, 'ImageSets/Main/dog_train.txt'), '000001  1\n000002 -1\n')
  return root
}

describe('VOC import', () => {
  it('reads boxes (1-based, inclusive), difficult as crowd, splits from ImageSets, CRLF and BOM', async () => {
    const root = await tinySet(path.join(tmp(), 'VOC2007'))
    expect(await recognise(root)).toBe('voc')
    const db = env.newProject()
    const r = await doImport(db, { paths: [root] })
    expect(r).toMatchObject({ added: 5, failed: [], classesCreated: ['dog', 'cat', 'person'] })
    expect(storedImages(db).map((i) => [path.basename(i.source), i.split, i.locked, i.status])).toEqual([
      ['000001.png', 'train', 1, 'labeled'],
      ['000002.png', 'train', 1, 'labeled'],
      ['000003.png', 'val', 1, 'labeled'],
      ['000004.png', 'test', 1, 'unlabeled'],
      ['000005.png', 'train', 1, 'labeled'], // in trainval.txt only
    ])
    const regs = storedRegions(db)
    expect(regs.map((g) => [path.basename(g.source), g.className, g.crowd])).toEqual([
      ['000001.png', 'dog', 0],
      ['000001.png', 'cat', 1],
      ['000002.png', 'cat', 0],
      ['000003.png', 'person', 0],
      ['000005.png', 'dog', 0],
    ])
    const px = (g: (typeof regs)[number], W: number, H: number) => {
      const { x, y, w, h } = g.geometry as Record<'x' | 'y' | 'w' | 'h', number>
      return [x * W, y * H, w * W, h * H].map((v) => Math.round(v * 1e9) / 1e9)
    }
    // xmin 1 … xmax 40 is the whole 40 px width: edges 0 and 40.
    expect(px(regs[0]!, 40, 30)).toEqual([0, 0, 40, 30])
    expect(px(regs[1]!, 40, 30)).toEqual([4, 5, 10, 6])
    expect(px(regs[2]!, 40, 30)).toEqual([10, 2, 20, 20])
  })

  it('an image in no split list gets a seeded split; one annotation file imports alone', async () => {
    const root = await tinySet(path.join(tmp(), 'VOC'))
    fs.rmSync(path.join(root, 'ImageSets'), { recursive: true })
    const db = env.newProject()
    expect(await doImport(db, { paths: [root] })).toMatchObject({ added: 5, failed: [] })
    expect(storedImages(db).every((i) => i.locked === 0)).toBe(true)
    const one = path.join(root, 'Annotations', '000003.xml')
    expect(await recognise(one)).toBe('voc')
    const db2 = env.newProject()
    expect(await doImport(db2, { paths: [one] })).toMatchObject({
      added: 1,
      failed: [],
      classesCreated: ['person'],
    })
  })
})

describe('bad VOC input', () => {
  it('reports each bad file and object with file, line or object, and reason, and imports the rest', async () => {
    const root = path.join(tmp(), 'bad')
    await png(path.join(root, 'JPEGImages/a.png'), 40, 30)
    writeFile(
      path.join(root, 'Annotations/a.xml'),
      vocXml('a.png', 40, 30, [
        { name: 'ok', box: [1, 1, 10, 10] },
        { name: 'neg', box: [20, 5, 10, 10] },
        { name: 'nan', box: [1, 'one', 10, 10] },
        { name: 'out', box: [1, 1, 60, 10] },
        { name: 'flat', box: [5, 5, 5, 9] },
      ]),
    )
    writeFile(
      path.join(root, 'Annotations/b.xml'),
      '<annotation>\n<filename>b.png</filename>\n<object><name>x</name>\n<bndbox><xmin>1</xmin></bndbox>\n</annotation>\n',
    )
    writeFile(
      path.join(root, 'Annotations/c.xml'),
      vocXml('missing.png', 10, 10, [{ name: 'ghost', box: [1, 1, 5, 5] }]),
    )
    writeFile(
      path.join(root, 'Annotations/d.xml'),
      '<?xml version="1.0"?>\n<root><filename>x.png</filename></root>\n',
    )
    await png(path.join(root, 'JPEGImages/e.png'), 20, 20)
    writeFile(
      path.join(root, 'Annotations/e.xml'),
      '<annotation><filename>e.png</filename><object><difficult>0</difficult></object><object><name>nobox</name></object></annotation>',
    )
    const db = env.newProject()
    const r = await doImport(db, { paths: [root], format: 'voc' })
    expect(r.added).toBe(2)
    const rows = r.failed.map((f) => [path.relative(root, f.path), f.element, f.reason])
    expect(rows).toEqual([
      ['Annotations/b.xml', 'line 5', expect.stringMatching(/^malformed XML: .*object/)],
      ['Annotations/d.xml', undefined, 'not a VOC annotation: its root is not <annotation>'],
      [
        'Annotations/a.xml',
        'object 2 (neg)',
        expect.stringMatching(/^box of negative size: xmin 20, xmax 10/),
      ],
      ['Annotations/a.xml', 'object 3 (nan)', '<bndbox> <ymin> is "one", not a number'],
      ['Annotations/a.xml', 'object 4 (out)', expect.stringMatching(/lies outside the 40×30 image/)],
      ['Annotations/a.xml', 'object 5 (flat)', expect.stringMatching(/A box needs some width/)],
      [
        'JPEGImages/missing.png',
        'image missing.png (Annotations/c.xml)',
        expect.stringMatching(/image file not found/),
      ],
      ['Annotations/e.xml', 'object 1', 'object has no <name>'],
      ['Annotations/e.xml', 'object 2 (nobox)', 'object has no <bndbox>'],
    ])
    expect(storedRegions(db).map((g) => g.className)).toEqual(['ok'])
  })
})

describe('special files in a VOC set', () => {
  it('an annotation file that is a FIFO is reported and skipped, not waited on; the rest imports', async () => {
    const root = await tinySet(path.join(tmp(), 'VOC2007'))
    const fifo = path.join(root, 'Annotations', '000005.xml')
    fs.rmSync(fifo)
    execFileSync('mkfifo', [fifo])
    const db = env.newProject()
    const r = await doImport(db, { paths: [root], format: 'voc' })
    expect(r.added).toBe(4)
    expect(r.failed).toContainEqual(
      expect.objectContaining({ path: fifo, reason: expect.stringMatching(/named pipe/) }),
    )
  }, 10_000)
})

describe('VOC export', () => {
  it('round trip: imported, exported and imported again gives the same classes, splits, boxes and XML coordinates', async () => {
    const root = await tinySet(path.join(tmp(), 'VOC2007'))
    const db = env.newProject()
    await doImport(db, { paths: [root] })
    const out = path.join(tmp(), 'out')
    const x = await exportVoc(db, { dir: out })
    expect(x).toMatchObject({ format: 'voc', images: 5, annotations: 5, notes: [], trainCommand: null })
    const list = (n: string) =>
      fs
        .readFileSync(path.join(out, 'ImageSets/Main', `${n}.txt`), 'utf8')
        .trim()
        .split('\n')
    expect(list('train')).toHaveLength(3)
    expect(list('val')).toHaveLength(1)
    expect(list('test')).toHaveLength(1)
    expect(list('trainval')).toHaveLength(4)

    // The same integer boxes as the source, and difficult, truncated, occluded and pose kept.
    const parser = new XMLParser({ isArray: (_n, j) => j === 'annotation.object' })
    const objects = (file: string) =>
      (
        parser.parse(fs.readFileSync(file, 'utf8')) as {
          annotation: { object?: { name: string; difficult: number; bndbox: Record<string, number> }[] }
        }
      ).annotation.object ?? []
    const first = fs.readdirSync(path.join(out, 'Annotations')).find((f) => f.includes('000001'))!
    expect(objects(path.join(out, 'Annotations', first))).toEqual([
      {
        name: 'dog',
        pose: 'Left',
        truncated: 1,
        occluded: 1,
        difficult: 0,
        bndbox: { xmin: 1, ymin: 1, xmax: 40, ymax: 30 },
      },
      {
        name: 'cat',
        pose: 'Unspecified',
        truncated: 0,
        difficult: 1,
        bndbox: { xmin: 5, ymin: 6, xmax: 14, ymax: 11 },
      },
    ])

    const db2 = env.newProject('back')
    expect(await recognise(out)).toBe('voc')
    expect(await doImport(db2, { paths: [out] })).toMatchObject({ added: 5, failed: [] })
    expect(classNames(db2).sort()).toEqual(classNames(db).sort())
    const key = (i: { hash: string; split: string; status: string }) => `${i.hash}|${i.split}|${i.status}`
    expect(storedImages(db2).map(key).sort()).toEqual(storedImages(db).map(key).sort())
    expectSameRegions(storedRegions(db), storedRegions(db2), 1e-6, expect)
    const attributes = (d: typeof db) =>
      (
        d.prepare('SELECT attributes FROM annotations WHERE attributes IS NOT NULL').all() as {
          attributes: string
        }[]
      ).map((r) => JSON.parse(r.attributes) as unknown)
    // Every object says truncated (0 or 1); the dog also occluded and its pose.
    expect(attributes(db)).toHaveLength(5)
    expect(attributes(db)).toContainEqual({ truncated: 1, occluded: 1, pose: 'Left' })
    expect(attributes(db).filter((a) => JSON.stringify(a) === '{"truncated":0}')).toHaveLength(4)
    expect(attributes(db2)).toEqual(attributes(db))
  })

  it('polygons become bounding boxes (noted); a tags-only project is refused', async () => {
    const src = path.join(tmp(), 'coco')
    await png(path.join(src, 'a.png'), 40, 30)
    writeFile(
      path.join(src, 'annotations.json'),
      JSON.stringify({
        images: [{ id: 1, file_name: 'a.png', width: 40, height: 30 }],
        categories: [{ id: 1, name: 'leaf' }],
        annotations: [
          {
            id: 1,
            image_id: 1,
            category_id: 1,
            segmentation: [[10, 5, 30, 5, 20, 25]],
            bbox: [10, 5, 20, 20],
          },
        ],
      }),
    )
    const db = env.newProject()
    await doImport(db, { paths: [src] })
    const out = path.join(tmp(), 'out')
    const x = await exportVoc(db, { dir: out })
    expect(x.notes).toEqual([
      '1 polygons and masks were written as their bounding boxes: VOC XML holds boxes only',
    ])
    const xml = fs.readFileSync(
      path.join(out, 'Annotations', fs.readdirSync(path.join(out, 'Annotations'))[0]!),
      'utf8',
    )
    expect(xml).toMatch(/<xmin>11<\/xmin>\s*<ymin>6<\/ymin>\s*<xmax>30<\/xmax>\s*<ymax>25<\/ymax>/)

    const app = new SmallsetApp()
    try {
      const cf = path.join(tmp(), 'cf')
      await png(path.join(cf, 'cat/a.png'))
      app.createProject(path.join(tmp(), 'tags'))
      await app.importNow({ paths: [cf] })
      const r = await app.dispatch('export.dataset', { format: 'voc', dir: path.join(tmp(), 'out2') })
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.error.message).toMatch(/tags only.*--format imagefolder/)
    } finally {
      app.close()
    }
  })
})
