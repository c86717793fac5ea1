/**
 * Bad input to the importer. For each kind of bad file the failure must name the file and give a
 * sensible reason, the rest of the import must go on, and nothing already in the project may change.
 *
 * Each case is run twice:
 *  - alone (the bad file given directly): nothing at all changes;
 *  - in a class folder beside a new good image: the good one comes in, the rows already in the
 *    project are identical before and after, and only the new image's rows are added.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { calls, type ImportReport, type ImportRequest } from '../../src-shared/api/contract'
import { runImport } from '../../src-main/media/import'
import { createProjectStore, type DB } from '../../src-main/store/open'
import { projectCounts } from '../../src-main/store/repos/counts'
import {
  bmpBytes,
  bombPng,
  changedExistingRows,
  gzip,
  idxBytes,
  idxImages,
  idxLabels,
  jpegBytes,
  makeTempDir,
  pngBytes,
  pngChunk,
  PNG_SIGNATURE,
  removeTempDir,
  rowsAdded,
  snapshot,
  wholeImageProblems,
  writeFile,
  writePng,
  freshSeed,
} from './helpers/fixtures'

let tmp: string
let db: DB
let caseNo = 0

beforeAll(async () => {
  tmp = makeTempDir('smallset-bad-')
  db = createProjectStore(path.join(tmp, 'project'), 'bad-input')
  // What is "already in the project": labelled images with fixed splits, and an unsplit one.
  const seed = path.join(tmp, 'seed')
  await writePng(path.join(seed, 'train', 'cat', 'a.png'))
  await writePng(path.join(seed, 'train', 'dog', 'b.png'))
  await writePng(path.join(seed, 'valid', 'cat', 'c.png'))
  await writePng(path.join(seed, 'test', 'dog', 'd.png'))
  const r = await runImport(db, calls['import.start'].req.parse({ paths: [seed] }))
  expect(r).toMatchObject({ added: 4, failed: [] })
  const loose = await writePng(path.join(tmp, 'seed-loose', 'e.png'))
  await runImport(db, calls['import.start'].req.parse({ paths: [loose] }))
  expect(projectCounts(db).images).toBe(5)
})

afterAll(() => {
  db?.close()
  if (tmp) removeTempDir(tmp)
})

const importNow = (req: ImportRequest) => runImport(db, calls['import.start'].req.parse(req))

/** A fresh folder for one case. */
function caseDir(): string {
  const d = path.join(tmp, 'cases', String(caseNo++))
  fs.mkdirSync(d, { recursive: true })
  return d
}

/** Nothing in the store may change at all. */
async function expectRefusedAlone(given: string, reason: RegExp, failedPath = given): Promise<ImportReport> {
  const before = snapshot(db)
  const counts = projectCounts(db)
  const report = await importNow({ paths: [given] })
  expect(report.added).toBe(0)
  expect(report.cancelled).toBe(false)
  expect(report.failed).toEqual([{ path: failedPath, reason: expect.stringMatching(reason) }])
  expect(snapshot(db)).toEqual(before)
  expect(projectCounts(db)).toEqual(counts)
  return report
}

/**
 * Imports `dir` (whose `cat/` folder holds the bad file and `goodCount` new good images) and checks
 * that exactly `failures` are reported, the good images come in, and existing rows are unchanged.
 */
async function expectRestGoesOn(dir: string, failures: { path: string; reason: RegExp }[], goodCount = 1) {
  const before = snapshot(db)
  const counts = projectCounts(db)
  const report = await importNow({ paths: [dir] })
  const byPath = <T extends { path: string }>(xs: T[]) => [...xs].sort((a, b) => a.path.localeCompare(b.path))
  expect(byPath(report.failed)).toEqual(
    byPath(failures).map((f) => ({ path: f.path, reason: expect.stringMatching(f.reason) })),
  )
  expect(report).toMatchObject({ added: goodCount, duplicates: 0, classesCreated: [], cancelled: false })
  const after = snapshot(db)
  expect(changedExistingRows(before, after)).toEqual([])
  const grown = rowsAdded(before, after)
  expect(grown).toMatchObject({
    meta: 0,
    classes: 0,
    images: goodCount,
    image_data: goodCount,
    annotations: goodCount,
    runs: 0,
    run_epochs: 0,
    run_checkpoints: 0,
    predictions: 0,
  })
  // Counts change only by the good images (all in class "cat").
  const now = projectCounts(db)
  expect(now.images).toBe(counts.images + goodCount)
  const cat = (c: typeof now) => c.byClass.find((x) => x.name === 'cat')!.count
  expect(cat(now)).toBe(cat(counts) + goodCount)
  expect(now.byClass.filter((x) => x.name !== 'cat')).toEqual(counts.byClass.filter((x) => x.name !== 'cat'))
  expect(wholeImageProblems(db)).toEqual([])
  return report
}

