/**
 * Small helpers the format modules share: reading text files as tools write them (a UTF-8 BOM,
 * Windows line endings), walking folders for images and naming their splits, and writing an export (an empty folder, each
 * image's bytes as a file, and the notes an export reports about what its format cannot hold).
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import sharp from 'sharp'
import { ApiError, type ImportFailure } from '../../../src-shared/api/contract'
import type { Split } from '../../../src-shared/domain/types'
import type { DB } from '../../store/open'
import { tagsForExport, type ExportRegion } from '../../store/repos/annotations'
import { getImageBytes, type ImageExportRow } from '../../store/repos/images'
import { IMAGE_EXTENSIONS, RAW_FORMAT } from '../decode'
import { errnoReason, readRegularFile, specialKind } from '../read'

// ================================================================ reading

/** The largest annotation file (JSON, XML, label text) read: about what a JavaScript string holds. */
const MAX_TEXT_BYTES = 512 * 2 ** 20

/**
 * A text file's contents without a leading UTF-8 byte order mark; or why it could not be read. Only
 * a regular file is read (a FIFO or a link to a device is refused, not waited on), up to MAX_TEXT_BYTES.
 */
export async function readText(file: string): Promise<{ text: string } | { failure: string }> {
  try {
    const text = (await readRegularFile(file, { maxBytes: MAX_TEXT_BYTES })).toString('utf8')
    return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text }
  } catch (e) {
    // readRegularFile says why in words (not found, a FIFO, over the limit...).
    return { failure: (e as Error).message }
  }
}

/** Lines of a text, whatever the line endings (LF, CRLF or CR). */
export const textLines = (text: string): string[] => text.split(/\r\n|\r|\n/)

export async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile()
  } catch {
    return false
  }
}

export async function isDir(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory()
  } catch {
    return false
  }
}

/** Files under a folder, recursively, sorted, skipping hidden names; `keep` filters by name. */
export async function listFiles(dir: string, keep: (name: string) => boolean): Promise<string[]> {
  const out: string[] = []
  const visit = async (d: string, depth: number): Promise<void> => {
    if (depth > 32) return
    let entries: import('node:fs').Dirent[]
    try {
      entries = await fs.readdir(d, { withFileTypes: true })
    } catch {
      return
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const e of entries) {
      if (e.name.startsWith('.')) continue
      const p = path.join(d, e.name)
      if (e.isDirectory()) await visit(p, depth + 1)
      // A FIFO, socket or device is listed too: readText refuses it, with its reason, unread.
      else if (keep(e.name)) out.push(p)
    }
  }
  await visit(dir, 0)
  return out
}

const SPLIT_NAMES: Record<string, Split> = {
  train: 'train',
  training: 'train',
  val: 'val',
  valid: 'val',
  validation: 'val',
  dev: 'val',
  test: 'test',
  testing: 'test',
  t10k: 'test',
}

/** The split a folder or IDX prefix names, if any (`train`, `valid`, `t10k` ...). */
export function splitFromName(name: string): Split | null {
  return SPLIT_NAMES[name.toLowerCase()] ?? null
}

/** Units in the usual order: train, then val, then test, then unsplit (a stable sort), as image ids follow. */
export function bySplitOrder<U extends { split: Split | null }>(units: U[]): U[] {
  const rank = (s: Split | null) => (s === null ? 3 : ['train', 'val', 'test'].indexOf(s))
  return units.sort((a, b) => rank(a.split) - rank(b.split))
}

export interface Found {
  abs: string
  /** Path segments below the folder walked. */
  rel: string[]
}

/**
 * Every file under a folder, recursively and sorted, skipping hidden names. Symlinks are followed
 * once each and loops reported; FIFOs, sockets and devices are reported, never read; unreadable
 * folders are reported and the rest walked.
 */
export async function walk(root: string, failures: ImportFailure[]): Promise<Found[]> {
  const out: Found[] = []
  const seen = new Set<string>()
  const visit = async (dir: string, rel: string[]): Promise<void> => {
    let real: string
    try {
      real = await fs.realpath(dir)
    } catch (e) {
      failures.push({ path: dir, reason: errnoReason(e) })
      return
    }
    if (seen.has(real)) {
      failures.push({
        path: dir,
        reason: `symlink loop: this folder leads back to ${real}, already being imported`,
      })
      return
    }
    seen.add(real)
    let entries: import('node:fs').Dirent[]
    try {
      entries = await fs.readdir(dir, { withFileTypes: true })
    } catch (e) {
      failures.push({ path: dir, reason: errnoReason(e) })
      return
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const ent of entries) {
      if (ent.name.startsWith('.')) continue
      const abs = path.join(dir, ent.name)
      let target: import('node:fs').Stats | import('node:fs').Dirent = ent
      if (ent.isSymbolicLink()) {
        try {
          target = await fs.stat(abs)
        } catch (e) {
          failures.push({ path: abs, reason: errnoReason(e) })
          continue
        }
      }
      const isDir = target.isDirectory()
      // A FIFO, socket or device (or a link to one) is never read: a read could wait or run for ever.
      const special = isDir ? null : specialKind(target)
      if (special) {
        failures.push({ path: abs, reason: `skipped: ${special}, not a regular file` })
        continue
      }
      if (isDir) await visit(abs, [...rel, ent.name])
      else out.push({ abs, rel: [...rel, ent.name] })
    }
  }
  await visit(root, [])
  return out
}

