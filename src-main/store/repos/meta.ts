import type { DB } from '../open'
import { stmt } from '../statements'

export function getMeta(db: DB, key: string): string | undefined {
  return (stmt(db, 'SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value
}

export function setMeta(db: DB, key: string, value: string): void {
  stmt(
    db,
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  ).run(key, value)
}

/** The project's schema version (SQLite's user_version, set by the migrations). */
export function schemaVersion(db: DB): number {
  return db.pragma('user_version', { simple: true }) as number
}