/** A folder with `cat/<name>` holding `bytes`, beside a new good PNG in `cat/`. */
async function withGood(name: string, bytes: Buffer | string): Promise<{ dir: string; bad: string }> {
  const dir = caseDir()
  const bad = writeFile(path.join(dir, 'cat', name), bytes)
  await writePng(path.join(dir, 'cat', 'good.png'))
  return { dir, bad }
}

/** Runs both halves of a file case. */
async function fileCase(name: string, bytes: () => Promise<Buffer> | Buffer | string, reason: RegExp) {
  const alone = writeFile(path.join(caseDir(), name), await bytes())
  await expectRefusedAlone(alone, reason)
  const { dir, bad } = await withGood(name, await bytes())
  await expectRestGoesOn(dir, [{ path: bad, reason }])
}

/** What a truncated or corrupt file is reported as. */
const TRUNCATED = /truncated or corrupt image data/

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

describe('bad image files', () => {
  it('zero-byte JPEG', async () => {
    await fileCase('empty.jpg', () => Buffer.alloc(0), /^empty file \(0 bytes\)$/)
  })

  it('zero-byte PNG', async () => {
    await fileCase('empty.png', () => Buffer.alloc(0), /^empty file \(0 bytes\)$/)
  })

  it('truncated JPEG (a valid file cut in half)', async () => {
    await fileCase(
      'half.jpg',
      async () => {
        const j = await jpegBytes(freshSeed())
        return j.subarray(0, j.length >> 1)
      },
      TRUNCATED,
    )
  })

  it('truncated PNG (a valid file cut in half)', async () => {
    await fileCase(
      'half.png',
      async () => {
        const p = await pngBytes(freshSeed(), 32, 32)
        return p.subarray(0, p.length >> 1)
      },
      TRUNCATED,
    )
  })

  it('corrupt bytes: a PNG whose pixel data is garbage', async () => {
    await fileCase(
      'corrupt.png',
      async () => {
        const good = await pngBytes(freshSeed(), 16, 16)
        // Keep the signature and IHDR, then an IDAT of garbage (with a valid CRC), then IEND.
        const ihdr = good.subarray(8, 8 + 25)
        const garbage = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 131 + 17) & 0xff))
        return Buffer.concat([
          PNG_SIGNATURE,
          ihdr,
          pngChunk('IDAT', garbage),
          pngChunk('IEND', Buffer.alloc(0)),
        ])
      },
      TRUNCATED,
    )
  })

  it('corrupt bytes: a JPEG with its body overwritten', async () => {
    await fileCase(
      'corrupt.jpg',
      async () => {
        const j = Buffer.from(await jpegBytes(freshSeed()))
        for (let i = 20; i < j.length - 2; i++) j[i] = (i * 37) & 0xff
        return j
      },
      new RegExp(`${TRUNCATED.source}|not a recognised image`),
    )
  })

  it('a text file with a .png extension', async () => {
    await fileCase('notes.png', () => 'These are my notes, not a picture.\n', /not a recognised image/)
  })

  it('a decompression bomb (a tiny PNG whose header says 100000×100000)', async () => {
    const bomb = bombPng(100_000, 100_000)
    expect(bomb.length).toBeLessThan(2000)
    await fileCase('bomb.png', () => bomb, /100000×100000 pixels.*decompression bomb/)
  })

  it('an unsupported format (.bmp)', async () => {
    await fileCase('old.bmp', () => bmpBytes(4, 4), /^unsupported format: \.bmp$/)
  })
})

