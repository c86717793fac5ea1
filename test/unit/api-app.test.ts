import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  events,
  type EventName,
  type EventPayload,
  type ImportReport,
  type Result,
} from '../../src-shared/api/contract'
import { APP_VERSION, checkEvent, SmallsetApp, toErrorShape } from '../../src-main/api/app'
import { LATEST_SCHEMA_VERSION, PROJECT_FILE } from '../../src-main/store/open'
import { makeTempDir, pngBytes, pngChunk, removeTempDir, writeFile, writePng } from './helpers/fixtures'

let tmp: string
let app: SmallsetApp
let seen: { event: EventName; payload: unknown }[]
const apps: SmallsetApp[] = []

function newApp(): SmallsetApp {
  const a = new SmallsetApp()
  apps.push(a)
  return a
}

beforeEach(() => {
  tmp = makeTempDir('smallset-app-')
  app = newApp()
  seen = []
  app.onEvent((event, payload) => seen.push({ event, payload }))
})
afterEach(async () => {
  // Let any import still in flight see its abort before the store closes.
  while (apps.length) apps.pop()!.close()
  await new Promise((r) => setTimeout(r, 20))
  removeTempDir(tmp)
})

function ok<T = unknown>(r: Result<unknown>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`)
  return r.value as T
}
function err(r: Result<unknown>): { code: string; message: string } {
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.value)}`)
  return r.error
}

/** Resolves with the next `import.finished` (or `import.failed`) event for this job. */
function finished(a: SmallsetApp, jobId: string): Promise<EventPayload<'import.finished'>> {
  return new Promise((resolve, reject) => {
    const off = a.onEvent((event, payload) => {
      const p = payload as { jobId: string }
      if (p.jobId !== jobId) return
      if (event === 'import.finished') {
        off()
        resolve(payload as EventPayload<'import.finished'>)
      } else if (event === 'import.failed') {
        off()
        reject(new Error(JSON.stringify(payload)))
      }
    })
  })
}

/** Waits for the app's own bookkeeping after an import (it forgets the job just after it ends). */
const settle = () => new Promise((r) => setImmediate(r))

async function createProject(name = 'proj'): Promise<string> {
  const dir = path.join(tmp, name)
  ok(await app.dispatch('project.create', { dir }))
  return dir
}

async function classFolders(root: string, perClass: Record<string, number>): Promise<void> {
  for (const [cls, n] of Object.entries(perClass))
    for (let i = 0; i < n; i++) await writePng(path.join(root, cls, `${i}.png`), undefined, 8)
}

