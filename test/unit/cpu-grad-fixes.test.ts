/**
 * The cpu backend's ResizeNearestNeighborGrad, as tfjs ships it and as Smallset fixes it:
 * checked against a reference that routes each output's gradient to the pixel the forward pass
 * copied (the forward's own indices, read from resizing an image of pixel ids).
 */
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { registerCpuGradFixes } from '../../src-main/train/backends/cpu-grad-fixes'
import { seededRandom } from '../../src-shared/domain/random'

type Case = {
  x: [number, number, number, number]
  size: [number, number]
  alignCorners: boolean
  halfPixelCenters: boolean
}
const CASES: Case[] = [
  { x: [2, 4, 5, 3], size: [8, 10], alignCorners: false, halfPixelCenters: false },
  { x: [2, 4, 5, 3], size: [8, 10], alignCorners: false, halfPixelCenters: true },
  { x: [3, 3, 5, 2], size: [7, 11], alignCorners: true, halfPixelCenters: false },
  { x: [1, 3, 3, 2], size: [12, 6], alignCorners: false, halfPixelCenters: false },
  { x: [2, 6, 4, 1], size: [3, 2], alignCorners: false, halfPixelCenters: false },
]

function grads(c: Case, w: Float32Array): Float32Array {
  const [N, H, W, C] = c.x
  return tf.tidy(() => {
    const wt = tf.tensor4d(w, [N, ...c.size, C])
    const f = (a: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.image.resizeNearestNeighbor(a as tf.Tensor4D, c.size, c.alignCorners, c.halfPixelCenters),
          wt,
        ),
      )
    return tf
      .grad(f)(tf.zeros([N, H, W, C]))
      .dataSync() as Float32Array
  })
}

function expected(c: Case, w: Float32Array): Float32Array {
  const [N, H, W, C] = c.x
  const index = tf.tidy(() =>
    tf.image
      .resizeNearestNeighbor(
        tf.range(0, N * H * W).reshape([N, H, W, 1]) as tf.Tensor4D,
        c.size,
        c.alignCorners,
        c.halfPixelCenters,
      )
      .dataSync(),
  )
  const out = new Float32Array(N * H * W * C)
  for (let o = 0; o < index.length; o++)
    for (let ch = 0; ch < C; ch++) out[index[o]! * C + ch]! += w[o * C + ch]!
  return out
}

const weights = (c: Case) => {
  const r = seededRandom(3)
  return Float32Array.from({ length: c.x[0] * c.size[0] * c.size[1] * c.x[3] }, () => r() - 0.5)
}
const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0)

describe('cpu ResizeNearestNeighborGrad', () => {
  let stock: number
  beforeAll(async () => {
    await tf.setBackend('cpu')
    // tfjs's own kernel, before the fix: wrong once a batch holds more than one image.
    stock = maxDiff(grads(CASES[0]!, weights(CASES[0]!)), expected(CASES[0]!, weights(CASES[0]!)))
    registerCpuGradFixes()
  })

  it("tfjs's own kernel mixes up the images of a batch (why the fix exists)", () => {
    expect(stock).toBeGreaterThan(0.1)
  })

  it.each(CASES.map((c) => [JSON.stringify(c), c] as const))(
    'the fixed kernel routes every gradient: %s',
    (_n, c) => {
      expect(maxDiff(grads(c, weights(c)), expected(c, weights(c)))).toBeLessThan(1e-5)
    },
  )
})
