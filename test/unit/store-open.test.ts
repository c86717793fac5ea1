import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ApiError } from '../../src-shared/api/contract'
import {
  createProjectStore,
  LATEST_SCHEMA_VERSION,
  openDatabase,
  openProjectStore,
  PROJECT_FILE,
  projectFile,
  type DB,
} from '../../src-main/store/open'
import { getMeta } from '../../src-main/store/repos/meta'
import { SmallsetApp } from '../../src-main/api/app'
import { makeTempDir, removeTempDir } from './helpers/fixtures'

let tmp: string
const opened: DB[] = []
const track = (db: DB) => (opened.push(db), db)
beforeEach(() => {
  tmp = makeTempDir()
})
afterEach(() => {
  while (opened.length) {
    const db = opened.pop()!
    if (db.open) db.close()
  }
  removeTempDir(tmp)
})

function caught(fn: () => unknown): ApiError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError)
    return e as ApiError
  }
  throw new Error('expected an ApiError, but nothing was thrown')
}

/** A project file whose user_version is from the future. */
function writeNewerProject(dir: string, v = LATEST_SCHEMA_VERSION + 1): string {
  fs.mkdirSync(dir, { recursive: true })
  const file = projectFile(dir)
  const db = new Database(file)
  db.exec('CREATE TABLE from_the_future (x)')
  db.pragma(`user_version = ${v}`)
  db.close()
  return file
}

describe('openDatabase', () => {
  it('opens :memory: at the latest schema with foreign keys on', () => {
    const db = track(openDatabase(':memory:'))
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION)
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1)
  })

  it('puts a file database in WAL mode', () => {
    const db = track(openDatabase(path.join(tmp, 'a.sqlite')))
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
  })

  it('refuses a database from a newer app and does not touch the file', () => {
    const file = writeNewerProject(tmp)
    const bytes = fs.readFileSync(file)
    const mtime = fs.statSync(file).mtimeMs
    const err = caught(() => openDatabase(file))
    expect(err.code).toBe('project_too_new')
    expect(err.message).toMatch(/newer Smallset/)
    expect(err.message).toContain(`schema version ${LATEST_SCHEMA_VERSION + 1}`)
    expect(fs.readFileSync(file).equals(bytes)).toBe(true)
    expect(fs.statSync(file).mtimeMs).toBe(mtime)
    // Not switched to WAL: no -wal / -shm left beside it.
    expect(fs.existsSync(file + '-wal')).toBe(false)
    expect(fs.existsSync(file + '-shm')).toBe(false)
    const check = new Database(file, { readonly: true })
    expect(check.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION + 1)
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete')
    check.close()
  })

  it('reports a file that is not SQLite as project_invalid, naming the file', () => {
    const file = path.join(tmp, 'junk.sqlite')
    fs.writeFileSync(
      file,
      'this is not a database, just some text that is long enough to have a header'.repeat(20),
    )
    const before = fs.readFileSync(file)
    const err = caught(() => openDatabase(file))
    expect(err.code).toBe('project_invalid')
    expect(err.message).toContain(file)
    expect(fs.readFileSync(file).equals(before)).toBe(true)
  })
})

describe('createProjectStore', () => {
  it('makes the folder (recursively) and a store with name and created_at', () => {
    const dir = path.join(tmp, 'deep', 'er', 'proj')
    const db = track(createProjectStore(dir, 'My project'))
    expect(fs.existsSync(path.join(dir, PROJECT_FILE))).toBe(true)
    expect(getMeta(db, 'name')).toBe('My project')
    const created = getMeta(db, 'created_at')!
    expect(Number.isNaN(Date.parse(created))).toBe(false)
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION)
  })

  it('refuses a folder that already holds a project, leaving it untouched', () => {
    const dir = path.join(tmp, 'proj')
    const db = track(createProjectStore(dir, 'first'))
    db.close()
    const before = fs.readFileSync(projectFile(dir))
    const err = caught(() => createProjectStore(dir, 'second'))
    expect(err.code).toBe('bad_input')
    expect(err.message).toContain(dir)
    expect(fs.readFileSync(projectFile(dir)).equals(before)).toBe(true)
    const again = track(openProjectStore(dir))
    expect(getMeta(again, 'name')).toBe('first')
  })

  it('works in an existing empty folder', () => {
    const db = track(createProjectStore(tmp, 'here'))
    expect(getMeta(db, 'name')).toBe('here')
  })
})

describe('openProjectStore', () => {
  it('reopens a created project with its data', () => {
    const dir = path.join(tmp, 'p')
    const db = track(createProjectStore(dir, 'p'))
    db.prepare("INSERT INTO classes (name, color, position) VALUES ('cat', '#000', 0)").run()
    db.close()
    const re = track(openProjectStore(dir))
    expect(re.prepare('SELECT name FROM classes').all()).toEqual([{ name: 'cat' }])
    expect(getMeta(re, 'name')).toBe('p')
  })

  it('says not_found when the folder holds no project, and creates nothing', () => {
    const dir = path.join(tmp, 'nothing-here')
    const err = caught(() => openProjectStore(dir))
    expect(err.code).toBe('not_found')
    expect(err.message).toContain(dir)
    expect(err.message).toContain(PROJECT_FILE)
    expect(fs.existsSync(dir)).toBe(false)
  })

  it('refuses a project whose user_version is newer, with a clear message', () => {
    const dir = path.join(tmp, 'future')
    const file = writeNewerProject(dir, LATEST_SCHEMA_VERSION + 7)
    const bytes = fs.readFileSync(file)
    const err = caught(() => openProjectStore(dir))
    expect(err.code).toBe('project_too_new')
    expect(err.message).toContain(String(LATEST_SCHEMA_VERSION + 7))
    expect(err.message).toMatch(/left untouched/)
    expect(fs.readFileSync(file).equals(bytes)).toBe(true)
    expect(fs.readdirSync(dir)).toEqual([PROJECT_FILE])
  })
})

