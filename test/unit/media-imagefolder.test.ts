/**
 * ImageFolder export (src-main/media/formats/imagefolder.ts).
 *
 * A classification project (class folders with splits, an IDX pair with labels, and an untagged
 * image) is exported as `<split>/<class>/<image>` and imported back through the class-folder
 * importer: the same classes, splits and class per image (matched by their pixels, since raw IDX
 * images come out as PNG files). Unsafe class names (Fashion-MNIST's "T-shirt/top") are written under
 * safe folder names and noted; a project without image tags is refused.
 */
import fs from 'node:fs'
import path from 'node:path'
import { createHash } from 'node:crypto'
import sharp from 'sharp'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ExportDatasetResult } from '../../src-shared/api/exchange'
import { SmallsetApp } from '../../src-main/api/app'
import { recognise } from '../../src-main/media/formats'
import { exportImageFolder, safeFolderName } from '../../src-main/media/formats/imagefolder'
import type { DB } from '../../src-main/store/open'
import { getImageBytes } from '../../src-main/store/repos/images'
import { classNames, doImport, formatTestEnv, png, storedImages, writeFile } from './helpers/formats'
import { idxImages, idxLabels } from './helpers/fixtures'

const env = formatTestEnv('smallset-imagefolder-', { beforeEach, afterEach })
const tmp = () => env.tmp()

/** The decoded pixels of each image (as sRGB: raw IDX greyscale and its PNG alike), hashed, with its split, tag and format. */
async function byPixels(db: DB): Promise<Map<string, { split: string; tag: string | null; format: string }>> {
  const out = new Map<string, { split: string; tag: string | null; format: string }>()
  for (const im of storedImages(db)) {
    const { format } = db.prepare('SELECT format FROM images WHERE id = ?').get(im.id) as { format: string }
    const bytes = getImageBytes(db, im.id)!.bytes
    const img =
      format === 'raw'
        ? sharp(bytes, { raw: { width: im.width, height: im.height, channels: 1 } })
        : sharp(bytes)
    const pixels = await img.toColourspace('srgb').raw().toBuffer()
    const key = createHash('sha256').update(`${im.width}x${im.height}:`).update(pixels).digest('hex')
    out.set(key, { split: im.split, tag: im.tag, format })
  }
  return out
}

/** Class folders with splits (cat, dog), an IDX train pair (zero, one), and one untagged image. */
async function tagsProject(): Promise<DB> {
  const cf = path.join(tmp(), 'cf')
  await png(path.join(cf, 'train/cat/a.png'))
  await png(path.join(cf, 'train/dog/b.png'))
  await png(path.join(cf, 'val/cat/c.png'))
  await png(path.join(cf, 'val/dog/d.png'))
  await png(path.join(cf, 'test/dog/e.png'))
  const idx = path.join(tmp(), 'idx')
  writeFile(path.join(idx, 'train-images-idx3-ubyte'), idxImages(3, 8, 8, 500))
  writeFile(path.join(idx, 'train-labels-idx1-ubyte'), idxLabels([0, 1, 1]))
  const loose = path.join(tmp(), 'loose')
  await png(path.join(loose, 'z.png'))
  const db = env.newProject('tags')
  expect(await doImport(db, { paths: [cf] })).toMatchObject({ added: 5, failed: [] })
  expect(await doImport(db, { paths: [idx], classNames: ['zero', 'one'] })).toMatchObject({
    added: 3,
    failed: [],
  })
  expect(await doImport(db, { paths: [loose], format: 'files' })).toMatchObject({ added: 1, failed: [] })
  return db
}

