import path from 'node:path'
import { app, BrowserWindow, ipcMain, protocol } from 'electron'
import { SmallsetApp } from './api/app'
import type { DemoKind } from '../src-shared/api/contract'
import { useSqliteBinding } from './store/open'

/** Electron lifecycle and windows only: every service lives in SmallsetApp. */

protocol.registerSchemesAsPrivileged([
  { scheme: 'smallset-media', privileges: { standard: true, secure: true, supportFetchAPI: true } },
])

// better-sqlite3 built for Electron's ABI by scripts/start.mjs; node_modules holds the Node build.
useSqliteBinding(process.env.SMALLSET_SQLITE_BINDING)
const service = new SmallsetApp({
  demoDir: (kind) =>
    kind === 'classification'
      ? (process.env.SMALLSET_DEMO_DIR ?? path.join(app.getPath('userData'), 'demo-project'))
      : path.join(app.getPath('userData'), 'detection-demo'),
})

/** `--demo=detection` opens the detection demo instead of the classification one. */
function demoArg(): DemoKind {
  const m = process.argv.map((a) => /^--demo=(\w+)$/.exec(a)?.[1]).find(Boolean)
  return m === 'detection' ? 'detection' : 'classification'
}

function projectArg(): string | undefined {
  const args = process.argv.slice(app.isPackaged ? 1 : 2).filter((a) => !a.startsWith('-'))
  return args[0]
}

async function createWindow(): Promise<void> {
  const win = new BrowserWindow({
    width: 1280,
    height: 860,
    title: 'Smallset',
    webPreferences: {
      preload: path.join(__dirname, '../preload/index.js'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    },
  })
  const off = service.onEvent((event, payload) => {
    if (!win.isDestroyed()) win.webContents.send('smallset:event', event, payload)
  })
  win.on('closed', off)
  if (process.env.ELECTRON_RENDERER_URL) await win.loadURL(process.env.ELECTRON_RENDERER_URL)
  else await win.loadFile(path.join(__dirname, '../renderer/index.html'))
}

app.whenReady().then(async () => {
  ipcMain.handle('smallset:call', (_e, channel: string, req: unknown) => service.dispatch(channel, req))
  protocol.handle('smallset-media', async (request) => {
    const url = new URL(request.url)
    const id = Number(url.pathname.replace(/^\//, ''))
    try {
      const item = await service.media(url.host === 'thumb' ? 'thumb' : 'image', id)
      if (!item || item === 'not-modified') return new Response('not found', { status: 404 })
      return new Response(new Uint8Array(item.bytes), {
        headers: { 'Content-Type': item.mime, ETag: item.etag },
      })
    } catch (e) {
      return new Response(String(e), { status: 409 })
    }
  })
  const dir = projectArg()
  try {
    if (dir) service.openProject(dir)
    else {
      const r = await service.dispatch('project.openDemo', { kind: demoArg() })
      if (!r.ok) console.error(r.error.message)
    }
  } catch (e) {
    // The window still opens; the renderer shows the project picker and the error.
    console.error(e)
  }
  await createWindow()
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) void createWindow()
  })
})

app.on('window-all-closed', () => {
  service.close()
  if (process.platform !== 'darwin') app.quit()
})
