/**
 * Test fixtures made at test time, in temporary folders: small real images (via sharp), hand-built
 * PNG chunks (for a decompression bomb), a tiny BMP, IDX buffers, and snapshots of a project store.
 * Nothing binary is committed.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'
import sharp from 'sharp'
import type { DB } from '../../../src-main/store/open'

// ---------------------------------------------------------------- temp dirs

/** A fresh temp folder (real path, so symlink tests compare like with like). */
export function makeTempDir(prefix = 'smallset-test-'): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)))
}

/** Removes a temp folder, first giving back any permissions a test took away. */
export function removeTempDir(dir: string): void {
  const restore = (p: string) => {
    let st: fs.Stats
    try {
      st = fs.lstatSync(p)
    } catch {
      return
    }
    if (st.isSymbolicLink()) return
    try {
      fs.chmodSync(p, st.isDirectory() ? 0o755 : 0o644)
    } catch {
      /* ignore */
    }
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) restore(path.join(p, e))
  }
  restore(dir)
  fs.rmSync(dir, { recursive: true, force: true })
}

export function writeFile(file: string, bytes: Buffer | string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, bytes)
  return file
}

// ---------------------------------------------------------------- images

/** Deterministic noise pixels: different seeds give different images (so different hashes). */
export function noisePixels(seed: number, width: number, height: number, channels = 3): Buffer {
  const px = Buffer.alloc(width * height * channels)
  let a = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < px.length; i++) {
    // xorshift32
    a ^= a << 13
    a >>>= 0
    a ^= a >>> 17
    a ^= a << 5
    a >>>= 0
    px[i] = a & 0xff
  }
  return px
}

export async function pngBytes(seed: number, width = 16, height = 16): Promise<Buffer> {
  return sharp(noisePixels(seed, width, height), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer()
}

export async function jpegBytes(seed: number, width = 32, height = 32): Promise<Buffer> {
  return sharp(noisePixels(seed, width, height), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer()
}

let nextSeed = 1000
/** A seed no other fixture in this process has used, so each image is unique. */
export function freshSeed(): number {
  return nextSeed++
}

/** Writes a small unique PNG and returns its path. */
export async function writePng(file: string, seed = freshSeed(), size = 16): Promise<string> {
  return writeFile(file, await pngBytes(seed, size, size))
}

export async function writeJpeg(file: string, seed = freshSeed(), size = 32): Promise<string> {
  return writeFile(file, await jpegBytes(seed, size, size))
}

// ---------------------------------------------------------------- hand-built PNG / BMP

const crcTable = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

/** CRC-32 as PNG uses it (node:zlib's crc32 where there is one, else a table). */
export function crc32(buf: Buffer): number {
  const z = zlib as unknown as { crc32?: (b: Buffer) => number }
  if (typeof z.crc32 === 'function') return z.crc32(buf) >>> 0
  let c = 0xffffffff
  for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

export function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(typeAndData))
  return Buffer.concat([len, typeAndData, crc])
}

/**
 * A tiny, well-formed PNG whose IHDR declares `width`×`height` (8-bit greyscale), with only a few
 * hundred bytes of compressed data: a decompression bomb as far as the header is concerned.
 */
export function bombPng(width = 100_000, height = 100_000): Buffer {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 0 // greyscale
  ihdr[10] = 0 // deflate
  ihdr[11] = 0 // filter
  ihdr[12] = 0 // no interlace
  // Small sizes get every row (a valid image); big ones only the first few rows of zeros, where a
  // real bomb would stream on to gigabytes.
  const rows = height <= 256 ? height : 4
  const idat = zlib.deflateSync(Buffer.alloc(rows * (width + 1)), { level: 9 })
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ])
}

/** A real 24-bit BMP (bottom-up, rows padded to 4 bytes). */
export function bmpBytes(width = 4, height = 4): Buffer {
  const rowSize = Math.ceil((width * 3) / 4) * 4
  const dataSize = rowSize * height
  const buf = Buffer.alloc(54 + dataSize)
  buf.write('BM', 0, 'ascii')
  buf.writeUInt32LE(54 + dataSize, 2)
  buf.writeUInt32LE(54, 10)
  buf.writeUInt32LE(40, 14)
  buf.writeInt32LE(width, 18)
  buf.writeInt32LE(height, 22)
  buf.writeUInt16LE(1, 26)
  buf.writeUInt16LE(24, 28)
  buf.writeUInt32LE(0, 30)
  buf.writeUInt32LE(dataSize, 34)
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) buf[54 + y * rowSize + x * 3] = (x * 60) & 0xff
  return buf
}

// ---------------------------------------------------------------- IDX

/** An IDX buffer of unsigned bytes. `extra` adds (positive) or removes (negative) data bytes. */
export function idxBytes(dims: number[], data: Buffer | number[], extra = 0): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length)
  header[2] = 0x08
  header[3] = dims.length
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i))
  let body = Buffer.from(data)
  if (extra > 0) body = Buffer.concat([body, Buffer.alloc(extra, 7)])
  if (extra < 0) body = body.subarray(0, body.length + extra)
  return Buffer.concat([header, body])
}

