import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Result } from '../../src-shared/api/contract'
import { SmallsetApp } from '../../src-main/api/app'
import { writePng } from '../unit/helpers/fixtures'
import { assertBuilt, smallset, spawnSmallset, tempDir } from './cli'

/**
 * Two processes writing one project at once, as when `smallset import` runs while the app has the
 * project open: before every writing transaction began immediate, a transaction that read and then
 * wrote after the other process committed failed at once with "database is locked"
 * (SQLITE_BUSY_SNAPSHOT ignores busy_timeout).
 */

let work: string
let dir: string

function exited(child: ReturnType<typeof spawnSmallset>): Promise<{ code: number | null; stderr: string }> {
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  child.stdout!.resume()
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })))
}

beforeAll(async () => {
  assertBuilt()
  work = tempDir('concurrent')
  for (const [tree, n] of [
    ['first', 40],
    ['second', 600],
  ] as const)
    for (let i = 0; i < n; i++)
      await writePng(path.join(work, tree, i % 2 ? 'cat' : 'dog', `${tree}-${i}.png`), 10_000 * n + i, 28)
  dir = path.join(work, 'project')
  await smallset('init', dir)
  await smallset('import', dir, path.join(work, 'first'))
}, 120_000)

afterAll(() => fs.rmSync(work, { recursive: true, force: true }))

describe('an import, editor saves and a training run writing one project at once', () => {
  it('all succeed, and nothing is lost', async () => {
    const app = new SmallsetApp()
    app.openProject(dir)
    const ids = (app.requireDb().prepare('SELECT id FROM images ORDER BY id').all() as { id: number }[]).map(
      (r) => r.id,
    )
    const classId = (app.requireDb().prepare('SELECT id FROM classes ORDER BY id').get() as { id: number }).id

    const importing = exited(spawnSmallset('import', dir, path.join(work, 'second'), '--json'))
    const training = exited(spawnSmallset('train', dir, '--model', 'seed-mlp', '--epochs', '3', '--json'))
    let running = true
    void Promise.all([importing, training]).then(() => (running = false))

    // The editor saves a box on each image in turn until both processes are done.
    const failures: string[] = []
    let saves = 0
    while (running || saves < 20) {
      const imageId = ids[saves % ids.length]!
      const r: Result<unknown> = await app.dispatch('annotations.save', {
        imageId,
        puts: [
          {
            key: `k${saves}`,
            id: null,
            kind: 'box',
            geometry: { x: 0.1, y: 0.1, w: 0.5, h: 0.5 },
            classId,
            z: saves,
            hidden: false,
            locked: false,
          },
        ],
      })
      if (!r.ok) failures.push(`${r.error.code}: ${r.error.message}`)
      saves++
      await new Promise((resolve) => setTimeout(resolve, 15))
    }
    app.close()
    const [imp, train] = await Promise.all([importing, training])

    expect(failures).toEqual([])
    expect(imp.code, imp.stderr).toBe(0)
    expect(train.code, train.stderr).toBe(0)
    const db = new Database(path.join(dir, 'project.sqlite'), { readonly: true })
    try {
      expect((db.prepare('SELECT COUNT(*) AS n FROM images').get() as { n: number }).n).toBe(640)
      expect(
        (db.prepare("SELECT COUNT(*) AS n FROM annotations WHERE kind = 'box'").get() as { n: number }).n,
      ).toBe(saves)
      const run = db.prepare('SELECT status FROM runs ORDER BY id DESC').get() as { status: string }
      expect(run.status).toBe('done')
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    } finally {
      db.close()
    }
  }, 300_000)
})