export const isImageName = (name: string): boolean => IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase())

/** A file name without its extension. */
export const stemOf = (file: string): string => path.basename(file, path.extname(file))

/** Pixel values in messages: at most two decimals. */
export const px = (v: number): string => String(Math.round(v * 100) / 100)

// ================================================================ writing

/** Makes `dir` (and its parents) for an export; refuses a file or a folder that holds anything. */
export async function prepareExportDir(dir: string): Promise<void> {
  let entries: string[] | null = null
  try {
    entries = await fs.readdir(dir)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOTDIR') throw new ApiError('bad_input', `${dir} is a file, not a folder`)
    if (code !== 'ENOENT') throw new ApiError('bad_input', `cannot write to ${dir}: ${errnoReason(e)}`)
  }
  if (entries?.length)
    throw new ApiError('bad_input', `${dir} is not empty: export into a new or empty folder`)
  await fs.mkdir(dir, { recursive: true })
}

/** Raw pixels (IDX) as a lossless PNG: greyscale stays one channel. */
export async function rawToPng(
  bytes: Buffer,
  im: Pick<ImageExportRow, 'width' | 'height' | 'channels'>,
): Promise<Buffer> {
  const channels = im.channels as 1 | 2 | 3 | 4
  const img = sharp(bytes, { raw: { width: im.width, height: im.height, channels } })
  return (channels <= 2 ? img.toColourspace('b-w') : img).png().toBuffer()
}

/** Told how many of an export's images are done, out of how many. */
export type OnExportProgress = (done: number, total: number) => void

/** One tick per image an export has dealt with; reports at most every 100 ms, and always the last. */
export function exportProgress(total: number, on?: OnExportProgress): () => void {
  let done = 0
  let last = 0
  on?.(0, total)
  return () => {
    done++
    const now = Date.now()
    if (on && (done === total || now - last >= 100)) {
      last = now
      on(done, total)
    }
  }
}

/** An image's bytes as a file holds them: the stored bytes, or raw (IDX) pixels as PNG; null when gone. */
export async function imageFileBytes(db: DB, im: ImageExportRow): Promise<Buffer | null> {
  const stored = getImageBytes(db, im.id)
  if (!stored) return null
  return im.format === RAW_FORMAT ? rawToPng(stored.bytes, im) : stored.bytes
}

/** Writes a file, making its folder. */
export async function writeOut(file: string, data: Buffer | string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true })
  await fs.writeFile(file, data)
}

/** Counts of what an export could not write as it is, turned into sentences for its result. */
export class ExportNotes {
  private readonly counts = new Map<string, number>()
  add(what: string, n = 1): void {
    if (n > 0) this.counts.set(what, (this.counts.get(what) ?? 0) + n)
  }
  /** `what` holds `{n}` where the count goes. */
  list(): string[] {
    return [...this.counts].map(([what, n]) => what.replace('{n}', String(n)))
  }
}

/** A path as a POSIX shell word: quoted where it holds anything but safe characters. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

/** The regions a detection format can write; the rest are counted in `notes`. */
export function writableRegions(
  regions: readonly ExportRegion[],
  notes: ExportNotes,
  format: string,
): ExportRegion[] {
  const out: ExportRegion[] = []
  for (const r of regions) {
    if (r.classId === null) notes.add('{n} regions without a class were left out')
    else if (r.crowd) notes.add(`{n} crowd regions were left out: ${format} has no crowd flag`)
    else out.push(r)
  }
  return out
}

/** Regions grouped by their image, in the order given. */
export function regionsByImage<R extends { imageId: number }>(regions: readonly R[]): Map<number, R[]> {
  const byImage = new Map<number, R[]>()
  for (const r of regions) {
    const list = byImage.get(r.imageId)
    if (list) list.push(r)
    else byImage.set(r.imageId, [r])
  }
  return byImage
}

/** Refuses a detection export of a project whose labels are image tags only. */
export function refuseTagsOnly(
  db: DB,
  format: string,
  regions: readonly ExportRegion[],
  split?: Split,
): void {
  if (regions.some((r) => r.classId !== null)) return
  if (!tagsForExport(db, split).length) return
  throw new ApiError(
    'bad_input',
    `This project${split ? `'s ${split} split` : ''} has image tags only (classification), and ${format} holds boxes and polygons: ` +
      'nothing would be written. Export it with --format imagefolder (split/class/image folders) instead.',
  )
}
