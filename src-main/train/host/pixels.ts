import fs from 'node:fs'
import path from 'node:path'
import sharp from 'sharp'
import { ApiError } from '../../../src-shared/api/contract'
import { RAW_FORMAT } from '../../media/decode'

export interface InputSize {
  width: number
  height: number
  channels: 1 | 3
}

/**
 * Decoded pixels at one input size, kept in `<project>/cache/` so each image is decoded (and
 * resized) once, not per epoch or per run: `<key>.bin` holds the pixels (the key names the size,
 * e.g. `pixels-28x28x1`), and `<key>.json` maps content hashes to their offsets. One process writes at a time (a lock
 * file holding its pid); another reads what is there and decodes the rest in memory only. The
 * index is written once, at the end, after the pixels: entries past the end of the file (a crash
 * between the two) are dropped on the next read.
 */
export class PixelCache {
  private readonly bin: string
  private readonly index: string
  private readonly lock: string
  private offsets: Record<string, number> = {}
  private fd: number | null = null
  private readonly size: number
  private writable = false
  private dirty = false

  /** `key` names the cache (its file names); each entry is `size` bytes. */
  constructor(projectDir: string, key: string, size: number) {
    const dir = path.join(projectDir, 'cache')
    this.bin = path.join(dir, `${key}.bin`)
    this.index = path.join(dir, `${key}.json`)
    this.lock = path.join(dir, `${key}.lock`)
    this.size = size
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

export interface FillOptions<R> {
  cache: PixelCache
  /** The pixels as stored, when they already fit (raw IDX pixels at the input size); else null. */
  direct?: (row: R) => Uint8Array | null
  /** Decodes one image to `size` bytes. */
  decode: (row: R) => Promise<Uint8Array>
  signal?: AbortSignal
  /** Called as images are filled, with how many are done so far. */
  onProgress?: (done: number) => void
}

/**
 * Fills `out` (rows.length × size bytes) with each row's pixels: straight from the store when they
 * fit, else from the decode cache, decoding (sharp runs 16 at a time) only what is not cached yet.
 * A row that cannot be decoded fails the whole load with its image id and the reason.
 */
export async function fillPixels<R extends { id: number; hash: string }>(
  rows: readonly R[],
  out: Uint8Array,
  size: number,
  o: FillOptions<R>,
): Promise<void> {
  const pending: number[] = []
  let done = 0
  rows.forEach((r, i) => {
    const d = o.direct?.(r)
    if (d) out.set(d, i * size)
    else if (!o.cache.get(r.hash, out, i * size)) return void pending.push(i)
    done++
  })
  o.onProgress?.(done)
  for (let start = 0; start < pending.length; start += 16) {
    if (o.signal?.aborted) throw new ApiError('bad_input', 'cancelled while loading the images')
    const chunk = pending.slice(start, start + 16)
    const decoded = await Promise.all(
      chunk.map(async (i) => {
        const r = rows[i]!
        try {
          return { i, hash: r.hash, pixels: await o.decode(r) }
        } catch (e) {
          throw new ApiError(
            'bad_input',
            `image ${r.id} could not be decoded for training: ${(e as Error).message}`,
          )
        }
      }),
    )
    for (const d of decoded) out.set(d.pixels, d.i * size)
    o.cache.add(decoded)
    done += chunk.length
    o.onProgress?.(done)
  }
}
