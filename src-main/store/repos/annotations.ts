/**
 * Annotations (tags and regions). Regions are stored
 * with their geometry as JSON, normalised to the image; masks as COCO-style RLE at the image's size.
 * Every batch of edits is one transaction: it lands whole or not at all.
 */
import type { ImageForEditor, SaveResult } from '../../../src-shared/api/annotate'
import {
  clampShape,
  RegionShape,
  shapeProblem,
  type Annotation,
  type ModelSource,
  type Origin,
  type RegionProps,
  RegionAttributes,
} from '../../../src-shared/domain/regions'
import type { ImageStatus, Split } from '../../../src-shared/domain/types'
import type { DB } from '../open'
import { stmt } from '../statements'
import { requireImage } from './images'

const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"

// ---------------------------------------------------------------- reading

interface Row {
  id: number
  class_id: number | null
  kind: 'tag' | 'box' | 'polygon' | 'mask'
  geometry: string
  z: number
  hidden: number
  locked: number
  origin: Origin
  source_run_id: number | null
  source_score: number | null
}

/** Parses one stored row; undefined where its geometry does not read as its kind. */
function rowToAnnotation(r: Row): Annotation | undefined {
  let geometry: unknown
  try {
    geometry = JSON.parse(r.geometry)
  } catch {
    return undefined
  }
  const shape = RegionShape.safeParse({ kind: r.kind, geometry })
  if (!shape.success) return undefined
  return {
    ...(shape.data as Annotation),
    id: r.id,
    classId: r.class_id,
    z: r.z,
    hidden: !!r.hidden,
    locked: !!r.locked,
    origin: r.origin,
    ...(r.origin === 'model' && { source: { runId: r.source_run_id, score: r.source_score } }),
  }
}

/** An image with its tag and regions, lowest z first. */
export function getImageForEditor(db: DB, id: number): ImageForEditor {
  const image = requireImage(db, id)
  const rows = stmt(
    db,
    'SELECT id, class_id, kind, geometry, z, hidden, locked, origin, source_run_id, source_score FROM annotations WHERE image_id = ? ORDER BY z, id',
  ).all(id) as Row[]
  let tag: number | null = null
  let skipped = 0
  const annotations: Annotation[] = []
  for (const r of rows) {
    if (r.kind === 'tag') {
      tag = r.class_id
      continue
    }
    const a = rowToAnnotation(r)
    if (a) annotations.push(a)
    else skipped++
  }
  return { image, tag, annotations, skipped }
}

// ---------------------------------------------------------------- writing

export type PutRegion = (
  | { kind: 'box'; geometry: unknown }
  | { kind: 'polygon'; geometry: unknown }
  | { kind: 'mask'; geometry: unknown }
) &
  RegionProps & { key: string; id: number | null; origin?: Origin; source?: ModelSource }

export interface SaveBatch {
  imageId: number
  puts: readonly PutRegion[]
  deletes: readonly number[]
  tag?: number | null
  status?: ImageStatus
}

/**
 * Remembers which row each editor key was written to, so that a batch sent twice writes once. A row is
 * named by its id and its creation time, so a row id that SQLite hands out again after a delete is
 * never mistaken for the old row.
 */
export class KeyIds {
  private readonly map = new Map<string, { id: number; createdAt: string }>()
  constructor(private readonly limit = 50_000) {}
  get(key: string): { id: number; createdAt: string } | undefined {
    return this.map.get(key)
  }
  set(key: string, row: { id: number; createdAt: string }): void {
    this.map.delete(key)
    this.map.set(key, row)
    if (this.map.size > this.limit) this.map.delete(this.map.keys().next().value!)
  }
}

/**
 * Writes a batch of edits to one image in one transaction. Each put is clamped into the image and
 * checked; a degenerate one (or one whose class is gone) is refused and reported, the rest are written.
 * With `keyIds`, a put without an id whose key was written before updates that row instead of adding
 * another: a batch resent after its answer was lost (a page closing, a dropped connection) writes once.
 */
