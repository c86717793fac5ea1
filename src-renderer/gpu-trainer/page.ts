/**
 * The page of Electron's hidden trainer window: no UI, only a dedicated worker (./trainer.worker.ts)
 * that trains on the GPU through Chromium's own WebGPU or WebGL. The main process sends a
 * MessagePort (the preload forwards it here as a window message, since ports cannot cross the
 * context bridge otherwise); it is handed straight to the worker, which then talks to the trainer
 * process through the main process (src-main/train/remote/protocol.ts).
 */
export const PORT_MESSAGE = 'smallset:gpu-port'

const worker = new Worker(new URL('./trainer.worker.ts', import.meta.url), { type: 'module' })
window.addEventListener('message', (e: MessageEvent) => {
  if (e.source !== window || e.data !== PORT_MESSAGE || !e.ports[0]) return
  worker.postMessage(PORT_MESSAGE, [e.ports[0]])
})
