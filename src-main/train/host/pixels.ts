import fs from 'node:fs'
import path from 'node:path'
import sharp from 'sharp'
import { ApiError } from '../../../src-shared/api/contract'
import type { Split } from '../../../src-shared/domain/types'
import { RAW_FORMAT } from '../../media/decode'
import type { DB } from '../../store/open'
import type { ImageSet } from '../data'

export interface InputSize {
  width: number
  height: number
  channels: 1 | 3
}

interface Row {
  id: number
  hash: string
  format: string
  width: number
  height: number
  channels: number
  split: Split
  classId: number
}

/** Classes with tagged images, in class order. */
export function taggedClasses(
  db: DB,
): { id: number; name: string; count: number; bySplit: Record<string, number> }[] {
  const rows = db
    .prepare(
      `SELECT c.id, c.name, i.split, COUNT(*) AS n FROM classes c
       JOIN annotations a ON a.class_id = c.id AND a.kind = 'tag' JOIN images i ON i.id = a.image_id
       GROUP BY c.id, i.split ORDER BY c.position, c.id`,
    )
    .all() as { id: number; name: string; split: string; n: number }[]
  const out = new Map<number, { id: number; name: string; count: number; bySplit: Record<string, number> }>()
  for (const r of rows) {
    const c = out.get(r.id) ?? { id: r.id, name: r.name, count: 0, bySplit: {} }
    c.count += r.n
    c.bySplit[r.split] = r.n
    out.set(r.id, c)
  }
  return [...out.values()]
}

/** The project's most common image size, as a model input (grey stays grey; alpha is dropped). */
export function dominantInput(db: DB): InputSize | null {
  const r = db
    .prepare(
      `SELECT i.width, i.height, i.channels, COUNT(*) AS n FROM images i
       JOIN annotations a ON a.image_id = i.id AND a.kind = 'tag'
       GROUP BY i.width, i.height, i.channels ORDER BY n DESC LIMIT 1`,
    )
    .get() as { width: number; height: number; channels: number } | undefined
  if (!r) return null
  // Large photos are brought down to at most 256 px on their longer side.
  const scale = Math.min(1, 256 / Math.max(r.width, r.height))
  return {
    width: Math.max(1, Math.round(r.width * scale)),
    height: Math.max(1, Math.round(r.height * scale)),
    channels: r.channels === 1 || r.channels === 2 ? 1 : 3,
  }
}

/**
 * Decoded pixels at one input size, kept in `<project>/cache/` so each image is decoded (and
 * resized) once, not per epoch or per run: `pixels-WxHxC.bin` holds the pixels, and
 * `pixels-WxHxC.json` maps content hashes to their offsets. One process writes at a time (a lock
 * file holding its pid); another reads what is there and decodes the rest in memory only. The
 * index is written once, at the end, after the pixels: entries past the end of the file (a crash
 * between the two) are dropped on the next read.
 */
class PixelCache {
  private readonly bin: string
  private readonly index: string
  private readonly lock: string
  private offsets: Record<string, number> = {}
  private fd: number | null = null
  private readonly size: number
  private writable = false
  private dirty = false

  constructor(
    projectDir: string,
    readonly input: InputSize,
  ) {
    const dir = path.join(projectDir, 'cache')
    const key = `pixels-${input.width}x${input.height}x${input.channels}`
    this.bin = path.join(dir, `${key}.bin`)
    this.index = path.join(dir, `${key}.json`)
    this.lock = path.join(dir, `${key}.lock`)
    this.size = input.width * input.height * input.channels
    try {
      const saved = JSON.parse(fs.readFileSync(this.index, 'utf8')) as Record<string, number>
      const binSize = fs.statSync(this.bin).size
      for (const [h, off] of Object.entries(saved)) if (off + this.size <= binSize) this.offsets[h] = off
    } catch {
      this.offsets = {}
    }
  }

  get(hash: string, into: Uint8Array, at: number): boolean {
    const off = this.offsets[hash]
    if (off === undefined) return false
    this.fd ??= fs.openSync(this.bin, 'r')
    fs.readSync(this.fd, into, at, this.size, off)
    return true
  }

  /** Takes the write lock, stealing it from a process that is gone. */
  private takeLock(): boolean {
    fs.mkdirSync(path.dirname(this.lock), { recursive: true })
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(this.lock, String(process.pid), { flag: 'wx' })
        return true
      } catch {
        const owner = Number(fs.readFileSync(this.lock, 'utf8'))
        try {
          process.kill(owner, 0)
          return false
        } catch {
          fs.rmSync(this.lock, { force: true })
        }
      }
    }
    return false
  }

  /** Appends new entries (when this process holds the lock; otherwise they stay in memory only). */
  add(entries: { hash: string; pixels: Uint8Array }[]): void {
    if (!entries.length) return
    if (!this.writable && !(this.writable = this.takeLock())) return
    let end = fs.existsSync(this.bin) ? fs.statSync(this.bin).size : 0
    const fd = fs.openSync(this.bin, 'a')
    try {
      for (const e of entries) {
        fs.writeSync(fd, e.pixels)
        this.offsets[e.hash] = end
        end += this.size
      }
    } finally {
      fs.closeSync(fd)
    }
    this.dirty = true
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd)
    this.fd = null
    if (this.dirty) {
      const tmp = `${this.index}.tmp`
      fs.writeFileSync(tmp, JSON.stringify(this.offsets))
      fs.renameSync(tmp, this.index)
    }
    if (this.writable) fs.rmSync(this.lock, { force: true })
  }
}

