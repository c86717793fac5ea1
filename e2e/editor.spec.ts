import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import sharp from 'sharp'
import { expect, test, type Page } from '@playwright/test'
import { rleArea, rleIou, rleWithStroke, type Rle } from '../src-shared/domain/rle'
import type { Vec } from '../src-shared/domain/geometry'
import { serve, tempDir, type ServedHost } from './host'

const ROOT = path.resolve(__dirname, '..')
const CLI = path.join(ROOT, 'bin', 'smallset.js')
const W = 200
const H = 150

/** A picture with something to label: a gradient, a disc and a bar. */
async function picture(file: string, hue: number, format: 'png' | 'tiff' = 'png'): Promise<void> {
  const px = Buffer.alloc(W * H * 3)
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3
      const disc = Math.hypot(x - 60, y - 70) < 35
      const bar = x > 120 && x < 180 && y > 40 && y < 60
      px[i] = disc ? 230 : bar ? 40 : (x + hue) % 256
      px[i + 1] = disc ? 180 : bar ? 160 : (y * 1.5) % 256
      px[i + 2] = disc ? 40 : bar ? 220 : (hue * 2) % 256
    }
  const img = sharp(px, { raw: { width: W, height: H, channels: 3 } })
  await (format === 'png' ? img.png() : img.tiff()).toFile(file)
}

/** A project with `n` PNG images (and a TIFF last, when asked). */
async function makeProject(name: string, n: number, withTiff = false): Promise<string> {
  const work = tempDir(name)
  const src = path.join(work, 'images')
  fs.mkdirSync(src)
  for (let i = 0; i < n; i++) await picture(path.join(src, `img-${i}.png`), 40 * i)
  if (withTiff) await picture(path.join(src, 'zz-scan.tiff'), 99, 'tiff')
  const dir = path.join(work, 'project')
  execFileSync(process.execPath, [CLI, 'init', dir])
  execFileSync(process.execPath, [CLI, 'import', dir, src, '--no-progress'])
  return dir
}

let host: ServedHost | undefined
test.afterEach(async () => {
  await host?.stop()
  host = undefined
})

function store(dir: string) {
  return new Database(path.join(dir, 'project.sqlite'), { readonly: true })
}

interface Row {
  kind: string
  class_id: number | null
  geometry: string
  z: number
}
function regionsOf(dir: string, imageId: number): Row[] {
  const db = store(dir)
  try {
    return db
      .prepare(
        "SELECT kind, class_id, geometry, z FROM annotations WHERE image_id = ? AND kind <> 'tag' ORDER BY z",
      )
      .all(imageId) as Row[]
  } finally {
    db.close()
  }
}

/**
 * Maps image pixels to page coordinates, from the transform the canvas publishes, and back again the
 * way the editor does, so tests know the exact normalised coordinates a click makes.
 */
async function canvasMap(page: Page) {
  const canvas = page.getByTestId('editor-canvas')
  const attrs = await canvas.evaluate((el) => {
    const r = el.getBoundingClientRect()
    return {
      left: r.left,
      top: r.top,
      scale: Number(el.dataset.scale),
      ox: Number(el.dataset.offsetX),
      oy: Number(el.dataset.offsetY),
    }
  })
  const toPage = (x: number, y: number): Vec => [
    Math.round(attrs.left + attrs.ox + x * attrs.scale),
    Math.round(attrs.top + attrs.oy + y * attrs.scale),
  ]
  /** Page point → image pixels, in the editor's order of operations. */
  const toImage = (px: number, py: number): Vec => [
    (px - attrs.left - attrs.ox) / attrs.scale,
    (py - attrs.top - attrs.oy) / attrs.scale,
  ]
  const toNorm = (px: number, py: number): Vec => {
    const [x, y] = toImage(px, py)
    return [x / W, y / H]
  }
  return { toPage, toImage, toNorm, scale: attrs.scale }
}

async function openEditor(page: Page, url: string): Promise<number> {
  await page.goto(url)
  await page.getByRole('button', { name: 'Annotate' }).click()
  const view = page.getByTestId('annotate-view')
  await expect(view).toHaveAttribute('data-image-id', /\d+/)
  const id = Number(await view.getAttribute('data-image-id'))
  await expect(page.getByTestId('editor-canvas')).toHaveAttribute('data-drawn-image', String(id))
  return id
}

