import type { ApiErrorShape } from '../../src-shared/api/contract'

/**
 * The app window's security policy (https://www.electronjs.org/docs/latest/tutorial/security), as
 * plain functions over plain inputs: which URLs the window may show, what its pages may load, which
 * permissions they get, which frames may call the API. Nothing here imports Electron; the guards are
 * wired onto anything shaped like a webContents or a session, so fakes can test them.
 */

/** The built renderer is served from this privileged scheme, not from file:// (checklist item 18). */
export const APP_SCHEME = 'smallset-app'
export const APP_HOST = 'renderer'
/** The window's start URL outside dev, served by the `smallset-app` protocol handler. */
export const APP_START_URL = `${APP_SCHEME}://${APP_HOST}/index.html`
export const MEDIA_SCHEME = 'smallset-media'

/** Permissions the renderer gets, from the app's own main frame only. Everything else is denied. */
export const ALLOWED_PERMISSIONS: readonly string[] = ['clipboard-sanitized-write']

function parse(url: string | undefined | null): URL | null {
  if (typeof url !== 'string') return null
  try {
    return new URL(url)
  } catch {
    return null
  }
}

/**
 * Same origin, compared by scheme, host and port (URL.origin is 'null' for custom schemes in Node).
 * file: URLs have no real origin, so there the path must match too.
 */
function sameOrigin(a: URL, b: URL): boolean {
  if (a.protocol !== b.protocol || a.host !== b.host) return false
  return a.protocol !== 'file:' || a.pathname === b.pathname
}

/** The origin of a URL as a string ("smallset-app://renderer", "http://localhost:5173"). */
export function originOf(url: string): string | null {
  const u = parse(url)
  return u && u.host ? `${u.protocol}//${u.host}` : null
}

// ---------------------------------------------------------------------------------------------
// Content-Security-Policy

export interface CspOptions {
  /** The renderer comes from Vite's dev server (ELECTRON_RENDERER_URL). */
  dev?: boolean
  /** The dev server's origin, e.g. http://localhost:5173; only read when dev. */
  devOrigin?: string
}

/**
 * The renderer's policy. In dev, Vite's React preamble is an inline script and its HMR client talks
 * over a WebSocket to the dev server, so dev (only) adds 'unsafe-inline' scripts and ws: to that origin.
 * There is never 'unsafe-eval': 'wasm-unsafe-eval' lets tfjs compile WebAssembly, nothing more.
 */
export function contentSecurityPolicy(opts: CspOptions = {}): string {
  const script = ["'self'", "'wasm-unsafe-eval'"]
  const connect = ["'self'", `${MEDIA_SCHEME}:`]
  if (opts.dev) {
    script.push("'unsafe-inline'")
    const dev = parse(opts.devOrigin ?? '')
    if (dev && (dev.protocol === 'http:' || dev.protocol === 'https:')) {
      connect.push(dev.origin, `${dev.protocol === 'https:' ? 'wss' : 'ws'}://${dev.host}`)
    }
  }
  const directives: [string, string[]][] = [
    ['default-src', ["'self'"]],
    ['script-src', script],
    ['style-src', ["'self'", "'unsafe-inline'"]],
    ['img-src', ["'self'", 'data:', 'blob:', `${MEDIA_SCHEME}:`]],
    ['connect-src', connect],
    ['object-src', ["'none'"]],
    ['base-uri', ["'none'"]],
    ['frame-ancestors', ["'none'"]],
    ['form-action', ["'none'"]],
  ]
  return directives.map(([name, values]) => `${name} ${values.join(' ')}`).join('; ')
}

/** Headers every response from the renderer's origin carries. */
export function securityHeaders(csp: string): Record<string, string> {
  return {
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  }
}

/**
 * A response's headers with ours set in place of any of the same name (whatever its case), for
 * session.webRequest.onHeadersReceived.
 */
export function withSecurityHeaders(
  responseHeaders: Record<string, string | string[]> | undefined,
  csp: string,
): Record<string, string[]> {
  const ours = securityHeaders(csp)
  const names = new Set(Object.keys(ours).map((k) => k.toLowerCase()))
  const out: Record<string, string[]> = {}
  for (const [k, v] of Object.entries(responseHeaders ?? {})) {
    if (!names.has(k.toLowerCase())) out[k] = Array.isArray(v) ? v : [v]
  }
  for (const [k, v] of Object.entries(ours)) out[k] = [v]
  return out
}

// ---------------------------------------------------------------------------------------------
// Navigation and new windows

/**
 * Whether a frame may navigate to `url`: only to the app's own start URL (a reload), never to another
 * file (a file dropped on the window), another origin or port, another path of the dev server (its
 * /@fs/ serves any file), or a javascript:/data: URL. The fragment is ignored.
 */
