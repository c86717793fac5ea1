import path from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { rendererFile, serveMedia, serveRenderer, type MediaLookup } from '../../src-main/window/protocols'
import {
  APP_START_URL,
  applySessionGuards,
  applyWindowGuards,
  contentSecurityPolicy,
  isAllowedNavigation,
  isTrustedSender,
  parseMediaUrl,
  permissionDecision,
  unauthorized,
  untrustedSenderReason,
  windowOpenDecision,
  withSecurityHeaders,
  type GuardableContents,
  type GuardableSession,
  type NavigationEvent,
} from '../../src-main/window/security'

const PROD = APP_START_URL // smallset-app://renderer/index.html
const DEV = 'http://localhost:5173/'

function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/)
      return [name, values] as [string, string[]]
    }),
  )
}

describe('contentSecurityPolicy', () => {
  it('locks the built renderer down', () => {
    const csp = contentSecurityPolicy({ dev: false })
    const d = directives(csp)
    expect(d.get('default-src')).toEqual(["'self'"])
    expect(d.get('script-src')).toEqual(["'self'", "'wasm-unsafe-eval'"])
    expect(d.get('style-src')).toEqual(["'self'", "'unsafe-inline'"])
    expect(d.get('img-src')).toEqual(["'self'", 'data:', 'blob:', 'smallset-media:'])
    expect(d.get('connect-src')).toEqual(["'self'", 'smallset-media:'])
    expect(d.get('object-src')).toEqual(["'none'"])
    expect(d.get('base-uri')).toEqual(["'none'"])
    expect(d.get('frame-ancestors')).toEqual(["'none'"])
    expect(d.get('form-action')).toEqual(["'none'"])
    expect(csp).not.toContain("'unsafe-eval'")
    expect(csp).not.toContain('ws:')
    expect(d.get('script-src')).not.toContain("'unsafe-inline'")
  })

  it('opens inline scripts and the HMR socket in dev only, for the dev server alone', () => {
    const csp = contentSecurityPolicy({ dev: true, devOrigin: 'http://localhost:5173' })
    const d = directives(csp)
    expect(d.get('script-src')).toContain("'unsafe-inline'")
    expect(d.get('connect-src')).toEqual([
      "'self'",
      'smallset-media:',
      'http://localhost:5173',
      'ws://localhost:5173',
    ])
    expect(csp).not.toContain("'unsafe-eval'")
    expect(d.get('frame-ancestors')).toEqual(["'none'"])
    // A devOrigin without dev changes nothing.
    expect(contentSecurityPolicy({ dev: false, devOrigin: 'http://localhost:5173' })).toBe(
      contentSecurityPolicy(),
    )
  })

  it('replaces a response header of any case with ours', () => {
    const h = withSecurityHeaders(
      { 'content-security-policy': ['default-src *'], 'Content-Type': ['text/html'] },
      "default-src 'self'",
    )
    expect(h['content-security-policy']).toBeUndefined()
    expect(h['Content-Security-Policy']).toEqual(["default-src 'self'"])
    expect(h['Content-Type']).toEqual(['text/html'])
    expect(h['X-Content-Type-Options']).toEqual(['nosniff'])
  })
})

