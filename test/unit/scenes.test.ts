import fs from 'node:fs'
import path from 'node:path'
import * as prettier from 'prettier'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  DEFAULT_SCENE_OPTIONS,
  FASHION_MNIST_CLASS_NAMES,
  FASHION_MNIST_DIR,
  SCENE_SPLITS,
  TINY_SCENE_OPTIONS,
  cocoDataset,
  cocoJson,
  fashionMnistAvailable,
  generateSceneSet,
  itemMask,
  loadSceneSources,
  resolveSceneOptions,
  summariseSceneSet,
  writeCocoSceneSet,
  type CocoDataset,
  type ItemSource,
  type Scene,
  type SceneOptions,
  type SceneSet,
  type SceneSources,
} from '../../src-main/project/scenes'
import { rleArea, rleBounds, rleFromString, rleMerge, rleProblem } from '../../src-shared/domain/rle'
import { makeTempDir, removeTempDir } from './helpers/fixtures'

const HAVE_FMNIST = fashionMnistAvailable()
const NEEDS_FMNIST = HAVE_FMNIST
  ? ''
  : ` (skipped: Fashion-MNIST is not in ${FASHION_MNIST_DIR}; apt-get install dataset-fashion-mnist, as scripts/test-all.sh does)`
const SHIPPED = path.resolve(__dirname, '..', '..', 'resources', 'detection-demo')

/** Stand-in items: a filled shape per label, with a speck and a pinhole, so the tests need no data. */
function synthSource(set: 'train' | 't10k', count: number): ItemSource {
  const rows = 28
  const cols = 28
  const images = new Uint8Array(count * rows * cols)
  const labels = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    const label = i % 10
    labels[i] = label
    const w = 8 + ((label * 3 + i) % 16)
    const h = 8 + ((label * 5 + i) % 16)
    const x0 = Math.floor((cols - w) / 2)
    const y0 = Math.floor((rows - h) / 2)
    const base = i * rows * cols
    for (let y = y0; y < y0 + h; y++)
      for (let x = x0; x < x0 + w; x++) {
        const round = label % 2 ? ((x - 14) / (w / 2)) ** 2 + ((y - 14) / (h / 2)) ** 2 <= 1 : true
        if (round) images[base + y * cols + x] = 60 + ((x * 7 + y * 13 + i) % 190)
      }
    images[base + 14 * cols + 14] = 0 // a pinhole, closed
    images[base + 1 * cols + 1] = 200 // a speck, dropped
  }
  return { set, count, rows, cols, images, labels }
}

const SYNTH: SceneSources = { train: synthSource('train', 600), t10k: synthSource('t10k', 200) }

/** Every invariant of one scene's annotations. */
function checkScene(s: Scene, o: SceneOptions): void {
  expect(s.pixels.length).toBe(s.width * s.height * 3)
  expect(s.width).toBeGreaterThanOrEqual(o.width[0])
  expect(s.width).toBeLessThanOrEqual(o.width[1])
  expect(s.height).toBeGreaterThanOrEqual(o.height[0])
  expect(s.height).toBeLessThanOrEqual(o.height[1])
  for (const inst of s.instances) {
    expect(inst.mask.size).toEqual([s.height, s.width])
    expect(rleProblem(inst.mask)).toBeNull() // so no mask pixel lies outside the image
    const area = rleArea(inst.mask)
    expect(area).toBeGreaterThan(0)
    expect(inst.area).toBe(area)
    const b = rleBounds(inst.mask)
    expect(inst.bbox).toEqual([b.x, b.y, b.width, b.height])
    expect(b.x + b.width).toBeLessThanOrEqual(s.width)
    expect(b.y + b.height).toBeLessThanOrEqual(s.height)
    expect(area).toBeGreaterThanOrEqual(o.minVisiblePixels)
    expect(area).toBeGreaterThanOrEqual(o.minVisibleFraction * inst.fullArea)
    expect(area).toBeLessThanOrEqual(inst.fullArea)
    expect(inst.categoryId).toBe(o.classes.indexOf(inst.label) + 1)
    expect(inst.className).toBe(FASHION_MNIST_CLASS_NAMES[inst.label])
  }
  for (let i = 0; i < s.instances.length; i++)
    for (let j = i + 1; j < s.instances.length; j++)
      expect(rleArea(rleMerge(s.instances[i]!.mask, s.instances[j]!.mask, 'intersect'))).toBe(0)
}