export function isAllowedNavigation(url: string, appUrl: string): boolean {
  const to = parse(url)
  const app = parse(appUrl)
  if (!to || !app) return false
  if (to.username || to.password) return false
  return sameOrigin(to, app) && to.pathname === app.pathname && to.search === app.search
}

export interface WindowOpenDecision {
  /** No window is ever opened by the renderer. */
  action: 'deny'
  /** An https URL to hand to the system browser instead, or null. */
  openExternally: string | null
}

/**
 * window.open and target=_blank links never open an Electron window. An https link (without
 * credentials in it) goes to the system browser; nothing else does: file:, smb:, custom protocol
 * handlers and plain http can reach local files, other apps or be tampered with on the way.
 */
export function windowOpenDecision(url: string): WindowOpenDecision {
  const u = parse(url)
  const external = u && u.protocol === 'https:' && u.hostname !== '' && !u.username && !u.password
  return { action: 'deny', openExternally: external ? u.href : null }
}

// ---------------------------------------------------------------------------------------------
// Permissions

export interface PermissionDetails {
  /** The URL of the requesting frame (request handler, and check handler where given). */
  requestingUrl?: string
  /** The check handler's origin argument. */
  requestingOrigin?: string
  isMainFrame?: boolean
}

/**
 * Denies every permission except the few in ALLOWED_PERMISSIONS, and those only when asked by the
 * app's own main frame. The app needs no camera, microphone, location, notifications, MIDI, HID,
 * USB, serial, screen capture or openExternal.
 */
export function permissionDecision(permission: string, details: PermissionDetails, appUrl: string): boolean {
  if (!ALLOWED_PERMISSIONS.includes(permission)) return false
  if (details.isMainFrame === false) return false
  const from = parse(details.requestingUrl ?? details.requestingOrigin)
  const app = parse(appUrl)
  return Boolean(from && app && from.host && sameOrigin(from, app))
}

// ---------------------------------------------------------------------------------------------
// IPC senders

export interface SenderFrame {
  url: string
  isMainFrame: boolean
}

/** Whether an IPC message comes from the app's own main frame, at the app's origin. */
export function isTrustedSender(frame: SenderFrame | null | undefined, appUrl: string): boolean {
  if (!frame || !frame.isMainFrame) return false
  const from = parse(frame.url)
  const app = parse(appUrl)
  return Boolean(from && app && !from.username && !from.password && sameOrigin(from, app))
}

/** What an ipcMain.handle event looks like here (Electron's IpcMainInvokeEvent, structurally). */
export interface IpcEventLike {
  sender: unknown
  senderFrame: { url: string; parent: unknown } | null
}

/**
 * Checks an invoke event: its frame must exist, be the main frame (no parent), be at the app's
 * origin, and belong to one of the app's windows. Returns null when trusted, else the reason.
 */
export function untrustedSenderReason(
  event: IpcEventLike,
  appUrl: string,
  isAppContents: (sender: unknown) => boolean,
): string | null {
  try {
    const frame = event.senderFrame
    if (!frame) return 'the sending frame is gone'
    if (!isAppContents(event.sender)) return 'the sender is not an app window'
    if (frame.parent !== null) return 'the sender is not the main frame'
    if (!isTrustedSender({ url: frame.url, isMainFrame: true }, appUrl)) return 'the sender is not the app'
    return null
  } catch {
    // Electron throws reading a frame that was disposed meanwhile.
    return 'the sending frame is gone'
  }
}

export function unauthorized(reason: string): { ok: false; error: ApiErrorShape } {
  return { ok: false, error: { code: 'unauthorized', message: `Refused API call: ${reason}.` } }
}

// ---------------------------------------------------------------------------------------------
// Wiring onto webContents and sessions (structural types: Electron's objects fit them)

export interface PreventableEvent {
  preventDefault(): void
}
export interface NavigationEvent extends PreventableEvent {
  url?: string
  isMainFrame?: boolean
}

/** The part of Electron's WebContents the guards use. */
export interface GuardableContents {
  on(event: 'will-navigate', listener: (e: NavigationEvent, url: string) => void): unknown
  on(event: 'will-redirect', listener: (e: NavigationEvent, url: string) => void): unknown
  on(event: 'will-frame-navigate', listener: (e: NavigationEvent) => void): unknown
  on(event: 'will-attach-webview', listener: (e: PreventableEvent) => void): unknown
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void
  getType?(): string
}

