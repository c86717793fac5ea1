import type { Counts } from '../../../src-shared/domain/types'
import type { DB } from '../open'
import { stmt } from '../statements'
import { splitCounts } from './images'

function groupCounts(db: DB, sql: string): Record<string, number> {
  const rows = stmt(db, sql).all() as { k: string; n: number }[]
  return Object.fromEntries(rows.map((r) => [r.k, r.n]))
}

/** Counts by split, class (tagged images), annotation kind and status. */
export function projectCounts(db: DB): Counts {
  const images = (stmt(db, 'SELECT COUNT(*) AS n FROM images').get() as { n: number }).n
  const classRows = stmt(
    db,
    `SELECT c.id AS classId, c.name AS name, COUNT(a.id) AS count FROM classes c
     LEFT JOIN annotations a ON a.class_id = c.id AND a.kind = 'tag'
     GROUP BY c.id ORDER BY c.position, c.id`,
  ).all() as { classId: number; name: string; count: number }[]
  const tagged = classRows.reduce((s, r) => s + r.count, 0)
  const byClass: Counts['byClass'] = [...classRows]
  if (images - tagged > 0) byClass.push({ classId: null, name: '(no class)', count: images - tagged })
  return {
    images,
    bySplit: splitCounts(db),
    byClass,
    byAnnotationKind: groupCounts(db, 'SELECT kind AS k, COUNT(*) AS n FROM annotations GROUP BY kind'),
    byStatus: groupCounts(db, 'SELECT status AS k, COUNT(*) AS n FROM images GROUP BY status'),
  }
}
