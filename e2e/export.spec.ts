import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { expect, test } from '@playwright/test'
import { serve, tempDir, type ServedHost } from './host'

const ROOT = path.resolve(__dirname, '..')
const CLI = path.join(ROOT, 'bin', 'smallset.js')
const cli = (...args: string[]) => execFileSync(process.execPath, [CLI, ...args]).toString()

interface Info {
  images: number
  bySplit: Record<string, number>
  byClass: { name: string; count: number }[]
  byAnnotationKind: Record<string, number>
}
const info = (dir: string) => JSON.parse(cli('info', dir, '--json')) as Info

let host: ServedHost | undefined
test.afterEach(async () => {
  await host?.stop()
  host = undefined
})

test('export the scene demo to YOLO in the UI, then import that export into a new project', async ({
  page,
}, testInfo) => {
  const work = tempDir('export')
  const source = path.join(work, 'scenes')
  cli('init', source, '--name', 'Scenes')
  cli('import', source, path.join(ROOT, 'resources', 'detection-demo'), '--format', 'coco')
  const before = info(source)
  host = await serve([source])
  await page.goto(host.url)
  await expect(page.getByTestId('count-images')).toHaveText(String(before.images))

  // Export: YOLO, every split, into a new folder.
  const out = path.join(work, 'scenes-yolo')
  await page.getByRole('button', { name: 'Export…' }).click()
  const dialog = page.getByRole('dialog', { name: 'Export dataset' })
  await dialog.locator('select[name="export-format"]').selectOption('yolo')
  await dialog.getByLabel('Folder to write (new or empty)').fill(out)
  await dialog.getByRole('button', { name: 'Export', exact: true }).click()
  const report = page.getByTestId('export-report')
  await expect(report).toContainText(`Wrote ${before.images} images`, { timeout: 60_000 })
  await expect(page.getByTestId('export-train-command')).toContainText(`data=${path.join(out, 'data.yaml')}`)
  const objects = Number(/and (\d+) objects/.exec((await report.textContent()) ?? '')?.[1])
  // Every mask became at least one polygon line.
  expect(objects).toBeGreaterThanOrEqual(before.byAnnotationKind.mask!)
  expect(fs.existsSync(path.join(out, 'data.yaml'))).toBe(true)
  await page.screenshot({ path: testInfo.outputPath('export-report.png') })
  await dialog.getByRole('button', { name: 'Close' }).click()

  // A new project, and the export imported into it with the format detected.
  const copy = path.join(work, 'copy')
  await page.getByRole('button', { name: 'Switch project' }).click()
  await page.getByLabel('Project folder').fill(copy)
  await page.getByLabel('Name (for a new project)').fill('Scenes again')
  await page.getByRole('button', { name: 'Create project' }).click()
  await expect(page.getByTestId('project-name')).toHaveText('Scenes again')
  await page.getByRole('button', { name: 'Import…' }).first().click()
  await page.getByLabel('Files or folders, one per line').fill(out)
  await page.getByRole('dialog').getByRole('button', { name: 'Import', exact: true }).click()
  const imported = page.getByTestId('import-report')
  await expect(imported).toContainText(`${before.images} added`, { timeout: 60_000 })
  await expect(imported).toContainText('0 failed')
  await page.screenshot({ path: testInfo.outputPath('reimport-report.png') })
  await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click()
  await expect(page.getByTestId('count-images')).toHaveText(String(before.images))

  // Same images, splits and classes; the masks came back as YOLO's polygons, one per label line.
  const after = info(copy)
  expect(after.images).toBe(before.images)
  expect(after.bySplit).toEqual(before.bySplit)
  const counts = (i: Info) => Object.fromEntries(i.byClass.map((c) => [c.name, c.count]))
  expect(counts(after)).toEqual(counts(before))
  expect(after.byAnnotationKind.polygon).toBe(objects)
})
