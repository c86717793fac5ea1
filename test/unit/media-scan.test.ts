import fs from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { scanSources } from '../../src-main/media/formats'
import { splitFromName } from '../../src-main/media/formats/common'
import type { ImportUnit } from '../../src-main/media/formats/types'
import { gzip, idxImages, idxLabels, makeTempDir, removeTempDir, writeFile } from './helpers/fixtures'

let root: string
beforeEach(() => {
  root = makeTempDir('smallset-scan-')
})
afterEach(() => removeTempDir(root))

/** Empty files are enough: the scan looks at names only. */
const touch = (...rel: string[]) => writeFile(path.join(root, ...rel), '')
/** The image-file units as [relative path, split, class], sorted by path (the order is not the point here). */
const files = (units: ImportUnit[]) =>
  units
    .filter((u) => !u.raw)
    .map((u) => [path.relative(root, u.file), u.split, u.className ?? null] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))

/** The IDX units, per images file: how many, their split and their classes. */
const idxSets = (units: ImportUnit[]) => {
  const sets = new Map<string, { images: string; n: number; split: unknown; classes: (string | null)[] }>()
  for (const u of units.filter((u) => u.raw)) {
    const images = u.file.slice(0, u.file.lastIndexOf('#'))
    const s = sets.get(images) ?? { images, n: 0, split: u.split, classes: [] }
    s.n++
    s.classes.push(u.className ?? null)
    sets.set(images, s)
  }
  return [...sets.values()]
}

describe('splitFromName', () => {
  it.each([
    ['train', 'train'],
    ['Training', 'train'],
    ['val', 'val'],
    ['valid', 'val'],
    ['VALIDATION', 'val'],
    ['dev', 'val'],
    ['test', 'test'],
    ['testing', 'test'],
    ['t10k', 'test'],
    ['cat', null],
    ['trains', null],
    ['', null],
  ])('%j -> %j', (name, split) => {
    expect(splitFromName(name)).toBe(split)
  })
})

describe('scanSources (the format registry): class folders', () => {
  it('reads root/split/class/... keeping splits (valid -> val) and classes', async () => {
    touch('train', 'cat', 'a.png')
    touch('train', 'dog', 'b.jpg')
    touch('valid', 'dog', 'c.png')
    touch('test', 'cat', 'd.jpeg')
    const r = await scanSources([root], 'auto')
    expect(r.failures).toEqual([])
    expect(files(r.units)).toEqual([
      ['test/cat/d.jpeg', 'test', 'cat'],
      ['train/cat/a.png', 'train', 'cat'],
      ['train/dog/b.jpg', 'train', 'dog'],
      ['valid/dog/c.png', 'val', 'dog'],
    ])
  })

  it('reads root/class/... with no split (split left for later)', async () => {
    touch('cat', 'a.png')
    touch('dog', 'nested', 'b.png')
    const r = await scanSources([root], 'auto')
    expect(files(r.units)).toEqual([
      ['cat/a.png', null, 'cat'],
      ['dog/nested/b.png', null, 'dog'],
    ])
  })

  it('gives images loose in a split folder that split and no class', async () => {
    touch('train', 'a.png')
    touch('test', 'b.png')
    const r = await scanSources([root], 'class-folders')
    expect(files(r.units)).toEqual([
      ['test/b.png', 'test', null],
      ['train/a.png', 'train', null],
    ])
  })

  it('in auto mode, treats a folder with loose images as plain files (no classes)', async () => {
    touch('a.png')
    touch('cat', 'b.png')
    const r = await scanSources([root], 'auto')
    expect(files(r.units)).toEqual([
      ['a.png', null, null],
      ['cat/b.png', null, null],
    ])
  })

  it("in 'files' mode never reads classes from folders", async () => {
    touch('train', 'cat', 'a.png')
    const r = await scanSources([root], 'files')
    expect(files(r.units)).toEqual([['train/cat/a.png', null, null]])
  })
})

