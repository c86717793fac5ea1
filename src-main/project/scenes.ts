/**
 * Small detection / instance-segmentation scene sets made from real Fashion-MNIST items.
 *
 * Each item (a 28×28 grey Fashion-MNIST image) is cut out by its own pixels: grey above a threshold,
 * tiny holes closed, the largest connected component kept. Items are scaled (bilinear), maybe
 * flipped and turned a little, tinted, and pasted onto a procedural textured background; later items
 * occlude earlier ones. Every instance keeps at least `minVisibleFraction` of its own area visible:
 * an item that would hide too much of one already there is placed elsewhere or left out, so every
 * painted item is annotated. Boxes are computed from the visible masks.
 *
 * The file has two halves. The first (options, item masks, backgrounds, compositing, the COCO
 * document) is pure: it takes the IDX data in memory and touches no Node API, so tests can make
 * tiny sets in memory. The second reads the IDX files and writes PNGs and `_annotations.coco.json`
 * (node:fs, node:path, sharp).
 */
import fs from 'node:fs'
import path from 'node:path'
import sharp from 'sharp'
import { CLASS_PRESET_NAMES } from '../../src-shared/domain/classes'
import { seededRandom, shuffleInPlace } from '../../src-shared/domain/random'
import { encodeBitmap, rleArea, rleBounds, rleToString, type Rle } from '../../src-shared/domain/rle'
import { readIdx } from '../media/formats/idx'

// ================================================================ options

export type SceneSplit = 'train' | 'valid' | 'test'
export const SCENE_SPLITS: readonly SceneSplit[] = ['train', 'valid', 'test']

/** An inclusive range [min, max]. */
export type Range = readonly [number, number]

export interface SceneOptions {
  /** Same seed and options, same set, byte for byte. */
  seed: number
  /** Images per split. */
  counts: Readonly<Record<SceneSplit, number>>
  /** Fashion-MNIST labels kept (0–9); COCO category ids are 1, 2, … in this order. */
  classes: readonly number[]
  /** Scene width and height in pixels, each drawn uniformly per image. */
  width: Range
  height: Range
  /** Items tried per scene (fewer are kept when they do not fit). */
  itemsPerScene: Range
  /** Scale factor of a 28×28 item. */
  scale: Range
  /** Items are turned by up to ± this many degrees (0: never). */
  maxRotationDeg: number
  /** An item's pixels are those with grey > this (0–255). */
  maskThreshold: number
  /** Holes (4-connected, not touching the item's border) up to this many pixels are closed. */
  maxHolePixels: number
  /** An instance keeps at least this fraction of its own area visible… */
  minVisibleFraction: number
  /** …and at least this many pixels. */
  minVisiblePixels: number
  /** σ of the pixel noise over the whole image, in grey levels (0–255), drawn per image. */
  noise: Range
}

/** Options as callers give them: any subset, counts per split too. */
export type SceneOptionsInput = Partial<Omit<SceneOptions, 'counts'>> & {
  counts?: Partial<Record<SceneSplit, number>>
}

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist'
export const FASHION_MNIST_CLASS_NAMES: readonly string[] = CLASS_PRESET_NAMES['fashion-mnist']

/** Five visually distinct classes: T-shirt/top, Trouser, Sneaker, Bag, Ankle boot. */
export const DEFAULT_SCENE_CLASSES: readonly number[] = [0, 1, 7, 8, 9]

export const DEFAULT_SCENE_OPTIONS: SceneOptions = {
  seed: 1,
  counts: { train: 50, valid: 10, test: 50 },
  classes: DEFAULT_SCENE_CLASSES,
  width: [144, 208],
  height: [112, 160],
  itemsPerScene: [2, 6],
  scale: [1.2, 3],
  maxRotationDeg: 15,
  maskThreshold: 20,
  maxHolePixels: 4,
  minVisibleFraction: 0.4,
  minVisiblePixels: 64,
  noise: [0, 1.5],
}

/** For integration tests: 64×64-ish scenes, 12 train / 3 valid / 6 test, made in a few ms. */
export const TINY_SCENE_OPTIONS: SceneOptions = {
  ...DEFAULT_SCENE_OPTIONS,
  // Two distinct classes (Trouser, Bag), so a few seconds of training learn them.
  classes: [1, 8],
  counts: { train: 24, valid: 4, test: 8 },
  width: [64, 80],
  height: [64, 80],
  itemsPerScene: [1, 3],
  scale: [1.2, 2],
  minVisiblePixels: 32,
}

/**
 * The most photo-like two-class set these machines can make (no photos are available offline): one
 * large real Fashion-MNIST item per 180×180 RGB image, tinted, turned and placed on a textured
 * background, Sandal against Sneaker (two kinds of shoe, as cats and dogs are two kinds of pet).
 * 1,000 images a class, split 800/100/100; the stand-in for cats vs dogs in the transfer-learning
 * benchmark.
 */
export const PHOTO_PAIR_SCENE_OPTIONS: SceneOptions = {
  ...DEFAULT_SCENE_OPTIONS,
  classes: [5, 7],
  counts: { train: 1600, valid: 200, test: 200 },
  width: [180, 180],
  height: [180, 180],
  itemsPerScene: [1, 1],
  scale: [4, 5.5],
  maxRotationDeg: 20,
  noise: [0, 4],
}

export const SCENE_PRESETS = {
  default: DEFAULT_SCENE_OPTIONS,
  tiny: TINY_SCENE_OPTIONS,
  'photo-pair': PHOTO_PAIR_SCENE_OPTIONS,
} as const

