/**
 * Training targets of the CenterNet-style head at stride 4, built on the CPU per batch:
 * - a class heatmap with an elliptical Gaussian at each object's centre (CenterNet, Zhou et al.
 *   2019; the box-shaped Gaussian of TTFNet, Liu et al. 2019), trained with focal loss;
 * - box targets for the cells near each centre (inside its Gaussian), each cell weighted by the
 *   Gaussian so the centre counts most and big and small objects count alike (TTFNet), trained
 *   with GIoU;
 * - for instance masks, the cells whose mask coefficients are trained (the centre cell and its
 *   neighbours that belong to the same object), with the object's mask at the prototypes'
 *   resolution and the box it is cropped to (YOLACT, Bolya et al. 2019).
 * Crowd regions are left out of the heatmap's negatives and give no positives. Pure TypeScript.
 */
import type { DetectionSample, Instance } from './sample'

export const STRIDE = 4
/** The mask prototypes' stride: masks get twice the grid's detail. */
export const PROTO_STRIDE = 2
/** The Gaussian's spread relative to the box (TTFNet's α = β = 0.54). */
export const GAUSSIAN_ALPHA = 0.54
/** Cells with a Gaussian value below this get no box target. */
const MIN_BOX_WEIGHT = 0.05
/** Mask-coefficient cells per object: its centre and up to 4 neighbours. */
const COEF_CELLS = [
  [0, 0],
  [0, -1],
  [-1, 0],
  [1, 0],
  [0, 1],
] as const
/** At most this many mask-coefficient cells per batch (keeps the selection matrices small). */
export const MAX_MASK_CELLS = 256

export interface TargetShape {
  batch: number
  /** Output grid (input / STRIDE). */
  gridW: number
  gridH: number
  classes: number
}

export interface Targets {
  /** [B, Hg, Wg, C]: the Gaussian heatmaps. */
  heat: Float32Array
  /** [B, Hg, Wg, 1]: 0 inside crowd regions (neither positive nor negative), else 1. */
  heatWeight: Float32Array
  /** [B, Hg, Wg, 4]: the box [x0, y0, x1, y1] in input pixels that each cell regresses. */
  box: Float32Array
  /** [B, Hg, Wg, 1]: each cell's box-loss weight (0: none). */
  boxWeight: Float32Array
  /** Number of (non-crowd) objects in the batch. */
  objects: number
  /** Segmentation only: the cells whose mask coefficients are trained. */
  masks: MaskTargets | null
}

export interface MaskTargets {
  /** How many cells are trained (≤ MAX_MASK_CELLS). */
  count: number
  /** Per cell: which image of the batch, and which grid cell (y · Wg + x). */
  sample: Int32Array
  cell: Int32Array
  /** [count, Hp·Wp]: the object's mask as coverage in 0..1 at the prototypes' grid (stride 2). */
  target: Float32Array
  /** [count, Hp·Wp]: 1/area inside the object's box (expanded by a cell), 0 outside. */
  weight: Float32Array
}

/** Writes an elliptical Gaussian peak into one channel of a heatmap, keeping the larger value. */
function drawGaussian(
  heat: Float32Array,
  base: number,
  stride: number,
  gridW: number,
  gridH: number,
  cx: number,
  cy: number,
  sx: number,
  sy: number,
): void {
  const rx = Math.ceil(3 * sx)
  const ry = Math.ceil(3 * sy)
  for (let y = Math.max(0, cy - ry); y <= Math.min(gridH - 1, cy + ry); y++)
    for (let x = Math.max(0, cx - rx); x <= Math.min(gridW - 1, cx + rx); x++) {
      const g = Math.exp(-((x - cx) ** 2) / (2 * sx * sx) - (y - cy) ** 2 / (2 * sy * sy))
      const i = base + (y * gridW + x) * stride
      if (g > heat[i]!) heat[i] = g
    }
}

/** An object's centre cell and Gaussian spread, in grid cells. */
export function centreOf(inst: Instance): { cx: number; cy: number; sx: number; sy: number } {
  const [x0, y0, x1, y1] = inst.box
  const w = (x1 - x0) / STRIDE
  const h = (y1 - y0) / STRIDE
  return {
    cx: Math.floor((x0 + x1) / 2 / STRIDE),
    cy: Math.floor((y0 + y1) / 2 / STRIDE),
    sx: Math.max(0.5, (GAUSSIAN_ALPHA * w) / 6),
    sy: Math.max(0.5, (GAUSSIAN_ALPHA * h) / 6),
  }
}

