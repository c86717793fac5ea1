#!/usr/bin/env node
// The annotation editor's figures, in Debian's Chromium against the web host (one JSON object on stdout):
//  - box_drag: frame times while dragging out a new box on a 4000×3000 image that already holds 100
//    polygons and 20 masks (aim: ≥ 50 fps). Frames are timed with requestAnimationFrame in the page.
//  - pan: the same scene while panning (every layer redraws), for comparison.
//  - overlay_pan / overlay_toggle: the same scene with a run's 100 predicted boxes and masks drawn
//    over it (the editor's predictions overlay): frame times while panning, and from pressing O
//    (show or hide the overlay) to the frame that shows it (aim: ≥ 50 fps, i.e. ≤ 20 ms).
//  - next_image: in a 2,000-image project, from the "next" key press to the next image drawn on the
//    canvas (the canvas's `smallset:image-drawn` performance mark), pressing about once a second as a
//    person labelling would (aim: < 100 ms); and pressed back to back (`next_image_rapid`).
// Needs `npm run build`. Makes its own projects in a temporary folder with the built CLI.
//   node scripts/bench/editor.mjs [--images 2000] [--keep]
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from '@playwright/test'
import { chromiumLaunchOptions } from '../lib/chromium.mjs'
import sharp from 'sharp'
import Database from 'better-sqlite3'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const cli = path.join(root, 'bin', 'smallset.js')
const args = process.argv.slice(2)
const N_IMAGES = Number(args[args.indexOf('--images') + 1]) || 2000
const KEEP = args.includes('--keep')
const log = (...a) => console.error('[bench:editor]', ...a)
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]
}
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

if (!fs.existsSync(path.join(root, 'out', 'main', 'cli.js'))) throw new Error('run "npm run build" first')
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'smallset-bench-editor-'))
const smallset = (...a) =>
  execFileSync(process.execPath, [cli, ...a], { stdio: ['ignore', 'pipe', 'inherit'] })

// ---------------------------------------------------------------- data

/** A seeded random stream. */
function rng(seed) {
  let a = seed >>> 0 || 1
  return () => {
    a ^= a << 13
    a >>>= 0
    a ^= a >>> 17
    a ^= a << 5
    a >>>= 0
    return a / 2 ** 32
  }
}

/** A smooth colour field with some discs, as raw RGB. */
function scene(w, h, seed) {
  const r = rng(seed)
  const px = Buffer.alloc(w * h * 3)
  const discs = Array.from({ length: 6 }, () => [r() * w, r() * h, (0.05 + 0.1 * r()) * Math.min(w, h)])
  const k = r() * 255
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3
      const inDisc = discs.some(([cx, cy, rad]) => (x - cx) ** 2 + (y - cy) ** 2 < rad * rad)
      px[i] = inDisc ? 230 : (x * 255) / w
      px[i + 1] = inDisc ? 190 : (y * 255) / h
      px[i + 2] = (k + (inDisc ? 60 : 0)) % 256
    }
  return px
}

/** COCO RLE (column-major) of a disc, written down column by column. */
function discRle(h, w, cx, cy, rad) {
  const counts = []
  let zeros = 0
  for (let x = 0; x < w; x++) {
    const dx = x + 0.5 - cx
    if (Math.abs(dx) > rad) {
      zeros += h
      continue
    }
    const half = Math.sqrt(rad * rad - dx * dx)
    const y0 = Math.max(0, Math.ceil(cy - half - 0.5))
    const y1 = Math.min(h, Math.ceil(cy + half - 0.5))
    if (y1 <= y0) {
      zeros += h
      continue
    }
    counts.push(zeros + y0, y1 - y0)
    zeros = h - y1
  }
  counts.push(zeros)
  return { size: [h, w], counts }
}

/** COCO's compressed counts string, as pycocotools writes it (see src-shared/domain/rle.ts). */
function rleToString(counts) {
  let out = ''
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i]
    if (i > 2) x -= counts[i - 2]
    let more = true
    while (more) {
      let ch = x & 0x1f
      x = Math.floor(x / 32)
      more = ch & 0x10 ? x !== -1 : x !== 0
      if (more) ch |= 0x20
      out += String.fromCharCode(ch + 48)
    }
  }
  return out
}

/**
 * A finished detection run with 100 predictions (boxes, half with masks) of one image, written
 * straight into the store while no host has it open: the overlay's load, without training one.
 */
