#!/usr/bin/env node
// Training speed on every backend that runs here, next to PyTorch on the same shapes in the same
// run: seed-cnn (28×28×1, batch 64), seed-cats-dogs (180×180×3, batch 32) and the default
// detector (the demo scene set's recipe). Each row is one training step timed on its own (the
// median after a warm-up; the first step, where shaders compile and kernels are tuned, is given
// apart), and its images/s as a ratio to PyTorch's (Debian's python3-torch, 2 threads).
// WebGPU runs on the GPU Dawn for Node finds; on GPU-less machines that is Chromium's SwiftShader
// Vulkan driver (the CPU emulating a GPU), whose speed says nothing about a real GPU: its rows
// are there to show the route works end to end.
// Prints JSON and writes bench-results/backends.json.
//   node scripts/bench/backends.mjs [--quick]      (--quick: fewer steps, for a smoke run)
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const cli = path.join(root, 'bin', 'smallset.js')
const quick = process.argv.includes('--quick')
const log = (...a) => console.error('[bench:backends]', ...a)
if (!fs.existsSync(path.join(root, 'out', 'main', 'cli.js'))) throw new Error('run "npm run build" first')

const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json'
const gpuEnv =
  !process.env.VK_ICD_FILENAMES && fs.existsSync(swiftshader)
    ? { VK_ICD_FILENAMES: swiftshader, LD_LIBRARY_PATH: '/usr/lib/chromium' }
    : {}

// The backends to time, each with the environment that selects it.
const BACKENDS = [
  { name: 'wasm, every core', backend: 'wasm', env: {} },
  { name: 'wasm, 1 thread', backend: 'wasm', env: { SMALLSET_THREADS: '1' } },
  { name: 'webgpu', backend: 'webgpu', env: gpuEnv },
  { name: 'cpu (plain JavaScript)', backend: 'cpu', env: { SMALLSET_THREADS: '1' } },
]
// Steps per (model, backend): enough for a stable median where a step is fast, few where it is slow.
const STEPS = {
  'seed-cnn': { wasm: 40, webgpu: 8, cpu: 6 },
  // 0: not timed. Plain JavaScript needs minutes for one step of these (3 detector steps did not
  // finish in 300 s).
  'seed-cats-dogs': { wasm: 6, webgpu: 2, cpu: 0 },
  detector: { wasm: 12, webgpu: 4, cpu: 0 },
}
const steps = (model, backend) => {
  const n = STEPS[model][backend]
  return n === 0 ? 0 : Math.max(2, quick ? Math.ceil(n / 3) : n)
}

// A row that takes longer than this is cut off and reported as such (a software GPU adapter needs
// many minutes for one step of the 180×180 recipe).
const ROW_LIMIT_S = Number(process.env.SMALLSET_BENCH_ROW_LIMIT_S ?? 300)

function run(args, env) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    timeout: ROW_LIMIT_S * 1000,
    killSignal: 'SIGKILL',
  })
  if (r.error?.code === 'ETIMEDOUT' || r.signal === 'SIGKILL')
    return { error: `did not finish its ${args[args.indexOf('--steps') + 1]} steps in ${ROW_LIMIT_S} s` }
  if (r.status !== 0) return { error: (r.stderr || String(r.error)).trim().split('\n').slice(-3).join(' ') }
  return JSON.parse(r.stdout.trim().split('\n').at(-1))
}

function torch(model, n) {
  const r = spawnSync(
    '/usr/bin/python3',
    [
      path.join(root, 'scripts', 'bench', 'step_torch.py'),
      '--model',
      model,
      '--steps',
      String(n),
      '--threads',
      '2',
    ],
    { encoding: 'utf8' },
  )
  if (r.status !== 0)
    return { skipped: `PyTorch twin did not run: ${(r.stderr || String(r.error)).trim().split('\n').at(-1)}` }
  return JSON.parse(r.stdout.trim().split('\n').at(-1))
}

