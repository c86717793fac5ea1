import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { ApiError } from '../../src-shared/api/contract'
import { EpochMetrics } from '../../src-shared/api/train'
import { LATEST_SCHEMA_VERSION, migrations, type Migration } from '../../src-main/store/migrations'
import { m0001 } from '../../src-main/store/migrations/0001-init'
import { migrate, type DB } from '../../src-main/store/open'

const open: DB[] = []
function memDb(): DB {
  const db = new Database(':memory:')
  open.push(db)
  return db
}
afterEach(() => {
  while (open.length) open.pop()!.close()
})

const version = (db: DB) => db.pragma('user_version', { simple: true }) as number
const tables = (db: DB) =>
  (
    db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all() as {
      name: string
    }[]
  ).map((r) => r.name)
const schemaSql = (db: DB) =>
  (db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY type, name').all() as unknown[]).map((r) =>
    JSON.stringify(r),
  )

describe('migration list', () => {
  it('numbers migrations 1..n with no gaps and no repeats', () => {
    expect(migrations.length).toBeGreaterThan(0)
    migrations.forEach((m, i) => expect(m.version).toBe(i + 1))
    expect(LATEST_SCHEMA_VERSION).toBe(migrations.length)
  })

  it('gives every migration a name and some SQL', () => {
    for (const m of migrations) {
      expect(m.name).toMatch(/\S/)
      expect(m.up).toMatch(/\S/)
    }
  })

  it('starts with 0001-init', () => {
    expect(migrations[0]).toBe(m0001)
  })
})

describe('each migration on :memory:', () => {
  for (const m of migrations) {
    it(`migration ${m.version} (${m.name}) applies on top of the ones before it and sets user_version`, () => {
      const db = memDb()
      const before = migrations.filter((x) => x.version < m.version)
      expect(migrate(db, before)).toBe(m.version - 1)
      const schemaBefore = schemaSql(db)
      expect(migrate(db, [...before, m])).toBe(m.version)
      expect(version(db)).toBe(m.version)
      // It changed the schema (every migration so far adds something).
      expect(schemaSql(db)).not.toEqual(schemaBefore)
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    })
  }

  it('migrates a fresh database to the latest version', () => {
    const db = memDb()
    expect(version(db)).toBe(0)
    expect(migrate(db)).toBe(LATEST_SCHEMA_VERSION)
    expect(version(db)).toBe(LATEST_SCHEMA_VERSION)
  })

  it('is idempotent: a second run changes nothing', () => {
    const db = memDb()
    migrate(db)
    const schema = schemaSql(db)
    expect(migrate(db)).toBe(LATEST_SCHEMA_VERSION)
    expect(schemaSql(db)).toEqual(schema)
  })

  it('skips migrations at or below the current version', () => {
    const db = memDb()
    migrate(db)
    // Were this run again it would fail (the tables exist already).
    const rerun: Migration[] = migrations.map((m) => (m.version === 1 ? { ...m, name: 'init-again' } : m))
    expect(() => migrate(db, rerun)).not.toThrow()
  })
})

