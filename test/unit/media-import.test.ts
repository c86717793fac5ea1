import fs from 'node:fs'
import path from 'node:path'
import sharp from 'sharp'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { calls, type ImportProgress, type ImportRequest } from '../../src-shared/api/contract'
import { CLASS_PRESET_NAMES } from '../../src-shared/domain/classes'
import { splitCounts } from '../../src-shared/domain/splits'
import { runImport, type ImportOptions } from '../../src-main/media/import'
import { createProjectStore, type DB } from '../../src-main/store/open'
import { listClasses } from '../../src-main/store/repos/classes'
import { projectCounts } from '../../src-main/store/repos/counts'
import {
  gzip,
  idxBytes,
  idxImages,
  idxLabels,
  makeTempDir,
  noisePixels,
  removeTempDir,
  snapshot,
  wholeImageProblems,
  writeFile,
  writeJpeg,
  writePng,
} from './helpers/fixtures'

let tmp: string
let src: string
let db: DB
const dbs: DB[] = []
function newProject(name = 'p'): DB {
  const d = createProjectStore(path.join(tmp, 'projects', `${name}-${dbs.length}`), name)
  dbs.push(d)
  return d
}
beforeEach(() => {
  tmp = makeTempDir('smallset-import-')
  src = path.join(tmp, 'src')
  fs.mkdirSync(src)
  db = newProject()
})
afterEach(() => {
  while (dbs.length) dbs.pop()!.close()
  removeTempDir(tmp)
})

const parse = (req: ImportRequest) => calls['import.start'].req.parse(req)
const doImport = (req: ImportRequest, opts?: ImportOptions, into: DB = db) =>
  runImport(into, parse(req), opts)

interface Row {
  id: number
  source: string
  split: string
  split_locked: number
  status: string
  class: string | null
  format: string
  width: number
  height: number
  channels: number
}
function rows(d: DB = db): Row[] {
  return d
    .prepare(
      `SELECT i.id, i.source, i.split, i.split_locked, i.status, c.name AS class, i.format, i.width, i.height, i.channels
       FROM images i LEFT JOIN annotations a ON a.image_id = i.id AND a.kind = 'tag'
       LEFT JOIN classes c ON c.id = a.class_id ORDER BY i.id`,
    )
    .all() as Row[]
}
const rel = (p: string) => path.relative(src, p)

