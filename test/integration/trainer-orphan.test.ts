import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import sharp from 'sharp'
import { beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, CLI, smallset, tempDir } from './cli'

/** Two classes of 28×28 grey images, told apart by which half is bright: seed-mlp learns it at once. */
async function tinyProject(): Promise<string> {
  const work = tempDir('orphan')
  for (const c of ['left', 'right']) {
    fs.mkdirSync(path.join(work, 'tree', c), { recursive: true })
    for (let i = 0; i < 40; i++) {
      const px = Buffer.alloc(28 * 28)
      for (let j = 0; j < px.length; j++) {
        const bright = c === 'left' ? j % 28 < 14 : j % 28 >= 14
        px[j] = bright ? 180 + (i % 60) : (i * 7 + j) % 50
      }
      await sharp(px, { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toFile(path.join(work, 'tree', c, `${i}.png`))
    }
  }
  const dir = path.join(work, 'project')
  await smallset('init', dir)
  await smallset('import', dir, path.join(work, 'tree'))
  return dir
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

beforeAll(() => assertBuilt())

describe('the trainer process when its parent dies', () => {
  it('exits quietly (no uncaught EPIPE / closed channel), leaving the run resumable', async () => {
    const dir = await tinyProject()
    // The trainer inherits the CLI's stderr: a file, so what it writes after the CLI is gone is kept.
    const errFile = path.join(path.dirname(dir), 'stderr.txt')
    const errFd = fs.openSync(errFile, 'w')
    const cli = spawn(
      process.execPath,
      [CLI, 'train', dir, '--model', 'seed-mlp', '--epochs', '400', '--json'],
      { stdio: ['ignore', 'pipe', errFd] },
    )
    fs.closeSync(errFd)
    let out = ''
    const workers = await new Promise<number[]>((resolve, reject) => {
      cli.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        if (!out.includes('"type":"epoch"')) return
        cli.stdout!.removeAllListeners('data')
        resolve(
          execFileSync('pgrep', ['-P', String(cli.pid)])
            .toString()
            .trim()
            .split('\n')
            .map(Number),
        )
      })
      cli.on('exit', () => reject(new Error(`the CLI exited before its first epoch:\n${out}`)))
    })
    expect(workers.length).toBeGreaterThan(0)
    cli.removeAllListeners('exit')
    // The parent dies at once (no handler runs), and the terminal it wrote to goes with it.
    cli.kill('SIGKILL')
    cli.stdout!.destroy()

    const t0 = Date.now()
    while (workers.some(alive) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50))
    const left = workers.filter(alive)
    for (const pid of left) process.kill(pid, 'SIGKILL')
    expect(left, 'the trainer outlived its parent by 10 s').toEqual([])

    const stderr = fs.readFileSync(errFile, 'utf8')
    expect(stderr).not.toMatch(/ERR_IPC_CHANNEL_CLOSED|EPIPE|Uncaught|Emitted 'error' event|node:internal/)

    // Its checkpoints stay: the run can be resumed.
    const db = new Database(path.join(dir, 'project.sqlite'), { readonly: true })
    const run = db.prepare('SELECT id, status FROM runs ORDER BY id DESC LIMIT 1').get() as {
      id: number
      status: string
    }
    const ckpt = db.prepare('SELECT MAX(epoch) AS e FROM run_checkpoints WHERE run_id = ?').get(run.id) as {
      e: number | null
    }
    db.close()
    expect(['cancelled', 'failed']).toContain(run.status)
    expect(ckpt.e).toBeGreaterThanOrEqual(1)
  }, 120_000)
})
