import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import react from '@vitejs/plugin-react'

// Three builds: the main process (Electron entry and the headless CLI share it), the preload, and
// the renderer. Native modules (better-sqlite3, sharp, and the optional webgpu with its dawn.node) stay
// external: bundling breaks their bindings.
export default defineConfig({
  main: {
    build: {
      rollupOptions: {
        external: ['webgpu'],
        input: {
          index: resolve(__dirname, 'src-main/index.ts'),
          cli: resolve(__dirname, 'src-main/cli.ts'),
          // The trainer process, forked by the app and the CLI (src-main/train/host/runner.ts).
          'train-worker': resolve(__dirname, 'src-main/train/host/worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      rollupOptions: { input: { index: resolve(__dirname, 'src-main/preload.ts') } },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src-renderer'),
    build: {
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'src-renderer/index.html'),
          // Electron's hidden trainer window: a worker training on Chromium's WebGPU or WebGL.
          'gpu-trainer': resolve(__dirname, 'src-renderer/gpu-trainer.html'),
        },
      },
    },
    worker: { format: 'es' },
    plugins: [react()],
  },
})
