/**
 * labelme JSON in and out (src-main/media/formats/labelme.ts).
 *
 * A tiny labelme folder is written at test time as labelme 5.x writes it (json.dump with indent 2,
 * `version`, `flags`, `shapes` with group_id / description / flags / mask, `imagePath`, `imageData`,
 * `imageHeight`, `imageWidth`): polygons, rectangles (corners in either order), a circle, a mask
 * (labelme ≥ 5.3), a point (reported: not stored), an embedded-image file, a Windows `..\` imagePath
 * in a CRLF + BOM file, a file with no shapes (reviewed) and an image with no JSON (unlabelled),
 * with split folders. Bad files and shapes are report rows naming the file, the element and the
 * reason, and the rest comes in. Export writes the same layout; importing it back gives the same
 * classes, splits, statuses and regions: boxes within 1e-6 (normalised), polygons exactly (those read
 * from labelme polygons) or within 1e-9 (circles), and masks, which labelme export writes as their
 * traced outlines, come back as polygons that rasterise to exactly the mask's pixels.
 */
import fs from 'node:fs'
import path from 'node:path'
import sharp from 'sharp'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { decodeMask, encodeMask, polygonToRle, rleMerge, type Rle } from '../../src-shared/domain/rle'
import type { ExportDatasetResult } from '../../src-shared/api/exchange'
import { SmallsetApp } from '../../src-main/api/app'
import { recognise } from '../../src-main/media/formats'
import { recogniseLabelme, exportLabelme, CIRCLE_VERTICES } from '../../src-main/media/formats/labelme'
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
  type StoredRegion,
} from './helpers/formats'
import { pngBytes } from './helpers/fixtures'

const env = formatTestEnv('smallset-labelme-', { beforeEach, afterEach })
const tmp = () => env.tmp()

type Pt = [number, number]
interface Shape {
  label: string
  points: Pt[]
  shape_type?: string
  mask?: string | null
  group_id?: number | null
}

/** A labelme 5.x file's text, as labelme's json.dump(indent=2) writes it. */
function labelmeJson(
  imagePath: string | null,
  w: number,
  h: number,
  shapes: (Shape | Record<string, unknown>)[],
  imageData: string | null = null,
): string {
  return JSON.stringify(
    {
      version: '5.4.1',
      flags: {},
      shapes: shapes.map((s) => ({
        group_id: null,
        description: '',
        shape_type: 'polygon',
        flags: {},
        mask: null,
        ...s,
      })),
      imagePath,
      imageData,
      imageHeight: h,
      imageWidth: w,
    },
    null,
    2,
  )
}

/** A 5 × 4 mask window (labelme's bool PNG), and the pixels it sets. */
const MASK_BITS = [
  [0, 1, 1, 1, 0],
  [1, 1, 1, 1, 1],
  [1, 1, 1, 1, 1],
  [0, 0, 1, 0, 0],
]
async function maskPng(): Promise<string> {
  const raw = Buffer.from(MASK_BITS.flat())
  return (
    await sharp(raw, { raw: { width: 5, height: 4, channels: 1 } })
      .png()
      .toBuffer()
  ).toString('base64')
}

const POLYGON: Pt[] = [
  [10.5, 4.25],
  [30, 4],
  [20, 25.75],
]
const C_POLYGON: Pt[] = [
  [1, 1],
  [19.5, 2],
  [10, 18],
  [2, 15],
]

/**
 * train/a.json (polygon, reversed rectangle, circle, point), train/b.json (embedded image only),
 * val/c.json (CRLF + BOM, imagePath ..\images\c.png, polygon and mask), test/d.json (no shapes) and
 * test/e.png (no JSON).
 */