export function saveAnnotations(db: DB, batch: SaveBatch, keyIds?: KeyIds): SaveResult {
  const classExists = stmt(db, 'SELECT 1 FROM classes WHERE id = ?')
  const del = stmt(db, "DELETE FROM annotations WHERE id = ? AND image_id = ? AND kind <> 'tag'")
  const upd = stmt(
    db,
    `UPDATE annotations SET class_id = @classId, kind = @kind, geometry = @geometry, z = @z, hidden = @hidden,
       locked = @locked, updated_at = ${NOW}
     WHERE id = @id AND image_id = @imageId AND kind <> 'tag'`,
  )
  const updKnown = stmt(
    db,
    `UPDATE annotations SET class_id = @classId, kind = @kind, geometry = @geometry, z = @z, hidden = @hidden,
       locked = @locked, updated_at = ${NOW}
     WHERE id = @id AND created_at = @createdAt AND image_id = @imageId AND kind <> 'tag'`,
  )
  const createdAt = stmt(db, 'SELECT created_at AS c FROM annotations WHERE id = ?')
  const ins = stmt(
    db,
    `INSERT INTO annotations (image_id, class_id, kind, geometry, z, hidden, locked, origin, source_run_id, source_score)
     VALUES (@imageId, @classId, @kind, @geometry, @z, @hidden, @locked, @origin,
       (SELECT id FROM runs WHERE id = @sourceRunId), @sourceScore)`,
  )
  const tagUpd = stmt(
    db,
    `UPDATE annotations SET class_id = ?, updated_at = ${NOW} WHERE image_id = ? AND kind = 'tag'`,
  )
  const tagIns = stmt(
    db,
    "INSERT INTO annotations (image_id, class_id, kind, origin) VALUES (?, ?, 'tag', 'user')",
  )
  const tagDel = stmt(db, "DELETE FROM annotations WHERE image_id = ? AND kind = 'tag'")

  return db
    .transaction((): SaveResult => {
      const image = requireImage(db, batch.imageId)
      const size = { width: image.width, height: image.height }
      const ids: SaveResult['ids'] = []
      const rejected: SaveResult['rejected'] = []
      let tagRejected: string | undefined

      for (const id of batch.deletes) del.run(id, batch.imageId)

      for (const p of batch.puts) {
        const parsed = RegionShape.safeParse({ kind: p.kind, geometry: p.geometry })
        if (!parsed.success) {
          rejected.push({ key: p.key, reason: `not a valid ${p.kind}` })
          continue
        }
        const shape = clampShape(parsed.data as Parameters<typeof clampShape>[0])
        const problem = shapeProblem(shape, size)
        if (problem) {
          rejected.push({ key: p.key, reason: problem })
          continue
        }
        if (p.classId !== null && !classExists.get(p.classId)) {
          rejected.push({ key: p.key, reason: `class ${p.classId} no longer exists` })
          continue
        }
        const row = {
          imageId: batch.imageId,
          classId: p.classId,
          kind: shape.kind,
          geometry: JSON.stringify(shape.geometry),
          z: p.z,
          hidden: p.hidden ? 1 : 0,
          locked: p.locked ? 1 : 0,
          origin: p.origin ?? 'user',
        }
        const source = {
          sourceRunId: p.origin === 'model' ? (p.source?.runId ?? null) : null,
          sourceScore: p.origin === 'model' ? (p.source?.score ?? null) : null,
        }
        const known = p.id === null ? keyIds?.get(p.key) : undefined
        if (p.id !== null && upd.run({ ...row, id: p.id }).changes === 1) ids.push({ key: p.key, id: p.id })
        else if (known && updKnown.run({ ...row, ...known }).changes === 1)
          ids.push({ key: p.key, id: known.id })
        else {
          const id = Number(ins.run({ ...row, ...source }).lastInsertRowid)
          keyIds?.set(p.key, { id, createdAt: (createdAt.get(id) as { c: string }).c })
          ids.push({ key: p.key, id })
        }
      }

      if (batch.tag !== undefined) {
        if (batch.tag === null) tagDel.run(batch.imageId)
        else if (!classExists.get(batch.tag)) tagRejected = `class ${batch.tag} no longer exists`
        else if (tagUpd.run(batch.tag, batch.imageId).changes === 0) tagIns.run(batch.imageId, batch.tag)
      }
      if (batch.status) stmt(db, 'UPDATE images SET status = ? WHERE id = ?').run(batch.status, batch.imageId)
      const { status } = stmt(db, 'SELECT status FROM images WHERE id = ?').get(batch.imageId) as {
        status: ImageStatus
      }
      return { ids, rejected, status, ...(tagRejected ? { tagRejected } : {}) }
    })
    .immediate()
}

// ---------------------------------------------------------------- exporting

/** A stored region as an export reads it: its shape parsed, its class, and whether it is a crowd. */
function readAttributes(text: string | null): RegionAttributes {
  if (!text) return {}
  try {
    const parsed = RegionAttributes.safeParse(JSON.parse(text))
    return parsed.success ? parsed.data : {}
  } catch {
    return {}
  }
}

export interface ExportRegion {
  id: number
  imageId: number
  classId: number | null
  crowd: boolean
  shape: RegionShape
  /** What the source gave beyond shape and class (see NewRegion.attributes); {} where nothing. */
  attributes: RegionAttributes
}

/**
 * The regions (not tags) of one split's images, or of all, in image then drawing order. Rows whose
 * geometry does not read as their kind are left out, as the editor leaves them out.
 */
export function regionsForExport(db: DB, split?: Split): ExportRegion[] {
  const sql = `SELECT a.id, a.image_id AS imageId, a.class_id AS classId, a.kind, a.geometry, a.crowd, a.attributes
     FROM annotations a JOIN images i ON i.id = a.image_id
     WHERE a.kind IN ('box', 'polygon', 'mask')${split ? ' AND i.split = ?' : ''}
     ORDER BY a.image_id, a.z, a.id`
  const rows = (split ? stmt(db, sql).all(split) : stmt(db, sql).all()) as {
    id: number
    imageId: number
    classId: number | null
    kind: RegionShape['kind']
    geometry: string
    crowd: number
    attributes: string | null
  }[]
  const out: ExportRegion[] = []
  for (const r of rows) {
    let geometry: unknown
    try {
      geometry = JSON.parse(r.geometry)
    } catch {
      continue
    }
    const shape = RegionShape.safeParse({ kind: r.kind, geometry })
    if (!shape.success) continue
    out.push({
      id: r.id,
      imageId: r.imageId,
      classId: r.classId,
      crowd: r.crowd === 1,
      shape: shape.data as RegionShape,
      attributes: readAttributes(r.attributes),
    })
  }
  return out
}

/** The class tag of each tagged image of one split, or of all, in image order (ImageFolder export). */
export function tagsForExport(db: DB, split?: Split): { imageId: number; classId: number }[] {
  const sql = `SELECT a.image_id AS imageId, a.class_id AS classId
     FROM annotations a JOIN images i ON i.id = a.image_id
     WHERE a.kind = 'tag' AND a.class_id IS NOT NULL${split ? ' AND i.split = ?' : ''}
     ORDER BY a.image_id, a.id`
  return (split ? stmt(db, sql).all(split) : stmt(db, sql).all()) as { imageId: number; classId: number }[]
}
