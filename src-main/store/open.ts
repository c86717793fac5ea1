import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { ApiError } from '../../src-shared/api/contract'
import { LATEST_SCHEMA_VERSION, migrations, type Migration } from './migrations'

export type DB = Database.Database
export const PROJECT_FILE = 'project.sqlite'

function refuseNewer(db: DB, list: readonly Migration[]): number {
  const current = db.pragma('user_version', { simple: true }) as number
  const latest = list.length ? list[list.length - 1]!.version : 0
  if (current > latest) {
    throw new ApiError(
      'project_too_new',
      `This project was written by a newer Smallset (schema version ${current}; this app knows up to ${latest}). ` +
        'Update Smallset to open it; the project was left untouched.',
    )
  }
  return current
}

/** Runs each pending migration in its own transaction and bumps `user_version` with it. */
export function migrate(db: DB, list: readonly Migration[] = migrations): number {
  const current = refuseNewer(db, list)
  for (const m of list) {
    if (m.version <= current) continue
    db.transaction(() => {
      // Read again under the write lock: another process opening the project at the same moment
      // may have run this migration while this one waited.
      if ((db.pragma('user_version', { simple: true }) as number) >= m.version) return
      db.exec(m.up)
      db.pragma(`user_version = ${m.version}`)
    }).immediate()
  }
  return db.pragma('user_version', { simple: true }) as number
}

function configure(db: DB): void {
  // First, so that the journal switch waits for another process instead of failing.
  db.pragma('busy_timeout = 5000')
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
}

let nativeBinding: string | undefined

/**
 * Electron needs better-sqlite3 built for its own ABI, while the CLI and tests use the Node build
 * in node_modules. The Electron entry point names its build here (see scripts/start.mjs).
 */