async function tinySet(root: string): Promise<string> {
  await png(path.join(root, 'train/a.png'), 40, 30)
  writeFile(
    path.join(root, 'train/a.json'),
    labelmeJson('a.png', 40, 30, [
      { label: 'dog', points: POLYGON },
      {
        label: 'cat',
        points: [
          [30, 20],
          [5, 2],
        ],
        shape_type: 'rectangle',
      },
      {
        label: 'cat',
        points: [
          [20, 15],
          [28, 15],
        ],
        shape_type: 'circle',
      },
      { label: 'dog', points: [[3, 3]], shape_type: 'point' },
    ]),
  )
  const embedded = (await pngBytes(91_001, 20, 20)).toString('base64')
  writeFile(
    path.join(root, 'train/b.json'),
    labelmeJson(
      'b.png',
      20,
      20,
      [
        {
          label: 'bird',
          points: [
            [1, 1],
            [11, 9],
          ],
          shape_type: 'rectangle',
        },
      ],
      embedded,
    ),
  )
  await png(path.join(root, 'images/c.png'), 20, 20)
  const c = labelmeJson('..\\images\\c.png', 20, 20, [
    { label: 'dog', points: C_POLYGON },
    {
      label: 'cat',
      points: [
        [5, 6],
        [9, 9],
      ],
      shape_type: 'mask',
      mask: await maskPng(),
    },
  ])
  writeFile(path.join(root, 'val/c.json'), '\uFEFF' + c.replace(/\n/g, '\r\n'))
  await png(path.join(root, 'test/d.png'), 16, 16)
  writeFile(path.join(root, 'test/d.json'), labelmeJson('d.png', 16, 16, []))
  await png(path.join(root, 'test/e.png'), 16, 16)
  return root
}

const pxOf = (g: StoredRegion, W: number, H: number) => {
  const { x, y, w, h } = g.geometry as Record<'x' | 'y' | 'w' | 'h', number>
  return [x * W, y * H, w * W, h * H].map((v) => Math.round(v * 1e9) / 1e9)
}

describe('labelme import', () => {
  it('reads polygons, rectangles, circles, masks and embedded images; splits from folders; CRLF and BOM', async () => {
    const root = await tinySet(path.join(tmp(), 'lm'))
    expect(await recognise(root)).toBe('labelme')
    expect(await recognise(path.join(root, 'train/a.json'))).toBe('labelme')
    const db = env.newProject()
    const r = await doImport(db, { paths: [root] })
    expect(r).toMatchObject({ added: 5, classesCreated: ['dog', 'cat', 'bird'] })
    expect(r.failed).toEqual([
      {
        path: path.join(root, 'train/a.json'),
        element: 'shapes[3] (dog)',
        reason: expect.stringMatching(/^points are not stored by Smallset/),
      },
    ])
    expect(
      storedImages(db).map((i) => [
        path.relative(root, i.source),
        i.split,
        i.locked,
        i.status,
        `${i.width}x${i.height}`,
      ]),
    ).toEqual([
      ['train/a.png', 'train', 1, 'labeled', '40x30'],
      ['train/b.png', 'train', 1, 'labeled', '20x20'], // the embedded bytes: there is no b.png
      ['images/c.png', 'val', 1, 'labeled', '20x20'],
      ['test/d.png', 'test', 1, 'reviewed', '16x16'],
      ['test/e.png', 'test', 1, 'unlabeled', '16x16'],
    ])
    expect(fs.existsSync(path.join(root, 'train/b.png'))).toBe(false)

    const regs = storedRegions(db)
    expect(regs.map((g) => [path.basename(g.source), g.kind, g.className, g.crowd])).toEqual([
      ['a.png', 'polygon', 'dog', 0],
      ['a.png', 'box', 'cat', 0],
      ['a.png', 'polygon', 'cat', 0],
      ['b.png', 'box', 'bird', 0],
      ['c.png', 'polygon', 'dog', 0],
      ['c.png', 'mask', 'cat', 0],
    ])
    // Pixels → normalised, exactly as divided.
    expect(regs[0]!.geometry.points).toEqual(POLYGON.map(([x, y]) => [x / 40, y / 30]))
    expect(pxOf(regs[1]!, 40, 30)).toEqual([5, 2, 25, 18])
    // The circle: CIRCLE_VERTICES points 8 px from its centre, the first where labelme's second point is.
    const circle = regs[2]!.geometry.points!
    expect(circle).toHaveLength(CIRCLE_VERTICES)
    for (const [x, y] of circle) expect(Math.abs(Math.hypot(x * 40 - 20, y * 30 - 15) - 8)).toBeLessThan(1e-9)
    expect(circle[0]![0] * 40).toBeCloseTo(28, 9)
    expect(circle[0]![1] * 30).toBeCloseTo(15, 9)
    expect(pxOf(regs[3]!, 20, 20)).toEqual([1, 1, 10, 8])
    expect(regs[4]!.geometry.points).toEqual(C_POLYGON.map(([x, y]) => [x / 20, y / 20]))
    // The mask window at (5, 6) of the 20 × 20 image.
    const bits = decodeMask(regs[5]!.geometry.rle!)
    const want = new Uint8Array(400)
    MASK_BITS.forEach((row, y) => row.forEach((v, x) => (want[(6 + y) * 20 + 5 + x] = v)))
    expect([...bits]).toEqual([...want])
  })

  it('a single file imports alone (its folder names the split); COCO files are not labelme', async () => {
    const root = await tinySet(path.join(tmp(), 'lm'))
    const db = env.newProject()
    expect(await doImport(db, { paths: [path.join(root, 'val/c.json')] })).toMatchObject({
      added: 1,
      failed: [],
      classesCreated: ['dog', 'cat'],
    })
    expect(storedImages(db).map((i) => i.split)).toEqual(['val'])

    const coco = path.join(tmp(), 'coco/annotations.json')
    writeFile(
      coco,
      JSON.stringify({ images: [], annotations: [], categories: [], shapes: [], imagePath: 'x.png' }),
    )
    expect(await recogniseLabelme(coco)).toBe(false)
    expect(await recognise(coco)).toBe('coco')
    expect(await recogniseLabelme(path.join(tmp(), 'coco'))).toBe(false)
  })
})