describe('migration 2 (tasks) on a project written by version 1', () => {
  it('names the task of classification configs and moves the epoch figures into metrics', () => {
    const db = memDb()
    migrate(
      db,
      migrations.filter((m) => m.version === 1),
    )
    db.prepare(
      "INSERT INTO runs (id, name, task, status, config) VALUES (1, 'r', 'classify', 'done', ?), (2, 'imported', 'classify', 'done', ?)",
    ).run(JSON.stringify({ model: 'seed-cnn', epochs: 2 }), JSON.stringify({ imported: true, source: '/x' }))
    const old = {
      epoch: 1,
      loss: 0.5,
      acc: 0.8,
      valLoss: 0.6,
      valAcc: 0.75,
      testLoss: null,
      testAcc: null,
      imagesPerS: 100,
      seconds: 2,
      lr: 0.01,
      batchLoss: [0.7, 0.5],
    }
    db.prepare('INSERT INTO run_epochs (run_id, epoch, metrics) VALUES (1, 1, ?)').run(JSON.stringify(old))
    migrate(db)
    const configs = db.prepare('SELECT config FROM runs ORDER BY id').pluck().all() as string[]
    expect(JSON.parse(configs[0]!)).toEqual({ model: 'seed-cnn', epochs: 2, task: 'classify' })
    expect(JSON.parse(configs[1]!)).toEqual({ imported: true, source: '/x' })
    const m = JSON.parse(db.prepare('SELECT metrics FROM run_epochs').pluck().get() as string)
    expect(m).toEqual({
      epoch: 1,
      loss: 0.5,
      valLoss: 0.6,
      metrics: { accuracy: 0.8, val_accuracy: 0.75 },
      imagesPerS: 100,
      seconds: 2,
      lr: 0.01,
      batchLoss: [0.7, 0.5],
    })
    expect(EpochMetrics.safeParse(m).success).toBe(true)
  })
})

describe('a failing migration', () => {
  it('leaves user_version and schema unchanged (the failing one is rolled back as a whole)', () => {
    const db = memDb()
    migrate(db)
    const schema = schemaSql(db)
    const bad: Migration = {
      version: LATEST_SCHEMA_VERSION + 1,
      name: 'half-good',
      // The first statement works; the second fails: both must be undone.
      up: `CREATE TABLE extra (id INTEGER PRIMARY KEY);
           ALTER TABLE images ADD COLUMN note TEXT;
           INSERT INTO no_such_table VALUES (1);`,
    }
    expect(() => migrate(db, [...migrations, bad])).toThrow(/no_such_table/)
    expect(version(db)).toBe(LATEST_SCHEMA_VERSION)
    expect(schemaSql(db)).toEqual(schema)
    expect(tables(db)).not.toContain('extra')
    const cols = (db.prepare('PRAGMA table_info(images)').all() as { name: string }[]).map((c) => c.name)
    expect(cols).not.toContain('note')
  })

  it('keeps the migrations before it and stops there', () => {
    const db = memDb()
    const list: Migration[] = [
      { version: 1, name: 'a', up: 'CREATE TABLE a (x);' },
      { version: 2, name: 'b', up: 'CREATE TABLE b (x); SELECT * FROM nope;' },
      { version: 3, name: 'c', up: 'CREATE TABLE c (x);' },
    ]
    expect(() => migrate(db, list)).toThrow()
    expect(version(db)).toBe(1)
    expect(tables(db)).toEqual(['a'])
    // Once fixed, the migration picks up where it stopped.
    const fixed = [list[0]!, { ...list[1]!, up: 'CREATE TABLE b (x);' }, list[2]!]
    expect(migrate(db, fixed)).toBe(3)
    expect(tables(db)).toEqual(['a', 'b', 'c'])
  })

  it('on a fresh database leaves it at version 0 with no tables', () => {
    const db = memDb()
    expect(() =>
      migrate(db, [{ version: 1, name: 'bad', up: 'CREATE TABLE t (x); CREATE TABLE t (y);' }]),
    ).toThrow()
    expect(version(db)).toBe(0)
    expect(tables(db)).toEqual([])
  })
})

