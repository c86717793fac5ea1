/**
 * A remote trainer (src-main/train/remote/serve.ts) in a worker thread: a JavaScript context of its
 * own, as the Chromium worker of Electron's trainer window is, here on tfjs `cpu` (or, with
 * `backend: 'wasm'`, on the trainer process's own wasm, for the detector: cpu is too slow). With
 * `failAfterEpochs`, its matrix products start failing once that many epochs are stored, the way a
 * lost GPU device fails mid-run. Bundled and started by train-remote.test.ts.
 */
import { parentPort, workerData } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-cpu'
import type { BackendInfo } from '../../../src-shared/api/train'
import { registerCpuGradFixes } from '../../../src-main/train/backends/cpu-grad-fixes'
import { selectBackend } from '../../../src-main/train/backends/select'
import { serveRemoteTrainer } from '../../../src-main/train/remote/serve'

const port = parentPort!
const data = (workerData ?? {}) as { failAfterEpochs?: number; backend?: 'cpu' | 'wasm' }
const failAfter = data.failAfterEpochs ?? 0
let stored = 0
port.on('message', (m: { type: string }) => {
  if (m.type === 'epoch-saved') stored++
})
if (failAfter) {
  for (const name of ['_FusedMatMul', 'BatchMatMul']) {
    const orig = tf.getKernel(name, 'cpu')!
    tf.unregisterKernel(name, 'cpu')
    tf.registerKernel({
      ...orig,
      kernelFunc: (args) => {
        if (stored >= failAfter) throw new Error('the GPU device was lost (simulated)')
        return orig.kernelFunc(args)
      },
    })
  }
}

const backend: BackendInfo = {
  name: 'cpu',
  reason: 'a test thread',
  tried: [{ name: 'cpu', ok: true, detail: 'tfjs cpu in a worker thread (the test stand-in for a GPU)' }],
}
serveRemoteTrainer(
  {
    postMessage: (m) => port.postMessage(m),
    listen: (fn) => {
      port.on('message', fn)
      return () => port.off('message', fn)
    },
  },
  {
    probeGpu: async () => ({ backend, tried: backend.tried }),
    select: async () => {
      if (data.backend === 'wasm') {
        const wasm = await selectBackend({ packageName: null, detail: '' }, 'wasm')
        return { ...wasm, reason: `${wasm.reason} (a test thread)` }
      }
      registerCpuGradFixes()
      await tf.setBackend('cpu')
      return backend
    },
  },
)