/** Fills in and checks options; a bad one throws a RangeError that says which and why. */
export function resolveSceneOptions(
  input: SceneOptionsInput = {},
  base: SceneOptions = DEFAULT_SCENE_OPTIONS,
): SceneOptions {
  const o: SceneOptions = { ...base, ...input, counts: { ...base.counts, ...input.counts } }
  const bad = (what: string) => {
    throw new RangeError(`scene option ${what}`)
  }
  if (!Number.isInteger(o.seed)) bad(`seed must be a whole number, not ${o.seed}`)
  for (const s of SCENE_SPLITS) {
    const n = o.counts[s]
    if (!Number.isInteger(n) || n < 0 || n > 100_000)
      bad(`counts.${s} must be a whole number from 0 to 100000, not ${n}`)
  }
  if (!o.classes.length) bad('classes must name at least one class')
  const seen = new Set<number>()
  for (const c of o.classes) {
    if (!Number.isInteger(c) || c < 0 || c >= FASHION_MNIST_CLASS_NAMES.length)
      bad(`classes: ${c} is not a Fashion-MNIST label (0–9)`)
    if (seen.has(c)) bad(`classes: ${c} is given twice`)
    seen.add(c)
  }
  const range = (name: string, r: Range, lo: number, hi: number, int: boolean) => {
    const [a, b] = r
    if (!Number.isFinite(a) || !Number.isFinite(b) || a > b || a < lo || b > hi || (int && (a % 1 || b % 1)))
      bad(
        `${name} must be ${int ? 'whole numbers' : 'numbers'} [min, max] within ${lo}–${hi}, not [${a}, ${b}]`,
      )
  }
  range('width', o.width, 32, 4096, true)
  range('height', o.height, 32, 4096, true)
  range('itemsPerScene', o.itemsPerScene, 1, 50, true)
  range('scale', o.scale, 0.5, 20, false)
  range('noise', o.noise, 0, 64, false)
  if (!(o.maxRotationDeg >= 0 && o.maxRotationDeg <= 180)) bad('maxRotationDeg must be within 0–180')
  if (!(o.maskThreshold >= 0 && o.maskThreshold < 255)) bad('maskThreshold must be within 0–254')
  if (!(o.maxHolePixels >= 0)) bad('maxHolePixels must be ≥ 0')
  if (!(o.minVisibleFraction > 0 && o.minVisibleFraction <= 1)) bad('minVisibleFraction must be in (0, 1]')
  if (!(o.minVisiblePixels >= 1)) bad('minVisiblePixels must be ≥ 1')
  return o
}

// ================================================================ sources and item masks

/** Fashion-MNIST images and labels in memory (IDX data without headers). */
export interface ItemSource {
  /** Which Fashion-MNIST files they came from. */
  set: 'train' | 't10k'
  count: number
  rows: number
  cols: number
  /** count × rows × cols grey bytes. */
  images: Uint8Array
  labels: Uint8Array
}

/** Train scenes take items from `train`; valid and test from `t10k` (held-out instances). */
export interface SceneSources {
  train: ItemSource
  t10k: ItemSource
}

/**
 * Which source items each split draws from: train from all of `train`; valid from the first half of
 * `t10k` and test from the second half, so no item is in both.
 */
export function splitSourceRange(
  sources: SceneSources,
  split: SceneSplit,
): { src: ItemSource; lo: number; hi: number } {
  if (split === 'train') return { src: sources.train, lo: 0, hi: sources.train.count }
  const half = Math.floor(sources.t10k.count / 2)
  return split === 'valid'
    ? { src: sources.t10k, lo: 0, hi: half }
    : { src: sources.t10k, lo: half, hi: sources.t10k.count }
}

/** Labels each connected component of `m` (8- or 4-connected); returns labels (0 = none) and sizes (index = label). */
function components(
  m: Uint8Array,
  w: number,
  h: number,
  value: number,
  eight: boolean,
): { label: Int32Array; sizes: number[]; touchesBorder: boolean[] } {
  const label = new Int32Array(w * h)
  const sizes = [0]
  const touchesBorder = [false]
  const stack = new Int32Array(w * h)
  for (let start = 0; start < m.length; start++) {
    if (m[start] !== value || label[start]) continue
    const id = sizes.length
    let size = 0
    let border = false
    let sp = 0
    stack[sp++] = start
    label[start] = id
    while (sp) {
      const p = stack[--sp]!
      size++
      const x = p % w
      const y = (p - x) / w
      if (x === 0 || y === 0 || x === w - 1 || y === h - 1) border = true
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          if ((!dx && !dy) || (!eight && dx && dy)) continue
          const nx = x + dx
          const ny = y + dy
          if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue
          const q = ny * w + nx
          if (m[q] === value && !label[q]) {
            label[q] = id
            stack[sp++] = q
          }
        }
    }
    sizes.push(size)
    touchesBorder.push(border)
  }
  return { label, sizes, touchesBorder }
}

/** Keeps only the largest 8-connected component of a 0/1 mask, in place; returns its size. */
export function keepLargestComponent(m: Uint8Array, w: number, h: number): number {
  const { label, sizes } = components(m, w, h, 1, true)
  let best = 0
  for (let i = 1; i < sizes.length; i++) if (sizes[i]! > sizes[best]!) best = i
  for (let i = 0; i < m.length; i++) m[i] = best && label[i] === best ? 1 : 0
  return best ? sizes[best]! : 0
}

/**
 * An item's instance mask from its own pixels: grey > threshold, holes of at most `maxHole` pixels
 * closed, then the largest 8-connected component (specks dropped). Row-major 0/1.
 */
export function itemMask(
  grey: ArrayLike<number>,
  w: number,
  h: number,
  threshold: number,
  maxHole = 4,
): Uint8Array {
  const m = new Uint8Array(w * h)
  for (let i = 0; i < m.length; i++) m[i] = grey[i]! > threshold ? 1 : 0
  if (maxHole > 0) {
    const holes = components(m, w, h, 0, false)
    for (let i = 0; i < m.length; i++) {
      const id = holes.label[i]!
      if (id && !holes.touchesBorder[id] && holes.sizes[id]! <= maxHole) m[i] = 1
    }
  }
  keepLargestComponent(m, w, h)
  return m
}

/** A Fashion-MNIST item ready to paste: its grey (0–1), its mask, and where it came from. */
export interface SceneItem {
  label: number
  set: 'train' | 't10k'
  index: number
  rows: number
  cols: number
  /** Grey 0–1. */
  grey: Float32Array
  mask: Uint8Array
  area: number
  /** The mask's bounds, in item pixels. */
  bx: number
  by: number
  bw: number
  bh: number
}