/** `n` distinct h×w greyscale images, as IDX bytes (image i has pixel values derived from i). */
export function idxImages(n: number, h = 8, w = 8, seedBase = 1): Buffer {
  const data = Buffer.concat(Array.from({ length: n }, (_, i) => noisePixels(seedBase + i, w, h, 1)))
  return idxBytes([n, h, w], data)
}

export function idxLabels(labels: number[]): Buffer {
  return idxBytes([labels.length], labels)
}

export const gzip = (b: Buffer): Buffer => zlib.gzipSync(b)

// ---------------------------------------------------------------- store snapshots

export const STORE_TABLES = [
  'meta',
  'classes',
  'images',
  'image_data',
  'thumbnails',
  'annotations',
  'runs',
  'run_epochs',
  'run_checkpoints',
  'predictions',
] as const

export type Snapshot = Record<(typeof STORE_TABLES)[number], Record<string, unknown>[]>

/** Every row of every table, in rowid order. */
export function snapshot(db: DB): Snapshot {
  const out = {} as Snapshot
  for (const t of STORE_TABLES)
    out[t] = db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all() as Record<string, unknown>[]
  return out
}

/** Row counts per table. */
export function rowCounts(db: DB): Record<string, number> {
  return Object.fromEntries(
    STORE_TABLES.map((t) => [t, (db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n]),
  )
}

// ---------------------------------------------------------------- store checks

/** Formats a browser shows as they are (an image this small needs no thumbnail row). */
const SELF_THUMB_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'avif', 'raw'])

/**
 * Problems with "whole images": every images row must have its bytes (of the recorded size), a
 * thumbnail row unless it can serve as its own, and a class tag exactly when it is labelled.
 */
export function wholeImageProblems(db: DB, thumbSize = 160): string[] {
  const rows = db
    .prepare(
      `SELECT i.id, i.format, i.width, i.height, i.byte_size, i.status,
              length(d.bytes) AS data_len, t.image_id AS thumb_id,
              (SELECT COUNT(*) FROM annotations a WHERE a.image_id = i.id AND a.kind = 'tag') AS tags
       FROM images i LEFT JOIN image_data d ON d.image_id = i.id LEFT JOIN thumbnails t ON t.image_id = i.id`,
    )
    .all() as {
    id: number
    format: string
    width: number
    height: number
    byte_size: number
    status: string
    data_len: number | null
    thumb_id: number | null
    tags: number
  }[]
  const problems: string[] = []
  for (const r of rows) {
    if (r.data_len === null) problems.push(`image ${r.id} has no image_data`)
    else if (r.data_len !== r.byte_size)
      problems.push(`image ${r.id}: ${r.data_len} bytes stored, byte_size ${r.byte_size}`)
    const selfThumb = SELF_THUMB_FORMATS.has(r.format) && Math.max(r.width, r.height) <= thumbSize
    if (r.thumb_id === null && !selfThumb) problems.push(`image ${r.id} (${r.format}) has no thumbnail`)
    if ((r.status === 'labeled') !== (r.tags === 1))
      problems.push(`image ${r.id} is ${r.status} with ${r.tags} tags`)
  }
  const orphans = db
    .prepare(
      `SELECT 'image_data' AS t, image_id FROM image_data WHERE image_id NOT IN (SELECT id FROM images)
       UNION ALL SELECT 'thumbnails', image_id FROM thumbnails WHERE image_id NOT IN (SELECT id FROM images)
       UNION ALL SELECT 'annotations', image_id FROM annotations WHERE image_id NOT IN (SELECT id FROM images)`,
    )
    .all() as { t: string; image_id: number }[]
  for (const o of orphans) problems.push(`${o.t} row for missing image ${o.image_id}`)
  return problems
}

/** Asserts-friendly diff: the rows that were there before are all still there, unchanged. */
export function changedExistingRows(before: Snapshot, after: Snapshot): string[] {
  const out: string[] = []
  for (const t of STORE_TABLES) {
    const b = before[t]
    const a = after[t].slice(0, b.length)
    if (a.length < b.length) out.push(`${t}: ${b.length - a.length} rows gone`)
    b.forEach((row, i) => {
      const now = a[i]
      if (!now || JSON.stringify(row, bufReplacer) !== JSON.stringify(now, bufReplacer))
        out.push(`${t} row ${i} changed`)
    })
  }
  return out
}

function bufReplacer(_k: string, v: unknown): unknown {
  if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer') {
    return `buf:${Buffer.from((v as { data: number[] }).data).toString('base64')}`
  }
  return v
}

/** How many rows each table gained. */
export function rowsAdded(before: Snapshot, after: Snapshot): Record<string, number> {
  return Object.fromEntries(STORE_TABLES.map((t) => [t, after[t].length - before[t].length]))
}
