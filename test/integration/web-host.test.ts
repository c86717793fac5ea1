import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import sharp from 'sharp'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { SmallsetApp } from '../../src-main/api/app'
import { startWebHost, type WebHost } from '../../src-main/host/web'
import { tempDir } from './cli'

let app: SmallsetApp
let host: WebHost
let work: string

beforeEach(async () => {
  work = tempDir('web')
  const renderer = path.join(work, 'renderer')
  fs.mkdirSync(renderer)
  fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>Smallset</title>')
  app = new SmallsetApp()
  host = await startWebHost({ app, rendererDir: renderer })
})

afterEach(async () => {
  await host.close()
  app.close()
})

const call = (channel: string, body: unknown, token: string | null = host.token) =>
  fetch(`${host.url}/api/call/${channel}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { 'x-smallset-token': token } : {}) },
    body: JSON.stringify(body),
  })

/** A raw request, so the Host header can be set to anything. */
function rawGet(pathname: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: host.port, path: pathname, headers }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.end()
  })
}

const auth = () => ({ 'x-smallset-token': host.token })
const post = (pathname: string, headers: Record<string, string> = auth()) =>
  fetch(`${host.url}${pathname}`, { method: 'POST', headers })
const ticket = async () => ((await (await post('/api/events-ticket')).json()) as { ticket: string }).ticket
const mediaKey = async () => ((await (await post('/api/media-key')).json()) as { mediaKey: string }).mediaKey

/** Reads an SSE response, calling onFrame for each event; resolves when onFrame returns true. */
async function readEvents(
  stream: Response,
  onFrame: (event: string, data: unknown) => boolean | void,
): Promise<void> {
  const reader = stream.body!.getReader()
  let buf = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buf += Buffer.from(value).toString()
    for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
      const frame = buf.slice(0, i)
      buf = buf.slice(i + 2)
      const ev = /^event: (.+)$/m.exec(frame)?.[1]
      const data = /^data: (.+)$/m.exec(frame)?.[1]
      if (ev && data && onFrame(ev, JSON.parse(data))) {
        await reader.cancel()
        return
      }
    }
  }
}

describe('web host', () => {
  it('listens on 127.0.0.1 only and refuses calls without the launch token', async () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect((await call('app.info', {}, null)).status).toBe(401)
    expect((await call('app.info', {}, 'wrong-token')).status).toBe(401)
    const ok = await call('app.info', {})
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ ok: true, value: { project: null } })
  })

  it('refuses calls that are not JSON or come from another origin, even with the token', async () => {
    const plain = await fetch(`${host.url}/api/call/app.info`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain', 'x-smallset-token': host.token },
      body: '{}',
    })
    expect(plain.status).toBe(415)
    const foreign = await fetch(`${host.url}/api/call/app.info`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Origin: 'http://127.0.0.1:1',
        'x-smallset-token': host.token,
      },
      body: '{}',
    })
    expect(foreign.status).toBe(403)
  })

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    expect(await rawGet('/', { Host: 'evil.example:80', 'x-smallset-token': host.token })).toBe(421)
    expect(await rawGet('/', { Host: `127.0.0.1:${host.port}`, 'x-smallset-token': host.token })).toBe(200)
  })

  it('serves the renderer without the token, and never sets a cookie', async () => {
    // The launch URL just serves the page: the page itself reads the token from its URL.
    const launch = await fetch(host.launchUrl, { redirect: 'manual' })
    expect(launch.status).toBe(200)
    expect(launch.headers.get('set-cookie')).toBeNull()
    expect(await launch.text()).toContain('<title>Smallset</title>')
    const page = await fetch(`${host.url}/`)
    expect(page.status).toBe(200)
    expect(page.headers.get('set-cookie')).toBeNull()
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin')
    for (const res of [
      await call('app.info', {}),
      await post('/api/media-key'),
      await post('/api/events-ticket'),
    ])
      expect(res.headers.get('set-cookie')).toBeNull()
  })

  it('takes the token only in the header: not from a cookie, nor from the URL', async () => {
    // The old cookie: every server on 127.0.0.1 would be sent it, whatever its port.
    const cookie = await fetch(`${host.url}/api/call/app.info`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', cookie: `smallset_token_${host.port}=${host.token}` },
      body: '{}',
    })
    expect(cookie.status).toBe(401)
    const query = await fetch(`${host.url}/api/call/app.info?token=${host.token}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    })
    expect(query.status).toBe(401)
    expect((await post('/api/media-key', {})).status).toBe(401)
    expect((await post('/api/events-ticket', {})).status).toBe(401)
    expect((await fetch(`${host.url}/api/events`)).status).toBe(401)
    expect((await fetch(`${host.url}/media/thumb/1`)).status).toBe(401)
  })

  it('forbids framing the UI', async () => {
    for (const res of [await fetch(`${host.url}/`), await call('app.info', {})]) {
      expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/)
      expect(res.headers.get('x-frame-options')).toBe('DENY')
    }
  })

  it('refuses an empty or short token instead of turning authentication off', async () => {
    const rendererDir = path.join(work, 'renderer')
    for (const token of ['', 'short', 'x'.repeat(15)]) {
      await expect(startWebHost({ app, rendererDir, token })).rejects.toThrow(/at least 16 characters/)
    }
    const chosen = await startWebHost({ app, rendererDir, token: 'a-token-of-16-ch' })
    try {
      expect(chosen.launchUrl).toBe(`${chosen.url}/?token=a-token-of-16-ch`)
      const ok = await fetch(`${chosen.url}/api/call/app.info`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'x-smallset-token': 'a-token-of-16-ch' },
        body: '{}',
      })
      expect(ok.status).toBe(200)
    } finally {
      await chosen.close()
    }
  })

  it('answers a malformed URL escape with 400, not 500', async () => {
    expect(await rawGet('/%E0%A4%A', { Host: `127.0.0.1:${host.port}`, ...auth() })).toBe(400)
    expect(await rawGet('/assets/%ZZ.js', { Host: `127.0.0.1:${host.port}` })).toBe(400)
    expect(await rawGet('/media/thumb/%ZZ', { Host: `127.0.0.1:${host.port}`, ...auth() })).toBe(400)
    const api = await fetch(`${host.url}/api/call/%E0%A4%A`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...auth() },
      body: '{}',
    })
    expect(api.status).toBe(400)
  })

  it('answers a body over 1 MiB with a 413 and a JSON error, and the connection stays usable', async () => {
    const big = JSON.stringify({ dir: 'x'.repeat(2 << 20) })
    const res = await fetch(`${host.url}/api/call/project.open`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...auth() },
      body: big,
    })
    expect(res.status).toBe(413)
    expect(await res.json()).toMatchObject({ ok: false, error: { code: 'invalid_request' } })
    expect((await call('app.info', {})).status).toBe(200)
  })

  it('opens the event stream with a single-use ticket, which only an authorised call gets', async () => {
    const t = await ticket()
    expect(t.length).toBeGreaterThanOrEqual(32)
    expect((await fetch(`${host.url}/api/events?ticket=wrong`)).status).toBe(401)
    // The token itself is no ticket: it must not go in a URL.
    expect((await fetch(`${host.url}/api/events?ticket=${host.token}`)).status).toBe(401)
    const ac = new AbortController()
    const stream = await fetch(`${host.url}/api/events?ticket=${t}`, { signal: ac.signal })
    expect(stream.status).toBe(200)
    expect(stream.headers.get('content-type')).toBe('text/event-stream')
    const got = readEvents(stream, (event) => event === 'import.failed')
    app.emit('import.failed', { jobId: 'j', error: { code: 'x', message: 'y' } })
    await got
    ac.abort()
    // Spent: a second stream (EventSource's own reconnect, or a thief) needs a new ticket.
    expect((await fetch(`${host.url}/api/events?ticket=${t}`)).status).toBe(401)
    const again = new AbortController()
    const reopened = await fetch(`${host.url}/api/events?ticket=${await ticket()}`, { signal: again.signal })
    expect(reopened.status).toBe(200)
    again.abort()
  })

  it('lets an events ticket expire after a minute', async () => {
    const t = await ticket()
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(Date.now() + 61_000)
      expect((await fetch(`${host.url}/api/events?ticket=${t}`)).status).toBe(401)
    } finally {
      vi.useRealTimers()
    }
  })

  it('disconnects an SSE client that does not read, and keeps sending to the others', async () => {
    // A slow client: it stops reading, so whatever the host writes to it piles up.
    const slow = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: host.port, path: '/api/events', headers: auth() },
        resolve,
      )
      req.on('error', reject)
      req.end()
    })
    expect(slow.statusCode).toBe(200)
    slow.pause()
    slow.socket.pause()
    let slowBytes = 0
    const slowClosed = new Promise<void>((resolve) => {
      slow.on('data', (c: Buffer) => (slowBytes += c.length))
      slow.on('close', () => resolve())
      slow.on('error', () => resolve())
    })

    const ac = new AbortController()
    const fast = await fetch(`${host.url}/api/events?ticket=${await ticket()}`, { signal: ac.signal })
    let fastFrames = 0
    let seen: (() => void) | null = null
    void readEvents(fast, (event) => {
      if (event === 'import.failed') fastFrames++
      seen?.()
    }).catch(() => {})

    const message = 'm'.repeat(64 << 10)
    const n = 600 // 600 × 64 KiB ≈ 39 MiB: more than the socket buffers can hold
    for (let i = 0; i < n; i++) {
      const got = new Promise<void>((r) => (seen = r))
      app.emit('import.failed', { jobId: String(i), error: { code: 'x', message } })
      await got // in step with the fast client, which reads everything
    }
    expect(fastFrames).toBe(n)
    ac.abort()

    // The slow client reads again: it gets what was queued for it, then finds the stream closed.
    slow.socket.resume()
    slow.resume()
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([
      slowClosed,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('the slow client was never disconnected')), 10_000)
      }),
    ]).finally(() => clearTimeout(timer))
    expect(slow.complete).toBe(false)
    expect(slowBytes).toBeGreaterThan(0)
    expect(slowBytes).toBeLessThan((n * message.length) / 2)
  }, 60_000)

  it('returns errors as data: bad requests, unknown calls, no project', async () => {
    expect(await (await call('project.open', { dir: 42 })).json()).toMatchObject({
      ok: false,
      error: { code: 'invalid_request' },
    })
    expect(await (await call('nope.nothing', {})).json()).toMatchObject({
      ok: false,
      error: { code: 'unknown_channel' },
    })
    expect(await (await call('project.counts', {})).json()).toMatchObject({
      ok: false,
      error: { code: 'no_project' },
    })
    const missing = await (await call('project.open', { dir: path.join(work, 'missing') })).json()
    expect(missing).toMatchObject({ ok: false, error: { code: 'not_found' } })
    expect(missing.error.message).toContain(path.join(work, 'missing'))
  })

  it('runs an import through the API, streams its events, and serves the thumbnails', async () => {
    const src = path.join(work, 'src')
    fs.mkdirSync(src)
    for (let i = 0; i < 3; i++) {
      await sharp({
        create: { width: 300, height: 200, channels: 3, background: { r: 80 * i, g: 90, b: 30 } },
      })
        .png()
        .toFile(path.join(src, `im${i}.png`))
    }
    fs.writeFileSync(path.join(src, 'fake.png'), 'this is text, not a PNG')
    expect((await (await call('project.create', { dir: path.join(work, 'p') })).json()).ok).toBe(true)

    const events: { event: string; data: unknown }[] = []
    const ac = new AbortController()
    const stream = await fetch(`${host.url}/api/events`, {
      headers: { 'x-smallset-token': host.token },
      signal: ac.signal,
    })
    const finished = readEvents(stream, (event, data) => {
      events.push({ event, data })
      return event === 'import.finished'
    })

    const started = await (await call('import.start', { paths: [src] })).json()
    expect(started.ok).toBe(true)
    await finished
    ac.abort()
    const done = events.find((e) => e.event === 'import.finished')!.data as {
      report: { added: number; failed: { path: string; reason: string }[] }
    }
    expect(done.report.added).toBe(3)
    expect(done.report.failed).toEqual([
      { path: path.join(src, 'fake.png'), reason: expect.stringMatching(/not a recognised image/) },
    ])
    expect(events.some((e) => e.event === 'import.progress')).toBe(true)

    const list = await (await call('images.list', {})).json()
    expect(list.value.total).toBe(3)
    const thumb = await fetch(`${host.url}/media/thumb/${list.value.items[0].id}`, {
      headers: { 'x-smallset-token': host.token },
    })
    expect(thumb.status).toBe(200)
    expect(thumb.headers.get('content-type')).toBe('image/webp')
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()
    expect(Math.max(meta.width!, meta.height!)).toBe(160)
    const again = await fetch(`${host.url}/media/thumb/${list.value.items[0].id}`, {
      headers: { 'x-smallset-token': host.token, 'if-none-match': thumb.headers.get('etag')! },
    })
    expect(again.status).toBe(304)

    // <img src> cannot send the header: it brings the media key, which reads media and nothing else.
    const key = await mediaKey()
    const id = list.value.items[0].id as number
    const img = await fetch(`${host.url}/media/image/${id}?key=${key}`)
    expect(img.status).toBe(200)
    expect(img.headers.get('content-type')).toMatch(/^image\//)
    expect((await fetch(`${host.url}/media/thumb/${id}?key=${key}`)).status).toBe(200)
    expect((await fetch(`${host.url}/media/thumb/${id}`)).status).toBe(401)
    expect((await fetch(`${host.url}/media/thumb/${id}?key=wrong`)).status).toBe(401)
    expect((await fetch(`${host.url}/media/thumb/${id}?key=${host.token}`)).status).toBe(401)
    expect((await fetch(`${host.url}/media/thumb/${id}?token=${host.token}`)).status).toBe(401)
    expect((await call('app.info', {}, key)).status).toBe(401)
    expect((await post('/api/events-ticket', { 'x-smallset-token': key })).status).toBe(401)
    expect((await fetch(`${host.url}/api/events?ticket=${key}`)).status).toBe(401)
  })
})
