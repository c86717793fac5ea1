import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IdxError, idxNameParts, isIdxName, parseIdx, readIdx } from '../../src-main/media/formats/idx'
import {
  gzip,
  idxBytes,
  idxImages,
  idxLabels,
  makeTempDir,
  removeTempDir,
  writeFile,
} from './helpers/fixtures'

function idxError(fn: () => unknown): IdxError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(IdxError)
    return e as IdxError
  }
  throw new Error('expected an IdxError')
}

describe('parseIdx', () => {
  const data = Buffer.from(Array.from({ length: 2 * 3 * 4 }, (_, i) => i))
  const raw = idxBytes([2, 3, 4], data)

  it('parses raw IDX: dimensions and data', () => {
    const a = parseIdx(raw)
    expect(a.dims).toEqual([2, 3, 4])
    expect(Buffer.from(a.data).equals(data)).toBe(true)
  })

  it('parses gzipped IDX the same', () => {
    const a = parseIdx(gzip(raw))
    expect(a.dims).toEqual([2, 3, 4])
    expect(Buffer.from(a.data).equals(data)).toBe(true)
  })

  it('parses 1-D labels and 4-D (colour) images', () => {
    expect(parseIdx(idxLabels([3, 1, 4])).dims).toEqual([3])
    expect(parseIdx(idxBytes([1, 2, 2, 3], Buffer.alloc(12))).dims).toEqual([1, 2, 2, 3])
  })

  it('accepts zero items', () => {
    expect(parseIdx(idxBytes([0, 28, 28], Buffer.alloc(0)))).toEqual({
      dims: [0, 28, 28],
      data: Buffer.alloc(0),
    })
  })

  for (const [label, wrap] of [
    ['raw', (b: Buffer) => b],
    ['gzipped', gzip],
  ] as const) {
    it(`refuses ${label} IDX with more data than the header says`, () => {
      const e = idxError(() => parseIdx(wrap(idxBytes([2, 3, 4], data, 5))))
      expect(e.message).toMatch(/header and length disagree/)
      expect(e.message).toContain('2×3×4')
      expect(e.message).toContain('need 24')
      expect(e.message).toContain('has 29')
    })

    it(`refuses ${label} IDX with less data than the header says (cut short)`, () => {
      const e = idxError(() => parseIdx(wrap(idxBytes([2, 3, 4], data, -10))))
      expect(e.message).toMatch(/header and length disagree/)
      expect(e.message).toContain('has 14')
    })
  }

  it('refuses a huge declared size without allocating it', () => {
    const e = idxError(() => parseIdx(idxBytes([60000, 28, 28], Buffer.alloc(100))))
    expect(e.message).toMatch(/need 47040000 data bytes, the file has 100/)
  })

  it('refuses a bad magic number', () => {
    const bad = Buffer.from(raw)
    bad[0] = 0x42
    expect(idxError(() => parseIdx(bad)).message).toMatch(/bad magic/)
    expect(idxError(() => parseIdx(Buffer.from('hello world, not idx'))).message).toMatch(/bad magic/)
  })

  it('refuses data types other than unsigned bytes', () => {
    const f = Buffer.from(raw)
    f[2] = 0x0d // float
    expect(idxError(() => parseIdx(f)).message).toMatch(/unsupported IDX data type 0xd/)
  })

  it('refuses 0 or more than 4 dimensions', () => {
    expect(idxError(() => parseIdx(Buffer.from([0, 0, 8, 0]))).message).toMatch(/number of dimensions: 0/)
    expect(idxError(() => parseIdx(Buffer.from([0, 0, 8, 5, ...new Array(20).fill(0)]))).message).toMatch(
      /number of dimensions: 5/,
    )
  })

  it('refuses input too short for a header', () => {
    expect(idxError(() => parseIdx(Buffer.alloc(0))).message).toMatch(/too short/)
    expect(idxError(() => parseIdx(Buffer.from([0, 0, 8]))).message).toMatch(/too short/)
    expect(idxError(() => parseIdx(Buffer.from([0, 0, 8, 3, 0, 0, 0, 1]))).message).toMatch(
      /header is cut short: 8 of 16/,
    )
  })

  it('refuses corrupt gzip data', () => {
    const gz = gzip(raw)
    const cut = gz.subarray(0, gz.length - 12)
    expect(idxError(() => parseIdx(cut)).message).toMatch(/corrupt gzip/)
    expect(idxError(() => parseIdx(Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8]))).message).toMatch(
      /corrupt gzip/,
    )
  })
})

