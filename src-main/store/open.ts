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
      db.exec(m.up)
      db.pragma(`user_version = ${m.version}`)
    })()
  }
  return db.pragma('user_version', { simple: true }) as number
}

function configure(db: DB): void {
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
}

let nativeBinding: string | undefined

/**
 * Electron needs better-sqlite3 built for its own ABI, while the CLI and tests use the Node build
 * in node_modules. The Electron entry point names its build here (see scripts/start.mjs).
 */
export function useSqliteBinding(file: string | undefined): void {
  nativeBinding = file
}

export function openDatabase(file: string): DB {
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
