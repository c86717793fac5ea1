import fs from 'node:fs'
import path from 'node:path'
import type { SmallsetApp } from '../api/app'
import type { DemoKind, ImportRequest } from '../../src-shared/api/contract'
import { projectFile } from '../store/open'

/** The demo projects Smallset ships: their seed data in `resources/` and how it is imported. */
export const DEMOS: Record<DemoKind, { seed: string; name: string; request: Omit<ImportRequest, 'paths'> }> =
  {
    /** 300 Fashion-MNIST test images, 30 per class (resources/demo). */
    classification: {
      seed: 'demo',
      name: 'Fashion-MNIST demo',
      request: { format: 'idx', preset: 'fashion-mnist' },
    },
    /** 110 scenes of Fashion-MNIST items with instance masks, as COCO (resources/detection-demo). */
    detection: {
      seed: 'detection-demo',
      name: 'Detection demo (Fashion-MNIST scenes)',
      request: { format: 'coco' },
    },
  }

/** Where a demo's seed data lives, beside the built app. */
export function demoSeedDir(resourcesDir: string, kind: DemoKind = 'classification'): string {
  return path.join(resourcesDir, DEMOS[kind].seed)
}

/**
 * Opens the demo project at `dir`, making it first from the shipped seed when it is not there yet.
 * A half-made demo (no images) is imported again; imports skip duplicates.
 */
export async function openDemoProject(
  app: SmallsetApp,
  dir: string,
  resourcesDir: string,
  kind: DemoKind = 'classification',
): Promise<void> {
  const demo = DEMOS[kind]
  const summary = fs.existsSync(projectFile(dir)) ? app.openProject(dir) : app.createProject(dir, demo.name)
  if (summary.counts.images > 0) return
  const report = await app.importNow({ paths: [demoSeedDir(resourcesDir, kind)], ...demo.request })
  if (report.failed.length) {
    throw new Error(
      `The demo seed data could not be imported: ${report.failed.map((f) => `${f.path}: ${f.reason}`).join('; ')}`,
    )
  }
}
