import sharp, { type Metadata } from 'sharp'

/** Longest side of a stored thumbnail. Smaller images are kept at their own size. */
export const THUMB_SIZE = 160
/**
 * The most stored bytes an image may have to serve as its own thumbnail. Past it the image is
 * re-encoded even when its pixels are few: a 4×4 PNG can carry megabytes of metadata.
 */
export const MAX_OWN_THUMB_BYTES = 64 * 1024
/** Larger than this is refused as a likely decompression bomb (about 12,000 × 12,000). */
export const MAX_PIXELS = 150_000_000

/** Formats this app decodes, by sharp's name for them. */
export const SUPPORTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'])
export const IMAGE_EXTENSIONS = new Set([
  '.jpg',
  '.jpeg',
  '.jpe',
  '.png',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
])
/** Extensions of image formats that we recognise but cannot decode: reported, not silently skipped. */
export const UNSUPPORTED_IMAGE_EXTENSIONS = new Set([
  '.bmp',
  '.heic',
  '.heif',
  '.ico',
  '.svg',
  '.psd',
  '.jp2',
  '.j2k',
  '.jxl',
  '.dng',
  '.cr2',
  '.nef',
  '.arw',
  '.raw',
  '.pgm',
  '.ppm',
  '.pbm',
  '.exr',
  '.hdr',
])

export class DecodeError extends Error {}

export interface Decoded {
  width: number
  height: number
  channels: number
  format: string
  /** null where the image, as stored, serves as its own thumbnail (small in pixels and in bytes). */
  thumb: { mime: string; bytes: Buffer } | null
}

/**
 * A thumbnail of an image whose size as shown is `width`×`height`: turned by its EXIF orientation,
 * shrunk within THUMB_SIZE (WebP) or, where it is that small already, lossless PNG at its own size,
 * so small images (e.g. 28×28) keep their exact pixels in the grid. sharp writes no metadata.
 */
async function encodeThumb(
  bytes: Buffer,
  width: number,
  height: number,
): Promise<{ mime: string; bytes: Buffer }> {
  const small = Math.max(width, height) <= THUMB_SIZE
  const resized = sharp(bytes, { failOn: 'error', limitInputPixels: MAX_PIXELS, animated: false })
    .rotate()
    .resize(THUMB_SIZE, THUMB_SIZE, { fit: 'inside', withoutEnlargement: true })
  return small
    ? { mime: 'image/png', bytes: await resized.png().toBuffer() }
    : { mime: 'image/webp', bytes: await resized.webp({ quality: 80 }).toBuffer() }
}

/** Formats every browser (and Electron) shows as they are. */
const BROWSER_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'avif'])

function reasonFor(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e)
  if (/unsupported image format/i.test(msg))
    return 'not a recognised image (its contents match no supported format)'
  if (/pixel limit/i.test(msg))
    return `image is too large to decode safely (over ${MAX_PIXELS.toLocaleString('en')} pixels)`
  if (
    /premature end|truncated|unexpected end|end of (file|stream)|not enough data|read error|corrupt|invalid/i.test(
      msg,
    )
  )
    return `truncated or corrupt image data (${msg.split('\n')[0]})`
  return `could not decode: ${msg.split('\n')[0]}`
}

/**
 * Reads an image's header, refuses what is unsupported or too large before any pixels are
 * decoded, then decodes it in full (so truncated files fail here, not later) into a thumbnail.
 */
export async function decodeImage(bytes: Buffer): Promise<Decoded> {
  if (bytes.length === 0) throw new DecodeError('empty file (0 bytes)')
  let meta: Metadata
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata()
  } catch (e) {
    throw new DecodeError(reasonFor(e))
  }
  const format = meta.format ?? 'unknown'
  if (!SUPPORTED_FORMATS.has(format)) throw new DecodeError(`unsupported format: ${format}`)
  // The size as shown: EXIF-rotated photos swap width and height, as their thumbnails do.
  const { width, height } = meta.autoOrient ?? meta
  if (!width || !height) throw new DecodeError('image header gives no width or height')
  if (width * height > MAX_PIXELS) {
    throw new DecodeError(
      `image is ${width}×${height} pixels, over the ${MAX_PIXELS.toLocaleString('en')}-pixel limit (a possible decompression bomb)`,
    )
  }
  try {
    // Made in every case: decoding in full is what finds truncated files.
    const thumb = await encodeThumb(bytes, width, height)
    const channels = meta.channels ?? 3
    const ownThumb =
      Math.max(width, height) <= THUMB_SIZE &&
      bytes.length <= MAX_OWN_THUMB_BYTES &&
      BROWSER_FORMATS.has(format) &&
      (meta.orientation ?? 1) === 1
    return { width, height, channels, format, thumb: ownThumb ? null : thumb }
  } catch (e) {
    throw new DecodeError(reasonFor(e))
  }
}

/** Images stored as raw 8-bit pixels, row-major, channels interleaved (as IDX holds them). */
export const RAW_FORMAT = 'raw'

/** Something a browser can show: the stored bytes as they are, or raw pixels encoded as lossless PNG. */
export async function displayable(m: {
  format: string
  width: number
  height: number
  channels: number
  thumbMime: string | null
  bytes: Buffer
}): Promise<{ mime: string; bytes: Buffer }> {
  if (m.thumbMime) return { mime: m.thumbMime, bytes: m.bytes }
  if (BROWSER_FORMATS.has(m.format)) return { mime: `image/${m.format}`, bytes: m.bytes }
  if (m.format !== RAW_FORMAT) {
    // TIFF and the like: browsers cannot draw them, so the editor gets a lossless PNG, turned by its EXIF orientation.
    return { mime: 'image/png', bytes: await sharp(m.bytes).rotate().png().toBuffer() }
  }
  const channels = m.channels as 1 | 2 | 3 | 4
  const png = await sharp(m.bytes, { raw: { width: m.width, height: m.height, channels } })
    .png()
    .toBuffer()
  return { mime: 'image/png', bytes: png }
}

/**
 * What a thumbnail request serves: the stored thumbnail, or the image itself where it has none. An
 * image stored before thumbnails were made for every large file (no thumbnail, yet more than
 * MAX_OWN_THUMB_BYTES) is re-encoded here rather than served whole; raw pixels become PNG as in
 * `displayable`.
 */
export async function displayableThumb(m: Parameters<typeof displayable>[0]): Promise<{
  mime: string
  bytes: Buffer
}> {
  if (m.thumbMime || m.format === RAW_FORMAT || m.bytes.length <= MAX_OWN_THUMB_BYTES) return displayable(m)
  return encodeThumb(m.bytes, m.width, m.height)
}