describe('scanSources (the format registry): what is found and what is not', () => {
  it('counts non-image files as ignored, skips hidden ones, and reports unsupported image formats', async () => {
    touch('cat', 'a.png')
    touch('cat', 'notes.txt')
    touch('cat', 'labels.csv')
    touch('cat', '.DS_Store')
    touch('.hidden', 'x.png')
    touch('cat', 'old.bmp')
    touch('cat', 'photo.HEIC')
    const r = await scanSources([root], 'auto')
    expect(files(r.units)).toEqual([['cat/a.png', null, 'cat']])
    expect(r.ignored).toBe(2)
    expect(r.failures).toEqual([
      { path: path.join(root, 'cat', 'old.bmp'), reason: 'unsupported format: .bmp' },
      { path: path.join(root, 'cat', 'photo.HEIC'), reason: 'unsupported format: .HEIC' },
    ])
  })

  it('reports a non-image file given directly (rather than ignoring it)', async () => {
    const f = touch('notes.txt')
    const g = touch('README')
    const r = await scanSources([f, g], 'auto')
    expect(r.units).toEqual([])
    expect(r.failures).toEqual([
      { path: f, reason: 'unsupported format: .txt' },
      { path: g, reason: 'unsupported format: no extension' },
    ])
  })

  it('reports a path that does not exist', async () => {
    const missing = path.join(root, 'nope')
    const r = await scanSources([missing], 'auto')
    expect(r.failures).toEqual([{ path: missing, reason: expect.stringMatching(/not found/) }])
  })

  it('resolves relative paths against the working folder', async () => {
    touch('a.png')
    const rel = path.relative(process.cwd(), path.join(root, 'a.png'))
    const r = await scanSources([rel], 'auto')
    expect(files(r.units)).toEqual([['a.png', null, null]])
    expect(r.units[0]!.file).toBe(path.join(root, 'a.png'))
  })

  it('reports a dangling symlink and a symlink to itself by path', async () => {
    touch('ok.png')
    fs.symlinkSync('missing.png', path.join(root, 'x.png'))
    fs.symlinkSync('loop.png', path.join(root, 'loop.png'))
    const r = await scanSources([root], 'auto')
    expect(files(r.units)).toEqual([['ok.png', null, null]])
    expect(r.failures).toEqual([
      { path: path.join(root, 'loop.png'), reason: expect.stringMatching(/symlink loop/) },
      { path: path.join(root, 'x.png'), reason: expect.stringMatching(/not found|broken symlink/) },
    ])
  })

  it('follows a folder symlink back to its parent once, and reports the loop', async () => {
    touch('a.png')
    touch('sub', 'b.png')
    fs.symlinkSync('..', path.join(root, 'sub', 'up'))
    fs.symlinkSync('.', path.join(root, 'self'))
    const r = await scanSources([root], 'auto')
    expect(files(r.units)).toEqual([
      ['a.png', null, null],
      ['sub/b.png', null, null],
    ])
    expect(r.failures).toEqual([
      { path: path.join(root, 'self'), reason: expect.stringMatching(/symlink loop/) },
      { path: path.join(root, 'sub', 'up'), reason: expect.stringMatching(/symlink loop/) },
    ])
  })

  it('follows a symlink to an image file', async () => {
    const target = touch('real', 'a.png')
    fs.symlinkSync(target, path.join(root, 'link.png'))
    const r = await scanSources([path.join(root, 'link.png')], 'auto')
    expect(r.units.map((u) => [u.file, u.split, u.className])).toEqual([
      [path.join(root, 'link.png'), null, null],
    ])
  })
})

