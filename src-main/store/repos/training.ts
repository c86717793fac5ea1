/**
 * The queries that build training sets, for every task: which classes have labels in which split,
 * the project's typical image size, and the rows each task's feed loads. The only SQL the trainer
 * process runs besides the runs repo.
 */
import type { RegionKind, Split } from '../../../src-shared/domain/types'
import type { DB } from '../open'
import { stmt } from '../statements'

export interface ClassSplitCounts {
  id: number
  name: string
  count: number
  bySplit: Record<string, number>
}

function groupBySplit(rows: { id: number; name: string; split: string; n: number }[]): ClassSplitCounts[] {
  const out = new Map<number, ClassSplitCounts>()
  for (const r of rows) {
    const c = out.get(r.id) ?? { id: r.id, name: r.name, count: 0, bySplit: {} }
    c.count += r.n
    c.bySplit[r.split] = r.n
    out.set(r.id, c)
  }
  return [...out.values()]
}

/** Classes with tagged images, in class order. */
export function taggedClasses(db: DB): ClassSplitCounts[] {
  return groupBySplit(
    stmt(
      db,
      `SELECT c.id, c.name, i.split, COUNT(*) AS n FROM classes c
       JOIN annotations a ON a.class_id = c.id AND a.kind = 'tag' JOIN images i ON i.id = a.image_id
       GROUP BY c.id, i.split ORDER BY c.position, c.id`,
    ).all() as { id: number; name: string; split: string; n: number }[],
  )
}

/** The most common size of the images that have a class tag. */
export function dominantTaggedSize(db: DB): { width: number; height: number; channels: number } | undefined {
  return stmt(
    db,
    `SELECT i.width, i.height, i.channels, COUNT(*) AS n FROM images i
     JOIN annotations a ON a.image_id = i.id AND a.kind = 'tag'
     GROUP BY i.width, i.height, i.channels ORDER BY n DESC LIMIT 1`,
  ).get() as { width: number; height: number; channels: number } | undefined
}

export interface TaggedImageRow {
  id: number
  hash: string
  format: string
  width: number
  height: number
  channels: number
  split: Split
  classId: number
}

/** Every image with a class tag, in id order. */
export function taggedImages(db: DB): TaggedImageRow[] {
  return stmt(
    db,
    `SELECT i.id, i.hash, i.format, i.width, i.height, i.channels, i.split, a.class_id AS classId
     FROM images i JOIN annotations a ON a.image_id = i.id AND a.kind = 'tag' ORDER BY i.id`,
  ).all() as TaggedImageRow[]
}

/** The stored bytes of an image (encoded, or raw pixels for IDX imports). */
export function imageBytesReader(db: DB): (imageId: number) => Buffer {
  const get = stmt(db, 'SELECT bytes FROM image_data WHERE image_id = ?')
  return (id) => (get.get(id) as { bytes: Buffer }).bytes
}

// ---------------------------------------------------------------- detection and segmentation

export interface RegionClassCounts extends ClassSplitCounts {
  /** Regions by kind (box, polygon, mask) over all splits. */
  byKind: Record<string, number>
}

/** Classes that have regions (boxes, polygons, masks; crowd regions left out), in class order. */
export function regionClasses(db: DB): RegionClassCounts[] {
  const rows = stmt(
    db,
    `SELECT c.id, c.name, i.split, a.kind, COUNT(*) AS n FROM classes c
     JOIN annotations a ON a.class_id = c.id AND a.kind IN ('box', 'polygon', 'mask') AND a.crowd = 0
     JOIN images i ON i.id = a.image_id
     GROUP BY c.id, i.split, a.kind ORDER BY c.position, c.id`,
  ).all() as { id: number; name: string; split: string; kind: string; n: number }[]
  const out = new Map<number, RegionClassCounts>()
  for (const r of rows) {
    const c = out.get(r.id) ?? { id: r.id, name: r.name, count: 0, bySplit: {}, byKind: {} }
    c.count += r.n
    c.bySplit[r.split] = (c.bySplit[r.split] ?? 0) + r.n
    c.byKind[r.kind] = (c.byKind[r.kind] ?? 0) + r.n
    out.set(r.id, c)
  }
  return [...out.values()]
}

export interface DetectionImageRow {
  id: number
  hash: string
  format: string
  width: number
  height: number
  channels: number
  split: Split
}

/**
 * The images a detector learns from and is evaluated on: every image with at least one region, and
 * reviewed images with none (a person looked and found nothing: a true negative).
 */
export function detectionImages(db: DB): DetectionImageRow[] {
  return stmt(
    db,
    `SELECT i.id, i.hash, i.format, i.width, i.height, i.channels, i.split FROM images i
     WHERE i.status = 'reviewed'
        OR EXISTS (SELECT 1 FROM annotations a WHERE a.image_id = i.id AND a.kind IN ('box', 'polygon', 'mask'))
     ORDER BY i.id`,
  ).all() as DetectionImageRow[]
}

export interface RegionRow {
  id: number
  imageId: number
  classId: number | null
  kind: Exclude<RegionKind, 'tag'>
  /** JSON, as the annotations table keeps it (normalised coordinates; masks as RLE). */
  geometry: string
  crowd: boolean
}

/** The regions of the given images (every image when omitted), in image then drawing order. */
export function regionsOf(db: DB, imageIds?: readonly number[]): RegionRow[] {
  const base = `SELECT id, image_id AS imageId, class_id AS classId, kind, geometry, crowd FROM annotations
     WHERE kind IN ('box', 'polygon', 'mask')`
  const rows = (
    imageIds
      ? imageIds.length
        ? db
            .prepare(
              `${base} AND image_id IN (${imageIds.map(() => '?').join(',')}) ORDER BY image_id, z, id`,
            )
            .all(...imageIds)
        : []
      : stmt(db, `${base} ORDER BY image_id, z, id`).all()
  ) as (Omit<RegionRow, 'crowd'> & { crowd: number })[]
  return rows.map((r) => ({ ...r, crowd: r.crowd === 1 }))
}

/** The class tag of an image, or null when it has none. */
export function tagClassOf(db: DB, imageId: number): number | null {
  const r = stmt(db, "SELECT class_id FROM annotations WHERE image_id = ? AND kind = 'tag'").get(imageId) as
    { class_id: number | null } | undefined
  return r?.class_id ?? null
}
