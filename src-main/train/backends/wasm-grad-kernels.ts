/**
 * Gradient kernels for the tfjs 'wasm' backend (tfjs 4.22), so that CNNs can
 * be trained on pure-JS/WebAssembly tfjs (Node without tfjs-node, or a
 * browser worker).
 *
 * Missing in the stock backend, so every CNN training step throws:
 *  - Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter,
 *    DepthwiseConv2dNativeBackpropInput.
 * Present but replaced here:
 *  - Conv2DBackpropInput: a naive loop, ~3-10x slower than what follows.
 *  - MaxPoolGrad: slow (7ms for the seed CNN's first pool) and wrong for many
 *    shapes (drops gradient entries).
 *  - BatchMatMul with transposeA/transposeB (every dense-layer gradient): a
 *    naive loop, 8-30x slower than XNNPACK; now transposes and delegates to
 *    the stock non-transposed XNNPACK path.
 *  - Sum / Mean over all leading axes (bias gradients, BN moments): the
 *    stock kernels transpose first; here XNNPACK AvgPool does the reduction.
 *  - Tile (every broadcastTo): a per-element loop; here block copies.
 *  - Identity, and Cast to the same dtype: the stock kernels copy; here the
 *    buffer is shared (refcounted, like Reshape).
 *  - ResizeNearestNeighborGrad for power-of-two upsampling: AvgPool x s^2.
 * registerWasmGradKernels() also installs the FusedBatchNorm and Mean
 * gradients of fast-gradients.ts (all backends; the stock BN gradient tiles
 * its per-channel terms to the activation's size).
 *
 * The convolution gradients are built from the backend's own fast kernels
 * (XNNPACK Conv2D / DepthwiseConv2dNative / BatchMatMul, Transpose, PadV2,
 * Reverse, Sum, Slice) plus JS copy loops, with several formulations for the
 * regular conv:
 *  - dW 'shift' (unit dilation; the default): x is copied once into padded
 *    stride-phase planes laid out so that every filter tap's im2col matrix
 *    is a strided window of that buffer (a zero-copy alias, read in place by
 *    XNNPACK's GEMM); dW[tap] = X_tap[Ci, K] x dy[K, Co] per image group,
 *    K ~ 1.5k. 1.2-1.4x the forward for 3x3 stride-1 layers.
 *  - dW 'gemm': JS im2col of ~1.5k output positions at a time + GEMM per
 *    chunk (XNNPACK does not block the reduction axis, so one long GEMM
 *    runs ~30% slower). 'conv': one Conv2D of x^T[Ci,H,W,N] with
 *    dy^T[OH,OW,N,Co] as the filter, stride = forward dilation, dilation =
 *    forward stride; the batch becomes the reduction axis.
 *  - dx 'conv': for unit dilation, one XNNPACK Conv2D per stride phase of dy
 *    with that phase's flipped, channel-swapped taps (exactly the forward's
 *    multiply-adds; stride 1 is a single conv whose output is dx, ~1.0x the
 *    forward); dilated: a Conv2D of the zero-interleaved, padded dy. 'gemm':
 *    one GEMM dy x W^T + a JS col2im pass. 1x1 stride-1 layers: one GEMM.
 * Which one is faster depends on shapes and machine, so for shapes where no
 * formulation is known to win the first calls time the candidates and the
 * fastest is kept (setWasmGradStrategy forces one). Depthwise: dx is a
 * depthwise conv of the (zero-interleaved) gradient with the flipped filter,
 * summed over the channel multiplier; dW is one depthwise conv in which the
 * batch is laid out side by side along the width so that the (n, oh, ow)
 * reduction becomes the taps of a large filter.
 *
 * NHWC (plus NCHW for the regular conv gradients), strides, 'valid'/'same'/
 * explicit padding, dilations, any batch size, channel multipliers. Every
 * intermediate is released with backend.disposeData (aliases are
 * unregistered without freeing). No node:* or DOM imports: this file must
 * also run inside a browser worker.
 */
import {
  backend_util,
  BatchMatMul,
  broadcast_util,
  Cast,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  getKernel,
  Identity,
  MaxPoolGrad,
  Mean,
  registerKernel,
  ResizeNearestNeighborGrad,
  Sum,
  Tile,
  unregisterKernel,
  util,
} from '@tensorflow/tfjs-core'
import type {
  KernelConfig,
  KernelFunc,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from '@tensorflow/tfjs-core'
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm'
import { registerFastGradients } from './fast-gradients'

type Conv2DInfo = backend_util.Conv2DInfo
type Pair = [number, number]
type Shape4 = [number, number, number, number]
type ExplicitPad = [Pair, Pair, Pair, Pair]

const BACKEND = 'wasm'

// ---------------------------------------------------------------------------
// Small helpers around the wasm backend's own kernels.
// ---------------------------------------------------------------------------

const kernelCache = new Map<string, KernelFunc>()
/** Stock wasm kernels that this module replaced (name -> original config). */
const stockKernels = new Map<string, KernelConfig>()

/** The wasm backend's own kernel function (never one of ours). */
function wasmKernel(name: string): KernelFunc {
  let fn = kernelCache.get(name)
  if (fn === undefined) {
    const config = stockKernels.get(name) ?? getKernel(name, BACKEND)
    if (config === undefined) {
      throw new Error(
        `wasm-grad-kernels: kernel '${name}' is not registered for the wasm backend ` +
          `(import '@tensorflow/tfjs-backend-wasm' before using these kernels)`,
      )
    }
    fn = config.kernelFunc
    kernelCache.set(name, fn)
  }
  return fn
}

/**
 * Tracks the intermediates of one kernel invocation so they can all be
 * released at the end (everything except the returned output).
 */
class Scope {
  private readonly temps: TensorInfo[] = []

  constructor(readonly backend: BackendWasm) {}

  run(name: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const out = wasmKernel(name)({ inputs, backend: this.backend, attrs }) as TensorInfo
    this.temps.push(out)
    return out
  }

  /** Reinterpret a tensor's buffer with another shape (no copy, no refcount). */
  view(t: TensorInfo, shape: number[]): TensorInfo {
    return { dataId: t.dataId, shape, dtype: t.dtype }
  }

  /** [M,K] x [K,N] -> [M,N] (XNNPACK fully-connected path of BatchMatMul). */
  matmul(a: TensorInfo, b: TensorInfo): TensorInfo {
    return this.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false })
  }

  /** An uninitialised float32 tensor owned by this scope. */
  alloc(shape: number[]): TensorInfo {
    const t = this.backend.makeOutput(shape, 'float32')
    this.temps.push(t)
    return t
  }

  /**
   * A Float32Array view of a tensor in the wasm heap. Only valid until the
   * next allocation (the heap may grow and detach the buffer).
   */
  heap(t: TensorInfo): Float32Array {
    return this.backend.typedArrayFromHeap(t) as Float32Array
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm })
  }

  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    let same = true
    for (let i = 0; i < begin.length; i++) {
      if (begin[i] !== 0 || size[i] !== x.shape[i]) same = false
    }
    return same ? x : this.run('Slice', { x }, { begin, size })
  }

  /**
   * Pad (positive amounts) or crop (negative amounts) each axis;
   * `amounts[i] = [before, after]`.
   */
  padOrCrop(x: TensorInfo, amounts: Pair[]): TensorInfo {
    const begin = amounts.map(([b]) => Math.max(0, -b))
    const size = x.shape.map((d, i) => d - begin[i] - Math.max(0, -amounts[i][1]))
    let t = this.slice(x, begin, size)
    const pads = amounts.map(([b, a]) => [Math.max(0, b), Math.max(0, a)] as Pair)
    if (pads.some(([b, a]) => b > 0 || a > 0)) {
      t = this.run('PadV2', { x: t }, { paddings: pads, constantValue: 0 })
    }
    return t
  }

  /**
   * Inserts (s-1) zeros after every row/column of an NHWC tensor:
   * [N,H,W,C] -> [N,H*sh,W*sw,C]. The trailing zeros are kept.
   */
  zeroInterleave(x: TensorInfo, sh: number, sw: number): TensorInfo {
    if (sh === 1 && sw === 1) return x
    const [n, h, w, c] = x.shape
    const expanded = this.view(x, [n, h, 1, w, 1, c])
    const padded = this.run(
      'PadV2',
      { x: expanded },
      {
        paddings: [
          [0, 0],
          [0, 0],
          [0, sh - 1],
          [0, 0],
          [0, sw - 1],
          [0, 0],
        ],
        constantValue: 0,
      },
    )
    return this.view(padded, [n, h * sh, w * sw, c])
  }

  /**
   * A tensor that aliases `count(shape)` floats of `t` starting at element
   * `offset` (no copy). Must be released with `unalias` before `t` is freed.
   */
  alias(t: TensorInfo, offset: number, shape: number[]): TensorInfo {
    const data = this.backend.dataIdMap.get(t.dataId)
    if (data === undefined) throw new Error('wasm-grad-kernels: alias of an unknown tensor')
    return this.backend.makeOutput(shape, 'float32', data.memoryOffset + offset * 4)
  }

  /** Unregisters an alias made by `alias` (its memory belongs to another tensor). */
  unalias(t: TensorInfo): void {
    const data = this.backend.dataIdMap.get(t.dataId)
    if (data === undefined) return
    // Like backend.disposeData, minus freeing the memory. This also drops
    // any XNNPACK operator cached on the alias.
    this.backend.wasm.tfjs.disposeData(data.id)
    this.backend.dataIdMap.delete(t.dataId)
  }

  /** Frees one intermediate early (before `finish`). */
  dispose(t: TensorInfo): void {
    const i = this.temps.findIndex((u) => u.dataId === t.dataId)
    if (i >= 0) this.temps.splice(i, 1)
    this.backend.disposeData(t.dataId)
  }

  /** Disposes every intermediate except `keep` (which is returned). */
  finish(keep: TensorInfo): TensorInfo {
    let kept = false
    for (const t of this.temps) {
      if (!kept && t.dataId === keep.dataId) {
        kept = true
        continue
      }
      this.backend.disposeData(t.dataId)
    }
    this.temps.length = 0
    return kept ? keep : this.copyOut(keep)
  }

  /** Releases everything (error path). */
  abort(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId)
    this.temps.length = 0
  }

  private copyOut(t: TensorInfo): TensorInfo {
    // `keep` aliases an input (cannot happen with the code paths below, but be
    // safe): hand back an owned copy so the engine's refcounts stay right.
    const out = wasmKernel('Identity')({ inputs: { x: t }, backend: this.backend, attrs: {} })
    return out as TensorInfo
  }
}

