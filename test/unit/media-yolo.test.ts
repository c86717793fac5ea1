/**
 * Ultralytics YOLO in and out (src-main/media/formats/yolo.ts).
 *
 * Small sets are written at test time as Ultralytics lays them out (data.yaml, images/<split>/,
 * labels/<split>/, or flat images/ + labels/), imported, and checked against what the store holds:
 * boxes, polygons, classes in index order, splits, unlabelled and reviewed images, CRLF and BOM files.
 * Each bad line or file is a report row naming the file, the line and the reason while the rest
 * comes in. Export writes the same layout; importing it back gives the same classes, splits and
 * regions, and masks come back as polygons that rasterise to the same pixels.
 */
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import YAML from 'yaml'
import type { ExportDatasetResult } from '../../src-shared/api/exchange'
import { encodeMask, polygonToRle, rleMerge, type Rle } from '../../src-shared/domain/rle'
import { SmallsetApp } from '../../src-main/api/app'
import { recognise } from '../../src-main/media/formats'
import { exportYolo } from '../../src-main/media/formats/yolo'
import { saveAnnotations } from '../../src-main/store/repos/annotations'
import { listClasses } from '../../src-main/store/repos/classes'
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

const env = formatTestEnv('smallset-yolo-', { beforeEach, afterEach })
const tmp = () => env.tmp()

/**
 * A YOLO set as Ultralytics writes it: train (a box image, a polygon image, an unlabelled image, an
 * empty label file) and val (a CRLF + BOM label file). Classes: cat, dog, bird (bird unused).
 */
async function tinySet(root: string, names: unknown = ['cat', 'dog', 'bird']): Promise<string> {
  writeFile(
    path.join(root, 'data.yaml'),
    YAML.stringify({ path: '.', train: 'images/train', val: 'images/val', names }),
  )
  await png(path.join(root, 'images/train/a.png'), 40, 30)
  writeFile(path.join(root, 'labels/train/a.txt'), '0 0.5 0.5 0.25 0.2\n1 0.1 0.1 0.1 0.2\n')
  await png(path.join(root, 'images/train/b.png'), 40, 30)
  writeFile(path.join(root, 'labels/train/b.txt'), '1 0.1 0.1 0.5 0.1 0.5 0.6 0.1 0.6\n')
  await png(path.join(root, 'images/train/c.png'), 40, 30) // no label file: unlabelled
  await png(path.join(root, 'images/train/d.png'), 40, 30)
  writeFile(path.join(root, 'labels/train/d.txt'), '') // empty: no objects
  await png(path.join(root, 'images/val/e.png'), 20, 20)
  writeFile(
    path.join(root, 'labels/val/e.txt'),
    '\uFEFF0 0.25 0.25 0.5 0.5\r\n1 0.5 0.5 0.9 0.5 0.9 0.9\r\n\r\n',
  )
  return root
}

const bySource = (db: ReturnType<typeof env.newProject>) =>
  new Map(storedImages(db).map((i) => [path.basename(i.source), i]))