describe('scanSources (the format registry): IDX', () => {
  it('pairs images with labels by prefix and takes the split from it', async () => {
    writeFile(path.join(root, 'train-images-idx3-ubyte.gz'), gzip(idxImages(2)))
    writeFile(path.join(root, 'train-labels-idx1-ubyte.gz'), gzip(idxLabels([1, 0])))
    writeFile(path.join(root, 't10k-images-idx3-ubyte'), idxImages(1))
    writeFile(path.join(root, 't10k-labels-idx1-ubyte'), idxLabels([2]))
    writeFile(path.join(root, 'extra-images-idx3-ubyte'), idxImages(1))
    writeFile(path.join(root, 'README.md'), 'hi')
    const r = await scanSources([root], 'auto')
    expect(r.failures).toEqual([])
    expect(idxSets(r.units)).toEqual(
      expect.arrayContaining([
        { images: path.join(root, 'train-images-idx3-ubyte.gz'), n: 2, split: 'train', classes: ['1', '0'] },
        { images: path.join(root, 't10k-images-idx3-ubyte'), n: 1, split: 'test', classes: ['2'] },
        { images: path.join(root, 'extra-images-idx3-ubyte'), n: 1, split: null, classes: [null] },
      ]),
    )
    expect(idxSets(r.units)).toHaveLength(3)
    expect(files(r.units)).toEqual([])
    expect(r.ignored).toBe(1)
    // Classes in label order, whichever file holds them.
    expect(r.classes).toEqual(['0', '1', '2'])
    // train, then test, then unsplit.
    expect(r.units.map((u) => u.split)).toEqual(['train', 'train', 'test', null])
  })

  it('names labels with the class names given, and reads each unit as its raw pixels', async () => {
    const imgs = writeFile(path.join(root, 'train-images-idx3-ubyte'), idxImages(2))
    writeFile(path.join(root, 'train-labels-idx1-ubyte'), idxLabels([1, 0]))
    const r = await scanSources([root], 'auto', { classNames: ['cat', 'dog'] })
    expect(r.classes).toEqual(['cat', 'dog'])
    expect(r.units.map((u) => [u.file, u.className])).toEqual([
      [`${imgs}#0`, 'dog'],
      [`${imgs}#1`, 'cat'],
    ])
    const raw = r.units[0]!.raw!
    const pixels = await r.units[1]!.read!()
    expect(pixels.length).toBe(raw.width * raw.height * raw.channels)
  })

  it('reports a labels file with no images file', async () => {
    const f = writeFile(path.join(root, 'lonely-labels-idx1-ubyte'), idxLabels([1]))
    const r = await scanSources([root], 'auto')
    expect(r.units).toEqual([])
    expect(r.failures).toEqual([
      { path: f, reason: expect.stringMatching(/labels file without a matching images file/) },
    ])
  })

  it('reports a pair whose counts disagree, naming the labels file', async () => {
    writeFile(path.join(root, 'train-images-idx3-ubyte'), idxImages(2))
    const labs = writeFile(path.join(root, 'train-labels-idx1-ubyte'), idxLabels([0]))
    const r = await scanSources([root], 'idx')
    expect(r.units).toEqual([])
    expect(r.failures).toEqual([{ path: labs, reason: expect.stringMatching(/1 labels for 2 images/) }])
  })

  it("with format 'idx', ignores other files in a folder but reports one given directly", async () => {
    touch('a.png')
    writeFile(path.join(root, 'x-images-idx3-ubyte'), idxImages(1))
    const r = await scanSources([root], 'idx')
    expect(idxSets(r.units)).toEqual([
      { images: path.join(root, 'x-images-idx3-ubyte'), n: 1, split: null, classes: [null] },
    ])
    expect(r.ignored).toBe(1)
    const r2 = await scanSources([path.join(root, 'a.png')], 'idx')
    expect(r2.units).toEqual([])
    expect(r2.failures).toEqual([
      { path: path.join(root, 'a.png'), reason: expect.stringMatching(/not an IDX file/) },
    ])
  })

  // IDX pairs are matched across every path given, e.g. two files picked in a dialog.
  it('pairs an IDX images file and labels file given as two separate paths', async () => {
    const imgs = writeFile(path.join(root, 'train-images-idx3-ubyte.gz'), gzip(idxImages(2)))
    const labs = writeFile(path.join(root, 'train-labels-idx1-ubyte.gz'), gzip(idxLabels([0, 1])))
    const r = await scanSources([imgs, labs], 'auto')
    expect(r.failures).toEqual([])
    expect(idxSets(r.units)).toEqual([{ images: imgs, n: 2, split: 'train', classes: ['0', '1'] }])
  })

  it('sends each path to its own format: an IDX pair, a class folder and a COCO file in one import', async () => {
    writeFile(path.join(root, 'idx', 'train-images-idx3-ubyte'), idxImages(1))
    writeFile(path.join(root, 'idx', 'train-labels-idx1-ubyte'), idxLabels([0]))
    touch('folders', 'cat', 'a.png')
    writeFile(
      path.join(root, 'coco.json'),
      JSON.stringify({
        images: [{ id: 7, file_name: 'x.png', width: 8, height: 8 }],
        annotations: [{ id: 1, image_id: 7, category_id: 1, bbox: [1, 1, 4, 4], area: 16, iscrowd: 0 }],
        categories: [{ id: 1, name: 'box' }],
      }),
    )
    const r = await scanSources(
      [
        path.join(root, 'idx', 'train-images-idx3-ubyte'),
        path.join(root, 'folders'),
        path.join(root, 'coco.json'),
        path.join(root, 'idx', 'train-labels-idx1-ubyte'),
      ],
      'auto',
    )
    expect(r.failures).toEqual([])
    expect(idxSets(r.units)).toHaveLength(1)
    expect(files(r.units)).toEqual([
      ['folders/cat/a.png', null, 'cat'],
      ['x.png', null, null],
    ])
    expect(r.units.filter((u) => u.annotationCount === 1).map((u) => path.basename(u.file))).toEqual([
      'x.png',
    ])
    expect(r.classes).toEqual(['0', 'cat', 'box'])
  })
})