/** Decodes stored image bytes (any format, or raw pixels) to the input size and channels. */
export async function toInputPixels(
  bytes: Buffer,
  meta: { format: string; width: number; height: number; channels: number },
  input: InputSize,
): Promise<Uint8Array> {
  let img =
    meta.format === RAW_FORMAT
      ? sharp(bytes, {
          raw: { width: meta.width, height: meta.height, channels: meta.channels as 1 | 2 | 3 | 4 },
        })
      : sharp(bytes, { failOn: 'error' }).rotate()
  if (meta.width !== input.width || meta.height !== input.height) {
    img = img.resize(input.width, input.height, { fit: 'fill', kernel: 'lanczos3' })
  }
  img = input.channels === 1 ? img.toColourspace('b-w') : img.removeAlpha().toColourspace('srgb')
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true })
  if (info.channels === input.channels) return new Uint8Array(data.buffer, data.byteOffset, data.length)
  // Grey sources for an RGB model: repeat the channel.
  const out = new Uint8Array(input.width * input.height * input.channels)
  for (let p = 0, q = 0; p < data.length; p += info.channels)
    for (let k = 0; k < input.channels; k++) out[q++] = data[p]!
  return out
}

export interface LoadedData {
  classIds: number[]
  sets: Record<Split, ImageSet>
}

/**
 * Loads every tagged image of the given classes into compact per-split pixel arrays at the input
 * size: raw pixels straight from the store when they already fit, otherwise from the decode cache,
 * decoding (with sharp) only what is not cached yet.
 */
export async function loadClassificationData(
  db: DB,
  projectDir: string,
  input: InputSize,
  classIds: readonly number[],
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<LoadedData> {
  const classIndex = new Map(classIds.map((id, i) => [id, i]))
  const rows = (
    db
      .prepare(
        `SELECT i.id, i.hash, i.format, i.width, i.height, i.channels, i.split, a.class_id AS classId
         FROM images i JOIN annotations a ON a.image_id = i.id AND a.kind = 'tag' ORDER BY i.id`,
      )
      .all() as Row[]
  ).filter((r) => classIndex.has(r.classId))
  const size = input.width * input.height * input.channels
  const bySplit: Record<Split, Row[]> = { train: [], val: [], test: [] }
  for (const r of rows) bySplit[r.split].push(r)
  const getBytes = db.prepare('SELECT bytes FROM image_data WHERE image_id = ?').pluck()
  const cache = new PixelCache(projectDir, input)
  const sets = {} as Record<Split, ImageSet>
  let done = 0
  try {
    for (const split of ['train', 'val', 'test'] as const) {
      const list = bySplit[split]
      const pixels = new Uint8Array(list.length * size)
      const pending: number[] = []
      list.forEach((r, i) => {
        const direct =
          r.format === RAW_FORMAT &&
          r.width === input.width &&
          r.height === input.height &&
          r.channels === input.channels
        if (direct) pixels.set(getBytes.get(r.id) as Buffer, i * size)
        else if (!cache.get(r.hash, pixels, i * size)) pending.push(i)
        else done++
        if (direct) done++
      })
      for (let start = 0; start < pending.length; start += 16) {
        if (signal?.aborted) throw new ApiError('bad_input', 'cancelled while loading the images')
        const chunk = pending.slice(start, start + 16)
        const decoded = await Promise.all(
          chunk.map(async (i) => {
            const r = list[i]!
            try {
              return { i, hash: r.hash, pixels: await toInputPixels(getBytes.get(r.id) as Buffer, r, input) }
            } catch (e) {
              throw new ApiError(
                'bad_input',
                `image ${r.id} could not be decoded for training: ${(e as Error).message}`,
              )
            }
          }),
        )
        for (const d of decoded) pixels.set(d.pixels, d.i * size)
        cache.add(decoded)
        done += chunk.length
        onProgress?.(done, rows.length)
      }
      sets[split] = {
        width: input.width,
        height: input.height,
        channels: input.channels,
        count: list.length,
        pixels,
        labels: Int32Array.from(list, (r) => classIndex.get(r.classId)!),
        ids: Int32Array.from(list, (r) => r.id),
      }
    }
  } finally {
    cache.close()
  }
  onProgress?.(rows.length, rows.length)
  return { classIds: [...classIds], sets }
}
