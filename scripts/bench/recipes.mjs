#!/usr/bin/env node
// The default classification recipe (`auto`) next to the seed-002 CNN (`seed-cnn`), each run as a
// user runs it (`smallset train` with its own settings), on two small projects of real data:
// - fmnist-50: 50 Fashion-MNIST training images per class (the first 50 of each class in
//   train-images-idx3-ubyte.gz; 500 in all), a val split of the next 20 per class (200), and the
//   10,000 images of t10k as the test split;
// - demo: the 300-image demo project (`smallset demo`: 240 train, 30 val, 30 test, seeded split).
// Records test accuracy, best epoch and wall time of each run. Prints JSON and writes
// bench-results/recipes.json.
//   node scripts/bench/recipes.mjs [--projects fmnist-50,demo] [--models auto,seed-cnn]
//                                  [--epochs N] [--keep DIR]   (--keep: make or reuse projects there)
// `fmnist-<N>v<M>` (e.g. fmnist-24v3) is N train and M val images per class, with the same test split.
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const cli = path.join(root, 'bin', 'smallset.js')
const data = '/usr/share/datasets/fashion-mnist'
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : fallback
}
const projects = arg('projects', 'fmnist-50,demo').split(',')
const models = arg('models', 'auto,seed-cnn')
  .split(',')
  .filter((m) => m && m !== 'none')
const epochs = arg('epochs', null)
const keep = arg('keep', null)
const log = (...a) => console.error('[bench:recipes]', ...a)

if (!fs.existsSync(path.join(root, 'out', 'main', 'cli.js'))) throw new Error('run "npm run build" first')
if (!fs.existsSync(path.join(data, 'train-images-idx3-ubyte.gz')))
  throw new Error(`${data} missing: apt-get install dataset-fashion-mnist`)
const smallset = (...args) =>
  execFileSync(process.execPath, [cli, ...args], {
    maxBuffer: 256 << 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  }).toString()

/** IDX images and labels (gzipped) → { header, rows: Uint8Array per image, labels }. */
function readIdx(prefix) {
  const img = zlib.gunzipSync(fs.readFileSync(path.join(data, `${prefix}-images-idx3-ubyte.gz`)))
  const lab = zlib.gunzipSync(fs.readFileSync(path.join(data, `${prefix}-labels-idx1-ubyte.gz`)))
  const n = img.readUInt32BE(4)
  const [h, w] = [img.readUInt32BE(8), img.readUInt32BE(12)]
  return { n, h, w, images: img.subarray(16), labels: lab.subarray(8) }
}

function writeIdx(dir, prefix, src, indices) {
  const size = src.h * src.w
  const img = Buffer.alloc(16 + indices.length * size)
  img.writeUInt32BE(0x00000803, 0)
  img.writeUInt32BE(indices.length, 4)
  img.writeUInt32BE(src.h, 8)
  img.writeUInt32BE(src.w, 12)
  const lab = Buffer.alloc(8 + indices.length)
  lab.writeUInt32BE(0x00000801, 0)
  lab.writeUInt32BE(indices.length, 4)
  indices.forEach((from, i) => {
    img.set(src.images.subarray(from * size, (from + 1) * size), 16 + i * size)
    lab[8 + i] = src.labels[from]
  })
  fs.writeFileSync(path.join(dir, `${prefix}-images-idx3-ubyte.gz`), zlib.gzipSync(img))
  fs.writeFileSync(path.join(dir, `${prefix}-labels-idx1-ubyte.gz`), zlib.gzipSync(lab))
}

/** The first `train` images of each class for train, the next `val` of each for val. */
function fewPerClass(dir, train = 50, val = 20) {
  const src = readIdx('train')
  const picked = { train: [], val: [] }
  const seen = new Array(10).fill(0)
  for (let i = 0; i < src.n; i++) {
    const c = src.labels[i]
    if (seen[c] < train) picked.train.push(i)
    else if (seen[c] < train + val) picked.val.push(i)
    seen[c]++
  }
  fs.mkdirSync(dir, { recursive: true })
  writeIdx(dir, 'train', src, picked.train)
  writeIdx(dir, 'val', src, picked.val)
  for (const k of ['images-idx3', 'labels-idx1'])
    fs.copyFileSync(path.join(data, `t10k-${k}-ubyte.gz`), path.join(dir, `t10k-${k}-ubyte.gz`))
}

const work = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'smallset-bench-recipes-'))
fs.mkdirSync(work, { recursive: true })

function makeProject(name) {
  const dir = path.join(work, name)
  if (fs.existsSync(path.join(dir, 'project.sqlite'))) return dir
  log(`making ${name}…`)
  const few = /^fmnist-(\d+)(?:v(\d+))?$/.exec(name)
  if (few) {
    const src = path.join(work, `${name}-idx`)
    fewPerClass(src, Number(few[1]), Number(few[2] ?? 20))
    smallset('init', dir)
    smallset('import', dir, src, '--preset', 'fashion-mnist', '--json', '--no-progress')
  } else if (name === 'demo') {
    smallset('demo', dir)
  } else throw new Error(`no project "${name}" (have: fmnist-<per class>[v<val per class>], demo)`)
  return dir
}

function train(dir, model) {
  log(`${path.basename(dir)}: smallset train --model ${model}${epochs ? ` --epochs ${epochs}` : ''}…`)
  const t0 = Date.now()
  const run = spawnSync(
    process.execPath,
    [cli, 'train', dir, '--model', model, ...(epochs ? ['--epochs', epochs] : []), '--json'],
    { maxBuffer: 256 << 20 },
  )
  const wall = (Date.now() - t0) / 1000
  const err = run.stderr.toString()
  if (run.status !== 0) throw new Error(`smallset train --model ${model} failed:\n${err}`)
  const out = run.stdout.toString()
  // `auto` says why it chose what it chose, one "  - " line each, on stderr.
  const notes = err
    .split('\n')
    .filter((l) => l.startsWith('  - '))
    .map((l) => l.slice(4))
  const lines = out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
  const ep = lines.filter((l) => l.type === 'epoch')
  const s = lines.find((l) => l.type === 'summary')
  if (s.status !== 'done') throw new Error(`${model} on ${dir}: ${s.status} (${s.error})`)
  return {
    model,
    test_accuracy: s.test_accuracy,
    epochs_run: ep.length,
    best_epoch: s.best_epoch,
    best_val_accuracy: Math.max(...ep.map((e) => e.val_accuracy ?? 0)),
    train_seconds: Number(s.seconds.toFixed(1)),
    wall_seconds: Number(wall.toFixed(1)),
    train_samples_per_s: Math.round(s.train_samples_per_s),
    backend: s.backend,
    ...(notes.length && { notes }),
  }
}

const rows = []
for (const name of projects) {
  const dir = makeProject(name)
  for (const model of models) rows.push({ project: name, ...train(dir, model) })
}
const result = {
  benchmark: 'recipes',
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
  projects: {
    'fmnist-50': 'Fashion-MNIST: 50 train + 20 val per class from train-images, test = all 10,000 of t10k',
    demo: 'the demo project: 300 Fashion-MNIST t10k images, 30 per class, seeded 80/10/10 split (30 test)',
  },
  epochs: epochs ? Number(epochs) : "each recipe's own",
  rows,
  reference: { 'seed-cnn': { 'fmnist-50': 0.706, demo: 0.667 } },
}
fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true })
fs.writeFileSync(path.join(root, 'bench-results', 'recipes.json'), JSON.stringify(result, null, 2) + '\n')
if (!keep) fs.rmSync(work, { recursive: true, force: true })
console.log(JSON.stringify(result, null, 2))
