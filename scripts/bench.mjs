#!/usr/bin/env node
// `npm run bench`: every benchmark, one after another; one JSON object on stdout with each result
// (each also lands in bench-results/<name>.json). `npm run bench -- train` runs only that one;
// `npm run bench -- train --epochs 40` passes its options on. Each scripts/bench/<name>.mjs is one:
// backends (one training step on each backend, next to PyTorch), detect, editor, formats,
// foundation, mnist, recipes (the `auto` classification recipe next to seed-cnn on 50
// Fashion-MNIST images per class and on the demo project), train, transfer.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bench')
const all = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.mjs'))
  .map((f) => f.replace(/\.mjs$/, ''))
  .sort()
const [first, ...rest] = process.argv.slice(2)
const chosen = first && !first.startsWith('-') ? [first] : all
const options = first && !first.startsWith('-') ? rest : process.argv.slice(2)
for (const name of chosen)
  if (!all.includes(name)) throw new Error(`no benchmark "${name}" (have: ${all.join(', ')})`)

const results = {}
for (const name of chosen) {
  const out = execFileSync(process.execPath, [path.join(dir, `${name}.mjs`), ...options], {
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 << 20,
  })
  results[name] = JSON.parse(out.toString())
}
console.log(JSON.stringify(results, null, 2))
