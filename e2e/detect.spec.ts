import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import sharp from 'sharp'
import { expect, test, type Page } from '@playwright/test'
import { serve, tempDir, type ServedHost } from './host'

const ROOT = path.resolve(__dirname, '..')
const CLI = path.join(ROOT, 'bin', 'smallset.js')
const FASHION = process.env.SMALLSET_FASHION_DIR ?? '/usr/share/datasets/fashion-mnist'
const cli = (...args: string[]) => execFileSync(process.execPath, [CLI, ...args]).toString()

/**
 * A project of the tiny scene set (real Fashion-MNIST items on textures, with masks), plus three
 * unlabelled photos-to-be: one to label by hand, two to pre-label.
 */
async function makeProject(work: string): Promise<string> {
  cli('scenes', path.join(work, 'scenes'), '--preset', 'tiny')
  const projectDir = path.join(work, 'project')
  cli('init', projectDir, '--name', 'Scenes')
  cli('import', projectDir, path.join(work, 'scenes'), '--format', 'coco')
  const extra: string[] = []
  for (let i = 0; i < 3; i++) {
    const file = path.join(work, `new-${i}.png`)
    const px = Buffer.alloc(96 * 80 * 3)
    for (let k = 0; k < px.length; k++) px[k] = (k * (31 + i * 7) + i * 50) % 251
    await sharp(px, { raw: { width: 96, height: 80, channels: 3 } })
      .png()
      .toFile(file)
    extra.push(file)
  }
  cli('import', projectDir, ...extra)
  return projectDir
}

function readStore(projectDir: string) {
  const db = new Database(path.join(projectDir, 'project.sqlite'), { readonly: true, fileMustExist: true })
  try {
    return {
      modelLabels: db
        .prepare(
          "SELECT image_id AS imageId, kind, source_run_id AS runId, source_score AS score FROM annotations WHERE origin = 'model'",
        )
        .all() as { imageId: number; kind: string; runId: number; score: number }[],
      statuses: new Map(
        (db.prepare('SELECT id, status FROM images').all() as { id: number; status: string }[]).map((r) => [
          r.id,
          r.status,
        ]),
      ),
    }
  } finally {
    db.close()
  }
}

async function drag(page: Page, from: [number, number], to: [number, number]) {
  const box = (await page.getByTestId('editor-canvas').boundingBox())!
  await page.mouse.move(box.x + box.width * from[0], box.y + box.height * from[1])
  await page.mouse.down()
  for (let i = 1; i <= 8; i++)
    await page.mouse.move(
      box.x + box.width * (from[0] + ((to[0] - from[0]) * i) / 8),
      box.y + box.height * (from[1] + ((to[1] - from[1]) * i) / 8),
    )
  await page.mouse.up()
}

let host: ServedHost | undefined
test.afterEach(async () => {
  await host?.stop()
  host = undefined
})

