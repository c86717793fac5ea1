/**
 * WebGPU in the trainer's own Node process, through Dawn for Node (the optional npm package
 * `webgpu`): any GPU with a Vulkan, Metal or Direct3D 12 driver. Dawn gives tfjs a
 * `navigator.gpu`; `@tensorflow/tfjs-backend-webgpu` is imported only once an adapter is found,
 * so a machine without one never registers (or logs about) a backend it cannot start.
 *
 * Where it cannot run: inside Electron's processes (Dawn's external buffers are refused by
 * Electron's V8 memory cage, dawn-gpu/node-webgpu#5), where `webgpu` is not installed, and where
 * no adapter is found (no GPU driver; on GPU-less test machines, Chromium's SwiftShader Vulkan
 * driver gives one: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json).
 */

/**
 * `software`: the adapter is a CPU emulation (SwiftShader, llvmpipe: WebGPU's "fallback adapter"),
 * correct but slower than the wasm backend, so the automatic choice passes over it.
 */
export type WebGpuProbe = { ok: true; adapter: string; software: boolean } | { ok: false; detail: string }

/** The little of the WebGPU API used here (the DOM's WebGPU types are not in this build). */
interface Adapter {
  info?: { vendor?: string; description?: string; device?: string; isFallbackAdapter?: boolean }
}
interface Gpu {
  requestAdapter(o?: { powerPreference?: string }): Promise<Adapter | null>
}

let probed: Promise<WebGpuProbe> | null = null

/** Finds a WebGPU adapter and makes the tfjs WebGPU backend available; once per process. */
export function probeWebGpu(): Promise<WebGpuProbe> {
  probed ??= probe()
  return probed
}

async function probe(): Promise<WebGpuProbe> {
  if (process.versions.electron)
    return {
      ok: false,
      detail: "Dawn for Node cannot run inside Electron's processes (dawn-gpu/node-webgpu#5)",
    }
  let dawn: { create(flags: string[]): Gpu; globals: Record<string, unknown> }
  try {
    dawn = (await import('webgpu')) as unknown as typeof dawn
  } catch (e) {
    return {
      ok: false,
      detail: `the optional package "webgpu" (Dawn for Node) is not installed: ${(e as Error).message.split('\n')[0]}`,
    }
  }
  let gpu: Gpu
  try {
    gpu = dawn.create([])
  } catch (e) {
    return { ok: false, detail: `Dawn for Node did not start: ${(e as Error).message.split('\n')[0]}` }
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null)
  if (!adapter)
    return {
      ok: false,
      detail: 'no WebGPU adapter: no GPU with a Vulkan, Metal or Direct3D 12 driver was found',
    }
  // tfjs reads `navigator.gpu` and the WebGPU constants (GPUBufferUsage, …) from the global scope.
  Object.assign(globalThis, dawn.globals)
  const nav = (globalThis as { navigator?: object }).navigator
  Object.defineProperty(globalThis, 'navigator', {
    value: { ...(nav ?? {}), gpu },
    configurable: true,
    writable: true,
  })
  await import('@tensorflow/tfjs-backend-webgpu')
  const info = adapter.info
  const name = [info?.vendor, info?.description || info?.device].filter(Boolean).join(' ') || 'an adapter'
  const software = info?.isFallbackAdapter === true || /swiftshader|llvmpipe|lavapipe/i.test(name)
  return { ok: true, adapter: name, software }
}