describe('dispatch: errors come back as data', () => {
  it('refuses an unknown channel', async () => {
    const e = err(await app.dispatch('project.delete', {}))
    expect(e.code).toBe('unknown_channel')
    expect(e.message).toContain('project.delete')
    expect(err(await app.dispatch('__proto__', {})).code).toBe('unknown_channel')
    expect(err(await app.dispatch('toString', {})).code).toBe('unknown_channel')
  })

  it.each([
    ['project.open', {}],
    ['project.open', { dir: 5 }],
    ['project.open', { dir: '' }],
    ['project.create', { name: 'x' }],
    ['app.info', { extra: true }],
    ['project.counts', { nope: 1 }],
    ['images.list', { limit: 0 }],
    ['images.list', { limit: 100000 }],
    ['images.list', { split: 'holdout' }],
    ['images.list', { offset: -1 }],
    ['images.setSplit', { ids: [], split: 'train' }],
    ['images.setSplit', { ids: [1], split: 'nope' }],
    ['splits.resplit', { ratios: { train: 0, val: 0, test: 0 } }],
    ['splits.resplit', { ratios: { train: -1, val: 1, test: 1 } }],
    ['import.start', {}],
    ['import.start', { paths: [] }],
    ['import.start', { paths: [''] }],
    ['import.start', { paths: ['/x'], format: 'zip' }],
    ['import.start', { paths: ['/x'], preset: 'cifar' }],
    ['import.start', { paths: ['/x'], seed: 1.5 }],
    ['import.cancel', {}],
    ['project.open', 'a string'],
    ['project.open', [1, 2]],
  ])('%s with %j is invalid_request', async (channel, req) => {
    const e = err(await app.dispatch(channel, req))
    expect(e.code).toBe('invalid_request')
    expect(e.message).toContain(channel)
  })

  it('explains what was wrong', async () => {
    expect(err(await app.dispatch('import.start', { paths: [] })).message).toMatch(
      /give at least one file or folder/,
    )
    expect(
      err(await app.dispatch('splits.resplit', { ratios: { train: 0, val: 0, test: 0 } })).message,
    ).toMatch(/must not all be zero/)
  })

  it('treats a missing request as {}', async () => {
    expect(ok(await app.dispatch('app.info', undefined))).toEqual({ version: APP_VERSION, project: null })
    expect(ok(await app.dispatch('app.info', null))).toEqual({ version: APP_VERSION, project: null })
  })

  it.each([
    ['project.counts', {}],
    ['classes.list', {}],
    ['images.list', {}],
    ['images.setSplit', { ids: [1], split: 'val' }],
    ['splits.resplit', { ratios: { train: 1, val: 0, test: 0 } }],
    ['import.start', { paths: ['/somewhere'] }],
  ])('%s without a project is no_project', async (channel, req) => {
    const e = err(await app.dispatch(channel, req))
    expect(e.code).toBe('no_project')
  })

  it('import.cancel of an unknown job is not_found', async () => {
    await createProject()
    const e = err(await app.dispatch('import.cancel', { jobId: 'nope' }))
    expect(e).toEqual({ code: 'not_found', message: expect.stringContaining('nope') })
  })
})

