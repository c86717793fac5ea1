/**
 * Gradient functions (all backends) that replace tfjs-core 4.22's stock ones
 * where those materialise large broadcast tensors for nothing:
 *
 *  - FusedBatchNorm: the stock gradient tiles the per-channel 1/sqrt(var+eps)
 *    up to the full activation shape (a Tile the size of x per BN layer, the
 *    single most expensive kernel of a BN-CNN training step on wasm) and
 *    computes ~10 full-size products. This one has the same maths with
 *    broadcasting and two reductions: dx = dy*k with k = scale/sqrt(var+eps)
 *    (per channel), and from S1 = sum(dy), S2 = sum(dy*(x-mean)) over the
 *    reduced axes: dmean = -k*S1, dvariance = -0.5*scale*rsqrt^3*S2,
 *    dscale = rsqrt*S2, doffset = S1. It also works for mean/variance of any
 *    broadcastable shape (the stock one throws for e.g. [1,H,1,1], which
 *    tf.layers.batchNormalization uses for a non-last axis). Without scale
 *    it uses 1, like the stock one (though tfjs-core 4.22's engine cannot
 *    record a FusedBatchNorm that lacks scale or offset in the first place).
 *  - Mean: the stock gradient builds ones(x.shape) in JS, multiplies and
 *    divides (three full-size passes). This one divides the small dy and
 *    broadcasts it once (identical values).
 *
 * Registered by registerFastGradients() (idempotent; called by
 * registerWasmGradKernels()). No node:* or DOM imports.
 */
import {
  add,
  broadcast_util,
  broadcastTo,
  div,
  FusedBatchNorm,
  getGradient,
  Mean,
  mul,
  neg,
  registerGradient,
  reshape,
  rsqrt,
  scalar,
  sub,
  sum,
  util,
} from '@tensorflow/tfjs-core'
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core'

const fusedBatchNormGradConfig: GradConfig = {
  kernelName: FusedBatchNorm,
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const g = dy as Tensor
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number }
    const [x, mean, variance, scale] = saved as [Tensor, Tensor, Tensor, Tensor | undefined]
    const axes = broadcast_util.getReductionAxes(mean.shape, x.shape)
    const reduce = (t: Tensor): Tensor => reshape(axes.length > 0 ? sum(t, axes) : t, mean.shape)

    // Per-channel terms (the shape of mean).
    const rs = rsqrt(add(variance, scalar(varianceEpsilon)))
    const k = scale == null ? rs : mul(rs, scale)
    // The two reductions every parameter gradient is made of. Computed here
    // (not lazily in the closures): each closure runs in its own tidy, so a
    // shared lazy result would be disposed after its first use.
    const s1 = reduce(g)
    const s2 = reduce(mul(g, sub(x, mean)))

    return {
      x: () => reshape(mul(g, k), x.shape),
      mean: () => reshape(neg(mul(k, s1)), mean.shape),
      variance: () => {
        const c = mul(mul(mul(rs, rs), rs), scalar(-0.5))
        return reshape(mul(scale == null ? c : mul(c, scale), s2), mean.shape)
      },
      scale: () => reshape(mul(rs, s2), mean.shape),
      offset: () => reshape(s1, mean.shape),
    }
  },
}

const meanGradConfig: GradConfig = {
  kernelName: Mean,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x] = saved
    const axes = util.parseAxisParam((attrs as unknown as { axis: number | number[] }).axis, x.shape)
    const reduceSize = util.sizeFromShape(axes.map((a) => x.shape[a]))
    const expanded = x.shape.slice()
    for (const a of axes) expanded[a] = 1
    return {
      x: () => broadcastTo(div(reshape(dy as Tensor, expanded), reduceSize), x.shape),
    }
  },
}

const CONFIGS = [fusedBatchNormGradConfig, meanGradConfig]

/**
 * Replaces tfjs-core's FusedBatchNorm and Mean gradients with the ones
 * above, for every backend. Idempotent.
 */
export function registerFastGradients(): void {
  for (const config of CONFIGS) {
    if (getGradient(config.kernelName) !== config) registerGradient(config)
  }
}
