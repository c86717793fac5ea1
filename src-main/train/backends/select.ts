import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import type { BackendInfo } from '../../../src-shared/api/train'
import { registerWasmGradKernels } from './wasm-grad-kernels'

export type BackendName = 'tensorflow' | 'wasm' | 'cpu'

export interface NativeProbe {
  /** Which package gave the native `tensorflow` backend, if any (tfjs-node-gpu or tfjs-node). */
  packageName: string | null
  /** Why it is not there, when it is not. */
  detail: string
}

/**
 * Picks the fastest backend that works here, in the order native TensorFlow → wasm → cpu, and
 * says why. The native backend only exists where the host process managed to load tfjs-node(-gpu)
 * (both optional; see host/native.ts). `prefer` forces one (tests, benchmarks, SMALLSET_BACKEND).
 */
export async function selectBackend(native: NativeProbe, prefer?: BackendName): Promise<BackendInfo> {
  const tried: BackendInfo['tried'] = []
  const order: BackendName[] = prefer ? [prefer] : ['tensorflow', 'wasm', 'cpu']
  for (const name of order) {
    if (name === 'tensorflow' && !native.packageName) {
      tried.push({ name, ok: false, detail: native.detail })
      continue
    }
    try {
      if (name === 'wasm') registerWasmGradKernels()
      const ok = await tf.setBackend(name)
      if (!ok) throw new Error(`tf.setBackend('${name}') returned false`)
      await tf.ready()
      const detail =
        name === 'tensorflow'
          ? `native TensorFlow through ${native.packageName}`
          : name === 'wasm'
            ? `WebAssembly (SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'on' : 'off'}, threads ${
                tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'on' : 'off'
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