test('detection in the app: label, train, watch the flipbook, open an error, accept, pre-label', async ({
  page,
}, testInfo) => {
  if (!fs.existsSync(FASHION))
    throw new Error(`Fashion-MNIST is not installed at ${FASHION} (Debian: dataset-fashion-mnist)`)
  test.setTimeout(300_000)
  const projectDir = await makeProject(tempDir('detect'))
  host = await serve([projectDir])
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(host.url)

  // 1. Label a box and a mask on an unlabelled image, with the mouse.
  await page.getByRole('button', { name: 'Annotate', exact: true }).click()
  const view = page.getByTestId('annotate-view')
  await expect(view).toHaveAttribute('data-image-id', /\d+/)
  const labelled = Number(await view.getAttribute('data-image-id'))
  await page.keyboard.press('1')
  await page.keyboard.press('b')
  await drag(page, [0.3, 0.3], [0.55, 0.6])
  await page.keyboard.press('m')
  await drag(page, [0.65, 0.3], [0.8, 0.5])
  await expect(page.getByTestId('save-status')).toHaveAttribute('data-state', 'saved', { timeout: 10_000 })
  await page.screenshot({ path: testInfo.outputPath('1-labelled.png') })

  // 2. Train instance segmentation for a few epochs, one training image pinned.
  await page.getByRole('button', { name: 'Train', exact: true }).click()
  await expect(page.getByTestId('task-segment').locator('input')).toBeChecked()
  await expect(page.getByTestId('task-classify')).toContainText('this project')
  await page.getByTestId('epochs').fill('4')
  await page.getByTestId('batch-size').fill('4')
  await page.getByTestId('pin-pick').click()
  await page.getByTestId('pick-thumb').first().click()
  await page.getByTestId('pin-pick').click()
  await expect(page.getByTestId('config-ok')).toBeVisible({ timeout: 15_000 })
  await page.getByTestId('train-start').click()
  const status = page.getByTestId('run-status')
  await expect(status).toHaveAttribute('data-status', 'running', { timeout: 30_000 })

  // 3. The flipbook gains frames from epoch 0 (untrained) and the table gains rows as epochs end.
  const flipbook = page.getByTestId('flipbook')
  const table = page.getByTestId('seed-table')
  await expect(flipbook).toHaveAttribute('data-max-epoch', /[1-9]/, { timeout: 120_000 })
  const rowsEarly = Number(await table.getAttribute('data-rows'))
  expect(rowsEarly).toBeGreaterThanOrEqual(2)
  await expect(page.getByTestId('map-chart').locator('canvas')).toHaveCount(1)
  await table.scrollIntoViewIfNeeded()
  await page.screenshot({ path: testInfo.outputPath('3-flipbook-live.png') })
  await expect(status).toHaveAttribute('data-status', 'done', { timeout: 180_000 })
  await expect(table).toHaveAttribute('data-rows', '5')
  // Stepping back to epoch 0 shows the untrained model's frame.
  const slider = page.getByTestId('flipbook-slider')
  await slider.fill('0')
  await expect(flipbook).toHaveAttribute('data-epoch', '0')
  await expect(page.getByTestId('detection-image').first()).toHaveAttribute('data-image-id', /\d+/)
  await page.getByTestId('flipbook-threshold').fill('0.05')
  await slider.fill('4')
  await page.screenshot({ path: testInfo.outputPath('3-flipbook-done.png') })

  // 4. The evaluation: COCO tables, PR curves, and the error gallery; an error opens the editor.
  const evaluation = page.getByTestId('detection-evaluation')
  await expect(evaluation).toBeVisible({ timeout: 30_000 })
  await expect(page.getByTestId('coco-table')).toContainText('AP@.5')
  await expect(page.getByTestId('pr-chart').locator('canvas')).toHaveCount(1)
  const gallery = page.getByTestId('error-gallery')
  await expect(gallery.getByTestId('error-item').first()).toBeVisible({ timeout: 30_000 })
  const fp = page.getByTestId('error-kind-false_positive')
  if (!/ 0$/.test((await fp.textContent()) ?? '')) await fp.click()
  await gallery.scrollIntoViewIfNeeded()
  await page.screenshot({ path: testInfo.outputPath('4-error-gallery.png') })
  const item = gallery.getByTestId('error-item').first()
  const errorImage = Number(await item.getAttribute('data-image-id'))
  await item.click()
  await expect(view).toHaveAttribute('data-image-id', String(errorImage))
  await expect(page.getByTestId('overlay-source')).toContainText('test evaluation')

  // 5. Accept a prediction (as a label, with its model origin), then reload: it is in the store.
  await page.getByTestId('overlay-threshold').fill('0.05')
  await expect(page.getByTestId('prediction-item').first()).toBeVisible()
  await page.screenshot({ path: testInfo.outputPath('5-editor-overlay.png') })
  const shownBefore = Number(await page.getByTestId('prediction-list').getAttribute('data-count'))
  await page.getByTestId('accept-one').first().click()
  await expect(page.getByTestId('prediction-list')).toHaveAttribute('data-count', String(shownBefore - 1))
  await expect(page.getByTestId('save-status')).toHaveAttribute('data-state', 'saved', { timeout: 10_000 })
  await page.reload()
  await expect(page.getByTestId('project-name')).toBeVisible()
  let store = readStore(projectDir)
  expect(store.modelLabels.filter((l) => l.imageId === errorImage)).toHaveLength(1)
  const runId = store.modelLabels[0]!.runId
  expect(runId).toBeGreaterThan(0)

  // 6. Pre-label the two unlabelled images, step to one and accept a prediction on it.
  await page.getByRole('button', { name: 'Annotate', exact: true }).click()
  await expect(view).toHaveAttribute('data-image-id', /\d+/)
  await page.getByTestId('prelabel-start').click()
  await expect(page.getByTestId('notice')).toContainText('Pre-labelled: 2 of 2', { timeout: 60_000 })
  await page.getByTestId('next-unreviewed').click()
  await expect(page.getByTestId('overlay-source')).toContainText('Pre-labelled')
  const prelabelled = Number(await view.getAttribute('data-image-id'))
  expect(prelabelled).not.toBe(labelled)
  await page.getByTestId('overlay-threshold').fill('0.01')
  await expect(page.getByTestId('prediction-item').first()).toBeVisible()
  await page.keyboard.press('k')
  await page.getByTestId('mark-reviewed').click()
  await expect(page.getByTestId('save-status')).toHaveAttribute('data-state', 'saved', { timeout: 10_000 })
  await page.screenshot({ path: testInfo.outputPath('6-prelabelled-accepted.png') })
  // "Saved" may still show from the save before the accept (autosave waits a moment before it
  // sends): wait for the store itself, as a loaded machine can be slow to get there.
  await expect
    .poll(() => readStore(projectDir).modelLabels.filter((l) => l.imageId === prelabelled), {
      timeout: 10_000,
    })
    .toMatchObject([{ runId }])
  store = readStore(projectDir)
  expect(store.statuses.get(prelabelled)).toBe('reviewed')
  expect(errors).toEqual([])
})