describe('isAllowedNavigation', () => {
  it('allows only the start URL (a reload), fragment aside', () => {
    expect(isAllowedNavigation(PROD, PROD)).toBe(true)
    expect(isAllowedNavigation(`${PROD}#/train`, PROD)).toBe(true)
    expect(isAllowedNavigation(DEV, DEV)).toBe(true)
    expect(isAllowedNavigation('http://localhost:5173', DEV)).toBe(true)
  })

  it.each([
    ['another file of the app', 'smallset-app://renderer/assets/index.js'],
    ['another host of the scheme', 'smallset-app://evil/index.html'],
    ['a query on the start URL', `${PROD}?x=1`],
    ['a dropped file', 'file:///home/me/Pictures/cat.png'],
    ['a dropped html file', 'file:///tmp/evil.html'],
    ['the built index.html over file://', 'file:///work/main/out/renderer/index.html'],
    ['http://evil', 'http://evil.example/'],
    ['https elsewhere', 'https://example.com/'],
    ['javascript:', 'javascript:alert(1)'],
    ['data:', 'data:text/html,<script>alert(1)</script>'],
    ['the media scheme', 'smallset-media://image/1'],
    ['garbage', 'not a url'],
  ])('denies %s in production', (_what, url) => {
    expect(isAllowedNavigation(url, PROD)).toBe(false)
  })

  it.each([
    ['another port', 'http://localhost:5174/'],
    ['another host name for it', 'http://127.0.0.1:5173/'],
    ['https on the port', 'https://localhost:5173/'],
    ["the dev server's /@fs/", 'http://localhost:5173/@fs/etc/passwd'],
    ['credentials', 'http://user:pw@localhost:5173/'],
    ['the production URL', PROD],
    ['a dropped file', 'file:///home/me/cat.png'],
  ])('denies %s in dev', (_what, url) => {
    expect(isAllowedNavigation(url, DEV)).toBe(false)
  })

  it('compares file: URLs by path, where an app uses them', () => {
    const app = 'file:///opt/smallset/out/renderer/index.html'
    expect(isAllowedNavigation(app, app)).toBe(true)
    expect(isAllowedNavigation('file:///opt/smallset/out/renderer/other.html', app)).toBe(false)
    expect(isAllowedNavigation('file:///tmp/dropped.html', app)).toBe(false)
  })
})

describe('windowOpenDecision', () => {
  it('always denies, and hands only https links to the system browser', () => {
    expect(windowOpenDecision('https://example.com/docs')).toEqual({
      action: 'deny',
      openExternally: 'https://example.com/docs',
    })
    for (const url of [
      'http://example.com/',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'smb://server/share',
      'smallset-app://renderer/index.html',
      PROD,
      'about:blank',
      'https://user:pw@example.com/',
      '',
    ]) {
      expect(windowOpenDecision(url), url).toEqual({ action: 'deny', openExternally: null })
    }
  })
})

describe('permissionDecision', () => {
  const main = { requestingUrl: PROD, isMainFrame: true }
  it.each([
    'media',
    'geolocation',
    'notifications',
    'openExternal',
    'midi',
    'midiSysex',
    'hid',
    'usb',
    'serial',
    'display-capture',
    'clipboard-read',
    'fullscreen',
    'pointerLock',
    'fileSystem',
    'unknown',
  ])('denies %s even to the app', (permission) => {
    expect(permissionDecision(permission, main, PROD)).toBe(false)
  })

  it('allows clipboard-sanitized-write to the app main frame only', () => {
    expect(permissionDecision('clipboard-sanitized-write', main, PROD)).toBe(true)
    expect(
      permissionDecision('clipboard-sanitized-write', { requestingOrigin: 'smallset-app://renderer' }, PROD),
    ).toBe(true)
    expect(permissionDecision('clipboard-sanitized-write', { ...main, isMainFrame: false }, PROD)).toBe(false)
    expect(
      permissionDecision(
        'clipboard-sanitized-write',
        { requestingUrl: 'https://evil.example/', isMainFrame: true },
        PROD,
      ),
    ).toBe(false)
    expect(permissionDecision('clipboard-sanitized-write', {}, PROD)).toBe(false)
  })
})

