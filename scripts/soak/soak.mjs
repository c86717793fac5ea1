#!/usr/bin/env node
// Crash soak: random SIGKILLs during imports, editor saves and training, each followed by checks.
//
//   node scripts/soak/soak.mjs [--kills 100] [--seed 1] [--out bench-results/soak.json] [--quick] [--keep]
//
// Not part of CI. Needs the built CLI (npx electron-vite build) and the real Fashion-MNIST at
// /usr/share/datasets/fashion-mnist (apt-get install -y dataset-fashion-mnist).
//
// Kinds of work killed (spread evenly, in a seeded random order):
//  - idx:     `smallset import` of the first 40,000 Fashion-MNIST training images as a new gzipped
//             IDX pair (no split in its name), into a fresh project each time (3,000 import in under
//             half a second, most of it the CLI starting: too short to kill inside);
//  - folders: `smallset import --format folders` of a 1,500-PNG class-folder tree, either with
//             train/valid/test split folders or as bare <class>/ folders (auto-split 80/10/10);
//  - coco:    `smallset import` of a COCO json (boxes and polygons) over 500 generated PNGs;
//  - saves:   `smallset serve` on one long-lived project, with save loops POSTing
//             /api/call/annotations.save (new boxes, and updates of earlier ones); every save
//             answered ok:true is "committed" and must be there, as answered, after the kill;
//  - train:   `smallset train --model seed-mlp --epochs 30` on a copy of a 500-PNG class-folder project,
//             killing the whole process group or only the trainer child, then `--resume` to the end,
//             and the final checkpoint compared with an uninterrupted run of the same config.
// After each kill: PRAGMA integrity_check and foreign_key_check (read-only) must pass, every image row
// must have its bytes, `smallset info --json` must succeed; an import is re-run and must complete
// (added + duplicates = total, no failures) with the right splits, and end identical (images, their
// splits, tags and regions, classes) to a clean uninterrupted import of the same source.
// Kill delays are drawn (seeded) between 0.2 s and the work's typical duration, measured at the start
// (saves: the time 1,500 saves take). Sizes: --idx-images, --folder-images, --coco-images,
// --train-images, --epochs, --save-loops; --kinds idx,train to try some kinds only, --trainer-only
// 0.35 for the share of train kills that kill only the trainer process. --keep keeps the work folder (it is kept anyway on failures).
//
// Progress goes to stderr; the summary JSON to stdout and to --out (which also gets `perKill`).
import { spawn, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync, gzipSync } from 'node:zlib'
import Database from 'better-sqlite3'
import sharp from 'sharp'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const BUILT = path.join(ROOT, 'out', 'main', 'cli.js')
const FASHION_MNIST = '/usr/share/datasets/fashion-mnist'
const FM_NAMES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]
const KINDS = ['idx', 'folders', 'coco', 'saves', 'train']

// ---------------------------------------------------------------- options

const argv = process.argv.slice(2)
const flag = (name) => argv.includes(name)
const opt = (name, dflt) => {
  const i = argv.indexOf(name)
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt
}
if (flag('--help') || flag('-h')) {
  process.stdout.write(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport ')[0] + '\n')
  process.exit(0)
}
const QUICK = flag('--quick')
const KILLS = Number(opt('--kills', QUICK ? 10 : 100))
const SEED = Number(opt('--seed', 1))
const OUT = path.resolve(opt('--out', path.join(ROOT, 'bench-results', 'soak.json')))
const KEEP = flag('--keep')
const SIZES = {
  idx: Number(opt('--idx-images', 40000)),
  folders: Number(opt('--folder-images', 1500)),
  coco: Number(opt('--coco-images', 500)),
  trainImages: Number(opt('--train-images', 500)),
  epochs: Number(opt('--epochs', 30)),
  calibrationSaves: Number(opt('--calibration-saves', 1500)),
  saveLoops: Number(opt('--save-loops', 3)),
}
const TRAIN_SEED = 42
if (!Number.isInteger(KILLS) || KILLS < 1) throw new Error('--kills must be a positive whole number')
/** --kinds idx,train: only these kinds (for trying one out). */
const PLAN_KINDS = opt('--kinds', KINDS.join(',')).split(',')
for (const k of PLAN_KINDS)
  if (!KINDS.includes(k)) throw new Error(`--kinds: no kind "${k}" (have ${KINDS.join(', ')})`)
const TRAINER_ONLY_SHARE = Number(opt('--trainer-only', 0.35))

const t0 = Date.now()
const log = (...a) =>
  process.stderr.write(`[soak ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${a.join(' ')}\n`)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

if (!fs.existsSync(BUILT)) throw new Error(`${BUILT} is missing: run "npx electron-vite build" first`)
if (!fs.existsSync(path.join(FASHION_MNIST, 'train-images-idx3-ubyte.gz')))
  throw new Error(`${FASHION_MNIST} is missing: apt-get install -y dataset-fashion-mnist`)
/** mulberry32: a small seeded PRNG. */
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const rand = prng(SEED)
const uniform = (lo, hi, r = rand) => lo + (hi - lo) * r()
const pick = (xs, r = rand) => xs[Math.floor(r() * xs.length)]

// ---------------------------------------------------------------- processes

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'smallset-soak-'))

/**
 * The CLI the soak drives. Others may rebuild out/ in the checkout while a soak runs (a build empties
 * out/ first, so a trainer started then finds no train-worker.js): by default the soak runs a copy of
 * the build, taken once it has been still for a few seconds, beside a link to the checkout's
 * node_modules. --no-snapshot runs the checkout's bin/smallset.js itself.
 */
