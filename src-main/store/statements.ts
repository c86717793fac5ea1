import type Database from 'better-sqlite3'
import type { DB } from './open'

const cache = new WeakMap<DB, Map<string, Database.Statement>>()

/** A prepared statement, prepared once per connection. */
export function stmt(db: DB, sql: string): Database.Statement {
  let m = cache.get(db)
  if (!m) cache.set(db, (m = new Map()))
  let s = m.get(sql)
  if (!s) m.set(sql, (s = db.prepare(sql)))
  return s
}