export function loadSceneItem(src: ItemSource, index: number, o: SceneOptions): SceneItem {
  const n = src.rows * src.cols
  const bytes = src.images.subarray(index * n, (index + 1) * n)
  const mask = itemMask(bytes, src.cols, src.rows, o.maskThreshold, o.maxHolePixels)
  const grey = new Float32Array(n)
  let area = 0
  let x0 = src.cols
  let y0 = src.rows
  let x1 = -1
  let y1 = -1
  for (let i = 0; i < n; i++) {
    grey[i] = bytes[i]! / 255
    if (!mask[i]) continue
    area++
    const x = i % src.cols
    const y = (i - x) / src.cols
    if (x < x0) x0 = x
    if (x > x1) x1 = x
    if (y < y0) y0 = y
    if (y > y1) y1 = y
  }
  return {
    label: src.labels[index]!,
    set: src.set,
    index,
    rows: src.rows,
    cols: src.cols,
    grey,
    mask,
    area,
    bx: x0,
    by: y0,
    bw: x1 - x0 + 1,
    bh: y1 - y0 + 1,
  }
}

/** Items in a balanced class order (a shuffled round of the classes at a time), without repeats until a class runs out. */
export function sceneItemPicker(
  sources: SceneSources,
  split: SceneSplit,
  o: SceneOptions,
  rand: () => number,
): () => SceneItem {
  const { src, lo, hi } = splitSourceRange(sources, split)
  const byClass: number[][] = o.classes.map(() => [])
  const slot = new Map(o.classes.map((c, k) => [c, k]))
  for (let i = lo; i < hi; i++) {
    const k = slot.get(src.labels[i]!)
    if (k !== undefined) byClass[k]!.push(i)
  }
  byClass.forEach((list, k) => {
    if (!list.length)
      throw new RangeError(`no ${FASHION_MNIST_CLASS_NAMES[o.classes[k]!]} items in the ${src.set} data`)
    shuffleInPlace(list, rand)
  })
  const next = o.classes.map(() => 0)
  let round: number[] = []
  const minArea = Math.min(40, o.minVisiblePixels)
  return () => {
    if (!round.length)
      round = shuffleInPlace(
        o.classes.map((_, k) => k),
        rand,
      )
    const k = round.pop()!
    const list = byClass[k]!
    let item = loadSceneItem(src, list[next[k]!++ % list.length]!, o)
    // A near-empty item (a handful of pixels above the threshold) is passed over.
    for (let tries = 1; item.area < minArea && tries < list.length; tries++)
      item = loadSceneItem(src, list[next[k]!++ % list.length]!, o)
    return item
  }
}

// ================================================================ random helpers

function uniform(rand: () => number, a: number, b: number): number {
  return a + (b - a) * rand()
}

function intIn(rand: () => number, a: number, b: number): number {
  return a + Math.floor(rand() * (b - a + 1))
}

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12)
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand())
}