function checkSet(set: SceneSet, o: SceneOptions, allClassesIn: readonly string[] = SCENE_SPLITS): void {
  for (const split of SCENE_SPLITS) {
    expect(set[split]).toHaveLength(o.counts[split])
    for (const s of set[split]) checkScene(s, o)
  }
  const summary = summariseSceneSet(set, o)
  for (const split of allClassesIn)
    for (const c of o.classes)
      expect(summary.splits[split as 'train'].byClass[FASHION_MNIST_CLASS_NAMES[c]!]).toBeGreaterThan(0)
  // Occlusion happened somewhere, and scene sizes vary (letterboxing gets exercised).
  const all = SCENE_SPLITS.flatMap((s) => set[s])
  expect(all.some((s) => s.instances.some((i) => i.area < i.fullArea))).toBe(true)
  expect(new Set(all.map((s) => `${s.width}x${s.height}`)).size).toBeGreaterThan(1)
}

/** Checks a written `_annotations.coco.json` and its images. */
async function checkCocoFolder(dir: string, expectImages: number): Promise<CocoDataset> {
  const coco = JSON.parse(fs.readFileSync(path.join(dir, '_annotations.coco.json'), 'utf8')) as CocoDataset
  expect(coco.images).toHaveLength(expectImages)
  const imageIds = new Set(coco.images.map((i) => i.id))
  expect(imageIds.size).toBe(coco.images.length)
  const catIds = new Set(coco.categories.map((c) => c.id))
  expect(catIds.size).toBe(coco.categories.length)
  expect(Math.min(...catIds)).toBe(1)
  for (const c of coco.categories) expect(c.supercategory).toBe('fashion')
  const annIds = new Set(coco.annotations.map((a) => a.id))
  expect(annIds.size).toBe(coco.annotations.length)
  expect(JSON.stringify(coco.info)).toMatch(/Fashion-MNIST/)
  expect(coco.info.seed).toEqual(expect.any(Number))
  expect(JSON.stringify(coco.licenses)).toMatch(/MIT.*Zalando/)
  const byId = new Map(coco.images.map((i) => [i.id, i]))
  for (const a of coco.annotations) {
    const img = byId.get(a.image_id)
    expect(img, `annotation ${a.id}'s image ${a.image_id}`).toBeDefined()
    expect(catIds.has(a.category_id)).toBe(true)
    expect(a.iscrowd).toBe(0)
    expect(a.segmentation.size).toEqual([img!.height, img!.width])
    const rle = rleFromString(a.segmentation.counts, img!.height, img!.width)
    expect(rleProblem(rle)).toBeNull()
    expect(rleArea(rle)).toBe(a.area)
    const b = rleBounds(rle)
    expect(a.bbox).toEqual([b.x, b.y, b.width, b.height])
  }
  for (const img of coco.images) {
    const meta = await sharp(path.join(dir, img.file_name)).metadata()
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', img.width, img.height, 3])
  }
  return coco
}

describe('itemMask', () => {
  it('keeps grey above the threshold, closes pinholes, keeps real holes and drops specks', () => {
    const w = 12
    const h = 12
    const g = new Uint8Array(w * h)
    for (let y = 2; y < 10; y++) for (let x = 2; x < 10; x++) g[y * w + x] = 100
    g[3 * w + 3] = 5 // a pinhole: closed
    for (let y = 5; y < 8; y++) for (let x = 5; x < 8; x++) g[y * w + x] = 10 // a 9-pixel hole: kept
    g[0 * w + 11] = 255 // a speck: dropped
    g[11 * w + 0] = 15 // below the threshold
    const m = itemMask(g, w, h, 20, 4)
    expect(m[3 * w + 3]).toBe(1)
    expect(m[6 * w + 6]).toBe(0)
    expect(m[0 * w + 11]).toBe(0)
    expect(m[11 * w + 0]).toBe(0)
    expect(m.reduce((a, b) => a + b, 0)).toBe(64 - 9)
    expect(itemMask(g, w, h, 20, 0)[3 * w + 3]).toBe(0)
  })

  it('is empty for an empty item', () => {
    expect(itemMask(new Uint8Array(16), 4, 4, 20).every((v) => v === 0)).toBe(true)
  })
})

describe('cocoJson', () => {
  const prettierOk = async (text: string) =>
    prettier.check(text, { ...(await prettier.resolveConfig(path.join(SHIPPED, 'x.json'))), parser: 'json' })

  it('lays JSON out as Prettier does, near the line-width edge too', async () => {
    for (let n = 60; n < 120; n++) {
      const doc = {
        a: [{ s: 'x'.repeat(n), k: [1, 2] }],
        b: [
          { id: 1, name: 'y'.repeat(n - 20) },
          { id: 2, nested: { deep: 'z'.repeat(n - 40), list: [] } },
        ],
        c: { d: {}, e: [[1, 2], [3]], f: 'w'.repeat(n) },
        g: [],
      }
      const text = cocoJson(doc)
      expect(JSON.parse(text)).toEqual(doc)
      expect(await prettierOk(text), text).toBe(true)
    }
  })
})