export function buildTargets(
  samples: readonly DetectionSample[],
  shape: TargetShape,
  withMasks: boolean,
): Targets {
  const { gridW, gridH, classes } = shape
  const cells = gridW * gridH
  const B = samples.length
  const heat = new Float32Array(B * cells * classes)
  const heatWeight = new Float32Array(B * cells).fill(1)
  const box = new Float32Array(B * cells * 4)
  const boxWeight = new Float32Array(B * cells)
  const owner = new Int32Array(cells)
  const ownerArea = new Float64Array(cells)
  const ownerWeight = new Float32Array(cells)
  let objects = 0
  const maskCells: { b: number; cell: number; inst: Instance }[] = []

  samples.forEach((s, b) => {
    owner.fill(-1)
    ownerArea.fill(Infinity)
    ownerWeight.fill(0)
    // Box targets first go to each cell's smallest object; then they are weighted per object.
    const weightSums = new Float64Array(s.instances.length)
    const gaussOf: Float32Array[] = []
    s.instances.forEach((inst, k) => {
      const [x0, y0, x1, y1] = inst.box
      if (inst.crowd) {
        for (let y = Math.floor(y0 / STRIDE); y < Math.ceil(y1 / STRIDE); y++)
          for (let x = Math.floor(x0 / STRIDE); x < Math.ceil(x1 / STRIDE); x++)
            if (x >= 0 && y >= 0 && x < gridW && y < gridH) heatWeight[b * cells + y * gridW + x] = 0
        gaussOf.push(new Float32Array(0))
        return
      }
      objects++
      const c = centreOf(inst)
      drawGaussian(heat, b * cells * classes + inst.classIndex, classes, gridW, gridH, c.cx, c.cy, c.sx, c.sy)
      const g = new Float32Array(cells)
      const area = (x1 - x0) * (y1 - y0)
      for (let y = Math.max(0, Math.floor(y0 / STRIDE)); y < Math.min(gridH, Math.ceil(y1 / STRIDE)); y++)
        for (let x = Math.max(0, Math.floor(x0 / STRIDE)); x < Math.min(gridW, Math.ceil(x1 / STRIDE)); x++) {
          const v = Math.exp(-((x - c.cx) ** 2) / (2 * c.sx * c.sx) - (y - c.cy) ** 2 / (2 * c.sy * c.sy))
          const q = y * gridW + x
          if (v < MIN_BOX_WEIGHT && q !== c.cy * gridW + c.cx) continue
          g[q] = Math.max(v, MIN_BOX_WEIGHT)
          if (area < ownerArea[q]!) {
            ownerArea[q] = area
            owner[q] = k
          }
        }
      gaussOf.push(g)
    })
    for (let q = 0; q < cells; q++) {
      const k = owner[q]!
      if (k < 0) continue
      ownerWeight[q] = gaussOf[k]![q]!
      weightSums[k] += ownerWeight[q]!
    }
    for (let q = 0; q < cells; q++) {
      const k = owner[q]!
      if (k < 0 || !weightSums[k]) continue
      const inst = s.instances[k]!
      const [x0, y0, x1, y1] = inst.box
      // log(area) per object, shared out over its cells by their Gaussian weight (TTFNet).
      const w = (ownerWeight[q]! / weightSums[k]!) * Math.log(Math.max(2, (x1 - x0) * (y1 - y0)))
      const i = b * cells + q
      boxWeight[i] = w
      box.set(inst.box, i * 4)
    }
    if (withMasks)
      s.instances.forEach((inst, k) => {
        if (inst.crowd || !inst.mask) return
        const c = centreOf(inst)
        for (const [dx, dy] of COEF_CELLS) {
          const x = c.cx + dx
          const y = c.cy + dy
          if (x < 0 || y < 0 || x >= gridW || y >= gridH) continue
          const q = y * gridW + x
          // The centre always; a neighbour only where this object owns the cell.
          if ((dx || dy) && owner[q] !== k) continue
          maskCells.push({ b, cell: q, inst })
        }
      })
  })

  return {
    heat,
    heatWeight,
    box,
    boxWeight,
    objects,
    masks: withMasks
      ? maskTargets(maskCells, (gridW * STRIDE) / PROTO_STRIDE, (gridH * STRIDE) / PROTO_STRIDE)
      : null,
  }
}

/** Mask coverage at the prototypes' grid (gridW × gridH here) of each trained cell's object, and its crop weights. */
function maskTargets(
  list: { b: number; cell: number; inst: Instance }[],
  gridW: number,
  gridH: number,
): MaskTargets {
  const chosen = list.slice(0, MAX_MASK_CELLS)
  const cells = gridW * gridH
  const target = new Float32Array(chosen.length * cells)
  const weight = new Float32Array(chosen.length * cells)
  const coverage = new Map<Instance, { target: Float32Array; weight: Float32Array }>()
  chosen.forEach((c, j) => {
    let cov = coverage.get(c.inst)
    if (!cov) {
      cov = { target: new Float32Array(cells), weight: new Float32Array(cells) }
      const m = c.inst.mask!
      const inv = 1 / (PROTO_STRIDE * PROTO_STRIDE)
      for (let y = 0; y < m.height; y++)
        for (let x = 0; x < m.width; x++)
          if (m.data[y * m.width + x]) {
            const gx = Math.floor((m.x + x) / PROTO_STRIDE)
            const gy = Math.floor((m.y + y) / PROTO_STRIDE)
            if (gx < gridW && gy < gridH) cov.target[gy * gridW + gx] += inv
          }
      const [x0, y0, x1, y1] = c.inst.box
      const gx0 = Math.max(0, Math.floor(x0 / PROTO_STRIDE) - 1)
      const gy0 = Math.max(0, Math.floor(y0 / PROTO_STRIDE) - 1)
      const gx1 = Math.min(gridW, Math.ceil(x1 / PROTO_STRIDE) + 1)
      const gy1 = Math.min(gridH, Math.ceil(y1 / PROTO_STRIDE) + 1)
      const w = 1 / Math.max(1, (gx1 - gx0) * (gy1 - gy0))
      for (let y = gy0; y < gy1; y++) for (let x = gx0; x < gx1; x++) cov.weight[y * gridW + x] = w
      coverage.set(c.inst, cov)
    }
    target.set(cov.target, j * cells)
    weight.set(cov.weight, j * cells)
  })
  return {
    count: chosen.length,
    sample: Int32Array.from(chosen, (c) => c.b),
    cell: Int32Array.from(chosen, (c) => c.cell),
    target,
    weight,
  }
}