function detectorTorch(dump) {
  const r = spawnSync(
    '/usr/bin/python3',
    [path.join(root, 'scripts', 'bench', 'detect_torch.py'), dump, '--threads', '2'],
    {
      encoding: 'utf8',
    },
  )
  if (r.status !== 0)
    return { skipped: `PyTorch twin did not run: ${(r.stderr || String(r.error)).trim().split('\n').at(-1)}` }
  return JSON.parse(r.stdout.trim().split('\n').at(-1))
}

const r1 = (v) => (typeof v === 'number' ? Number(v.toFixed(1)) : null)
const r3 = (v) => (typeof v === 'number' ? Number(v.toFixed(3)) : null)
const models = []

// The demo scene set, for the detector's rows.
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'smallset-bench-backends-'))
const project = path.join(work, 'scenes')
execFileSync(process.execPath, [cli, 'init', project])
execFileSync(process.execPath, [
  cli,
  'import',
  project,
  path.join(root, 'resources', 'detection-demo'),
  '--no-progress',
])

for (const model of ['seed-cnn', 'seed-cats-dogs', 'detector']) {
  const rows = []
  let dump = null
  for (const b of BACKENDS) {
    const n = steps(model, b.backend)
    if (n === 0) {
      rows.push({
        name: b.name,
        skipped: 'not timed: plain JavaScript takes minutes per step of this recipe',
      })
      continue
    }
    log(`${model} on ${b.name}, ${n} steps…`)
    const warmup = String(Math.min(3, n - 1))
    let out
    if (model === 'detector') {
      const d = path.join(work, `batches-${rows.length}`)
      out = run(
        [
          'dev-bench-detector',
          project,
          '--steps',
          String(n),
          '--warmup',
          warmup,
          '--backend',
          b.backend,
          '--out',
          d,
        ],
        b.env,
      )
      dump ??= out.error ? null : d
    } else {
      out = run(
        [
          'dev-bench-step',
          '--model',
          model,
          '--steps',
          String(n),
          '--warmup',
          warmup,
          '--backend',
          b.backend,
        ],
        b.env,
      )
    }
    rows.push({ name: b.name, steps: n, ...out })
  }
  const twin =
    model === 'detector'
      ? dump
        ? detectorTorch(dump)
        : { skipped: 'no batches were written' }
      : torch(model, STEPS[model].wasm)
  const base = rows.find((r) => r.name === 'wasm, 1 thread')
  models.push({
    model,
    torch: twin,
    rows: rows.map((r) =>
      r.error || r.skipped
        ? { backend: r.name, ...(r.error ? { error: r.error } : { skipped: r.skipped }) }
        : {
            backend: r.name,
            ran_on: r.backend_detail ?? r.backend,
            steps: r.steps,
            batch: r.batch,
            first_step_ms: r1(r.first_step_ms),
            step_ms: r1(r.step_ms),
            train_images_per_s: r1(r.train_images_per_s),
            ratio_vs_torch: twin.train_images_per_s
              ? r3(r.train_images_per_s / twin.train_images_per_s)
              : null,
            // The same seed and batches on each backend: their losses agree to float rounding.
            ...(r.losses &&
              base?.losses && {
                loss_max_abs_diff_vs_wasm: Number(
                  Math.max(...r.losses.map((l, i) => Math.abs(l - (base.losses[i] ?? l)))).toExponential(2),
                ),
              }),
          },
    ),
  })
}
fs.rmSync(work, { recursive: true, force: true })
const result = {
  benchmark: 'backends',
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
  note: 'one training step per row, median after a warm-up; webgpu on a machine without a GPU is SwiftShader (a CPU emulation): its speed means nothing',
  models,
}
fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true })
fs.writeFileSync(path.join(root, 'bench-results', 'backends.json'), JSON.stringify(result, null, 2) + '\n')
console.log(JSON.stringify(result, null, 2))
