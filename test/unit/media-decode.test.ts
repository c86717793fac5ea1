import crypto from 'node:crypto'
import zlib from 'node:zlib'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import {
  DecodeError,
  decodeImage,
  displayable,
  displayableThumb,
  MAX_OWN_THUMB_BYTES,
  MAX_PIXELS,
  RAW_FORMAT,
  THUMB_SIZE,
} from '../../src-main/media/decode'
import { bmpBytes, bombPng, jpegBytes, noisePixels, pngBytes, pngChunk } from './helpers/fixtures'

/** A real `width`×`height` PNG carrying about 5 MB of metadata in one text chunk, right after IHDR. */
async function fatPng(chunk: 'tEXt' | 'zTXt', width = 4, height = 4): Promise<Buffer> {
  const png = await pngBytes(21, width, height)
  const data =
    chunk === 'tEXt'
      ? Buffer.concat([Buffer.from('Comment\0'), Buffer.from(crypto.randomBytes(5 << 19).toString('hex'))])
      : // Random bytes do not compress: the chunk stays about 5 MB.
        Buffer.concat([Buffer.from('Comment\0\0'), zlib.deflateSync(crypto.randomBytes(5 << 20))])
  // Signature (8) and IHDR (25): the text chunk goes next.
  return Buffer.concat([png.subarray(0, 33), pngChunk(chunk, data), png.subarray(33)])
}

async function decodeFails(bytes: Buffer): Promise<string> {
  const e = await decodeImage(bytes).then(
    () => null,
    (x: unknown) => x,
  )
  expect(e).toBeInstanceOf(DecodeError)
  return (e as Error).message
}