function withScope(backend: BackendWasm, body: (s: Scope) => TensorInfo): TensorInfo {
  const s = new Scope(backend)
  let out: TensorInfo
  try {
    out = body(s)
  } catch (e) {
    s.abort()
    throw e
  }
  return s.finish(out)
}

/** A zero-filled float32 output (degenerate shapes with nothing to sum). */
function zeros(backend: BackendWasm, shape: number[]): TensorInfo {
  const out = backend.makeOutput(shape, 'float32')
  ;(backend.typedArrayFromHeap(out) as Float32Array).fill(0)
  return out
}

const isEmpty = (...ts: TensorInfo[]) => ts.some((t) => util.sizeFromShape(t.shape) === 0)

function explicitPad(top: number, bottom: number, left: number, right: number): ExplicitPad {
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ]
}

function assertFloat32(name: string, ...ts: TensorInfo[]): void {
  for (const t of ts) {
    if (t.dtype !== 'float32') {
      throw new Error(`wasm-grad-kernels: ${name} supports float32 only, got ${t.dtype}`)
    }
  }
}

// ---------------------------------------------------------------------------
// Core algorithms (NHWC).
// ---------------------------------------------------------------------------

/** dW[KH,KW,Ci,Co] of a regular convolution. */
function convFilterGradConv(s: Scope, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): TensorInfo {
  const { inHeight: H, inWidth: W, inChannels: Ci, outChannels: Co } = info
  const { outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW } = info
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info
  const { top: pt, left: pl } = info.padInfo

  // Padded input extent actually touched by the forward conv.
  const needH = (KH - 1) * dh + (OH - 1) * sh + 1
  const needW = (KW - 1) * dw + (OW - 1) * sw + 1
  let pb = needH - H - pt
  let pr = needW - W - pl

  // x' = [Ci, H, W, N]: batch -> channels (the GEMM reduction axis).
  let xt = s.transpose(x, [3, 1, 2, 0])
  if (pb < 0 || pr < 0) {
    // Rows/cols past the last window never contribute; drop them.
    xt = s.slice(xt, [0, 0, 0, 0], [Ci, H + Math.min(pb, 0), W + Math.min(pr, 0), xt.shape[3]])
    pb = Math.max(pb, 0)
    pr = Math.max(pr, 0)
  }
  // dy' = [OH, OW, N, Co]: the "filter" of the gradient convolution.
  const dyt = s.transpose(dy, [1, 2, 0, 3])
  const g = s.run(
    'Conv2D',
    { x: xt, filter: dyt },
    {
      strides: [dh, dw],
      dilations: [sh, sw],
      pad: explicitPad(pt, pb, pl, pr),
      dataFormat: 'NHWC',
    },
  ) // [Ci, KH, KW, Co]
  if (Ci === 1) return s.view(g, [KH, KW, 1, Co])
  return s.transpose(g, [1, 2, 0, 3])
}

/**
 * Geometry of a "full" correlation used for input gradients: padding for the
 * (zero-interleaved) gradient and the crop to apply afterwards.
 */
function inputGradGeometry(
  inSize: number,
  outSize: number,
  k: number,
  stride: number,
  dilation: number,
  padBefore: number,
): { before: number; after: number; offset: number } {
  const rows = outSize * stride // zero-interleaved length (incl. trailing zeros)
  const want = (k - 1) * dilation - padBefore
  const before = Math.max(0, want)
  const offset = before - want
  const after = Math.max(0, offset + inSize + (k - 1) * dilation - rows - before)
  return { before, after, offset }
}

/** dx[N,H,W,Ci] of a regular convolution. */
function convInputGradConv(s: Scope, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo): TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci } = info
  const { filterHeight: KH, filterWidth: KW } = info
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info
  const gh = inputGradGeometry(H, info.outHeight, KH, sh, dh, info.padInfo.top)
  const gw = inputGradGeometry(W, info.outWidth, KW, sw, dw, info.padInfo.left)

  // W' [KH,KW,Co,Ci]: spatially flipped, in/out channels swapped.
  const flipped = s.run('Reverse', { x: filter }, { dims: [0, 1] })
  const wt = s.transpose(flipped, [0, 1, 3, 2])
  const d = s.zeroInterleave(dy, sh, sw)
  const g = s.run(
    'Conv2D',
    { x: d, filter: wt },
    {
      strides: [1, 1],
      dilations: [dh, dw],
      pad: explicitPad(gh.before, gh.after, gw.before, gw.after),
      dataFormat: 'NHWC',
    },
  )
  return s.slice(g, [0, gh.offset, gw.offset, 0], [N, H, W, Ci])
}

interface Phase {
  /** First input index of this residue class, and how many there are. */
  first: number
  count: number
  /** Kernel taps of the class: k = r + stride*j, j < taps. */
  r: number
  taps: number
  /** Crop (>= 0) and pad (>= 0) of the output gradient along this axis. */
  cropBefore: number
  cropAfter: number
  padBefore: number
  padAfter: number
}

/**
 * Sub-pixel decomposition of an input gradient along one axis (unit
 * dilation): the inputs i with (i + pad) % stride = r only see the taps
 * k = r + stride*j, and dx[first + stride*a'] = sum_j dy[a0 + a' - j] W[k_j],
 * a stride-1 correlation of dy with those taps reversed.
 */
function phases(inSize: number, outSize: number, k: number, stride: number, pad: number): Phase[] {
  const out: Phase[] = []
  for (let r = 0; r < stride; r++) {
    const taps = r < k ? Math.ceil((k - r) / stride) : 0
    const a0 = Math.ceil((pad - r) / stride)
    const a1 = Math.floor((inSize - 1 - r + pad) / stride)
    const count = a1 - a0 + 1
    if (count <= 0) continue
    const before = taps - 1 - a0
    const after = count + taps - 1 - outSize - before
    out.push({
      first: r - pad + stride * a0,
      count,
      r,
      taps,
      cropBefore: Math.max(0, -before),
      cropAfter: Math.max(0, -after),
      padBefore: Math.max(0, before),
      padAfter: Math.max(0, after),
    })
  }
  return out
}

/**
 * dx[N,H,W,Ci] of a regular convolution with unit dilation, as one XNNPACK
 * Conv2D per stride phase (sh*sw of them) of dy with the phase's flipped,
 * channel-swapped taps: exactly the forward's multiply-adds, no
 * zero-interleaving. Stride 1 is a single convolution whose output is dx.
 */
