#!/usr/bin/env node
// Detection and instance segmentation on the demo scene set (resources/detection-demo: 50 train,
// 10 valid, 50 held-out test images), with the default recipe, as a user runs it:
// - COCO box and mask AP on the 50 test images, and the wall time of the whole training run
//   (the bar: box mAP@.5 ≥ 0.60 and mask mAP@.5 ≥ 0.50 in at most 10 minutes on these 2 cores);
// - the seed-000 table: on one pinned training image, the detections and the top score at epochs
//   0, 1, 3, 10, 20 and 100;
// - pre-labelling 50 new 640×480 images with the trained run (the editor's "Pre-label"), timed;
// - training images/s of the same detector's step next to its PyTorch twin
//   (scripts/bench/detect_torch.py, Debian's python3-torch) on the same batches, in the same run.
// Prints JSON and writes bench-results/detect.json.
//   node scripts/bench/detect.mjs [--task segment|detect] [--epochs N] [--steps N]
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import sharp from 'sharp'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const cli = path.join(root, 'bin', 'smallset.js')
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : fallback
}
const task = arg('task', 'segment')
const epochs = arg('epochs', null)
const steps = Number(arg('steps', 20))
const log = (...a) => console.error('[bench:detect]', ...a)
const BUDGET_S = 600
const TABLE_EPOCHS = [0, 1, 3, 10, 20, 100]

if (!fs.existsSync(path.join(root, 'out', 'main', 'cli.js'))) throw new Error('run "npm run build" first')
const smallset = (...args) =>
  execFileSync(process.execPath, [cli, ...args], { maxBuffer: 256 << 20 }).toString()
const jsonLines = (out) =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'smallset-bench-detect-'))
const project = path.join(work, 'scenes')
smallset('init', project)
const report = JSON.parse(
  smallset('import', project, path.join(root, 'resources', 'detection-demo'), '--format', 'coco', '--json'),
)
if (report.failed.length)
  throw new Error(`the demo set did not import cleanly: ${JSON.stringify(report.failed)}`)

// The pinned image: the first training image (the write-up tests one of its training images).
let db = new Database(path.join(project, 'project.sqlite'), { readonly: true })
const pin = db.prepare("SELECT id FROM images WHERE split = 'train' ORDER BY id LIMIT 1").get().id
db.close()

log(`smallset train --task ${task} (default recipe)…`)
const t0 = Date.now()
const out = jsonLines(
  smallset(
    'train',
    project,
    '--task',
    task,
    '--pin',
    String(pin),
    '--json',
    ...(epochs ? ['--epochs', epochs] : []),
  ),
)
const wallS = (Date.now() - t0) / 1000
const summary = out.find((l) => l.type === 'summary')
if (summary.status !== 'done') throw new Error(`training ${summary.status}: ${summary.error}`)
const epochLines = out.filter((l) => l.type === 'epoch')

// The seed-000 table, from what the store keeps for the pinned image (epoch 0 is untrained).
db = new Database(path.join(project, 'project.sqlite'), { readonly: true })
const runRow = db.prepare('SELECT config, summary FROM runs WHERE id = ?').get(summary.run)
const config = JSON.parse(runRow.config)
const facts = JSON.parse(runRow.summary)
const rows = db
  .prepare(
    'SELECT epoch, score FROM predictions WHERE run_id = ? AND image_id = ? AND epoch >= 0 ORDER BY epoch',
  )
  .all(summary.run, pin)
const truth = db
  .prepare("SELECT COUNT(*) AS n FROM annotations WHERE image_id = ? AND kind <> 'tag'")
  .get(pin).n
db.close()
const last = epochLines.at(-1).epoch
const table = [...new Set(TABLE_EPOCHS.map((e) => Math.min(e, last)))].map((epoch) => {
  const scores = rows.filter((r) => r.epoch === epoch).map((r) => r.score)
  return {
    epoch,
    detections: scores.length,
    shown: scores.filter((s) => s >= config.displayThreshold).length,
    max_score: scores.length ? Number(Math.max(...scores).toFixed(4)) : null,
    mean_score: scores.length ? Number((scores.reduce((a, b) => a + b, 0) / scores.length).toFixed(4)) : null,
  }
})

