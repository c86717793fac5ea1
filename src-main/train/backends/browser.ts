import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-webgpu'
import type { BackendInfo } from '../../../src-shared/api/train'
import { registerCpuGradFixes } from './cpu-grad-fixes'
import { registerWasmGradKernels } from './wasm-grad-kernels'

/**
 * Backend choice inside Chromium (a dedicated worker of Electron's hidden trainer window, or of a
 * test page), where `navigator.gpu` and WebGL come from the browser itself: WebGPU, then WebGL,
 * then wasm, then cpu, with the reason each one before the chosen one was passed over. A software
 * adapter (SwiftShader, llvmpipe: the CPU emulating a GPU) is passed over unless asked for: the
 * trainer process's threaded wasm is faster than that.
 */

type Tried = BackendInfo['tried']

interface GpuAdapterLike {
  info?: {
    vendor?: string
    architecture?: string
    description?: string
    device?: string
    isFallbackAdapter?: boolean
  }
}
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software/i

async function webgpuAdapter(): Promise<{ name: string; software: boolean } | string> {
  const gpu = (
    globalThis.navigator as { gpu?: { requestAdapter(o?: object): Promise<GpuAdapterLike | null> } }
  )?.gpu
  if (!gpu) return 'this Chromium context has no navigator.gpu (WebGPU is off or unsupported here)'
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null)
  if (!adapter) return 'Chromium found no WebGPU adapter (no GPU driver it can use)'
  const i = adapter.info
  // Chromium fills in the vendor and architecture ("google", "swiftshader"), seldom the rest.
  const name =
    [i?.vendor, i?.architecture, i?.description || i?.device].filter(Boolean).join(' ') || 'an adapter'
  return { name, software: i?.isFallbackAdapter === true || SOFTWARE.test(name) }
}

/** The GPU behind the webgl backend once it has started, as WebGL reports it. */
function webglRenderer(): string {
  const gl = (tf.backend() as unknown as { gpgpu?: { gl?: WebGLRenderingContext } }).gpgpu?.gl
  if (!gl) return 'an unknown GPU'
  const ext = gl.getExtension('WEBGL_debug_renderer_info')
  return String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER))
}

async function tryBackend(name: string, tried: Tried, forced: boolean): Promise<string | null> {
  try {
    if (name === 'webgpu') {
      const a = await webgpuAdapter()
      if (typeof a === 'string') return (tried.push({ name, ok: false, detail: a }), null)
      if (a.software && !forced) {
        tried.push({ name, ok: false, detail: `${a.name} is a software adapter: slower than wasm` })
        return null
      }
      if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') returned false")
      await tf.ready()
      return `WebGPU on ${a.name}, in Chromium`
    }
    if (name === 'webgl') {
      if (!(await tf.setBackend('webgl'))) throw new Error('WebGL did not start in this context')
      await tf.ready()
      const gpu = webglRenderer()
      if (SOFTWARE.test(gpu) && !forced) {
        tried.push({ name, ok: false, detail: `${gpu} is a software renderer: slower than wasm` })
        return null
      }
      // Without float32 render targets tfjs stores tensors as float16: training drifts.
      const f32 = tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')
      return `WebGL ${tf.env().getNumber('WEBGL_VERSION')} on ${gpu}${f32 ? '' : ' (float16 textures: less precise)'}, in Chromium`
    }
    if (name === 'wasm') {
      registerWasmGradKernels()
      if (!(await tf.setBackend('wasm'))) throw new Error("tf.setBackend('wasm') returned false")
      await tf.ready()
      return "WebAssembly with Smallset's gradient kernels, in Chromium"
    }
    if (name === 'cpu') {
      registerCpuGradFixes()
      await tf.setBackend('cpu')
      return 'plain JavaScript: correct but slow'
    }
    tried.push({ name, ok: false, detail: `${name} does not run in Chromium` })
    return null
  } catch (e) {
    tried.push({ name, ok: false, detail: e instanceof Error ? e.message : String(e) })
    return null
  }
}

function info(name: string, detail: string, tried: Tried, forced: boolean): BackendInfo {
  tried.push({ name, ok: true, detail })
  const skipped = tried.filter((t) => !t.ok)
  const reason = forced
    ? `${name} was asked for (in Chromium's GPU worker)`
    : skipped.length === 0
      ? `${name} is the fastest backend here (in Chromium's GPU worker)`
      : `${name} in Chromium's GPU worker, because ${skipped.map((t) => `${t.name} is unavailable (${t.detail})`).join('; ')}`
  return { name, reason, tried }
}

/** The GPU backend this context trains on (webgpu, else webgl), or null with what was tried. */
export async function probeBrowserGpu(
  prefer?: string,
): Promise<{ backend: BackendInfo | null; tried: Tried }> {
  const tried: Tried = []
  for (const name of prefer ? [prefer] : ['webgpu', 'webgl']) {
    if (name !== 'webgpu' && name !== 'webgl') break
    const detail = await tryBackend(name, tried, Boolean(prefer))
    if (detail) return { backend: info(name, detail, tried, Boolean(prefer)), tried }
  }
  return { backend: null, tried }
}

/** Starts the backend to train on: the one asked for, else the first of webgpu, webgl, wasm, cpu. */
export async function selectBrowserBackend(prefer?: string): Promise<BackendInfo> {
  const tried: Tried = []
  for (const name of prefer ? [prefer] : ['webgpu', 'webgl', 'wasm', 'cpu']) {
    const detail = await tryBackend(name, tried, Boolean(prefer))
    if (detail) return info(name, detail, tried, Boolean(prefer))
  }
  throw new Error(
    `no TensorFlow.js backend could start: ${tried.map((t) => `${t.name}: ${t.detail}`).join('; ')}`,
  )
}