describe('a database from a newer app', () => {
  it('is refused with project_too_new and left as it was', () => {
    const db = memDb()
    migrate(db)
    db.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 5}`)
    const schema = schemaSql(db)
    let err: unknown
    try {
      migrate(db)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).code).toBe('project_too_new')
    expect((err as ApiError).message).toContain(String(LATEST_SCHEMA_VERSION + 5))
    expect(version(db)).toBe(LATEST_SCHEMA_VERSION + 5)
    expect(schemaSql(db)).toEqual(schema)
  })
})

describe('0001-init schema', () => {
  function fresh(): DB {
    const db = memDb()
    db.pragma('foreign_keys = ON')
    migrate(db, [m0001])
    return db
  }
  const insertImage = (db: DB, hash: string, extra: Record<string, unknown> = {}) =>
    Number(
      db
        .prepare(
          `INSERT INTO images (hash, width, height, channels, format, byte_size, source, split)
           VALUES (@hash, @width, @height, @channels, 'png', 10, 'test', @split)`,
        )
        .run({ hash, width: 8, height: 8, channels: 3, split: 'train', ...extra }).lastInsertRowid,
    )

  it('creates the tables labeling, training and review need', () => {
    const db = fresh()
    expect(tables(db)).toEqual(
      [
        'annotations',
        'classes',
        'image_data',
        'images',
        'meta',
        'predictions',
        'run_checkpoints',
        'run_epochs',
        'runs',
        'thumbnails',
      ].sort(),
    )
  })

  it('has the columns the repos read', () => {
    const db = fresh()
    const cols = (t: string) =>
      (db.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name)
    expect(cols('images')).toEqual(
      expect.arrayContaining([
        'id',
        'hash',
        'width',
        'height',
        'channels',
        'format',
        'byte_size',
        'split',
        'split_locked',
        'status',
        'source',
        'added_at',
      ]),
    )
    expect(cols('classes')).toEqual(expect.arrayContaining(['id', 'name', 'color', 'position']))
    expect(cols('annotations')).toEqual(
      expect.arrayContaining(['id', 'image_id', 'class_id', 'kind', 'geometry', 'origin']),
    )
    expect(cols('predictions')).toEqual(
      expect.arrayContaining([
        'id',
        'run_id',
        'epoch',
        'image_id',
        'kind',
        'class_id',
        'score',
        'rank',
        'geometry',
      ]),
    )
    expect(cols('run_epochs')).toEqual(expect.arrayContaining(['run_id', 'epoch', 'metrics']))
  })

  it('defaults split to train, status to unlabeled, split_locked to 0', () => {
    const db = fresh()
    const id = Number(
      db
        .prepare(
          "INSERT INTO images (hash, width, height, channels, format, byte_size, source) VALUES ('h', 1, 1, 1, 'png', 1, 's')",
        )
        .run().lastInsertRowid,
    )
    expect(db.prepare('SELECT split, status, split_locked FROM images WHERE id = ?').get(id)).toEqual({
      split: 'train',
      status: 'unlabeled',
      split_locked: 0,
    })
  })

  it('enforces unique hashes and sensible values with CHECK constraints', () => {
    const db = fresh()
    insertImage(db, 'a')
    expect(() => insertImage(db, 'a')).toThrow(/UNIQUE/)
    expect(() => insertImage(db, 'b', { split: 'holdout' })).toThrow(/CHECK/)
    expect(() => insertImage(db, 'c', { width: 0 })).toThrow(/CHECK/)
    expect(() => insertImage(db, 'd', { height: -1 })).toThrow(/CHECK/)
    expect(() => insertImage(db, 'e', { channels: 5 })).toThrow(/CHECK/)
    expect(() => db.prepare("UPDATE images SET status = 'done'").run()).toThrow(/CHECK/)
    expect(() =>
      db
        .prepare("INSERT INTO classes (name, color, position) VALUES ('x', '#000', 0), ('x', '#111', 1)")
        .run(),
    ).toThrow(/UNIQUE/)
  })

  it('allows one tag per image, but many boxes', () => {
    const db = fresh()
    const img = insertImage(db, 'a')
    const add = db.prepare('INSERT INTO annotations (image_id, class_id, kind) VALUES (?, NULL, ?)')
    add.run(img, 'tag')
    expect(() => add.run(img, 'tag')).toThrow(/UNIQUE/)
    add.run(img, 'box')
    add.run(img, 'box')
    expect(() => add.run(img, 'circle')).toThrow(/CHECK/)
  })

  it('cascades deletes of an image to its bytes, thumbnail, annotations and predictions', () => {
    const db = fresh()
    const img = insertImage(db, 'a')
    const keep = insertImage(db, 'b')
    db.prepare('INSERT INTO image_data (image_id, bytes) VALUES (?, ?)').run(img, Buffer.from([1]))
    db.prepare("INSERT INTO thumbnails (image_id, mime, bytes) VALUES (?, 'image/png', ?)").run(
      img,
      Buffer.from([1]),
    )
    db.prepare("INSERT INTO annotations (image_id, kind) VALUES (?, 'box')").run(img)
    const run = Number(
      db.prepare("INSERT INTO runs (name, task, status, config) VALUES ('r', 'classify', 'done', '{}')").run()
        .lastInsertRowid,
    )
    db.prepare(
      "INSERT INTO predictions (run_id, epoch, image_id, kind, score) VALUES (?, 1, ?, 'tag', 0.5)",
    ).run(run, img)
    db.prepare(
      "INSERT INTO predictions (run_id, epoch, image_id, kind, score) VALUES (?, 1, ?, 'tag', 0.5)",
    ).run(run, keep)
    db.prepare('DELETE FROM images WHERE id = ?').run(img)
    for (const t of ['image_data', 'thumbnails', 'annotations'])
      expect((db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n).toBe(0)
    expect(
      (db.prepare('SELECT image_id FROM predictions').all() as { image_id: number }[]).map((r) => r.image_id),
    ).toEqual([keep])
  })

  it('cascades deletes of a run to its epochs, checkpoints and predictions', () => {
    const db = fresh()
    const img = insertImage(db, 'a')
    const run = Number(
      db
        .prepare("INSERT INTO runs (name, task, status, config) VALUES ('r', 'classify', 'running', '{}')")
        .run().lastInsertRowid,
    )
    db.prepare("INSERT INTO run_epochs (run_id, epoch, metrics) VALUES (?, 1, '{}')").run(run)
    expect(() =>
      db.prepare("INSERT INTO run_epochs (run_id, epoch, metrics) VALUES (?, 1, '{}')").run(run),
    ).toThrow(/UNIQUE|PRIMARY/)
    db.prepare("INSERT INTO run_checkpoints (run_id, epoch, topology, weights) VALUES (?, 1, '{}', ?)").run(
      run,
      Buffer.from([0]),
    )
    db.prepare(
      "INSERT INTO predictions (run_id, epoch, image_id, kind, score) VALUES (?, 1, ?, 'tag', 0.9)",
    ).run(run, img)
    db.prepare('DELETE FROM runs WHERE id = ?').run(run)
    for (const t of ['run_epochs', 'run_checkpoints', 'predictions'])
      expect((db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n).toBe(0)
    expect(() =>
      db.prepare("INSERT INTO runs (name, task, status, config) VALUES ('r', 'train', 'done', '{}')").run(),
    ).toThrow(/CHECK/)
  })

  it('refuses to delete a class still used by an annotation, and nulls it in predictions', () => {
    const db = fresh()
    const img = insertImage(db, 'a')
    const cls = Number(
      db.prepare("INSERT INTO classes (name, color, position) VALUES ('cat', '#000', 0)").run()
        .lastInsertRowid,
    )
    const cls2 = Number(
      db.prepare("INSERT INTO classes (name, color, position) VALUES ('dog', '#111', 1)").run()
        .lastInsertRowid,
    )
    db.prepare("INSERT INTO annotations (image_id, class_id, kind) VALUES (?, ?, 'tag')").run(img, cls)
    expect(() => db.prepare('DELETE FROM classes WHERE id = ?').run(cls)).toThrow(/FOREIGN KEY/)
    const run = Number(
      db.prepare("INSERT INTO runs (name, task, status, config) VALUES ('r', 'classify', 'done', '{}')").run()
        .lastInsertRowid,
    )
    db.prepare(
      "INSERT INTO predictions (run_id, epoch, image_id, kind, class_id, score) VALUES (?, 1, ?, 'tag', ?, 0.9)",
    ).run(run, img, cls2)
    db.prepare('DELETE FROM classes WHERE id = ?').run(cls2)
    expect(db.prepare('SELECT class_id FROM predictions').get()).toEqual({ class_id: null })
  })
})