describe('resolveSceneOptions', () => {
  it('fills in the defaults: 50/10/50, five classes', () => {
    const o = resolveSceneOptions({ counts: { valid: 3 } })
    expect(o.counts).toEqual({ train: 50, valid: 3, test: 50 })
    expect(o.classes.map((c) => FASHION_MNIST_CLASS_NAMES[c])).toEqual([
      'T-shirt/top',
      'Trouser',
      'Sneaker',
      'Bag',
      'Ankle boot',
    ])
  })

  it('refuses bad options, saying which', () => {
    expect(() => resolveSceneOptions({ classes: [0, 10] })).toThrow(/classes: 10/)
    expect(() => resolveSceneOptions({ classes: [1, 1] })).toThrow(/twice/)
    expect(() => resolveSceneOptions({ classes: [] })).toThrow(/at least one/)
    expect(() => resolveSceneOptions({ width: [200, 100] })).toThrow(/width/)
    expect(() => resolveSceneOptions({ counts: { train: -1 } })).toThrow(/counts.train/)
    expect(() => resolveSceneOptions({ seed: 1.5 })).toThrow(/seed/)
  })
})

describe('scene generation (stand-in items)', () => {
  it('is deterministic for a seed, and another seed gives another set', () => {
    const a = generateSceneSet(SYNTH, { ...TINY_SCENE_OPTIONS, seed: 5 })
    const b = generateSceneSet(SYNTH, { ...TINY_SCENE_OPTIONS, seed: 5 })
    const c = generateSceneSet(SYNTH, { ...TINY_SCENE_OPTIONS, seed: 6 })
    expect(b).toEqual(a)
    expect(c.train[0]!.pixels).not.toEqual(a.train[0]!.pixels)
  })

  it('keeps one split as it is when another split’s count changes', () => {
    const a = generateSceneSet(SYNTH, { ...TINY_SCENE_OPTIONS, counts: { train: 4, valid: 2, test: 3 } })
    const b = generateSceneSet(SYNTH, { ...TINY_SCENE_OPTIONS, counts: { train: 1, valid: 2, test: 3 } })
    expect(b.test).toEqual(a.test)
    expect(b.train[0]).toEqual(a.train[0])
  })

  it('makes masks, boxes and occlusions that hold every invariant', () => {
    const o = resolveSceneOptions({ seed: 11, counts: { train: 30, valid: 10, test: 20 } })
    checkSet(generateSceneSet(SYNTH, o), o)
    const t = resolveSceneOptions({ seed: 3 }, TINY_SCENE_OPTIONS)
    checkSet(generateSceneSet(SYNTH, t), t, ['train'])
  })

  it('draws train items from the train files, valid and test from distinct halves of t10k', () => {
    const o = resolveSceneOptions({ seed: 2, counts: { train: 20, valid: 20, test: 20 } })
    const set = generateSceneSet(SYNTH, o)
    const items = (split: 'train' | 'valid' | 'test') =>
      set[split].flatMap((s) => s.instances.map((i) => i.source))
    expect(items('train').every((s) => s.set === 'train')).toBe(true)
    expect(items('valid').every((s) => s.set === 't10k' && s.index < 100)).toBe(true)
    expect(items('test').every((s) => s.set === 't10k' && s.index >= 100)).toBe(true)
    // Only the kept classes appear.
    expect(
      SCENE_SPLITS.every((sp) => set[sp].every((s) => s.instances.every((i) => o.classes.includes(i.label)))),
    ).toBe(true)
  })

  it('keeps only the classes asked for, numbered from 1 in that order', () => {
    const o = resolveSceneOptions(
      { classes: [8, 3], counts: { train: 6, valid: 0, test: 2 } },
      TINY_SCENE_OPTIONS,
    )
    const set = generateSceneSet(SYNTH, o)
    const coco = cocoDataset(set.train, 'train', o)
    expect(coco.categories).toEqual([
      { id: 1, name: 'Bag', supercategory: 'fashion' },
      { id: 2, name: 'Dress', supercategory: 'fashion' },
    ])
    expect(set.valid).toEqual([])
    for (const a of coco.annotations) expect([1, 2]).toContain(a.category_id)
  })

  it('writes the COCO layout from sources in memory', async () => {
    const dir = makeTempDir()
    try {
      const summary = await writeCocoSceneSet(dir, { preset: 'tiny', sources: SYNTH, seed: 9 })
      for (const split of SCENE_SPLITS) {
        const coco = await checkCocoFolder(path.join(dir, split), TINY_SCENE_OPTIONS.counts[split])
        expect(coco.annotations).toHaveLength(summary.splits[split].instances)
        const file = path.join(dir, split, '_annotations.coco.json')
        const config = await prettier.resolveConfig(path.join(SHIPPED, 'x.json'))
        expect(await prettier.check(fs.readFileSync(file, 'utf8'), { ...config, parser: 'json' })).toBe(true)
      }
    } finally {
      removeTempDir(dir)
    }
  })
})

