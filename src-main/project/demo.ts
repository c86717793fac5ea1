import fs from 'node:fs'
import path from 'node:path'
import type { SmallsetApp } from '../api/app'
import { projectFile } from '../store/open'

/** Where the demo's seed data lives: `resources/demo` beside the built app. */
export function demoSeedDir(resourcesDir: string): string {
  return path.join(resourcesDir, 'demo')
}

/**
 * Opens the demo project at `dir`, making it first from the shipped seed (300 Fashion-MNIST images)
 * when it is not there yet. A half-made demo (no images) is imported again; imports skip duplicates.
 */
export async function openDemoProject(app: SmallsetApp, dir: string, resourcesDir: string): Promise<void> {
  const summary = fs.existsSync(projectFile(dir))
    ? app.openProject(dir)
    : app.createProject(dir, 'Fashion-MNIST demo')
  if (summary.counts.images > 0) return
  const report = await app.importNow({
    paths: [demoSeedDir(resourcesDir)],
    format: 'idx',
    preset: 'fashion-mnist',
  })
  if (report.failed.length) {
    throw new Error(
      `The demo seed data could not be imported: ${report.failed.map((f) => `${f.path}: ${f.reason}`).join('; ')}`,
    )
  }
}