function convInputGradPhases(s: Scope, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo): TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outChannels: Co } = info
  const { outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW } = info
  const { strideHeight: sh, strideWidth: sw } = info
  const rowsP = phases(H, OH, KH, sh, info.padInfo.top)
  const colsP = phases(W, OW, KW, sw, info.padInfo.left)
  const parts: { g: TensorInfo; ph: Phase; pw: Phase }[] = []
  let covered = 0
  for (const ph of rowsP) {
    for (const pw of colsP) {
      const inRows = OH - ph.cropBefore - ph.cropAfter
      const inCols = OW - pw.cropBefore - pw.cropAfter
      if (ph.taps === 0 || pw.taps === 0 || inRows <= 0 || inCols <= 0) continue
      // f[th, tw, co, ci] = W[r_h + sh*(Jh-1-th), r_w + sw*(Jw-1-tw), ci, co]
      const f = s.alloc([ph.taps, pw.taps, Co, Ci])
      const fv = s.heap(f)
      const wv = s.heap(filter)
      let o = 0
      for (let th = 0; th < ph.taps; th++) {
        const kh = ph.r + sh * (ph.taps - 1 - th)
        for (let tw = 0; tw < pw.taps; tw++) {
          const kw = pw.r + sw * (pw.taps - 1 - tw)
          const base = (kh * KW + kw) * Ci * Co
          for (let co = 0; co < Co; co++) {
            for (let ci = 0, q = base + co; ci < Ci; ci++, q += Co) fv[o++] = wv[q]
          }
        }
      }
      const d = s.slice(dy, [0, ph.cropBefore, pw.cropBefore, 0], [N, inRows, inCols, Co])
      const g = s.run(
        'Conv2D',
        { x: d, filter: f },
        {
          strides: [1, 1],
          dilations: [1, 1],
          pad: explicitPad(ph.padBefore, ph.padAfter, pw.padBefore, pw.padAfter),
          dataFormat: 'NHWC',
        },
      ) // [N, ph.count, pw.count, Ci]
      s.dispose(f)
      if (d !== dy) s.dispose(d)
      parts.push({ g, ph, pw })
      covered += ph.count * pw.count
    }
  }
  if (parts.length === 1 && covered === H * W) return parts[0].g
  const dx = s.alloc([N, H, W, Ci])
  const out = s.heap(dx)
  if (covered !== H * W) out.fill(0)
  for (const { g, ph, pw } of parts) {
    const gv = s.heap(g)
    const rowStep = sh * W * Ci
    const colStep = sw * Ci
    let q = 0
    for (let n = 0; n < N; n++) {
      for (
        let i = 0, rowBase = ((n * H + ph.first) * W + pw.first) * Ci;
        i < ph.count;
        i++, rowBase += rowStep
      ) {
        for (let j = 0, d = rowBase; j < pw.count; j++, d += colStep) {
          for (let c = 0; c < Ci; c++) out[d + c] = gv[q++]
        }
      }
    }
  }
  return dx
}

/** dx of a 1x1, stride-1, unpadded convolution: dy[P,Co] x W^T[Co,Ci]. */
function conv1x1InputGrad(s: Scope, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo): TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outChannels: Co } = info
  const wt = s.alloc([Co, Ci])
  const tv = s.heap(wt)
  const wv = s.heap(filter)
  for (let co = 0, o = 0; co < Co; co++) {
    for (let ci = 0, q = co; ci < Ci; ci++, q += Co) tv[o++] = wv[q]
  }
  return s.view(s.matmul(s.view(dy, [N * H * W, Co]), wt), [N, H, W, Ci])
}

const is1x1Pointwise = (info: Conv2DInfo): boolean =>
  info.filterHeight === 1 &&
  info.filterWidth === 1 &&
  info.strideHeight === 1 &&
  info.strideWidth === 1 &&
  info.padInfo.top === 0 &&
  info.padInfo.left === 0 &&
  info.outHeight === info.inHeight &&
  info.outWidth === info.inWidth

/**
 * Valid output range [lo, hi) for positions o*stride + offset in [0, size).
 */
function validRange(count: number, stride: number, offset: number, size: number): Pair {
  let lo = offset >= 0 ? 0 : Math.ceil(-offset / stride)
  let hi = size - offset <= 0 ? 0 : Math.ceil((size - offset) / stride)
  if (lo > count) lo = count
  if (hi > count) hi = count
  if (hi < lo) hi = lo
  return [lo, hi]
}

/**
 * Output positions per GEMM chunk in the 'gemm' filter gradient: the GEMM's
 * reduction length. XNNPACK's GEMM does not block the reduction axis, so one
 * GEMM over all N*OH*OW positions streams its operands from memory; chunks of
 * ~1-2k positions keep the packed dy block in L2 and run at the forward
 * convolution's GEMM speed.
 */
const DW_CHUNK = 1536

/**
 * dW via im2col + chunked GEMM: for every chunk of output rows,
 * colsT[KH*KW*Ci, Pc] x dy[Pc, Co], summed over chunks. The im2col gather
 * is a JS copy loop over the (transposed) input into one reused buffer; the
 * dy chunk is an alias of dy (no copy).
 */
function convFilterGradGemm(s: Scope, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outChannels: Co } = info
  const { outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW } = info
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info
  const { top: pt, left: pl } = info.padInfo
  const KKC = KH * KW * Ci
  const rows = N * OH
  const nChunks = Math.max(1, Math.round((rows * OW) / DW_CHUNK))
  const rowsPer = Math.ceil(rows / nChunks)

  // Valid output ranges per kernel row / column.
  const ohLo = new Int32Array(KH)
  const ohHi = new Int32Array(KH)
  for (let kh = 0; kh < KH; kh++) [ohLo[kh], ohHi[kh]] = validRange(OH, sh, kh * dh - pt, H)
  const owLo = new Int32Array(KW)
  const owHi = new Int32Array(KW)
  for (let kw = 0; kw < KW; kw++) [owLo[kw], owHi[kw]] = validRange(OW, sw, kw * dw - pl, W)

  // [Ci, N, H, W] so each gathered run is contiguous in the source.
  const xt = Ci === 1 ? x : s.transpose(x, [3, 0, 1, 2])
  const cols = s.alloc([KKC * rowsPer * OW])
  let acc: TensorInfo | null = null
  for (let g0 = 0; g0 < rows; g0 += rowsPer) {
    const g1 = Math.min(rows, g0 + rowsPer)
    const Pc = (g1 - g0) * OW
    im2colRowsT(s.heap(cols), s.heap(xt), info, g0, g1, ohLo, ohHi, owLo, owHi)
    const b = s.alias(dy, g0 * OW * Co, [Pc, Co])
    let g: TensorInfo
    try {
      g = s.matmul(s.view(cols, [KKC, Pc]), b) // [KH*KW*Ci, Co]
    } finally {
      s.unalias(b)
    }
    if (acc === null) {
      acc = g
    } else {
      const av = s.heap(acc)
      const gv = s.heap(g)
      for (let i = 0; i < av.length; i++) av[i] += gv[i]
      s.dispose(g)
    }
  }
  return s.view(acc as TensorInfo, [KH, KW, Ci, Co])
}

/**
 * Target GEMM reduction length (virtual positions) per image group in
 * 'shift' / pointwise dW: long enough to amortise XNNPACK's per-call
 * packing of the right-hand operand, short enough to stay in L2.
 */
const SHIFT_K = 1536

/** One stride phase of x along an axis: phase-plane indices [lo, hi) hold data. */
interface AxisPhases {
  lo: number[]
  hi: number[]
  /** Virtual grid extent (>= the output size): rows per image / row pitch. */
  extent: number
  /** Most data-free indices read before / after the data of any phase. */
  lead: number
}

/**
 * Along one axis: phase r of the padded input holds x at plane indices i
 * with 0 <= i*stride + r - pad < size. Tap k = q*stride + r reads plane
 * index o + q for output o. Each phase's data is followed by zeros up to
 * `extent`, enough for every read past the data (o + q < out + Q) and, by
 * wrapping into the previous row/image/block, every read before it.
 */
function axisPhases(size: number, out: number, k: number, stride: number, pad: number): AxisPhases {
  const Q = Math.floor((k - 1) / stride)
  const lo: number[] = []
  const hi: number[] = []
  let data = 0
  let lead = 0
  let trail = 0
  for (let r = 0; r < Math.min(stride, k); r++) {
    const [l, h] = validRange(size + pad + 1, stride, r - pad, size)
    lo.push(l)
    hi.push(h)
    data = Math.max(data, h - l)
    lead = Math.max(lead, l)
    trail = Math.max(trail, out + Q - h)
  }
  // Every phase gets at least max(lead, trail) zeros after its data: reads
  // before the data wrap into the zeros of whatever block precedes it.
  return { lo, hi, extent: Math.max(out, data + Math.max(lead, trail)), lead }
}

/**
 * dW via shifted views (unit dilation), no im2col. x is copied once into
 * stride-phase planes, [group][phase][Ci][image][Rimg][Wp], each row's data
 * followed by zeros (shared between neighbouring rows/images), so that for
 * every tap (kh, kw) the matrix X_tap[ci, p'] = x_padded[n, oh*sh+kh,
 * ow*sw+kw, ci] over "virtual" positions p' = (n, oh, ow') of an Rimg x Wp
 * grid is one strided window of that buffer: an alias that XNNPACK's GEMM
 * reads in place. dy is zero-padded to the same grid (the extra positions
 * add nothing), so dW[kh,kw] = sum_groups X_tap[Ci, K] x dy[K, Co], with
 * one packed dy block per image group shared by all taps. 1x1 layers with
 * Co > Ci use dW^T = dy^T x (x aliased) instead: XNNPACK re-packs the
 * right-hand operand on every call, so that should be the narrower one.
 */