/** Mixes a seed with a stream number into a new 32-bit seed. */
function mixSeed(seed: number, stream: number): number {
  let h = (seed ^ Math.imul(stream + 1, 0x9e3779b1)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

type Rgb = [number, number, number]

function hsv(h: number, s: number, v: number): Rgb {
  const f = (n: number) => {
    const k = (n + h * 6) % 6
    return v - v * s * Math.max(0, Math.min(k, 4 - k, 1))
  }
  return [f(5), f(3), f(1)]
}

function randomColour(rand: () => number, v: Range = [0.08, 0.95]): Rgb {
  return hsv(rand(), 0.85 * rand() ** 0.8, uniform(rand, v[0], v[1]))
}

function near(rand: () => number, c: Rgb, d: number): Rgb {
  return c.map((x) => Math.min(1, Math.max(0, x + uniform(rand, -d, d)))) as Rgb
}

const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x)
const smooth = (t: number) => t * t * (3 - 2 * t)

// ================================================================ backgrounds

export type BackgroundKind = 'noise' | 'blotches' | 'stripes' | 'checks' | 'gradient' | 'grain'
export const BACKGROUND_KINDS: readonly BackgroundKind[] = [
  'noise',
  'blotches',
  'stripes',
  'checks',
  'gradient',
  'grain',
]

/** Smooth value noise in [0, 1]: octaves of a random lattice with cells of `cell` pixels, halving each time. */
function valueNoise(rand: () => number, w: number, h: number, cell: number, octaves: number): Float32Array {
  const out = new Float32Array(w * h)
  let amp = 1
  let total = 0
  for (let o = 0; o < octaves; o++, cell /= 2, amp /= 2) {
    const c = Math.max(2, cell)
    const gw = Math.ceil(w / c) + 2
    const gh = Math.ceil(h / c) + 2
    const grid = new Float32Array(gw * gh).map(() => rand())
    const ox = rand() * c
    const oy = rand() * c
    for (let y = 0; y < h; y++) {
      const gy = (y + oy) / c
      const iy = Math.floor(gy)
      const fy = smooth(gy - iy)
      for (let x = 0; x < w; x++) {
        const gx = (x + ox) / c
        const ix = Math.floor(gx)
        const fx = smooth(gx - ix)
        const a = grid[iy * gw + ix]!
        const b = grid[iy * gw + ix + 1]!
        const d = grid[(iy + 1) * gw + ix]!
        const e = grid[(iy + 1) * gw + ix + 1]!
        out[y * w + x]! += amp * (a + (b - a) * fx + (d - a + (e - d - b + a) * fx) * fy)
      }
    }
    total += amp
  }
  for (let i = 0; i < out.length; i++) out[i]! /= total
  return out
}

/** Two colours for a pattern: often far apart, sometimes close (a low-contrast background). */
function patternColours(rand: () => number): [Rgb, Rgb] {
  const a = randomColour(rand)
  return [a, rand() < 0.35 ? near(rand, a, 0.12) : randomColour(rand)]
}

function fillLerp(rgb: Float32Array, t: Float32Array, a: Rgb, b: Rgb): void {
  for (let i = 0; i < t.length; i++)
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = a[c]! + (b[c]! - a[c]!) * t[i]!
}

/** A soft-edged ellipse (or rectangle) of colour `col` blended in at `alpha`. */
function blendShape(
  rgb: Float32Array,
  w: number,
  h: number,
  shape: { cx: number; cy: number; rx: number; ry: number; angle: number; rect: boolean },
  col: Rgb,
  alpha: number,
): void {
  const { cx, cy, rx, ry, angle, rect } = shape
  const r = Math.max(rx, ry) + 2
  const cos = Math.cos(angle)
  const sin = Math.sin(angle)
  for (let y = Math.max(0, Math.floor(cy - r)); y < Math.min(h, Math.ceil(cy + r)); y++)
    for (let x = Math.max(0, Math.floor(cx - r)); x < Math.min(w, Math.ceil(cx + r)); x++) {
      const dx = x + 0.5 - cx
      const dy = y + 0.5 - cy
      const u = (dx * cos + dy * sin) / rx
      const v = (-dx * sin + dy * cos) / ry
      // Signed distance-ish, in pixels, from the edge (negative inside).
      const d = rect
        ? Math.max((Math.abs(u) - 1) * rx, (Math.abs(v) - 1) * ry)
        : (Math.sqrt(u * u + v * v) - 1) * Math.min(rx, ry)
      const a = alpha * clamp01(0.5 - d)
      if (a <= 0) continue
      const p = (y * w + x) * 3
      for (let c = 0; c < 3; c++) rgb[p + c] = rgb[p + c]! * (1 - a) + col[c]! * a
    }
}

/** A procedural textured background, RGB 0–1, row-major. */
export function makeBackground(
  rand: () => number,
  w: number,
  h: number,
  kind: BackgroundKind = BACKGROUND_KINDS[Math.floor(rand() * BACKGROUND_KINDS.length)]!,
): Float32Array {
  const rgb = new Float32Array(w * h * 3)
  const t = new Float32Array(w * h)
  const [a, b] = patternColours(rand)
  switch (kind) {
    case 'noise': {
      const n = valueNoise(rand, w, h, uniform(rand, 10, 48), intIn(rand, 2, 4))
      const k = uniform(rand, 1.5, 4) // contrast stretch: blotchier
      for (let i = 0; i < t.length; i++) t[i] = smooth(clamp01((n[i]! - 0.5) * k + 0.5))
      fillLerp(rgb, t, a, b)
      break
    }
    case 'blotches': {
      fillLerp(rgb, valueNoise(rand, w, h, 40, 2), a, near(rand, a, 0.1))
      const n = intIn(rand, 6, 18)
      for (let i = 0; i < n; i++) {
        const col =
          rand() < 0.5 ? near(rand, b, 0.15) : rand() < 0.5 ? near(rand, a, 0.2) : randomColour(rand)
        const rx = uniform(rand, 4, w / 4)
        blendShape(
          rgb,
          w,
          h,
          {
            cx: rand() * w,
            cy: rand() * h,
            rx,
            ry: rx * uniform(rand, 0.4, 1.2),
            angle: rand() * Math.PI,
            rect: false,
          },
          col,
          uniform(rand, 0.35, 0.95),
        )
      }
      break
    }
    case 'stripes':
    case 'checks': {
      const period = uniform(rand, 5, 26)
      const angle = rand() < 0.4 ? Math.floor(rand() * 4) * (Math.PI / 4) : rand() * Math.PI
      const cos = Math.cos(angle)
      const sin = Math.sin(angle)
      const duty = uniform(rand, 0.3, 0.7)
      const wave = rand() < 0.3 ? uniform(rand, 1, 4) : 0
      const soft = uniform(rand, 0.5, 2)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          let u = (x * cos + y * sin) / period
          const v = (-x * sin + y * cos) / period
          if (kind === 'stripes') {
            u += (wave * Math.sin(v * 1.3)) / period
            const f = u - Math.floor(u)
            const edge = Math.min(Math.abs(f - duty), f, 1 - f) * period // pixels to the nearest edge
            const inside = f < duty ? 1 : 0
            t[y * w + x] = inside ? 0.5 + 0.5 * clamp01(edge / soft) : 0.5 - 0.5 * clamp01(edge / soft)
          } else {
            const fu = u - Math.floor(u)
            const fv = v - Math.floor(v)
            const parity = (Math.floor(u) + Math.floor(v)) & 1
            const edge = Math.min(fu, 1 - fu, fv, 1 - fv) * period
            t[y * w + x] = parity ? 0.5 + 0.5 * clamp01(edge / soft) : 0.5 - 0.5 * clamp01(edge / soft)
          }
        }
      fillLerp(rgb, t, a, b)
      break
    }
    case 'gradient': {
      const angle = rand() * 2 * Math.PI
      const cos = Math.cos(angle)
      const sin = Math.sin(angle)
      const radial = rand() < 0.35
      const cx = rand() * w
      const cy = rand() * h
      const span = Math.abs(w * cos) + Math.abs(h * sin)
      const diag = Math.hypot(w, h)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          t[y * w + x] = radial
            ? clamp01(Math.hypot(x - cx, y - cy) / diag)
            : clamp01(((x - w / 2) * cos + (y - h / 2) * sin) / span + 0.5)
      fillLerp(rgb, t, a, b)
      break
    }
    case 'grain': {
      const base = valueNoise(rand, w, h, uniform(rand, 20, 60), 2)
      fillLerp(rgb, base, a, near(rand, a, 0.15))
      const sigma = uniform(rand, 0.02, 0.06)
      const block = rand() < 0.6 ? 2 : 1
      for (let y = 0; y < h; y += block)
        for (let x = 0; x < w; x += block) {
          const g = sigma * gaussian(rand)
          for (let yy = y; yy < Math.min(h, y + block); yy++)
            for (let xx = x; xx < Math.min(w, x + block); xx++)
              for (let c = 0; c < 3; c++) rgb[(yy * w + xx) * 3 + c]! += g
        }
      break
    }
  }
  // Uneven lighting, now and then.
  if (rand() < 0.5) {
    const light = valueNoise(rand, w, h, Math.max(w, h) / 1.5, 1)
    const k = uniform(rand, 0.1, 0.35)
    for (let i = 0; i < w * h; i++) {
      const f = 1 - k / 2 + k * light[i]!
      for (let c = 0; c < 3; c++) rgb[i * 3 + c]! *= f
    }
  }
  // Clutter: lines, bars and blobs that are not items.
  if (rand() < 0.45) {
    const n = intIn(rand, 2, 8)
    for (let i = 0; i < n; i++) {
      const line = rand() < 0.4
      const rx = line ? uniform(rand, w / 8, w / 3) : uniform(rand, 2, 9)
      const ry = line ? uniform(rand, 0.6, 1.8) : rx * uniform(rand, 0.3, 1.5)
      blendShape(
        rgb,
        w,
        h,
        { cx: rand() * w, cy: rand() * h, rx, ry, angle: rand() * Math.PI, rect: line || rand() < 0.5 },
        rand() < 0.5 ? near(rand, b, 0.2) : randomColour(rand),
        uniform(rand, 0.5, 1),
      )
    }
  }
  for (let i = 0; i < rgb.length; i++) rgb[i] = clamp01(rgb[i]!)
  return rgb
}