async function snapshotBuild() {
  if (flag('--no-snapshot')) return path.join(ROOT, 'bin', 'smallset.js')
  const files = ['cli.js', 'index.js', 'train-worker.js'].map((f) => path.join(ROOT, 'out', 'main', f))
  const stillFor = () => {
    if (!files.every((f) => fs.existsSync(f))) return 0
    return Date.now() - Math.max(...files.map((f) => fs.statSync(f).mtimeMs))
  }
  for (let waited = 0; stillFor() < 5000; waited += 500) {
    if (waited > 120_000) throw new Error('out/main does not settle (a build keeps running?)')
    await sleep(500)
  }
  const dir = path.join(work, 'build')
  fs.cpSync(path.join(ROOT, 'out'), path.join(dir, 'out'), { recursive: true })
  fs.cpSync(path.join(ROOT, 'bin'), path.join(dir, 'bin'), { recursive: true })
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'))
  if (!files.every((f) => fs.existsSync(path.join(dir, path.relative(ROOT, f)))))
    throw new Error('the build changed while it was copied; run the soak again')
  return path.join(dir, 'bin', 'smallset.js')
}
const CLI = await snapshotBuild()
const builtMtime = fs.statSync(BUILT).mtimeMs
const live = new Set()
const cleanup = () => {
  for (const c of live) {
    try {
      process.kill(-c.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}
process.on('exit', cleanup)
process.on('SIGINT', () => {
  cleanup()
  process.exit(130)
})

/**
 * Starts the CLI in a process group of its own (so the whole group can be killed: the CLI and its
 * trainer). Returns the child, its output so far, and a promise of its end.
 */
function start(args) {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, SMALLSET_TOKEN: undefined },
  })
  live.add(child)
  const p = { child, pid: child.pid, stdout: '', stderr: '', started: Date.now(), exited: false }
  child.stdout.on('data', (d) => (p.stdout += d))
  child.stderr.on('data', (d) => (p.stderr += d))
  p.done = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      p.exited = true
      live.delete(child)
      resolve({ code, signal, stdout: p.stdout, stderr: p.stderr, ms: Date.now() - p.started })
    })
  })
  return p
}

/** Runs the CLI to its end (killed after timeoutMs). */
async function run(args, timeoutMs = 300_000) {
  const p = start(args)
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    killGroup(p.pid)
  }, timeoutMs)
  const r = await p.done
  clearTimeout(timer)
  return { ...r, timedOut }
}

function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL')
    return true
  } catch {
    return false
  }
}

function groupAlive(pid) {
  try {
    process.kill(-pid, 0)
    return true
  } catch (e) {
    return e.code === 'EPERM'
  }
}

function childrenOf(pid) {
  try {
    return execFileSync('pgrep', ['-P', String(pid)])
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number)
  } catch {
    return []
  }
}

const jsonLines = (text) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l)]
      } catch {
        return []
      }
    })
const tail = (s, n = 600) => (s.length > n ? '…' + s.slice(-n) : s).trim()

// ---------------------------------------------------------------- the store, read-only

const dbFile = (proj) => path.join(proj, 'project.sqlite')

function withDb(proj, fn) {
  const db = new Database(dbFile(proj), { readonly: true, fileMustExist: true })
  try {
    return fn(db)
  } finally {
    db.close()
  }
}

/** integrity_check, foreign_key_check, and every image with its bytes: [] when all is well. */
function storeProblems(proj) {
  try {
    return withDb(proj, (db) => {
      const problems = []
      const ic = db.pragma('integrity_check').map((r) => r.integrity_check)
      if (!(ic.length === 1 && ic[0] === 'ok')) problems.push(`integrity_check: ${ic.slice(0, 5).join('; ')}`)
      const fk = db.pragma('foreign_key_check')
      if (fk.length) problems.push(`foreign_key_check: ${fk.length} rows, e.g. ${JSON.stringify(fk[0])}`)
      const noBytes = db
        .prepare('SELECT COUNT(*) AS n FROM images WHERE id NOT IN (SELECT image_id FROM image_data)')
        .get().n
      if (noBytes) problems.push(`${noBytes} image rows without their bytes (image_data)`)
      return problems
    })
  } catch (e) {
    return [`could not open read-only: ${e.message}`]
  }
}

function imageCount(proj) {
  try {
    return withDb(proj, (db) => db.prepare('SELECT COUNT(*) AS n FROM images').get().n)
  } catch {
    return null
  }
}

/** What an import leaves: images (by hash) with split, tag and region count; and the classes. */
function snapshot(proj) {
  return withDb(proj, (db) => {
    const images = db
      .prepare(
        `SELECT i.id, i.hash, i.split, i.split_locked AS locked, i.source,
           (SELECT c.name FROM annotations a JOIN classes c ON c.id = a.class_id
             WHERE a.image_id = i.id AND a.kind = 'tag') AS cls,
           (SELECT COUNT(*) FROM annotations a WHERE a.image_id = i.id AND a.kind <> 'tag') AS regions
         FROM images i ORDER BY i.id`,
      )
      .all()
    const classes = db.prepare('SELECT id, name, position FROM classes ORDER BY id').all()
    return { images, classes }
  })
}

/** Differences between a snapshot and the reference one: [] when identical. */
function compareSnapshots(got, want) {
  const diffs = []
  if (got.images.length !== want.images.length)
    diffs.push(`${got.images.length} images, the clean import has ${want.images.length}`)
  const byHash = new Map(want.images.map((im) => [im.hash, im]))
  let splitDiff = 0
  let tagDiff = 0
  let regionDiff = 0
  let missing = 0
  let idDiff = 0
  let example = null
  for (const im of got.images) {
    const w = byHash.get(im.hash)
    if (!w) {
      missing++
      continue
    }
    if (im.split !== w.split || im.locked !== w.locked) {
      splitDiff++
      example ??= `${path.basename(im.source)}: split ${im.split}, clean import ${w.split}`
    }
    if (im.cls !== w.cls) tagDiff++
    if (im.regions !== w.regions) regionDiff++
    if (im.id !== w.id) idDiff++
  }
  if (missing) diffs.push(`${missing} images the clean import does not have`)
  if (splitDiff) diffs.push(`${splitDiff} images in another split than in the clean import (e.g. ${example})`)
  if (tagDiff) diffs.push(`${tagDiff} images with another class tag`)
  if (regionDiff) diffs.push(`${regionDiff} images with another number of regions`)
  if (idDiff) diffs.push(`${idDiff} images with another id`)
  const cls = (s) => JSON.stringify(s.classes.map((c) => [c.id, c.name, c.position]))
  if (cls(got) !== cls(want)) diffs.push(`classes differ: ${cls(got)} vs ${cls(want)}`)
  return { diffs, splitDiff }
}

/** Split checks: folder splits exactly as the source has them; auto splits 80/10/10 per class ±2. */
function splitProblems(snap, expectedLocked) {
  const problems = []
  const auto = new Map()
  const locked = new Map()
  for (const im of snap.images) {
    const m = im.locked ? locked : auto
    const k = String(im.cls)
    const c = m.get(k) ?? { train: 0, val: 0, test: 0 }
    c[im.split]++
    m.set(k, c)
  }
  for (const [k, c] of auto) {
    const n = c.train + c.val + c.test
    const want = { train: 0.8 * n, val: 0.1 * n, test: 0.1 * n }
    for (const s of ['train', 'val', 'test'])
      if (Math.abs(c[s] - want[s]) > 2)
        problems.push(`class ${k}: ${c[s]} ${s} of ${n} (want ${want[s].toFixed(1)} ± 2)`)
  }
  if (expectedLocked) {
    const got = Object.fromEntries([...locked].sort())
    const want = Object.fromEntries(Object.entries(expectedLocked).sort())
    if (JSON.stringify(got) !== JSON.stringify(want))
      problems.push(`folder splits ${JSON.stringify(got)}, the source has ${JSON.stringify(want)}`)
    if (auto.size)
      problems.push(
        `${[...auto.values()].reduce((n, c) => n + c.train + c.val + c.test, 0)} images auto-split in a source with split folders`,
      )
  }
  return problems
}

