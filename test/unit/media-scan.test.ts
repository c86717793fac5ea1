import fs from 'node:fs'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { scanSources, splitFromName, type ScanItem } from '../../src-main/media/scan'
import { gzip, idxImages, idxLabels, makeTempDir, removeTempDir, writeFile } from './helpers/fixtures'

let root: string
beforeEach(() => {
  root = makeTempDir('smallset-scan-')
})
afterEach(() => removeTempDir(root))

/** Empty files are enough: the scan looks at names only. */
const touch = (...rel: string[]) => writeFile(path.join(root, ...rel), '')
/** The file items as [relative path, split, class], sorted by path (the order is not the point here). */
const files = (items: ScanItem[]) =>
  items
    .filter((i): i is Extract<ScanItem, { kind: 'file' }> => i.kind === 'file')
    .map((i) => [path.relative(root, i.path), i.split, i.className] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))

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

describe('scanSources: class folders', () => {
  it('reads root/split/class/... keeping splits (valid -> val) and classes', async () => {
    touch('train', 'cat', 'a.png')
    touch('train', 'dog', 'b.jpg')
    touch('valid', 'dog', 'c.png')
    touch('test', 'cat', 'd.jpeg')
    const r = await scanSources([root], 'auto')
    expect(r.failures).toEqual([])
    expect(files(r.items)).toEqual([
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
    expect(files(r.items)).toEqual([
      ['cat/a.png', null, 'cat'],
      ['dog/nested/b.png', null, 'dog'],
    ])
  })

  it('gives images loose in a split folder that split and no class', async () => {
    touch('train', 'a.png')
    touch('test', 'b.png')
    const r = await scanSources([root], 'class-folders')
    expect(files(r.items)).toEqual([
      ['test/b.png', 'test', null],
      ['train/a.png', 'train', null],
    ])
  })

  it('in auto mode, treats a folder with loose images as plain files (no classes)', async () => {
    touch('a.png')
    touch('cat', 'b.png')
    const r = await scanSources([root], 'auto')
    expect(files(r.items)).toEqual([
      ['a.png', null, null],
      ['cat/b.png', null, null],
    ])
  })

  it("in 'files' mode never reads classes from folders", async () => {
    touch('train', 'cat', 'a.png')
    const r = await scanSources([root], 'files')
    expect(files(r.items)).toEqual([['train/cat/a.png', null, null]])
  })
})

describe('scanSources: what is found and what is not', () => {
  it('counts non-image files as ignored, skips hidden ones, and reports unsupported image formats', async () => {
    touch('cat', 'a.png')
    touch('cat', 'notes.txt')
    touch('cat', 'labels.csv')
    touch('cat', '.DS_Store')
    touch('.hidden', 'x.png')
    touch('cat', 'old.bmp')
    touch('cat', 'photo.HEIC')
    const r = await scanSources([root], 'auto')
    expect(files(r.items)).toEqual([['cat/a.png', null, 'cat']])
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
    expect(r.items).toEqual([])
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
    expect(r.items).toEqual([{ kind: 'file', path: path.join(root, 'a.png'), split: null, className: null }])
  })

  it('reports a dangling symlink and a symlink to itself by path', async () => {
    touch('ok.png')
    fs.symlinkSync('missing.png', path.join(root, 'x.png'))
    fs.symlinkSync('loop.png', path.join(root, 'loop.png'))
    const r = await scanSources([root], 'auto')
    expect(files(r.items)).toEqual([['ok.png', null, null]])
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
    expect(files(r.items)).toEqual([
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
    expect(r.items).toEqual([
      { kind: 'file', path: path.join(root, 'link.png'), split: null, className: null },
    ])
  })
})

describe('scanSources: IDX', () => {
  it('pairs images with labels by prefix and takes the split from it', async () => {
    writeFile(path.join(root, 'train-images-idx3-ubyte.gz'), gzip(idxImages(1)))
    writeFile(path.join(root, 'train-labels-idx1-ubyte.gz'), gzip(idxLabels([0])))
    writeFile(path.join(root, 't10k-images-idx3-ubyte'), idxImages(1))
    writeFile(path.join(root, 't10k-labels-idx1-ubyte'), idxLabels([0]))
    writeFile(path.join(root, 'extra-images-idx3-ubyte'), idxImages(1))
    writeFile(path.join(root, 'README.md'), 'hi')
    const r = await scanSources([root], 'auto')
    expect(r.failures).toEqual([])
    const idx = r.items.filter((i) => i.kind === 'idx')
    expect(idx).toEqual(
      expect.arrayContaining([
        {
          kind: 'idx',
          images: path.join(root, 'train-images-idx3-ubyte.gz'),
          labels: path.join(root, 'train-labels-idx1-ubyte.gz'),
          split: 'train',
        },
        {
          kind: 'idx',
          images: path.join(root, 't10k-images-idx3-ubyte'),
          labels: path.join(root, 't10k-labels-idx1-ubyte'),
          split: 'test',
        },
        { kind: 'idx', images: path.join(root, 'extra-images-idx3-ubyte'), labels: null, split: null },
      ]),
    )
    expect(idx).toHaveLength(3)
    expect(r.items.filter((i) => i.kind === 'file')).toEqual([])
    expect(r.ignored).toBe(1)
  })

  it('reports a labels file with no images file', async () => {
    const f = writeFile(path.join(root, 'lonely-labels-idx1-ubyte'), idxLabels([1]))
    const r = await scanSources([root], 'auto')
    expect(r.items).toEqual([])
    expect(r.failures).toEqual([
      { path: f, reason: expect.stringMatching(/labels file without a matching images file/) },
    ])
  })

  it("with format 'idx', ignores other files in a folder but reports one given directly", async () => {
    touch('a.png')
    writeFile(path.join(root, 'x-images-idx3-ubyte'), idxImages(1))
    const r = await scanSources([root], 'idx')
    expect(r.items).toEqual([
      { kind: 'idx', images: path.join(root, 'x-images-idx3-ubyte'), labels: null, split: null },
    ])
    expect(r.ignored).toBe(1)
    const r2 = await scanSources([path.join(root, 'a.png')], 'idx')
    expect(r2.items).toEqual([])
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
    expect(r.items).toEqual([{ kind: 'idx', images: imgs, labels: labs, split: 'train' }])
  })
})