describe('files that are not Smallset projects are refused untouched', () => {
  function bytesOf(file: string): Buffer {
    return fs.readFileSync(file)
  }

  it('a 0-byte project.sqlite is refused, not made into a new empty project', () => {
    const dir = path.join(tmp, 'empty')
    fs.mkdirSync(dir)
    fs.writeFileSync(projectFile(dir), '')
    const e = caught(() => openProjectStore(dir))
    expect(e.code).toBe('project_invalid')
    expect(e.message).toMatch(/is empty \(0 bytes\).*left untouched/)
    expect(fs.statSync(projectFile(dir)).size).toBe(0)
    expect(fs.readdirSync(dir)).toEqual([PROJECT_FILE])
  })

  it('a file that is not SQLite is refused', () => {
    const dir = path.join(tmp, 'text')
    fs.mkdirSync(dir)
    fs.writeFileSync(projectFile(dir), 'hello, this is not a database at all\n')
    expect(caught(() => openProjectStore(dir)).message).toMatch(/not an SQLite database/)
  })

  it("another program's SQLite file is refused before it is switched to WAL or given Smallset's tables", () => {
    const dir = path.join(tmp, 'foreign')
    fs.mkdirSync(dir)
    const other = new Database(projectFile(dir))
    other.exec(
      "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me')",
    )
    other.close()
    const before = bytesOf(projectFile(dir))
    const e = caught(() => openProjectStore(dir))
    expect(e.code).toBe('project_invalid')
    expect(e.message).toMatch(/another program's SQLite database \(tables: notes\)/)
    // Byte for byte as it was: still in rollback-journal mode (header bytes 18-19 are 1, not 2).
    expect(bytesOf(projectFile(dir)).equals(before)).toBe(true)
    expect(before[18]).toBe(1)
    expect(fs.readdirSync(dir)).toEqual([PROJECT_FILE])
  })

  it('an SQLite file with no tables at all (a creation that stopped early) is made into a project', () => {
    const dir = path.join(tmp, 'bare')
    fs.mkdirSync(dir)
    const bare = new Database(projectFile(dir))
    bare.pragma('journal_mode = WAL')
    bare.close()
    const db = track(openProjectStore(dir))
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION)
  })
})

/** A read-only view of `dir` through a bind mount (needs root and CAP_SYS_ADMIN), or null. */
function readOnlyMount(dir: string): { path: string; unmount: () => void } | null {
  const mnt = path.join(path.dirname(dir), `${path.basename(dir)}-ro`)
  fs.mkdirSync(mnt)
  try {
    execFileSync('mount', ['--bind', dir, mnt], { stdio: 'ignore' })
  } catch {
    return null
  }
  const unmount = () => execFileSync('umount', [mnt], { stdio: 'ignore' })
  try {
    execFileSync('mount', ['-o', 'remount,bind,ro', mnt], { stdio: 'ignore' })
  } catch {
    unmount()
    return null
  }
  return { path: mnt, unmount }
}

describe('a project on a read-only disk', () => {
  it('opens read-only, says why, and refuses writes with a plain message', async (ctx) => {
    const dir = path.join(tmp, 'ro-src')
    const made = createProjectStore(dir, 'on a read-only disk')
    made
      .prepare(
        `INSERT INTO images (hash, width, height, channels, format, byte_size, split, status, source)
         VALUES ('h1', 2, 2, 1, 'png', 1, 'train', 'unlabeled', 's')`,
      )
      .run()
    made.close()
    const ro = readOnlyMount(dir)
    if (!ro) {
      console.warn('skipped: a read-only bind mount needs root with CAP_SYS_ADMIN')
      ctx.skip()
      return
    }
    const app = new SmallsetApp()
    try {
      // Before: "is not a readable Smallset project: unable to open database file".
      const summary = app.openProject(ro.path)
      expect(summary.readOnly).toBe('it is on a read-only disk')
      expect(summary.counts.images).toBe(1)
      const list = await app.dispatch('images.list', {})
      expect(list.ok).toBe(true)
      // Importing is refused at the start, before anything is decoded.
      const imp = await app.dispatch('import.start', { paths: [tmp] })
      expect(imp).toMatchObject({ ok: false, error: { code: 'project_read_only' } })
      const split = await app.dispatch('images.setSplit', { ids: [1], split: 'val' })
      expect(split).toMatchObject({ ok: false, error: { code: 'project_read_only' } })
    } finally {
      app.close()
      ro.unmount()
    }
  })
})
