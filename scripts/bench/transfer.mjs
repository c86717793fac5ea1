#!/usr/bin/env node
// Transfer learning against the cats-vs-dogs write-up's recipe (seed 001), as JSON (stdout, and
// bench-results/transfer.json); part of `npm run bench`.
//  - The data: no photos are available offline, so the most photo-like real data is used: the
//    scene generator's `photo-pair` preset, one real Fashion-MNIST item (Sandal or Sneaker) per
//    180×180 RGB image, tinted, turned and placed on a textured background; 1,000 images a class
//    (`--per-class N` changes it), split 80/10/10, written as a class-per-folder tree.
//  - transfer: `smallset train --model transfer-mobilenet-v2` (the shipped MobileNetV2, frozen,
//    features cached, a head trained on them), with its default epochs and early stopping.
//  - auto: the default recipe (a small CNN trained from scratch, chosen from the project).
//  - seed-cats-dogs: the write-up's own stack and settings, for `--cats-dogs-epochs N` epochs
//    (default 2: it trains at about 2 img/s on these 2 cores, so its 100 epochs take days here).
// Each gives test accuracy, the wall-clock time of the whole `smallset train` (data loading and the
// feature cache included) and its training seconds. Needs `npm run build`.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const cli = path.join(root, 'bin', 'smallset.js')
const log = (...a) => console.error('[bench transfer]', ...a)
const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? Number(argv[i + 1]) : dflt
}
const PER_CLASS = opt('per-class', 1000)
const CATS_DOGS_EPOCHS = opt('cats-dogs-epochs', 2)

if (!fs.existsSync(path.join(root, 'out', 'main', 'cli.js'))) throw new Error('run "npm run build" first')

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'smallset-bench-transfer-'))
const smallset = (...args) =>
  execFileSync(process.execPath, [cli, ...args], {
    maxBuffer: 256 << 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  })

// The scene set (COCO layout, one object per image), then a class-per-folder tree of it.
const scenes = path.join(work, 'scenes')
const n = 2 * PER_CLASS
const counts = { train: Math.round(n * 0.8), valid: Math.round(n * 0.1) }
counts.test = n - counts.train - counts.valid
log(`making ${n} images in ${work}`)
smallset(
  'scenes',
  scenes,
  '--preset',
  'photo-pair',
  '--counts',
  `${counts.train},${counts.valid},${counts.test}`,
)
const tree = path.join(work, 'tree')
for (const split of ['train', 'valid', 'test']) {
  const doc = JSON.parse(fs.readFileSync(path.join(scenes, split, '_annotations.coco.json'), 'utf8'))
  const names = new Map(doc.categories.map((c) => [c.id, c.name.replace(/[^A-Za-z0-9-]/g, '_')]))
  const classOf = new Map(doc.annotations.map((a) => [a.image_id, names.get(a.category_id)]))
  for (const im of doc.images) {
    const dir = path.join(tree, split, classOf.get(im.id))
    fs.mkdirSync(dir, { recursive: true })
    fs.copyFileSync(path.join(scenes, split, im.file_name), path.join(dir, im.file_name))
  }
}

function run(name, ...args) {
  const project = path.join(work, name)
  smallset('init', project)
  smallset('import', project, tree, '--json')
  log(`training ${name}`)
  const t0 = performance.now()
  const lines = smallset('train', project, '--json', ...args)
    .toString()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  const wall = (performance.now() - t0) / 1000
  const s = lines.find((l) => l.type === 'summary')
  return {
    test_accuracy: s.test_accuracy,
    epochs: s.epochs,
    best_epoch: s.best_epoch,
    wall_s: Math.round(wall * 10) / 10,
    train_s: Math.round(s.seconds * 10) / 10,
    train_img_per_s: s.train_samples_per_s,
    status: s.status,
    backend: s.backend,
  }
}

const result = {
  data: `photo-pair scenes (real Fashion-MNIST Sandal vs Sneaker on textures), ${PER_CLASS} per class, 180×180 RGB`,
  counts,
  transfer: run('transfer', '--model', 'transfer-mobilenet-v2'),
  auto: run('auto'),
  seed_cats_dogs: run('seed-cats-dogs', '--model', 'seed-cats-dogs', '--epochs', String(CATS_DOGS_EPOCHS)),
  cores: os.cpus().length,
}
fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true })
fs.writeFileSync(path.join(root, 'bench-results', 'transfer.json'), JSON.stringify(result, null, 2) + '\n')
fs.rmSync(work, { recursive: true, force: true })
console.log(JSON.stringify(result, null, 2))
