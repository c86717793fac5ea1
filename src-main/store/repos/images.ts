import { ApiError } from '../../../src-shared/api/contract'
import type { ImageMeta, ImageStatus, Split } from '../../../src-shared/domain/types'
import { stratifiedSplit, type SplitRatiosLike } from '../../../src-shared/domain/splits'
import type { RegionAttributes } from '../../../src-shared/domain/regions'
import type { DB } from '../open'
import { stmt } from '../statements'

export interface NewImage {
  hash: string
  width: number
  height: number
  channels: number
  format: string
  bytes: Buffer
  /** null where the image itself is small enough to be its own thumbnail. */
  thumb: { mime: string; bytes: Buffer } | null
  source: string
  /** The split the source gave, kept on later automatic splits; null: `autoSplit` is used. */
  split: Split | null
  /**
   * Makes its split where the source gave none (see SplitQuota); called only once the image is known
   * to be new, so a duplicate takes no one's place.
   */
  autoSplit?: () => Split
  classId: number | null
  /** The status the source gives (an empty YOLO label file: reviewed, no objects); default: labeled where it has a tag or regions, else unlabeled. */
  status?: ImageStatus
}

export function hasHash(db: DB, hash: string): boolean {
  return stmt(db, 'SELECT 1 FROM images WHERE hash = ?').get(hash) !== undefined
}

/** A region that comes with an imported image: already clamped into the image and checked (regions.ts). */
export interface NewRegion {
  classId: number
  kind: 'box' | 'polygon' | 'mask'
  /** Normalised to the image; a mask's RLE is at the image's size, counts as a list of numbers. */
  geometry: unknown
  z: number
  /** A COCO crowd region (iscrowd 1). */
  crowd: boolean
  /** What the source says of it beyond shape and class (VOC's truncated, occluded, pose). */
  attributes?: RegionAttributes
}

/** Writes one image, its bytes, thumbnail, tag and regions; null when its hash is already stored. */
function insertOne(db: DB, im: NewImage, regions: readonly NewRegion[]): number | null {
  if (hasHash(db, im.hash)) return null
  const info = stmt(
    db,
    `INSERT INTO images (hash, width, height, channels, format, byte_size, split, split_locked, status, source)
     VALUES (@hash, @width, @height, @channels, @format, @byteSize, @split, @splitLocked, @status, @source)
     ON CONFLICT (hash) DO NOTHING`,
  ).run({
    hash: im.hash,
    width: im.width,
    height: im.height,
    channels: im.channels,
    format: im.format,
    byteSize: im.bytes.length,
    split: im.split ?? im.autoSplit?.() ?? 'train',
    splitLocked: im.split ? 1 : 0,
    status: im.status ?? (im.classId === null && !regions.length ? 'unlabeled' : 'labeled'),
    source: im.source,
  })
  if (info.changes === 0) return null
  const id = Number(info.lastInsertRowid)
  stmt(db, 'INSERT INTO image_data (image_id, bytes) VALUES (?, ?)').run(id, im.bytes)
  if (im.thumb)
    stmt(db, 'INSERT INTO thumbnails (image_id, mime, bytes) VALUES (?, ?, ?)').run(
      id,
      im.thumb.mime,
      im.thumb.bytes,
    )
  if (im.classId !== null)
    stmt(db, "INSERT INTO annotations (image_id, class_id, kind, origin) VALUES (?, ?, 'tag', 'import')").run(
      id,
      im.classId,
    )
  if (regions.length) {
    const ins = stmt(
      db,
      `INSERT INTO annotations (image_id, class_id, kind, geometry, z, origin, crowd, attributes)
       VALUES (?, ?, ?, ?, ?, 'import', ?, ?)`,
    )
    for (const r of regions)
      ins.run(
        id,
        r.classId,
        r.kind,
        JSON.stringify(r.geometry),
        r.z,
        r.crowd ? 1 : 0,
        r.attributes && Object.keys(r.attributes).length ? JSON.stringify(r.attributes) : null,
      )
  }
  return id
}

/**
 * Inserts a batch in one transaction: each image with its bytes, thumbnail, class tag and split, or
 * none of them. Images whose hash is already stored are skipped and counted as duplicates.
 */
export function insertImages(db: DB, batch: readonly NewImage[]): { added: number; duplicates: number } {
  return db
    .transaction(() => {
      let added = 0
      let duplicates = 0
      for (const im of batch) {
        if (insertOne(db, im, []) === null) duplicates++
        else added++
      }
      return { added, duplicates }
    })
    .immediate()
}

/**
 * Inserts one image with its regions (origin 'import') in one transaction: the image row, its bytes,
 * thumbnail, tag and every region land together or not at all. An image with regions is 'labeled'.
 * Returns the new image's id, or null (and writes nothing) when its hash is already stored.
 */
