import type { ClassLabel } from '../../../src-shared/domain/types'
import { classColor } from '../../../src-shared/domain/classes'
import type { DB } from '../open'
import { stmt } from '../statements'

export function listClasses(db: DB): ClassLabel[] {
  return stmt(db, 'SELECT id, name, color, position FROM classes ORDER BY position, id').all() as ClassLabel[]
}

/** The id of the class with this name, creating it (with the next colour) when missing. */
export function ensureClass(db: DB, name: string): { id: number; created: boolean } {
  const row = stmt(db, 'SELECT id FROM classes WHERE name = ?').get(name) as { id: number } | undefined
  if (row) return { id: row.id, created: false }
  const { pos } = stmt(db, 'SELECT COALESCE(MAX(position) + 1, 0) AS pos FROM classes').get() as {
    pos: number
  }
  const info = stmt(db, 'INSERT INTO classes (name, color, position) VALUES (?, ?, ?)').run(
    name,
    classColor(pos),
    pos,
  )
  return { id: Number(info.lastInsertRowid), created: true }
}
