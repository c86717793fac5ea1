import fs from 'node:fs/promises'
import path from 'node:path'
import { app, BrowserWindow, ipcMain, MessageChannelMain, protocol, session, shell } from 'electron'
import { SmallsetApp } from './api/app'
import type { GpuHost } from './train/host/runner'
import type { DemoKind } from '../src-shared/api/contract'
import { useSqliteBinding } from './store/open'
import { serveMedia, serveRenderer } from './window/protocols'
import {
  APP_SCHEME,
  APP_START_URL,
  applySessionGuards,
  applyWindowGuards,
  contentSecurityPolicy,
  MEDIA_SCHEME,
  unauthorized,
  untrustedSenderReason,
} from './window/security'

/**
 * Electron lifecycle and windows only: every service lives in SmallsetApp, every security decision
 * in window/security.ts (see there for the policy and why).
 */

/** Vite's dev server, in `electron-vite dev`; otherwise the built renderer through smallset-app://. */
const DEV_URL = process.env.ELECTRON_RENDERER_URL
const APP_URL = DEV_URL ? new URL(DEV_URL).href : APP_START_URL
const CSP = contentSecurityPolicy({ dev: Boolean(DEV_URL), devOrigin: DEV_URL })
const RENDERER_DIR = path.join(__dirname, '../renderer')

protocol.registerSchemesAsPrivileged([
  // No corsEnabled on either: other origins cannot read them.
  { scheme: MEDIA_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
])
// Every renderer sandboxed, whatever its webPreferences say.
app.enableSandbox()

// WebGPU for the trainer window's worker: on Linux, Chromium still keeps it behind these switches.
if (process.platform === 'linux') {
  app.commandLine.appendSwitch('enable-unsafe-webgpu')
  app.commandLine.appendSwitch('enable-features', 'Vulkan')
}

/**
 * The GPU trainer: Dawn for Node cannot run in Electron's processes (dawn-gpu/node-webgpu#5), so
 * runs train in a dedicated worker of a hidden window (src-renderer/gpu-trainer/), on Chromium's
 * own WebGPU or WebGL. The window is made on a run's first need and kept; each run gets its own
 * MessagePort, relayed to its trainer process by the runner (train/host/runner.ts).
 */
let gpuWindow: Promise<BrowserWindow> | null = null
const gpuCrashListeners = new Set<(message: string) => void>()
function gpuTrainerWindow(): Promise<BrowserWindow> {
  gpuWindow ??= (async () => {
    const win = new BrowserWindow({
      show: false,
      webPreferences: {
        preload: path.join(__dirname, '../preload/index.js'),
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        // A hidden window's timers are throttled by default: training would crawl.
        backgroundThrottling: false,
      },
    })
    win.webContents.on('render-process-gone', (_e, d) => {
      gpuWindow = null
      for (const fn of [...gpuCrashListeners]) fn(`the GPU trainer window stopped (${d.reason})`)
      if (!win.isDestroyed()) win.destroy()
    })
    win.on('closed', () => (gpuWindow = null))
    await win.loadURL(new URL('gpu-trainer.html', APP_URL).href)
    return win
  })()
  gpuWindow.catch(() => (gpuWindow = null))
  return gpuWindow
}
const gpuHost: GpuHost = {
  async connect() {
    const win = await gpuTrainerWindow()
    const { port1, port2 } = new MessageChannelMain()
    win.webContents.postMessage('smallset:gpu-port', null, [port2])
    const listeners = new Set<(m: unknown) => void>()
    // A crashed window says nothing more: its runs end with this message (and stay resumable).
    const onCrash = (message: string) => listeners.forEach((fn) => fn({ type: 'error', message }))
    gpuCrashListeners.add(onCrash)
    port1.on('message', (e) => listeners.forEach((fn) => fn(e.data)))
    port1.start()
    return {
      postMessage: (m) => port1.postMessage(m),
      listen: (fn) => {
        listeners.add(fn)
        return () => {
          listeners.delete(fn)
          if (listeners.size) return
          gpuCrashListeners.delete(onCrash)
          port1.close()
        }
      },
    }
  },
}

// better-sqlite3 built for Electron's ABI by scripts/start.mjs; node_modules holds the Node build.
useSqliteBinding(process.env.SMALLSET_SQLITE_BINDING)
const service = new SmallsetApp({
  demoDir: (kind) =>
    kind === 'classification'
      ? (process.env.SMALLSET_DEMO_DIR ?? path.join(app.getPath('userData'), 'demo-project'))
      : path.join(app.getPath('userData'), 'detection-demo'),
  // SMALLSET_GPU_WORKER=0 keeps every run in the trainer process (wasm on every core).
  gpuHost: process.env.SMALLSET_GPU_WORKER === '0' ? undefined : gpuHost,
})

/** The webContents of the app's own windows: the only ones whose main frame may call the API. */
const appContents = new WeakSet<object>()

// Navigation, redirect, webview and window.open guards on every webContents, as it is made.
app.on('web-contents-created', (_e, contents) => {
  applyWindowGuards(contents, {
    appUrl: APP_URL,
    openExternal: (url) => shell.openExternal(url),
    onBlocked: (what, url) => console.warn(`smallset: blocked ${what}${url ? ` to ${url}` : ''}`),
  })
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
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  })
  appContents.add(win.webContents)
  const off = service.onEvent((event, payload) => {
    if (!win.isDestroyed()) win.webContents.send('smallset:event', event, payload)
  })
  win.on('closed', () => {
    off()
    // The hidden trainer window must not keep the app alive once the last real window closes.
    void gpuWindow?.then((w) => !w.isDestroyed() && w.destroy())
  })
  await win.loadURL(DEV_URL ?? APP_START_URL)
}

app.whenReady().then(async () => {
  applySessionGuards(session.defaultSession, { appUrl: APP_URL, csp: CSP })
  ipcMain.handle('smallset:call', (e, channel: string, req: unknown) => {
    const why = untrustedSenderReason(e, APP_URL, (sender) => appContents.has(sender as object))
    if (why) return unauthorized(why)
    return service.dispatch(channel, req)
  })
  protocol.handle(APP_SCHEME, (request) =>
    serveRenderer(request, { root: RENDERER_DIR, csp: CSP, readFile: (f) => fs.readFile(f) }),
  )
  protocol.handle(MEDIA_SCHEME, (request) =>
    serveMedia(request, (kind, id, etag) => service.media(kind, id, etag)),
  )
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
    if (BrowserWindow.getAllWindows().every((w) => !w.isVisible())) void createWindow()
  })
})

app.on('window-all-closed', () => {
  service.close()
  if (process.platform !== 'darwin') app.quit()
})