export interface GuardOptions {
  appUrl: string
  /** Opens an https URL in the system browser (shell.openExternal). Without it, links just do nothing. */
  openExternal?: (url: string) => unknown
  /** Told about each refusal (for the console). */
  onBlocked?: (what: string, url: string) => void
}

/**
 * Registers the navigation, redirect, webview and window.open guards on a webContents. Meant for
 * app.on('web-contents-created'), so it covers every webContents the app ever makes. DevTools'
 * own webContents is left alone: it is Chromium's UI, not our page.
 */
export function applyWindowGuards(contents: GuardableContents, opts: GuardOptions): void {
  if (contents.getType?.() === 'devtools') return
  const blocked = (what: string, url: string) => opts.onBlocked?.(what, url)
  const guard = (what: string, external: boolean) => (e: NavigationEvent, legacyUrl?: string) => {
    const url = e.url ?? legacyUrl ?? ''
    if (isAllowedNavigation(url, opts.appUrl)) return
    e.preventDefault()
    blocked(what, url)
    const target = external ? windowOpenDecision(url).openExternally : null
    if (target && opts.openExternal) void Promise.resolve(opts.openExternal(target)).catch(() => {})
  }
  // A link clicked in the page (https goes to the browser); a dropped file; location = ...
  contents.on('will-navigate', guard('navigation', true))
  contents.on('will-redirect', guard('redirect', false))
  // Any frame, subframes included (will-navigate only sees the main frame).
  contents.on('will-frame-navigate', (e) => {
    if (e.isMainFrame) return // will-navigate has judged it
    guard('frame navigation', false)(e)
  })
  contents.on('will-attach-webview', (e) => {
    e.preventDefault()
    blocked('webview', '')
  })
  contents.setWindowOpenHandler(({ url }) => {
    const d = windowOpenDecision(url)
    blocked('window.open', url)
    if (d.openExternally && opts.openExternal) {
      void Promise.resolve(opts.openExternal(d.openExternally)).catch(() => {})
    }
    return { action: 'deny' }
  })
}

export interface HeadersReceivedDetails {
  responseHeaders?: Record<string, string[]>
}

/** The part of Electron's Session the guards use. */
export interface GuardableSession {
  webRequest: {
    onHeadersReceived(
      listener: (
        details: HeadersReceivedDetails,
        callback: (response: { responseHeaders?: Record<string, string[]> }) => void,
      ) => void,
    ): void
  }
  setPermissionRequestHandler(
    handler: (
      contents: unknown,
      permission: string,
      callback: (granted: boolean) => void,
      details: { requestingUrl?: string; isMainFrame?: boolean },
    ) => void,
  ): void
  setPermissionCheckHandler(
    handler: (
      contents: unknown,
      permission: string,
      requestingOrigin: string,
      details: { requestingUrl?: string; isMainFrame?: boolean },
    ) => boolean,
  ): void
  setDevicePermissionHandler?(handler: (details: unknown) => boolean): void
}

/**
 * Sets the CSP (and nosniff, no-referrer) on every response of the session, and denies permissions
 * by default. The CSP header matters for http(s) responses (the dev server); the built renderer's
 * own protocol handler sets the same headers itself, since webRequest's header events are not
 * reliably emitted for non-HTTP schemes (file:// among them).
 */
export function applySessionGuards(ses: GuardableSession, opts: { appUrl: string; csp: string }): void {
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: withSecurityHeaders(details.responseHeaders, opts.csp) })
  })
  ses.setPermissionRequestHandler((_contents, permission, callback, details) => {
    callback(permissionDecision(permission, details ?? {}, opts.appUrl))
  })
  ses.setPermissionCheckHandler((_contents, permission, requestingOrigin, details) =>
    permissionDecision(
      permission,
      { requestingOrigin, requestingUrl: details?.requestingUrl, isMainFrame: details?.isMainFrame },
      opts.appUrl,
    ),
  )
  ses.setDevicePermissionHandler?.(() => false)
}

// ---------------------------------------------------------------------------------------------
// The smallset-media protocol

export interface MediaRef {
  kind: 'thumb' | 'image'
  id: number
}

/** `smallset-media://thumb/12` → { kind: 'thumb', id: 12 }; anything else (id 0, -1, 1.5, 01, x) → null. */
export function parseMediaUrl(url: string): MediaRef | null {
  const u = parse(url)
  if (!u || u.protocol !== `${MEDIA_SCHEME}:` || u.username || u.password || u.port) return null
  if (u.hostname !== 'thumb' && u.hostname !== 'image') return null
  const m = /^\/([1-9][0-9]*)$/.exec(u.pathname)
  if (!m) return null
  const id = Number(m[1])
  return Number.isSafeInteger(id) ? { kind: u.hostname, id } : null
}
