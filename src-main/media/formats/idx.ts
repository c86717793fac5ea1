/**
 * IDX (the MNIST / Fashion-MNIST format): `X-images-idx3-ubyte[.gz]` files of N×H×W[×C] unsigned
 * bytes, each paired with an `X-labels-idx1-ubyte[.gz]` file of N class indices. The prefix names the
 * split (`train`, `t10k`...). Images and labels are paired across every path given, so they may be
 * named apart; each image becomes an import unit holding its raw pixels (stored as they are: compact,
 * exact, ready for training) and its class. There is no IDX export: ImageFolder holds the same.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { gunzipSync } from 'node:zlib'
import type { ImportFailure } from '../../../src-shared/api/contract'
import { errnoReason, readRegularFile } from '../read'
import { bySplitOrder, splitFromName, walk } from './common'
import type { FormatScan, ImportUnit, ScanOptions } from './types'

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

// ================================================================ the format

interface IdxPair {
  images: string
  labels: string | null
}

/** Pairs `X-images-idx3-ubyte` with `X-labels-idx1-ubyte` by their folder and prefix. */
function pairIdx(files: readonly string[], failures: ImportFailure[]): IdxPair[] {
  const groups = new Map<string, { images?: string; labels?: string }>()
  for (const f of files) {
    const parts = idxNameParts(path.basename(f))
    const key = path.join(path.dirname(f), parts?.prefix ?? path.basename(f))
    const g = groups.get(key) ?? {}
    if (parts?.kind === 'labels') g.labels = f
    else g.images = f
    groups.set(key, g)
  }
  const pairs: IdxPair[] = []
  for (const g of groups.values()) {
    if (!g.images)
      failures.push({ path: g.labels!, reason: 'IDX labels file without a matching images file' })
    else pairs.push({ images: g.images, labels: g.labels ?? null })
  }
  return pairs
}

interface IdxSet extends IdxPair {
  pixels: IdxArray
  classes: Uint8Array | null
  width: number
  height: number
  channels: 1 | 3
}

/** Reads and checks a pair: image dimensions, that labels are one per image. */
async function loadPair(pair: IdxPair): Promise<IdxSet> {
  const pixels = await readIdx(pair.images)
  const [n, height, width, ch] = pixels.dims
  if (pixels.dims.length < 3 || !height || !width || (ch !== undefined && ch !== 1 && ch !== 3)) {
    throw new IdxError(
      `expected N×H×W or N×H×W×C (C 1 or 3) images, got ${pixels.dims.join('×')}`,
      pair.images,
    )
  }
  let classes: Uint8Array | null = null
  if (pair.labels) {
    const labels = await readIdx(pair.labels)
    if (labels.dims.length !== 1)
      throw new IdxError(`labels must be one-dimensional, got ${labels.dims.join('×')}`, pair.labels)
    if (labels.dims[0] !== n)
      throw new IdxError(`${labels.dims[0]} labels for ${n} images in ${pair.images}`, pair.labels)
    classes = labels.data
  }
  return { ...pair, pixels, classes, width, height, channels: ch === 3 ? 3 : 1 }
}

/** The content hash of raw pixels: their shape is part of what they are. */
export function rawPixelsHash(
  pixels: Buffer,
  raw: { width: number; height: number; channels: number },
): string {
  return createHash('sha256')
    .update(`idx:${raw.width}x${raw.height}x${raw.channels}:`)
    .update(pixels)
    .digest('hex')
}

function unitsOf(set: IdxSet, names: readonly string[] | undefined): ImportUnit[] {
  const { width, height, channels } = set
  const raw = { width, height, channels }
  const size = width * height * channels
  const split = splitFromName(idxNameParts(path.basename(set.images))?.prefix ?? '')
  const n = set.pixels.dims[0]!
  const units: ImportUnit[] = []
  for (let i = 0; i < n; i++) {
    const label = set.classes ? set.classes[i]! : null
    units.push({
      file: `${set.images}#${i}`,
      read: () => Promise.resolve(Buffer.from(set.pixels.data.subarray(i * size, (i + 1) * size))),
      raw,
      alternatives: [],
      split,
      className: label === null ? null : (names?.[label] ?? String(label)),
      declaredSize: null,
      annotationCount: 0,
      annotations: () => [],
    })
  }
  return units
}

/**
 * Pairs IDX files, reads each pair and makes a unit per image; a bad pair is one report row naming
 * the file at fault. Classes come in label order, over all the pairs.
 */
export async function scanIdxFiles(files: readonly string[], opts: ScanOptions = {}): Promise<FormatScan> {
  const failures: ImportFailure[] = []
  const units: ImportUnit[] = []
  const labels = new Set<number>()
  for (const pair of pairIdx([...new Set(files)], failures)) {
    try {
      const set = await loadPair(pair)
      if (set.classes) for (const l of set.classes) labels.add(l)
      units.push(...unitsOf(set, opts.classNames))
    } catch (e) {
      const reason = e instanceof IdxError ? e.message : `unreadable: ${(e as Error).message}`
      failures.push({ path: (e instanceof IdxError && e.path) || pair.images, reason })
    }
  }
  const classes = [...labels].sort((a, b) => a - b).map((l) => opts.classNames?.[l] ?? String(l))
  return { units: bySplitOrder(units), failures, classes: [...new Set(classes)], ignored: 0 }
}

/** The IDX files among the paths given (in folders, recursively); other files given are reported. */
async function scanIdx(paths: readonly string[], opts: ScanOptions = {}): Promise<FormatScan> {
  const failures: ImportFailure[] = []
  const files: string[] = []
  let ignored = 0
  for (const given of paths) {
    const root = path.resolve(given)
    let st: import('node:fs').Stats
    try {
      st = await fs.stat(root)
    } catch (e) {
      failures.push({ path: root, reason: errnoReason(e) })
      continue
    }
    if (!st.isDirectory()) {
      if (isIdxName(path.basename(root))) files.push(root)
      else
        failures.push({
          path: root,
          reason: 'not an IDX file (expected a name like train-images-idx3-ubyte.gz)',
        })
      continue
    }
    for (const f of await walk(root, failures)) {
      if (isIdxName(path.basename(f.abs))) files.push(f.abs)
      else ignored++
    }
  }
  const r = await scanIdxFiles(files, opts)
  return { ...r, failures: [...failures, ...r.failures], ignored }
}

export const idxFormat = {
  name: 'idx',
  /** An IDX-named file; a folder of them is read by the ImageFolder scan, which pairs what it finds. */
  recognise: (p: string) => Promise.resolve(isIdxName(path.basename(p))),
  scan: (p: string, opts?: ScanOptions) => scanIdx([p], opts),
  scanAll: scanIdx,
} as const
