import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import Database from 'better-sqlite3'
import sharp from 'sharp'
import { expect, test, type Locator, type Page } from '@playwright/test'
import { serve, tempDir, type ServedHost } from './host'

const ROOT = path.resolve(__dirname, '..')
const CLI = path.join(ROOT, 'bin', 'smallset.js')
const FASHION = process.env.SMALLSET_FASHION_DIR ?? '/usr/share/datasets/fashion-mnist'
const TRAIN = 1200
const TEST = 300
const EPOCHS = 3

/** The first `n` records of a (gzipped) IDX file, with the count in its header set to `n`. */
function sliceIdx(src: string, dest: string, n: number): void {
  const file = fs.existsSync(src) ? src : `${src}.gz`
  let bytes = fs.readFileSync(file)
  if (file.endsWith('.gz')) bytes = zlib.gunzipSync(bytes)
  const images = bytes.readUInt32BE(0) === 2051
  const header = images ? 16 : 8
  const record = images ? bytes.readUInt32BE(8) * bytes.readUInt32BE(12) : 1
  const out = Buffer.from(bytes.subarray(0, header + n * record))
  out.writeUInt32BE(n, 4)
  fs.writeFileSync(dest, out)
}

/** A project of real Fashion-MNIST: 1,200 train and 300 test images, imported with the CLI. */
function makeProject(work: string): string {
  const idx = path.join(work, 'idx')
  fs.mkdirSync(idx)
  for (const [prefix, n] of [
    ['train', TRAIN],
    ['t10k', TEST],
  ] as const) {
    sliceIdx(
      path.join(FASHION, `${prefix}-images-idx3-ubyte`),
      path.join(idx, `${prefix}-images-idx3-ubyte`),
      n,
    )
    sliceIdx(
      path.join(FASHION, `${prefix}-labels-idx1-ubyte`),
      path.join(idx, `${prefix}-labels-idx1-ubyte`),
      n,
    )
  }
  const projectDir = path.join(work, 'project')
  execFileSync(process.execPath, [CLI, 'init', projectDir, '--name', 'Fashion slice'])
  execFileSync(process.execPath, [CLI, 'import', projectDir, idx, '--preset', 'fashion-mnist'])
  return projectDir
}

/** The test slice's images `indexes` as PNG files, as if they were new photos to predict. */
async function writePngs(work: string, indexes: number[]): Promise<string[]> {
  const idx = fs.readFileSync(path.join(work, 'idx', 't10k-images-idx3-ubyte'))
  const out: string[] = []
  for (const i of indexes) {
    const file = path.join(work, `new-${i}.png`)
    await sharp(idx.subarray(16 + i * 784, 16 + (i + 1) * 784), {
      raw: { width: 28, height: 28, channels: 1 },
    })
      .png()
      .toFile(file)
    out.push(file)
  }
  return out
}

/** Reads the project's store read-only, the way the app left it. */
function readStore(projectDir: string) {
  const db = new Database(path.join(projectDir, 'project.sqlite'), { readonly: true, fileMustExist: true })
  try {
    const runs = db.prepare('SELECT id, status, config, summary FROM runs').all() as {
      id: number
      status: string
      config: string
      summary: string
    }[]
    const perRun = (sql: string) => {
      const stmt = db.prepare(sql).pluck()
      const byRun = new Map(runs.map((r) => [r.id, stmt.all(r.id)]))
      return (id: number) => byRun.get(id)
    }
    return {
      runs,
      epochs: perRun('SELECT epoch FROM run_epochs WHERE run_id = ? ORDER BY epoch'),
      pinnedEpochs: perRun(
        'SELECT DISTINCT epoch FROM predictions WHERE run_id = ? AND epoch >= 0 ORDER BY epoch',
      ),
      testPredictions: (() => {
        const f = perRun('SELECT COUNT(DISTINCT image_id) FROM predictions WHERE run_id = ? AND epoch = -1')
        return (id: number) => f(id)?.[0]
      })(),
    }
  } finally {
    db.close()
  }
}

const epochsOf = async (curves: Locator) => Number(await curves.getAttribute('data-epochs'))

