import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { build } from 'rolldown'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * Threaded wasm (src-main/train/backends/wasm-threads.node.ts): the backend starts once per process,
 * so each thread count trains in a child process of its own. The same seeded steps of a small CNN
 * must give the same losses and weights on 1 and 2 threads, to float rounding.
 */

const ROOT = path.resolve(__dirname, '..', '..')
let dir: string
let bundle: string
beforeAll(async () => {
  // Inside the project, so that the bundle's require() finds node_modules.
  const cache = path.join(ROOT, 'node_modules', '.cache')
  fs.mkdirSync(cache, { recursive: true })
  dir = fs.mkdtempSync(path.join(cache, 'smallset-threads-test-'))
  bundle = path.join(dir, 'child.cjs')
  // The child is TypeScript: bundled with the project's sources, the packages left to require().
  await build({
    input: path.join(__dirname, 'helpers', 'wasm-threads-child.ts'),
    platform: 'node',
    external: [/^@tensorflow\//, /^webgpu$/, /^node:/],
    output: { file: bundle, format: 'cjs' },
    logLevel: 'silent',
  })
}, 60_000)
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

function trainWith(threads: number): { threads: number; detail: string; losses: number[]; checksum: number } {
  const out = execFileSync(process.execPath, [bundle], {
    cwd: ROOT,
    env: { ...process.env, SMALLSET_THREADS: String(threads) },
    encoding: 'utf8',
    timeout: 120_000,
  })
  return JSON.parse(out.trim().split('\n').at(-1)!)
}

describe('wasm with threads', () => {
  it('starts with 2 threads, and trains as on one thread', () => {
    const one = trainWith(1)
    const two = trainWith(2)
    expect(one.threads).toBe(1)
    expect(one.detail).toMatch(/1 thread\)/)
    expect(two.threads).toBe(2)
    expect(two.detail).toMatch(/2 threads/)
    expect(two.losses).toHaveLength(one.losses.length)
    two.losses.forEach((l, i) => expect(Math.abs(l - one.losses[i]!)).toBeLessThan(1e-5))
    expect(Math.abs(two.checksum - one.checksum) / Math.abs(one.checksum)).toBeLessThan(1e-5)
  }, 240_000)
})