export function insertImageWithRegions(db: DB, im: NewImage, regions: readonly NewRegion[]): number | null {
  return db.transaction(() => insertOne(db, im, regions)).immediate()
}

/** What an export needs of each image, in id order; one split's images, or all. */
export interface ImageExportRow {
  id: number
  width: number
  height: number
  channels: number
  format: string
  source: string
  split: Split
  status: ImageStatus
}

export function imagesForExport(db: DB, split?: Split): ImageExportRow[] {
  const cols = 'SELECT id, width, height, channels, format, source, split, status FROM images'
  return (
    split ? stmt(db, `${cols} WHERE split = ? ORDER BY id`).all(split) : stmt(db, `${cols} ORDER BY id`).all()
  ) as ImageExportRow[]
}

/**
 * Makes a seeded split, stratified by class, for the given images (or, with ids omitted, for every
 * image whose source gave no split). Images whose split came from their source keep it.
 */
export function assignSplits(db: DB, ratios: SplitRatiosLike, seed: number, ids?: readonly number[]): void {
  const rows = stmt(
    db,
    `SELECT i.id AS id, a.class_id AS stratum FROM images i
     LEFT JOIN annotations a ON a.image_id = i.id AND a.kind = 'tag'
     WHERE i.split_locked = 0`,
  ).all() as { id: number; stratum: number | null }[]
  const wanted = ids ? new Set(ids) : null
  const items = wanted ? rows.filter((r) => wanted.has(r.id)) : rows
  const split = stratifiedSplit(items, ratios, seed)
  const upd = stmt(db, 'UPDATE images SET split = ? WHERE id = ?')
  db.transaction(() => {
    for (const [id, s] of split) upd.run(s, id)
  }).immediate()
}

/**
 * The automatically split images (those whose split neither the source nor the user chose), counted
 * per split for each class name (null: no class tag): where an import's SplitQuota starts.
 */
export function autoSplitCounts(db: DB): [string | null, Record<Split, number>][] {
  const rows = stmt(
    db,
    `SELECT c.name AS stratum, i.split AS split, COUNT(*) AS n FROM images i
     LEFT JOIN annotations a ON a.image_id = i.id AND a.kind = 'tag'
     LEFT JOIN classes c ON c.id = a.class_id
     WHERE i.split_locked = 0 GROUP BY c.name, i.split`,
  ).all() as { stratum: string | null; split: Split; n: number }[]
  const out = new Map<string | null, Record<Split, number>>()
  for (const r of rows) {
    let c = out.get(r.stratum)
    if (!c) out.set(r.stratum, (c = { train: 0, val: 0, test: 0 }))
    c[r.split] += r.n
  }
  return [...out]
}

/** Re-splits every image (the user's "re-split"), including those whose source gave a split. */
export function resplitAll(db: DB, ratios: SplitRatiosLike, seed: number): Record<string, number> {
  db.transaction(() => {
    stmt(db, 'UPDATE images SET split_locked = 0').run()
    assignSplits(db, ratios, seed)
  }).immediate()
  return splitCounts(db)
}

/** The user's own choice of split for some images; kept on later automatic splits. */
export function setSplit(db: DB, ids: readonly number[], split: Split): number {
  const upd = stmt(db, 'UPDATE images SET split = ?, split_locked = 1 WHERE id = ?')
  return db.transaction(() => ids.reduce((n, id) => n + upd.run(split, id).changes, 0)).immediate()
}

export function splitCounts(db: DB): Record<string, number> {
  const rows = stmt(db, 'SELECT split, COUNT(*) AS n FROM images GROUP BY split').all() as {
    split: string
    n: number
  }[]
  return Object.fromEntries(rows.map((r) => [r.split, r.n]))
}

export interface ImageFilter {
  split?: Split
  /** undefined: any; null: images without a class tag. */
  classId?: number | null
}

function whereFor(f: ImageFilter): { sql: string; params: unknown[] } {
  const conds: string[] = []
  const params: unknown[] = []
  if (f.split) {
    conds.push('i.split = ?')
    params.push(f.split)
  }
  if (f.classId === null) conds.push('a.class_id IS NULL')
  else if (f.classId !== undefined) {
    conds.push('a.class_id = ?')
    params.push(f.classId)
  }
  return { sql: conds.length ? `WHERE ${conds.join(' AND ')}` : '', params }
}

const IMAGE_COLUMNS = `i.id, i.hash, i.width, i.height, i.channels, i.format, i.split, i.status, i.source,
  a.class_id AS classId`
const FROM_IMAGES = `FROM images i LEFT JOIN annotations a ON a.image_id = i.id AND a.kind = 'tag'`

