import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { seededRandom } from '../../src-shared/domain/random'
import type { ImageSet } from '../../src-main/train/tasks/classify/data'
import { registerWasmGradKernels } from '../../src-main/train/backends/wasm-grad-kernels'

/**
 * A tiny separable image set: class k has a bright square in quadrant k of an otherwise noisy
 * 8×8 grey image. A small model learns it in a few epochs.
 */
export function quadrantSet(count: number, numClasses = 3, seed = 1, size = 8): ImageSet {
  const rand = seededRandom(seed)
  const pixels = new Uint8Array(count * size * size)
  const labels = new Int32Array(count)
  const ids = new Int32Array(count)
  const half = size / 2
  for (let i = 0; i < count; i++) {
    const k = i % numClasses
    labels[i] = k
    ids[i] = i + 1
    const qx = (k % 2) * half
    const qy = Math.floor(k / 2) * half
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const inside = x >= qx && x < qx + half && y >= qy && y < qy + half
        pixels[i * size * size + y * size + x] = inside
          ? 200 + Math.floor(rand() * 55)
          : Math.floor(rand() * 60)
      }
  }
  return { width: size, height: size, channels: 1, count, pixels, labels, ids }
}

export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (name === 'wasm') registerWasmGradKernels()
  await tf.setBackend(name)
  await tf.ready()
}