describe('YOLO import', () => {
  it('reads boxes, polygons, classes in index order, splits and statuses', async () => {
    const root = await tinySet(path.join(tmp(), 'set'))
    expect(await recognise(root)).toBe('yolo')
    expect(await recognise(path.join(root, 'data.yaml'))).toBe('yolo')
    const db = env.newProject()
    const r = await doImport(db, { paths: [root] })
    expect(r).toMatchObject({ added: 5, failed: [], classesCreated: ['cat', 'dog', 'bird'] })
    expect(classNames(db)).toEqual(['cat', 'dog', 'bird'])

    const im = bySource(db)
    expect([...im.keys()]).toEqual(['a.png', 'b.png', 'c.png', 'd.png', 'e.png'])
    expect([...im.values()].map((i) => [i.split, i.locked, i.status])).toEqual([
      ['train', 1, 'labeled'],
      ['train', 1, 'labeled'],
      ['train', 1, 'unlabeled'],
      ['train', 1, 'reviewed'],
      ['val', 1, 'labeled'],
    ])

    const regs = storedRegions(db)
    expect(regs.map((g) => [path.basename(g.source), g.kind, g.className, g.crowd])).toEqual([
      ['a.png', 'box', 'cat', 0],
      ['a.png', 'box', 'dog', 0],
      ['b.png', 'polygon', 'dog', 0],
      ['e.png', 'box', 'cat', 0],
      ['e.png', 'polygon', 'dog', 0],
    ])
    const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(1e-12)
    const box = regs[0]!.geometry
    ;[box.x!, box.y!, box.w!, box.h!].forEach((v, i) => close(v, [0.375, 0.4, 0.25, 0.2][i]!))
    // A box poking out of the image (0.1 ± 0.1 wide is fine; 0.1 - 0.2/2 = 0) is kept.
    expect(regs[1]!.geometry.y).toBeCloseTo(0, 12)
    expect(regs[2]!.geometry.points).toEqual([
      [0.1, 0.1],
      [0.5, 0.1],
      [0.5, 0.6],
      [0.1, 0.6],
    ])
    // CRLF + BOM file: both lines read, the first class is 0 (not "\uFEFF0").
    const e = regs[3]!.geometry
    ;[e.x!, e.y!, e.w!, e.h!].forEach((v, i) => close(v, [0, 0, 0.5, 0.5][i]!))
    expect(regs[4]!.geometry.points).toEqual([
      [0.5, 0.5],
      [0.9, 0.5],
      [0.9, 0.9],
    ])
  })

  it('reads names as an {index: name} map, a BOM and CRLF data.yaml, and a list of folders', async () => {
    const root = path.join(tmp(), 'map')
    writeFile(
      path.join(root, 'data.yaml'),
      '\uFEFFtrain:\r\n  - images/train\r\n  - images/extra\r\nval: images/val\r\nnames:\r\n  0: person\r\n  1: car\r\n',
    )
    await png(path.join(root, 'images/train/a.png'))
    writeFile(path.join(root, 'labels/train/a.txt'), '1 0.5 0.5 0.5 0.5\n')
    await png(path.join(root, 'images/extra/b.png'))
    writeFile(path.join(root, 'labels/extra/b.txt'), '0 0.5 0.5 0.5 0.5\n')
    await png(path.join(root, 'images/val/c.png'))
    const db = env.newProject()
    const r = await doImport(db, { paths: [root], format: 'yolo' })
    expect(r).toMatchObject({ added: 3, failed: [], classesCreated: ['person', 'car'] })
    expect(storedRegions(db).map((g) => [path.basename(g.source), g.split, g.className])).toEqual([
      ['a.png', 'train', 'car'],
      ['b.png', 'train', 'person'],
    ])
    expect(storedImages(db).map((i) => i.split)).toEqual(['train', 'train', 'val'])
  })

  it('reads a flat images/ + labels/ folder with classes.txt, or with the class numbers', async () => {
    const root = path.join(tmp(), 'flat')
    await png(path.join(root, 'images/a.png'))
    writeFile(path.join(root, 'labels/a.txt'), '2 0.5 0.5 0.5 0.5\n0 0.2 0.2 0.1 0.1\n')
    expect(await recognise(root)).toBe('yolo')
    const db = env.newProject()
    let r = await doImport(db, { paths: [root] })
    expect(r).toMatchObject({ added: 1, failed: [], classesCreated: ['0', '2'] })
    // Unsplit: a seeded split is made.
    expect(storedImages(db)[0]!.locked).toBe(0)

    writeFile(path.join(root, 'classes.txt'), 'ant\r\nbee\r\nwasp\r\n')
    const db2 = env.newProject()
    r = await doImport(db2, { paths: [root], format: 'yolo' })
    expect(r).toMatchObject({ added: 1, failed: [], classesCreated: ['ant', 'bee', 'wasp'] })
    expect(storedRegions(db2).map((g) => g.className)).toEqual(['wasp', 'ant'])
  })

  it('recognises YOLO sources, and leaves class folders and COCO alone', async () => {
    const classFolders = path.join(tmp(), 'cf')
    await png(path.join(classFolders, 'train/images/x.png'))
    await png(path.join(classFolders, 'train/labels/y.png'))
    expect(await recognise(classFolders)).toBe('imagefolder')
    const noLabels = path.join(tmp(), 'nolabels')
    await png(path.join(noLabels, 'images/x.png'))
    fs.mkdirSync(path.join(noLabels, 'labels'))
    expect(await recognise(noLabels)).toBe('imagefolder')
    const yamlWithoutNames = writeFile(path.join(tmp(), 'other/data.yaml'), 'train: x\n')
    expect(await recognise(yamlWithoutNames)).toBe('imagefolder')
    expect(await recognise(path.dirname(yamlWithoutNames))).toBe('imagefolder')
  })
})