// ================================================================ placing and compositing items

/** An item warped into the scene: a window of the image with its soft alpha, grey and hard mask. */
interface Placed {
  item: SceneItem
  x: number
  y: number
  w: number
  h: number
  alpha: Float32Array
  grey: Float32Array
  mask: Uint8Array
  area: number
}

/**
 * Scales the item by `s`, turns it by `theta` (radians) about its mask's centre, mirrors it when
 * `flip`, and centres it at (cx, cy). Bilinear sampling of the mask (re-thresholded at ½) and of the
 * grey premultiplied by the mask, so edges take no dark fringe from the black Fashion-MNIST ground.
 */
function warpItem(
  item: SceneItem,
  s: number,
  theta: number,
  flip: boolean,
  cx: number,
  cy: number,
  W: number,
  H: number,
): Placed | null {
  const cos = Math.cos(theta)
  const sin = Math.sin(theta)
  const hx = (s * (item.bw * Math.abs(cos) + item.bh * Math.abs(sin))) / 2
  const hy = (s * (item.bw * Math.abs(sin) + item.bh * Math.abs(cos))) / 2
  const x0 = Math.max(0, Math.floor(cx - hx) - 1)
  const y0 = Math.max(0, Math.floor(cy - hy) - 1)
  const x1 = Math.min(W, Math.ceil(cx + hx) + 1)
  const y1 = Math.min(H, Math.ceil(cy + hy) + 1)
  const w = x1 - x0
  const h = y1 - y0
  if (w <= 0 || h <= 0) return null
  const ax = item.bx + item.bw / 2
  const ay = item.by + item.bh / 2
  const { cols, rows } = item
  const m = (x: number, y: number) =>
    x < 0 || y < 0 || x >= cols || y >= rows ? 0 : item.mask[y * cols + x]!
  const g = (x: number, y: number) =>
    x < 0 || y < 0 || x >= cols || y >= rows ? 0 : item.grey[y * cols + x]!
  const alpha = new Float32Array(w * h)
  const grey = new Float32Array(w * h)
  const mask = new Uint8Array(w * h)
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const dx = (x0 + x + 0.5 - cx) / s
      const dy = (y0 + y + 0.5 - cy) / s
      let qx = dx * cos + dy * sin
      const qy = -dx * sin + dy * cos
      if (flip) qx = -qx
      const u = ax + qx - 0.5
      const v = ay + qy - 0.5
      const iu = Math.floor(u)
      const iv = Math.floor(v)
      const fu = u - iu
      const fv = v - iv
      const w00 = (1 - fu) * (1 - fv)
      const w10 = fu * (1 - fv)
      const w01 = (1 - fu) * fv
      const w11 = fu * fv
      const m00 = m(iu, iv)
      const m10 = m(iu + 1, iv)
      const m01 = m(iu, iv + 1)
      const m11 = m(iu + 1, iv + 1)
      const a = w00 * m00 + w10 * m10 + w01 * m01 + w11 * m11
      if (a <= 0) continue
      const gp =
        w00 * m00 * g(iu, iv) +
        w10 * m10 * g(iu + 1, iv) +
        w01 * m01 * g(iu, iv + 1) +
        w11 * m11 * g(iu + 1, iv + 1)
      const i = y * w + x
      alpha[i] = a
      grey[i] = gp / a
      mask[i] = a >= 0.5 ? 1 : 0
    }
  const area = keepLargestComponent(mask, w, h)
  // What the largest component lost is not painted either, so no unannotated specks: only the kept
  // pixels and their soft fringe (the pixels touching them) keep their alpha.
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = y * w + x
      if (mask[i] || !alpha[i]) continue
      let touches = false
      if (alpha[i]! < 0.5)
        for (let dy = -1; dy <= 1 && !touches; dy++)
          for (let dx = -1; dx <= 1; dx++) {
            const nx = x + dx
            const ny = y + dy
            if (nx >= 0 && ny >= 0 && nx < w && ny < h && mask[ny * w + nx]) {
              touches = true
              break
            }
          }
      if (!touches) alpha[i] = 0
    }
  return { item, x: x0, y: y0, w, h, alpha, grey, mask, area }
}

/** How an item's grey maps to colour. */
type Colouring = (g: number) => Rgb

function randomColouring(rand: () => number): Colouring {
  if (rand() < 0.55) {
    // The grey times a tint, lifted so the item's dark parts are not black.
    const tint = randomColour(rand, [0.3, 1])
    const lo = uniform(rand, 0.15, 0.4)
    return (g) => tint.map((c) => c * (lo + (1 - lo) * g)) as Rgb
  }
  // Two-tone: from a dark colour (dark grey) to a light one (light grey); sometimes the other way
  // round, so that items are not always brighter than the ground.
  let dark = randomColour(rand, [0.02, 0.45])
  let light = randomColour(rand, [0.5, 1])
  if (rand() < 0.3) [dark, light] = [light, dark]
  return (g) => [0, 1, 2].map((c) => dark[c]! + (light[c]! - dark[c]!) * g) as Rgb
}

/** The mean colour difference (RGB distance / √3, 0–1) between an item as coloured and what lies under it. */
function contrast(rgb: Float32Array, W: number, p: Placed, col: Colouring): number {
  const sum = [0, 0, 0]
  const under = [0, 0, 0]
  let n = 0
  for (let y = 0; y < p.h; y++)
    for (let x = 0; x < p.w; x++) {
      const i = y * p.w + x
      if (!p.mask[i]) continue
      const c = col(p.grey[i]!)
      const q = ((p.y + y) * W + p.x + x) * 3
      for (let k = 0; k < 3; k++) {
        sum[k] += c[k]!
        under[k] += rgb[q + k]!
      }
      n++
    }
  if (!n) return 0
  return Math.hypot(...[0, 1, 2].map((k) => (sum[k]! - under[k]!) / n)) / Math.sqrt(3)
}

// ================================================================ scenes