describe('unreadable files and links', () => {
  it.skipIf(isRoot)(
    'an unreadable file (chmod 000; skipped as root, where it is still readable)',
    async () => {
      const alone = await writePng(path.join(caseDir(), 'locked.png'))
      fs.chmodSync(alone, 0o000)
      await expectRefusedAlone(alone, /^unreadable: permission denied$/)
      const dir = caseDir()
      const bad = await writePng(path.join(dir, 'cat', 'locked.png'))
      fs.chmodSync(bad, 0o000)
      await writePng(path.join(dir, 'cat', 'good.png'))
      await expectRestGoesOn(dir, [{ path: bad, reason: /^unreadable: permission denied$/ }])
    },
  )

  it.skipIf(isRoot)('an unreadable folder (chmod 000; skipped as root)', async () => {
    const dir = caseDir()
    await writePng(path.join(dir, 'cat', 'good.png'))
    const locked = path.join(dir, 'cat', 'locked')
    await writePng(path.join(locked, 'x.png'))
    fs.chmodSync(locked, 0o000)
    await expectRestGoesOn(dir, [{ path: locked, reason: /^unreadable: permission denied$/ }])
  })

  it('a dangling symlink (x.png -> missing): ENOENT', async () => {
    const aloneDir = caseDir()
    const alone = path.join(aloneDir, 'x.png')
    fs.symlinkSync('missing', alone)
    await expectRefusedAlone(alone, /not found|broken symlink/)
    const dir = caseDir()
    await writePng(path.join(dir, 'cat', 'good.png'))
    const bad = path.join(dir, 'cat', 'x.png')
    fs.symlinkSync('missing', bad)
    await expectRestGoesOn(dir, [{ path: bad, reason: /not found|broken symlink/ }])
  })

  it('a symlink loop (loop.png -> loop.png)', async () => {
    const alone = path.join(caseDir(), 'loop.png')
    fs.symlinkSync('loop.png', alone)
    await expectRefusedAlone(alone, /symlink loop/)
    const dir = caseDir()
    await writePng(path.join(dir, 'cat', 'good.png'))
    const bad = path.join(dir, 'cat', 'loop.png')
    fs.symlinkSync('loop.png', bad)
    await expectRestGoesOn(dir, [{ path: bad, reason: /symlink loop/ }])
  })

  it('a folder symlink pointing to its parent', async () => {
    const dir = caseDir()
    await writePng(path.join(dir, 'cat', 'good.png'))
    const up = path.join(dir, 'cat', 'up')
    fs.symlinkSync('..', up)
    const report = await expectRestGoesOn(dir, [{ path: up, reason: /symlink loop/ }])
    // The loop is walked once, not again and again.
    expect(report.duplicates).toBe(0)
  })
})