describe('sender checks', () => {
  it('isTrustedSender wants the main frame at the app origin', () => {
    expect(isTrustedSender({ url: PROD, isMainFrame: true }, PROD)).toBe(true)
    expect(isTrustedSender({ url: `${PROD}#x`, isMainFrame: true }, PROD)).toBe(true)
    expect(isTrustedSender({ url: 'http://localhost:5173/', isMainFrame: true }, DEV)).toBe(true)
    expect(isTrustedSender({ url: PROD, isMainFrame: false }, PROD)).toBe(false)
    expect(isTrustedSender(null, PROD)).toBe(false)
    expect(isTrustedSender(undefined, PROD)).toBe(false)
    expect(isTrustedSender({ url: 'https://evil.example/', isMainFrame: true }, PROD)).toBe(false)
    expect(isTrustedSender({ url: 'file:///tmp/dropped.html', isMainFrame: true }, PROD)).toBe(false)
    expect(isTrustedSender({ url: 'http://localhost:5174/', isMainFrame: true }, DEV)).toBe(false)
    expect(isTrustedSender({ url: 'about:blank', isMainFrame: true }, PROD)).toBe(false)
  })

  const win = { id: 1 }
  const isApp = (s: unknown) => s === win
  it('untrustedSenderReason refuses a gone frame, a subframe, another origin, another webContents', () => {
    expect(
      untrustedSenderReason({ sender: win, senderFrame: { url: PROD, parent: null } }, PROD, isApp),
    ).toBeNull()
    expect(untrustedSenderReason({ sender: win, senderFrame: null }, PROD, isApp)).toMatch(/gone/)
    expect(
      untrustedSenderReason({ sender: win, senderFrame: { url: PROD, parent: { url: PROD } } }, PROD, isApp),
    ).toMatch(/main frame/)
    expect(
      untrustedSenderReason(
        { sender: win, senderFrame: { url: 'https://evil.example/', parent: null } },
        PROD,
        isApp,
      ),
    ).toMatch(/not the app/)
    expect(
      untrustedSenderReason({ sender: { id: 2 }, senderFrame: { url: PROD, parent: null } }, PROD, isApp),
    ).toMatch(/not an app window/)
    const disposed = {
      sender: win,
      get senderFrame(): never {
        throw new Error('Render frame was disposed')
      },
    }
    expect(untrustedSenderReason(disposed, PROD, isApp)).toMatch(/gone/)
  })

  it('unauthorized is an error Result', () => {
    const r = unauthorized('the sender is not the main frame')
    expect(r.ok).toBe(false)
    expect(r.error.code).toBe('unauthorized')
    expect(r.error.message).toContain('main frame')
  })
})

describe('parseMediaUrl', () => {
  it('reads a thumb or image id', () => {
    expect(parseMediaUrl('smallset-media://thumb/12')).toEqual({ kind: 'thumb', id: 12 })
    expect(parseMediaUrl('smallset-media://image/1')).toEqual({ kind: 'image', id: 1 })
    expect(parseMediaUrl('smallset-media://image/7?v=2')).toEqual({ kind: 'image', id: 7 })
  })

  it.each([
    'smallset-media://thumb/0',
    'smallset-media://thumb/-1',
    'smallset-media://thumb/1.5',
    'smallset-media://thumb/01',
    'smallset-media://thumb/1e3',
    'smallset-media://thumb/abc',
    'smallset-media://thumb/',
    'smallset-media://thumb',
    'smallset-media://thumb/1/2',
    'smallset-media://thumb/%31',
    'smallset-media://thumb/99999999999999999999',
    'smallset-media://other/1',
    'smallset-media://user@thumb/1',
    'smallset-media://thumb:80/1',
    'http://thumb/1',
    'nonsense',
  ])('rejects %s', (url) => {
    expect(parseMediaUrl(url)).toBeNull()
  })
})