function convFilterGradShift(s: Scope, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outChannels: Co } = info
  const { outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW } = info
  const { strideHeight: sh, strideWidth: sw } = info
  if (is1x1Pointwise(info) && Co > Ci) return pointwiseFilterGradT(s, x, dy, info)
  const rows = axisPhases(H, OH, KH, sh, info.padInfo.top)
  const cols = axisPhases(W, OW, KW, sw, info.padInfo.left)
  const Rimg = rows.extent
  const Wp = cols.extent
  const plane = Rimg * Wp
  const PH = rows.lo.length
  const PW = cols.lo.length
  const ng = Math.max(1, Math.min(N, Math.round(SHIFT_K / plane)))
  const lead = rows.lead * Wp + cols.lead
  const trail = Math.floor((KH - 1) / sh) * Wp + Math.floor((KW - 1) / sw)

  const xt = s.alloc([lead + N * PH * PW * Ci * plane + trail])
  const padDy = Rimg !== OH || Wp !== OW
  const dyp = padDy ? s.alloc([N * plane * Co]) : dy
  const dW = s.alloc([KH, KW, Ci, Co])
  {
    const xv = s.heap(x)
    const tv = s.heap(xt)
    tv.fill(0, 0, lead)
    let o = lead
    const rowStride = W * Ci
    for (let n0 = 0; n0 < N; n0 += ng) {
      const n1 = Math.min(N, n0 + ng)
      for (let ph = 0; ph < PH; ph++) {
        const iLo = rows.lo[ph]
        const dRows = rows.hi[ph] - iLo
        const h0 = iLo * sh + ph - info.padInfo.top // first source row
        for (let pw = 0; pw < PW; pw++) {
          const jLo = cols.lo[pw]
          const dCols = cols.hi[pw] - jLo
          const w0 = jLo * sw + pw - info.padInfo.left // first source column
          const colStep = sw * Ci
          for (let ci = 0; ci < Ci; ci++) {
            for (let n = n0; n < n1; n++) {
              const imgEnd = o + plane
              for (
                let i = 0, si0 = (n * H + h0) * rowStride + w0 * Ci + ci;
                i < dRows;
                i++, si0 += sh * rowStride
              ) {
                for (let j = 0, si = si0; j < dCols; j++, si += colStep) tv[o++] = xv[si]
                for (let j = dCols; j < Wp; j++) tv[o++] = 0
              }
              tv.fill(0, o, imgEnd)
              o = imgEnd
            }
          }
        }
      }
    }
    tv.fill(0, o, o + trail)
    if (padDy) {
      const dv = s.heap(dy)
      const pv = s.heap(dyp)
      const rowLen = OW * Co
      let q = 0
      for (let n = 0; n < N; n++) {
        const imgEnd = q + plane * Co
        for (let oh = 0; oh < OH; oh++) {
          const src = (n * OH + oh) * rowLen
          pv.set(dv.subarray(src, src + rowLen), q)
          pv.fill(0, q + rowLen, q + Wp * Co)
          q += Wp * Co
        }
        pv.fill(0, q, imgEnd)
        q = imgEnd
      }
    }
    s.heap(dW).fill(0)
  }
  for (let n0 = 0; n0 < N; n0 += ng) {
    const n1 = Math.min(N, n0 + ng)
    const K = (n1 - n0) * plane
    const groupBase = lead + n0 * PH * PW * Ci * plane
    const b = s.alias(dyp, n0 * plane * Co, [K, Co])
    try {
      for (let kh = 0; kh < KH; kh++) {
        const ph = kh % sh
        const qh = (kh - ph) / sh
        for (let kw = 0; kw < KW; kw++) {
          const pw = kw % sw
          const qw = (kw - pw) / sw
          const off = groupBase + (ph * PW + pw) * Ci * K + (qh - rows.lo[ph]) * Wp + (qw - cols.lo[pw])
          const a = s.alias(xt, off, [Ci, K])
          let g: TensorInfo
          try {
            g = s.matmul(a, b) // [Ci, Co]
          } finally {
            s.unalias(a)
          }
          const gv = s.heap(g)
          const dv = s.heap(dW)
          for (let i = 0, d = (kh * KW + kw) * Ci * Co; i < gv.length; i++, d++) dv[d] += gv[i]
          s.dispose(g)
        }
      }
    } finally {
      s.unalias(b)
    }
  }
  return dW
}

/**
 * dW[1,1,Ci,Co] of a pointwise conv with Co > Ci: per image group,
 * dW^T[Co,Ci] += dy^T[Co,K] x x[K,Ci], with x aliased in place as the
 * (narrower, re-packed) right-hand operand and dy transposed in JS.
 */
function pointwiseFilterGradT(s: Scope, x: TensorInfo, dy: TensorInfo, info: Conv2DInfo): TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outChannels: Co } = info
  const plane = H * W
  const ng = Math.max(1, Math.min(N, Math.round(SHIFT_K / plane)))
  const at = s.alloc([Co * ng * plane])
  const acc = new Float32Array(Co * Ci)
  for (let n0 = 0; n0 < N; n0 += ng) {
    const n1 = Math.min(N, n0 + ng)
    const K = (n1 - n0) * plane
    {
      const dv = s.heap(dy)
      const tv = s.heap(at)
      const base = n0 * plane * Co
      for (let co = 0, o = 0; co < Co; co++) {
        for (let p = 0, q = base + co; p < K; p++, q += Co) tv[o++] = dv[q]
      }
    }
    const b = s.alias(x, n0 * plane * Ci, [K, Ci])
    let g: TensorInfo
    try {
      g = s.matmul(s.view(at, [Co, K]), b) // [Co, Ci]
    } finally {
      s.unalias(b)
    }
    const gv = s.heap(g)
    for (let i = 0; i < acc.length; i++) acc[i] += gv[i]
    s.dispose(g)
  }
  const dW = s.alloc([1, 1, Ci, Co])
  const out = s.heap(dW)
  for (let ci = 0, o = 0; ci < Ci; ci++) {
    for (let co = 0, q = ci; co < Co; co++, q += Ci) out[o++] = acc[q]
  }
  return dW
}

/**
 * Transposed im2col of output rows [g0, g1) (g = n*OH + oh) from
 * xt[Ci,N,H,W]: dst[(kh*KW + kw)*Ci + ci][p], p = (g-g0)*OW + ow.
 */
function im2colRowsT(
  dst: Float32Array,
  src: Float32Array,
  info: Conv2DInfo,
  g0: number,
  g1: number,
  ohLo: Int32Array,
  ohHi: Int32Array,
  owLo: Int32Array,
  owHi: Int32Array,
): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci } = info
  const { outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW } = info
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info
  const { top: pt, left: pl } = info.padInfo
  const n0 = Math.floor(g0 / OH)
  const oh0 = g0 - n0 * OH
  let o = 0
  for (let kh = 0; kh < KH; kh++) {
    const lo = ohLo[kh]
    const hi = ohHi[kh]
    for (let kw = 0; kw < KW; kw++) {
      const colOff = kw * dw - pl
      const wLo = owLo[kw]
      const wHi = owHi[kw]
      for (let ci = 0; ci < Ci; ci++) {
        const chan = ci * N
        for (let g = g0, n = n0, oh = oh0; g < g1; g++) {
          const rowEnd = o + OW
          if (oh < lo || oh >= hi) {
            dst.fill(0, o, rowEnd)
          } else {
            const rowStart = ((chan + n) * H + oh * sh + kh * dh - pt) * W + colOff
            // (explicit loops: the runs are short, fill() calls cost more)
            for (let e = o + wLo; o < e;) dst[o++] = 0
            if (sw === 1) {
              for (let si = rowStart + wLo, e = rowStart + wHi; si < e; si++) dst[o++] = src[si]
            } else {
              for (let ow = wLo, si = rowStart + wLo * sw; ow < wHi; ow++, si += sw) dst[o++] = src[si]
            }
            while (o < rowEnd) dst[o++] = 0
          }
          o = rowEnd
          if (++oh === OH) {
            oh = 0
            n++
          }
        }
      }
    }
  }
}

/**
 * dx via one GEMM + col2im. cols[N*OH*OW, KH*KW*Ci] = dy x W^T, with the
 * small filter as XNNPACK's "weights" operand (re-packing a big operand on
 * every call costs more than the GEMM), then a JS pass folds the columns
 * back into dx. No zero-padding/zero-interleave waste, so this wins for few
 * input channels, small images and strides.
 */
function convInputGradGemm(s: Scope, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo): TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outChannels: Co } = info
  const P = N * info.outHeight * info.outWidth
  const KC = info.filterHeight * info.filterWidth * Ci

  const wt = s.transpose(s.view(filter, [KC, Co]), [1, 0]) // [Co, KH*KW*Ci]
  const cols = s.matmul(s.view(dy, [P, Co]), wt) // [N*OH*OW, KH*KW*Ci]
  const dx = s.alloc([N, H, W, Ci])
  if (Ci === 1) col2imGather(s.heap(dx), s.heap(cols), info)
  else col2imScatter(s.heap(dx), s.heap(cols), info)
  return dx
}

/**
 * For every input position i along one axis, the (kernel tap, output
 * position) pairs that read it: o*stride + k*dilation - pad = i.
 */
function tapLists(
  inSize: number,
  outSize: number,
  k: number,
  stride: number,
  dilation: number,
  pad: number,
): { start: Int32Array; tap: Int32Array; pos: Int32Array } {
  const start = new Int32Array(inSize + 1)
  const tap: number[] = []
  const pos: number[] = []
  for (let i = 0; i < inSize; i++) {
    start[i] = tap.length
    for (let kk = 0; kk < k; kk++) {
      const t = i + pad - kk * dilation
      if (t < 0 || t % stride !== 0 || t / stride >= outSize) continue
      tap.push(kk)
      pos.push(t / stride)
    }
  }
  start[inSize] = tap.length
  return { start, tap: Int32Array.from(tap), pos: Int32Array.from(pos) }
}

