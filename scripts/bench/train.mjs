#!/usr/bin/env node
// Training speed and accuracy next to the PyTorch reference, measured in the same run on the same
// machine and data (shared/bench/torch_reference.py, Debian's python3-torch). Prints JSON and
// writes bench-results/train.json.
//   node scripts/bench/train.mjs [--epochs N]      (default 1; 40 reproduces the seed-002 figure)
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const cli = path.join(root, 'bin', 'smallset.js')
const data = '/usr/share/datasets/fashion-mnist'
const reference =
  process.env.SMALLSET_TORCH_REFERENCE ?? path.resolve(root, '..', 'shared', 'bench', 'torch_reference.py')
const argEpochs = process.argv.indexOf('--epochs')
const epochs = argEpochs > 0 ? Number(process.argv[argEpochs + 1]) : 1
const log = (...a) => console.error('[bench:train]', ...a)

if (!fs.existsSync(path.join(root, 'out', 'main', 'cli.js'))) throw new Error('run "npm run build" first')
if (!fs.existsSync(path.join(data, 'train-images-idx3-ubyte.gz')))
  throw new Error(`${data} missing: apt-get install dataset-fashion-mnist`)

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'smallset-bench-train-'))
const project = path.join(work, 'fashion-mnist')
execFileSync(process.execPath, [cli, 'init', project])
execFileSync(process.execPath, [cli, 'import', project, data, '--preset', 'fashion-mnist', '--json'])

function ours(model, extra = [], threads = null) {
  log(`smallset ${model}, ${epochs} epoch(s)${threads ? `, ${threads} thread(s)` : ''}…`)
  const out = execFileSync(
    process.execPath,
    [
      cli,
      'train',
      project,
      '--model',
      model,
      '--epochs',
      String(epochs),
      '--validation',
      'test',
      '--test-each-epoch',
      '--json',
      ...extra,
    ],
    {
      maxBuffer: 64 << 20,
      env: threads ? { ...process.env, SMALLSET_THREADS: String(threads) } : process.env,
    },
  ).toString()
  const lines = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  const ep = lines.filter((l) => l.type === 'epoch')
  const s = lines.find((l) => l.type === 'summary')
  return {
    backend: s.backend,
    train_samples_per_s: Math.round(s.train_samples_per_s),
    test_accuracy_by_epoch: ep.map((e) => Number(e.test_accuracy.toFixed(4))),
    test_accuracy: s.test_accuracy,
  }
}

function torch(args) {
  const hasTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0
  if (!hasTorch || !fs.existsSync(reference))
    return { skipped: `PyTorch reference unavailable (python3-torch installed: ${hasTorch}; ${reference})` }
  log(`torch ${args.join(' ')}…`)
  const out = execFileSync('/usr/bin/python3', [reference, ...args, '--epochs', String(epochs)], {
    maxBuffer: 64 << 20,
  }).toString()
  const lines = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  const ep = lines.filter((l) => l.epoch !== undefined && !l.summary)
  return {
    train_samples_per_s: Math.round(ep.reduce((n, e) => n + e.train_samples_per_s, 0) / ep.length),
    test_accuracy_by_epoch: ep.map((e) => e.test_accuracy),
    threads: lines.find((l) => l.summary)?.threads,
  }
}

const rows = []
for (const [model, ref] of [
  ['seed-cnn', ['--model', 'cnn']],
  ['seed-mlp', ['--model', 'mlp', '--batch', '20', '--lr', '0.1', '--momentum', '0']],
]) {
  const a = ours(model)
  // The same run on one thread: what the threads (one per core, wasm-threads.node.ts) bring.
  const one = ours(model, [], 1)
  const b = torch(ref)
  const ratio = (x) => (b.train_samples_per_s ? Number((x / b.train_samples_per_s).toFixed(3)) : null)
  rows.push({
    model,
    smallset: a,
    smallset_one_thread: one,
    torch: b,
    speed_ratio_vs_torch: ratio(a.train_samples_per_s),
    speed_ratio_vs_torch_one_thread: ratio(one.train_samples_per_s),
  })
}
const result = {
  benchmark: 'train',
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
  epochs,
  data: 'Fashion-MNIST, 60,000 train / 10,000 test',
  rows,
  reported: { 'seed-cnn': { epoch1: 0.7535, epoch2: 0.7939, epoch40: 0.8965 } },
}
fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true })
fs.writeFileSync(path.join(root, 'bench-results', 'train.json'), JSON.stringify(result, null, 2) + '\n')
fs.rmSync(work, { recursive: true, force: true })
console.log(JSON.stringify(result, null, 2))