describe('protocol handlers', () => {
  const root = path.resolve('/srv/renderer')
  const files = new Map<string, string>([
    [path.join(root, 'index.html'), '<!doctype html>'],
    [path.join(root, 'assets', 'index-1.js'), 'console.log(1)'],
  ])
  const readFile = async (f: string) => {
    const s = files.get(f)
    if (s === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' })
    return new TextEncoder().encode(s)
  }
  const csp = contentSecurityPolicy()

  it('rendererFile stays inside the renderer folder', () => {
    expect(rendererFile('smallset-app://renderer/', root)).toBe(path.join(root, 'index.html'))
    expect(rendererFile('smallset-app://renderer/assets/index-1.js', root)).toBe(
      path.join(root, 'assets', 'index-1.js'),
    )
    // The URL parser folds %2e%2e segments itself, at the root: still inside the folder.
    expect(rendererFile('smallset-app://renderer/%2e%2e/%2e%2e/etc/passwd', root)).toBe(
      path.join(root, 'etc', 'passwd'),
    )
    // Encoded slashes survive the parser; the folder check stops them.
    expect(rendererFile('smallset-app://renderer/..%2F..%2Fetc%2Fpasswd', root)).toBeNull()
    expect(rendererFile('smallset-app://renderer/a%00.js', root)).toBeNull()
    expect(rendererFile('smallset-app://renderer/%E0%A4%A', root)).toBeNull()
    expect(rendererFile('smallset-app://other/index.html', root)).toBeNull()
    expect(rendererFile('file:///srv/renderer/index.html', root)).toBeNull()
  })

  it('serveRenderer answers with the CSP and the right type', async () => {
    const r = await serveRenderer({ url: PROD }, { root, csp, readFile })
    expect(r.status).toBe(200)
    expect(r.headers.get('content-security-policy')).toBe(csp)
    expect(r.headers.get('content-type')).toMatch(/^text\/html/)
    expect(r.headers.get('x-content-type-options')).toBe('nosniff')
    expect(await r.text()).toBe('<!doctype html>')
    const js = await serveRenderer(
      { url: 'smallset-app://renderer/assets/index-1.js' },
      { root, csp, readFile },
    )
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/)
    const missing = await serveRenderer({ url: 'smallset-app://renderer/nope.js' }, { root, csp, readFile })
    expect(missing.status).toBe(404)
    const post = await serveRenderer({ url: PROD, method: 'POST' }, { root, csp, readFile })
    expect(post.status).toBe(405)
  })

  it('serveMedia answers 400 to a bad URL without asking the store', async () => {
    const media = vi.fn<MediaLookup>(async () => ({
      etag: '"e"',
      mime: 'image/png',
      bytes: new Uint8Array([1, 2]),
    }))
    for (const url of ['smallset-media://thumb/0', 'smallset-media://thumb/x', 'smallset-media://video/1']) {
      expect((await serveMedia({ url }, media)).status, url).toBe(400)
    }
    expect(media).not.toHaveBeenCalled()
    const ok = await serveMedia({ url: 'smallset-media://thumb/3' }, media)
    expect(ok.status).toBe(200)
    expect(ok.headers.get('content-type')).toBe('image/png')
    expect(ok.headers.get('etag')).toBe('"e"')
    expect(media).toHaveBeenCalledWith('thumb', 3, undefined)
    expect((await serveMedia({ url: 'smallset-media://image/3' }, async () => undefined)).status).toBe(404)
    expect((await serveMedia({ url: 'smallset-media://image/3' }, async () => 'not-modified')).status).toBe(
      304,
    )
    const closed = await serveMedia({ url: 'smallset-media://image/3' }, async () => {
      throw new Error('no project is open')
    })
    expect(closed.status).toBe(409)
  })
})

type Listener = (...args: never[]) => void

/** A webContents fake: records listeners and the window-open handler. */
function fakeContents(type = 'window') {
  const listeners = new Map<string, Listener>()
  let openHandler: ((d: { url: string }) => { action: 'deny' }) | undefined
  const contents = {
    on(event: string, listener: Listener) {
      listeners.set(event, listener)
      return contents
    },
    setWindowOpenHandler(h: (d: { url: string }) => { action: 'deny' }) {
      openHandler = h
    },
    getType: () => type,
  }
  const emit = (event: string, e: NavigationEvent, ...rest: unknown[]) =>
    (listeners.get(event) as unknown as (...a: unknown[]) => void)(e, ...rest)
  return {
    contents: contents as GuardableContents,
    listeners,
    emit,
    open: (url: string) => openHandler!({ url }),
  }
}

const navEvent = (url: string, isMainFrame = true) => ({ url, isMainFrame, preventDefault: vi.fn() })

