import { ApiError } from '../../../src-shared/api/contract'
import type { ClassLabel } from '../../../src-shared/domain/types'
import { classColor } from '../../../src-shared/domain/classes'
import type { DB } from '../open'
import { stmt } from '../statements'
import { refreshStatuses } from './images'

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

// ---------------------------------------------------------------- editing classes (the editor's class panel)

function requireClass(db: DB, id: number): ClassLabel {
  const c = stmt(db, 'SELECT id, name, color, position FROM classes WHERE id = ?').get(id) as
    ClassLabel | undefined
  if (!c) throw new ApiError('not_found', `No class with id ${id}`)
  return c
}

function refuseTakenName(db: DB, name: string, except?: number): void {
  const row = stmt(db, 'SELECT id FROM classes WHERE name = ?').get(name) as { id: number } | undefined
  if (row && row.id !== except) throw new ApiError('bad_input', `A class named "${name}" already exists`)
}

/** A new class at the end of the list, with the next palette colour unless one is given. */
export function createClass(db: DB, name: string, color?: string): ClassLabel {
  return db
    .transaction(() => {
      refuseTakenName(db, name)
      const { id } = ensureClass(db, name)
      if (color) stmt(db, 'UPDATE classes SET color = ? WHERE id = ?').run(color, id)
      return requireClass(db, id)
    })
    .immediate()
}

export function renameClass(db: DB, id: number, name: string): ClassLabel {
  return db
    .transaction(() => {
      requireClass(db, id)
      refuseTakenName(db, name, id)
      stmt(db, 'UPDATE classes SET name = ? WHERE id = ?').run(name, id)
      return requireClass(db, id)
    })
    .immediate()
}

export function recolorClass(db: DB, id: number, color: string): ClassLabel {
  requireClass(db, id)
  stmt(db, 'UPDATE classes SET color = ? WHERE id = ?').run(color, id)
  return requireClass(db, id)
}

/** How many annotations (regions and tags) use a class, and on how many images. */
export function classUsage(db: DB, id: number): { annotations: number; images: number } {
  requireClass(db, id)
  return stmt(
    db,
    'SELECT COUNT(*) AS annotations, COUNT(DISTINCT image_id) AS images FROM annotations WHERE class_id = ?',
  ).get(id) as { annotations: number; images: number }
}

/**
 * Moves every annotation of `from` to `into` and deletes `from`, in one transaction. An image tagged
 * with both cannot be, as an image has one tag. Returns how many annotations moved.
 */
export function mergeClasses(db: DB, from: number, into: number): number {
  return db
    .transaction(() => {
      requireClass(db, from)
      requireClass(db, into)
      const moved = stmt(
        db,
        "UPDATE annotations SET class_id = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE class_id = ?",
      ).run(into, from).changes
      stmt(db, 'DELETE FROM classes WHERE id = ?').run(from)
      return moved
    })
    .immediate()
}

/**
 * Deletes a class. Annotations that use it are deleted with it only when `deleteAnnotations` says so;
 * otherwise a class in use is refused. Images left with no annotations go back to unlabeled.
 */
export function deleteClass(
  db: DB,
  id: number,
  deleteAnnotations: boolean,
): { annotations: number; images: number; imageIds: number[] } {
  return db
    .transaction(() => {
      const c = requireClass(db, id)
      const usage = classUsage(db, id)
      if (usage.annotations > 0 && !deleteAnnotations) {
        throw new ApiError(
          'bad_input',
          `Class "${c.name}" is used by ${usage.annotations} annotation(s) on ${usage.images} image(s); ` +
            'confirm to delete them with it, or merge the class into another instead',
        )
      }
      const imageIds = (
        stmt(db, 'SELECT DISTINCT image_id AS id FROM annotations WHERE class_id = ?').all(id) as {
          id: number
        }[]
      ).map((r) => r.id)
      stmt(db, 'DELETE FROM annotations WHERE class_id = ?').run(id)
      stmt(db, 'DELETE FROM classes WHERE id = ?').run(id)
      refreshStatuses(db, imageIds)
      return { ...usage, imageIds }
    })
    .immediate()
}