/**
 * col2im for a single input channel, as a gather: each dx element sums its
 * (at most KH*KW) column entries in a register and is written once.
 * cols is [N*OH*OW, KH*KW]; dx is [N,H,W,1].
 */
function col2imGather(out: Float32Array, cv: Float32Array, info: Conv2DInfo): void {
  const { batchSize: N, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = info
  const { filterHeight: KH, filterWidth: KW } = info
  const KK = KH * KW
  const rows = tapLists(H, OH, KH, info.strideHeight, info.dilationHeight, info.padInfo.top)
  const cols = tapLists(W, OW, KW, info.strideWidth, info.dilationWidth, info.padInfo.left)
  const colOff = new Int32Array(cols.tap.length)
  for (let q = 0; q < colOff.length; q++) colOff[q] = cols.pos[q] * KK + cols.tap[q]
  const rowOff = new Int32Array(rows.tap.length)
  const rStart = rows.start
  const cStart = cols.start
  let d = 0
  for (let n = 0; n < N; n++) {
    for (let r = 0; r < rowOff.length; r++) {
      rowOff[r] = (n * OH + rows.pos[r]) * OW * KK + rows.tap[r] * KW
    }
    for (let ih = 0; ih < H; ih++) {
      const r0 = rStart[ih]
      const r1 = rStart[ih + 1]
      for (let iw = 0; iw < W; iw++, d++) {
        const q0 = cStart[iw]
        const q1 = cStart[iw + 1]
        let acc = 0
        for (let r = r0; r < r1; r++) {
          const ro = rowOff[r]
          for (let q = q0; q < q1; q++) acc += cv[ro + colOff[q]]
        }
        out[d] = acc
      }
    }
  }
}

/**
 * col2im as a scatter-add over column rows. For unit dilation the KW taps of
 * a kernel row cover KW*Ci contiguous floats in both cols and dx (NHWC).
 * cols is [N*OH*OW, KH*KW*Ci]; dx is [N,H,W,Ci].
 */
function col2imScatter(out: Float32Array, cv: Float32Array, info: Conv2DInfo): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci } = info
  const { outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW } = info
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info
  const { top: pt, left: pl } = info.padInfo
  const patch = KH * KW * Ci
  // Valid kernel-column range [lo, hi) for every output column.
  const kwLo = new Int32Array(OW)
  const kwHi = new Int32Array(OW)
  for (let ow = 0; ow < OW; ow++) {
    const r = validRange(KW, dw, ow * sw - pl, W)
    kwLo[ow] = r[0]
    kwHi[ow] = r[1]
  }
  out.fill(0)
  let c = 0
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt
      for (let ow = 0; ow < OW; ow++, c += patch) {
        const iw0 = ow * sw - pl
        const lo = kwLo[ow]
        const hi = kwHi[ow]
        for (let kh = 0; kh < KH; kh++) {
          const ih = ih0 + kh * dh
          if (ih < 0 || ih >= H) continue
          const src = c + kh * KW * Ci
          const dst = ((n * H + ih) * W + iw0) * Ci
          if (dw === 1) {
            for (let j = lo * Ci, e = hi * Ci; j < e; j++) out[dst + j] += cv[src + j]
          } else {
            for (let kw = lo; kw < hi; kw++) {
              const dk = dst + kw * dw * Ci
              const sk = src + kw * Ci
              for (let j = 0; j < Ci; j++) out[dk + j] += cv[sk + j]
            }
          }
        }
      }
    }
  }
}

/** dx[N,H,W,C] of a depthwise convolution (filter [KH,KW,C,M]). */
function depthwiseInputGrad(s: Scope, dy: TensorInfo, filter: TensorInfo, info: Conv2DInfo): TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C } = info
  const { filterHeight: KH, filterWidth: KW } = info
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info
  const M = filter.shape[3]
  const gh = inputGradGeometry(H, info.outHeight, KH, sh, dh, info.padInfo.top)
  const gw = inputGradGeometry(W, info.outWidth, KW, sw, dw, info.padInfo.left)

  // Each of the C*M output channels correlates with its own flipped tap set.
  const flipped = s.run('Reverse', { x: filter }, { dims: [0, 1] })
  const f = s.view(flipped, [KH, KW, C * M, 1])
  const d = s.zeroInterleave(dy, sh, sw)
  let g = s.run(
    'DepthwiseConv2dNative',
    { x: d, filter: f },
    {
      strides: [1, 1],
      dilations: [dh, dw],
      pad: explicitPad(gh.before, gh.after, gw.before, gw.after),
    },
  ) // [N, H', W', C*M]
  if (M > 1) {
    const [n, hh, ww] = g.shape
    g = s.run('Sum', { x: s.view(g, [n, hh, ww, C, M]) }, { axis: [4], keepDims: false })
  }
  return s.slice(g, [0, gh.offset, gw.offset, 0], [N, H, W, C])
}

/** dW[KH,KW,C,M] of a depthwise convolution. */
function depthwiseFilterGrad(
  s: Scope,
  x: TensorInfo,
  dy: TensorInfo,
  info: Conv2DInfo,
  M: number,
): TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C } = info
  const { outHeight: OH, outWidth: OW, filterHeight: KH, filterWidth: KW } = info
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info
  const { top: pt, left: pl } = info.padInfo

  const needH = (KH - 1) * dh + (OH - 1) * sh + 1
  const needW = (KW - 1) * dw + (OW - 1) * sw + 1
  // Each sample gets a block of `blk` input columns (a multiple of the
  // stride) and `wb` filter columns, so that sample n's taps land in sample
  // n's block: col = kw*dw + (n*wb + ow)*sw = n*blk + kw*dw + ow*sw.
  const wb = Math.ceil(needW / sw)
  const blk = wb * sw

  // x: [N,H,W,C] -> padded/cropped [N, needH, blk, C] -> [1, needH, N*blk, C]
  const xp = s.padOrCrop(x, [
    [0, 0],
    [pt, needH - H - pt],
    [pl, blk - W - pl],
    [0, 0],
  ])
  const xr = N === 1 ? xp : s.transpose(xp, [1, 0, 2, 3])
  const xin = s.view(xr, [1, needH, N * blk, C])

  // dy: [N,OH,OW,C*M] -> [N,OH,wb,C*M] -> [OH,N,wb,C*M] -> filter [OH,N*wb,C,M]
  const dyp = s.padOrCrop(dy, [
    [0, 0],
    [0, 0],
    [0, wb - OW],
    [0, 0],
  ])
  const dyr = N === 1 ? dyp : s.transpose(dyp, [1, 0, 2, 3])
  const f = s.view(dyr, [OH, N * wb, C, M])

  // The last sample's trailing (wb-OW) filter columns are zeros; give them
  // virtual zero input to land on.
  const g = s.run(
    'DepthwiseConv2dNative',
    { x: xin, filter: f },
    {
      strides: [dh, dw],
      dilations: [sh, sw],
      pad: explicitPad(0, 0, 0, (wb - OW) * sw),
    },
  ) // [1, KH, KW', C*M]
  const cut = s.slice(g, [0, 0, 0, 0], [1, KH, KW, C * M])
  return s.view(cut, [KH, KW, C, M])
}

// ---------------------------------------------------------------------------
// Algorithm choice. Which of the two formulations is faster depends on the
// shapes and on the machine/wasm build in ways a static cost model gets wrong
// (XNNPACK's indirect GEMM with a huge kernel vs a JS gather/scatter + plain
// GEMM), so for every new shape the first few calls alternate between the two
// and time them; the faster one is used from then on. Both are exact (they
// differ only in float summation order).
// ---------------------------------------------------------------------------

/**
 * 'conv' / 'gemm': the two formulations described in the header (both
 * gradients). 'shift' (filter gradient only, unit dilation): GEMMs over
 * shifted in-place views of a phase-planar copy of x; for the input
 * gradient it means the same as 'conv'.
 */
export type GradStrategy = 'auto' | 'conv' | 'gemm' | 'shift'
type Choice = 'conv' | 'gemm' | 'shift'
const strategy: { filter: GradStrategy; input: GradStrategy } = { filter: 'auto', input: 'auto' }

/**
 * Forces an algorithm for Conv2DBackpropFilter / Conv2DBackpropInput
 * ('auto' = time the candidates on the first calls of each shape, keep the
 * fastest). Meant for tests and benchmarks.
 */
export function setWasmGradStrategy(opts: { filter?: GradStrategy; input?: GradStrategy }): void {
  if (opts.filter) strategy.filter = opts.filter
  if (opts.input) strategy.input = opts.input
}

/** Timed runs per candidate before the fastest is kept for good... */
const TRIALS_PER_CHOICE = 3
/** ...unless, after this many each, one is faster than all others by EARLY_MARGIN. */
const EARLY_TRIALS = 1
const EARLY_MARGIN = 1.25
const MAX_TUNED_SHAPES = 512
/**
 * 'auto' never picks the input gradient's 'gemm' when its column matrix
 * would exceed this many floats (256 MB): the wasm heap is limited and such
 * layers are compute-bound, where the XNNPACK convolution formulation is the
 * right one.
 */
const MAX_AUTO_COLS = 64 * 1024 * 1024

interface Tuning {
  calls: number
  best: Map<Choice, number>
  runs: Map<Choice, number>
  winner: Choice | null
}
const tunings = new Map<string, Tuning>()

