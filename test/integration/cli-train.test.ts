import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import Database from 'better-sqlite3'
import sharp from 'sharp'
import { beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, assertFashionMnist, FASHION_MNIST, smallset, spawnSmallset, tempDir } from './cli'

/** The first `n` images and labels of a real Fashion-MNIST IDX pair, written as a new, smaller pair. */
function writeSlice(dir: string, prefix: 'train' | 't10k', n: number): void {
  const img = gunzipSync(fs.readFileSync(path.join(FASHION_MNIST, `${prefix}-images-idx3-ubyte.gz`)))
  const lab = gunzipSync(fs.readFileSync(path.join(FASHION_MNIST, `${prefix}-labels-idx1-ubyte.gz`)))
  const ih = Buffer.alloc(16)
  ih.writeUInt32BE(0x803, 0)
  ih.writeUInt32BE(n, 4)
  ih.writeUInt32BE(28, 8)
  ih.writeUInt32BE(28, 12)
  const lh = Buffer.alloc(8)
  lh.writeUInt32BE(0x801, 0)
  lh.writeUInt32BE(n, 4)
  fs.writeFileSync(
    path.join(dir, `${prefix}-images-idx3-ubyte`),
    Buffer.concat([ih, img.subarray(16, 16 + n * 784)]),
  )
  fs.writeFileSync(path.join(dir, `${prefix}-labels-idx1-ubyte`), Buffer.concat([lh, lab.subarray(8, 8 + n)]))
}

async function sliceProject(train: number, test: number): Promise<string> {
  const work = tempDir('train')
  const src = path.join(work, 'slice')
  fs.mkdirSync(src)
  writeSlice(src, 'train', train)
  writeSlice(src, 't10k', test)
  const dir = path.join(work, 'project')
  await smallset('init', dir)
  await smallset('import', dir, src, '--preset', 'fashion-mnist', '--json')
  return dir
}

const lines = (out: string) =>
  out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)

beforeAll(() => {
  assertBuilt()
  assertFashionMnist()
})

