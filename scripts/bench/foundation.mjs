#!/usr/bin/env node
// The foundation's figures as JSON (stdout, and bench-results/foundation.json); part of `npm run bench`.
//  - import_70k_s: wall time for `smallset import` of the real Fashion-MNIST (70,000 images)
//  - open_project_first_page_ms: in Debian's Chromium, from clicking "Open project" on that
//    70,000-image project to the first grid page of thumbnails decoded on screen (median of 5)
//  - images_list_page_ms: the same first page through the API alone (median of 20)
// Needs `npm run build` and the dataset-fashion-mnist package (scripts/test-all.sh installs both).
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from '@playwright/test'
import { chromiumLaunchOptions } from '../lib/chromium.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const cli = path.join(root, 'bin', 'smallset.js')
const data = '/usr/share/datasets/fashion-mnist'
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const log = (...a) => console.error('[bench]', ...a)

if (!fs.existsSync(path.join(root, 'out', 'main', 'cli.js'))) throw new Error('run "npm run build" first')
if (!fs.existsSync(path.join(data, 'train-images-idx3-ubyte.gz')))
  throw new Error(`${data} missing: apt-get install dataset-fashion-mnist`)

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'smallset-bench-'))
const project = path.join(work, 'fashion-mnist')
execFileSync(process.execPath, [cli, 'init', project])
log('importing 70,000 Fashion-MNIST images…')
const t0 = performance.now()
const report = JSON.parse(
  execFileSync(process.execPath, [
    cli,
    'import',
    project,
    data,
    '--preset',
    'fashion-mnist',
    '--json',
  ]).toString(),
)
const importS = (performance.now() - t0) / 1000
if (report.added !== 70000) throw new Error(`expected 70,000 images, got ${JSON.stringify(report)}`)

// The web host, with no project open; the browser opens it as a user would.
const server = spawn(process.execPath, [cli, 'serve', '--no-project'], {
  stdio: ['ignore', 'pipe', 'inherit'],
})
const url = await new Promise((resolve, reject) => {
  let out = ''
  server.stdout.on('data', (d) => {
    out += d
    const m = /Open (\S+)/.exec(out)
    if (m) resolve(m[1])
  })
  server.on('exit', (c) => reject(new Error(`serve exited ${c}`)))
})
const browser = await chromium.launch(chromiumLaunchOptions)
const openTimes = []
const apiTimes = []
try {
  for (let i = 0; i < 5; i++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
    await page.goto(url)
    await page.getByLabel('Project folder').fill(project)
    const start = await page.evaluate(() => performance.now())
    await page.getByRole('button', { name: 'Open project' }).click()
    // The first page is on screen when every thumbnail in view has decoded.
    const end = await page.evaluate(
      () =>
        new Promise((resolve) => {
          const check = () => {
            const imgs = [...document.querySelectorAll('[data-testid=thumb] img')]
            const inView = imgs.filter((im) => im.getBoundingClientRect().top < window.innerHeight)
            if (inView.length >= 8 && inView.every((im) => im.complete && im.naturalWidth > 0))
              resolve(performance.now())
            else requestAnimationFrame(check)
          }
          check()
        }),
    )
    openTimes.push(end - start)
    for (let j = 0; j < 4; j++) {
      apiTimes.push(
        await page.evaluate(async () => {
          const t = performance.now()
          await fetch('/api/call/images.list', {
            method: 'POST',
            body: '{"offset":0,"limit":600}',
            headers: { 'Content-Type': 'application/json' },
          }).then((r) => r.json())
          return performance.now() - t
        }),
      )
    }
    await page.evaluate(() =>
      fetch('/api/call/project.close', {
        method: 'POST',
        body: '{}',
        headers: { 'Content-Type': 'application/json' },
      }),
    )
    await page.close()
  }
} finally {
  await browser.close()
  server.kill('SIGTERM')
}

const result = {
  benchmark: 'foundation',
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
  import_70k_s: Number(importS.toFixed(2)),
  import_images_per_s: Math.round(70000 / importS),
  project_db_mb: Number((fs.statSync(path.join(project, 'project.sqlite')).size / 2 ** 20).toFixed(1)),
  open_project_first_page_ms: Math.round(median(openTimes)),
  open_project_first_page_runs_ms: openTimes.map(Math.round),
  images_list_page_ms: Number(median(apiTimes).toFixed(1)),
  targets: { import_70k_s: 60, open_project_first_page_ms: 1000 },
}
fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true })
fs.writeFileSync(path.join(root, 'bench-results', 'foundation.json'), JSON.stringify(result, null, 2) + '\n')
fs.rmSync(work, { recursive: true, force: true })
console.log(JSON.stringify(result, null, 2))