describe('class-per-folder trees', () => {
  it('keeps the splits the folders give (valid -> val) and makes a class per folder', async () => {
    await writePng(path.join(src, 'train', 'cat', 'c1.png'))
    await writePng(path.join(src, 'train', 'cat', 'c2.png'))
    await writeJpeg(path.join(src, 'train', 'dog', 'd1.jpg'))
    await writePng(path.join(src, 'valid', 'dog', 'd2.png'))
    await writePng(path.join(src, 'valid', 'cat', 'c3.png'))
    await writeJpeg(path.join(src, 'test', 'cat', 'c4.jpeg'))
    await writePng(path.join(src, 'test', 'dog', 'd3.png'))
    writeFile(path.join(src, 'README.txt'), 'about this data')

    const report = await doImport({ paths: [src] })
    expect(report).toMatchObject({ added: 7, duplicates: 0, ignored: 1, failed: [], cancelled: false })
    expect(report.classesCreated).toEqual(['cat', 'dog'])
    expect(listClasses(db).map((c) => [c.name, c.position])).toEqual([
      ['cat', 0],
      ['dog', 1],
    ])
    const got = rows()
      .map((r) => [rel(r.source), r.split, r.split_locked, r.class, r.status])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])))
    expect(got).toEqual([
      ['test/cat/c4.jpeg', 'test', 1, 'cat', 'labeled'],
      ['test/dog/d3.png', 'test', 1, 'dog', 'labeled'],
      ['train/cat/c1.png', 'train', 1, 'cat', 'labeled'],
      ['train/cat/c2.png', 'train', 1, 'cat', 'labeled'],
      ['train/dog/d1.jpg', 'train', 1, 'dog', 'labeled'],
      ['valid/cat/c3.png', 'val', 1, 'cat', 'labeled'],
      ['valid/dog/d2.png', 'val', 1, 'dog', 'labeled'],
    ])
    const jpeg = rows().find((r) => r.source.endsWith('d1.jpg'))!
    expect(jpeg).toMatchObject({ format: 'jpeg', width: 32, height: 32, channels: 3 })
    expect(wholeImageProblems(db)).toEqual([])
    expect(projectCounts(db).bySplit).toEqual({ train: 3, val: 2, test: 2 })
  })

  it('stores the file bytes as they are', async () => {
    const f = await writePng(path.join(src, 'cat', 'a.png'))
    await doImport({ paths: [src] })
    const stored = db.prepare('SELECT d.bytes FROM image_data d').get() as { bytes: Buffer }
    expect(stored.bytes.equals(fs.readFileSync(f))).toBe(true)
  })

  it('gives a folder without split folders a seeded, stratified train/val/test split', async () => {
    for (let i = 0; i < 20; i++) await writePng(path.join(src, 'cat', `c${i}.png`), undefined, 8)
    for (let i = 0; i < 10; i++) await writePng(path.join(src, 'dog', `d${i}.png`), undefined, 8)
    for (let i = 0; i < 7; i++) await writePng(path.join(src, 'emu', `e${i}.png`), undefined, 8)

    const report = await doImport({ paths: [src], seed: 5 })
    expect(report).toMatchObject({ added: 37, failed: [], classesCreated: ['cat', 'dog', 'emu'] })
    const r = rows()
    for (const [cls, n] of [
      ['cat', 20],
      ['dog', 10],
      ['emu', 7],
    ] as const) {
      const tally = { train: 0, val: 0, test: 0 } as Record<string, number>
      for (const x of r.filter((x) => x.class === cls)) tally[x.split]!++
      expect(tally).toEqual(splitCounts(n, { train: 0.8, val: 0.1, test: 0.1 }))
    }
    // Made here, not by the source: not locked.
    expect(new Set(r.map((x) => x.split_locked))).toEqual(new Set([0]))

    // Same source and seed into another project: the same split for every file.
    const other = newProject('other')
    await doImport({ paths: [src], seed: 5 }, {}, other)
    const bySource = (rs: Row[]) => Object.fromEntries(rs.map((x) => [x.source, x.split]))
    expect(bySource(rows(other))).toEqual(bySource(r))

    // Another seed: another split.
    const third = newProject('third')
    await doImport({ paths: [src], seed: 6 }, {}, third)
    expect(bySource(rows(third))).not.toEqual(bySource(r))
  })

  it('follows the split ratios it is given', async () => {
    for (let i = 0; i < 10; i++) await writePng(path.join(src, 'cat', `c${i}.png`), undefined, 8)
    await doImport({ paths: [src], splitRatios: { train: 0.5, val: 0.5, test: 0 } })
    expect(projectCounts(db).bySplit).toEqual({ train: 5, val: 5 })
  })

  it('imports loose files with no class and a split made for them', async () => {
    for (let i = 0; i < 10; i++) await writePng(path.join(src, `x${i}.png`), undefined, 8)
    const report = await doImport({ paths: [src] })
    expect(report).toMatchObject({ added: 10, classesCreated: [] })
    expect(rows().every((r) => r.class === null && r.status === 'unlabeled')).toBe(true)
    expect(projectCounts(db).bySplit).toEqual({ train: 8, val: 1, test: 1 })
    expect(listClasses(db)).toEqual([])
  })

  it('reuses classes already in the project and adds new ones after them', async () => {
    await writePng(path.join(src, 'one', 'dog', 'a.png'))
    await doImport({ paths: [path.join(src, 'one')] })
    await writePng(path.join(src, 'two', 'dog', 'b.png'))
    await writePng(path.join(src, 'two', 'ant', 'c.png'))
    const report = await doImport({ paths: [path.join(src, 'two')] })
    expect(report.classesCreated).toEqual(['ant'])
    expect(listClasses(db).map((c) => [c.name, c.position])).toEqual([
      ['dog', 0],
      ['ant', 1],
    ])
    expect(projectCounts(db).byClass.map((c) => [c.name, c.count])).toEqual([
      ['dog', 2],
      ['ant', 1],
    ])
  })

  it('counts identical files within one import as duplicates', async () => {
    const a = await writePng(path.join(src, 'cat', 'a.png'))
    fs.copyFileSync(a, path.join(src, 'cat', 'a-copy.png'))
    const report = await doImport({ paths: [src] })
    expect(report).toMatchObject({ added: 1, duplicates: 1, failed: [] })
  })
})

