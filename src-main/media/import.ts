import { createHash } from 'node:crypto'
import type {
  ImportFailure,
  ImportProgress,
  ImportReport,
  ImportRequestParsed,
} from '../../src-shared/api/contract'
import { CLASS_PRESET_NAMES } from '../../src-shared/domain/classes'
import { DEFAULT_SPLIT_RATIOS, SplitQuota } from '../../src-shared/domain/splits'
import type { DB } from '../store/open'
import { ensureClass } from '../store/repos/classes'
import type { Size } from '../../src-shared/domain/geometry'
import {
  autoSplitCounts,
  hasHash,
  insertImages,
  insertImageWithRegions,
  type NewImage,
} from '../store/repos/images'
import { DecodeError, decodeImage, RAW_FORMAT } from './decode'
import { DEFAULT_MAX_FILE_MB, ReadCancelled, readRegularFile, ReadError, type ReadOptions } from './read'
import { scanSources } from './formats'
import { rawPixelsHash } from './formats/idx'
import type { ImportUnit, UnitRegion } from './formats/types'

/** Images decoded at once (sharp runs them on its own thread pool). */
const CONCURRENCY = 16
/** Images written per transaction, at most. */
const BATCH = 512
/** A batch is also written once it has waited this long, so other writers get turns and work is kept. */
const BATCH_MS = 500
/** Or once it holds this many bytes, so that no one transaction keeps other writers waiting for long. */
const BATCH_BYTES = 64 * 2 ** 20

export interface ImportOptions {
  signal?: AbortSignal
  onProgress?: (p: Omit<ImportProgress, 'jobId'>) => void
  /** Milliseconds between progress reports. */
  progressEveryMs?: number
  /** Images written per transaction at most (default 512). */
  batchSize?: number
  /** How the user raises the file size limit, for the message (the CLI: `--max-file-mb`). */
  raiseHint?: string
}

type Pending = Omit<NewImage, 'classId'> & {
  className: string | null
  /**
   * Set for images from a format module (./formats): their regions, written with the image in its
   * own transaction, and report rows about its annotations.
   */
  regions?: UnitRegion[]
  notes?: ImportFailure[]
}

interface Unit {
  /** What a failure is reported against. */
  path: string
  /** The part of the file that is bad, where the file holds many. */
  element?: string
  prepare: () => Promise<Pending | 'duplicate'>
  /** Lets go of what prepare() read (kept until then for a second decode). */
  release?: () => void
}

function sha256(...parts: (Buffer | string)[]): string {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest('hex')
}

/**
 * Reads once, until released: a unit prepared again (to decode it on its own) reuses what it read,
 * and release() lets the bytes go once the unit is written.
 */
function readOnce<T>(read: () => Promise<T>): { get: () => Promise<T>; release: () => void } {
  let got: Promise<T> | null = null
  return { get: () => (got ??= read()), release: () => (got = null) }
}

/** Reads a unit's image from the first of its places that exists. */
async function readUnitFile(u: ImportUnit, read: ReadOptions): Promise<{ file: string; bytes: Buffer }> {
  const places = [u.file, ...u.alternatives]
  for (let i = 0; i < places.length; i++) {
    try {
      return { file: places[i]!, bytes: await readRegularFile(places[i]!, read) }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      if (i === places.length - 1)
        throw new ReadError(
          `image file not found${u.alternatives.length ? ` (nor at ${u.alternatives.join(', ')})` : ''}`,
        )
    }
  }
  throw new ReadError('image file not found')
}

/** Bytes a source embeds (labelme's imageData); a failure to read them is the unit's failure. */
async function readEmbedded(read: () => Promise<Buffer>): Promise<Buffer> {
  try {
    return await read()
  } catch (e) {
    throw e instanceof DecodeError ? e : new DecodeError(`embedded image unreadable: ${(e as Error).message}`)
  }
}

/**
 * A unit's regions at the decoded image's size. Where the source states another size, that is
 * reported; the annotations are kept (normalised to the real size) when every one that reads at the
 * stated size also reads at the real one, and are all skipped otherwise.
 */