async function addClass(page: Page, name: string): Promise<void> {
  await page.getByLabel('New class name').fill(name)
  await page.getByTestId('class-panel').getByRole('button', { name: 'Add' }).click()
  await expect(page.getByTestId('class-row').filter({ hasText: name })).toBeVisible()
}

async function saved(page: Page): Promise<void> {
  await expect(page.getByTestId('save-status')).toHaveAttribute('data-state', 'saved')
}

const classIds = (dir: string): Record<string, number> => {
  const db = store(dir)
  try {
    const rows = db.prepare('SELECT id, name FROM classes').all() as { id: number; name: string }[]
    return Object.fromEntries(rows.map((r) => [r.name, r.id]))
  } finally {
    db.close()
  }
}

test('draw a box, a polygon and a brush stroke, change a class by key, undo and redo; the store holds exactly that', async ({
  page,
}, testInfo) => {
  const dir = await makeProject('draw', 3)
  host = await serve([dir])
  const imageId = await openEditor(page, host.url)
  await addClass(page, 'cat')
  await addClass(page, 'dog')
  const m = await canvasMap(page)
  expect(m.scale).toBeGreaterThan(2)

  // A box of class 1 (a new class becomes the active one: pick cat again), dragged with the mouse.
  await page.keyboard.press('1')
  await page.keyboard.press('b')
  const b0 = m.toPage(20, 30)
  const b1 = m.toPage(95, 105)
  await page.mouse.move(...b0)
  await page.mouse.down()
  await page.mouse.move(...b1, { steps: 8 })
  await page.mouse.up()
  await expect(page.getByTestId('region-row')).toHaveCount(1)

  // A polygon: four clicks, then the first point again to close it.
  await page.keyboard.press('p')
  const poly = [m.toPage(110, 20), m.toPage(190, 25), m.toPage(180, 100), m.toPage(120, 90)]
  for (const p of poly) await page.mouse.click(...p)
  await page.mouse.click(poly[0]![0] + 2, poly[0]![1] + 1)
  await expect(page.getByTestId('region-row')).toHaveCount(2)
  // The new polygon is selected: 2 gives it the class "dog" (and makes dog the active class).
  await page.keyboard.press('2')
  await expect(page.getByTestId('region-row').first()).toHaveAttribute(
    'data-class-id',
    String(classIds(dir).dog),
  )

  // A brush stroke.
  await page.keyboard.press('m')
  const stroke = [m.toPage(30, 120), m.toPage(60, 135), m.toPage(100, 125)]
  await page.mouse.move(...stroke[0]!)
  await page.mouse.down()
  const strokePts: Vec[] = [m.toImage(...stroke[0]!)]
  let from = stroke[0]!
  for (const to of stroke.slice(1)) {
    // Whole page pixels, one move at a time: the editor gets each point as it is.
    const steps = 6
    for (let i = 1; i <= steps; i++) {
      const p: Vec = [
        Math.round(from[0] + (to[0] - from[0]) * (i / steps)),
        Math.round(from[1] + (to[1] - from[1]) * (i / steps)),
      ]
      await page.mouse.move(...p)
      strokePts.push(m.toImage(...p))
    }
    from = to
  }
  await page.mouse.up()
  await expect(page.getByTestId('region-row')).toHaveCount(3)

  // Undo takes the stroke away, redo brings it back; undo of a class change, then redo.
  await page.keyboard.press('Control+z')
  await expect(page.getByTestId('region-row')).toHaveCount(2)
  await page.keyboard.press('Control+Shift+z')
  await expect(page.getByTestId('region-row')).toHaveCount(3)
  await page.keyboard.press('v')
  await page.mouse.click(...m.toPage(40, 50)) // select the box
  await page.keyboard.press('2')
  await expect(page.getByTestId('region-row').nth(2)).toHaveAttribute(
    'data-class-id',
    String(classIds(dir).dog),
  )
  await page.keyboard.press('Control+z')
  await expect(page.getByTestId('region-row').nth(2)).toHaveAttribute(
    'data-class-id',
    String(classIds(dir).cat),
  )
  await page.keyboard.press('Control+Shift+z')
  await page.keyboard.press('Control+z')
  await saved(page)
  await page.keyboard.press('Escape')
  await page.screenshot({ path: testInfo.outputPath('editor-box-polygon-mask.png') })

  // Reload: everything is in the store, exactly.
  await page.reload()
  await expect(page.getByTestId('project-name')).toBeVisible()
  const { cat, dog } = classIds(dir)
  const rows = regionsOf(dir, imageId)
  expect(rows.map((r) => [r.kind, r.class_id])).toEqual([
    ['box', cat],
    ['polygon', dog],
    ['mask', dog],
  ])
  const [bx0, by0] = m.toNorm(...b0)
  const [bx1, by1] = m.toNorm(...b1)
  expect(JSON.parse(rows[0]!.geometry)).toEqual({ x: bx0, y: by0, w: bx1 - bx0, h: by1 - by0 })
  expect(JSON.parse(rows[1]!.geometry)).toEqual({ points: poly.map((p) => m.toNorm(...p)) })
  const rle = (JSON.parse(rows[2]!.geometry) as { rle: Rle }).rle
  expect(rle.size).toEqual([H, W])
  const brush = Math.round(Math.min(W, H) / 40)
  // The stroke as the mouse drew it. Under load Chromium may hand the editor its pointer samples
  // coalesced differently from the moves sent, which shifts a few edge pixels of the brush disc:
  // the mask must match the drawn stroke almost exactly, not bit for bit.
  const expected = rleWithStroke(null, strokePts, brush / 2, false, H, W)
  expect(rleIou(rle, expected)).toBeGreaterThan(0.97)
  expect(rleArea(rle)).toBeGreaterThan(100)
  const status = store(dir)
  expect(
    (status.prepare('SELECT status FROM images WHERE id = ?').get(imageId) as { status: string }).status,
  ).toBe('labeled')
  status.close()

  // And the editor shows them again, opened from the library with a double-click.
  await page.locator(`[data-testid=thumb][data-image-id="${imageId}"]`).dblclick()
  await expect(page.getByTestId('editor-canvas')).toHaveAttribute('data-drawn-image', String(imageId))
  await expect(page.getByTestId('region-row')).toHaveCount(3)
  await expect(page.getByTestId('region-row').first()).toHaveAttribute('data-kind', 'mask')
})