export interface SceneInstance {
  /** COCO category id: 1 + the class's position in `options.classes`. */
  categoryId: number
  /** The Fashion-MNIST label (0–9) and its name. */
  label: number
  className: string
  /** The visible mask, image-sized. */
  mask: Rle
  /** COCO [x, y, width, height] in pixels, the visible mask's bounds. */
  bbox: [number, number, number, number]
  /** Visible pixels. */
  area: number
  /** The item's own pixels before anything occluded it. */
  fullArea: number
  /** The Fashion-MNIST item it is. */
  source: { set: 'train' | 't10k'; index: number }
}

export interface Scene {
  width: number
  height: number
  /** RGB, 3 bytes a pixel, row-major. */
  pixels: Uint8Array
  background: BackgroundKind
  /** In paint order: each may occlude the ones before it. */
  instances: SceneInstance[]
}

/** One scene, its items drawn from `pick`. */
export function generateScene(rand: () => number, pick: () => SceneItem, o: SceneOptions): Scene {
  const W = intIn(rand, o.width[0], o.width[1])
  const H = intIn(rand, o.height[0], o.height[1])
  const background = BACKGROUND_KINDS[Math.floor(rand() * BACKGROUND_KINDS.length)]!
  const rgb = makeBackground(rand, W, H, background)

  // Place items, each on top of those before; one that would hide too much of another goes elsewhere.
  const owner = new Int16Array(W * H).fill(-1)
  const placed: Placed[] = []
  const visible: number[] = []
  const keep = (p: Placed) => Math.max(o.minVisiblePixels, Math.ceil(o.minVisibleFraction * p.area))
  const target = intIn(rand, o.itemsPerScene[0], o.itemsPerScene[1])
  const maxRot = (o.maxRotationDeg * Math.PI) / 180
  for (let attempt = 0; placed.length < target && attempt < target * 3; attempt++) {
    const item = pick()
    for (let tries = 0; tries < 24; tries++) {
      const theta = rand() < 0.6 ? uniform(rand, -maxRot, maxRot) : 0
      const cos = Math.abs(Math.cos(theta))
      const sin = Math.abs(Math.sin(theta))
      // The largest scale at which the turned item fits in the image, with a pixel to spare.
      const fit = Math.min(
        (W - 4) / (item.bw * cos + item.bh * sin),
        (H - 4) / (item.bw * sin + item.bh * cos),
      )
      const s = Math.min(fit, uniform(rand, o.scale[0], o.scale[1]))
      if (s < 0.5) break
      const hx = (s * (item.bw * cos + item.bh * sin)) / 2
      const hy = (s * (item.bw * sin + item.bh * cos)) / 2
      const cx = uniform(rand, hx + 1, W - hx - 1)
      const cy = uniform(rand, hy + 1, H - hy - 1)
      const p = warpItem(item, s, theta, rand() < 0.5, cx, cy, W, H)
      if (!p || p.area < o.minVisiblePixels) continue
      const hidden = new Array<number>(placed.length).fill(0)
      for (let y = 0; y < p.h; y++)
        for (let x = 0; x < p.w; x++) {
          if (!p.mask[y * p.w + x]) continue
          const k = owner[(p.y + y) * W + p.x + x]!
          if (k >= 0) hidden[k]!++
        }
      if (placed.some((q, k) => visible[k]! - hidden[k]! < keep(q))) continue
      for (let k = 0; k < placed.length; k++) visible[k]! -= hidden[k]!
      const id = placed.length
      for (let y = 0; y < p.h; y++)
        for (let x = 0; x < p.w; x++) if (p.mask[y * p.w + x]) owner[(p.y + y) * W + p.x + x] = id
      placed.push(p)
      visible.push(p.area)
      break
    }
  }

  // Paint them in order, each coloured to stand out (mostly) from what lies under it.
  for (const p of placed) {
    const lowContrast = rand() < 0.2
    const want = lowContrast ? 0.07 : 0.15
    let best: Colouring | null = null
    let bestC = -1
    for (let t = 0; t < 12 && bestC < want; t++) {
      const col = randomColouring(rand)
      const c = contrast(rgb, W, p, col)
      if (c > bestC) [best, bestC] = [col, c]
    }
    const col = best!
    const itemNoise = uniform(rand, 0, 0.015)
    const shade = uniform(rand, 0.9, 1.1)
    for (let y = 0; y < p.h; y++)
      for (let x = 0; x < p.w; x++) {
        const i = y * p.w + x
        const a = p.alpha[i]!
        if (a <= 0) continue
        const c = col(p.grey[i]!)
        const n = itemNoise * gaussian(rand)
        const q = ((p.y + y) * W + p.x + x) * 3
        for (let k = 0; k < 3; k++) rgb[q + k] = rgb[q + k]! * (1 - a) + clamp01(c[k]! * shade + n) * a
      }
  }

  // Sensor noise, then bytes.
  const sigma = uniform(rand, o.noise[0], o.noise[1]) / 255
  const pixels = new Uint8Array(W * H * 3)
  for (let i = 0; i < pixels.length; i++)
    pixels[i] = Math.round(clamp01(rgb[i]! + sigma * gaussian(rand)) * 255)

  const instances: SceneInstance[] = []
  placed.forEach((p, k) => {
    const data = new Uint8Array(p.w * p.h)
    for (let y = 0; y < p.h; y++)
      for (let x = 0; x < p.w; x++) if (owner[(p.y + y) * W + p.x + x] === k) data[y * p.w + x] = 1
    const mask = encodeBitmap({ x: p.x, y: p.y, width: p.w, height: p.h, data }, H, W)
    const area = rleArea(mask)
    if (area < keep(p)) return // never, by the placement rule above; kept as the guarantee
    const b = rleBounds(mask)
    instances.push({
      categoryId: o.classes.indexOf(p.item.label) + 1,
      label: p.item.label,
      className: FASHION_MNIST_CLASS_NAMES[p.item.label]!,
      mask,
      bbox: [b.x, b.y, b.width, b.height],
      area,
      fullArea: p.area,
      source: { set: p.item.set, index: p.item.index },
    })
  })
  return { width: W, height: H, pixels, background, instances }
}

