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