export function useSqliteBinding(file: string | undefined): void {
  nativeBinding = file
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1')

/**
 * Looks at an existing file before anything is written to it: refuses what is not a Smallset
 * project (an empty file, something other than SQLite, another program's SQLite database), so that
 * such a file is left exactly as it was.
 */
function checkExisting(file: string): void {
  const refuse = (why: string) => {
    throw new ApiError('project_invalid', `${file} is not a Smallset project: ${why}. It was left untouched.`)
  }
  const size = fs.statSync(file).size
  if (size === 0)
    refuse(
      'the file is empty (0 bytes), as a project whose creation was stopped at once leaves it; ' +
        'delete it to make a new project there',
    )
  const head = Buffer.alloc(16)
  const fd = fs.openSync(file, 'r')
  try {
    fs.readSync(fd, head, 0, 16, 0)
  } finally {
    fs.closeSync(fd)
  }
  if (!head.equals(SQLITE_MAGIC)) refuse('it is not an SQLite database')
  let tables: string[]
  let version: number
  let peek: DB | null = null
  try {
    peek = new Database(file, {
      readonly: true,
      fileMustExist: true,
      ...(nativeBinding && { nativeBinding }),
    })
    tables = (
      peek.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all() as { name: string }[]
    ).map((r) => r.name)
    version = peek.pragma('user_version', { simple: true }) as number
  } catch {
    // Unreadable here (a read-only disk, say): openDatabase's own open tells why.
    return
  } finally {
    peek?.close()
  }
  // Newer than this app: refuseNewer says so.
  if (version > LATEST_SCHEMA_VERSION) return
  // No tables and no version: a project whose creation stopped before its schema; made again.
  if (!tables.length && version === 0) return
  if (!tables.includes('meta') || !tables.includes('images') || version === 0)
    refuse(`it is another program's SQLite database (tables: ${tables.slice(0, 5).join(', ') || 'none'})`)
}

/** Why a project can only be read: its file or folder cannot be written (a read-only disk, permissions). */
function readOnlyReason(file: string): string | null {
  for (const [what, p] of [
    ['file', file],
    ['folder', path.dirname(file)],
  ] as const) {
    try {
      fs.accessSync(p, fs.constants.W_OK)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      return code === 'EROFS' ? 'it is on a read-only disk' : `its ${what} cannot be written (${code})`
    }
  }
  return null
}

/** The largest project read into memory to open it read-only (see openReadOnly). */
const SNAPSHOT_MAX_BYTES = 2 ** 31 - 1

/** Why each open project was opened read-only (absent: it is writable). */
const readOnly = new WeakMap<DB, string>()

/** Why the project can only be read, or null where it can be edited. */
export function readOnlyBecause(db: DB): string | null {
  return readOnly.get(db) ?? (db.readonly ? 'it was opened read-only' : null)
}

/**
 * Opens a project that cannot be written. A WAL database with no -shm beside it cannot be opened
 * read-only by SQLite on a read-only disk, so it is read into memory as a snapshot (marked as a
 * rollback-journal database, which it is once checkpointed); a -wal left beside it by a crash holds
 * changes a snapshot would miss, and is refused with a plain message.
 */
function openReadOnly(file: string, reason: string): DB {
  const opts = { readonly: true, fileMustExist: true, ...(nativeBinding && { nativeBinding }) }
  let db: DB | null = null
  try {
    db = new Database(file, opts)
    db.pragma('user_version', { simple: true })
  } catch {
    db?.close()
    const wal = `${file}-wal`
    if (fs.existsSync(wal) && fs.statSync(wal).size > 0) {
      throw new ApiError(
        'project_read_only',
        `${file} cannot be opened: ${reason}, and it was not closed cleanly (${path.basename(wal)} holds ` +
          'changes not yet in the project file). Open it once where it can be written.',
      )
    }
    const size = fs.statSync(file).size
    if (size > SNAPSHOT_MAX_BYTES)
      throw new ApiError(
        'project_read_only',
        `${file} cannot be opened: ${reason}, and at ${(size / 2 ** 30).toFixed(1)} GB it is too large to ` +
          `read into memory as a snapshot (the limit is 2 GB). Copy the project folder to a disk that can be ` +
          'written, and open it there.',
      )
    const bytes = fs.readFileSync(file)
    bytes[18] = 1
    bytes[19] = 1
    db = new Database(bytes, { readonly: true, ...(nativeBinding && { nativeBinding }) })
  }
  db.pragma('foreign_keys = ON')
  readOnly.set(db, reason)
  return db
}

export function openDatabase(file: string): DB {
  const existing = file !== ':memory:' && fs.existsSync(file)
  if (existing) checkExisting(file)
  const ro = existing ? readOnlyReason(file) : null
  if (ro) {
    const db = openReadOnly(file, ro)
    try {
      const current = refuseNewer(db, migrations)
      if (current < LATEST_SCHEMA_VERSION) {
        throw new ApiError(
          'project_read_only',
          `${file} was written by an older Smallset (schema ${current}) and ${ro}: it must be upgraded ` +
            'where it can be written before this version can open it.',
        )
      }
    } catch (e) {
      db.close()
      throw e
    }
    return db
  }
  const db = new Database(file, nativeBinding ? { nativeBinding } : {})
  try {
    // Checked before anything is written, so a newer project is not touched at all.
    refuseNewer(db, migrations)
    configure(db)
    migrate(db)
  } catch (e) {
    db.close()
    if (e instanceof ApiError) throw e
    const msg = e instanceof Error ? e.message : String(e)
    throw new ApiError('project_invalid', `${file} is not a readable Smallset project: ${msg}`)
  }
  return db
}

export function projectFile(dir: string): string {
  return path.join(dir, PROJECT_FILE)
}

/** Creates the project folder and store. Refuses a folder that already holds a project. */
export function createProjectStore(dir: string, name: string): DB {
  const file = projectFile(dir)
  if (fs.existsSync(file)) throw new ApiError('bad_input', `${dir} already holds a Smallset project`)
  fs.mkdirSync(dir, { recursive: true })
  const db = openDatabase(file)
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?), (?, ?)').run(
    'name',
    name,
    'created_at',
    new Date().toISOString(),
  )
  return db
}

export function openProjectStore(dir: string): DB {
  const file = projectFile(dir)
  if (!fs.existsSync(file)) {
    throw new ApiError('not_found', `${dir} is not a Smallset project: ${PROJECT_FILE} is missing`)
  }
  return openDatabase(file)
}

export { LATEST_SCHEMA_VERSION }