/**
 * Untimed calls (round robin) before timing starts. The JS loops are shared
 * by all shapes, so after the first shapes they are JIT-warm already; one
 * call keeps the first allocation of a shape out of the timings.
 */
const WARMUP_CALLS = 1

const now: () => number =
  typeof performance !== 'undefined' && typeof performance.now === 'function'
    ? () => performance.now()
    : () => Date.now()

function tuneKey(kind: string, info: Conv2DInfo): string {
  return [
    kind,
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
    info.outHeight,
    info.outWidth,
  ].join(',')
}

/**
 * Runs `run(choice)` with the chosen (or currently being timed) algorithm.
 * `candidates[0]` is the first guess. `run` must accept every Choice.
 */
function autotuned(
  forced: Choice | 'auto',
  key: string,
  candidates: Choice[],
  run: (choice: Choice) => TensorInfo,
): TensorInfo {
  if (forced !== 'auto') return run(forced)
  if (candidates.length === 1) return run(candidates[0])
  let t = tunings.get(key)
  if (t === undefined) {
    if (tunings.size >= MAX_TUNED_SHAPES) tunings.clear()
    t = { calls: 0, best: new Map(), runs: new Map(), winner: null }
    for (const c of candidates) {
      t.best.set(c, Infinity)
      t.runs.set(c, 0)
    }
    tunings.set(key, t)
  }
  if (t.winner !== null) return run(t.winner)
  const call = t.calls++
  if (call < WARMUP_CALLS) return run(candidates[call % candidates.length])
  // The candidate with the fewest timed runs (ties: earlier in the list).
  let choice = candidates[0]
  for (const c of candidates) if ((t.runs.get(c) ?? 0) < (t.runs.get(choice) ?? 0)) choice = c
  const t0 = now()
  const out = run(choice)
  const dt = now() - t0
  t.runs.set(choice, (t.runs.get(choice) ?? 0) + 1)
  if (dt < (t.best.get(choice) ?? Infinity)) t.best.set(choice, dt)
  const minRuns = Math.min(...candidates.map((c) => t.runs.get(c) ?? 0))
  if (minRuns >= EARLY_TRIALS) {
    const ranked = [...candidates].sort((a, b) => (t.best.get(a) ?? 0) - (t.best.get(b) ?? 0))
    const first = t.best.get(ranked[0]) ?? 0
    const second = t.best.get(ranked[1]) ?? 0
    if (minRuns >= TRIALS_PER_CHOICE || first * EARLY_MARGIN < second) t.winner = ranked[0]
  }
  return out
}

/** Which algorithm `auto` settled on for each shape seen so far (for benchmarks). */
export function wasmGradTuning(): Record<string, string> {
  const r: Record<string, string> = {}
  for (const [k, t] of tunings) {
    const times = [...t.best].map(([c, ms]) => `${c} ${ms.toFixed(2)}ms`).join(', ')
    r[k] = `${t.winner ?? 'tuning'} (${times})`
  }
  return r
}

// ---------------------------------------------------------------------------
// Kernel functions.
// ---------------------------------------------------------------------------

interface KernelArgs {
  inputs: NamedTensorInfoMap
  backend: unknown
  attrs?: NamedAttrMap
}

type ConvAttrs = {
  strides: number | Pair
  pad: 'valid' | 'same' | number | ExplicitPad
  dataFormat?: 'NHWC' | 'NCHW'
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
  dilations?: number | Pair
  filterShape?: Shape4
  inputShape?: Shape4
}

const NHWC_TO_NCHW = [0, 3, 1, 2]
const NCHW_TO_NHWC = [0, 2, 3, 1]

function toNhwcShape(shape: number[], dataFormat: string | undefined): Shape4 {
  if (dataFormat === 'NCHW') return [shape[0], shape[2], shape[3], shape[1]]
  return shape as Shape4
}

function nhwcPad(pad: ConvAttrs['pad'], dataFormat: string | undefined): ConvAttrs['pad'] {
  if (dataFormat === 'NCHW' && Array.isArray(pad)) {
    // explicit padding is given in the data format's axis order
    return [pad[0], pad[2], pad[3], pad[1]] as ExplicitPad
  }
  return pad
}

/** The convolution's geometry in NHWC terms, whatever the data format of the call. */
function nhwcConvInfo(inputShape: readonly number[], filterShape: Shape4, attrs: ConvAttrs) {
  return backend_util.computeConv2DInfo(
    toNhwcShape(inputShape as number[], attrs.dataFormat),
    filterShape,
    attrs.strides,
    attrs.dilations ?? 1,
    nhwcPad(attrs.pad, attrs.dataFormat),
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  )
}

/**
 * Stride-1 spatial filters whose 'shift' grid wastes little (<= 30% extra
 * positions): measured 1.2-1.35x the forward there, vs 1.45-2x for 'conv'
 * and 'gemm', so they skip the timing trials.
 */
function shiftIsClearWinner(info: Conv2DInfo): boolean {
  if (info.strideHeight !== 1 || info.strideWidth !== 1) return false
  if (info.filterHeight * info.filterWidth === 1) return false
  const rows = axisPhases(info.inHeight, info.outHeight, info.filterHeight, 1, info.padInfo.top)
  const cols = axisPhases(info.inWidth, info.outWidth, info.filterWidth, 1, info.padInfo.left)
  return rows.extent * cols.extent <= 1.3 * info.outHeight * info.outWidth
}

const conv2DBackpropFilterKernel = (args: KernelArgs): TensorInfo => {
  const backend = args.backend as BackendWasm
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo }
  const attrs = args.attrs as unknown as ConvAttrs
  assertFloat32(Conv2DBackpropFilter, x, dy)
  const nchw = attrs.dataFormat === 'NCHW'
  const info = nhwcConvInfo(x.shape, attrs.filterShape as Shape4, attrs)
  if (isEmpty(x, dy)) return zeros(backend, attrs.filterShape as Shape4)
  const unitDilation = info.dilationHeight === 1 && info.dilationWidth === 1
  const candidates: Choice[] = !unitDilation
    ? ['gemm', 'conv']
    : shiftIsClearWinner(info)
      ? ['shift']
      : ['shift', 'conv', 'gemm']
  return autotuned(strategy.filter, tuneKey('filter', info), candidates, (choice) =>
    withScope(backend, (s) => {
      const xn = nchw ? s.transpose(x, NCHW_TO_NHWC) : x
      const dyn = nchw ? s.transpose(dy, NCHW_TO_NHWC) : dy
      if (choice === 'shift' && unitDilation) return convFilterGradShift(s, xn, dyn, info)
      return choice === 'gemm' ? convFilterGradGemm(s, xn, dyn, info) : convFilterGradConv(s, xn, dyn, info)
    }),
  )
}

const conv2DBackpropInputKernel = (args: KernelArgs): TensorInfo => {
  const backend = args.backend as BackendWasm
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo }
  const attrs = args.attrs as unknown as ConvAttrs
  assertFloat32(Conv2DBackpropInput, dy, filter)
  const nchw = attrs.dataFormat === 'NCHW'
  const info = nhwcConvInfo(attrs.inputShape as number[], filter.shape as Shape4, attrs)
  if (isEmpty(dy, filter)) return zeros(backend, attrs.inputShape as Shape4)
  if (is1x1Pointwise(info)) {
    // A single GEMM; neither formulation can beat it.
    return withScope(backend, (s) => {
      const dyn = nchw ? s.transpose(dy, NCHW_TO_NHWC) : dy
      const dx = conv1x1InputGrad(s, dyn, filter, info)
      return nchw ? s.transpose(dx, NHWC_TO_NCHW) : dx
    })
  }
  const cols =
    info.filterHeight * info.filterWidth * info.inChannels * info.batchSize * info.outHeight * info.outWidth
  const stride1 = info.strideHeight === 1 && info.strideWidth === 1
  const unitDilation = info.dilationHeight === 1 && info.dilationWidth === 1
  // Stride 1: the phase formulation is a single forward-sized conv; nothing beats it.
  const candidates: Choice[] = cols > MAX_AUTO_COLS || (stride1 && unitDilation) ? ['conv'] : ['conv', 'gemm']
  return autotuned(strategy.input, tuneKey('input', info), candidates, (choice) =>
    withScope(backend, (s) => {
      const dyn = nchw ? s.transpose(dy, NCHW_TO_NHWC) : dy
      const dx =
        choice === 'gemm'
          ? convInputGradGemm(s, dyn, filter, info) // ('shift' = 'conv')
          : info.dilationHeight === 1 && info.dilationWidth === 1
            ? convInputGradPhases(s, dyn, filter, info)
            : convInputGradConv(s, dyn, filter, info)
      return nchw ? s.transpose(dx, NHWC_TO_NCHW) : dx
    }),
  )
}

const depthwiseBackpropFilterKernel = (args: KernelArgs): TensorInfo => {
  const backend = args.backend as BackendWasm
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo }
  const attrs = args.attrs as unknown as ConvAttrs
  assertFloat32(DepthwiseConv2dNativeBackpropFilter, x, dy)
  const filterShape = attrs.filterShape as Shape4
  const info = backend_util.computeConv2DInfo(
    x.shape as Shape4,
    filterShape,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  )
  if (isEmpty(x, dy)) return zeros(backend, filterShape)
  return withScope(backend, (s) => depthwiseFilterGrad(s, x, dy, info, filterShape[3]))
}

