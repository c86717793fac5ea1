import { randomBytes, timingSafeEqual } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import type { SmallsetApp } from '../api/app'

/**
 * The web host: the built renderer and the same typed API as the Electron preload, on 127.0.0.1
 * only. Every request needs the per-launch token, given once in the URL and then kept in an
 * HttpOnly, SameSite=Strict cookie. The Host header is checked too, against DNS rebinding.
 *
 *   POST /api/call/<channel>   JSON request  -> JSON Result ({ok:true,value} | {ok:false,error})
 *   GET  /api/events           server-sent events: `event: <name>`, `data: <json>`
 *   GET  /media/thumb/<id>, /media/image/<id>
 */

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
}

/** Cookies are not kept apart by port: each host names its own, so two hosts do not clash. */
const cookieName = (port: number) => `smallset_token_${port}`
const MAX_BODY = 1 << 20

const SECURITY_HEADERS: Record<string, string> = {
  // Cross-origin isolation: lets the renderer use SharedArrayBuffer (threaded wasm) later.
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data: blob:; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; connect-src 'self'",
}

export interface WebHostOptions {
  app: SmallsetApp
  /** The built renderer (out/renderer). */
  rendererDir: string
  port?: number
  token?: string
}

export interface WebHost {
  url: string
  /** The URL with the token, to open in a browser. */
  launchUrl: string
  token: string
  port: number
  close(): Promise<void>
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function cookieToken(req: http.IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie ?? ''
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === name) return v.join('=')
  }
  return undefined
}

function send(
  res: http.ServerResponse,
  status: number,
  body: string | Buffer,
  type: string,
  extra: Record<string, string> = {},
) {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    ...extra,
  })
  res.end(body)
}

function sendJson(res: http.ServerResponse, status: number, value: unknown) {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8', { 'Cache-Control': 'no-store' })
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_BODY) {
        reject(new Error(`request body over ${MAX_BODY} bytes`))
        req.destroy()
      } else chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

export async function startWebHost(opts: WebHostOptions): Promise<WebHost> {
  const token = opts.token ?? randomBytes(24).toString('base64url')
  const rendererDir = path.resolve(opts.rendererDir)
  const clients = new Set<http.ServerResponse>()
  let port = 0

  const unsubscribe = opts.app.onEvent((event, payload) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`
    for (const c of clients) c.write(frame)
  })

  const authorised = (req: http.IncomingMessage, url: URL): boolean => {
    const given =
      url.searchParams.get('token') ?? cookieToken(req, cookieName(port)) ?? req.headers['x-smallset-token']
    return typeof given === 'string' && safeEqual(given, token)
  }

  const serveStatic = (res: http.ServerResponse, pathname: string) => {
    const rel = decodeURIComponent(pathname).replace(/^\/+/, '') || 'index.html'
    let file = path.resolve(rendererDir, rel)
    if (!file.startsWith(rendererDir + path.sep) && file !== rendererDir)
      return sendJson(res, 403, { error: 'forbidden' })
    if (!fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(rendererDir, 'index.html')
    if (!fs.existsSync(file)) {
      return send(
        res,
        500,
        `The renderer is not built: ${file} is missing. Run "npm run build" first.`,
        'text/plain',
      )
    }
    const type = MIME[path.extname(file)] ?? 'application/octet-stream'
    const cache = file.includes(`${path.sep}assets${path.sep}`)
      ? 'public, max-age=31536000, immutable'
      : 'no-cache'
    send(res, 200, fs.readFileSync(file), type, { 'Cache-Control': cache })
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      const host = req.headers.host ?? ''
      if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
        return sendJson(res, 421, { error: 'wrong Host header' })
      }
      const url = new URL(req.url ?? '/', `http://${host}`)
      if (!authorised(req, url)) {
        return send(
          res,
          401,
          'Smallset: open the URL with the token that `smallset serve` printed.',
          'text/plain; charset=utf-8',
        )
      }
      if (url.searchParams.has('token')) {
        // Trade the token in the URL for a cookie, and drop it from the address bar.
        url.searchParams.delete('token')
        res.writeHead(303, {
          ...SECURITY_HEADERS,
          'Set-Cookie': `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`,
          Location: url.pathname + url.search,
        })
        return res.end()
      }
      const { pathname } = url
      if (pathname.startsWith('/api/call/')) {
        if (req.method !== 'POST') return sendJson(res, 405, { error: 'use POST' })
        // Another page on 127.0.0.1 counts as same-site (ports do not matter to SameSite), so the
        // cookie alone is not enough: a call must be JSON, which a cross-origin page cannot send
        // without a CORS preflight this host never answers, and any Origin must be this host's.
        const origin = req.headers.origin
        if (
          origin !== undefined &&
          origin !== `http://127.0.0.1:${port}` &&
          origin !== `http://localhost:${port}`
        ) {
          return sendJson(res, 403, {
            ok: false,
            error: { code: 'unauthorized', message: 'cross-origin call refused' },
          })
        }
        if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) {
          return sendJson(res, 415, {
            ok: false,
            error: { code: 'invalid_request', message: 'API calls must be sent as application/json' },
          })
        }
        let body: unknown
        try {
          const text = await readBody(req)
          body = text ? JSON.parse(text) : {}
        } catch (e) {
          return sendJson(res, 400, {
            ok: false,
            error: { code: 'invalid_request', message: `bad JSON body: ${(e as Error).message}` },
          })
        }
        const result = await opts.app.dispatch(pathname.slice('/api/call/'.length), body)
        return sendJson(res, 200, result)
      }
      if (pathname === '/api/events') {
        res.writeHead(200, {
          ...SECURITY_HEADERS,
          'Content-Type': 'text/event-stream',
          'Cache-Control': 'no-store',
          Connection: 'keep-alive',
        })
        res.write(': connected\n\n')
        clients.add(res)
        req.on('close', () => clients.delete(res))
        return
      }
      const media = /^\/media\/(thumb|image)\/(\d+)$/.exec(pathname)
      if (media) {
        const id = Number(media[2])
        try {
          const item = await opts.app.media(media[1] as 'thumb' | 'image', id, req.headers['if-none-match'])
          if (!item) return sendJson(res, 404, { error: `no image ${id}` })
          if (item === 'not-modified') {
            res.writeHead(304, SECURITY_HEADERS)
            return res.end()
          }
          return send(res, 200, item.bytes, item.mime, { 'Cache-Control': 'no-cache', ETag: item.etag })
        } catch (e) {
          return sendJson(res, 409, { error: (e as Error).message })
        }
      }
      if (req.method !== 'GET') return sendJson(res, 405, { error: 'method not allowed' })
      serveStatic(res, pathname)
    })().catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: { code: 'internal', message: String(e) } })
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve())
  })
  port = (server.address() as AddressInfo).port
  const base = `http://127.0.0.1:${port}`
  return {
    url: base,
    launchUrl: `${base}/?token=${token}`,
    token,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        unsubscribe()
        for (const c of clients) c.end()
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