/** Screenshots of one part of the lab, scrolled into view. */
async function shot(page: Page, target: Locator, file: string) {
  await target.scrollIntoViewIfNeeded()
  await page.screenshot({ path: file })
}

let host: ServedHost | undefined
test.afterEach(async () => {
  await host?.stop()
  host = undefined
})

test('train from the lab: live curves, cancel, resume, then the confusion matrix, mistakes and predictions', async ({
  page,
}, testInfo) => {
  // scripts/test-all.sh installs it; a missing dataset is a failure, not a skip.
  if (!fs.existsSync(FASHION))
    throw new Error(`Fashion-MNIST is not installed at ${FASHION} (Debian: dataset-fashion-mnist)`)
  test.setTimeout(300_000)
  const projectDir = makeProject(tempDir('train'))
  host = await serve([projectDir])
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))

  await page.goto(host.url)
  await page.getByRole('button', { name: 'Train', exact: true }).click()
  await expect(page.getByTestId('train-lab')).toBeVisible()
  // Before any run: the backend the app expects, and why.
  await expect(page.getByTestId('backend-name')).toHaveText(/\w+/)
  await expect(page.getByTestId('no-run')).toBeVisible()

  // A preset fills in its recipe (train.defaults): seed-mlp is SGD at 0.1, seed-cnn SGD at 0.01, momentum 0.5.
  const lr = page.getByTestId('learning-rate')
  await page.getByTestId('model-preset').selectOption('seed-mlp')
  await expect(lr).toHaveValue('0.1')
  await expect(page.getByTestId('batch-size')).toHaveValue('20')
  await page.getByTestId('model-preset').selectOption('seed-cnn')
  await expect(lr).toHaveValue('0.01')
  await expect(page.getByLabel('Momentum')).toHaveValue('0.5')

  // Invalid values are refused with a message that names the field; Start stays off.
  const check = page.getByTestId('config-check')
  const start = page.getByTestId('train-start')
  await lr.fill('-1')
  await expect(check).toContainText('Learning rate: must be more than 0')
  await expect(lr).toHaveAttribute('aria-invalid', 'true')
  await expect(start).toBeDisabled()
  await page.getByTestId('epochs').fill('two')
  await expect(check).toContainText('Epochs: is not a number')
  await lr.fill('0.01')
  // Batch 1 makes an epoch take a few seconds here: time to watch it and to cancel in epoch 2.
  await page.getByTestId('epochs').fill(String(EPOCHS))
  await page.getByTestId('batch-size').fill('1')

  // Pin three test images from the thumbnail grid: the flipbook follows them epoch by epoch.
  await page.getByTestId('pin-pick').click()
  const picks = page.getByTestId('pick-thumb')
  await expect(picks).toHaveCount(24)
  for (const i of [0, 5, 11]) await picks.nth(i).click()
  const pinnedIds = (await page
    .getByTestId('pinned-chip')
    .evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.imageId)))) as number[]
  expect(pinnedIds).toHaveLength(3)
  await page.getByTestId('pin-pick').click()

  // The augmentation preview: nine versions of a random train image.
  await page.getByTestId('augment-preset').selectOption('keras-affine')
  await page.getByTestId('augment-preview-toggle').click()
  await page.getByTestId('augment-random').click()
  await expect(page.getByTestId('augment-grid')).toHaveAttribute('data-count', '9')
  await expect
    .poll(() =>
      page
        .getByTestId('augment-grid')
        .locator('img')
        .evaluateAll((imgs) => imgs.filter((i) => (i as HTMLImageElement).naturalWidth > 0).length),
    )
    .toBe(9)
  await page.screenshot({ path: testInfo.outputPath('config-augment-preview.png') })
  await page.getByTestId('augment-preset').selectOption('none')

  // The backend accepts it (train.validate), then Start.
  await expect(page.getByTestId('config-ok')).toBeVisible()
  await start.click()
  const status = page.getByTestId('run-status')
  const curves = page.getByTestId('curves')
  await expect(status).toHaveAttribute('data-status', 'running', { timeout: 30_000 })
  // Per-batch progress: images/s, ETA, and the smoothed batch loss as it comes.
  await expect(page.getByTestId('images-per-s')).toContainText('images/s', { timeout: 30_000 })
  await expect(page.getByTestId('eta')).toContainText('ETA')
  await expect.poll(async () => Number(await curves.getAttribute('data-batch-points'))).toBeGreaterThan(2)
  // The first epoch's points appear while the run goes on.
  await expect(curves).toHaveAttribute('data-epochs', '1', { timeout: 60_000 })
  await expect(status).toHaveAttribute('data-status', 'running')
  await expect(page.getByTestId('loss-chart').locator('canvas')).toHaveCount(1)
  await page.screenshot({ path: testInfo.outputPath('curves-live.png') })

  // Cancel in epoch 2, then resume from the epoch-1 checkpoint.
  await page.getByTestId('train-cancel').click()
  await expect(status).toHaveAttribute('data-status', 'cancelled', { timeout: 30_000 })
  const atCancel = await epochsOf(curves)
  expect(atCancel).toBeGreaterThanOrEqual(1)
  expect(atCancel).toBeLessThan(EPOCHS)
  await page.getByTestId('train-resume').click()
  await expect(status).toHaveAttribute('data-status', 'running', { timeout: 30_000 })
  for (let e = atCancel + 1; e <= EPOCHS; e++) {
    await expect.poll(() => epochsOf(curves), { timeout: 90_000 }).toBeGreaterThanOrEqual(e)
  }
  await expect(status).toHaveAttribute('data-status', 'done', { timeout: 90_000 })
  await expect(curves).toHaveAttribute('data-epochs', String(EPOCHS))
  await expect(curves).toHaveAttribute('data-best-epoch', /^[1-3]$/)
  await expect(page.getByTestId('best-epoch')).toContainText('lowest val loss')
  await shot(page, curves, testInfo.outputPath('curves-done.png'))

  // The flipbook: epoch 0 (untrained) to 3 for each pinned image.
  const flipbook = page.getByTestId('flipbook')
  await expect(flipbook).toHaveAttribute('data-max-epoch', String(EPOCHS))
  await expect(page.getByTestId('flip-item')).toHaveCount(3)
  await page.getByTestId('flipbook-slider').fill('0')
  await expect(flipbook).toHaveAttribute('data-epoch', '0')
  await expect(page.getByTestId('flip-item').first().locator('ol.top3 li')).toHaveCount(3)
  await shot(page, flipbook, testInfo.outputPath('flipbook-epoch0.png'))

  // The evaluation: accuracy and the confusion matrix, whose cells open their images.
  const accuracy = await page.getByTestId('eval-accuracy').innerText()
  const cm = page.getByTestId('confusion')
  await expect(cm.getByTestId('cm-cell')).toHaveCount(100)
  await shot(page, cm, testInfo.outputPath('confusion-matrix.png'))
  // The biggest confusion: the off-diagonal cell with the most images.
  const cells = await cm.getByTestId('cm-cell').evaluateAll((els) =>
    els.map((e) => {
      const d = (e as HTMLElement).dataset
      return { t: d.true!, p: d.pred!, n: Number(d.count) }
    }),
  )
  const worst = cells.filter((c) => c.t !== c.p && c.n > 0).sort((a, b) => b.n - a.n)[0]!
  expect(worst).toBeDefined()
  const cellCount = worst.n
  await cm.locator(`[data-testid=cm-cell][data-true="${worst.t}"][data-pred="${worst.p}"]`).click()
  await expect(page.getByTestId('cell-image')).toHaveCount(Math.min(cellCount, 60))
  await shot(page, page.getByTestId('cell-images'), testInfo.outputPath('confusion-cell.png'))
  await page.getByTestId('cell-image').first().click()
  await expect(page.getByTestId('sample-modal')).toContainText('wrong')
  await page.getByTestId('sample-modal').getByRole('button', { name: 'Close' }).click()

  // A wrong sample, with the model's three guesses.
  const wrong = page.getByTestId('wrong-sample')
  await shot(page, page.getByTestId('wrong-samples'), testInfo.outputPath('wrong-samples.png'))
  const wrongId = await wrong.first().getAttribute('data-image-id')
  await wrong.first().click()
  const modal = page.getByTestId('sample-modal')
  await expect(modal).toHaveAttribute('data-image-id', wrongId!)
  await expect(modal).toContainText('True class')
  await expect(modal.locator('ol.top3 li')).toHaveCount(3)
  await expect
    .poll(() => modal.locator('img').evaluate((i) => (i as HTMLImageElement).naturalWidth))
    .toBeGreaterThan(0)
  await page.screenshot({ path: testInfo.outputPath('wrong-sample-open.png') })
  await modal.getByRole('button', { name: 'Close' }).click()

  // The prediction grid: 36 a page, titled "pred (true)", green where right and red where wrong.
  const grid = page.getByTestId('pred-grid')
  await expect(grid.getByTestId('pred-cell')).toHaveCount(36)
  const colours = await grid
    .getByTestId('pred-cell')
    .evaluateAll((els) =>
      els.map((e) => [(e as HTMLElement).dataset.right, getComputedStyle(e).borderTopColor]),
    )
  for (const [right, colour] of colours) {
    expect(colour).toBe(right === 'true' ? 'rgb(56, 161, 105)' : 'rgb(192, 57, 43)')
  }
  await expect(grid.getByTestId('pred-cell').first().locator('.caption')).toHaveText(/^.+ \(.+\)$/)
  await shot(page, grid, testInfo.outputPath('prediction-grid.png'))
  await page.getByTestId('pred-next').click()
  await expect(page.getByText('Page 2 of 9')).toBeVisible()

  // What the store holds: one finished run, its three epochs, the pinned top-3 for epochs 0..3.
  const store = readStore(projectDir)
  expect(store.runs).toHaveLength(1)
  const run = store.runs[0]!
  expect(run.status).toBe('done')
  expect(JSON.parse(run.config)).toMatchObject({
    model: 'seed-cnn',
    epochs: EPOCHS,
    batchSize: 1,
    pinnedImageIds: pinnedIds,
  })
  expect(store.epochs(run.id)).toEqual([1, 2, 3])
  expect(store.pinnedEpochs(run.id)).toEqual([0, 1, 2, 3])
  expect(store.testPredictions(run.id)).toBe(TEST)
  const testAccuracy = (JSON.parse(run.summary) as { testAccuracy: number }).testAccuracy
  expect(accuracy).toBe(`${(testAccuracy * 100).toFixed(2)}%`)
  // The runs list agrees.
  const row = page.getByTestId('run-row').first()
  await expect(row).toHaveAttribute('data-status', 'done')
  await expect(row.getByTestId('run-test-acc')).toHaveText(`${(testAccuracy * 100).toFixed(1)}%`)
  expect(errors).toEqual([])
})