const depthwiseBackpropInputKernel = (args: KernelArgs): TensorInfo => {
  const backend = args.backend as BackendWasm
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo }
  const attrs = args.attrs as unknown as ConvAttrs
  assertFloat32(DepthwiseConv2dNativeBackpropInput, dy, filter)
  const info = backend_util.computeConv2DInfo(
    attrs.inputShape as Shape4,
    filter.shape as Shape4,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  )
  if (isEmpty(dy, filter)) return zeros(backend, attrs.inputShape as Shape4)
  return withScope(backend, (s) => depthwiseInputGrad(s, dy, filter, info))
}

/**
 * MaxPoolGrad. The stock wasm kernel (tfjs 4.22) is both slow (7ms for the
 * seed CNN's 64x24x24x10 pool, the single most expensive step of training)
 * and wrong: for many shapes it drops gradient entries (e.g. a 1x8x8x1 2x2
 * pool). This routes dy to the first maximum of each window in row-major
 * order, exactly like the cpu backend, in one memory-bound JS pass. The
 * common 2x2/stride-2 pool uses the forward output to find that position
 * without data-dependent branches (random argmax positions make the branchy
 * scan mispredict constantly).
 */
const maxPoolGradKernel = (args: KernelArgs): TensorInfo => {
  const backend = args.backend as BackendWasm
  const { dy, input, output } = args.inputs as {
    dy: TensorInfo
    input: TensorInfo
    output?: TensorInfo
  }
  const attrs = args.attrs as unknown as {
    filterSize: number | Pair
    strides: number | Pair
    pad: 'valid' | 'same' | number | ExplicitPad
    dimRoundingMode?: 'floor' | 'round' | 'ceil'
  }
  assertFloat32(MaxPoolGrad, dy, input)
  const info = backend_util.computePool2DInfo(
    input.shape as Shape4,
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  )
  const dx = backend.makeOutput(input.shape, 'float32')
  const out = backend.typedArrayFromHeap(dx) as Float32Array
  const xv = backend.typedArrayFromHeap(input) as Float32Array
  const gv = backend.typedArrayFromHeap(dy) as Float32Array
  out.fill(0)
  const fast =
    output !== undefined &&
    output.dtype === 'float32' &&
    util.sizeFromShape(output.shape) === util.sizeFromShape(dy.shape) &&
    info.effectiveFilterHeight === 2 &&
    info.effectiveFilterWidth === 2 &&
    info.strideHeight === 2 &&
    info.strideWidth === 2 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0 &&
    info.outHeight * 2 <= info.inHeight &&
    info.outWidth * 2 <= info.inWidth
  if (fast) {
    maxPoolGrad2x2(out, xv, gv, backend.typedArrayFromHeap(output) as Float32Array, info)
  } else {
    for (let w = 0; w < info.batchSize * info.outHeight * info.outWidth; w++) {
      maxPoolGradWindows(out, xv, gv, info, w)
    }
  }
  return dx
}

/**
 * Generic path for output pixel `w` (flat n,oh,ow index), all channels:
 * dx[first argmax of the window] += dy. -inf/NaN never win, as on cpu.
 */
function maxPoolGradWindows(
  out: Float32Array,
  xv: Float32Array,
  gv: Float32Array,
  info: Conv2DInfo,
  w: number,
): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info
  const { effectiveFilterHeight: KH, effectiveFilterWidth: KW } = info
  const ow = w % OW
  const oh = Math.floor(w / OW) % OH
  const n = Math.floor(w / (OW * OH))
  const r0 = oh * info.strideHeight - info.padInfo.top
  const rLo = r0 < 0 ? 0 : r0
  const rHi = r0 + KH > H ? H : r0 + KH
  const c0 = ow * info.strideWidth - info.padInfo.left
  const cLo = c0 < 0 ? 0 : c0
  const cHi = c0 + KW > W ? W : c0 + KW
  const rowLen = (cHi - cLo) * C
  const start = ((n * H + rLo) * W + cLo) * C
  const rowStep = W * C
  const g = w * C
  for (let c = 0; c < C; c++) {
    let best = -Infinity
    let p = -1
    for (let r = rLo, i0 = start + c; r < rHi; r++, i0 += rowStep) {
      const e = i0 + rowLen
      for (let i = i0; i < e; i += C) {
        const v = xv[i]
        if (v > best) {
          best = v
          p = i
        }
      }
    }
    if (p >= 0) out[p] += gv[g + c]
  }
}

/** 1 for true, 0 for false, without a branch. */
const bit = (b: boolean): number => (b as unknown as number) | 0

/**
 * 2x2, stride 2, every window inside the input. The first of the four
 * window elements equal to the pooled maximum m is found arithmetically.
 * Windows where nothing equals m (a NaN) or m is -inf fall back to a scan.
 */
function maxPoolGrad2x2(
  out: Float32Array,
  xv: Float32Array,
  gv: Float32Array,
  yv: Float32Array,
  info: Conv2DInfo,
): void {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C } = info
  const { outHeight: OH, outWidth: OW } = info
  const rs = W * C
  let g = 0
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      let base = (n * H + oh * 2) * rs
      for (let ow = 0; ow < OW; ow++, base += 2 * C) {
        for (let c = 0; c < C; c++, g++) {
          const i = base + c
          const m = yv[g]
          const ea = bit(xv[i] === m)
          const eb = bit(xv[i + C] === m)
          const ec = bit(xv[i + rs] === m)
          const ed = bit(xv[i + rs + C] === m)
          if ((ea | eb | ec | ed) === 0 || !(m > -Infinity)) {
            // Rare: same rule as the generic scan.
            let best = -Infinity
            let p = -1
            for (const q of [i, i + C, i + rs, i + rs + C]) {
              if (xv[q] > best) {
                best = xv[q]
                p = q
              }
            }
            if (p >= 0) out[p] += gv[g]
            continue
          }
          // index of the first hit: 0 (a), 1 (b), 2 (c) or 3 (d)
          const k = (1 - ea) * (1 + (1 - eb) * (1 + (1 - ec)))
          out[i + (k & 1) * C + (k >> 1) * rs] += gv[g]
        }
      }
    }
  }
}

/**
 * BatchMatMul. The stock wasm kernel only uses XNNPACK for non-transposed
 * operands; with transposeA/transposeB (which every dense-layer gradient
 * uses) it falls back to a naive loop that is 8x slower at 64x320x50 and 30x
 * at 512x1024x256. For single-batch products, transpose the operand
 * explicitly (cheap) and take the fast path. Batched products are passed
 * through unchanged.
 */
const batchMatMulKernel = (args: KernelArgs): TensorInfo => {
  const backend = args.backend as BackendWasm
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo }
  const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean }
  const stock = wasmKernel(BatchMatMul)
  const ta = attrs.transposeA === true
  const tb = attrs.transposeB === true
  const ra = a.shape.length
  const rb = b.shape.length
  if (
    (!ta && !tb) ||
    a.dtype !== 'float32' ||
    b.dtype !== 'float32' ||
    ra < 2 ||
    rb < 2 ||
    util.sizeFromShape(a.shape.slice(0, -2)) !== 1 ||
    util.sizeFromShape(b.shape.slice(0, -2)) !== 1
  ) {
    return stock(args as Parameters<KernelFunc>[0]) as TensorInfo
  }
  const [a0, a1] = a.shape.slice(-2)
  const [b0, b1] = b.shape.slice(-2)
  const m = ta ? a1 : a0
  const n = tb ? b0 : b1
  const outShape = [
    ...broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2)),
    m,
    n,
  ]
  return withScope(backend, (s) => {
    const a2 = ta ? s.transpose(s.view(a, [a0, a1]), [1, 0]) : s.view(a, [a0, a1])
    const b2 = tb ? s.transpose(s.view(b, [b0, b1]), [1, 0]) : s.view(b, [b0, b1])
    return s.view(s.matmul(a2, b2), outShape)
  })
}

/**
 * Sum over all leading axes of a float32 tensor (keeping the last), i.e. the
 * bias gradient of every conv/dense layer. The stock kernel transposes the
 * reduced axes innermost first, which for [N,H,W,C] is a "tall" transpose the
 * wasm Transpose handles very badly (43ms for 32x56x56x64; 0.5ms of the seed
 * CNN's 16ms step). Instead: XNNPACK AvgPool with one window per sample
 * ([N, R, 1, C] -> [N,1,1,C]), the small stock Sum over N, times R. It is
 * also ~10x more accurate (blocked instead of sequential float32 sums).
 * Everything else goes to the stock kernel.
 */
const sumKernel = (args: KernelArgs): TensorInfo =>
  leadingAxesReduce(args, Sum) ?? (wasmKernel(Sum)(args as Parameters<KernelFunc>[0]) as TensorInfo)

/**
 * Mean over all leading axes (BatchNormalization's moments), like Sum above:
 * the stock kernel's transpose made it ~30 ms of a CNN detector's step.
 */
