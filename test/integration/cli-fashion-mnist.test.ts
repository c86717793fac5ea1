import path from 'node:path'
import Database from 'better-sqlite3'
import { beforeAll, describe, expect, it } from 'vitest'
import { CLASS_PRESET_NAMES } from '../../src-shared/domain/classes'
import { assertBuilt, assertFashionMnist, FASHION_MNIST, smallset, spawnSmallset, tempDir } from './cli'

interface Info {
  images: number
  bySplit: Record<string, number>
  byClass: { name: string; count: number }[]
  byAnnotationKind: Record<string, number>
}

beforeAll(() => {
  assertBuilt()
  assertFashionMnist()
})

describe('smallset CLI on the real Fashion-MNIST', () => {
  it('imports all 70,000 images as train and test, in the right classes, and a second import changes nothing', async () => {
    const dir = path.join(tempDir('fmnist'), 'project')
    await smallset('init', dir)
    const first = JSON.parse(
      (await smallset('import', dir, FASHION_MNIST, '--preset', 'fashion-mnist', '--json')).stdout,
    )
    expect(first).toMatchObject({ added: 70_000, duplicates: 0, failed: [], cancelled: false })

    const info = JSON.parse((await smallset('info', dir, '--json')).stdout) as Info
    expect(info.images).toBe(70_000)
    expect(info.bySplit).toEqual({ train: 60_000, test: 10_000 })
    expect(info.byClass.map((c) => c.name)).toEqual([...CLASS_PRESET_NAMES['fashion-mnist']])
    // Fashion-MNIST is balanced: 6,000 train + 1,000 test per class.
    for (const c of info.byClass) expect(c.count).toBe(7_000)
    expect(info.byAnnotationKind).toEqual({ tag: 70_000 })

    // Spot-check labels against the IDX file itself: image 0 of the training set is an ankle boot (label 9).
    const db = new Database(path.join(dir, 'project.sqlite'), { readonly: true })
    const first3 = db
      .prepare(
        `SELECT c.name FROM images i JOIN annotations a ON a.image_id = i.id JOIN classes c ON c.id = a.class_id
         WHERE i.source LIKE '%train-images-idx3-ubyte.gz#%' ORDER BY i.id LIMIT 3`,
      )
      .all() as { name: string }[]
    db.close()
    expect(first3.map((r) => r.name)).toEqual(['Ankle boot', 'T-shirt/top', 'T-shirt/top'])

    const again = JSON.parse(
      (await smallset('import', dir, FASHION_MNIST, '--preset', 'fashion-mnist', '--json')).stdout,
    )
    expect(again).toMatchObject({ added: 0, duplicates: 70_000, failed: [] })
    expect(JSON.parse((await smallset('info', dir, '--json')).stdout)).toEqual(info)
  }, 180_000)

  it('a process killed mid-import leaves a project that opens, with whole images only', async () => {
    const dir = path.join(tempDir('kill'), 'project')
    await smallset('init', dir)
    const child = spawnSmallset('import', dir, FASHION_MNIST, '--preset', 'fashion-mnist', '--json')
    const file = path.join(dir, 'project.sqlite')
    // Kill it as soon as some batches are committed but before the end.
    const seen = await new Promise<number>((resolve, reject) => {
      const timer = setInterval(() => {
        try {
          const db = new Database(file, { readonly: true, fileMustExist: true })
          const n = (db.prepare('SELECT COUNT(*) AS n FROM images').get() as { n: number }).n
          db.close()
          if (n > 0) {
            clearInterval(timer)
            child.kill('SIGKILL')
            resolve(n)
          }
        } catch {
          // Busy or not there yet: try again.
        }
      }, 5)
      child.on('exit', () => {
        clearInterval(timer)
        reject(new Error('the import finished before it could be killed'))
      })
    })
    await new Promise((r) => child.once('exit', r))
    expect(seen).toBeGreaterThan(0)

    const db = new Database(file)
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
    const counts = db
      .prepare(
        `SELECT COUNT(*) AS images,
                SUM(EXISTS (SELECT 1 FROM image_data d WHERE d.image_id = i.id AND length(d.bytes) = 784)) AS whole,
                SUM(EXISTS (SELECT 1 FROM annotations a WHERE a.image_id = i.id AND a.kind = 'tag')) AS tagged
         FROM images i`,
      )
      .get() as { images: number; whole: number; tagged: number }
    db.close()
    expect(counts.images).toBeGreaterThan(0)
    expect(counts.images).toBeLessThan(70_000)
    expect(counts.whole).toBe(counts.images)
    expect(counts.tagged).toBe(counts.images)

    // The project opens, and importing again completes what was cut off.
    const before = JSON.parse((await smallset('info', dir, '--json')).stdout) as Info
    expect(before.images).toBe(counts.images)
    const rest = JSON.parse(
      (await smallset('import', dir, FASHION_MNIST, '--preset', 'fashion-mnist', '--json')).stdout,
    )
    expect(rest.added + rest.duplicates).toBe(70_000)
    expect(JSON.parse((await smallset('info', dir, '--json')).stdout).images).toBe(70_000)
  }, 180_000)
})