// ---------------------------------------------------------------- data

function readFashion(prefix) {
  const img = gunzipSync(
    fs.readFileSync(path.join(FASHION_MNIST, `${prefix}-images-idx3-ubyte.gz`)),
  ).subarray(16)
  const lab = gunzipSync(
    fs.readFileSync(path.join(FASHION_MNIST, `${prefix}-labels-idx1-ubyte.gz`)),
  ).subarray(8)
  return { img, lab, at: (i) => img.subarray(i * 784, (i + 1) * 784) }
}

/** The first n images and labels of the training set, as a new gzipped IDX pair (no split in its name). */
function writeIdxSlice(dir, n) {
  fs.mkdirSync(dir, { recursive: true })
  const fm = readFashion('train')
  const ih = Buffer.alloc(16)
  ih.writeUInt32BE(0x803, 0)
  ih.writeUInt32BE(n, 4)
  ih.writeUInt32BE(28, 8)
  ih.writeUInt32BE(28, 12)
  const lh = Buffer.alloc(8)
  lh.writeUInt32BE(0x801, 0)
  lh.writeUInt32BE(n, 4)
  fs.writeFileSync(
    path.join(dir, 'slice-images-idx3-ubyte.gz'),
    gzipSync(Buffer.concat([ih, fm.img.subarray(0, n * 784)])),
  )
  fs.writeFileSync(
    path.join(dir, 'slice-labels-idx1-ubyte.gz'),
    gzipSync(Buffer.concat([lh, fm.lab.subarray(0, n)])),
  )
}

async function inChunks(items, n, fn) {
  for (let i = 0; i < items.length; i += n) await Promise.all(items.slice(i, i + n).map(fn))
}

const safeName = (c) => c.replace(/[^A-Za-z0-9-]+/g, '_')

/**
 * Two class-folder trees of n test-set PNGs each: `split/{train,valid,test}/<class>/` (8:1:1 by index
 * within each class) and `flat/<class>/`. Returns the split tree's counts per class and split.
 */
async function writeFolderTrees(dir, n) {
  const fm = readFashion('t10k')
  const expected = {}
  const jobs = []
  const seen = {}
  for (let i = 0; i < n; i++) {
    const l = fm.lab[i]
    const k = (seen[l] = (seen[l] ?? 0) + 1) - 1
    const split = k % 10 < 8 ? 'train' : k % 10 === 8 ? 'valid' : 'test'
    const cls = safeName(FM_NAMES[l])
    const c = (expected[cls] ??= { train: 0, val: 0, test: 0 })
    c[split === 'valid' ? 'val' : split]++
    jobs.push({ file: path.join(dir, 'split', split, cls, `${i}.png`), px: fm.at(i) })
  }
  for (let i = n; i < 2 * n; i++)
    jobs.push({ file: path.join(dir, 'flat', safeName(FM_NAMES[fm.lab[i]]), `${i}.png`), px: fm.at(i) })
  // A smaller bare tree for the training project (so that 30 epochs take seconds, not a minute).
  for (let i = 2 * n; i < 2 * n + SIZES.trainImages; i++)
    jobs.push({ file: path.join(dir, 'train-tree', safeName(FM_NAMES[fm.lab[i]]), `${i}.png`), px: fm.at(i) })
  for (const j of jobs) fs.mkdirSync(path.dirname(j.file), { recursive: true })
  await inChunks(jobs, 32, (j) =>
    sharp(j.px, { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toFile(j.file),
  )
  return expected
}

/** n 64×64 RGB scenes of two Fashion-MNIST items each: one labelled with a box, one with a polygon. */
async function writeCoco(dir, n) {
  const fm = readFashion('t10k')
  const r = prng(12345)
  fs.mkdirSync(path.join(dir, 'images'), { recursive: true })
  const W = 64
  const H = 64
  const images = []
  const annotations = []
  const jobs = []
  for (let i = 0; i < n; i++) {
    const px = Buffer.alloc(W * H * 3)
    const base = [r() * 80, r() * 80, r() * 80]
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let ch = 0; ch < 3; ch++)
          px[(y * W + x) * 3 + ch] = Math.floor(base[ch] + (ch === 0 ? x : y) * 0.5)
    const items = [2000 + 2 * i, 2001 + 2 * i]
    const spots = [
      [Math.floor(r() * 8), Math.floor(r() * 36)],
      [Math.floor(36 - r() * 8), Math.floor(r() * 36)],
    ]
    items.forEach((idx, j) => {
      const [ox, oy] = spots[j]
      const src = fm.at(idx)
      for (let y = 0; y < 28; y++)
        for (let x = 0; x < 28; x++) {
          const v = src[y * 28 + x]
          if (v < 20) continue
          for (let ch = 0; ch < 3; ch++) px[((oy + y) * W + ox + x) * 3 + ch] = v
        }
      const cat = fm.lab[idx] + 1
      const [bx, by, bw, bh] = [ox + 2, oy + 2, 24, 24]
      if (j === 0)
        annotations.push({
          id: annotations.length + 1,
          image_id: i + 1,
          category_id: cat,
          bbox: [bx, by, bw, bh],
          area: bw * bh,
          iscrowd: 0,
        })
      else {
        const poly = [
          bx + 12,
          by,
          bx + bw,
          by + 8,
          bx + bw,
          by + bh - 4,
          bx + 12,
          by + bh,
          bx,
          by + bh - 4,
          bx,
          by + 8,
        ]
        annotations.push({
          id: annotations.length + 1,
          image_id: i + 1,
          category_id: cat,
          bbox: [bx, by, bw, bh],
          area: bw * bh * 0.8,
          iscrowd: 0,
          segmentation: [poly],
        })
      }
    })
    const name = `scene_${String(i).padStart(4, '0')}.png`
    images.push({ id: i + 1, file_name: name, width: W, height: H })
    jobs.push({ file: path.join(dir, 'images', name), px })
  }
  await inChunks(jobs, 32, (j) =>
    sharp(j.px, { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toFile(j.file),
  )
  const categories = FM_NAMES.map((name, i) => ({ id: i + 1, name, supercategory: 'fashion' }))
  const json = path.join(dir, 'annotations.json')
  fs.writeFileSync(json, JSON.stringify({ images, annotations, categories }))
  return json
}

// ---------------------------------------------------------------- projects

let copies = 0
function copyProject(from, name) {
  const to = path.join(work, 'p', `${String(++copies).padStart(4, '0')}-${name}`)
  fs.mkdirSync(path.dirname(to), { recursive: true })
  fs.cpSync(from, to, { recursive: true })
  return to
}
const dropProject = (p) => {
  if (!KEEP) fs.rmSync(p, { recursive: true, force: true })
}

async function mustRun(args, what) {
  const r = await run(args)
  if (r.code !== 0)
    throw new Error(`${what} failed (exit ${r.code} ${r.signal ?? ''}): ${tail(r.stderr + r.stdout)}`)
  return r
}

async function infoOk(proj) {
  const r = await run(['info', proj, '--json'], 60_000)
  if (r.code !== 0)
    return `smallset info exited ${r.code}${r.signal ? ' ' + r.signal : ''}: ${tail(r.stderr)}`
  try {
    JSON.parse(r.stdout)
    return null
  } catch (e) {
    return `smallset info --json printed no JSON: ${e.message}`
  }
}

// ---------------------------------------------------------------- results

const summary = {
  kills: 0,
  byKind: Object.fromEntries(KINDS.map((k) => [k, 0])),
  corruptedProjects: 0,
  lostCommittedAnnotations: 0,
  importsCompletedOnRerun: 0,
  importsWithWrongSplits: 0,
  runsResumed: 0,
  runsResumedToSameWeights: 0,
  maxWeightDiff: 0,
  failures: [],
  wallSeconds: 0,
  // Beyond the headline figures:
  importsRerun: 0,
  importsMatchingCleanImport: 0,
  importsKilledBeforeAnyImage: 0,
  committedAnnotationsChecked: 0,
  committedSaves: 0,
  runsRestartedFresh: 0,
  runsFinishedBeforeKill: 0,
  trainKillsByTarget: { group: 0, trainer: 0 },
  missedKills: 0,
  infoFailures: 0,
}
const perKill = []
function failure(kill, kind, what, detail = {}) {
  const f = { kill, kind, what, ...detail }
  summary.failures.push(f)
  log(`  FAILURE #${kill} ${kind}: ${what}`)
  return f
}

// ---------------------------------------------------------------- the weights

/** The latest checkpoint of a run. */
function finalCheckpoint(proj, runId) {
  return withDb(proj, (db) =>
    db
      .prepare(
        'SELECT epoch, topology, weights, optimizer, ema FROM run_checkpoints WHERE run_id = ? ORDER BY epoch DESC LIMIT 1',
      )
      .get(runId),
  )
}

function runRow(proj, runId) {
  return withDb(proj, (db) =>
    db.prepare('SELECT id, status, summary, error FROM runs WHERE id = ?').get(runId),
  )
}

const f32 = (b) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))
function maxAbsDiff(a, b) {
  if (!a && !b) return 0
  if (!a || !b || a.length !== b.length) return Infinity
  if (Buffer.compare(a, b) === 0) return 0
  const x = f32(a)
  const y = f32(b)
  let m = 0
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]))
  return Number.isNaN(m) ? Infinity : m
}