describe('scene sets from real Fashion-MNIST items', () => {
  let sources: SceneSources
  let dir: string
  beforeAll(async () => {
    dir = makeTempDir()
    if (HAVE_FMNIST) sources = await loadSceneSources()
  })
  afterAll(() => removeTempDir(dir))

  it.skipIf(!HAVE_FMNIST)(`makes the tiny preset in well under a second${NEEDS_FMNIST}`, () => {
    const t0 = performance.now()
    const set = generateSceneSet(sources, TINY_SCENE_OPTIONS)
    const ms = performance.now() - t0
    expect(ms).toBeLessThan(1000)
    checkSet(set, TINY_SCENE_OPTIONS, ['train', 'test'])
  })

  it.skipIf(!HAVE_FMNIST)(
    `makes the default set: every invariant, every class in every split${NEEDS_FMNIST}`,
    () => {
      const set = generateSceneSet(sources, DEFAULT_SCENE_OPTIONS)
      checkSet(set, DEFAULT_SCENE_OPTIONS)
      for (const split of SCENE_SPLITS) {
        const seen = new Set<string>()
        for (const s of set[split])
          for (const i of s.instances) {
            const key = `${i.source.set}:${i.source.index}`
            expect(seen.has(key), `${key} used twice in ${split}`).toBe(false)
            seen.add(key)
          }
      }
    },
  )

  it.skipIf(!HAVE_FMNIST)(
    `writes valid COCO folders whose PNGs decode to the stated size${NEEDS_FMNIST}`,
    async () => {
      const out = path.join(dir, 'tiny')
      const summary = await writeCocoSceneSet(out, { preset: 'tiny' })
      expect(summary.outDir).toBe(out)
      for (const split of SCENE_SPLITS) {
        const coco = await checkCocoFolder(path.join(out, split), TINY_SCENE_OPTIONS.counts[split])
        expect(coco.annotations).toHaveLength(summary.splits[split].instances)
        const perClass = Object.fromEntries(coco.categories.map((c) => [c.name, 0]))
        for (const a of coco.annotations) perClass[coco.categories[a.category_id - 1]!.name]!++
        expect(perClass).toEqual(summary.splits[split].byClass)
      }
      // Written again with fewer images: the old ones go, nothing else does.
      fs.writeFileSync(path.join(out, 'train', 'notes.txt'), 'mine')
      await writeCocoSceneSet(out, { preset: 'tiny', counts: { train: 2 } })
      expect(fs.readdirSync(path.join(out, 'train')).sort()).toEqual([
        '_annotations.coco.json',
        'notes.txt',
        'train_0001.png',
        'train_0002.png',
      ])
      await checkCocoFolder(path.join(out, 'train'), 2)
    },
  )

  it.skipIf(!HAVE_FMNIST || !fs.existsSync(SHIPPED))(
    `the shipped resources/detection-demo is what the generator makes (else: npx smallset scenes resources/detection-demo)${NEEDS_FMNIST}`,
    async () => {
      const set = generateSceneSet(sources, DEFAULT_SCENE_OPTIONS)
      for (const split of SCENE_SPLITS) {
        const shipped = await checkCocoFolder(path.join(SHIPPED, split), DEFAULT_SCENE_OPTIONS.counts[split])
        expect(shipped).toEqual(
          JSON.parse(JSON.stringify(cocoDataset(set[split], split, DEFAULT_SCENE_OPTIONS))),
        )
        const first = await sharp(path.join(SHIPPED, split, shipped.images[0]!.file_name))
          .raw()
          .toBuffer()
        expect(Buffer.from(set[split][0]!.pixels).equals(first)).toBe(true)
      }
    },
  )
})
