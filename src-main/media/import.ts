import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import type {
  ImportFailure,
  ImportProgress,
  ImportReport,
  ImportRequestParsed,
} from '../../src-shared/api/contract'
import { CLASS_PRESET_NAMES } from '../../src-shared/domain/classes'
import { DEFAULT_SPLIT_RATIOS } from '../../src-shared/domain/splits'
import type { DB } from '../store/open'
import { ensureClass } from '../store/repos/classes'
import { assignSplits, hasHash, insertImages, type NewImage } from '../store/repos/images'
import { DecodeError, decodeImage, RAW_FORMAT } from './decode'
import { IdxError, readIdx, type IdxArray } from './idx'
import { scanSources, type ScanItem } from './scan'

/** Images decoded at once (sharp runs them on its own thread pool). */
const CONCURRENCY = 16
/** Images written per transaction. */
const BATCH = 512

export interface ImportOptions {
  signal?: AbortSignal
  onProgress?: (p: Omit<ImportProgress, 'jobId'>) => void
  /** Milliseconds between progress reports. */
  progressEveryMs?: number
}

type Pending = Omit<NewImage, 'classId'> & { className: string | null }

interface Unit {
  /** What a failure is reported against. */
  path: string
  prepare: () => Promise<Pending | 'duplicate'>
}

function sha256(...parts: (Buffer | string)[]): string {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest('hex')
}

function fileUnit(db: DB, item: Extract<ScanItem, { kind: 'file' }>): Unit {
  return {
    path: item.path,
    prepare: async () => {
      let bytes: Buffer
      try {
        bytes = await fs.readFile(item.path)
      } catch (e) {
        const err = e as NodeJS.ErrnoException
        const why =
          err.code === 'ELOOP'
            ? 'symlink loop: the link points back to itself'
            : err.code === 'EACCES' || err.code === 'EPERM'
              ? 'unreadable: permission denied'
              : err.code === 'EISDIR'
                ? 'is a folder, not a file'
                : `unreadable: ${err.message}`
        throw new DecodeError(why)
      }
      const hash = sha256(bytes)
      if (hasHash(db, hash)) return 'duplicate'
      const d = await decodeImage(bytes)
      return {
        hash,
        width: d.width,
        height: d.height,
        channels: d.channels,
        format: d.format,
        bytes,
        thumb: d.thumb,
        source: item.path,
        split: item.split,
        className: item.className,
      }
    },
  }
}

interface IdxSet {
  item: Extract<ScanItem, { kind: 'idx' }>
  images: IdxArray
  labels: IdxArray | null
  width: number
  height: number
  channels: 1 | 3
}

/** Reads and checks an IDX pair: image dimensions, label range, and that the counts agree. */
async function loadIdx(item: Extract<ScanItem, { kind: 'idx' }>): Promise<IdxSet> {
  const images = await readIdx(item.images)
  const [n, height, width, ch] = images.dims
  if (images.dims.length < 3 || !height || !width || (ch !== undefined && ch !== 1 && ch !== 3)) {
    throw new IdxError(
      `expected N×H×W or N×H×W×C (C 1 or 3) images, got ${images.dims.join('×')}`,
      item.images,
    )
  }
  let labels: IdxArray | null = null
  if (item.labels) {
    const file = item.labels
    labels = await readIdx(file)
    if (labels.dims.length !== 1)
      throw new IdxError(`labels must be one-dimensional, got ${labels.dims.join('×')}`, file)
    if (labels.dims[0] !== n)
      throw new IdxError(`${labels.dims[0]} labels for ${n} images in ${item.images}`, file)
  }
  return { item, images, labels, width, height, channels: ch === 3 ? 3 : 1 }
}

function idxUnits(db: DB, set: IdxSet, names: readonly string[] | undefined): Unit[] {
  const { width, height, channels } = set
  const size = width * height * channels
  const n = set.images.dims[0]!
  const units: Unit[] = []
  for (let i = 0; i < n; i++) {
    units.push({
      path: `${set.item.images}#${i}`,
      prepare: async () => {
        const pixels = set.images.data.subarray(i * size, (i + 1) * size)
        const hash = sha256(`idx:${width}x${height}x${channels}:`, pixels)
        if (hasHash(db, hash)) return 'duplicate'
        const label = set.labels ? set.labels.data[i]! : null
        return {
          hash,
          width,
          height,
          channels,
          // Kept as the raw pixels IDX holds: compact, exact, and ready for training.
          // The web host encodes them as PNG when a thumbnail is asked for.
          format: RAW_FORMAT,
          bytes: Buffer.from(pixels),
          thumb: null,
          source: `${set.item.images}#${i}`,
          split: set.item.split,
          className: label === null ? null : (names?.[label] ?? String(label)),
        }
      },
    })
  }
  return units
}

