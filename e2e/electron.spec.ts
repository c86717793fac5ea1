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

const binary = electronBinary()
const hasDisplay = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY)
const why = !binary
  ? 'the Electron binary is not installed on this machine (its download is refused here), so the window cannot open'
  : !hasDisplay
    ? 'there is no display to open the Electron window on'
    : ''

test('the Electron window opens the demo project through the preload API', async () => {
  if (why)
    console.log(`electron.spec: SKIPPED because ${why}. The web host specs cover the same renderer and API.`)
  test.skip(why !== '', `Skipped: ${why}`)
  const app = await electron.launch({
    executablePath: binary!,
    args: [ROOT],
    env: { ...process.env, SMALLSET_DEMO_DIR: path.join(tempDir('electron'), 'demo') },
  })
  const win = await app.firstWindow()
  await expect(win.getByTestId('count-images')).toHaveText('300')
  expect(await win.evaluate(() => typeof window.api?.call)).toBe('function')
  await app.close()
})