test('classes: add, rename, recolour, merge, and delete only after asking', async ({ page }) => {
  const dir = await makeProject('classes', 2)
  host = await serve([dir])
  const imageId = await openEditor(page, host.url)
  await addClass(page, 'cat')
  await addClass(page, 'dgo')
  await addClass(page, 'fox')
  const m = await canvasMap(page)

  // Rename by double-click, recolour with the colour input.
  await page.getByTestId('class-row').filter({ hasText: 'dgo' }).locator('.name').dblclick()
  await page.getByLabel('New name for dgo').fill('dog')
  await page.getByLabel('New name for dgo').press('Enter')
  await expect(page.getByTestId('class-row').filter({ hasText: 'dog' })).toBeVisible()
  await page.getByLabel('Colour of dog').fill('#00aa55')

  // One box of each of fox and dog (keys 3 and 2 pick the class first).
  await page.keyboard.press('b')
  await page.keyboard.press('3')
  await page.mouse.move(...m.toPage(10, 10))
  await page.mouse.down()
  await page.mouse.move(...m.toPage(60, 60), { steps: 4 })
  await page.mouse.up()
  // Escape deselects it first: with a region selected, a number key would give it that class.
  await page.keyboard.press('Escape')
  await page.keyboard.press('2')
  await page.mouse.move(...m.toPage(100, 10))
  await page.mouse.down()
  await page.mouse.move(...m.toPage(150, 60), { steps: 4 })
  await page.mouse.up()
  await saved(page)
  const ids = classIds(dir)
  expect(regionsOf(dir, imageId).map((r) => r.class_id)).toEqual([ids.fox, ids.dog])
  const db = store(dir)
  expect(db.prepare('SELECT color FROM classes WHERE name = ?').get('dog')).toEqual({ color: '#00aa55' })
  db.close()

  // Merge fox into cat: asked first, then every fox annotation is a cat.
  await page
    .getByTestId('class-row')
    .filter({ hasText: 'fox' })
    .getByTitle('Merge into another class')
    .click()
  const merge = page.getByRole('dialog', { name: 'Merge class' })
  await expect(merge).toContainText('1 annotation(s) on 1 image(s)')
  await merge.getByLabel('Merge into').selectOption({ label: 'cat' })
  await merge.getByRole('button', { name: 'Merge' }).click()
  await expect(page.getByTestId('class-row')).toHaveCount(2)
  expect(regionsOf(dir, imageId).map((r) => r.class_id)).toEqual([ids.cat, ids.dog])

  // Delete dog: it is in use, so the editor asks; cancel keeps it, confirm deletes it and its box.
  await page.getByLabel('Delete dog').click()
  const del = page.getByRole('dialog', { name: 'Delete class' })
  await expect(del).toContainText('1 annotation(s) on 1 image(s) use this class')
  await del.getByRole('button', { name: 'Cancel' }).click()
  expect(classIds(dir).dog).toBe(ids.dog)
  await page.getByLabel('Delete dog').click()
  await page.getByRole('button', { name: /Delete class and 1 annotation/ }).click()
  await expect(page.getByTestId('class-row')).toHaveCount(1)
  await expect(page.getByTestId('region-row')).toHaveCount(1)
  expect(regionsOf(dir, imageId).map((r) => r.class_id)).toEqual([ids.cat])
  expect(classIds(dir).dog).toBeUndefined()
})