describe('applyWindowGuards', () => {
  it('prevents navigation away from the app, and lets a reload through', () => {
    const f = fakeContents()
    const openExternal = vi.fn()
    applyWindowGuards(f.contents, { appUrl: PROD, openExternal })
    const dropped = navEvent('file:///home/me/cat.png')
    f.emit('will-navigate', dropped, dropped.url)
    expect(dropped.preventDefault).toHaveBeenCalledOnce()
    const reload = navEvent(PROD)
    f.emit('will-navigate', reload, reload.url)
    expect(reload.preventDefault).not.toHaveBeenCalled()
    expect(openExternal).not.toHaveBeenCalled()
  })

  it('reads the deprecated url argument when the event has none', () => {
    const f = fakeContents()
    applyWindowGuards(f.contents, { appUrl: PROD })
    const e = { preventDefault: vi.fn() }
    f.emit('will-navigate', e, 'http://evil.example/')
    expect(e.preventDefault).toHaveBeenCalledOnce()
  })

  it('sends a clicked https link to the browser instead, and nothing else', () => {
    const f = fakeContents()
    const openExternal = vi.fn()
    applyWindowGuards(f.contents, { appUrl: PROD, openExternal })
    const https = navEvent('https://example.com/')
    f.emit('will-navigate', https)
    expect(https.preventDefault).toHaveBeenCalledOnce()
    expect(openExternal).toHaveBeenCalledWith('https://example.com/')
    const js = navEvent('javascript:alert(1)')
    f.emit('will-navigate', js)
    expect(js.preventDefault).toHaveBeenCalledOnce()
    expect(openExternal).toHaveBeenCalledTimes(1)
  })

  it('guards redirects, subframes and webviews', () => {
    const f = fakeContents()
    applyWindowGuards(f.contents, { appUrl: DEV })
    const redirect = navEvent('http://evil.example/')
    f.emit('will-redirect', redirect, redirect.url)
    expect(redirect.preventDefault).toHaveBeenCalledOnce()
    const sub = navEvent('https://evil.example/', false)
    f.emit('will-frame-navigate', sub)
    expect(sub.preventDefault).toHaveBeenCalledOnce()
    const webview = { preventDefault: vi.fn() }
    f.emit('will-attach-webview', webview)
    expect(webview.preventDefault).toHaveBeenCalledOnce()
  })

  it('denies every window.open, opening https externally', () => {
    const f = fakeContents()
    const openExternal = vi.fn()
    applyWindowGuards(f.contents, { appUrl: PROD, openExternal })
    expect(f.open('https://example.com/')).toEqual({ action: 'deny' })
    expect(f.open(PROD)).toEqual({ action: 'deny' })
    expect(f.open('file:///etc/passwd')).toEqual({ action: 'deny' })
    expect(openExternal.mock.calls).toEqual([['https://example.com/']])
  })

  it('leaves DevTools alone', () => {
    const f = fakeContents('devtools')
    applyWindowGuards(f.contents, { appUrl: PROD })
    expect(f.listeners.size).toBe(0)
  })
})

describe('applySessionGuards', () => {
  it('adds the CSP to responses and denies permissions by default', () => {
    let headers: GuardableSession['webRequest']['onHeadersReceived'] extends (l: infer L) => void ? L : never
    let request: Parameters<GuardableSession['setPermissionRequestHandler']>[0] | undefined
    let check: Parameters<GuardableSession['setPermissionCheckHandler']>[0] | undefined
    let device: ((d: unknown) => boolean) | undefined
    const ses: GuardableSession = {
      webRequest: { onHeadersReceived: (l) => void (headers = l) },
      setPermissionRequestHandler: (h) => void (request = h),
      setPermissionCheckHandler: (h) => void (check = h),
      setDevicePermissionHandler: (h) => void (device = h),
    }
    const csp = contentSecurityPolicy({ dev: true, devOrigin: DEV })
    applySessionGuards(ses, { appUrl: DEV, csp })

    const cb = vi.fn()
    headers!({ responseHeaders: { 'Content-Type': ['text/html'] } }, cb)
    expect(cb.mock.calls[0][0].responseHeaders['Content-Security-Policy']).toEqual([csp])

    const granted = vi.fn()
    request!({}, 'media', granted, { requestingUrl: DEV, isMainFrame: true })
    request!({}, 'geolocation', granted, { requestingUrl: DEV, isMainFrame: true })
    request!({}, 'clipboard-sanitized-write', granted, { requestingUrl: DEV, isMainFrame: true })
    expect(granted.mock.calls).toEqual([[false], [false], [true]])
    expect(check!({}, 'notifications', 'http://localhost:5173', { isMainFrame: true })).toBe(false)
    expect(check!({}, 'clipboard-sanitized-write', 'http://localhost:5173', { isMainFrame: true })).toBe(true)
    expect(check!({}, 'clipboard-sanitized-write', 'http://localhost:9999', { isMainFrame: true })).toBe(
      false,
    )
    expect(device!({})).toBe(false)
  })
})