describe('special files: only regular files are read', () => {
  it('a FIFO named pipe.png is skipped with its reason, and the good image beside it comes in', async () => {
    const alone = path.join(caseDir(), 'pipe.png')
    execFileSync('mkfifo', [alone])
    // Before, the read waited for a writer for ever: this import never ended.
    await expectRefusedAlone(alone, /^skipped: a named pipe \(FIFO\), not a regular file$/)
    const dir = caseDir()
    await writePng(path.join(dir, 'cat', 'good.png'))
    const bad = path.join(dir, 'cat', 'pipe.png')
    execFileSync('mkfifo', [bad])
    await expectRestGoesOn(dir, [
      { path: bad, reason: /^skipped: a named pipe \(FIFO\), not a regular file$/ },
    ])
  }, 10_000)

  it('a symlink to /dev/zero is skipped unread (before, it grew the process to 4 GB)', async () => {
    const alone = path.join(caseDir(), 'zero.png')
    fs.symlinkSync('/dev/zero', alone)
    await expectRefusedAlone(alone, /^skipped: a character device, not a regular file$/)
    const dir = caseDir()
    await writePng(path.join(dir, 'cat', 'good.png'))
    const bad = path.join(dir, 'cat', 'zero.png')
    fs.symlinkSync('/dev/zero', bad)
    await expectRestGoesOn(dir, [{ path: bad, reason: /^skipped: a character device, not a regular file$/ }])
  }, 10_000)

  it('a file over the size limit is skipped unread, naming its size and the limit; a raised limit takes it', async () => {
    const big = path.join(caseDir(), 'big.png')
    writeFile(big, Buffer.concat([await pngBytes(freshSeed(), 8, 8), Buffer.alloc(300_000)]))
    const before = snapshot(db)
    const r = await importNow({ paths: [big], maxFileMb: 0.25 })
    expect(r.added).toBe(0)
    expect(r.failed).toEqual([
      { path: big, reason: expect.stringMatching(/^skipped: the file is 0\.29 MB, over the 0\.25 MB limit/) },
    ])
    expect(snapshot(db)).toEqual(before)
    const opened = vi.spyOn(fsp, 'open')
    const raised = await importNow({ paths: [big], maxFileMb: 1 })
    // Read (and failed: trailing bytes after IEND are fine for libvips, so it may import) once only.
    expect(opened.mock.calls.filter((c) => c[0] === big)).toHaveLength(1)
    opened.mockRestore()
    expect(raised.failed.filter((f) => /limit/.test(f.reason))).toEqual([])
  })

  it('a file that fails to decode is read once, not again for its second decode', async () => {
    const bad = writeFile(path.join(caseDir(), 'bad.png'), Buffer.from('not a png at all'))
    const opened = vi.spyOn(fsp, 'open')
    const r = await importNow({ paths: [bad] })
    expect(r.failed).toHaveLength(1)
    expect(opened.mock.calls.filter((c) => c[0] === bad)).toHaveLength(1)
    opened.mockRestore()
  })
})