/** Compares a run's final checkpoint with the reference run's. */
function compareWeights(proj, runId, ref) {
  const got = finalCheckpoint(proj, runId)
  if (!got) return { same: false, diff: Infinity, why: 'no checkpoint' }
  const why = []
  if (got.epoch !== ref.ckpt.epoch)
    why.push(`final checkpoint epoch ${got.epoch}, reference ${ref.ckpt.epoch}`)
  const dw = maxAbsDiff(got.weights, ref.ckpt.weights)
  const de = maxAbsDiff(got.ema, ref.ckpt.ema)
  const dopt = maxAbsDiff(got.optimizer, ref.ckpt.optimizer)
  const diff = Math.max(dw, de)
  if (dw) why.push(`weights differ by up to ${dw}`)
  if (de) why.push(`weight average (ema) differs by up to ${de}`)
  if (dopt) why.push(`optimizer state differs by up to ${dopt}`)
  const facts = JSON.parse(runRow(proj, runId).summary ?? '{}')
  if (facts.testAccuracy !== ref.facts.testAccuracy)
    why.push(`test accuracy ${facts.testAccuracy}, reference ${ref.facts.testAccuracy}`)
  return { same: why.length === 0, diff, why: why.join('; ') }
}

// ---------------------------------------------------------------- kills

/**
 * Starts `args`, kills the process group after `delayMs` (or only the trainer child), and waits
 * for the end. Returns whether the kill hit a running process.
 */
async function killDuring(args, delayMs, target = 'group') {
  const p = start(args)
  const deadline = p.started + delayMs
  while (!p.exited && Date.now() < deadline) await sleep(Math.min(20, deadline - Date.now()))
  if (p.exited) return { hit: false, result: await p.done }
  let killedPid = p.pid
  if (target === 'trainer') {
    // The trainer is forked by the CLI: wait until it is there, then kill only it.
    let kids = childrenOf(p.pid)
    while (!p.exited && !kids.length) {
      await sleep(20)
      kids = childrenOf(p.pid)
    }
    if (p.exited) return { hit: false, result: await p.done }
    for (const k of kids) process.kill(k, 'SIGKILL')
    const at = Date.now() - p.started
    killedPid = kids.join(',')
    // The CLI should notice, mark the run failed, and exit by itself.
    const timer = setTimeout(() => killGroup(p.pid), 60_000)
    const result = await p.done
    clearTimeout(timer)
    return {
      hit: true,
      killedAtMs: at,
      killedPid,
      result,
      cliHung: result.signal === 'SIGKILL',
    }
  }
  const kids = childrenOf(p.pid)
  killGroup(p.pid)
  const at = Date.now() - p.started
  const result = await p.done
  // Nothing of the group (the trainer included) may outlive the kill.
  let waited = 0
  while (groupAlive(p.pid) && waited < 3000) {
    await sleep(50)
    waited += 50
  }
  const survivors = kids.filter((k) => {
    try {
      process.kill(k, 0)
      return true
    } catch {
      return false
    }
  })
  return { hit: true, killedAtMs: at, killedPid, result, survivors }
}

function importArgs(src, proj) {
  return ['import', proj, src.path, ...src.flags, '--json', '--no-progress']
}