test('navigation, status, the filmstrip, and an image that cannot be decoded', async ({ page }, testInfo) => {
  const dir = await makeProject('nav', 4, true)
  // The TIFF imported fine (the host shows browsers a PNG of it); now its stored bytes are damaged,
  // as a bad disk might leave them, so that no browser can decode what is served.
  const w = new Database(path.join(dir, 'project.sqlite'))
  w.prepare("UPDATE images SET format = 'png' WHERE id = (SELECT MAX(id) FROM images)").run()
  w.prepare(
    'UPDATE image_data SET bytes = randomblob(64) WHERE image_id = (SELECT MAX(id) FROM images)',
  ).run()
  w.close()
  host = await serve([dir])
  const first = await openEditor(page, host.url)
  await addClass(page, 'thing')
  const view = page.getByTestId('annotate-view')
  const canvas = page.getByTestId('editor-canvas')
  await expect(page.getByTestId('image-position')).toHaveText('1 / 5')
  await expect(page.getByTestId('film-item')).toHaveCount(5)

  // Tag the first image (tag tool, click) and mark it reviewed with R.
  await page.keyboard.press('t')
  await canvas.click()
  await page.keyboard.press('r')
  await expect(page.getByTestId('image-status')).toHaveValue('reviewed')

  await page.keyboard.press('d')
  await expect(view).toHaveAttribute('data-image-id', String(first + 1))
  await expect(canvas).toHaveAttribute('data-drawn-image', String(first + 1))
  await page.keyboard.press('ArrowRight')
  await expect(view).toHaveAttribute('data-image-id', String(first + 2))
  await page.keyboard.press('a')
  await expect(view).toHaveAttribute('data-image-id', String(first + 1))
  await page.keyboard.press('ArrowLeft')
  await expect(view).toHaveAttribute('data-image-id', String(first))
  await expect(page.getByTestId('film-item').first()).toHaveAttribute('data-status', 'reviewed')
  const db = store(dir)
  const row = db.prepare(
    'SELECT status, (SELECT class_id FROM annotations WHERE image_id = images.id AND kind = ?) AS tag FROM images WHERE id = ?',
  )
  expect(row.get('tag', first)).toEqual({ status: 'reviewed', tag: classIds(dir).thing })
  db.close()

  // Next unlabeled skips the reviewed one.
  await page.keyboard.press('n')
  await expect(view).toHaveAttribute('data-image-id', String(first + 1))

  // The filmstrip opens the damaged image, which Chromium cannot decode: an error tile, not a blank canvas.
  await page.getByTestId('film-item').last().click()
  await expect(view).toHaveAttribute('data-image-id', String(first + 4))
  await expect(page.getByTestId('decode-error')).toBeVisible()
  await expect(page.getByTestId('decode-error')).toContainText('cannot decode')
  await expect(canvas).toHaveAttribute('data-drawn-image', String(first + 4))
  // It can still be labelled: a box over the placeholder.
  const m = await canvasMap(page)
  await page.keyboard.press('b')
  await page.mouse.move(...m.toPage(20, 20))
  await page.mouse.down()
  await page.mouse.move(...m.toPage(80, 80), { steps: 3 })
  await page.mouse.up()
  await page.screenshot({ path: testInfo.outputPath('decode-error.png') })
  await saved(page)
  expect(regionsOf(dir, first + 4)).toHaveLength(1)

  // A zero-area box is refused, and the editor says why.
  await page.mouse.click(...m.toPage(120, 120))
  await expect(page.getByTestId('notice')).toContainText('needs some width and height')
  expect(regionsOf(dir, first + 4)).toHaveLength(1)
})