describe('a second import of the same source', () => {
  it('adds nothing, counts every image as a duplicate and changes nothing', async () => {
    await writePng(path.join(src, 'train', 'cat', 'a.png'))
    await writePng(path.join(src, 'valid', 'dog', 'b.png'))
    for (let i = 0; i < 5; i++) await writePng(path.join(src, 'extra', 'cat', `x${i}.png`), undefined, 8)
    writeFile(path.join(src, 'train-images-idx3-ubyte.gz'), gzip(idxImages(6, 8, 8, 500)))
    writeFile(path.join(src, 'train-labels-idx1-ubyte.gz'), gzip(idxLabels([0, 1, 2, 0, 1, 2])))

    const first = await doImport({ paths: [src], preset: 'mnist' })
    expect(first).toMatchObject({ added: 13, duplicates: 0, failed: [] })
    const before = snapshot(db)
    const counts = projectCounts(db)

    const second = await doImport({ paths: [src], preset: 'mnist' })
    expect(second).toMatchObject({
      added: 0,
      duplicates: 13,
      failed: [],
      classesCreated: [],
      cancelled: false,
    })
    expect(snapshot(db)).toEqual(before)
    expect(projectCounts(db)).toEqual(counts)
  })

  it('also counts the same images under other paths as duplicates', async () => {
    await writePng(path.join(src, 'a', 'cat', '1.png'))
    await writePng(path.join(src, 'a', 'cat', '2.png'))
    await doImport({ paths: [path.join(src, 'a')] })
    const before = snapshot(db)
    fs.cpSync(path.join(src, 'a'), path.join(src, 'b'), { recursive: true })
    fs.renameSync(path.join(src, 'b', 'cat'), path.join(src, 'b', 'dog'))
    const r = await doImport({ paths: [path.join(src, 'b')] })
    expect(r).toMatchObject({ added: 0, duplicates: 2, classesCreated: [] })
    expect(snapshot(db)).toEqual(before)
  })
})