async function killImport(n, src, rec) {
  const proj = copyProject(empty, src.name)
  rec.project = proj
  let k
  for (let attempt = 0; attempt < 4; attempt++) {
    const delay = uniform(200, Math.max(300, src.durationMs * (attempt ? 0.5 : 1)))
    rec.delayMs = Math.round(delay)
    k = await killDuring(importArgs(src, proj), delay)
    if (k.hit) break
    summary.missedKills++
    log(
      `  #${n} ${src.name}: the import ended before the kill at ${Math.round(delay)} ms; again, on a fresh copy`,
    )
    fs.rmSync(proj, { recursive: true, force: true })
    fs.cpSync(empty, proj, { recursive: true })
  }
  if (!k.hit) return failure(n, rec.kind, 'the import always ended before its kill; no kill made')
  rec.hit = true
  rec.killedAtMs = k.killedAtMs
  rec.imagesAtKill = imageCount(proj)
  if (!rec.imagesAtKill) summary.importsKilledBeforeAnyImage++
  await afterKill(n, rec, proj)

  summary.importsRerun++
  const r = await run(importArgs(src, proj), Math.max(120_000, src.durationMs * 10))
  let report = null
  try {
    report = JSON.parse(r.stdout.trim().split('\n').pop())
  } catch {
    // checked below
  }
  if (r.code !== 0 || !report) {
    failure(
      n,
      rec.kind,
      `the re-run import did not complete (exit ${r.code}${r.timedOut ? ', timed out' : ''})`,
      {
        project: proj,
        stderr: tail(r.stderr),
      },
    )
    return
  }
  rec.rerun = { added: report.added, duplicates: report.duplicates, failed: report.failed.length }
  const problems = []
  if (report.added + report.duplicates !== src.total)
    problems.push(
      `added ${report.added} + duplicates ${report.duplicates} ≠ ${src.total} images in the source`,
    )
  if (report.failed.length)
    problems.push(`${report.failed.length} failures, e.g. ${JSON.stringify(report.failed[0])}`)
  if (report.cancelled) problems.push('reported cancelled')
  // Each image written before the kill is a duplicate now, as are the source's own repeats.
  if (rec.imagesAtKill !== null && report.duplicates !== rec.imagesAtKill + src.reference.dupInSource)
    problems.push(
      `${report.duplicates} duplicates, expected ${rec.imagesAtKill} written before the kill + ${src.reference.dupInSource} repeats in the source`,
    )
  if (problems.length) failure(n, rec.kind, `the re-run import: ${problems.join('; ')}`, { project: proj })
  else summary.importsCompletedOnRerun++

  const snap = snapshot(proj)
  const splitIssues = splitProblems(snap, src.expectedLocked)
  const { diffs, splitDiff } = compareSnapshots(snap, src.reference.snap)
  if (splitIssues.length || splitDiff) {
    summary.importsWithWrongSplits++
    failure(
      n,
      rec.kind,
      `wrong splits after the re-run: ${[...splitIssues, ...diffs.filter((d) => /split/.test(d))].join('; ')}`,
      {
        project: proj,
        imagesAtKill: rec.imagesAtKill,
      },
    )
  }
  const others = diffs.filter((d) => !/split/.test(d))
  if (others.length)
    failure(n, rec.kind, `the re-run import differs from a clean one: ${others.join('; ')}`, {
      project: proj,
      imagesAtKill: rec.imagesAtKill,
    })
  if (!diffs.length && !splitIssues.length) summary.importsMatchingCleanImport++
  const after = storeProblems(proj)
  if (after.length)
    failure(n, rec.kind, `store problems after the re-run: ${after.join('; ')}`, { project: proj })
  rec.ok = !summary.failures.some((f) => f.kill === n)
  if (rec.ok) dropProject(proj)
}

/** The checks after every kill: the store is sound and the CLI can read the project. */
async function afterKill(n, rec, proj) {
  const problems = storeProblems(proj)
  if (problems.length) {
    summary.corruptedProjects++
    failure(n, rec.kind, `store problems right after the kill: ${problems.join('; ')}`, { project: proj })
  }
  const info = await infoOk(proj)
  if (info) {
    summary.infoFailures++
    failure(n, rec.kind, info, { project: proj })
  }
}

// ---------------------------------------------------------------- saves

/** The long-lived project for the editor's saves, and what its saves committed. */
const saves = {
  proj: null,
  images: [],
  classIds: [],
  /** annotation id → { imageId, classId, geometry, alt } (alt: an update in flight at the kill). */
  committed: new Map(),
  keyN: 0,
  r: prng(SEED ^ 0x5a5a),
}

async function startServe(proj) {
  const p = start(['serve', proj])
  const until = Date.now() + 60_000
  let m = null
  while (
    !p.exited &&
    Date.now() < until &&
    !(m = /Open (http:\/\/127\.0\.0\.1:\d+)\/\?token=(\S+)/.exec(p.stdout))
  )
    await sleep(20)
  if (!m) {
    killGroup(p.pid)
    throw new Error(`smallset serve printed no URL: ${tail(p.stderr + p.stdout)}`)
  }
  return { p, base: m[1], token: decodeURIComponent(m[2]) }
}