function unitRegions(
  u: ImportUnit,
  real: Size,
  file: string,
): { regions: UnitRegion[]; notes: ImportFailure[] } {
  const atReal = u.annotations(real)
  const regions: UnitRegion[] = []
  const notes: ImportFailure[] = []
  const d = u.declaredSize
  if (d && (d.width !== real.width || d.height !== real.height)) {
    const fits = u.annotations(d).every((a, i) => 'failure' in a || 'region' in atReal[i]!)
    const n = u.annotationCount
    const what = `the source says the image is ${d.width}×${d.height}, but the file is ${real.width}×${real.height}`
    const reason =
      n === 0
        ? `${what} (it has no annotations)`
        : fits
          ? `${what}: its annotations fit the file's size, and were kept`
          : `${what}, and its annotations do not fit the file's size: its ${n} annotation${n === 1 ? ' was' : 's were'} skipped`
    notes.push({ path: file, element: u.element, reason })
    if (!fits) return { regions, notes }
  }
  for (const a of atReal) {
    if ('region' in a) regions.push(a.region)
    else notes.push(a.failure)
  }
  return { regions, notes }
}

/** An image from a format module (./formats), with its class and annotations. */
function formatUnit(db: DB, u: ImportUnit, read: ReadOptions): Unit {
  const load = readOnce(() =>
    u.read ? readEmbedded(u.read).then((bytes) => ({ file: u.file, bytes })) : readUnitFile(u, read),
  )
  return {
    path: u.file,
    ...(u.element && { element: u.element }),
    release: load.release,
    prepare: async () => {
      const { file, bytes } = await load.get()
      const hash = u.raw ? rawPixelsHash(bytes, u.raw) : sha256(bytes)
      if (hasHash(db, hash)) return 'duplicate'
      // Raw pixels (IDX) are kept as they are: compact, exact, and ready for training. The web host
      // encodes them as PNG when a thumbnail is asked for.
      const d = u.raw ? { ...u.raw, format: RAW_FORMAT, thumb: null } : await decodeImage(bytes)
      const { regions, notes } = unitRegions(u, { width: d.width, height: d.height }, file)
      return {
        hash,
        width: d.width,
        height: d.height,
        channels: d.channels,
        format: d.format,
        bytes,
        thumb: d.thumb,
        source: file,
        split: u.split,
        className: u.className ?? null,
        ...(u.status && { status: u.status }),
        regions,
        notes,
      }
    },
  }
}