const meanKernel = (args: KernelArgs): TensorInfo =>
  leadingAxesReduce(args, Mean) ?? (wasmKernel(Mean)(args as Parameters<KernelFunc>[0]) as TensorInfo)

/** The fast path of sumKernel / meanKernel, or null where it does not apply. */
function leadingAxesReduce(args: KernelArgs, op: typeof Sum | typeof Mean): TensorInfo | null {
  const backend = args.backend as BackendWasm
  const { x } = args.inputs as { x: TensorInfo }
  const attrs = (args.attrs ?? {}) as { axis: number | number[]; keepDims?: boolean }
  const rank = x.shape.length
  if (x.dtype !== 'float32' || rank < 2) return null
  const axes = util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b)
  if (axes.length !== rank - 1 || axes.some((a, i) => a !== i)) return null
  const C = x.shape[rank - 1]
  const B = rank > 2 ? x.shape[0] : 1
  const R = util.sizeFromShape(x.shape) / Math.max(1, B * C)
  // Small reductions: not worth the extra kernel calls.
  if (C === 0 || B === 0 || R < 2 || B * R * C < 4096) return null
  const outShape = attrs.keepDims ? [...x.shape.slice(0, -1).map(() => 1), C] : [C]
  return withScope(backend, (s) => {
    const pooled = s.run(
      'AvgPool',
      { x: s.view(x, [B, R, 1, C]) },
      { filterSize: [R, 1], strides: [R, 1], pad: 'valid' },
    ) // [B,1,1,C]: per-sample means
    const means = B > 1 ? s.run('Sum', { x: s.view(pooled, [B, C]) }, { axis: 0 }) : pooled
    const factor = op === Sum ? R : 1 / B
    if (factor === 1) return s.view(means, outShape)
    const scale = s.alloc([])
    s.heap(scale)[0] = factor
    const out = s.run('Multiply', { a: s.view(means, [C]), b: scale })
    return s.view(out, outShape)
  })
}

/**
 * Tile. The stock kernel is a per-element index computation (~8 ns per
 * output element; 365 ms of a CNN detector's step with tfjs-core's
 * BatchNorm gradient, and every broadcastTo). This copies each innermost
 * row once and replicates blocks with copyWithin (memmove), doubling.
 */
const tileKernel = (args: KernelArgs): TensorInfo => {
  const backend = args.backend as BackendWasm
  const { x } = args.inputs as { x: TensorInfo }
  const { reps } = args.attrs as unknown as { reps: number[] }
  if (x.dtype === 'string' || x.shape.length === 0 || reps.length !== x.shape.length) {
    return wasmKernel(Tile)(args as Parameters<KernelFunc>[0]) as TensorInfo
  }
  const shape = x.shape
  const rank = shape.length
  const outShape = shape.map((d, i) => d * reps[i])
  const out = backend.makeOutput(outShape, x.dtype)
  if (util.sizeFromShape(outShape) === 0) return out
  const src = backend.typedArrayFromHeap(x) as Float32Array
  const dst = backend.typedArrayFromHeap(out) as Float32Array
  const inStride = util.computeStrides(shape) // (axes 0..rank-2)
  // outBlock[k]: elements of the output block below axis k (exclusive).
  const outBlock = new Array<number>(rank + 1).fill(1)
  for (let k = rank - 1; k >= 0; k--) outBlock[k] = outBlock[k + 1] * outShape[k]
  const replicate = (off: number, len: number, times: number) => {
    let done = 1
    while (done < times) {
      const n = Math.min(done, times - done)
      dst.copyWithin(off + done * len, off, off + n * len)
      done += n
    }
  }
  const fill = (k: number, inOff: number, outOff: number): void => {
    const n = shape[k]
    if (k === rank - 1) {
      if (n === 1) dst.fill(src[inOff], outOff, outOff + reps[k])
      else {
        dst.set(src.subarray(inOff, inOff + n), outOff)
        replicate(outOff, n, reps[k])
      }
      return
    }
    const sub = outBlock[k + 1]
    for (let i = 0; i < n; i++) fill(k + 1, inOff + i * inStride[k], outOff + i * sub)
    replicate(outOff, n * sub, reps[k])
  }
  fill(0, 0, 0)
  return out
}

/**
 * Identity (tf.clone, the gradient of Cast, ...): shares the buffer like
 * Reshape (and the cpu backend's Identity) instead of copying it; tfjs
 * tensors are immutable and variables swap buffers on assign.
 */
const identityKernel = (args: KernelArgs): TensorInfo => {
  const backend = args.backend as BackendWasm
  const { x } = args.inputs as { x: TensorInfo }
  if (x.dtype === 'string') return wasmKernel(Identity)(args as Parameters<KernelFunc>[0]) as TensorInfo
  backend.incRef(x.dataId)
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype }
}

/**
 * Cast to the dtype the tensor already has (tf.moments casts its input to
 * float32; the stock kernel copies): share the buffer, as identityKernel.
 */
const castKernel = (args: KernelArgs): TensorInfo => {
  const { x } = args.inputs as { x: TensorInfo }
  const { dtype } = (args.attrs ?? {}) as { dtype?: string }
  if (dtype === x.dtype) return identityKernel(args)
  return wasmKernel(Cast)(args as Parameters<KernelFunc>[0]) as TensorInfo
}

/**
 * ResizeNearestNeighborGrad for power-of-two upscaling without alignCorners
 * (upSampling2d): every input pixel receives the sh x sw block of dy it was
 * copied to, i.e. sh*sw * AvgPool(dy, [sh, sw]) in XNNPACK. Everything else
 * goes to the stock kernel.
 */
const resizeNearestNeighborGradKernel = (args: KernelArgs): TensorInfo => {
  const backend = args.backend as BackendWasm
  const { images, dy } = args.inputs as { images: TensorInfo; dy: TensorInfo }
  const { alignCorners } = (args.attrs ?? {}) as { alignCorners?: boolean }
  const stock = () => wasmKernel(ResizeNearestNeighborGrad)(args as Parameters<KernelFunc>[0]) as TensorInfo
  if (alignCorners || dy.dtype !== 'float32' || images.shape.length !== 4) return stock()
  const [, H, W] = images.shape
  const [, OH, OW] = dy.shape
  if (H === 0 || W === 0 || OH % H !== 0 || OW % W !== 0) return stock()
  const sh = OH / H
  const sw = OW / W
  // Powers of two only: there in/out is exact in float, so the forward's
  // floor(o * in/out) is exactly floor(o / s).
  const pow2 = (v: number) => (v & (v - 1)) === 0
  if (!pow2(sh) || !pow2(sw) || (sh === 1 && sw === 1)) return stock()
  return withScope(backend, (s) => {
    const pooled = s.run('AvgPool', { x: dy }, { filterSize: [sh, sw], strides: [sh, sw], pad: 'valid' })
    const scale = s.alloc([])
    s.heap(scale)[0] = sh * sw
    return s.run('Multiply', { a: pooled, b: scale })
  })
}

// ---------------------------------------------------------------------------
// Registration.
// ---------------------------------------------------------------------------

const OURS: KernelConfig[] = (
  [
    [Conv2DBackpropFilter, conv2DBackpropFilterKernel],
    [Conv2DBackpropInput, conv2DBackpropInputKernel],
    [DepthwiseConv2dNativeBackpropFilter, depthwiseBackpropFilterKernel],
    [DepthwiseConv2dNativeBackpropInput, depthwiseBackpropInputKernel],
    [MaxPoolGrad, maxPoolGradKernel],
    [BatchMatMul, batchMatMulKernel],
    [Sum, sumKernel],
    [Mean, meanKernel],
    [Tile, tileKernel],
    [Identity, identityKernel],
    [Cast, castKernel],
    [ResizeNearestNeighborGrad, resizeNearestNeighborGradKernel],
  ] as const
).map(([kernelName, kernelFunc]) => ({
  kernelName,
  backendName: BACKEND,
  kernelFunc: kernelFunc as unknown as KernelFunc,
}))

/** Replacements that delegate to the stock kernel they replace. */
const WRAPS_STOCK = new Set<string>([BatchMatMul, Sum, Mean, Tile, Identity, Cast, ResizeNearestNeighborGrad])

/**
 * Registers the gradient kernels for the 'wasm' backend (and replaces the
 * stock kernels listed in the header) and the gradients of
 * fast-gradients.ts (all backends). Idempotent. Call after importing '@tensorflow/tfjs-backend-wasm' (a later
 * import would put the stock kernels back); works before or after
 * tf.setBackend('wasm').
 */
export function registerWasmGradKernels(): void {
  registerFastGradients()
  for (const config of OURS) {
    const name = config.kernelName
    const existing = getKernel(name, BACKEND)
    if (existing?.kernelFunc === config.kernelFunc) continue
    if (existing === undefined && WRAPS_STOCK.has(name)) continue // wasm backend not loaded
    let ours = config
    if (existing !== undefined) {
      stockKernels.set(name, existing)
      kernelCache.delete(name)
      unregisterKernel(name, BACKEND)
      // Keep the stock kernel's wasm setup (cwrap) running at backend init,
      // both for wrappers that call it and for anyone holding the old config.
      ours = { ...config, setupFunc: existing.setupFunc, disposeFunc: existing.disposeFunc }
    }
    registerKernel(ours)
  }
}