/** The scenes of one split. Each split has its own random stream, so one split's count leaves the others as they are. */
export function generateSceneSplit(sources: SceneSources, split: SceneSplit, options: SceneOptions): Scene[] {
  const rand = seededRandom(mixSeed(options.seed, SCENE_SPLITS.indexOf(split)))
  const n = options.counts[split]
  if (!n) return []
  const pick = sceneItemPicker(sources, split, options, rand)
  return Array.from({ length: n }, () => generateScene(rand, pick, options))
}

export type SceneSet = Record<SceneSplit, Scene[]>

export function generateSceneSet(sources: SceneSources, input: SceneOptionsInput = {}): SceneSet {
  const o = resolveSceneOptions(input)
  return {
    train: generateSceneSplit(sources, 'train', o),
    valid: generateSceneSplit(sources, 'valid', o),
    test: generateSceneSplit(sources, 'test', o),
  }
}

// ================================================================ COCO and summaries

export interface CocoDataset {
  info: Record<string, string | number>
  licenses: { id: number; name: string; url: string }[]
  categories: { id: number; name: string; supercategory: string }[]
  images: { id: number; file_name: string; width: number; height: number; license: number }[]
  annotations: {
    id: number
    image_id: number
    category_id: number
    bbox: [number, number, number, number]
    area: number
    iscrowd: 0
    segmentation: { size: [number, number]; counts: string }
    /** Where the item came from: Fashion-MNIST's train or t10k files, and its index there. */
    fashion_mnist: { set: 'train' | 't10k'; index: number }
  }[]
}

export const SCENES_GENERATOR = 'Smallset scene generator (src-main/project/scenes.ts)'

export function sceneFileName(split: SceneSplit, i: number): string {
  return `${split}_${String(i + 1).padStart(4, '0')}.png`
}

export function sceneCategories(o: SceneOptions): CocoDataset['categories'] {
  return o.classes.map((c, k) => ({
    id: k + 1,
    name: FASHION_MNIST_CLASS_NAMES[c]!,
    supercategory: 'fashion',
  }))
}

/** The `_annotations.coco.json` document of one split. */
export function cocoDataset(scenes: readonly Scene[], split: SceneSplit, o: SceneOptions): CocoDataset {
  const images: CocoDataset['images'] = []
  const annotations: CocoDataset['annotations'] = []
  scenes.forEach((s, i) => {
    images.push({
      id: i + 1,
      file_name: sceneFileName(split, i),
      width: s.width,
      height: s.height,
      license: 1,
    })
    for (const inst of s.instances)
      annotations.push({
        id: annotations.length + 1,
        image_id: i + 1,
        category_id: inst.categoryId,
        bbox: inst.bbox,
        area: inst.area,
        iscrowd: 0,
        segmentation: { size: inst.mask.size, counts: rleToString(inst.mask) },
        fashion_mnist: inst.source,
      })
  })
  return {
    info: {
      description: `Fashion-MNIST items pasted onto textured backgrounds, ${split} split (detection / instance segmentation)`,
      version: '1.0',
      contributor: 'Smallset; the items are from Fashion-MNIST by Zalando Research',
      url: 'https://github.com/zalandoresearch/fashion-mnist',
      generator: SCENES_GENERATOR,
      seed: o.seed,
      source: split === 'train' ? 'Fashion-MNIST train files' : 'Fashion-MNIST t10k (test) files',
    },
    licenses: [
      {
        id: 1,
        name: 'MIT License, © 2017 Zalando SE (Fashion-MNIST)',
        url: 'https://github.com/zalandoresearch/fashion-mnist/blob/master/LICENSE',
      },
    ],
    categories: sceneCategories(o),
    images,
    annotations,
  }
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json }

/**
 * JSON laid out as Prettier lays it out (2 spaces, 110 columns): an object or array goes on one line
 * where it fits, else one entry a line. So the shipped `_annotations.coco.json` files pass
 * `prettier --check` and stay readable, at little more size than compact JSON.
 */
export function cocoJson(value: unknown, width = 110): string {
  const flat = (v: Json): string => {
    if (Array.isArray(v)) return `[${v.map(flat).join(', ')}]`
    if (v && typeof v === 'object') {
      const entries = Object.entries(v).filter(([, x]) => x !== undefined)
      return entries.length
        ? `{ ${entries.map(([k, x]) => `${JSON.stringify(k)}: ${flat(x)}`).join(', ')} }`
        : '{}'
    }
    return JSON.stringify(v)
  }
  // Prettier always breaks an array of two or more objects (or two or more arrays) of two or more entries each.
  const size = (x: Json) =>
    Array.isArray(x) ? x.length : x !== null && typeof x === 'object' ? Object.keys(x).length : 0
  const mustBreak = (v: Json): boolean => {
    if (v === null || typeof v !== 'object') return false
    if (!Array.isArray(v)) return Object.values(v).some(mustBreak)
    const kind = Array.isArray(v[0])
    const matrix =
      v.length > 1 &&
      v.every((x) => x !== null && typeof x === 'object' && Array.isArray(x) === kind && size(x) > 1)
    return matrix || v.some(mustBreak)
  }
  const out = (v: Json, indent: number, lead: number, tail: number): string => {
    const one = flat(v)
    if (v === null || typeof v !== 'object' || (!mustBreak(v) && indent + lead + one.length + tail <= width))
      return one
    const pad = ' '.repeat(indent + 2)
    const items: [string, Json][] = Array.isArray(v)
      ? v.map((x) => ['', x])
      : Object.entries(v)
          .filter(([, x]) => x !== undefined)
          .map(([k, x]) => [`${JSON.stringify(k)}: `, x])
    if (!items.length) return one
    const lines = items.map(
      ([k, x], i) =>
        pad +
        k +
        out(x, indent + 2, k.length, i < items.length - 1 ? 1 : 0) +
        (i < items.length - 1 ? ',' : ''),
    )
    const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}']
    return `${open}\n${lines.join('\n')}\n${' '.repeat(indent)}${close}`
  }
  return out(JSON.parse(JSON.stringify(value)) as Json, 0, 0, 0) + '\n'
}

export interface SceneSplitSummary {
  images: number
  instances: number
  /** Instances per class name, in the order of the classes. */
  byClass: Record<string, number>
  width: [number, number]
  height: [number, number]
  instancesPerImage: [number, number]
  /** Visible mask areas in pixels, and COCO's size bins (small < 32², medium < 96², large). */
  area: { min: number; max: number; small: number; medium: number; large: number }
}