function storePredictions(dir, imageId, classIds, W, H) {
  const db = new Database(path.join(dir, 'project.sqlite'))
  try {
    const runId = Number(
      db
        .prepare(
          "INSERT INTO runs (name, task, status, config) VALUES ('bench overlay', 'segment', 'done', ?)",
        )
        .run(JSON.stringify({ task: 'segment', model: 'mobilenet-v2', epochs: 1 })).lastInsertRowid,
    )
    const ins = db.prepare(
      'INSERT INTO predictions (run_id, epoch, image_id, kind, class_id, score, rank, geometry) VALUES (?, -2, ?, ?, ?, ?, ?, ?)',
    )
    const r = rng(9)
    for (let i = 0; i < 100; i++) {
      const rad = 60 + r() * 160
      const cx = rad + r() * (W - 2 * rad)
      const cy = rad + r() * (H - 2 * rad)
      const box = { x: (cx - rad) / W, y: (cy - rad) / H, w: (2 * rad) / W, h: (2 * rad) / H }
      const mask =
        i % 2 === 0 ? { size: [H, W], counts: rleToString(discRle(H, W, cx, cy, rad).counts) } : null
      ins.run(
        runId,
        imageId,
        mask ? 'mask' : 'box',
        classIds[i % 2],
        0.99 - i * 0.009,
        i,
        JSON.stringify(mask ? { box, mask } : { box }),
      )
    }
    return runId
  } finally {
    db.close()
  }
}

/** A star-shaped polygon (normalised). */
function star(r, w, h) {
  const cx = 0.1 + 0.8 * r()
  const cy = 0.1 + 0.8 * r()
  const n = 8 + Math.floor(r() * 16)
  const rad = (40 + 160 * r()) / Math.max(w, h)
  return Array.from({ length: n }, (_, i) => {
    const a = (2 * Math.PI * i) / n
    const rr = rad * (i % 2 ? 0.55 : 1)
    return [Math.min(1, Math.max(0, cx + rr * Math.cos(a))), Math.min(1, Math.max(0, cy + rr * Math.sin(a)))]
  })
}

// ---------------------------------------------------------------- host

