import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import sharp from 'sharp'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
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

  it('trades the token in the launch URL for an HttpOnly cookie', async () => {
    const res = await fetch(host.launchUrl, { redirect: 'manual' })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/')
    const cookie = res.headers.get('set-cookie')!
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/SameSite=Strict/)
    const page = await fetch(`${host.url}/`, { headers: { cookie: cookie.split(';')[0]! } })
    expect(page.status).toBe(200)
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin')
    expect(await page.text()).toContain('<title>Smallset</title>')
  })

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
    const finished = (async () => {
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
          if (ev && data) events.push({ event: ev, data: JSON.parse(data) })
          if (ev === 'import.finished') return
        }
      }
    })()

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
  })
})