describe('readIdx', () => {
  let dir: string
  beforeAll(() => {
    dir = makeTempDir()
  })
  afterAll(() => removeTempDir(dir))

  it('reads a file', async () => {
    const f = writeFile(path.join(dir, 'ok-images-idx3-ubyte.gz'), gzip(idxImages(3, 4, 5)))
    const a = await readIdx(f)
    expect(a.dims).toEqual([3, 4, 5])
  })

  it('names the file in every error', async () => {
    const f = writeFile(path.join(dir, 'bad-images-idx3-ubyte'), idxBytes([2, 2, 2], Buffer.alloc(3)))
    await expect(readIdx(f)).rejects.toMatchObject({
      path: f,
      message: expect.stringMatching(/header and length disagree/),
    })
    const missing = path.join(dir, 'missing-images-idx3-ubyte')
    const e = await readIdx(missing).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(IdxError)
    expect(e).toMatchObject({ path: missing, message: expect.stringMatching(/^file not found/) })
  })

  it('parses the shipped demo seed (300 Fashion-MNIST images with labels 0..9)', async () => {
    const demo = path.resolve(__dirname, '../../resources/demo')
    const imgs = path.join(demo, 'demo-images-idx3-ubyte.gz')
    const labs = path.join(demo, 'demo-labels-idx1-ubyte.gz')
    if (!fs.existsSync(imgs)) return // the seed is a resource, not this test's concern
    const images = await readIdx(imgs)
    const labels = await readIdx(labs)
    expect(images.dims).toEqual([300, 28, 28])
    expect(labels.dims).toEqual([300])
    expect(Math.max(...labels.data)).toBeLessThanOrEqual(9)
  })
})

describe('idxNameParts / isIdxName', () => {
  it.each([
    ['train-images-idx3-ubyte.gz', 'train', 'images'],
    ['train-labels-idx1-ubyte.gz', 'train', 'labels'],
    ['t10k-images-idx3-ubyte', 't10k', 'images'],
    ['t10k-labels.idx1-ubyte', 't10k', 'labels'],
    ['TRAIN-Images-IDX3-UBYTE.GZ', 'train', 'images'],
    ['demo_images_idx3_ubyte.gz', 'demo', 'images'],
    ['my.data-images-idx3-ubyte', 'my.data', 'images'],
    ['images-idx3-ubyte', '', 'images'],
    ['fashion-train-images.idx3.ubyte', 'fashion-train', 'images'],
  ])('%s -> prefix %j, %s', (name, prefix, kind) => {
    expect(idxNameParts(name)).toEqual({ prefix, kind })
    expect(isIdxName(name)).toBe(true)
  })

  it.each([
    'cat.png',
    'train-images.png',
    'images-idx3-ubyte.zip',
    'train-images-idx5-ubyte',
    'labels.txt',
    'README',
  ])('%s is not an IDX name', (name) => {
    expect(idxNameParts(name)).toBeNull()
    expect(isIdxName(name)).toBe(false)
  })

  it('recognises plain .idx files without an images/labels part', () => {
    for (const n of ['data.idx', 'data.idx3', 'data.idx1.gz', 'DATA.IDX']) {
      expect(idxNameParts(n)).toBeNull()
      expect(isIdxName(n)).toBe(true)
    }
  })
})
