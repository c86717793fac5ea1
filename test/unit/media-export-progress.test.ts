import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DATASET_EXPORT_FORMATS } from '../../src-shared/api/exchange'
import { exportDataset } from '../../src-main/media/formats'
import { exportCoco } from '../../src-main/media/formats/coco'
import type { DB } from '../../src-main/store/open'
import { doImport, formatTestEnv, png, writeFile } from './helpers/formats'

/** Exports report how far they are, image by image, ending at every image of the export. */

const env = formatTestEnv('smallset-export-progress-', { beforeEach, afterEach })

async function project(): Promise<DB> {
  const root = path.join(env.tmp(), 'coco')
  const images = []
  const annotations = []
  for (let i = 0; i < 12; i++) {
    await png(path.join(root, 'images', `i${i}.png`), 40, 30)
    images.push({ id: i + 1, file_name: `i${i}.png`, width: 40, height: 30 })
    annotations.push({ id: i + 1, image_id: i + 1, category_id: 1, bbox: [2, 2, 10, 8], iscrowd: 0 })
  }
  writeFile(
    path.join(root, 'annotations.json'),
    JSON.stringify({ images, annotations, categories: [{ id: 1, name: 'thing' }] }),
  )
  const db = env.newProject()
  const r = await doImport(db, { paths: [path.join(root, 'annotations.json')] })
  expect(r).toMatchObject({ added: 12, failed: [] })
  db.prepare(
    "INSERT INTO annotations (image_id, class_id, kind, origin) SELECT id, 1, 'tag', 'user' FROM images",
  ).run()
  return db
}

describe('export progress', () => {
  it.each(['coco', ...DATASET_EXPORT_FORMATS])(
    '%s reports from 0 to every image, in order',
    async (format) => {
      const db = await project()
      const seen: [number, number][] = []
      const on = (done: number, total: number) => void seen.push([done, total])
      const dir = path.join(env.tmp(), `out-${format}`)
      if (format === 'coco') await exportCoco(db, { dir }, on)
      else await exportDataset(db, { format: format as (typeof DATASET_EXPORT_FORMATS)[number], dir }, on)
      expect(seen[0]).toEqual([0, 12])
      expect(seen.at(-1)).toEqual([12, 12])
      for (let i = 1; i < seen.length; i++) expect(seen[i]![0]).toBeGreaterThan(seen[i - 1]![0])
    },
  )
})