// Pre-labelling: 50 new 640×480 images (the test scenes, enlarged) through the trained run.
log('pre-labelling 50 images of 640×480…')
const fresh = path.join(work, 'fresh')
fs.mkdirSync(fresh)
const testDir = path.join(root, 'resources', 'detection-demo', 'test')
const sources = fs
  .readdirSync(testDir)
  .filter((f) => /\.(png|jpe?g)$/i.test(f))
  .sort()
  .slice(0, 50)
for (const f of sources)
  await sharp(path.join(testDir, f))
    .resize(640, 480, { fit: 'fill' })
    .jpeg({ quality: 90 })
    .toFile(path.join(fresh, f.replace(/\.\w+$/, '.jpg')))
smallset('import', project, fresh, '--no-progress')
const pre = JSON.parse(smallset('prelabel', project, '--run', String(summary.run), '--json'))
if (pre.failed.length) throw new Error(`pre-labelling failed on ${JSON.stringify(pre.failed)}`)

// The step alone, on the same batches, next to the PyTorch twin.
log(`the training step alone, ${steps} batches, smallset then PyTorch…`)
const dump = path.join(work, 'batches')
const ours = JSON.parse(
  smallset('dev-bench-detector', project, '--task', task, '--steps', String(steps), '--out', dump),
)
const torch = spawnSync(
  '/usr/bin/python3',
  [path.join(root, 'scripts', 'bench', 'detect_torch.py'), dump, '--threads', '2'],
  {
    encoding: 'utf8',
  },
)
const twin = torch.status === 0 ? JSON.parse(torch.stdout.trim().split('\n').at(-1)) : null
if (!twin) log(`the PyTorch twin did not run: ${torch.stderr || torch.error}`)

const r = (v, d = 4) => (v === null || v === undefined ? null : Number(v.toFixed(d)))
const result = {
  task,
  data: {
    source: 'resources/detection-demo (Fashion-MNIST items on textured backgrounds)',
    images: facts.counts,
    classes: facts.classIds.length,
  },
  recipe: { model: summary.model, epochs: summary.epochs, canvas: ours.canvas, batch: ours.batch },
  test: {
    box_map50: r(summary.box_map50),
    box_map: r(summary.box_map),
    box_map75: r(summary.box_map75),
    mask_map50: r(summary.mask_map50),
    mask_map: r(summary.mask_map),
    mask_map75: r(summary.mask_map75),
  },
  bar: {
    box_map50: 0.6,
    mask_map50: task === 'segment' ? 0.5 : null,
    seconds: BUDGET_S,
    met: summary.box_map50 >= 0.6 && (task !== 'segment' || summary.mask_map50 >= 0.5) && wallS <= BUDGET_S,
  },
  train_wall_s: r(wallS, 1),
  train_seconds_in_epochs: r(summary.seconds, 1),
  train_samples_per_s: r(summary.train_samples_per_s, 2),
  backend: summary.backend,
  seed000_table: {
    image_id: pin,
    objects_labelled: truth,
    display_threshold: config.displayThreshold,
    rows: table,
  },
  prelabel: {
    images: pre.done,
    size: '640×480',
    seconds: r(pre.seconds, 1),
    images_per_s: r(pre.done / pre.seconds, 2),
  },
  step: {
    smallset: {
      step_ms: r(ours.step_ms, 1),
      train_images_per_s: r(ours.train_images_per_s, 2),
      batch_ms: r(ours.batch_ms, 1),
      backend: ours.backend,
    },
    torch: twin && {
      step_ms: r(twin.step_ms, 1),
      train_images_per_s: r(twin.train_images_per_s, 2),
      threads: twin.threads,
      framework: twin.framework,
    },
    ratio: twin ? r(ours.train_images_per_s / twin.train_images_per_s, 3) : null,
  },
  val_by_epoch: epochLines.map((e) => ({
    epoch: e.epoch,
    val_box_map50: r(e.val_box_map50),
    ...(e.val_mask_map50 !== undefined && { val_mask_map50: r(e.val_mask_map50) }),
  })),
}
fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true })
fs.writeFileSync(path.join(root, 'bench-results', 'detect.json'), JSON.stringify(result, null, 2))
fs.rmSync(work, { recursive: true, force: true })
console.log(JSON.stringify(result))