async function call(srv, name, body) {
  const res = await fetch(`${srv.base}/api/call/${name}`, {
    method: 'POST',
    headers: { 'x-smallset-token': srv.token, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  })
  return res.json()
}

const round6 = (x) => Math.round(x * 1e6) / 1e6
function randomBox(r) {
  const w = round6(0.15 + 0.3 * r())
  const h = round6(0.15 + 0.3 * r())
  return { x: round6(r() * (0.95 - w)), y: round6(r() * (0.95 - h)), w, h }
}

/**
 * One save loop until `stop.now`: each save adds one or two boxes to a random image and sometimes
 * moves a box an earlier save committed. What an ok:true answer confirms goes into saves.committed.
 */
async function saveLoop(srv, stop, stats) {
  const r = saves.r
  const committedIds = () => [...saves.committed.keys()]
  while (!stop.now) {
    const imageId = pick(saves.images, r)
    const puts = []
    const adds = 1 + Math.floor(r() * 2)
    for (let i = 0; i < adds; i++)
      puts.push({
        key: `k${++saves.keyN}`,
        id: null,
        kind: 'box',
        geometry: randomBox(r),
        classId: pick(saves.classIds, r),
        z: i,
        hidden: false,
        locked: false,
      })
    // Sometimes move one the store already has (on its own image).
    const ids = committedIds()
    const id = ids.length && r() < 0.3 ? pick(ids, r) : null
    if (id !== null && !stats.updating.has(id)) {
      const c = saves.committed.get(id)
      const update = { geometry: randomBox(r), classId: pick(saves.classIds, r) }
      c.alt = update
      stats.updating.add(id)
      const put = {
        key: `k${++saves.keyN}`,
        id,
        kind: 'box',
        geometry: update.geometry,
        classId: update.classId,
        z: 9,
        hidden: false,
        locked: false,
      }
      stats.sent++
      const res = await call(srv, 'annotations.save', { imageId: c.imageId, puts: [put] }).catch((e) => ({
        transport: e,
      }))
      if (stop.killed) return
      stats.updating.delete(id)
      if (res.ok && res.value.ids.length === 1 && res.value.ids[0].id === id) {
        c.classId = update.classId
        c.geometry = update.geometry
        c.alt = null
        stats.ok++
      } else if (!res.transport) stats.refused.push(JSON.stringify(res).slice(0, 300))
    }
    stats.sent++
    const res = await call(srv, 'annotations.save', { imageId, puts }).catch((e) => ({ transport: e }))
    if (stop.killed && res.transport) return
    if (res.ok) {
      if (res.value.rejected.length || res.value.ids.length !== puts.length)
        stats.refused.push(JSON.stringify(res.value).slice(0, 300))
      for (const { key, id } of res.value.ids) {
        const p = puts.find((q) => q.key === key)
        saves.committed.set(id, { imageId, classId: p.classId, geometry: p.geometry, alt: null })
      }
      stats.ok++
    } else if (!res.transport) stats.refused.push(JSON.stringify(res).slice(0, 300))
  }
}

const sameBox = (a, b) => ['x', 'y', 'w', 'h'].every((k) => Math.abs(a[k] - b[k]) < 1e-9)

/** Every committed annotation is in the store as committed (or as an update in flight at the kill). */
function checkCommitted() {
  const lost = []
  const wrong = []
  withDb(saves.proj, (db) => {
    const q = db.prepare('SELECT image_id, class_id, kind, geometry FROM annotations WHERE id = ?')
    for (const [id, c] of saves.committed) {
      const row = q.get(id)
      if (!row) {
        lost.push(id)
        continue
      }
      const g = JSON.parse(row.geometry)
      const is = (v) => row.class_id === v.classId && sameBox(g, v.geometry)
      if (row.image_id !== c.imageId || row.kind !== 'box') wrong.push({ id, row, want: c })
      else if (is(c)) c.alt = null
      else if (c.alt && is(c.alt)) {
        // The update was in flight when the server died, and it landed: that is now the state.
        c.classId = c.alt.classId
        c.geometry = c.alt.geometry
        c.alt = null
      } else wrong.push({ id, row, want: c })
    }
  })
  for (const c of saves.committed.values()) c.alt = null
  return { lost, wrong }
}

async function calibrateSaves() {
  const srv = await startServe(saves.proj)
  const classes = await call(srv, 'classes.list', {})
  if (!classes.ok) throw new Error(`classes.list: ${JSON.stringify(classes)}`)
  saves.classIds = classes.value.map((c) => c.id)
  const stop = { now: false }
  const stats = { sent: 0, ok: 0, refused: [], updating: new Set() }
  const t = Date.now()
  const loops = Array.from({ length: SIZES.saveLoops }, () => saveLoop(srv, stop, stats))
  while (stats.ok < SIZES.calibrationSaves) await sleep(10)
  const ms = Date.now() - t
  stop.now = true
  await Promise.all(loops)
  process.kill(srv.p.pid, 'SIGTERM')
  await srv.p.done
  if (stats.refused.length) throw new Error(`saves refused in calibration: ${stats.refused[0]}`)
  const { lost, wrong } = checkCommitted()
  if (lost.length || wrong.length)
    throw new Error(`calibration saves not stored as answered: ${lost.length} lost, ${wrong.length} wrong`)
  return { ms, saves: stats.ok }
}

async function killSaves(n, rec) {
  const srv = await startServe(saves.proj)
  const stop = { now: false, killed: false }
  const stats = { sent: 0, ok: 0, refused: [], updating: new Set() }
  const before = saves.committed.size
  const loops = Array.from({ length: SIZES.saveLoops }, () => saveLoop(srv, stop, stats))
  const delay = uniform(200, Math.max(400, calib.saves.ms))
  rec.delayMs = Math.round(delay)
  await sleep(delay)
  stop.now = true
  stop.killed = true
  killGroup(srv.p.pid)
  await srv.p.done
  await Promise.all(loops)
  rec.hit = true
  rec.savesAnsweredOk = stats.ok
  rec.savesSent = stats.sent
  summary.committedSaves += stats.ok
  if (stats.refused.length)
    failure(n, 'saves', `saves refused: ${stats.refused.length}, e.g. ${stats.refused[0]}`)
  const problems = storeProblems(saves.proj)
  if (problems.length) {
    summary.corruptedProjects++
    failure(n, 'saves', `store problems right after the kill: ${problems.join('; ')}`, {
      project: saves.proj,
    })
  }
  const { lost, wrong } = checkCommitted()
  summary.committedAnnotationsChecked = saves.committed.size
  rec.committedNew = saves.committed.size - before
  if (lost.length) {
    summary.lostCommittedAnnotations += lost.length
    failure(
      n,
      'saves',
      `${lost.length} committed annotations missing after the kill (ids ${lost.slice(0, 10).join(', ')})`,
      {
        project: saves.proj,
      },
    )
    for (const id of lost) saves.committed.delete(id)
  }
  if (wrong.length)
    failure(
      n,
      'saves',
      `${wrong.length} committed annotations not as answered, e.g. ${JSON.stringify(wrong[0])}`,
      {
        project: saves.proj,
      },
    )
  const info = await infoOk(saves.proj)
  if (info) {
    summary.infoFailures++
    failure(n, 'saves', info, { project: saves.proj })
  }
}

// ---------------------------------------------------------------- training

const trainArgs = (proj) => [
  'train',
  proj,
  '--model',
  'seed-mlp',
  '--epochs',
  String(SIZES.epochs),
  '--seed',
  String(TRAIN_SEED),
  '--json',
]

async function killTrain(n, rec) {
  const proj = copyProject(trainBase, 'train')
  rec.project = proj
  const target = rand() < TRAINER_ONLY_SHARE ? 'trainer' : 'group'
  rec.target = target
  let k
  for (let attempt = 0; attempt < 4; attempt++) {
    const delay = uniform(200, calib.train.ms * (attempt ? 0.7 : 1))
    rec.delayMs = Math.round(delay)
    k = await killDuring(trainArgs(proj), delay, target)
    // A trainer killed once its run was done missed it too.
    const done = jsonLines(k.result.stdout).find((l) => l.type === 'summary')?.status === 'done'
    if (k.hit && !(target === 'trainer' && k.result.code === 0 && done)) break
    k.hit = false
    summary.missedKills++
    log(`  #${n} train: the run ended before the kill at ${Math.round(delay)} ms; again, on a fresh copy`)
    fs.rmSync(proj, { recursive: true, force: true })
    fs.cpSync(trainBase, proj, { recursive: true })
  }
  if (!k.hit) {
    rec.hit = false
    return failure(n, 'train', 'the run always ended before its kill; no kill made')
  } else {
    rec.hit = true
    rec.killedAtMs = k.killedAtMs
    summary.trainKillsByTarget[target]++
    if (k.survivors?.length)
      failure(n, 'train', `processes of the killed group still alive: ${k.survivors.join(', ')}`)
    if (target === 'trainer') {
      const s = jsonLines(k.result.stdout).find((l) => l.type === 'summary')
      rec.cliExit = k.result.code
      if (k.cliHung)
        failure(n, 'train', 'the CLI did not exit within 60 s of its trainer being killed', { project: proj })
      else if (k.result.code === 0 && s?.status === 'done') {
        // The trainer had already finished its work.
      } else if (k.result.code !== 1 || s?.status !== 'failed')
        failure(
          n,
          'train',
          `after its trainer was killed the CLI exited ${k.result.code} with status ${s?.status}`,
          {
            stdout: tail(k.result.stdout),
          },
        )
    }
  }
  await afterKill(n, rec, proj)
  const last = withDb(proj, (db) => db.prepare('SELECT id, status FROM runs ORDER BY id DESC LIMIT 1').get())
  rec.runAtKill = last ?? null
  let runId
  if (!last) {
    // Killed before the run was made: train again from the start.
    summary.runsRestartedFresh++
    const r = await run(trainArgs(proj))
    const s = jsonLines(r.stdout).find((l) => l.type === 'summary')
    if (r.code !== 0 || s?.status !== 'done')
      return failure(n, 'train', `a fresh run after the kill did not finish: exit ${r.code}`, {
        stderr: tail(r.stderr),
      })
    runId = s.run
  } else if (last.status === 'done') {
    summary.runsFinishedBeforeKill++
    runId = last.id
  } else {
    runId = last.id
    rec.resumedFrom = withDb(
      proj,
      (db) => db.prepare('SELECT MAX(epoch) AS e FROM run_checkpoints WHERE run_id = ?').get(runId).e ?? 0,
    )
    const r = await run(['train', proj, '--resume', String(runId), '--json'])
    const lines = jsonLines(r.stdout)
    const s = lines.find((l) => l.type === 'summary')
    const epochs = lines.filter((l) => l.type === 'epoch').map((l) => l.epoch)
    const want = Array.from({ length: SIZES.epochs - rec.resumedFrom }, (_, i) => rec.resumedFrom + 1 + i)
    if (r.code !== 0 || s?.status !== 'done')
      return failure(
        n,
        'train',
        `the resumed run ${runId} did not finish: exit ${r.code}, status ${s?.status}, ${s?.error ?? ''}`,
        {
          project: proj,
          stderr: tail(r.stderr),
        },
      )
    summary.runsResumed++
    if (JSON.stringify(epochs) !== JSON.stringify(want))
      failure(
        n,
        'train',
        `the resumed run trained epochs ${epochs.join(',')}, expected ${rec.resumedFrom + 1}..${SIZES.epochs}`,
        { project: proj },
      )
  }
  const cmp = compareWeights(proj, runId, refRun)
  rec.weightDiff = cmp.diff
  if (Number.isFinite(cmp.diff)) summary.maxWeightDiff = Math.max(summary.maxWeightDiff, cmp.diff)
  else summary.maxWeightDiff = 'Infinity'
  if (cmp.same) {
    if (last && last.status !== 'done') summary.runsResumedToSameWeights++
  } else
    failure(
      n,
      'train',
      `run ${runId} (${last ? `resumed from epoch ${rec.resumedFrom}` : 'restarted'}) differs from the uninterrupted run: ${cmp.why}`,
      {
        project: proj,
        killedAtMs: rec.killedAtMs,
        target,
      },
    )
  const after = storeProblems(proj)
  if (after.length)
    failure(n, 'train', `store problems after the resume: ${after.join('; ')}`, { project: proj })
  rec.ok = !summary.failures.some((f) => f.kill === n)
  if (rec.ok) dropProject(proj)
}

// ---------------------------------------------------------------- main

log(`work folder ${work}; ${KILLS} kills, seed ${SEED}${QUICK ? ' (quick)' : ''}`)
const src = path.join(work, 'src')
writeIdxSlice(path.join(src, 'idx'), SIZES.idx)
const expectedLocked = await writeFolderTrees(path.join(src, 'folders'), SIZES.folders)
const cocoJson = await writeCoco(path.join(src, 'coco'), SIZES.coco)
log(
  `sources written: ${SIZES.idx} IDX images, 2 × ${SIZES.folders} PNGs in class folders, ${SIZES.coco} COCO scenes`,
)

const empty = path.join(work, 'empty')
await mustRun(['init', empty], 'smallset init')

const sources = {
  idx: { name: 'idx', path: path.join(src, 'idx'), flags: ['--preset', 'fashion-mnist'], total: SIZES.idx },
  'folders-split': {
    name: 'folders-split',
    path: path.join(src, 'folders', 'split'),
    flags: ['--format', 'folders'],
    total: SIZES.folders,
    expectedLocked,
  },
  'folders-flat': {
    name: 'folders-flat',
    path: path.join(src, 'folders', 'flat'),
    flags: ['--format', 'folders'],
    total: SIZES.folders,
  },
  coco: { name: 'coco', path: cocoJson, flags: [], total: SIZES.coco },
}
// The clean, uninterrupted imports: the reference each re-run must match, and the typical duration.
const calib = {}
for (const s of Object.values(sources)) {
  const proj = path.join(work, `ref-${s.name}`)
  fs.cpSync(empty, proj, { recursive: true })
  const r = await mustRun(importArgs(s, proj), `the clean import of ${s.name}`)
  const report = JSON.parse(r.stdout.trim().split('\n').pop())
  if (report.failed.length)
    throw new Error(
      `the clean import of ${s.name} reported failures: ${JSON.stringify(report.failed.slice(0, 3))}`,
    )
  if (report.added + report.duplicates !== s.total)
    throw new Error(`the clean import of ${s.name}: ${report.added} + ${report.duplicates} ≠ ${s.total}`)
  s.durationMs = r.ms
  s.reference = { proj, snap: snapshot(proj), dupInSource: report.duplicates }
  const sp = splitProblems(s.reference.snap, s.expectedLocked)
  if (sp.length) throw new Error(`the clean import of ${s.name} has wrong splits: ${sp.join('; ')}`)
  calib[s.name] = { ms: r.ms, added: report.added, duplicates: report.duplicates }
  log(`clean import ${s.name}: ${report.added} added, ${report.duplicates} duplicates, ${r.ms} ms`)
}

// Training: a copy of the bare class-folder project, and one uninterrupted run on another copy.
const trainBase = path.join(work, 'train-base')
fs.cpSync(empty, trainBase, { recursive: true })
await mustRun(
  ['import', trainBase, path.join(src, 'folders', 'train-tree'), '--format', 'folders', '--json'],
  'the training import',
)
const refTrainProj = copyProject(trainBase, 'train-ref')
const refTrain = await mustRun(trainArgs(refTrainProj), 'the uninterrupted training run')
const refSummary = jsonLines(refTrain.stdout).find((l) => l.type === 'summary')
if (refSummary?.status !== 'done')
  throw new Error(`the uninterrupted run did not finish: ${tail(refTrain.stdout)}`)
const refRun = {
  ckpt: finalCheckpoint(refTrainProj, refSummary.run),
  facts: JSON.parse(runRow(refTrainProj, refSummary.run).summary),
}
calib.train = {
  ms: refTrain.ms,
  epochs: refSummary.epochs,
  testAccuracy: refSummary.test_accuracy,
  backend: refSummary.backend,
}
log(
  `uninterrupted run: ${refSummary.epochs} epochs on ${refSummary.backend} in ${refTrain.ms} ms, test accuracy ${refSummary.test_accuracy}`,
)
{
  // A second uninterrupted run: whether the run is deterministic at all (else resumes cannot match).
  const again = copyProject(trainBase, 'train-ref2')
  const r = await mustRun(trainArgs(again), 'a second uninterrupted training run')
  const cmp = compareWeights(again, jsonLines(r.stdout).find((l) => l.type === 'summary').run, refRun)
  calib.train.repeatable = cmp.same
  calib.train.repeatDiff = cmp.diff
  log(`second uninterrupted run ${cmp.same ? 'matches' : `differs: ${cmp.why}`}`)
  dropProject(again)
}

// The saves' project: the class-folder project with split folders.
saves.proj = path.join(work, 'saves')
fs.cpSync(sources['folders-split'].reference.proj, saves.proj, { recursive: true })
saves.images = withDb(saves.proj, (db) =>
  db
    .prepare('SELECT id FROM images ORDER BY id')
    .all()
    .map((r) => r.id),
)
calib.saves = await calibrateSaves()
log(`saves: ${calib.saves.saves} saves in ${calib.saves.ms} ms with ${SIZES.saveLoops} loops`)

// The plan: kinds evenly spread, in a seeded order.
const plan = []
for (let i = 0; i < KILLS; i++) plan.push(PLAN_KINDS[i % PLAN_KINDS.length])
for (let i = plan.length - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1))
  ;[plan[i], plan[j]] = [plan[j], plan[i]]
}

