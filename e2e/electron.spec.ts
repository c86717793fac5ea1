import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { _electron as electron, expect, test } from '@playwright/test'
import { tempDir } from './host'

const ROOT = path.resolve(__dirname, '..')

/** The Electron binary, when this machine has it (npm skips its download; see README). */
function electronBinary(): string | null {
  try {
    const p = createRequire(__filename)('electron') as unknown as string
    return typeof p === 'string' && fs.existsSync(p) ? p : null
  } catch {
    return null
  }
}

/** better-sqlite3 built for Electron's ABI, which `npm start` makes on first use. */
function sqliteBinding(): string | null {
  const dir = path.join(ROOT, 'out', 'native')
  if (!fs.existsSync(dir)) return null
  for (const d of fs.readdirSync(dir)) {
    const f = path.join(dir, d, 'build', 'Release', 'better_sqlite3.node')
    if (fs.existsSync(f)) return f
  }
  return null
}

const binary = electronBinary()
const binding = sqliteBinding()
const hasDisplay = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY)
const why = !binary
  ? 'the Electron binary is not installed on this machine (its download is refused here), so the window cannot open'
  : !hasDisplay
    ? 'there is no display to open the Electron window on'
    : !binding
      ? 'better-sqlite3 has not been built for Electron yet (npm start builds it)'
      : ''

test('the Electron window opens the demo project through the preload API', async () => {
  if (why)
    console.log(`electron.spec: SKIPPED because ${why}. The web host specs cover the same renderer and API.`)
  test.skip(why !== '', `Skipped: ${why}`)
  const app = await electron.launch({
    executablePath: binary!,
    args: [ROOT],
    env: {
      ...process.env,
      SMALLSET_DEMO_DIR: path.join(tempDir('electron'), 'demo'),
      SMALLSET_SQLITE_BINDING: binding!,
    },
  })
  const win = await app.firstWindow()
  await expect(win.getByTestId('count-images')).toHaveText('300')
  expect(await win.evaluate(() => typeof window.api?.call)).toBe('function')
  await app.close()
})

test("a run in the Electron app goes through the hidden window's GPU worker", async () => {
  if (why)
    console.log(
      `electron.spec: SKIPPED because ${why}. e2e/gpu-worker.spec.ts covers the worker in Chromium.`,
    )
  test.skip(why !== '', `Skipped: ${why}`)
  test.setTimeout(180_000)
  const app = await electron.launch({
    executablePath: binary!,
    args: [ROOT],
    env: {
      ...process.env,
      SMALLSET_DEMO_DIR: path.join(tempDir('electron-gpu'), 'demo'),
      SMALLSET_SQLITE_BINDING: binding!,
    },
  })
  const win = await app.firstWindow()
  await expect(win.getByTestId('count-images')).toHaveText('300')
  type Api = { call(channel: string, req: unknown): Promise<{ ok: boolean; value?: unknown }> }
  const summary = await win.evaluate(async () => {
    const api = (window as unknown as { api: Api }).api
    const config = { task: 'classify', model: 'seed-mlp', epochs: 1 }
    const started = await api.call('train.start', { config })
    const runId = (started.value as { runId: number }).runId
    for (;;) {
      const r = await api.call('runs.get', { runId })
      const s = (
        r.value as { summary: { status: string; backend: string; backendReason: string; error: string } }
      ).summary
      if (s.status !== 'queued' && s.status !== 'running') return s
      await new Promise((res) => setTimeout(res, 500))
    }
  })
  expect(summary.status, summary.error).toBe('done')
  // Trained on Chromium's WebGPU or WebGL in the worker, or, where it has no (hardware) GPU, in the
  // trainer process with the worker's reasons: either way the worker answered.
  expect(`${summary.backend}: ${summary.backendReason}`).toMatch(/Chromium/)
  await app.close()
})