describe('smallset train on a real Fashion-MNIST slice', () => {
  it('trains seed-cnn for 1 epoch in the trainer process, well above chance, and eval reports the same', async () => {
    const dir = await sliceProject(12_000, 2_000)
    const out = lines(
      (await smallset('train', dir, '--model', 'seed-cnn', '--epochs', '1', '--validation', 'test', '--json'))
        .stdout,
    )
    const epochs = out.filter((l) => l.type === 'epoch')
    const summary = out.find((l) => l.type === 'summary')!
    expect(epochs).toHaveLength(1)
    expect(summary.status).toBe('done')
    expect(summary.backend).toBe('wasm')
    // Ten classes: chance is 10 %. One epoch of the seed recipe on 12,000 images gets far above it.
    expect(summary.test_accuracy as number).toBeGreaterThan(0.55)
    expect(summary.train_samples_per_s as number).toBeGreaterThan(0)
    expect(epochs[0]!.test_accuracy).toBeCloseTo(summary.test_accuracy as number, 6)

    const ev = JSON.parse((await smallset('eval', dir, '--run', String(summary.run), '--json')).stdout)
    expect(ev.test_accuracy).toBe(summary.test_accuracy)
    expect(ev.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(2_000)
    expect(ev.perClass).toHaveLength(10)
    expect(ev.wrong[0].top3).toHaveLength(3)
  }, 240_000)

  it('a trainer process killed mid-run leaves the run failed and resumable from its last checkpoint', async () => {
    const dir = await sliceProject(3_000, 500)
    const child = spawnSmallset(
      'train',
      dir,
      '--model',
      'seed-mlp',
      '--epochs',
      '4',
      '--validation',
      'test',
      '--json',
    )
    let out = ''
    let killed = false
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        if (!killed && out.includes('"type":"epoch"')) {
          killed = true
          // Kill the trainer process (a crash in native code would look the same), not the CLI.
          const workers = execFileSync('pgrep', ['-P', String(child.pid)])
            .toString()
            .trim()
            .split('\n')
            .map(Number)
          for (const pid of workers) process.kill(pid, 'SIGKILL')
          resolve()
        }
      })
      child.on('exit', () => {
        if (!killed) reject(new Error(`the CLI exited before its first epoch:\n${out}`))
      })
    })
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)))
    expect(code).toBe(1)
    const summary = lines(out).find((l) => l.type === 'summary')!
    expect(summary.status).toBe('failed')
    expect(String(summary.error)).toMatch(/trainer process stopped \(SIGKILL\)/)

    const db = new Database(path.join(dir, 'project.sqlite'), { readonly: true })
    const done = (
      db.prepare('SELECT MAX(epoch) AS e FROM run_checkpoints WHERE run_id = ?').get(summary.run) as {
        e: number
      }
    ).e
    db.close()
    expect(done).toBeGreaterThanOrEqual(1)

    const resumed = lines((await smallset('train', dir, '--resume', String(summary.run), '--json')).stdout)
    const end = resumed.find((l) => l.type === 'summary')!
    expect(end.status).toBe('done')
    expect(end.epochs).toBe(4)
    expect(resumed.filter((l) => l.type === 'epoch').map((l) => l.epoch)).toEqual(
      Array.from({ length: 4 - done }, (_, i) => done + 1 + i),
    )
  }, 240_000)

  it('a backend that cannot start here fails the run at once, with the reason and exit code 1', async () => {
    const dir = await sliceProject(200, 50)
    const r = await smallset('train', dir, '--model', 'seed-mlp', '--epochs', '1', '--backend', 'webgl').then(
      (x) => ({ code: 0, stdout: x.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    )
    expect(r.code).toBe(1)
    expect(r.stdout.trim()).toMatch(
      /^run \d+ failed: no TensorFlow\.js backend could start: webgl: WebGL runs only in Chromium/,
    )
  })

  it('runs the cats-vs-dogs recipe (180×180 RGB, augmentation, dropout) on a class-per-folder tree', async () => {
    // No cat or dog photos are available offline: sandals play cats and sneakers dogs, as
    // train/valid/test class folders of real Fashion-MNIST images, upscaled to RGB by the loader.
    const work = tempDir('catsdogs')
    const img = gunzipSync(fs.readFileSync(path.join(FASHION_MNIST, 't10k-images-idx3-ubyte.gz'))).subarray(
      16,
    )
    const lab = gunzipSync(fs.readFileSync(path.join(FASHION_MNIST, 't10k-labels-idx1-ubyte.gz'))).subarray(8)
    const seen = { 5: 0, 7: 0 } as Record<number, number>
    for (let i = 0; i < lab.length; i++) {
      const l = lab[i]!
      if (l !== 5 && l !== 7) continue
      const k = seen[l]!++
      const split = k < 16 ? 'train' : k < 20 ? 'valid' : k < 24 ? 'test' : null
      if (!split) continue
      const dir = path.join(work, 'tree', split, l === 5 ? 'cat' : 'dog')
      fs.mkdirSync(dir, { recursive: true })
      await sharp(img.subarray(i * 784, (i + 1) * 784), { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toFile(path.join(dir, `${k}.png`))
    }
    const dir = path.join(work, 'project')
    await smallset('init', dir)
    await smallset('import', dir, path.join(work, 'tree'))
    const out = lines(
      (await smallset('train', dir, '--model', 'seed-cats-dogs', '--epochs', '1', '--json')).stdout,
    )
    const summary = out.find((l) => l.type === 'summary')!
    expect(summary.status).toBe('done')
    const db = new Database(path.join(dir, 'project.sqlite'), { readonly: true })
    const run = db.prepare('SELECT config, summary FROM runs WHERE id = ?').get(summary.run) as {
      config: string
      summary: string
    }
    db.close()
    expect(JSON.parse(run.summary).input).toEqual({ width: 180, height: 180, channels: 3 })
    expect(JSON.parse(run.summary).counts).toEqual({ train: 32, val: 8, test: 8 })
    expect(JSON.parse(run.config).augment).toMatchObject({ hflip: true, rotationDeg: 36, zoom: 0.2 })
  }, 240_000)
})