describe('bad IDX files', () => {
  /** An IDX pair where `images` is given as-is, plus a good PNG in cat/ (the "rest"). */
  async function idxCase(
    files: Record<string, Buffer>,
    failed: (dir: string) => { path: string; reason: RegExp },
  ): Promise<void> {
    // Alone: only the IDX files.
    const aloneDir = caseDir()
    for (const [name, bytes] of Object.entries(files)) writeFile(path.join(aloneDir, name), bytes)
    const f1 = failed(aloneDir)
    await expectRefusedAlone(aloneDir, f1.reason, f1.path)
    // With good images: a good PNG, and a good IDX pair of another prefix.
    const dir = caseDir()
    for (const [name, bytes] of Object.entries(files)) writeFile(path.join(dir, name), bytes)
    await writePng(path.join(dir, 'cat', 'good.png'))
    await expectRestGoesOn(dir, [failed(dir)])
  }

  const seedBase = () => freshSeed() * 1000

  it('raw IDX whose header and length disagree', async () => {
    await idxCase(
      {
        'train-images-idx3-ubyte': idxBytes([5, 8, 8], idxImages(5, 8, 8, seedBase()).subarray(16), -7),
        'train-labels-idx1-ubyte': idxLabels([0, 1, 0, 1, 0]),
      },
      (dir) => ({
        path: path.join(dir, 'train-images-idx3-ubyte'),
        reason: /header and length disagree.*5×8×8 need 320.*has 313/,
      }),
    )
  })

  it('gzipped IDX whose header and length disagree', async () => {
    await idxCase(
      {
        'train-images-idx3-ubyte.gz': gzip(
          idxBytes([5, 8, 8], idxImages(5, 8, 8, seedBase()).subarray(16), 9),
        ),
        'train-labels-idx1-ubyte.gz': gzip(idxLabels([0, 1, 0, 1, 0])),
      },
      (dir) => ({
        path: path.join(dir, 'train-images-idx3-ubyte.gz'),
        reason: /header and length disagree.*has 329/,
      }),
    )
  })

  it('an IDX labels file whose header and length disagree', async () => {
    await idxCase(
      {
        'train-images-idx3-ubyte.gz': gzip(idxImages(5, 8, 8, seedBase())),
        'train-labels-idx1-ubyte.gz': gzip(idxBytes([5], [0, 1, 0])),
      },
      (dir) => ({ path: path.join(dir, 'train-labels-idx1-ubyte.gz'), reason: /header and length disagree/ }),
    )
  })

  it('an IDX labels file whose count differs from the images file', async () => {
    await idxCase(
      {
        'train-images-idx3-ubyte.gz': gzip(idxImages(5, 8, 8, seedBase())),
        'train-labels-idx1-ubyte.gz': gzip(idxLabels([0, 1, 0, 1])),
      },
      (dir) => ({
        path: path.join(dir, 'train-labels-idx1-ubyte.gz'),
        reason: new RegExp(
          `^4 labels for 5 images in ${path.join(dir, 'train-images-idx3-ubyte.gz').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
        ),
      }),
    )
  })

  it('not IDX at all, despite the name (bad magic)', async () => {
    await idxCase({ 'train-images-idx3-ubyte': Buffer.from('definitely not an idx file') }, (dir) => ({
      path: path.join(dir, 'train-images-idx3-ubyte'),
      reason: /bad magic/,
    }))
  })

  it('a good IDX pair still comes in beside a bad one', async () => {
    const dir = caseDir()
    const bad = writeFile(path.join(dir, 'train-images-idx3-ubyte'), idxBytes([3, 4, 4], Buffer.alloc(10)))
    writeFile(path.join(dir, 'train-labels-idx1-ubyte'), idxLabels([0, 0, 0]))
    writeFile(path.join(dir, 'more-images-idx3-ubyte'), idxImages(3, 4, 4, seedBase()))
    // Labels 0 name the existing class "cat": no class is created.
    writeFile(path.join(dir, 'more-labels-idx1-ubyte'), idxLabels([0, 0, 0]))
    const before = snapshot(db)
    const report = await runImport(db, calls['import.start'].req.parse({ paths: [dir], classNames: ['cat'] }))
    expect(report.failed).toEqual([
      { path: bad, reason: expect.stringMatching(/header and length disagree/) },
    ])
    expect(report).toMatchObject({ added: 3, classesCreated: [] })
    expect(changedExistingRows(before, snapshot(db))).toEqual([])
    expect(wholeImageProblems(db)).toEqual([])
  })
})

describe('many bad files at once', () => {
  it('reports each one by path and imports every good one', async () => {
    const dir = caseDir()
    const bads: { path: string; reason: RegExp }[] = []
    const bad = (name: string, bytes: Buffer | string, reason: RegExp) =>
      bads.push({ path: writeFile(path.join(dir, 'cat', name), bytes), reason })
    bad('a-empty.png', Buffer.alloc(0), /empty file/)
    bad('b-bomb.png', bombPng(), /decompression bomb/)
    bad('c-text.png', 'hello', /not a recognised image/)
    bad('d-old.bmp', bmpBytes(), /unsupported format: \.bmp/)
    const half = await pngBytes(freshSeed(), 32, 32)
    bad('e-half.png', half.subarray(0, half.length >> 1), TRUNCATED)
    for (let i = 0; i < 3; i++) await writePng(path.join(dir, 'cat', `good${i}.png`))
    await expectRestGoesOn(dir, bads, 3)
  })
})

describe('truncated images decoded together (as the importer does, 16 at a time)', () => {
  // libvips reports errors per thread: decoded 16 at a time, a truncated file could get another
  // file's message. The importer decodes failures again on their own for their true reason.
  it('reports every truncated file as truncated or corrupt', async () => {
    const dir = caseDir()
    const files: string[] = []
    for (let i = 0; i < 16; i++) {
      const png = await pngBytes(freshSeed(), 32, 32)
      files.push(
        writeFile(path.join(dir, `p${String(i).padStart(2, '0')}.png`), png.subarray(0, png.length >> 1)),
      )
      const jpg = await jpegBytes(freshSeed())
      files.push(
        writeFile(path.join(dir, `j${String(i).padStart(2, '0')}.jpg`), jpg.subarray(0, jpg.length >> 1)),
      )
    }
    const before = snapshot(db)
    const report = await importNow({ paths: [dir] })
    expect(report.added).toBe(0)
    expect(snapshot(db)).toEqual(before)
    expect(report.failed.map((f) => f.path).sort()).toEqual([...files].sort())
    const wrong = report.failed.filter((f) => !/^truncated or corrupt image data/.test(f.reason))
    expect(wrong).toEqual([])
  })
})