/**
 * Imports files, folders, class-per-folder trees and IDX pairs into the project. Each bad file
 * is reported with its path and reason and the rest goes on. Work is written in batches, each in
 * one transaction, so a killed import leaves only whole images behind. Cancel keeps the batches
 * already written.
 */
export async function runImport(
  db: DB,
  req: ImportRequestParsed,
  opts: ImportOptions = {},
): Promise<ImportReport> {
  const started = Date.now()
  const every = opts.progressEveryMs ?? 100
  const failed: ImportFailure[] = []
  let added = 0
  let duplicates = 0
  let done = 0
  let total = 0
  let lastReport = 0
  const classesCreated: string[] = []
  const unsplit: number[] = []
  const report = (phase: ImportProgress['phase'], force = false, current?: string) => {
    const now = Date.now()
    if (!opts.onProgress || (!force && now - lastReport < every)) return
    lastReport = now
    opts.onProgress({ phase, done, total, added, duplicates, failed: failed.length, current })
  }

  report('scanning', true)
  const scan = await scanSources(req.paths, req.format)
  failed.push(...scan.failures)

  const names = req.classNames ?? (req.preset ? CLASS_PRESET_NAMES[req.preset] : undefined)
  const units: Unit[] = []
  // Class order: IDX labels in label order, then folder classes in name order.
  const classOrder = new Set<string>()
  for (const item of scan.items) {
    if (item.kind === 'file') {
      units.push(fileUnit(db, item))
      continue
    }
    try {
      const set = await loadIdx(item)
      if (set.labels) {
        const present = [...new Set(set.labels.data)].sort((a, b) => a - b)
        for (const l of present) classOrder.add(names?.[l] ?? String(l))
      }
      units.push(...idxUnits(db, set, names))
    } catch (e) {
      const reason = e instanceof IdxError ? e.message : `unreadable: ${(e as Error).message}`
      failed.push({ path: (e instanceof IdxError && e.path) || item.images, reason })
    }
  }
  const folderClasses = [
    ...new Set(scan.items.flatMap((it) => (it.kind === 'file' && it.className ? [it.className] : []))),
  ].sort()
  for (const c of folderClasses) classOrder.add(c)
  total = units.length

  let pending: Pending[] = []
  let classesMade = false
  const flush = () => {
    const batch = pending
    pending = []
    db.transaction(() => {
      if (!classesMade) {
        for (const name of classOrder) if (ensureClass(db, name).created) classesCreated.push(name)
      }
      const withIds: NewImage[] = batch.map((p) => ({
        ...p,
        classId: p.className === null ? null : ensureClass(db, p.className).id,
      }))
      const r = insertImages(db, withIds)
      added += r.added
      duplicates += r.duplicates
      unsplit.push(...r.unsplit)
    })()
    classesMade = true
  }

  let cancelled = false
  for (let start = 0; start < units.length; start += CONCURRENCY) {
    if (opts.signal?.aborted) {
      cancelled = true
      break
    }
    const chunk = units.slice(start, start + CONCURRENCY)
    const results = await Promise.allSettled(chunk.map((u) => u.prepare()))
    // libvips reports errors per thread, so a failure decoded beside others can carry another
    // file's message, or none. Failures are rare: decode each again on its own for its true reason.
    for (let i = 0; i < results.length; i++) {
      if (results[i]!.status === 'rejected') {
        results[i] = await chunk[i]!.prepare().then(
          (value) => ({ status: 'fulfilled', value }) as const,
          (reason: unknown) => ({ status: 'rejected', reason }) as const,
        )
      }
    }
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        if (r.value === 'duplicate') duplicates++
        else pending.push(r.value)
      } else {
        const reason = r.reason instanceof Error ? r.reason.message : String(r.reason)
        failed.push({ path: chunk[i]!.path, reason })
      }
    })
    done += chunk.length
    if (pending.length >= BATCH) flush()
    report('importing', false, chunk[chunk.length - 1]!.path)
  }
  if (pending.length) flush()

  if (unsplit.length) {
    report('splitting', true)
    assignSplits(db, req.splitRatios ?? DEFAULT_SPLIT_RATIOS, req.seed ?? 42, unsplit)
  }
  report('done', true)
  return {
    added,
    duplicates,
    ignored: scan.ignored,
    failed,
    classesCreated,
    cancelled,
    durationMs: Date.now() - started,
  }
}