describe('projects', () => {
  it('creates a project and reports it in app.info', async () => {
    const dir = path.join(tmp, 'My Project')
    const s = ok<{ dir: string; name: string; schemaVersion: number; counts: { images: number } }>(
      await app.dispatch('project.create', { dir }),
    )
    expect(s).toEqual({
      dir,
      name: 'My Project',
      schemaVersion: LATEST_SCHEMA_VERSION,
      counts: { images: 0, bySplit: {}, byClass: [], byAnnotationKind: {}, byStatus: {} },
      readOnly: null,
    })
    expect(fs.existsSync(path.join(dir, PROJECT_FILE))).toBe(true)
    const info = ok<{ project: { dir: string } }>(await app.dispatch('app.info', {}))
    expect(info.project.dir).toBe(dir)
    expect(app.projectDir).toBe(dir)
  })

  it('uses the name given, and resolves a relative folder', async () => {
    const rel = path.relative(process.cwd(), path.join(tmp, 'rel'))
    const s = ok<{ dir: string; name: string }>(
      await app.dispatch('project.create', { dir: rel, name: 'Named' }),
    )
    expect(s).toMatchObject({ dir: path.join(tmp, 'rel'), name: 'Named' })
  })

  it('refuses to create a project where one exists (bad_input), keeping the open one', async () => {
    const dir = await createProject()
    const e = err(await app.dispatch('project.create', { dir }))
    expect(e.code).toBe('bad_input')
    expect(app.projectDir).toBe(dir)
  })

  it('opens a project made by another app instance, with its data', async () => {
    const dir = await createProject()
    await classFolders(path.join(tmp, 'src'), { cat: 2 })
    await app.importNow({ paths: [path.join(tmp, 'src')] })
    app.close()
    const other = newApp()
    const s = ok<{ name: string; counts: { images: number } }>(await other.dispatch('project.open', { dir }))
    expect(s.name).toBe('proj')
    expect(s.counts.images).toBe(2)
    expect(ok<{ name: string }[]>(await other.dispatch('classes.list', {})).map((c) => c.name)).toEqual([
      'cat',
    ])
  })

  it('says not_found for a folder with no project, keeping the open one', async () => {
    const dir = await createProject()
    const e = err(await app.dispatch('project.open', { dir: path.join(tmp, 'missing') }))
    expect(e.code).toBe('not_found')
    expect(app.projectDir).toBe(dir)
    expect(ok<{ images: number }>(await app.dispatch('project.counts', {})).images).toBe(0)
  })

  it('refuses a project from a newer app (project_too_new), keeping the open one', async () => {
    const dir = await createProject()
    const future = path.join(tmp, 'future')
    fs.mkdirSync(future)
    const f = new Database(path.join(future, PROJECT_FILE))
    f.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`)
    f.close()
    const e = err(await app.dispatch('project.open', { dir: future }))
    expect(e.code).toBe('project_too_new')
    expect(app.projectDir).toBe(dir)
  })

  it('switches between projects', async () => {
    const a = await createProject('a')
    const b = await createProject('b')
    expect(app.projectDir).toBe(b)
    ok(await app.dispatch('project.open', { dir: a }))
    expect(app.projectDir).toBe(a)
  })
})

describe('import through dispatch', () => {
  it('import.start returns a job id, then emits import.progress and import.finished', async () => {
    await createProject()
    const src = path.join(tmp, 'src')
    await classFolders(src, { cat: 3, dog: 2 })
    const { jobId } = ok<{ jobId: string }>(await app.dispatch('import.start', { paths: [src] }))
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/)
    const done = await finished(app, jobId)
    expect(done.report).toMatchObject({
      added: 5,
      duplicates: 0,
      failed: [],
      classesCreated: ['cat', 'dog'],
      cancelled: false,
    })

    const progress = seen
      .filter((e) => e.event === 'import.progress')
      .map((e) => e.payload as EventPayload<'import.progress'>)
    expect(progress.length).toBeGreaterThanOrEqual(2)
    expect(progress.every((p) => p.jobId === jobId)).toBe(true)
    expect(progress[0]!.phase).toBe('scanning')
    expect(progress.at(-1)).toMatchObject({ phase: 'done', done: 5, total: 5, added: 5 })
    // Every event matches the contract, and finished comes last.
    for (const e of seen) expect(() => events[e.event].parse(e.payload)).not.toThrow()
    expect(seen.at(-1)!.event).toBe('import.finished')

    const counts = ok<{ images: number; byClass: { name: string; count: number }[] }>(
      await app.dispatch('project.counts', {}),
    )
    expect(counts.images).toBe(5)
    expect(counts.byClass.map((c) => [c.name, c.count])).toEqual([
      ['cat', 3],
      ['dog', 2],
    ])
  })

  it('reports bad files in the finished report, not as an error', async () => {
    await createProject()
    const src = path.join(tmp, 'src')
    await classFolders(src, { cat: 1 })
    fs.writeFileSync(path.join(src, 'cat', 'broken.png'), 'not a png')
    const { jobId } = ok<{ jobId: string }>(await app.dispatch('import.start', { paths: [src] }))
    const done = await finished(app, jobId)
    expect(done.report.added).toBe(1)
    expect(done.report.failed).toEqual([
      { path: path.join(src, 'cat', 'broken.png'), reason: expect.stringMatching(/not a recognised image/) },
    ])
  })

  it('refuses a second import while one runs (busy), and allows one after', async () => {
    await createProject()
    const src = path.join(tmp, 'src')
    await classFolders(src, { cat: 4 })
    const { jobId } = ok<{ jobId: string }>(await app.dispatch('import.start', { paths: [src] }))
    const done = finished(app, jobId)
    expect(err(await app.dispatch('import.start', { paths: [src] })).code).toBe('busy')
    await done
    await settle()
    const second = ok<{ jobId: string }>(await app.dispatch('import.start', { paths: [src] }))
    const r2 = await finished(app, second.jobId)
    expect(r2.report).toMatchObject({ added: 0, duplicates: 4 })
  })

  it('import.cancel stops a running import; the report says cancelled', async () => {
    await createProject()
    const src = path.join(tmp, 'src')
    await classFolders(src, { cat: 40 })
    const { jobId } = ok<{ jobId: string }>(await app.dispatch('import.start', { paths: [src] }))
    const done = finished(app, jobId)
    expect(ok(await app.dispatch('import.cancel', { jobId }))).toEqual({ ok: true })
    const r = (await done).report as ImportReport
    expect(r.cancelled).toBe(true)
    expect(r.added).toBeLessThan(40)
    const counts = ok<{ images: number }>(await app.dispatch('project.counts', {}))
    expect(counts.images).toBe(r.added)
    await settle()
    // Finished: cancelling again finds nothing.
    expect(err(await app.dispatch('import.cancel', { jobId })).code).toBe('not_found')
  })

  it('refuses to switch projects while an import runs (busy), keeping the open one', async () => {
    const a = await createProject('a')
    const other = path.join(tmp, 'other')
    const tmpApp = newApp()
    ok(await tmpApp.dispatch('project.create', { dir: other }))
    tmpApp.close()
    const src = path.join(tmp, 'src')
    await classFolders(src, { cat: 4 })
    const { jobId } = ok<{ jobId: string }>(await app.dispatch('import.start', { paths: [src] }))
    const done = finished(app, jobId)
    expect(err(await app.dispatch('project.open', { dir: other })).code).toBe('busy')
    expect(app.projectDir).toBe(a)
    const r = await done
    expect(r.report.added).toBe(4)
  })

  // The busy check comes before the store is made: a refused create leaves nothing on disk.
  it('refuses to create a project while an import runs (busy), and creates nothing', async () => {
    await createProject('a')
    const src = path.join(tmp, 'src')
    await classFolders(src, { cat: 4 })
    const { jobId } = ok<{ jobId: string }>(await app.dispatch('import.start', { paths: [src] }))
    const done = finished(app, jobId)
    const fresh = path.join(tmp, 'fresh')
    expect(err(await app.dispatch('project.create', { dir: fresh })).code).toBe('busy')
    await done
    await settle()
    expect(fs.existsSync(path.join(fresh, PROJECT_FILE))).toBe(false)
    // The retry after the import works.
    ok(await app.dispatch('project.create', { dir: fresh }))
  })
})

describe('images, splits and media through dispatch', () => {
  async function seeded() {
    await createProject()
    const src = path.join(tmp, 'src')
    await classFolders(src, { cat: 10, dog: 10 })
    const report = await app.importNow({ paths: [src], seed: 3 })
    expect(report.added).toBe(20)
  }

  it('lists images with filters and paging', async () => {
    await seeded()
    const classes = ok<{ id: number; name: string }[]>(await app.dispatch('classes.list', {}))
    const cat = classes.find((c) => c.name === 'cat')!.id
    const all = ok<{ total: number; items: unknown[] }>(await app.dispatch('images.list', {}))
    expect(all.total).toBe(20)
    expect(all.items).toHaveLength(20)
    const cats = ok<{ total: number; items: { classId: number }[] }>(
      await app.dispatch('images.list', { classId: cat }),
    )
    expect(cats.total).toBe(10)
    expect(cats.items.every((i) => i.classId === cat)).toBe(true)
    expect(ok<{ total: number }>(await app.dispatch('images.list', { classId: null })).total).toBe(0)
    const page = ok<{ total: number; items: { id: number }[] }>(
      await app.dispatch('images.list', { offset: 5, limit: 5 }),
    )
    expect(page.total).toBe(20)
    expect(page.items.map((i) => i.id)).toEqual(all.items.slice(5, 10).map((i) => (i as { id: number }).id))
    const val = ok<{ total: number }>(await app.dispatch('images.list', { split: 'val' }))
    expect(val.total).toBe(2)
  })

  it('sets a split, and re-splits deterministically', async () => {
    await seeded()
    expect(ok(await app.dispatch('images.setSplit', { ids: [1, 2, 999], split: 'test' }))).toEqual({
      changed: 2,
    })
    const r1 = ok<{ bySplit: Record<string, number> }>(
      await app.dispatch('splits.resplit', { ratios: { train: 0.5, val: 0.25, test: 0.25 }, seed: 9 }),
    )
    expect(r1.bySplit).toEqual({ train: 10, val: 6, test: 4 })
    const list1 = ok<{ items: { id: number; split: string }[] }>(await app.dispatch('images.list', {}))
    ok(await app.dispatch('splits.resplit', { ratios: { train: 0.5, val: 0.25, test: 0.25 }, seed: 9 }))
    const list2 = ok<{ items: { id: number; split: string }[] }>(await app.dispatch('images.list', {}))
    expect(list2.items).toEqual(list1.items)
  })

  it('serves thumbnails and images with an ETag', async () => {
    await seeded()
    const thumb = await app.media('thumb', 1)
    expect(thumb).toMatchObject({ mime: 'image/png', etag: expect.any(String) })
    const t = thumb as { etag: string; bytes: Buffer }
    expect(t.bytes.length).toBeGreaterThan(0)
    expect(await app.media('thumb', 1, t.etag)).toBe('not-modified')
    const full = await app.media('image', 1)
    expect(full).toMatchObject({ mime: 'image/png' })
    expect((full as { etag: string }).etag).not.toBe(t.etag)
    expect(await app.media('image', 12345)).toBeUndefined()
  })

  it('serves a small re-encoded thumbnail for a tiny image with a 5 MB metadata chunk, old projects too', async () => {
    await createProject()
    const png = await pngBytes(31, 4, 4)
    const text = Buffer.concat([Buffer.from('Comment\0'), Buffer.alloc(5 << 20, 0x61)])
    const fat = Buffer.concat([png.subarray(0, 33), pngChunk('tEXt', text), png.subarray(33)])
    writeFile(path.join(tmp, 'src', 'fat.png'), fat)
    expect((await app.importNow({ paths: [path.join(tmp, 'src')] })).added).toBe(1)
    const id = ok<{ items: { id: number }[] }>(await app.dispatch('images.list', {})).items[0]!.id

    const thumb = (await app.media('thumb', id)) as { mime: string; bytes: Buffer }
    expect(thumb.mime).toBe('image/png')
    expect(thumb.bytes.length).toBeLessThan(10_000)
    // The full image is still the file as it was imported.
    expect(((await app.media('image', id)) as { bytes: Buffer }).bytes.equals(fat)).toBe(true)

    // A project imported before thumbnails were always re-encoded: no thumbnail row for it.
    app.requireDb().prepare('DELETE FROM thumbnails WHERE image_id = ?').run(id)
    const old = (await app.media('thumb', id)) as { mime: string; bytes: Buffer }
    expect(old.mime).toBe('image/png')
    expect(old.bytes.length).toBeLessThan(10_000)
  })
})

describe('helpers', () => {
  it('toErrorShape maps errors to codes', () => {
    expect(toErrorShape(Object.assign(new Error('nope'), { code: 'EACCES' }))).toEqual({
      code: 'bad_input',
      message: 'nope',
    })
    expect(toErrorShape(new Error('boom'))).toEqual({ code: 'internal', message: 'boom' })
    expect(toErrorShape('text')).toEqual({ code: 'internal', message: 'text' })
  })

  it('checkEvent refuses a payload that breaks the contract', () => {
    expect(() => checkEvent('import.progress', { jobId: 'x', phase: 'nope' })).toThrow()
    expect(
      checkEvent('import.finished', {
        jobId: 'x',
        report: {
          added: 0,
          duplicates: 0,
          ignored: 0,
          failed: [],
          classesCreated: [],
          cancelled: false,
          durationMs: 1,
        },
      }),
    ).toMatchObject({ jobId: 'x' })
  })

  it('onEvent returns an unsubscribe function', async () => {
    await createProject()
    const got: string[] = []
    const off = app.onEvent((e) => got.push(e))
    off()
    const src = path.join(tmp, 'src')
    await classFolders(src, { cat: 1 })
    const { jobId } = ok<{ jobId: string }>(await app.dispatch('import.start', { paths: [src] }))
    await finished(app, jobId)
    expect(got).toEqual([])
  })
})
