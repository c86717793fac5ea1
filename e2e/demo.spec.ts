import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { expect, test } from '@playwright/test'
import { serve, tempDir, type ServedHost } from './host'

const ROOT = path.resolve(__dirname, '..')

let host: ServedHost | undefined
test.afterEach(async () => {
  await host?.stop()
  host = undefined
})

test('the project picker offers both demos, and the detection demo opens with its masks', async ({
  page,
}, testInfo) => {
  const home = tempDir('demo')
  // Where the demos are made: beside SMALLSET_DEMO_DIR's classification demo.
  host = await serve(['--no-project'], { SMALLSET_DEMO_DIR: path.join(home, 'demo-project') })
  await page.goto(host.url)
  await expect(page.getByTestId('demo-classification')).toBeVisible()
  await expect(page.getByTestId('demo-detection')).toBeVisible()
  await page.screenshot({ path: testInfo.outputPath('picker.png') })
  await page.getByRole('button', { name: 'Open the detection demo' }).click()
  // The library of the new project: 110 scenes (50 train, 10 valid, 50 test).
  await expect(page.locator('.topbar')).toContainText('110', { timeout: 60_000 })
  await page.screenshot({ path: testInfo.outputPath('detection-demo.png') })
  const out = execFileSync(process.execPath, [
    path.join(ROOT, 'bin', 'smallset.js'),
    'info',
    path.join(home, 'detection-demo'),
    '--json',
  ])
  const info = JSON.parse(out.toString()) as {
    images: number
    bySplit: Record<string, number>
    byAnnotationKind: Record<string, number>
  }
  expect(info.images).toBe(110)
  expect(info.bySplit).toEqual({ train: 50, val: 10, test: 50 })
  expect(info.byAnnotationKind.mask).toBe(418)
})