export function listImages(
  db: DB,
  f: ImageFilter,
  offset: number,
  limit: number,
): { total: number; items: ImageMeta[] } {
  const w = whereFor(f)
  const total = (stmt(db, `SELECT COUNT(*) AS n ${FROM_IMAGES} ${w.sql}`).get(...w.params) as { n: number }).n
  const items = stmt(
    db,
    `SELECT ${IMAGE_COLUMNS} ${FROM_IMAGES} ${w.sql} ORDER BY i.id LIMIT ? OFFSET ?`,
  ).all(...w.params, limit, offset) as ImageMeta[]
  return { total, items }
}

export interface StoredMedia {
  hash: string
  format: string
  width: number
  height: number
  channels: number
  /** The thumbnail's mime type; null where the image is its own thumbnail. */
  thumbMime: string | null
  bytes: Buffer
}

/** The stored thumbnail, or the image itself where it is small enough to be its own. */
export function getThumbnail(db: DB, id: number): StoredMedia | undefined {
  return stmt(
    db,
    `SELECT i.hash, i.format, i.width, i.height, i.channels, t.mime AS thumbMime, COALESCE(t.bytes, d.bytes) AS bytes
     FROM images i JOIN image_data d ON d.image_id = i.id LEFT JOIN thumbnails t ON t.image_id = i.id
     WHERE i.id = ?`,
  ).get(id) as StoredMedia | undefined
}

export function getImageBytes(db: DB, id: number): StoredMedia | undefined {
  return stmt(
    db,
    `SELECT i.hash, i.format, i.width, i.height, i.channels, NULL AS thumbMime, d.bytes
     FROM images i JOIN image_data d ON d.image_id = i.id WHERE i.id = ?`,
  ).get(id) as StoredMedia | undefined
}

// Images one at a time, as the editor walks them.

const META_SQL = `SELECT ${IMAGE_COLUMNS} ${FROM_IMAGES}`

export function getImageMeta(db: DB, id: number): ImageMeta | undefined {
  return stmt(db, `${META_SQL} WHERE i.id = ?`).get(id) as ImageMeta | undefined
}

export function requireImage(db: DB, id: number): ImageMeta {
  const m = getImageMeta(db, id)
  if (!m) throw new ApiError('not_found', `No image with id ${id}`)
  return m
}

/** The images around one, in id order (the library's order). */
export function imageNeighbors(
  db: DB,
  id: number,
  before: number,
  after: number,
): { index: number; total: number; items: ImageMeta[] } {
  const self = requireImage(db, id)
  const { n: index } = stmt(db, 'SELECT COUNT(*) AS n FROM images WHERE id < ?').get(id) as { n: number }
  const { n: total } = stmt(db, 'SELECT COUNT(*) AS n FROM images').get() as { n: number }
  const prev = stmt(db, `${META_SQL} WHERE i.id < ? ORDER BY i.id DESC LIMIT ?`).all(
    id,
    before,
  ) as ImageMeta[]
  const next = stmt(db, `${META_SQL} WHERE i.id > ? ORDER BY i.id LIMIT ?`).all(id, after) as ImageMeta[]
  return { index, total, items: [...prev.reverse(), self, ...next] }
}

/** The first unlabeled image after `after`, wrapping round to the start; null when there is none. */
export function nextUnlabeled(db: DB, after: number | null): number | null {
  const from = after ?? 0
  const row =
    (stmt(db, "SELECT id FROM images WHERE status = 'unlabeled' AND id > ? ORDER BY id LIMIT 1").get(from) as
      { id: number } | undefined) ??
    (stmt(db, "SELECT id FROM images WHERE status = 'unlabeled' AND id < ? ORDER BY id LIMIT 1").get(from) as
      { id: number } | undefined)
  return row?.id ?? null
}

export function setStatus(db: DB, ids: readonly number[], status: ImageStatus): number {
  const upd = stmt(db, 'UPDATE images SET status = ? WHERE id = ? AND status <> ?')
  return db.transaction(() => ids.reduce((n, id) => n + upd.run(status, id, status).changes, 0)).immediate()
}

/**
 * After annotations were deleted elsewhere (a class deleted with its annotations): images marked
 * labeled that have nothing left go back to unlabeled. Reviewed images stay reviewed.
 */
export function refreshStatuses(db: DB, imageIds: readonly number[]): void {
  const upd = stmt(
    db,
    `UPDATE images SET status = 'unlabeled' WHERE id = ? AND status = 'labeled'
     AND NOT EXISTS (SELECT 1 FROM annotations a WHERE a.image_id = images.id)`,
  )
  for (const id of imageIds) upd.run(id)
}

/** Every unlabeled image, in id order (what pre-labelling does by default). */
export function unlabeledImageIds(db: DB): number[] {
  return (
    stmt(db, "SELECT id FROM images WHERE status = 'unlabeled' ORDER BY id").all() as { id: number }[]
  ).map((r) => r.id)
}
