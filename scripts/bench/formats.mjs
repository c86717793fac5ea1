#!/usr/bin/env node
// Import and export times per dataset format, as JSON (stdout, and bench-results/formats.json);
// part of `npm run bench`. `--images N` (default 2000) sets the size.
//  - A COCO set is generated: N PNGs of 320×240, each with 10 objects of 5 classes (5 boxes and 5
//    pentagon polygons), split 80/10/10.
//  - coco_import_s: `smallset import` of it into a new project.
//  - per format (coco, yolo, voc, labelme): export_s for `smallset export --format F`, then
//    import_s for importing that export into another new project, with the images, annotations and
//    failures that import counted. VOC holds boxes only, so its polygons come back as boxes.
// Needs `npm run build`.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import sharp from 'sharp'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const cli = path.join(root, 'bin', 'smallset.js')
const log = (...a) => console.error('[bench formats]', ...a)
const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? Number(argv[i + 1]) : dflt
}
const N = opt('images', 2000)
const W = 320
const H = 240
const CLASSES = ['car', 'person', 'dog', 'bike', 'sign']

if (!fs.existsSync(path.join(root, 'out', 'main', 'cli.js'))) throw new Error('run "npm run build" first')

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'smallset-bench-formats-'))
const smallset = (...args) =>
  execFileSync(process.execPath, [cli, ...args], {
    maxBuffer: 256 << 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
const timed = (...args) => {
  const t0 = performance.now()
  const out = smallset(...args).toString()
  return { s: (performance.now() - t0) / 1000, out }
}
const counts = (dir) => {
  const db = new Database(path.join(dir, 'project.sqlite'), { readonly: true })
  try {
    const images = db.prepare('SELECT COUNT(*) AS n FROM images').get().n
    const objects = db.prepare("SELECT COUNT(*) AS n FROM annotations WHERE kind != 'tag'").get().n
    const byKind = Object.fromEntries(
      db
        .prepare("SELECT kind, COUNT(*) AS n FROM annotations WHERE kind != 'tag' GROUP BY kind")
        .all()
        .map((r) => [r.kind, r.n]),
    )
    const bySplit = Object.fromEntries(
      db
        .prepare('SELECT split, COUNT(*) AS n FROM images GROUP BY split')
        .all()
        .map((r) => [r.split, r.n]),
    )
    return { images, objects, byKind, bySplit }
  } finally {
    db.close()
  }
}

// ---- the generated COCO set
log(`writing ${N} images of ${W}×${H} with 10 objects each…`)
const src = path.join(work, 'coco')
fs.mkdirSync(path.join(src, 'images'), { recursive: true })
let rng = 12345
const rand = () => (rng = (Math.imul(rng, 1103515245) + 12345) >>> 0) / 4294967296
const coco = {
  images: [],
  annotations: [],
  categories: CLASSES.map((name, i) => ({ id: i + 1, name })),
}
const t0 = performance.now()
for (let i = 0; i < N; i++) {
  const file = `img${String(i).padStart(5, '0')}.png`
  const shapes = []
  for (let k = 0; k < 10; k++) {
    const w = 20 + rand() * 60
    const h = 20 + rand() * 50
    const x = rand() * (W - w)
    const y = rand() * (H - h)
    const cat = 1 + Math.floor(rand() * CLASSES.length)
    const ann = { id: coco.annotations.length + 1, image_id: i + 1, category_id: cat, iscrowd: 0 }
    if (k < 5) {
      Object.assign(ann, { bbox: [x, y, w, h], area: w * h })
      shapes.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="hsl(${cat * 60},70%,50%)"/>`)
    } else {
      const cx = x + w / 2
      const cy = y + h / 2
      const pts = Array.from({ length: 5 }, (_, j) => {
        const a = (j * 2 * Math.PI) / 5 - Math.PI / 2
        return [cx + (w / 2) * Math.cos(a), cy + (h / 2) * Math.sin(a)]
      })
      const flat = pts.flat()
      const xs = pts.map((p) => p[0])
      const ys = pts.map((p) => p[1])
      const bx = Math.min(...xs)
      const by = Math.min(...ys)
      Object.assign(ann, {
        segmentation: [flat],
        bbox: [bx, by, Math.max(...xs) - bx, Math.max(...ys) - by],
        area: w * h * 0.59,
      })
      shapes.push(`<polygon points="${flat.join(' ')}" fill="hsl(${cat * 60},70%,40%)"/>`)
    }
    coco.annotations.push(ann)
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="100%" height="100%" fill="#${((i * 2654435761) >>> 8).toString(16).padStart(6, '0').slice(0, 6)}"/>${shapes.join('')}</svg>`
  await sharp(Buffer.from(svg))
    .png()
    .toFile(path.join(src, 'images', file))
  coco.images.push({ id: i + 1, file_name: file, width: W, height: H })
}
fs.writeFileSync(path.join(src, 'annotations.json'), JSON.stringify(coco))
log(`written in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

// ---- COCO in
const base = path.join(work, 'base')
smallset('init', base)
log('importing the COCO set…')
const cocoImport = timed('import', base, path.join(src, 'annotations.json'), '--json')
const baseReport = JSON.parse(cocoImport.out)
const baseCounts = counts(base)
log(`COCO import ${cocoImport.s.toFixed(1)} s:`, baseCounts)

// ---- each format out and back in
const formats = {}
for (const format of ['coco', 'yolo', 'voc', 'labelme']) {
  const out = path.join(work, `export-${format}`)
  log(`exporting ${format}…`)
  const ex = timed('export', base, '--format', format, '--out', out, '--json')
  const back = path.join(work, `back-${format}`)
  smallset('init', back)
  const given = format === 'coco' ? path.join(out, 'annotations.json') : out
  log(`importing the ${format} export…`)
  const im = timed('import', back, given, '--format', format, '--json')
  const report = JSON.parse(im.out)
  formats[format] = {
    export_s: +ex.s.toFixed(2),
    import_s: +im.s.toFixed(2),
    import_images_per_s: +(report.added / im.s).toFixed(1),
    added: report.added,
    failed: report.failed.length,
    first_failures: report.failed.slice(0, 3),
    ...counts(back),
  }
  log(format, formats[format])
}

const result = {
  images: N,
  size: `${W}x${H}`,
  objects_per_image: 10,
  coco_import_s: +cocoImport.s.toFixed(2),
  coco_import_images_per_s: +(baseReport.added / cocoImport.s).toFixed(1),
  coco_import_failed: baseReport.failed.length,
  base: baseCounts,
  formats,
  cpus: os.cpus().length,
}
fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true })
fs.writeFileSync(path.join(root, 'bench-results', 'formats.json'), JSON.stringify(result, null, 2) + '\n')
fs.rmSync(work, { recursive: true, force: true })
console.log(JSON.stringify(result, null, 2))