describe('bad labelme input', () => {
  it('reports each bad file and shape with file, element and reason, and imports the rest', async () => {
    const root = path.join(tmp(), 'bad')
    const f = (n: string) => path.join(root, n)
    writeFile(f('x1.json'), '{\n  "shapes": [,]\n}\n')
    writeFile(f('x2.json'), labelmeJson('gone.png', 10, 10, [{ label: 'ghost', points: POLYGON }]))
    writeFile(f('x3.json'), JSON.stringify({ labels: ['not', 'labelme'] }))
    await png(f('x4.png'), 40, 30)
    writeFile(
      f('x4.json'),
      labelmeJson('x4.png', 40, 30, [
        { label: 'ok', points: POLYGON },
        {
          label: 'two',
          points: [
            [1, 1],
            [5, 5],
          ],
        },
        {
          label: 'out',
          points: [
            [1, 1],
            [60, 10],
          ],
          shape_type: 'rectangle',
        },
        { label: 'pt', points: [[3, 3]], shape_type: 'point' },
        {
          label: 'ls',
          points: [
            [1, 1],
            [5, 5],
            [9, 1],
          ],
          shape_type: 'linestrip',
        },
        { label: '', points: POLYGON },
        { label: 'nan', points: [[1, 'one']] },
        {
          label: 'zero',
          points: [
            [5, 5],
            [5, 5],
          ],
          shape_type: 'circle',
        },
        { label: 'cube', points: POLYGON, shape_type: 'cuboid' },
        {
          label: 'flat',
          points: [
            [1, 1],
            [5, 5],
            [9, 9],
          ],
        },
        {
          label: 'three',
          points: [
            [1, 1],
            [5, 5],
            [9, 9],
          ],
          shape_type: 'rectangle',
        },
        {
          label: 'nomask',
          points: [
            [1, 1],
            [4, 4],
          ] as Pt[],
          shape_type: 'mask',
        },
      ]),
    )
    writeFile(f('x5.json'), labelmeJson(null, 10, 10, [], 'not base64!!'))
    writeFile(f('x6.json'), JSON.stringify({ shapes: [], imagePath: '', imageData: null }))
    await png(f('x7.png'), 40, 30)
    writeFile(
      f('x7.json'),
      labelmeJson('x7.png', 80, 60, [
        {
          label: 'big',
          points: [
            [50, 40],
            [70, 40],
            [70, 55],
          ],
        },
      ]),
    )
    const db = env.newProject()
    const r = await doImport(db, { paths: [root], format: 'labelme' })
    expect(r.added).toBe(2)
    const rows = r.failed.map((x) => [path.relative(root, x.path), x.element, x.reason])
    expect(rows).toEqual([
      ['x1.json', undefined, expect.stringMatching(/^malformed JSON: /)],
      [
        'x3.json',
        undefined,
        'not a labelme file: it needs a "shapes" list and an "imagePath" or "imageData"',
      ],
      ['x6.json', undefined, 'it names no image: "imagePath" is empty and there is no "imageData"'],
      ['gone.png', 'image gone.png (x2.json)', expect.stringMatching(/image file not found/)],
      ['x4.json', 'shapes[1] (two)', 'polygon has fewer than 3 points (2)'],
      [
        'x4.json',
        'shapes[2] (out)',
        'rectangle has a point (60, 10) outside the 40×30 image (by more than 1 px)',
      ],
      ['x4.json', 'shapes[3] (pt)', expect.stringMatching(/^points are not stored by Smallset/)],
      ['x4.json', 'shapes[4] (ls)', expect.stringMatching(/^linestrip shapes are not stored by Smallset/)],
      ['x4.json', 'shapes[5]', 'shape has no label'],
      ['x4.json', 'shapes[6] (nan)', 'points must be a list of [x, y] pairs of numbers'],
      ['x4.json', 'shapes[7] (zero)', 'circle has no radius: its two points are the same'],
      [
        'x4.json',
        'shapes[8] (cube)',
        expect.stringMatching(/^shape_type "cuboid" is not one Smallset reads/),
      ],
      ['x4.json', 'shapes[9] (flat)', expect.stringMatching(/polygon has no area/)],
      ['x4.json', 'shapes[10] (three)', 'rectangle needs 2 corner points, not 3'],
      ['x4.json', 'shapes[11] (nomask)', 'mask shape has no "mask" image'],
      ['x5.json', 'image (embedded) (x5.json)', 'embedded image unreadable: "imageData" is not base64'],
      [
        'x7.png',
        'image x7.png (x7.json)',
        expect.stringMatching(
          /^the source says the image is 80×60, but the file is 40×30, and its annotations do not fit/,
        ),
      ],
    ])
    expect(storedRegions(db).map((g) => g.className)).toEqual(['ok'])
  })
})