/**
 * Imports what the registry's formats (./formats) read: image files and class-per-folder trees, IDX
 * pairs, COCO, YOLO, Pascal VOC and labelme. Each bad file (or bad part of one) is reported with its
 * path, element and reason and the rest goes on. Images with regions are written each with its
 * regions in one transaction; the others, with their class tags, in batches of one transaction each.
 * So a killed import leaves only whole images behind. Cancel keeps what was already written.
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
  // Each image without a split from its source gets its final one in the transaction that writes
  // it (see SplitQuota): a killed import leaves its images split as they will stay, and a re-run
  // splits the rest exactly as one uninterrupted import would have.
  const quota = new SplitQuota(req.splitRatios ?? DEFAULT_SPLIT_RATIOS, req.seed ?? 42, autoSplitCounts(db))
  const autoSplit = (p: Pending) => () => quota.next(p.className, p.hash)
  const report = (phase: ImportProgress['phase'], force = false, current?: string) => {
    const now = Date.now()
    if (!opts.onProgress || (!force && now - lastReport < every)) return
    lastReport = now
    opts.onProgress({ phase, done, total, added, duplicates, failed: failed.length, current })
  }

  const read: ReadOptions = {
    maxBytes: (req.maxFileMb ?? DEFAULT_MAX_FILE_MB) * 2 ** 20,
    ...(opts.signal && { signal: opts.signal }),
    raiseHint: opts.raiseHint ?? 'the import dialog\'s "Largest file (MB)"',
  }
  const names = req.classNames ?? (req.preset ? CLASS_PRESET_NAMES[req.preset] : undefined)

  report('scanning', true)
  const scan = await scanSources(req.paths, req.format, {
    ...(req.images && { images: req.images }),
    ...(names && { classNames: names }),
  })
  failed.push(...scan.failures)
  const classOrder = new Set(scan.classes)
  const units: Unit[] = scan.units.map((u) => formatUnit(db, u, read))
  total = units.length

  let pending: Pending[] = []
  let pendingSince = Date.now()
  let pendingBytes = 0
  let classesMade = false
  // New classes are made, in order, in the first transaction that writes an image.
  const makeClasses = (made: string[]) => {
    if (!classesMade) for (const name of classOrder) if (ensureClass(db, name).created) made.push(name)
  }
  const flush = () => {
    const batch = pending
    pending = []
    pendingBytes = 0
    const made: string[] = []
    db.transaction(() => {
      makeClasses(made)
      const withIds: NewImage[] = batch.map((p) => ({
        ...p,
        autoSplit: autoSplit(p),
        classId: p.className === null ? null : ensureClass(db, p.className).id,
      }))
      const r = insertImages(db, withIds)
      added += r.added
      duplicates += r.duplicates
    }).immediate()
    classesMade = true
    classesCreated.push(...made)
  }
  /** One image with its regions, in one transaction (with the classes, the first time). */
  const writeWithRegions = (p: Pending) => {
    const { regions = [], notes = [], className: _c, ...image } = p
    const made: string[] = []
    const id = db
      .transaction(() => {
        makeClasses(made)
        return insertImageWithRegions(
          db,
          { ...image, autoSplit: autoSplit(p), classId: null },
          regions.map((r, z) => ({
            classId: ensureClass(db, r.className).id,
            kind: r.shape.kind,
            geometry: r.shape.geometry,
            z,
            crowd: r.crowd,
            ...(r.attributes && { attributes: r.attributes }),
          })),
        )
      })
      .immediate()
    classesMade = true
    classesCreated.push(...made)
    if (id === null) {
      duplicates++
      return
    }
    added++
    failed.push(...notes)
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
      const r = results[i]!
      if (r.status === 'rejected' && !(r.reason instanceof ReadError)) {
        results[i] = await chunk[i]!.prepare().then(
          (value) => ({ status: 'fulfilled', value }) as const,
          (reason: unknown) => ({ status: 'rejected', reason }) as const,
        )
      }
    }
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        if (r.value === 'duplicate') duplicates++
        // An image with regions (or with report rows about them) is written with them in a
        // transaction of its own; the rest (with a class tag at most) in batches.
        else if (r.value.regions?.length || r.value.notes?.length) {
          // What waits is written first, so images keep the source's order.
          if (pending.length) flush()
          writeWithRegions(r.value)
        } else {
          if (!pending.length) pendingSince = Date.now()
          pending.push(r.value)
          pendingBytes += r.value.bytes.length
        }
      } else if (r.reason instanceof ReadCancelled) {
        // Stopped by cancel, not the file's fault: left for a re-run, not reported.
      } else {
        const reason = r.reason instanceof Error ? r.reason.message : String(r.reason)
        const { path, element } = chunk[i]!
        failed.push(element ? { path, element, reason } : { path, reason })
      }
    })
    for (const u of chunk) u.release?.()
    done += chunk.length
    if (
      pending.length >= (opts.batchSize ?? BATCH) ||
      pendingBytes >= BATCH_BYTES ||
      (pending.length && Date.now() - pendingSince > BATCH_MS)
    ) {
      flush()
      // A turn for the event loop, and so for the editor's saves on this connection.
      await new Promise((resolve) => setImmediate(resolve))
    }
    report('importing', false, chunk[chunk.length - 1]!.path)
  }
  if (pending.length) flush()

  report('done', true)
  return {
    added,
    duplicates,
    ignored: scan.ignored ?? 0,
    failed,
    classesCreated,
    cancelled,
    durationMs: Date.now() - started,
  }
}