for (let n = 1; n <= KILLS; n++) {
  const kind = plan[n - 1]
  const rec = { n, kind }
  perKill.push(rec)
  const t = Date.now()
  try {
    if (kind === 'idx') await killImport(n, sources.idx, rec)
    else if (kind === 'coco') await killImport(n, sources.coco, rec)
    else if (kind === 'folders') {
      const s = rand() < 0.5 ? sources['folders-split'] : sources['folders-flat']
      rec.source = s.name
      await killImport(n, s, rec)
    } else if (kind === 'saves') await killSaves(n, rec)
    else await killTrain(n, rec)
  } catch (e) {
    failure(n, kind, `the soak itself failed: ${e.stack ?? e}`)
  }
  if (rec.hit) {
    summary.kills++
    summary.byKind[kind]++
  }
  rec.seconds = Math.round((Date.now() - t) / 100) / 10
  log(
    `#${n}/${KILLS} ${kind}${rec.source ? ` (${rec.source})` : ''}${rec.target ? ` (${rec.target})` : ''}: ` +
      `killed at ${rec.killedAtMs ?? rec.delayMs} ms` +
      (rec.imagesAtKill !== undefined ? `, ${rec.imagesAtKill} images written` : '') +
      (rec.savesAnsweredOk !== undefined
        ? `, ${rec.savesAnsweredOk} saves answered ok, ${saves.committed.size} committed annotations checked`
        : '') +
      (rec.runAtKill !== undefined
        ? `, run ${rec.runAtKill ? `${rec.runAtKill.status}, resumed from epoch ${rec.resumedFrom ?? '-'}` : 'not made yet'}, weight diff ${rec.weightDiff}`
        : '') +
      ` (${rec.seconds} s)${summary.failures.some((f) => f.kill === n) ? ' FAILED' : ''}`,
  )
}

