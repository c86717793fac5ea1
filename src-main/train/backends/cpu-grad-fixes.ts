/**
 * Fixes for the tfjs `cpu` backend's own gradient kernels, registered over them:
 *  - ResizeNearestNeighborGrad (tfjs-backend-cpu 4.22) mixes up the images of a batch when it
 *    holds more than one, so any upsampling layer trained on `cpu` with batch > 1 gets wrong
 *    gradients. This one routes each output's gradient to the pixel the forward pass copied it
 *    from, with the forward's own index rule (alignCorners, halfPixelCenters).
 * The `cpu` backend is the last fallback for training and the reference the GPU parity tests
 * compare against, so it must be right. Pure TypeScript over the backend's typed arrays.
 */
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-cpu'
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs'

interface CpuBackend {
  data: { get(id: object): { values: Float32Array } }
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo
}

/** The input row (or column) the forward pass copies into output `o`. */
function sourceIndex(o: number, inSize: number, outSize: number, alignCorners: boolean, halfPixel: boolean) {
  const effIn = alignCorners && outSize > 1 ? inSize - 1 : inSize
  const effOut = alignCorners && outSize > 1 ? outSize - 1 : outSize
  const scale = effIn / effOut
  const frac = halfPixel ? scale * (o + 0.5) : scale * o
  let i = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac))
  if (halfPixel) i = Math.max(0, i)
  return i
}

const resizeNearestNeighborGrad: KernelConfig = {
  kernelName: 'ResizeNearestNeighborGrad',
  backendName: 'cpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { images, dy } = inputs as { images: TensorInfo; dy: TensorInfo }
    const { alignCorners, halfPixelCenters } = attrs as { alignCorners: boolean; halfPixelCenters: boolean }
    const cpu = backend as unknown as CpuBackend
    const [N, H, W, C] = images.shape as [number, number, number, number]
    const [, OH, OW] = dy.shape as [number, number, number, number]
    const g = cpu.data.get(dy.dataId).values
    const out = new Float32Array(N * H * W * C)
    const rows = Int32Array.from({ length: OH }, (_, o) =>
      sourceIndex(o, H, OH, alignCorners, halfPixelCenters),
    )
    const cols = Int32Array.from({ length: OW }, (_, o) =>
      sourceIndex(o, W, OW, alignCorners, halfPixelCenters),
    )
    for (let b = 0; b < N; b++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          const src = ((b * OH + oy) * OW + ox) * C
          const dst = ((b * H + rows[oy]!) * W + cols[ox]!) * C
          for (let c = 0; c < C; c++) out[dst + c] += g[src + c]!
        }
    return cpu.makeTensorInfo([N, H, W, C], 'float32', out)
  },
}

let registered = false

export function registerCpuGradFixes(): void {
  if (registered) return
  registered = true
  if (tf.getKernel(resizeNearestNeighborGrad.kernelName, 'cpu'))
    tf.unregisterKernel(resizeNearestNeighborGrad.kernelName, 'cpu')
  tf.registerKernel(resizeNearestNeighborGrad)
}