async function serve(dir) {
  const child = spawn(process.execPath, [cli, 'serve', dir], { stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      const m = /Open (\S+)/.exec(out)
      if (m) resolve(m[1])
    })
    child.on('exit', (c) => reject(new Error(`serve exited ${c}`)))
  })
  const u = new URL(url)
  const token = u.searchParams.get('token')
  const api = async (channel, req) => {
    const r = await fetch(`${u.origin}/api/call/${channel}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Smallset-Token': token },
      body: JSON.stringify(req),
    })
    const res = await r.json()
    if (!res.ok) throw new Error(`${channel}: ${res.error.message}`)
    return res.value
  }
  return { url, api, stop: () => child.kill('SIGTERM') }
}

const browser = await chromium.launch(chromiumLaunchOptions)

async function openEditor(url) {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } })
  await page.goto(url)
  await page.getByRole('button', { name: 'Annotate' }).click()
  await page.waitForFunction(() => {
    const v = document.querySelector('[data-testid=annotate-view]')
    const c = document.querySelector('[data-testid=editor-canvas]')
    return (
      v && c && v.getAttribute('data-image-id') && c.dataset.drawnImage === v.getAttribute('data-image-id')
    )
  })
  return page
}

/**
 * A drag as a mouse makes it: one pointer move a frame for `n` frames, along a wavy line from `a` to `b`
 * (page pixels). The moves are dispatched in the page at each animation frame, after a real press.
 * Returns the frame intervals, the time each move took to handle (editor + React), and the time the
 * Konva layers took to draw.
 */
async function dragFrames(page, a, b, n, { space = false } = {}) {
  if (space) await page.keyboard.down(' ')
  await page.mouse.move(a[0], a[1])
  await page.mouse.down()
  const stats = await page.evaluate(
    ({ a, b, n }) =>
      new Promise((resolve) => {
        const el = document.querySelector('[data-testid=editor-canvas]')
        const layers = window.Konva.stages[0].getLayers()
        const draws = []
        let drawStart = 0
        const before = () => (drawStart = performance.now())
        const after = () => draws.push(performance.now() - drawStart)
        for (const l of layers) {
          l.on('beforeDraw.bench', before)
          l.on('draw.bench', after)
        }
        const frames = []
        const handle = []
        let i = 0
        const step = (t) => {
          frames.push(t)
          if (i++ >= n) {
            for (const l of layers) l.off('.bench')
            const gaps = frames.slice(1).map((x, k) => x - frames[k])
            return resolve({ gaps, handle, draws })
          }
          const u = i / n
          const x = a[0] + u * (b[0] - a[0])
          const y = a[1] + u * (b[1] - a[1]) + 15 * Math.sin(u * 14)
          const h0 = performance.now()
          el.dispatchEvent(
            new PointerEvent('pointermove', {
              clientX: x,
              clientY: y,
              bubbles: true,
              pointerId: 1,
              buttons: 1,
              isPrimary: true,
            }),
          )
          handle.push(performance.now() - h0)
          requestAnimationFrame(step)
        }
        requestAnimationFrame(step)
      }),
    { a, b, n },
  )
  await page.mouse.move(b[0], b[1])
  await page.mouse.up()
  if (space) await page.keyboard.up(' ')
  const { gaps, handle, draws } = stats
  return {
    frames: gaps.length,
    fps: round(1000 / (gaps.reduce((x, y) => x + y, 0) / gaps.length)),
    frame_ms_p50: round(quantile(gaps, 0.5)),
    frame_ms_p95: round(quantile(gaps, 0.95)),
    frame_ms_max: round(Math.max(...gaps)),
    frames_over_20ms: gaps.filter((g) => g > 20).length,
    move_handling_ms_p50: round(quantile(handle, 0.5), 2),
    move_handling_ms_p95: round(quantile(handle, 0.95), 2),
    layer_draw_ms_p50: round(quantile(draws, 0.5), 2),
    layer_draw_ms_p95: round(quantile(draws, 0.95), 2),
  }
}

const result = {
  benchmark: 'editor',
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
  browser: `chromium ${browser.version()} (headless, --disable-gpu: software rendering)`,
}

try {
  // ---------------------------------------------------------------- 1. dragging a box on a busy 4000×3000 image
  {
    const W = 4000
    const H = 3000
    const dir = path.join(work, 'big')
    const src = path.join(work, 'big-src')
    fs.mkdirSync(src)
    log('making a 4000×3000 image…')
    await sharp(scene(W, H, 7), { raw: { width: W, height: H, channels: 3 } })
      .jpeg({ quality: 85 })
      .toFile(path.join(src, 'big.jpg'))
    smallset('init', dir)
    smallset('import', dir, src, '--no-progress')
    const host = await serve(dir)
    const cls = [
      await host.api('classes.create', { name: 'leaf' }),
      await host.api('classes.create', { name: 'spot' }),
    ]
    const { items } = await host.api('images.list', { limit: 1 })
    const imageId = items[0].id
    const r = rng(42)
    const puts = []
    for (let i = 0; i < 100; i++)
      puts.push({
        key: `p${i}`,
        id: null,
        kind: 'polygon',
        geometry: { points: star(r, W, H) },
        classId: cls[i % 2].id,
        z: i,
        hidden: false,
        locked: false,
      })
    for (let i = 0; i < 20; i++)
      puts.push({
        key: `m${i}`,
        id: null,
        kind: 'mask',
        geometry: { rle: discRle(H, W, 200 + r() * (W - 400), 200 + r() * (H - 400), 60 + r() * 180) },
        classId: cls[i % 2].id,
        z: 100 + i,
        hidden: false,
        locked: false,
      })
    const saved = await host.api('annotations.save', { imageId, puts })
    if (saved.ids.length !== 120) throw new Error(`stored ${saved.ids.length} of 120 regions`)

    const page = await openEditor(host.url)
    const rows = await page.getByTestId('region-row').count()
    const box = await page.getByTestId('editor-canvas').boundingBox()
    await page.keyboard.press('b')
    const a = [box.x + box.width * 0.2, box.y + box.height * 0.2]
    const b = [box.x + box.width * 0.75, box.y + box.height * 0.7]
    log('dragging a box…')
    const STEPS = 240
    const drag = await dragFrames(page, a, b, STEPS)
    const drawn = await page.getByTestId('region-row').count()
    await page.keyboard.press('Control+z')
    log('panning…')
    const pan = await dragFrames(page, a, [a[0] + 300, a[1] + 200], 120, { space: true })
    result.box_drag = {
      image: `${W}×${H}`,
      regions_on_image: rows,
      box_saved: drawn === rows + 1,
      pointer_moves: STEPS,
      ...drag,
      aim_fps: 50,
    }
    result.pan = { ...pan }
    await page.close()
    host.stop()

    // The same scene with a run's 100 predicted boxes and masks over it.
    await sleep(500)
    storePredictions(
      dir,
      imageId,
      cls.map((c) => c.id),
      W,
      H,
    )
    const host2 = await serve(dir)
    const page2 = await openEditor(host2.url)
    await page2.getByTestId('overlay-threshold').fill('0')
    await page2.keyboard.press('o')
    await page2.waitForFunction(
      () => document.querySelector('[data-testid=prediction-list]')?.getAttribute('data-count') === '100',
    )
    log('panning under 100 predictions…')
    const overlayPan = await dragFrames(page2, a, [a[0] + 300, a[1] + 200], 120, { space: true })
    log('toggling the overlay…')
    const toggles = await page2.evaluate(async () => {
      const frames = []
      const latency = []
      const frame = () => new Promise((r) => requestAnimationFrame((t) => r(t)))
      for (let i = 0; i < 20; i++) {
        await frame()
        const t0 = performance.now()
        window.dispatchEvent(new KeyboardEvent('keydown', { key: 'o', bubbles: true }))
        // React renders the change before the next frame; Konva draws it in that frame.
        const t1 = await frame()
        const t2 = await frame()
        frames.push(t2 - t1)
        latency.push(t2 - t0)
      }
      return { frames, latency }
    })
    result.overlay_pan = { predictions: 100, masks: 50, ...overlayPan, aim_fps: 50 }
    result.overlay_toggle = {
      toggles: toggles.frames.length,
      frame_ms_p50: round(quantile(toggles.frames, 0.5)),
      frame_ms_p95: round(quantile(toggles.frames, 0.95)),
      key_to_drawn_ms_p50: round(quantile(toggles.latency, 0.5)),
      key_to_drawn_ms_p95: round(quantile(toggles.latency, 0.95)),
      aim_frame_ms: 20,
    }
    await page2.close()
    host2.stop()
  }

  // ---------------------------------------------------------------- 2. next image in a 2,000-image project
  {
    const dir = path.join(work, 'many')
    const src = path.join(work, 'many-src')
    fs.mkdirSync(src)
    log(`making ${N_IMAGES} images (640×480)…`)
    const bases = Array.from({ length: 8 }, (_, i) => scene(640, 480, 100 + i))
    for (let i = 0; i < N_IMAGES; i++) {
      const px = Buffer.from(bases[i % bases.length])
      // A unique corner, so each image is its own.
      for (let b = 0; b < 24; b++) px[b] = (i >> (b % 12)) & 1 ? 255 : 0
      await sharp(px, { raw: { width: 640, height: 480, channels: 3 } })
        .jpeg({ quality: 80 })
        .toFile(path.join(src, `img-${String(i).padStart(5, '0')}.jpg`))
    }
    smallset('init', dir)
    log('importing…')
    const t0 = performance.now()
    smallset('import', dir, src, '--no-progress')
    const importS = (performance.now() - t0) / 1000
    const host = await serve(dir)
    await host.api('classes.create', { name: 'thing' })
    const page = await openEditor(host.url)
    await page.evaluate(() => {
      window.__keyAt = []
      window.addEventListener('keydown', (e) => window.__keyAt.push(e.timeStamp), { capture: true })
    })

    const measure = async (pauseMs, count) => {
      const out = []
      for (let i = 0; i < count; i++) {
        const before = Number(await page.getByTestId('annotate-view').getAttribute('data-image-id'))
        await page.keyboard.press('d')
        const ms = await page.evaluate(async (want) => {
          const key = window.__keyAt[window.__keyAt.length - 1]
          for (;;) {
            const marks = performance.getEntriesByName('smallset:image-drawn')
            const m = marks.reverse().find((e) => e.detail?.imageId === want && e.startTime >= key)
            if (m) return m.startTime - key
            await new Promise((r) => setTimeout(r, 2))
          }
        }, before + 1)
        out.push(ms)
        if (pauseMs) await sleep(pauseMs)
      }
      return out
    }
    log('pressing next…')
    const paced = await measure(1000, 25)
    const rapid = await measure(0, 25)
    const position = await page.getByTestId('image-position').textContent()
    result.next_image = {
      images: N_IMAGES,
      import_s: round(importS),
      image: '640×480 JPEG',
      pause_between_presses_ms: 1000,
      presses: paced.length,
      ms_p50: round(quantile(paced, 0.5)),
      ms_p95: round(quantile(paced, 0.95)),
      ms_max: round(Math.max(...paced)),
      aim_ms: 100,
    }
    result.next_image_rapid = {
      presses: rapid.length,
      ms_p50: round(quantile(rapid, 0.5)),
      ms_p95: round(quantile(rapid, 0.95)),
      ms_max: round(Math.max(...rapid)),
      position_after: position,
    }
    await page.close()
    host.stop()
  }
} finally {
  await browser.close()
  if (!KEEP) fs.rmSync(work, { recursive: true, force: true })
  else log(`kept ${work}`)
}

fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true })
fs.writeFileSync(path.join(root, 'bench-results', 'editor.json'), JSON.stringify(result, null, 2) + '\n')
process.stdout.write(JSON.stringify(result, null, 2) + '\n')
