import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import sharp from 'sharp'
import { expect, test } from '@playwright/test'
import { serve, tempDir, type ServedHost } from './host'

const ROOT = path.resolve(__dirname, '..')

/** A class-per-folder tree, like Keras' cats-vs-dogs layout, with one corrupt JPEG in it. */
async function makeTree(root: string): Promise<{ good: number; corrupt: string }> {
  const layout: Record<string, Record<string, number>> = {
    train: { cat: 4, dog: 4 },
    valid: { cat: 2, dog: 2 },
    test: { cat: 1, dog: 1 },
  }
  let good = 0
  for (const [split, classes] of Object.entries(layout)) {
    for (const [cls, n] of Object.entries(classes)) {
      const dir = path.join(root, split, cls)
      fs.mkdirSync(dir, { recursive: true })
      for (let i = 0; i < n; i++) {
        const hue = cls === 'cat' ? { r: 200, g: 40 + 20 * i, b: 40 } : { r: 40, g: 80 + 15 * i, b: 200 }
        await sharp({ create: { width: 96 + 8 * good, height: 72, channels: 3, background: hue } })
          .jpeg()
          .toFile(path.join(dir, `${cls}.${split}.${i}.jpg`))
        good++
      }
    }
  }
  const corrupt = path.join(root, 'train', 'dog', 'dog.broken.jpg')
  const whole = fs.readFileSync(path.join(root, 'train', 'dog', 'dog.train.0.jpg'))
  fs.writeFileSync(corrupt, whole.subarray(0, Math.floor(whole.length / 2)))
  return { good, corrupt }
}

function info(projectDir: string) {
  const out = execFileSync(process.execPath, [
    path.join(ROOT, 'bin', 'smallset.js'),
    'info',
    projectDir,
    '--json',
  ])
  return JSON.parse(out.toString()) as {
    images: number
    bySplit: Record<string, number>
    byClass: { name: string; count: number }[]
  }
}

let host: ServedHost | undefined
test.afterEach(async () => {
  await host?.stop()
  host = undefined
})

test('create a project, import a class-per-folder tree with a corrupt file, see thumbnails and the error report', async ({
  page,
}, testInfo) => {
  const work = tempDir('import')
  const tree = path.join(work, 'cats-vs-dogs')
  const { good, corrupt } = await makeTree(tree)
  const projectDir = path.join(work, 'project')
  host = await serve(['--no-project'])

  await page.goto(host.url)
  await page.getByLabel('Project folder').fill(projectDir)
  await page.getByLabel('Name (for a new project)').fill('Cats vs dogs')
  await page.getByRole('button', { name: 'Create project' }).click()
  await expect(page.getByTestId('project-name')).toHaveText('Cats vs dogs')
  await expect(page.getByText('This project has no images yet.')).toBeVisible()

  await page.getByRole('button', { name: 'Import…' }).first().click()
  await page.getByLabel('Files or folders, one per line').fill(tree)
  await page.getByRole('dialog').getByRole('button', { name: 'Import', exact: true }).click()

  const report = page.getByTestId('import-report')
  await expect(report).toContainText(`${good} added`)
  await expect(report).toContainText('1 failed')
  const errors = page.getByTestId('import-errors')
  await expect(errors).toContainText(corrupt)
  await expect(errors).toContainText(/truncated or corrupt/)
  await page.screenshot({ path: testInfo.outputPath('import-report.png') })

  await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click()
  await expect(page.getByTestId('count-images')).toHaveText(String(good))
  const thumbs = page.getByTestId('thumb')
  await expect(thumbs).toHaveCount(good)
  // Every thumbnail really decoded in the browser.
  await expect
    .poll(() =>
      thumbs
        .locator('img')
        .evaluateAll((imgs) => imgs.filter((i) => (i as HTMLImageElement).naturalWidth > 0).length),
    )
    .toBe(good)
  await page.screenshot({ path: testInfo.outputPath('grid.png'), fullPage: true })

  // Filter by split and class.
  await page.getByTestId('split-filter').getByRole('button', { name: /^val/ }).click()
  await expect(thumbs).toHaveCount(4)
  await page.getByTestId('class-filter').getByRole('button', { name: /^cat/ }).click()
  await expect(thumbs).toHaveCount(2)

  // What the store holds: the folder splits kept (valid -> val), both classes, the corrupt file not in.
  const counts = info(projectDir)
  expect(counts.images).toBe(good)
  expect(counts.bySplit).toEqual({ train: 8, val: 4, test: 2 })
  expect(counts.byClass.map((c) => [c.name, c.count])).toEqual([
    ['cat', 7],
    ['dog', 7],
  ])
})

test('the start command opens a ready demo project', async ({ page }, testInfo) => {
  const demoDir = path.join(tempDir('demo'), 'demo-project')
  host = await serve([], { SMALLSET_DEMO_DIR: demoDir })
  await page.goto(host.url)
  await expect(page.getByTestId('project-name')).toHaveText('Fashion-MNIST demo')
  await expect(page.getByTestId('count-images')).toHaveText('300')
  await expect(page.getByTestId('class-filter')).toContainText('Ankle boot')
  await expect(page.getByTestId('thumb').first()).toBeVisible()
  await page.screenshot({ path: testInfo.outputPath('demo.png') })
  expect(info(demoDir).bySplit).toEqual({ train: 240, val: 30, test: 30 })
})

test('the web host refuses requests without the launch token', async ({ request }) => {
  host = await serve(['--no-project'])
  const base = new URL(host.url).origin
  const res = await request.post(`${base}/api/call/app.info`, { data: {} })
  expect(res.status()).toBe(401)
})
