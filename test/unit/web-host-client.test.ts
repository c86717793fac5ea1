import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

/**
 * The renderer's web transport (src-renderer/app/api-client.ts), run against stand-ins for the
 * browser: where the launch token goes, which headers and URLs it sends, and how its event stream
 * comes back after an error.
 */

class FakeEventSource {
  static all: FakeEventSource[] = []
  readonly listeners = new Map<string, Set<(e: MessageEvent<string>) => void>>()
  closed = false
  onopen: (() => void) | null = null
  onerror: (() => void) | null = null
  constructor(readonly url: string) {
    FakeEventSource.all.push(this)
  }
  addEventListener(event: string, h: (e: MessageEvent<string>) => void) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set())
    this.listeners.get(event)!.add(h)
  }
  removeEventListener(event: string, h: (e: MessageEvent<string>) => void) {
    this.listeners.get(event)?.delete(h)
  }
  close() {
    this.closed = true
  }
  fire(event: string, payload: unknown) {
    for (const h of this.listeners.get(event) ?? [])
      h({ data: JSON.stringify(payload) } as MessageEvent<string>)
  }
}

interface Sent {
  url: string
  headers: Record<string, string>
}

let sent: Sent[]
let storage: Map<string, string>
let replaced: string[]
let tickets: number

function stubBrowser(href: string) {
  const location = new URL(href)
  vi.stubGlobal('window', { location })
  vi.stubGlobal('sessionStorage', {
    getItem: (k: string) => storage.get(k) ?? null,
    setItem: (k: string, v: string) => storage.set(k, v),
  })
  vi.stubGlobal('history', {
    state: null,
    replaceState: (_s: unknown, _t: string, url: string) => replaced.push(url),
  })
  vi.stubGlobal('EventSource', FakeEventSource)
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      sent.push({ url, headers: (init.headers ?? {}) as Record<string, string> })
      const json = (v: unknown) => new Response(JSON.stringify(v), { status: 200 })
      if (url === '/api/media-key') return json({ mediaKey: 'the-media-key' })
      if (url === '/api/events-ticket') return json({ ticket: `ticket-${++tickets}` })
      return json({ ok: true, value: { project: null } })
    }),
  )
}

async function load(href: string) {
  stubBrowser(href)
  vi.resetModules()
  return import('../../src-renderer/app/api-client')
}

beforeEach(() => {
  sent = []
  storage = new Map()
  replaced = []
  tickets = 0
  FakeEventSource.all = []
})

afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('web transport', () => {
  it('takes the token from the launch URL, keeps it per origin, and drops it from the address bar', async () => {
    const { api, call, transportName } = await load('http://127.0.0.1:5000/?token=secret-token-1234&x=1#h')
    expect(transportName).toBe('web')
    expect(storage.get('smallset.token')).toBe('secret-token-1234')
    expect(replaced).toEqual(['/?x=1#h'])
    await call('app.info', {} as never)
    expect(sent[0]).toMatchObject({
      url: '/api/call/app.info',
      headers: { 'Content-Type': 'application/json', 'x-smallset-token': 'secret-token-1234' },
    })
    expect(api.mediaUrl('thumb', 3)).not.toContain('secret-token-1234')
  })

  it('after a reload, takes the token from sessionStorage', async () => {
    storage.set('smallset.token', 'secret-token-1234')
    const { call } = await load('http://127.0.0.1:5000/')
    expect(replaced).toEqual([])
    await call('app.info', {} as never)
    expect(sent[0]!.headers['x-smallset-token']).toBe('secret-token-1234')
  })

  it('fetches the media key at init, and puts it (not the token) in media URLs', async () => {
    const { api, initApi } = await load('http://127.0.0.1:5000/?token=secret-token-1234')
    await initApi()
    expect(sent[0]).toMatchObject({
      url: '/api/media-key',
      headers: { 'x-smallset-token': 'secret-token-1234' },
    })
    expect(api.mediaUrl('thumb', 7)).toBe('/media/thumb/7?key=the-media-key')
    expect(api.mediaUrl('image', 8)).toBe('/media/image/8?key=the-media-key')
  })

  it('opens events with a ticket, and after an error reopens with a fresh one, listeners kept', async () => {
    vi.useFakeTimers()
    const { api } = await load('http://127.0.0.1:5000/?token=secret-token-1234')
    const got: unknown[] = []
    api.on('import.failed', (p) => got.push(p))
    await vi.advanceTimersByTimeAsync(0)
    expect(sent.map((s) => s.url)).toEqual(['/api/events-ticket'])
    expect(sent[0]!.headers['x-smallset-token']).toBe('secret-token-1234')
    const first = FakeEventSource.all[0]!
    expect(first.url).toBe('/api/events?ticket=ticket-1')
    first.fire('import.failed', { n: 1 })

    // The stream breaks: EventSource would retry with its spent ticket; the transport closes it...
    first.onerror!()
    expect(first.closed).toBe(true)
    await vi.advanceTimersByTimeAsync(999)
    expect(FakeEventSource.all).toHaveLength(1)
    // ...and, after a backoff, opens a new stream with a new ticket and the same listeners.
    await vi.advanceTimersByTimeAsync(1)
    const second = FakeEventSource.all[1]!
    expect(second.url).toBe('/api/events?ticket=ticket-2')
    second.fire('import.failed', { n: 2 })
    expect(got).toEqual([{ n: 1 }, { n: 2 }])

    // A listener added later lands on the open stream, once; unsubscribing takes it off.
    const later: unknown[] = []
    const off = api.on('import.failed', (p) => later.push(p))
    await vi.advanceTimersByTimeAsync(0)
    expect(FakeEventSource.all).toHaveLength(2)
    second.fire('import.failed', { n: 3 })
    off()
    second.fire('import.failed', { n: 4 })
    expect(later).toEqual([{ n: 3 }])
  })
})

describe('the save sent as the page closes', () => {
  it('carries the token, as every API call must (before, it was refused with a 401 and the edits lost)', async () => {
    stubBrowser('http://127.0.0.1:4000/?token=the-token')
    vi.resetModules()
    const { saveTransport } = await import('../../src-renderer/features/annotate/transport')
    await saveTransport.save({ imageId: 1, puts: [] }, { keepalive: true })
    const save = sent.find((s) => s.url === '/api/call/annotations.save')!
    expect(save.headers['x-smallset-token']).toBe('the-token')
    expect(save.headers['Content-Type']).toBe('application/json')
  })
})