/** A project with every region kind: a two-part mask with a hole, a polygon with a hole, a crowd box. */
async function richProject() {
  const root = await tinySet(path.join(tmp(), 'lm'))
  const db = env.newProject('rich')
  await doImport(db, { paths: [root] })
  const e = storedImages(db).find((i) => i.source.endsWith('e.png'))!
  const [dog, cat] = listClasses(db).map((c) => c.id)
  const data = new Uint8Array(16 * 16)
  for (let y = 1; y < 7; y++) for (let x = 1; x < 7; x++) data[y * 16 + x] = x === 3 && y === 3 ? 0 : 1
  for (let y = 10; y < 14; y++) for (let x = 10; x < 15; x++) data[y * 16 + x] = 1
  const mask = encodeMask(data, 16, 16)
  const props = { z: 0, hidden: false, locked: false, id: null }
  saveAnnotations(db, {
    imageId: e.id,
    deletes: [],
    puts: [
      { key: 'm', kind: 'mask', geometry: { rle: mask }, classId: cat!, ...props },
      {
        key: 'h',
        kind: 'polygon',
        geometry: {
          points: [
            [0.5, 0.0625],
            [0.9375, 0.0625],
            [0.9375, 0.5],
            [0.5, 0.5],
          ],
          holes: [
            [
              [0.625, 0.125],
              [0.75, 0.125],
              [0.75, 0.25],
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
  db.prepare("UPDATE annotations SET crowd = 1 WHERE kind = 'box' AND image_id = ?").run(e.id)
  return { db, mask, e }
}

const readJson = (file: string) =>
  JSON.parse(fs.readFileSync(file, 'utf8')) as {
    shapes: { label: string; points: Pt[]; shape_type: string; group_id: number | null }[]
  } & Record<string, unknown>

const union = (rs: Rle[]) => rs.reduce((p, q) => rleMerge(p, q, 'union'))

describe('labelme export', () => {
  it('round trip: imported, exported and imported again gives the same classes, splits, statuses and regions', async () => {
    const root = await tinySet(path.join(tmp(), 'lm'))
    const db = env.newProject()
    await doImport(db, { paths: [root] })
    const out = path.join(tmp(), 'out')
    const x = await exportLabelme(db, { dir: out })
    expect(x).toMatchObject({ format: 'labelme', images: 5, annotations: 6, trainCommand: null })
    expect(x.notes).toEqual(['1 masks were written as polygons (their traced outlines)'])
    // Each image and its JSON side by side in its split's folder; the unlabelled image has no JSON.
    expect(x.files).toEqual([
      expect.stringMatching(/^train\/\d+-a\.png$/),
      expect.stringMatching(/^train\/\d+-a\.json$/),
      expect.stringMatching(/^train\/\d+-b\.png$/),
      expect.stringMatching(/^train\/\d+-b\.json$/),
      expect.stringMatching(/^val\/\d+-c\.png$/),
      expect.stringMatching(/^val\/\d+-c\.json$/),
      expect.stringMatching(/^test\/\d+-d\.png$/),
      expect.stringMatching(/^test\/\d+-d\.json$/),
      expect.stringMatching(/^test\/\d+-e\.png$/),
    ])
    const a = readJson(path.join(out, x.files[1]!))
    expect(a).toMatchObject({
      version: expect.stringMatching(/^5\./),
      flags: {},
      imagePath: path.basename(x.files[0]!),
      imageData: null,
      imageHeight: 30,
      imageWidth: 40,
    })
    // The labelme polygon's pixel coordinates come back as they were written; the rectangle as two corners.
    expect(a.shapes.map((s) => [s.label, s.shape_type])).toEqual([
      ['dog', 'polygon'],
      ['cat', 'rectangle'],
      ['cat', 'polygon'],
    ])
    expect(a.shapes[0]!.points).toEqual(POLYGON)
    expect(a.shapes[1]!.points).toEqual([
      [5, 2],
      [30, 20],
    ])
    expect(Object.keys(a.shapes[0]!).sort()).toEqual(
      ['description', 'flags', 'group_id', 'label', 'mask', 'points', 'shape_type'].sort(),
    )
    expect(readJson(path.join(out, x.files[7]!)).shapes).toEqual([])

    const db2 = env.newProject('back')
    expect(await recognise(out)).toBe('labelme')
    expect(await doImport(db2, { paths: [out] })).toMatchObject({ added: 5, failed: [] })
    expect(classNames(db2).sort()).toEqual(classNames(db).sort())
    const key = (i: { hash: string; split: string; status: string }) => `${i.hash}|${i.split}|${i.status}`
    expect(storedImages(db2).map(key).sort()).toEqual(storedImages(db).map(key).sort())

    const before = storedRegions(db)
    const after = storedRegions(db2)
    // Boxes within 1e-6; polygons, point for point, within 1e-9 (circles) or exactly (labelme polygons).
    expectSameRegions(
      before.filter((r) => r.kind !== 'mask'),
      after.filter((r) => !(r.hash === before[5]!.hash && r.className === 'cat')),
      1e-6,
      expect,
    )
    const polys = (rs: StoredRegion[]) => rs.filter((r) => r.kind === 'polygon' && r.className === 'dog')
    expect(polys(after).map((r) => r.geometry.points)).toEqual(polys(before).map((r) => r.geometry.points))
    const circleBack = after.find((r) => r.kind === 'polygon' && r.className === 'cat')!.geometry.points!
    before[2]!.geometry.points!.forEach((p, i) => {
      expect(Math.abs(p[0] - circleBack[i]![0])).toBeLessThan(1e-9)
      expect(Math.abs(p[1] - circleBack[i]![1])).toBeLessThan(1e-9)
    })
    // The mask came back as its outline, a polygon that rasterises to exactly its pixels.
    const maskBack = after.filter((r) => r.hash === before[5]!.hash && r.className === 'cat')
    expect(maskBack.map((r) => r.kind)).toEqual(['polygon'])
    expect(polygonToRle({ points: maskBack[0]!.geometry.points! }, 20, 20)).toEqual(before[5]!.geometry.rle)
  })

  it('masks become polygons with the same pixels (parts share a group_id); holes and crowds are noted', async () => {
    const { db, mask, e } = await richProject()
    const out = path.join(tmp(), 'out')
    const x = await exportLabelme(db, { dir: out })
    expect(x.notes.sort()).toEqual([
      '1 crowd regions were left out: labelme has no crowd flag',
      '1 masks of several parts were written as one polygon per part, sharing a group_id',
      '1 masks with holes were written as their outer outlines: labelme has no holes',
      '1 polygons with holes were written as their outer outline: labelme has no holes',
      '2 masks were written as polygons (their traced outlines)',
    ])
    const eJson = x.files.find((f) => /\d+-e\.json$/.test(f))!
    const shapes = readJson(path.join(out, eJson)).shapes
    expect(shapes.map((s) => [s.label, s.shape_type, s.group_id])).toEqual([
      ['cat', 'polygon', 1],
      ['cat', 'polygon', 1],
      ['dog', 'polygon', null],
    ])
    // The polygon's outline, in pixels of the 16 × 16 image.
    expect(shapes[2]!.points).toEqual([
      [8, 1],
      [15, 1],
      [15, 8],
      [8, 8],
    ])
    const db2 = env.newProject('back')
    expect(await doImport(db2, { paths: [out] })).toMatchObject({ added: 5, failed: [] })
    const back = storedRegions(db2).filter((r) => r.hash === e.hash)
    expect(back.map((r) => [r.kind, r.className])).toEqual([
      ['polygon', 'cat'],
      ['polygon', 'cat'],
      ['polygon', 'dog'],
    ])
    // The two parts, rasterised, give back the mask less its one-pixel hole.
    const filled = (() => {
      const d = new Uint8Array(16 * 16)
      for (let y = 1; y < 7; y++) for (let xx = 1; xx < 7; xx++) d[y * 16 + xx] = 1
      for (let y = 10; y < 14; y++) for (let xx = 10; xx < 15; xx++) d[y * 16 + xx] = 1
      return encodeMask(d, 16, 16)
    })()
    expect(union(back.slice(0, 2).map((r) => polygonToRle({ points: r.geometry.points! }, 16, 16)))).toEqual(
      filled,
    )
    expect(mask).not.toEqual(filled)
  })

  it('export.dataset through the API: one split, a tags-only project refused', async () => {
    const app = new SmallsetApp()
    try {
      const cf = path.join(tmp(), 'cf')
      await png(path.join(cf, 'train/cat/a.png'))
      app.createProject(path.join(tmp(), 'tags'))
      await app.importNow({ paths: [cf] })
      const out = path.join(tmp(), 'out')
      const r = await app.dispatch('export.dataset', { format: 'labelme', dir: out })
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.error.message).toMatch(/tags only.*--format imagefolder/)
      expect(fs.existsSync(out)).toBe(false)

      const root = await tinySet(path.join(tmp(), 'lm'))
      app.createProject(path.join(tmp(), 'regions'))
      await app.importNow({ paths: [root] })
      const ok = await app.dispatch('export.dataset', { format: 'labelme', dir: out, split: 'val' })
      expect(ok.ok).toBe(true)
      const x = (ok as { value: ExportDatasetResult }).value
      expect(x).toMatchObject({ format: 'labelme', images: 1, annotations: 2 })
      expect(x.files).toEqual([
        expect.stringMatching(/^val\/\d+-c\.png$/),
        expect.stringMatching(/^val\/\d+-c\.json$/),
      ])
    } finally {
      app.close()
    }
  })
})