describe('ImageFolder export', () => {
  it('round trip through the class-folder import: the same classes, splits and class per image; IDX as PNG', async () => {
    const db = await tagsProject()
    const out = path.join(tmp(), 'out')
    const x = await exportImageFolder(db, { dir: out })
    expect(x).toMatchObject({ format: 'imagefolder', dir: out, images: 8, annotations: 8 })
    expect(x.trainCommand).toBe(`yolo classify train data=${out} model=yolo11n-cls.pt`)
    expect(x.notes).toEqual([
      '1 images without a class tag were left out: ImageFolder holds one class per image',
      expect.stringMatching(/^the val split has no images of "zero", "one": /),
      expect.stringMatching(/^the test split has no images of "cat", "zero", "one": /),
    ])
    expect(x.files.map((f) => f.replace(/\/\d+(-[a-z]+)?\.png$/, '$1'))).toEqual([
      'train/cat-a',
      'train/dog-b',
      'train/zero',
      'train/one',
      'train/one',
      'val/cat-c',
      'val/dog-d',
      'test/dog-e',
    ])
    // IDX images are PNG files now.
    for (const f of x.files.filter((f) => /\/(zero|one)\//.test(f))) {
      const meta = await sharp(path.join(out, f)).metadata()
      expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', 8, 8, 1])
    }

    expect(await recognise(out)).toBe('imagefolder')
    const db2 = env.newProject('back')
    expect(await doImport(db2, { paths: [out], format: 'class-folders' })).toMatchObject({
      added: 8,
      failed: [],
    })
    const want = await byPixels(db)
    const got = await byPixels(db2)
    expect(classNames(db2).sort()).toEqual(classNames(db).sort())
    expect(storedImages(db2).every((i) => i.locked === 1)).toBe(true)
    const untagged = [...want].filter(([, v]) => v.tag === null).map(([k]) => k)
    expect(untagged).toHaveLength(1)
    for (const k of untagged) want.delete(k)
    const plain = (m: typeof want) =>
      Object.fromEntries([...m].map(([k, v]) => [k, { split: v.split, tag: v.tag }]))
    expect(plain(got)).toEqual(plain(want))
    expect([...got.values()].every((v) => v.format === 'png')).toBe(true)
    expect([...want.values()].filter((v) => v.format === 'raw')).toHaveLength(3)
  })

  it('unsafe class names get safe folder names (noted); one split; a project without tags is refused', async () => {
    const idx = path.join(tmp(), 'idx')
    writeFile(path.join(idx, 't10k-images-idx3-ubyte'), idxImages(2, 8, 8, 700))
    writeFile(path.join(idx, 't10k-labels-idx1-ubyte'), idxLabels([0, 1]))
    const db = env.newProject('fashion')
    await doImport(db, { paths: [idx], preset: 'fashion-mnist' })
    const out = path.join(tmp(), 'out')
    const x = await exportImageFolder(db, { dir: out, split: 'test' })
    expect(x.files.map((f) => path.dirname(f))).toEqual(['test/T-shirt_top', 'test/Trouser'])
    expect(x.trainCommand).toBeNull()
    expect(x.notes).toEqual([
      'class "T-shirt/top" was written as the folder "T-shirt_top" (not a safe folder name): it reads back as a class of that name',
      'there are no train images, so there is no training command',
    ])
    const db2 = env.newProject('back')
    await doImport(db2, { paths: [out] })
    expect(classNames(db2)).toEqual(['T-shirt_top', 'Trouser'])

    expect(['a/b', '.hidden', 'con', 'ok name', ' x. ', 'Cat'].map(safeFolderName)).toEqual([
      'a_b',
      '_hidden',
      'con_',
      'ok name',
      '_x__',
      'Cat',
    ])

    const app = new SmallsetApp()
    try {
      const lm = path.join(tmp(), 'lm')
      await png(path.join(lm, 'a.png'), 20, 20)
      writeFile(
        path.join(lm, 'a.json'),
        JSON.stringify({
          version: '5.4.1',
          flags: {},
          shapes: [
            {
              label: 'dog',
              points: [
                [1, 1],
                [9, 9],
              ],
              shape_type: 'rectangle',
            },
          ],
          imagePath: 'a.png',
          imageData: null,
          imageHeight: 20,
          imageWidth: 20,
        }),
      )
      app.createProject(path.join(tmp(), 'boxes'))
      await app.importNow({ paths: [lm] })
      const dir = path.join(tmp(), 'out2')
      const r = await app.dispatch('export.dataset', { format: 'imagefolder', dir })
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.error.message).toMatch(/has no image tags: ImageFolder holds one class per image/)
      expect(fs.existsSync(dir)).toBe(false)

      app.createProject(path.join(tmp(), 'tags2'))
      await app.importNow({ paths: [idx], preset: 'fashion-mnist' })
      const ok = await app.dispatch('export.dataset', { format: 'imagefolder', dir })
      expect(ok.ok).toBe(true)
      expect((ok as { value: ExportDatasetResult }).value).toMatchObject({ format: 'imagefolder', images: 2 })
    } finally {
      app.close()
    }
  })
})
