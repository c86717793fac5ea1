import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm'

/**
 * Threaded WebAssembly in Node: tfjs's threaded-SIMD build (XNNPACK with a pthread pool) on every
 * core. tfjs 4.22 cannot start it in Node by itself, for three reasons, each worked around here only
 * while the backend initialises:
 *  - its emscripten glue starts pthread workers from `blob:` URLs, which Node's worker_threads refuse
 *    (ERR_WORKER_PATH): the two scripts it makes (the worker, and its own factory, which each worker
 *    evaluates) are written to files in a temporary folder instead, and their paths given;
 *  - the factory's source refers to names of the bundle it came from (`require$$0`...,
 *    `commonjsGlobal`), which a worker lacks: they are defined at the top of its file;
 *  - XNNPACK's pool is capped at `emscripten_num_logical_cores() / 2`, on the guess of two
 *    hyperthreads a core, which gives one thread on a 2-core machine: the glue reads that count from
 *    `os.cpus()`, which reports twice the cores until the pool is made. The pool is still capped at
 *    the count asked for, and at the 8 workers the build pre-creates.
 * Every kernel, Smallset's convolution gradients included (they are built on XNNPACK's Conv2D and
 * GEMM), then splits its work over the pool. XNNPACK splits the output among threads, never a sum,
 * so results do not change with the thread count (test/unit/wasm-threads.test.ts).
 */

/** What the build can use at most: it pre-creates this many pthread workers. */
const MAX_THREADS = 8

/** Threads for this process: `SMALLSET_THREADS` where set (1 turns threads off), else every core. */
export function wantedThreads(): number {
  const env = Number(process.env.SMALLSET_THREADS)
  const n = Number.isInteger(env) && env > 0 ? env : os.cpus().length
  return Math.max(1, Math.min(MAX_THREADS, n))
}

/** The bundle's names that the factory's source uses, as the bundle defines them. */
const FACTORY_PRELUDE =
  'var commonjsGlobal = globalThis, require$$0 = require("fs"), require$$1 = require("path"), ' +
  'require$$2 = require("worker_threads"), require$$3 = require("perf_hooks"), require$$4 = require("os");\n'
/** In a worker: the "blob" it is handed is one of the files below; its path is its URL. */
const WORKER_PRELUDE =
  'URL.createObjectURL = (b) => (b && b.__path) || String(b); URL.revokeObjectURL = () => {};\n'

/** A stand-in for Blob while the glue runs: its text goes to a file, whose path is its URL. */
function fileBlobClass(dir: string) {
  let n = 0
  return class FileBlob {
    readonly __path: string
    constructor(parts: unknown[]) {
      let text = parts.map(String).join('')
      if (text.startsWith('var WasmBackendModuleThreadedSimd')) text = FACTORY_PRELUDE + text
      else if (text.includes('ENVIRONMENT_IS_PTHREAD')) text = WORKER_PRELUDE + text
      this.__path = path.join(dir, `script-${n++}.js`)
      fs.writeFileSync(this.__path, text)
    }
  }
}

/**
 * Initialises the wasm backend threaded, with `threads` threads; returns how many XNNPACK uses.
 * Throws where it cannot (no SharedArrayBuffer, the workers fail): the caller then starts wasm
 * without threads. Must run before anything else initialises the wasm backend in this process.
 */
export async function startThreadedWasm(threads: number): Promise<number> {
  if (typeof SharedArrayBuffer === 'undefined') throw new Error('this runtime has no SharedArrayBuffer')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smallset-wasm-threads-'))
  const g = globalThis as unknown as { Blob: unknown }
  const realBlob = g.Blob
  const realCreate = URL.createObjectURL
  const realCpus = os.cpus
  g.Blob = fileBlobClass(dir)
  URL.createObjectURL = ((b: { __path?: string }) =>
    b.__path ?? realCreate(b as Blob)) as typeof URL.createObjectURL
  os.cpus = () => {
    const c = realCpus()
    return [...c, ...c]
  }
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true)
  setThreadsCount(threads)
  try {
    const ok = await tf.setBackend('wasm')
    if (!ok) throw new Error("tf.setBackend('wasm') returned false")
    await tf.ready()
  } catch (e) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false)
    throw e
  } finally {
    g.Blob = realBlob
    URL.createObjectURL = realCreate
    os.cpus = realCpus
  }
  // A worker started later (beyond the pre-created ones) reads them too: kept until the process ends.
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
  return getThreadsCount()
}