describe('cancel', () => {
  async function manyImages(n: number): Promise<void> {
    for (let i = 0; i < n; i++)
      await writePng(path.join(src, 'cat', `c${String(i).padStart(3, '0')}.png`), undefined, 8)
  }

  it('stops early on abort (during onProgress), reporting cancelled and storing only whole images', async () => {
    await manyImages(64)
    const ac = new AbortController()
    const progress: Omit<ImportProgress, 'jobId'>[] = []
    let progressAfterAbort = 0
    const report = await doImport(
      { paths: [src] },
      {
        signal: ac.signal,
        progressEveryMs: 0,
        onProgress: (p) => {
          if (ac.signal.aborted && p.phase === 'importing') progressAfterAbort++
          progress.push(p)
          if (p.phase === 'importing' && p.done > 0) ac.abort()
        },
      },
    )
    expect(report.cancelled).toBe(true)
    expect(report.added).toBeGreaterThan(0)
    expect(report.added).toBeLessThan(64)
    expect(report.failed).toEqual([])
    expect(progressAfterAbort).toBe(0)
    // What the report says is what the store holds, and every image is whole.
    const n = (db.prepare('SELECT COUNT(*) AS n FROM images').get() as { n: number }).n
    expect(n).toBe(report.added)
    expect(wholeImageProblems(db)).toEqual([])
    expect(progress.at(-1)?.phase).toBe('done')
    // The rest comes in on a second run; what was already there counts as duplicates.
    const again = await doImport({ paths: [src] })
    expect(again).toMatchObject({ added: 64 - report.added, duplicates: report.added, cancelled: false })
    expect(wholeImageProblems(db)).toEqual([])
    // The images written before the cancel were split then: the import in two pieces ends with
    // the split of one uninterrupted import, file for file (80/10/10 of 64: 51/6/7).
    const whole = newProject('whole')
    await doImport({ paths: [src] }, {}, whole)
    const bySource = (rs: Row[]) => Object.fromEntries(rs.map((x) => [x.source, x.split]))
    expect(bySource(rows())).toEqual(bySource(rows(whole)))
    const tally = { train: 0, val: 0, test: 0 } as Record<string, number>
    for (const x of rows()) tally[x.split]!++
    expect(tally).toEqual(splitCounts(64, { train: 0.8, val: 0.1, test: 0.1 }))
  })

  it('splits the images of an import that dies midway as it writes them, not at the end', async () => {
    await manyImages(64)
    // A failure thrown out of the import stands in for a crash: nothing after it runs.
    const crash = (p: Omit<ImportProgress, 'jobId'>) => {
      if (p.done >= 32) throw new Error('simulated crash')
    }
    await expect(
      doImport({ paths: [src] }, { progressEveryMs: 0, onProgress: crash, batchSize: 16 }),
    ).rejects.toThrow('simulated crash')
    const r = rows()
    expect(r.length).toBeGreaterThanOrEqual(32)
    expect(r.length).toBeLessThan(64)
    const val = r.filter((x) => x.split === 'val').length
    const test = r.filter((x) => x.split === 'test').length
    // Near 10% each, at whatever point an import stops (before, all 64 sat in train until the end).
    expect(Math.abs(val - r.length * 0.1)).toBeLessThan(2)
    expect(Math.abs(test - r.length * 0.1)).toBeLessThan(2)
  })

  it('with a signal aborted before it starts, stores nothing', async () => {
    await manyImages(5)
    const before = snapshot(db)
    const ac = new AbortController()
    ac.abort()
    const report = await doImport({ paths: [src] }, { signal: ac.signal })
    expect(report).toMatchObject({ cancelled: true, added: 0, classesCreated: [] })
    expect(snapshot(db)).toEqual(before)
  })
})

describe('progress', () => {
  it('reports scanning, importing and done (each batch is split as it is written), with done reaching total', async () => {
    for (let i = 0; i < 20; i++) await writePng(path.join(src, `x${i}.png`), undefined, 8)
    const seen: Omit<ImportProgress, 'jobId'>[] = []
    const report = await doImport({ paths: [src] }, { progressEveryMs: 0, onProgress: (p) => seen.push(p) })
    const phases = [...new Set(seen.map((p) => p.phase))]
    expect(phases).toEqual(['scanning', 'importing', 'done'])
    const last = seen.at(-1)!
    expect(last).toMatchObject({ phase: 'done', done: 20, total: 20, added: 20, duplicates: 0, failed: 0 })
    expect(report.added).toBe(20)
    const dones = seen.filter((p) => p.phase === 'importing').map((p) => p.done)
    expect(dones).toEqual([...dones].sort((a, b) => a - b))
    expect(report.durationMs).toBeGreaterThanOrEqual(0)
  })
})