test('sweep, compare, export, import, predict new files, delete', async ({ page }, testInfo) => {
  // scripts/test-all.sh installs it; a missing dataset is a failure, not a skip.
  if (!fs.existsSync(FASHION))
    throw new Error(`Fashion-MNIST is not installed at ${FASHION} (Debian: dataset-fashion-mnist)`)
  test.setTimeout(180_000)
  const work = tempDir('sweep')
  const projectDir = makeProject(work)
  // Three new images on disk, written from the test slice: an ankle boot, a pullover, a trouser.
  const files = await writePngs(work, [0, 1, 2])
  host = await serve([projectDir])
  await page.goto(host.url)
  await page.getByRole('button', { name: 'Train', exact: true }).click()

  // A sweep over seed-mlp, one epoch each: 2 learning rates × 1 batch size = 2 queued runs.
  await page.getByTestId('model-preset').selectOption('seed-mlp')
  await expect(page.getByTestId('learning-rate')).toHaveValue('0.1')
  await page.getByTestId('epochs').fill('1')
  await page.getByTestId('batch-size').fill('64')
  await expect(page.getByTestId('config-ok')).toBeVisible()
  await page.getByTestId('sweep-open').click()
  const dialog = page.getByTestId('sweep-dialog')
  await dialog.getByLabel('Learning rates').fill('0.1, 0.05')
  await dialog.getByLabel('Batch sizes').fill('64')
  await expect(dialog.getByTestId('sweep-count')).toHaveText('2 runs will be queued.')
  await dialog.getByRole('button', { name: /^Queue/ }).click()
  await expect(dialog).toBeHidden()
  const rows = page.getByTestId('run-row')
  await expect(rows).toHaveCount(2)
  await expect(rows.and(page.locator('[data-status=done]'))).toHaveCount(2, { timeout: 120_000 })

  // Compare the two: curves overlaid, the config keys that differ (only the learning rate), metrics.
  await rows.nth(0).getByTestId('run-compare').check()
  await rows.nth(1).getByTestId('run-compare').check()
  await page.getByTestId('compare-open').click()
  const diff = page.getByTestId('compare-diff')
  await expect(diff.locator('tbody tr')).toHaveCount(1)
  await expect(diff.locator('tbody tr')).toHaveAttribute('data-key', 'learningRate')
  await expect(page.getByTestId('compare-metrics')).toContainText('test accuracy')
  await expect(page.getByTestId('compare-loss').locator('.u-legend')).toContainText('train')
  await page.screenshot({ path: testInfo.outputPath('compare.png') })

  // Export the newest run's model, import it back as a run, and predict the new files with it.
  await page.getByTestId('train-tab-models').click()
  const exportDir = path.join(work, 'exported')
  await page.getByLabel('Export folder').fill(exportDir)
  await page.getByTestId('export-run').click()
  await expect(page.getByTestId('export-files')).toContainText('model.json')
  for (const f of ['model.json', 'weights.bin', 'smallset.json'])
    expect(fs.existsSync(path.join(exportDir, f))).toBe(true)
  // Predictions with the run itself, to compare with the imported copy's.
  await expect(page.getByTestId('io-run')).toHaveValue('2')
  await page.getByLabel('Image paths').fill(files.join('\n'))
  await page.getByTestId('predict-run').click()
  await expect(page.getByTestId('predict-row')).toHaveCount(3, { timeout: 60_000 })
  const rowTexts = () =>
    page
      .getByTestId('predict-row')
      .evaluateAll((rows) => rows.slice(0, 3).map((r) => (r as HTMLElement).innerText))
  const original = await rowTexts()
  await page.getByLabel('Import folder').fill(exportDir)
  await page.getByLabel('Imported run name').fill('round trip')
  await page.getByTestId('import-model').click()
  await expect(page.getByTestId('import-done')).toContainText('Imported as run #3')
  await expect(page.getByTestId('io-run')).toHaveValue('3')
  await page.getByLabel('Image paths').fill([...files, path.join(work, 'missing.png')].join('\n'))
  await page.getByTestId('predict-run').click()
  const results = page.getByTestId('predict-row')
  await expect(results).toHaveCount(4, { timeout: 60_000 })
  for (let i = 0; i < 3; i++) await expect(results.nth(i).locator('ol.top3 li')).toHaveCount(3)
  await expect(results.nth(0).locator('ol.top3')).toContainText(/Ankle boot|Sneaker|Sandal|Bag/)
  await expect(results.nth(3)).toContainText(/file not found/)
  // The round trip keeps the model: the imported copy predicts exactly what the run did.
  expect(await rowTexts()).toEqual(original)
  await page.screenshot({ path: testInfo.outputPath('model-files.png') })

  // Delete the first sweep run; the store drops it and its epochs.
  await page.getByTestId('train-tab-run').click()
  const first = page.locator('[data-testid=run-row][data-run-id="1"]')
  await first.getByTestId('run-delete').click()
  await first.getByTestId('run-delete-confirm').click()
  await expect(first).toHaveCount(0)
  const store = readStore(projectDir)
  expect(store.runs.map((r) => [r.id, r.status])).toEqual([
    [2, 'done'],
    [3, 'done'],
  ])
  expect(store.epochs(1)).toBeUndefined()
  expect(store.epochs(2)).toEqual([1])
})