summary.wallSeconds = Math.round((Date.now() - t0) / 1000)
summary.calibration = calib
summary.config = {
  cli: CLI,
  build: new Date(builtMtime).toISOString(),
  kills: KILLS,
  seed: SEED,
  quick: QUICK,
  sizes: SIZES,
  trainSeed: TRAIN_SEED,
  work: KEEP ? work : undefined,
}
const rebuilt = !fs.existsSync(BUILT) || fs.statSync(BUILT).mtimeMs !== builtMtime
if (rebuilt && flag('--no-snapshot'))
  summary.failures.push({ what: 'out/main/cli.js was rebuilt while the soak ran: results mix two builds' })
// With the snapshot (the default) the soak ran one build throughout, whatever happened in out/.
else if (rebuilt) summary.checkoutRebuiltMeanwhile = true
fs.mkdirSync(path.dirname(OUT), { recursive: true })
fs.writeFileSync(OUT, JSON.stringify({ ...summary, perKill }, null, 2) + '\n')
process.stdout.write(JSON.stringify(summary, null, 2) + '\n')
if (!KEEP && !summary.failures.length) {
  // The link to the checkout's node_modules goes first, so that nothing can follow it.
  fs.rmSync(path.join(work, 'build', 'node_modules'), { force: true })
  fs.rmSync(work, { recursive: true, force: true })
} else log(`kept ${work} (projects of failed checks are left in it)`)
process.exitCode = summary.failures.length ? 1 : 0