test('killing the host mid-stroke loses only that stroke, and the project opens intact', async ({ page }) => {
  const dir = await makeProject('kill', 2)
  host = await serve([dir])
  const imageId = await openEditor(page, host.url)
  await addClass(page, 'cat')
  const m = await canvasMap(page)
  await page.keyboard.press('b')
  await page.mouse.move(...m.toPage(10, 10))
  await page.mouse.down()
  await page.mouse.move(...m.toPage(70, 50), { steps: 3 })
  await page.mouse.up()
  await saved(page)

  // A stroke under way when the host dies.
  await page.keyboard.press('m')
  await page.mouse.move(...m.toPage(100, 100))
  await page.mouse.down()
  await page.mouse.move(...m.toPage(150, 120), { steps: 5 })
  await host.stop('SIGKILL')

  const db = store(dir)
  expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
  db.close()
  host = await serve([dir])
  const again = await openEditor(page, host.url)
  expect(again).toBe(imageId + 1) // the first image is labeled now; the editor opens the next unlabeled one
  expect(regionsOf(dir, imageId).map((r) => r.kind)).toEqual(['box'])
  await page.getByTestId('film-item').first().click()
  await expect(page.getByTestId('region-row')).toHaveCount(1)
})

test('a 28×28 image stays crisp at high zoom: no pixel is blended with its neighbours', async ({
  page,
}, testInfo) => {
  const work = tempDir('crisp')
  const src = path.join(work, 'images')
  fs.mkdirSync(src)
  const px = Buffer.alloc(28 * 28)
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) px[y * 28 + x] = (x + y) % 2 ? 255 : 0
  await sharp(px, { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toFile(path.join(src, 'checker.png'))
  const dir = path.join(work, 'project')
  execFileSync(process.execPath, [CLI, 'init', dir])
  execFileSync(process.execPath, [CLI, 'import', dir, src, '--no-progress'])
  host = await serve([dir])
  await openEditor(page, host.url)
  const canvas = page.getByTestId('editor-canvas')

  /** Pixels of the image layer inside the image (2 px in from its edges) that are neither black nor white. */
  const blended = () =>
    canvas.evaluate((el) => {
      const c = el.querySelector('canvas')!
      const ctx = c.getContext('2d')!
      const s = Number(el.dataset.scale)
      const x0 = Math.max(0, Math.ceil(Number(el.dataset.offsetX)) + 2)
      const y0 = Math.max(0, Math.ceil(Number(el.dataset.offsetY)) + 2)
      const x1 = Math.min(c.width, Math.floor(Number(el.dataset.offsetX) + 28 * s) - 2)
      const y1 = Math.min(c.height, Math.floor(Number(el.dataset.offsetY) + 28 * s) - 2)
      const d = ctx.getImageData(x0, y0, x1 - x0, y1 - y0).data
      let grey = 0
      for (let i = 0; i < d.length; i += 4) if (d[i]! > 20 && d[i]! < 235) grey++
      return { grey, checked: d.length / 4, scale: s }
    })
  const fit = await blended()
  expect(fit.scale).toBeGreaterThan(15)
  expect(fit.checked).toBeGreaterThan(10_000)
  expect(fit.grey).toBe(0)
  // Zoom in further with the wheel, around the middle of the canvas.
  const box = (await canvas.boundingBox())!
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
  for (let i = 0; i < 3; i++) await page.mouse.wheel(0, -300)
  await expect.poll(async () => (await blended()).scale).toBeGreaterThan(fit.scale * 2)
  expect((await blended()).grey).toBe(0)
  await page.screenshot({ path: testInfo.outputPath('crisp-28x28.png') })
})