describe('IDX', () => {
  /** 10 classes, each label present, given in scrambled order. */
  const trainLabels = [7, 2, 9, 0, 5, 3, 1, 8, 6, 4, 2, 7]
  const testLabels = [3, 1, 0, 9, 8, 7, 6, 5, 4, 2]

  function writeFashion(dir: string, zipped = true) {
    const z = (b: Buffer) => (zipped ? gzip(b) : b)
    const ext = zipped ? '.gz' : ''
    writeFile(path.join(dir, `train-images-idx3-ubyte${ext}`), z(idxImages(trainLabels.length, 8, 8, 1)))
    writeFile(path.join(dir, `train-labels-idx1-ubyte${ext}`), z(idxLabels(trainLabels)))
    writeFile(path.join(dir, `t10k-images-idx3-ubyte${ext}`), z(idxImages(testLabels.length, 8, 8, 100)))
    writeFile(path.join(dir, `t10k-labels-idx1-ubyte${ext}`), z(idxLabels(testLabels)))
  }

  it("creates the fashion-mnist classes in label order, with the preset's names", async () => {
    writeFashion(src)
    const report = await doImport({ paths: [src], format: 'idx', preset: 'fashion-mnist' })
    const names = [...CLASS_PRESET_NAMES['fashion-mnist']]
    expect(report).toMatchObject({ added: 22, duplicates: 0, failed: [] })
    expect(report.classesCreated).toEqual(names)
    expect(listClasses(db).map((c) => c.name)).toEqual(names)
    expect(listClasses(db).map((c) => c.position)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])

    // Each image has the class its label names, and the split its file prefix names.
    const r = rows()
    const trainFile = path.join(src, 'train-images-idx3-ubyte.gz')
    const testFile = path.join(src, 't10k-images-idx3-ubyte.gz')
    trainLabels.forEach((label, i) => {
      expect(r.find((x) => x.source === `${trainFile}#${i}`)).toMatchObject({
        class: names[label],
        split: 'train',
        split_locked: 1,
        width: 8,
        height: 8,
        channels: 1,
      })
    })
    testLabels.forEach((label, i) => {
      expect(r.find((x) => x.source === `${testFile}#${i}`)).toMatchObject({
        class: names[label],
        split: 'test',
      })
    })
    expect(wholeImageProblems(db)).toEqual([])
  })

  it("keeps each image's pixels exactly", async () => {
    writeFile(path.join(src, 'x-images-idx3-ubyte'), idxImages(3, 5, 4, 77))
    await doImport({ paths: [src] })
    const stored = db
      .prepare(
        'SELECT i.format, i.width, i.height, d.bytes FROM images i JOIN image_data d ON d.image_id = i.id ORDER BY i.id',
      )
      .all() as {
      format: string
      width: number
      height: number
      bytes: Buffer
    }[]
    expect(stored).toHaveLength(3)
    for (const [i, s] of stored.entries()) {
      expect([s.width, s.height]).toEqual([4, 5])
      // Raw pixels as IDX holds them, or a lossless encoding of them.
      const px =
        s.format === 'raw'
          ? s.bytes
          : (await sharp(s.bytes).extractChannel(0).raw().toBuffer({ resolveWithObject: true })).data
      expect(px.equals(noisePixels(77 + i, 4, 5, 1))).toBe(true)
    }
  })

  it('reads raw (not gzipped) IDX the same', async () => {
    writeFashion(src, false)
    const report = await doImport({ paths: [src], preset: 'fashion-mnist' })
    expect(report).toMatchObject({ added: 22, failed: [] })
    expect(report.classesCreated).toEqual([...CLASS_PRESET_NAMES['fashion-mnist']])
  })

  it('names classes by number with no preset, and classNames win over a preset', async () => {
    writeFile(path.join(src, 'a-images-idx3-ubyte'), idxImages(4, 4, 4, 300))
    writeFile(path.join(src, 'a-labels-idx1-ubyte'), idxLabels([1, 0, 1, 2]))
    const r1 = await doImport({ paths: [src] })
    expect(r1.classesCreated).toEqual(['0', '1', '2'])
    const other = newProject('names')
    const r2 = await doImport(
      { paths: [src], preset: 'fashion-mnist', classNames: ['zero', 'one', 'two'] },
      {},
      other,
    )
    expect(r2.classesCreated).toEqual(['zero', 'one', 'two'])
    expect(rows(other).map((x) => x.class)).toEqual(['one', 'zero', 'one', 'two'])
  })

  it('imports an images file without labels as unlabelled, with a split made for it', async () => {
    writeFile(path.join(src, 'misc-images-idx3-ubyte'), idxImages(10, 4, 4, 900))
    const report = await doImport({ paths: [src] })
    expect(report).toMatchObject({ added: 10, classesCreated: [] })
    expect(rows().every((x) => x.class === null && x.split_locked === 0)).toBe(true)
    expect(projectCounts(db).bySplit).toEqual({ train: 8, val: 1, test: 1 })
  })

  it('refuses IDX images that are not N×H×W or N×H×W×C, naming the file', async () => {
    const f = writeFile(path.join(src, 'flat-images-idx1-ubyte'), idxBytes([4], [1, 2, 3, 4]))
    const report = await doImport({ paths: [src] })
    expect(report.added).toBe(0)
    expect(report.failed).toEqual([{ path: f, reason: expect.stringMatching(/expected N×H×W/) }])
  })
})