describe('bad YOLO input', () => {
  it('reports each bad line and file with file, line and reason, and imports the rest', async () => {
    const root = path.join(tmp(), 'bad')
    writeFile(path.join(root, 'data.yaml'), 'train: images/train\nval: images/val\nnames: [cat, dog]\n')
    await png(path.join(root, 'images/train/a.png'), 40, 30)
    const a = writeFile(
      path.join(root, 'labels/train/a.txt'),
      [
        '0 0.5 0.5 0.2 0.2', // good
        '5 0.5 0.5 0.2 0.2', // class out of range
        '0 1.5 0.5 0.2 0.2', // outside [0, 1]
        '1 0.5 0.5 -0.2 0.2', // negative size
        '1 0.1 0.1 0.2 0.2 0.3', // 5 values
        '1 0.1 0.1', // one point
        'x 0.1 0.1 0.2 0.2', // not a class index
        '0 0.5 abc 0.2 0.2', // not a number
        '1 0.1 0.1 0.5 0.1 0.9 0.1', // a polygon with no area
        '1 0.1 0.1 0.5 0.1 0.5 0.5', // good
      ].join('\r\n'),
    )
    const orphan = writeFile(path.join(root, 'labels/train/ghost.txt'), '0 0.5 0.5 0.1 0.1\n')
    await png(path.join(root, 'images/val/b.png'))
    writeFile(path.join(root, 'labels/val/b.txt'), '1 0.5 0.5 0.2 0.2\n')
    const db = env.newProject()
    const r = await doImport(db, { paths: [root] })
    expect(r.added).toBe(2)
    const rows = r.failed.map((f) => [path.relative(root, f.path), f.element, f.reason])
    expect(rows).toEqual([
      ['labels/train/ghost.txt', undefined, expect.stringMatching(/label file with no image.*ghost\.\*/)],
      ['labels/train/a.txt', 'line 2', expect.stringMatching(/class index 5 is out of range/)],
      ['labels/train/a.txt', 'line 3', expect.stringMatching(/coordinate 1\.5 is outside \[0, 1\]/)],
      ['labels/train/a.txt', 'line 4', expect.stringMatching(/negative or no size/)],
      ['labels/train/a.txt', 'line 5', expect.stringMatching(/5 coordinates: neither a box/)],
      ['labels/train/a.txt', 'line 6', expect.stringMatching(/fewer than 3 points \(1\)/)],
      ['labels/train/a.txt', 'line 7', expect.stringMatching(/"x" is not a class index/)],
      ['labels/train/a.txt', 'line 8', expect.stringMatching(/"abc" is not a number/)],
      ['labels/train/a.txt', 'line 9', expect.stringMatching(/no area/)],
    ])
    expect(a).toContain('a.txt')
    expect(orphan).toContain('ghost')
    expect(storedRegions(db).map((g) => [path.basename(g.source), g.kind, g.className])).toEqual([
      ['a.png', 'box', 'cat'],
      ['a.png', 'polygon', 'dog'],
      ['b.png', 'box', 'dog'],
    ])
  })

  it('a malformed data.yaml, or one naming a missing folder, is reported', async () => {
    const root = path.join(tmp(), 'yaml')
    const yamlFile = writeFile(path.join(root, 'data.yaml'), 'names: [cat, dog\ntrain: images/train\n')
    await png(path.join(root, 'images/train/a.png'))
    const db = env.newProject()
    let r = await doImport(db, { paths: [root], format: 'yolo' })
    expect(r.added).toBe(0)
    expect(r.failed).toEqual([{ path: yamlFile, reason: expect.stringMatching(/^malformed YAML/) }])

    writeFile(yamlFile, 'names: [cat]\ntrain: images/train\nval: images/nowhere\n')
    r = await doImport(db, { paths: [root], format: 'yolo' })
    expect(r.added).toBe(1)
    expect(r.failed).toEqual([
      { path: yamlFile, reason: expect.stringMatching(/data\.yaml's val: images\/nowhere: it is not there/) },
    ])
  })
})

/** A project with every region kind: boxes, a polygon with a hole, a two-part mask with a hole, a crowd box. */
async function richProject() {
  const root = path.join(tmp(), 'rich')
  writeFile(
    path.join(root, 'data.yaml'),
    'train: images/train\nval: images/val\ntest: images/test\nnames: [cat, dog]\n',
  )
  await png(path.join(root, 'images/train/a.png'), 40, 30)
  writeFile(path.join(root, 'labels/train/a.txt'), '0 0.5 0.5 0.25 0.2\n')
  await png(path.join(root, 'images/val/b.png'), 40, 30)
  writeFile(path.join(root, 'labels/val/b.txt'), '1 0.1 0.1 0.5 0.1 0.5 0.6\n')
  await png(path.join(root, 'images/test/c.png'), 32, 32)
  await png(path.join(root, 'images/test/d.png'), 32, 32)
  writeFile(path.join(root, 'labels/test/d.txt'), '')
  const db = env.newProject('rich')
  await doImport(db, { paths: [root] })
  const ids = storedImages(db).map((i) => i.id)
  const [cat, dog] = listClasses(db).map((c) => c.id)
  const data = new Uint8Array(32 * 32)
  for (let y = 2; y < 12; y++) for (let x = 2; x < 12; x++) data[y * 32 + x] = x === 6 && y === 6 ? 0 : 1
  for (let y = 20; y < 30; y++) for (let x = 20; x < 26; x++) data[y * 32 + x] = 1
  const mask = encodeMask(data, 32, 32)
  const props = { z: 0, hidden: false, locked: false, id: null }
  saveAnnotations(db, {
    imageId: ids[2]!,
    deletes: [],
    puts: [
      { key: 'm', kind: 'mask', geometry: { rle: mask }, classId: cat!, ...props },
      {
        key: 'h',
        kind: 'polygon',
        geometry: {
          points: [
            [0.5, 0.5],
            [0.9, 0.5],
            [0.9, 0.9],
            [0.5, 0.9],
          ],
          holes: [
            [
              [0.6, 0.6],
              [0.7, 0.6],
              [0.7, 0.7],
            ],
          ],
        },
        classId: dog!,
        ...props,
        z: 1,
      },
      { key: 'b', kind: 'box', geometry: { x: 0.1, y: 0.7, w: 0.2, h: 0.2 }, classId: dog!, ...props, z: 2 },
    ],
  })
  db.prepare("UPDATE annotations SET crowd = 1 WHERE kind = 'box' AND image_id = ?").run(ids[2]!)
  return { db, mask }
}

describe('YOLO export', () => {
  it('round trip: a YOLO set imported, exported and imported again gives the same classes, splits and regions', async () => {
    const root = await tinySet(path.join(tmp(), 'set'))
    const db = env.newProject()
    await doImport(db, { paths: [root] })
    const out = path.join(tmp(), 'out')
    const x = await exportYolo(db, { dir: out })
    // Boxes and polygons: the set is written as polygons throughout (see yolo.ts), so the boxes come
    // back as 4-corner polygons; a pure box set stays boxes (below).
    expect(x).toMatchObject({ format: 'yolo', images: 5, annotations: 5 })
    expect(x.trainCommand).toBe(`yolo segment train data=${path.join(out, 'data.yaml')} model=yolo11n-seg.pt`)
    expect(x.notes).toEqual([expect.stringMatching(/^3 boxes were written as 4-corner polygons/)])
    const doc = YAML.parse(fs.readFileSync(path.join(out, 'data.yaml'), 'utf8')) as Record<string, unknown>
    expect(doc).toEqual({
      path: out,
      train: 'images/train',
      val: 'images/val',
      names: { 0: 'cat', 1: 'dog', 2: 'bird' },
    })
    // The unlabelled image has no label file; the reviewed one an empty file.
    const labels = fs.readdirSync(path.join(out, 'labels/train')).sort()
    expect(labels).toHaveLength(3)
    expect(labels.map((l) => fs.readFileSync(path.join(out, 'labels/train', l), 'utf8').length > 0)).toEqual([
      true,
      true,
      false,
    ])

    const db2 = env.newProject('back')
    const back = await doImport(db2, { paths: [out] })
    expect(back).toMatchObject({ added: 5, failed: [] })
    expect(classNames(db2)).toEqual(classNames(db))
    const key = (i: { hash: string; split: string; status: string }) => `${i.hash}|${i.split}|${i.status}`
    expect(storedImages(db2).map(key).sort()).toEqual(storedImages(db).map(key).sort())
    const before = storedRegions(db)
    const after = storedRegions(db2)
    expect(after).toHaveLength(before.length)
    for (const b of before) {
      const a = after.find((r) => r.hash === b.hash && r.className === b.className)!
      const pts = a.geometry.points!
      if (b.kind === 'polygon') expect(pts).toEqual(b.geometry.points)
      else {
        const { x, y, w, h } = b.geometry as Record<'x' | 'y' | 'w' | 'h', number>
        const want = [
          [x, y],
          [x + w, y],
          [x + w, y + h],
          [x, y + h],
        ]
        pts.forEach((p, i) => p.forEach((v, k) => expect(Math.abs(v - want[i]![k]!)).toBeLessThan(1e-6)))
      }
    }
  })

  it('round trip of a box-only set stays boxes, within 1e-6', async () => {
    const root = path.join(tmp(), 'boxes')
    writeFile(path.join(root, 'data.yaml'), 'train: images/train\nval: images/val\nnames: [a, b]\n')
    await png(path.join(root, 'images/train/p.png'), 37, 23)
    writeFile(
      path.join(root, 'labels/train/p.txt'),
      '0 0.513514 0.478261 0.324324 0.434783\n1 0.2 0.3 0.1 0.2\n',
    )
    await png(path.join(root, 'images/val/q.png'), 37, 23)
    writeFile(path.join(root, 'labels/val/q.txt'), '1 0.333333 0.666667 0.222222 0.111111\n')
    const db = env.newProject()
    await doImport(db, { paths: [root] })
    const out = path.join(tmp(), 'out')
    const x = await exportYolo(db, { dir: out })
    expect(x.notes).toEqual([])
    expect(x.trainCommand).toMatch(/^yolo detect train data=.*data\.yaml model=yolo11n\.pt$/)
    expect(
      fs.readFileSync(path.join(out, 'labels/val', fs.readdirSync(path.join(out, 'labels/val'))[0]!), 'utf8'),
    ).toBe('1 0.333333 0.666667 0.222222 0.111111\n')
    const db2 = env.newProject('back')
    expect(await doImport(db2, { paths: [out] })).toMatchObject({ added: 2, failed: [] })
    expectSameRegions(storedRegions(db), storedRegions(db2), 1e-6, expect)
  })

  it('masks become polygons with the same pixels; holes, crowds and boxes-among-polygons are noted', async () => {
    const { db, mask } = await richProject()
    const out = path.join(tmp(), 'out')
    const x = await exportYolo(db, { dir: out })
    expect(x.images).toBe(4)
    expect(x.notes.sort()).toEqual([
      '1 boxes were written as 4-corner polygons: the set also has polygons or masks, and Ultralytics drops every segment of a set that mixes box and polygon lines',
      '1 crowd regions were left out: YOLO has no crowd flag',
      '1 masks of several parts were written as one line (one object) per part',
      '1 masks with holes were written as their outer outlines: YOLO has no holes',
      '1 polygons with holes were written as their outer outline: YOLO has no holes',
    ])
    expect(Object.keys(YAML.parse(fs.readFileSync(path.join(out, 'data.yaml'), 'utf8')) as object)).toEqual([
      'path',
      'train',
      'val',
      'test',
      'names',
    ])
    const db2 = env.newProject('back')
    expect(await doImport(db2, { paths: [out] })).toMatchObject({ added: 4, failed: [] })
    const c = storedImages(db).find((i) => i.source.endsWith('c.png'))!
    const back = storedRegions(db2).filter((r) => r.hash === c.hash)
    expect(back.map((r) => [r.kind, r.className])).toEqual([
      ['polygon', 'cat'],
      ['polygon', 'cat'],
      ['polygon', 'dog'],
    ])
    // The two parts of the mask, rasterised, give back the mask less its one-pixel hole.
    const filled = encodeMask(
      (() => {
        const d = new Uint8Array(32 * 32)
        for (let y = 2; y < 12; y++) for (let xx = 2; xx < 12; xx++) d[y * 32 + xx] = 1
        for (let y = 20; y < 30; y++) for (let xx = 20; xx < 26; xx++) d[y * 32 + xx] = 1
        return d
      })(),
      32,
      32,
    )
    const union = (rs: Rle[]) => rs.reduce((p, q) => rleMerge(p, q, 'union'))
    expect(union(back.slice(0, 2).map((r) => polygonToRle({ points: r.geometry.points! }, 32, 32)))).toEqual(
      filled,
    )
    expect(mask).not.toEqual(filled)
    // The polygon (hole dropped) comes back within half a pixel.
    const poly = back[2]!.geometry.points!
    const want = [
      [0.5, 0.5],
      [0.9, 0.5],
      [0.9, 0.9],
      [0.5, 0.9],
    ]
    poly.forEach((p, i) => {
      expect(Math.abs(p[0] - want[i]![0]!) * 32).toBeLessThan(0.5)
      expect(Math.abs(p[1] - want[i]![1]!) * 32).toBeLessThan(0.5)
    })
  })

  it('export.dataset through the API: the result, a tags-only project refused, a non-empty folder refused', async () => {
    const app = new SmallsetApp()
    try {
      const classFolders = path.join(tmp(), 'cf')
      await png(path.join(classFolders, 'train/cat/a.png'))
      await png(path.join(classFolders, 'train/dog/b.png'))
      app.createProject(path.join(tmp(), 'tags'))
      await app.importNow({ paths: [classFolders] })
      const out = path.join(tmp(), 'out')
      const r = await app.dispatch('export.dataset', { format: 'yolo', dir: out })
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.error.message).toMatch(/image tags only.*--format imagefolder/)
      expect(fs.existsSync(out)).toBe(false)

      const root = await tinySet(path.join(tmp(), 'set'))
      app.createProject(path.join(tmp(), 'boxes'))
      await app.importNow({ paths: [root] })
      const ok = await app.dispatch('export.dataset', { format: 'yolo', dir: out, split: 'val' })
      expect(ok.ok).toBe(true)
      const x = (ok as { value: ExportDatasetResult }).value
      expect(x).toMatchObject({ images: 1, annotations: 2, trainCommand: null })
      expect(x.files.sort()).toEqual([
        'data.yaml',
        expect.stringMatching(/^images\/val\/\d+-e\.png$/),
        expect.stringMatching(/^labels\/val\/\d+-e\.txt$/),
      ])
      const again = await app.dispatch('export.dataset', { format: 'yolo', dir: out })
      expect(again.ok).toBe(false)
      if (!again.ok) expect(again.error.message).toMatch(/is not empty/)
    } finally {
      app.close()
    }
  })
})
