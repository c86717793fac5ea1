import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url'
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url'
import { probeBrowserGpu, selectBrowserBackend } from '../../src-main/train/backends/browser'
import type { PortLike } from '../../src-main/train/remote/protocol'
import { serveRemoteTrainer } from '../../src-main/train/remote/serve'

/**
 * The trainer in a Chromium worker: the same train() loop and task code as the trainer process,
 * on the backend Chromium gives (WebGPU, then WebGL, then wasm, then cpu). It serves the port it is
 * sent, one run at a time.
 */
setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
})

function portLike(port: MessagePort): PortLike {
  return {
    postMessage: (m) => port.postMessage(m),
    listen: (fn) => {
      const h = (e: MessageEvent) => fn(e.data)
      port.addEventListener('message', h)
      return () => port.removeEventListener('message', h)
    },
  }
}

self.addEventListener('message', (e: MessageEvent) => {
  if (e.data !== 'smallset:gpu-port' || !e.ports[0]) return
  const port = e.ports[0]
  serveRemoteTrainer(portLike(port), { probeGpu: probeBrowserGpu, select: selectBrowserBackend })
  port.start()
})