describe('decodeImage', () => {
  it('reads a small PNG, which serves as its own thumbnail', async () => {
    const d = await decodeImage(await pngBytes(1, 12, 10))
    expect(d).toEqual({ width: 12, height: 10, channels: 3, format: 'png', thumb: null })
  })

  it('makes a lossless PNG thumbnail at its own size for a small image browsers cannot show (TIFF)', async () => {
    const tiff = await sharp(noisePixels(9, 12, 10), { raw: { width: 12, height: 10, channels: 3 } })
      .tiff()
      .toBuffer()
    const d = await decodeImage(tiff)
    expect(d).toMatchObject({ width: 12, height: 10, format: 'tiff', thumb: { mime: 'image/png' } })
    const m = await sharp(d.thumb!.bytes).metadata()
    expect([m.format, m.width, m.height]).toEqual(['png', 12, 10])
  })

  it('reads a JPEG', async () => {
    const d = await decodeImage(await jpegBytes(2, 40, 24))
    expect(d).toMatchObject({ width: 40, height: 24, format: 'jpeg' })
  })

  it('shrinks a large image to a WebP thumbnail within THUMB_SIZE', async () => {
    const big = await sharp(noisePixels(3, 400, 200), { raw: { width: 400, height: 200, channels: 3 } })
      .png()
      .toBuffer()
    const d = await decodeImage(big)
    expect(d.thumb?.mime).toBe('image/webp')
    const m = await sharp(d.thumb!.bytes).metadata()
    expect(m.format).toBe('webp')
    expect(m.width).toBe(THUMB_SIZE)
    expect(m.height).toBe(THUMB_SIZE / 2)
  })

  // The stored size is the size as shown: EXIF orientation 6 swaps width and height.
  it('reports the size as shown for an EXIF-rotated JPEG (matching its thumbnail)', async () => {
    const rotated = await sharp(noisePixels(11, 40, 20), { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer()
    const d = await decodeImage(rotated)
    expect(d.thumb).not.toBeNull()
    const t = await sharp(d.thumb!.bytes).metadata()
    expect([t.width, t.height]).toEqual([20, 40])
    expect([d.width, d.height]).toEqual([20, 40])
  })

  it('reports greyscale and alpha channels', async () => {
    const grey = await sharp(noisePixels(4, 8, 8, 1), { raw: { width: 8, height: 8, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer()
    const rgba = await sharp(noisePixels(5, 8, 8, 4), { raw: { width: 8, height: 8, channels: 4 } })
      .png()
      .toBuffer()
    expect((await decodeImage(grey)).channels).toBe(1)
    expect((await decodeImage(rgba)).channels).toBe(4)
  })

  it('refuses an empty file', async () => {
    expect(await decodeFails(Buffer.alloc(0))).toBe('empty file (0 bytes)')
  })

  it('refuses truncated JPEG and PNG', async () => {
    const j = await jpegBytes(6)
    const p = await pngBytes(7, 32, 32)
    expect(await decodeFails(j.subarray(0, j.length >> 1))).toMatch(/truncated or corrupt/)
    expect(await decodeFails(p.subarray(0, p.length >> 1))).toMatch(/truncated or corrupt/)
  })

  it('refuses text and random bytes as not an image', async () => {
    expect(await decodeFails(Buffer.from('just some text\n'))).toMatch(/not a recognised image/)
  })

  it('refuses a decompression bomb from its header alone', async () => {
    const bomb = bombPng(100_000, 100_000)
    expect(bomb.length).toBeLessThan(2000)
    const msg = await decodeFails(bomb)
    expect(msg).toMatch(/100000×100000/)
    expect(msg).toMatch(/decompression bomb/)
    expect(msg).toContain(MAX_PIXELS.toLocaleString('en'))
  })

  it('decodes the same hand-built PNG at a sane size (so the bomb is refused for its size alone)', async () => {
    await expect(decodeImage(bombPng(10, 10))).resolves.toMatchObject({ width: 10, height: 10 })
  })

  it('refuses formats it does not support (BMP contents)', async () => {
    expect(await decodeFails(bmpBytes())).toMatch(/not a recognised image|unsupported format/)
  })

  for (const chunk of ['tEXt', 'zTXt'] as const)
    it(`re-encodes a tiny PNG with a 5 MB ${chunk} chunk: it is not its own thumbnail`, async () => {
      const fat = await fatPng(chunk)
      expect(fat.length).toBeGreaterThan(5_000_000)
      const d = await decodeImage(fat)
      expect(d).toMatchObject({ width: 4, height: 4, format: 'png', thumb: { mime: 'image/png' } })
      expect(d.thumb!.bytes.length).toBeLessThan(10_000)
      // Metadata stripped, pixels exact.
      const m = await sharp(d.thumb!.bytes).metadata()
      expect([m.format, m.width, m.height]).toEqual(['png', 4, 4])
      expect(m.comments ?? []).toEqual([])
      const px = (b: Buffer) => sharp(b).removeAlpha().raw().toBuffer()
      expect((await px(d.thumb!.bytes)).equals(await px(fat))).toBe(true)
    })

  it('keeps a small image as its own thumbnail only up to MAX_OWN_THUMB_BYTES', async () => {
    const png = await pngBytes(22, 8, 8)
    expect(png.length).toBeLessThanOrEqual(MAX_OWN_THUMB_BYTES)
    expect((await decodeImage(png)).thumb).toBeNull()
    // Padded with an ancillary chunk to just over the limit: re-encoded.
    const pad = pngChunk(
      'tEXt',
      Buffer.concat([Buffer.from('pad\0'), Buffer.alloc(MAX_OWN_THUMB_BYTES, 0x61)]),
    )
    const padded = Buffer.concat([png.subarray(0, 33), pad, png.subarray(33)])
    const d = await decodeImage(padded)
    expect(d.thumb?.mime).toBe('image/png')
    expect(d.thumb!.bytes.length).toBeLessThan(2_000)
  })
})

describe('displayable', () => {
  it('encodes raw pixels (as IDX stores them) as a lossless PNG', async () => {
    const px = noisePixels(8, 6, 5, 1)
    const out = await displayable({
      format: RAW_FORMAT,
      width: 6,
      height: 5,
      channels: 1,
      thumbMime: null,
      bytes: px,
    })
    expect(out.mime).toBe('image/png')
    // Grey may come back as grey or as RGB with equal channels; either way every value is exact.
    const back = await sharp(out.bytes).extractChannel(0).raw().toBuffer({ resolveWithObject: true })
    expect(back.info).toMatchObject({ width: 6, height: 5, channels: 1 })
    expect(back.data.equals(px)).toBe(true)
  })

  it('passes stored browser-format bytes and thumbnails through as they are', async () => {
    const png = await pngBytes(10, 8, 8)
    expect(
      await displayable({ format: 'png', width: 8, height: 8, channels: 3, thumbMime: null, bytes: png }),
    ).toEqual({
      mime: 'image/png',
      bytes: png,
    })
    const webp = Buffer.from('webp-thumb')
    expect(
      await displayable({
        format: 'jpeg',
        width: 800,
        height: 800,
        channels: 3,
        thumbMime: 'image/webp',
        bytes: webp,
      }),
    ).toEqual({
      mime: 'image/webp',
      bytes: webp,
    })
  })
})

describe('displayableThumb (what a thumbnail request serves)', () => {
  const media = (bytes: Buffer, format = 'png', width = 4, height = 4) => ({
    format,
    width,
    height,
    channels: 3,
    thumbMime: null,
    bytes,
  })

  it('re-encodes a stored image with no thumbnail whose bytes are large (a project imported before)', async () => {
    const fat = await fatPng('tEXt')
    const out = await displayableThumb(media(fat))
    expect(out.mime).toBe('image/png')
    expect(out.bytes.length).toBeLessThan(10_000)
    const m = await sharp(out.bytes).metadata()
    expect([m.width, m.height]).toEqual([4, 4])
  })

  it('passes small stored images, stored thumbnails and raw pixels through as displayable does', async () => {
    const png = await pngBytes(23, 8, 8)
    expect(await displayableThumb(media(png, 'png', 8, 8))).toEqual({ mime: 'image/png', bytes: png })
    const webp = Buffer.from('webp-thumb')
    expect(await displayableThumb({ ...media(webp, 'jpeg', 800, 800), thumbMime: 'image/webp' })).toEqual({
      mime: 'image/webp',
      bytes: webp,
    })
    const px = noisePixels(24, 6, 5, 1)
    const raw = await displayableThumb({ ...media(px, RAW_FORMAT, 6, 5), channels: 1 })
    expect(raw.mime).toBe('image/png')
    expect(raw).toEqual(await displayable({ ...media(px, RAW_FORMAT, 6, 5), channels: 1 }))
  })
})
