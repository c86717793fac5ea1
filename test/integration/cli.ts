import { execFile, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

export const ROOT = path.resolve(__dirname, '..', '..')
export const CLI = path.join(ROOT, 'bin', 'smallset.js')
export const FASHION_MNIST = '/usr/share/datasets/fashion-mnist'

/** The integration tests drive the built CLI, as a user does. */
export function assertBuilt(): void {
  if (!fs.existsSync(path.join(ROOT, 'out', 'main', 'cli.js'))) {
    throw new Error('out/main/cli.js is missing: run "npm run build" before the integration tests')
  }
}

export function assertFashionMnist(): void {
  if (!fs.existsSync(path.join(FASHION_MNIST, 'train-images-idx3-ubyte.gz'))) {
    throw new Error(
      `${FASHION_MNIST} is missing: apt-get install -y dataset-fashion-mnist (scripts/test-all.sh does it)`,
    )
  }
}

export async function smallset(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [CLI, ...args], { maxBuffer: 64 << 20 })
}

export function spawnSmallset(...args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `smallset-${prefix}-`))
}