export interface SceneSetSummary {
  seed: number
  classes: { id: number; label: number; name: string }[]
  splits: Record<SceneSplit, SceneSplitSummary>
  /** Where it was written, when it was. */
  outDir?: string
}

export function summariseSplit(scenes: readonly Scene[], o: SceneOptions): SceneSplitSummary {
  const byClass = Object.fromEntries(o.classes.map((c) => [FASHION_MNIST_CLASS_NAMES[c]!, 0]))
  const mm = (xs: number[]): [number, number] => (xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 0])
  const areas: number[] = []
  for (const s of scenes)
    for (const inst of s.instances) {
      byClass[inst.className]!++
      areas.push(inst.area)
    }
  const [min, max] = mm(areas)
  return {
    images: scenes.length,
    instances: areas.length,
    byClass,
    width: mm(scenes.map((s) => s.width)),
    height: mm(scenes.map((s) => s.height)),
    instancesPerImage: mm(scenes.map((s) => s.instances.length)),
    area: {
      min,
      max,
      small: areas.filter((a) => a < 32 * 32).length,
      medium: areas.filter((a) => a >= 32 * 32 && a < 96 * 96).length,
      large: areas.filter((a) => a >= 96 * 96).length,
    },
  }
}

export function summariseSceneSet(set: SceneSet, o: SceneOptions): SceneSetSummary {
  return {
    seed: o.seed,
    classes: o.classes.map((c, k) => ({ id: k + 1, label: c, name: FASHION_MNIST_CLASS_NAMES[c]! })),
    splits: {
      train: summariseSplit(set.train, o),
      valid: summariseSplit(set.valid, o),
      test: summariseSplit(set.test, o),
    },
  }
}

// ================================================================ Node: reading Fashion-MNIST, writing the set

const IDX_FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  t10k: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const

function idxFile(dir: string, base: string): string | null {
  for (const name of [`${base}.gz`, base]) {
    const p = path.join(dir, name)
    if (fs.existsSync(p)) return p
  }
  return null
}

/** Whether `dir` holds the four Fashion-MNIST IDX files (gzipped or not). */
export function fashionMnistAvailable(dir: string = FASHION_MNIST_DIR): boolean {
  return Object.values(IDX_FILES).every((pair) => pair.every((b) => idxFile(dir, b) !== null))
}

async function readSource(dir: string, set: 'train' | 't10k'): Promise<ItemSource> {
  const [imgBase, labBase] = IDX_FILES[set]
  const imgPath = idxFile(dir, imgBase)
  const labPath = idxFile(dir, labBase)
  if (!imgPath || !labPath)
    throw new Error(
      `Fashion-MNIST's ${set} files are not in ${dir}: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)`,
    )
  const [img, lab] = await Promise.all([readIdx(imgPath), readIdx(labPath)])
  if (img.dims.length !== 3 || lab.dims.length !== 1 || img.dims[0] !== lab.dims[0])
    throw new Error(`${imgPath} and ${labPath} do not hold matching images and labels`)
  return {
    set,
    count: img.dims[0]!,
    rows: img.dims[1]!,
    cols: img.dims[2]!,
    images: img.data,
    labels: lab.data,
  }
}

const sourceCache = new Map<string, Promise<SceneSources>>()

/** Reads Fashion-MNIST's train and t10k files (once per folder and process). */
export function loadSceneSources(dir: string = FASHION_MNIST_DIR): Promise<SceneSources> {
  const key = path.resolve(dir)
  let p = sourceCache.get(key)
  if (!p) {
    p = Promise.all([readSource(key, 'train'), readSource(key, 't10k')]).then(([train, t10k]) => ({
      train,
      t10k,
    }))
    p.catch(() => sourceCache.delete(key))
    sourceCache.set(key, p)
  }
  return p
}

/** Encodes a scene as PNG. */
export function scenePng(scene: Scene): Promise<Buffer> {
  return sharp(Buffer.from(scene.pixels.buffer, scene.pixels.byteOffset, scene.pixels.byteLength), {
    raw: { width: scene.width, height: scene.height, channels: 3 },
  })
    .png({ compressionLevel: 9, adaptiveFiltering: true })
    .toBuffer()
}

export interface WriteSceneSetOptions extends SceneOptionsInput {
  /** Start from a preset's options (default: 'default'); the other fields override it. */
  preset?: keyof typeof SCENE_PRESETS
  /** Where the Fashion-MNIST IDX files are (default /usr/share/datasets/fashion-mnist). */
  sourceDir?: string
  /** The IDX data already in memory, instead of `sourceDir`. */
  sources?: SceneSources
}

/**
 * Writes a scene set in the COCO export layout: `train/`, `valid/` and `test/` under `outDir`, each
 * with its PNGs and `_annotations.coco.json`. Files this writer made before in those folders (the
 * split's PNGs and JSON) are replaced; nothing else there is touched.
 */
export async function writeCocoSceneSet(
  outDir: string,
  options: WriteSceneSetOptions = {},
): Promise<SceneSetSummary> {
  const { preset = 'default', sourceDir, sources: given, ...input } = options
  const base = SCENE_PRESETS[preset]
  if (!base)
    throw new RangeError(`unknown scene preset "${preset}" (known: ${Object.keys(SCENE_PRESETS).join(', ')})`)
  const o = resolveSceneOptions(input, base)
  const sources = given ?? (await loadSceneSources(sourceDir))
  const set: SceneSet = {
    train: generateSceneSplit(sources, 'train', o),
    valid: generateSceneSplit(sources, 'valid', o),
    test: generateSceneSplit(sources, 'test', o),
  }
  for (const split of SCENE_SPLITS) {
    const dir = path.join(outDir, split)
    fs.mkdirSync(dir, { recursive: true })
    const ours = new RegExp(`^${split}_\\d{4,}\\.png$`)
    for (const name of fs.readdirSync(dir)) if (ours.test(name)) fs.rmSync(path.join(dir, name))
    const scenes = set[split]
    await Promise.all(
      scenes.map(async (s, i) =>
        fs.promises.writeFile(path.join(dir, sceneFileName(split, i)), await scenePng(s)),
      ),
    )
    fs.writeFileSync(path.join(dir, '_annotations.coco.json'), cocoJson(cocoDataset(scenes, split, o)))
  }
  return { ...summariseSceneSet(set, o), outDir }
}
