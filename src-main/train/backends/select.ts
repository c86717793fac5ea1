import * as tf from '@tensorflow/tfjs'
import { getThreadsCount as wasmThreadsCount } from '@tensorflow/tfjs-backend-wasm'
import { BACKENDS, type BackendInfo } from '../../../src-shared/api/train'
import { registerWasmGradKernels } from './wasm-grad-kernels'
import { startThreadedWasm, wantedThreads } from './wasm-threads.node'
import { probeWebGpu } from './webgpu.node'
import { registerCpuGradFixes } from './cpu-grad-fixes'

export type BackendName = (typeof BACKENDS)[number]

export interface NativeProbe {
  /** Which package gave the native `tensorflow` backend, if any (tfjs-node-gpu or tfjs-node). */
  packageName: string | null
  /** Why it is not there, when it is not. */
  detail: string
}

/**
 * Picks the fastest backend that works in the trainer process, in the order WebGPU → (WebGL, which
 * only Chromium has: see ./browser.ts and train/remote/) → native TensorFlow → wasm (with a
 * thread per core where threads start, see ./wasm-threads.node.ts, else one) → cpu, and says why
 * each one before it was skipped. WebGPU runs where Dawn for Node finds a GPU
 * adapter (see ./webgpu.node.ts); the native backend only where the host process loaded
 * tfjs-node(-gpu) (both optional; see host/native.ts). `prefer` forces one (`--backend`, the Train
 * tab, tests, benchmarks, SMALLSET_BACKEND).
 */
export async function selectBackend(native: NativeProbe, prefer?: BackendName): Promise<BackendInfo> {
  const tried: BackendInfo['tried'] = []
  const order: BackendName[] = prefer ? [prefer] : [...BACKENDS]
  for (const name of order) {
    if (name === 'webgl') {
      tried.push({
        name,
        ok: false,
        detail: 'WebGL runs only in Chromium (in the app, its GPU worker); the trainer process is Node',
      })
      continue
    }
    if (name === 'tensorflow' && !native.packageName) {
      tried.push({ name, ok: false, detail: native.detail })
      continue
    }
    let adapter = ''
    if (name === 'webgpu') {
      const gpu = await probeWebGpu()
      if (!gpu.ok) {
        tried.push({ name, ok: false, detail: gpu.detail })
        continue
      }
      if (gpu.software && !prefer) {
        tried.push({
          name,
          ok: false,
          detail: `${gpu.adapter} is a software adapter (the CPU emulating a GPU): slower than wasm; ask for webgpu to use it`,
        })
        continue
      }
      adapter = gpu.adapter
    }
    try {
      if (name === 'wasm') registerWasmGradKernels()
      if (name === 'cpu') registerCpuGradFixes()
      let threads = 1
      // Threaded wasm first (every core), then wasm on one thread where threads cannot start.
      // (Only before the backend first starts: it starts once per process.)
      if (name === 'wasm' && wantedThreads() > 1 && !('wasm' in tf.engine().registry)) {
        try {
          threads = await startThreadedWasm(wantedThreads())
        } catch (e) {
          tried.push({
            name,
            ok: false,
            detail: `threads could not start (${e instanceof Error ? e.message : String(e)}): one thread instead`,
          })
        }
      }
      const ok = await tf.setBackend(name)
      if (!ok) throw new Error(`tf.setBackend('${name}') returned false`)
      await tf.ready()
      if (name === 'wasm' && threads === 1 && tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'))
        threads = wasmThreadsCount()
      const detail =
        name === 'webgpu'
          ? `WebGPU on ${adapter}, through Dawn for Node`
          : name === 'tensorflow'
            ? `native TensorFlow through ${native.packageName}`
            : name === 'wasm'
              ? `WebAssembly (SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'on' : 'off'}, ${
                  threads > 1 ? `${threads} threads` : '1 thread'
                }) with Smallset's gradient kernels for convolutions`
              : 'plain JavaScript: correct but slow'
      tried.push({ name, ok: true, detail })
      const reason = prefer
        ? `${name} was asked for`
        : tried.length === 1
          ? `${name} is the fastest backend here`
          : `${name}, because ${tried
              .filter((t) => !t.ok)
              .map((t) => `${t.name} is unavailable (${t.detail})`)
              .join('; ')}`
      return { name, reason, tried }
    } catch (e) {
      tried.push({ name, ok: false, detail: e instanceof Error ? e.message : String(e) })
    }
  }
  throw new Error(
    `no TensorFlow.js backend could start: ${tried.map((t) => `${t.name}: ${t.detail}`).join('; ')}`,
  )
}
