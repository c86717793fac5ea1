import { gunzipSync } from 'node:zlib'
import { readRegularFile } from './read'

/** An IDX file (the MNIST / Fashion-MNIST format): a magic number, dimensions, then u8 data. */
export interface IdxArray {
  dims: number[]
  data: Buffer
}

/** The largest IDX data accepted once decompressed (Fashion-MNIST's training images are 47 MB). */
export const MAX_IDX_BYTES = 2 ** 30

export class IdxError extends Error {
  constructor(
    message: string,
    /** The file at fault, where known. */
    readonly path?: string,
  ) {
    super(message)
  }
}

/** Parses IDX bytes, gzipped or raw. Only unsigned-byte data (type 0x08) is accepted. */
export function parseIdx(input: Buffer): IdxArray {
  let buf = input
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      // Bounded, so a small gzip bomb is refused instead of filling the memory.
      buf = gunzipSync(buf, { maxOutputLength: MAX_IDX_BYTES })
    } catch (e) {
      const err = e as NodeJS.ErrnoException
      if (err.code === 'ERR_BUFFER_TOO_LARGE') {
        throw new IdxError(`decompresses to more than ${MAX_IDX_BYTES / 2 ** 30} GiB (a possible gzip bomb)`)
      }
      throw new IdxError(`corrupt gzip data (${err.message})`)
    }
  }
  if (buf.length < 4) throw new IdxError(`too short for an IDX header (${buf.length} bytes)`)
  if (buf[0] !== 0 || buf[1] !== 0) throw new IdxError('not an IDX file (bad magic number)')
  const type = buf[2]!
  const ndims = buf[3]!
  if (type !== 0x08)
    throw new IdxError(`unsupported IDX data type 0x${type.toString(16)} (only unsigned bytes, 0x08)`)
  if (ndims < 1 || ndims > 4) throw new IdxError(`unsupported number of dimensions: ${ndims}`)
  const headerLen = 4 + 4 * ndims
  if (buf.length < headerLen) throw new IdxError(`header is cut short: ${buf.length} of ${headerLen} bytes`)
  const dims: number[] = []
  for (let i = 0; i < ndims; i++) dims.push(buf.readUInt32BE(4 + 4 * i))
  const expected = dims.reduce((a, b) => a * b, 1)
  const actual = buf.length - headerLen
  if (actual !== expected) {
    throw new IdxError(
      `header and length disagree: dimensions ${dims.join('×')} need ${expected} data bytes, the file has ${actual}`,
    )
  }
  return { dims, data: buf.subarray(headerLen) }
}

/** Reads and parses an IDX file; every error names the file. */
export async function readIdx(file: string): Promise<IdxArray> {
  let bytes: Buffer
  try {
    bytes = await readRegularFile(file, { maxBytes: MAX_IDX_BYTES })
  } catch (e) {
    throw new IdxError((e as Error).message, file)
  }
  try {
    return parseIdx(bytes)
  } catch (e) {
    throw new IdxError((e as Error).message, file)
  }
}

const IDX_NAME = /^(.*?)[-_.]?(images|labels)[-_.]idx([1-4])[-_.]ubyte(\.gz)?$/i

/** Recognises `train-images-idx3-ubyte.gz`, `t10k-labels.idx1-ubyte` and the like. */
export function idxNameParts(name: string): { prefix: string; kind: 'images' | 'labels' } | null {
  const m = IDX_NAME.exec(name)
  if (!m) return null
  return { prefix: m[1]!.toLowerCase(), kind: m[2]!.toLowerCase() as 'images' | 'labels' }
}

export function isIdxName(name: string): boolean {
  return idxNameParts(name) !== null || /\.idx[1-4]?(\.gz)?$/i.test(name)
}
