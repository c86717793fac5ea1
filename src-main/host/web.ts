import { randomBytes, timingSafeEqual } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import type { SmallsetApp } from '../api/app'

/**
 * The web host: the built renderer and the same typed API as the Electron preload, on 127.0.0.1
 * only. The Host header is checked on every request, against DNS rebinding.
 *
 * The per-launch token is printed once, in the launch URL (`/?token=…`). It is never put in a
 * cookie: cookies are not kept apart by port, so every other server on 127.0.0.1 would be sent it.
 * The page reads it from its own URL, keeps it in sessionStorage (per origin, port included), drops
 * it from the address bar, and sends it in the `x-smallset-token` header.
 *
 *   GET  /, /assets/…          the renderer; no token needed (it holds no data)
 *   POST /api/call/<channel>   JSON request -> JSON Result ({ok:true,value} | {ok:false,error})
 *   POST /api/events-ticket    -> {ticket}: a short-lived, single-use ticket for /api/events
 *   POST /api/media-key        -> {mediaKey}: the key that lets <img src> read /media/
 *   GET  /api/events?ticket=…  server-sent events: `event: <name>`, `data: <json>`
 *   GET  /media/thumb/<id>?key=…, /media/image/<id>?key=…
 *
 * Every /api/ request needs the token in the header, except /api/events, which EventSource opens
 * without headers and so takes a ticket instead. /media/ takes the header or the media key: a
 * random per-launch key that reads media and nothing else (it is no good for /api/).
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

export const TOKEN_HEADER = 'x-smallset-token'
/** The shortest token startWebHost accepts (the random one is 32 characters). */
export const MIN_TOKEN_LENGTH = 16
const MAX_BODY = 1 << 20
/** A body over MAX_BODY is read and thrown away up to this much, so the client gets its 413. */
const MAX_DISCARD = 16 << 20
/** How long an events ticket may wait to be used, and how many may be outstanding at once. */
const TICKET_TTL_MS = 60_000
const MAX_TICKETS = 64
/**
 * Bytes an SSE client may have queued from earlier frames for SSE_SLOW_MS before it counts as not
 * reading and is disconnected; past SSE_MAX_BUFFERED_HARD it is disconnected at once (see the
 * broadcast below). One large frame (an import report with thousands of failures) fits in between.
 */
export const SSE_MAX_BUFFERED = 1 << 20
export const SSE_MAX_BUFFERED_HARD = 8 << 20
export const SSE_SLOW_MS = 5000

const SECURITY_HEADERS: Record<string, string> = {
  // Cross-origin isolation: lets the renderer use SharedArrayBuffer (threaded wasm) later.
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // No page, not even another one on 127.0.0.1, may frame the UI (clickjacking).
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data: blob:; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
}

export interface WebHostOptions {
  app: SmallsetApp
  /** The built renderer (out/renderer). */
  rendererDir: string
  port?: number
  /** The launch token; a random one when not given. At least MIN_TOKEN_LENGTH characters. */
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

function sendJson(
  res: http.ServerResponse,
  status: number,
  value: unknown,
  extra: Record<string, string> = {},
) {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8', {
    'Cache-Control': 'no-store',
    ...extra,
  })
}

const apiError = (code: string, message: string) => ({ ok: false, error: { code, message } })

class BodyTooLarge extends Error {
  /** drained: the whole body was read (and thrown away), so the connection can stay open. */
  constructor(readonly drained: boolean) {
    super(`request body over ${MAX_BODY} bytes`)
  }
}

/**
 * Reads a body of at most MAX_BODY bytes. A longer one is read to its end and thrown away, then
 * refused with BodyTooLarge, so the client, still sending, does not get a reset instead of its 413.
 * Past MAX_DISCARD (or a Content-Length over it) it gives up on draining.
 */
function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_DISCARD) return reject(new BodyTooLarge(false))
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size <= MAX_BODY) chunks.push(c)
      else if (size > MAX_DISCARD) {
        req.pause()
        reject(new BodyTooLarge(false))
      }
    })
    req.on('end', () => {
      if (size > MAX_BODY) reject(new BodyTooLarge(true))
      else resolve(Buffer.concat(chunks).toString('utf8'))
    })
    req.on('error', reject)
  })
}

export async function startWebHost(opts: WebHostOptions): Promise<WebHost> {
  if (opts.token !== undefined && opts.token.length < MIN_TOKEN_LENGTH) {
    // An empty SMALLSET_TOKEN must not turn authentication off, nor a short one make it guessable.
    throw new Error(
      `The web host token must be at least ${MIN_TOKEN_LENGTH} characters (got ${opts.token.length}); ` +
        'unset SMALLSET_TOKEN to get a random one.',
    )
  }
  const token = opts.token ?? randomBytes(24).toString('base64url')
  const mediaKey = randomBytes(24).toString('base64url')
  /** Events tickets not yet used: ticket -> when it expires (ms). Insertion order is age order. */
  const tickets = new Map<string, number>()
  const rendererDir = path.resolve(opts.rendererDir)
  const clients = new Set<http.ServerResponse>()
  /** When each client's queue last went over SSE_MAX_BUFFERED without draining since. */
  const behindSince = new WeakMap<http.ServerResponse, number>()
  let port = 0

  const unsubscribe = opts.app.onEvent((event, payload) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`
    for (const c of clients) {
      // Backpressure. A client that does not read would make res.write buffer every frame in
      // memory, without end. A burst, or one large frame, is fine (it is sent as the socket drains),
      // but a client whose queue has stayed over SSE_MAX_BUFFERED for SSE_SLOW_MS without draining,
      // or has passed SSE_MAX_BUFFERED_HARD, is not keeping up: it is disconnected rather than sent
      // a stream with frames silently missing. The page then opens a new stream with a fresh ticket
      // (api-client.ts).
      const queued = c.writableLength
      const since = queued > SSE_MAX_BUFFERED ? behindSince.get(c) : undefined
      if (queued > SSE_MAX_BUFFERED_HARD || (since !== undefined && Date.now() - since > SSE_SLOW_MS)) {
        clients.delete(c)
        c.destroy()
        continue
      }
      if (queued > SSE_MAX_BUFFERED && since === undefined) behindSince.set(c, Date.now())
      c.write(frame)
    }
  })

  const ownOrigin = (origin: string | undefined) =>
    origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`

  const headerToken = (req: http.IncomingMessage): boolean => {
    const given = req.headers[TOKEN_HEADER]
    return typeof given === 'string' && safeEqual(given, token)
  }

  const issueTicket = (): string => {
    const now = Date.now()
    for (const [t, expires] of tickets) if (expires <= now) tickets.delete(t)
    while (tickets.size >= MAX_TICKETS) tickets.delete(tickets.keys().next().value!)
    const ticket = randomBytes(24).toString('base64url')
    tickets.set(ticket, now + TICKET_TTL_MS)
    return ticket
  }

  /** A ticket opens one stream: it is spent on use, and worthless after TICKET_TTL_MS. */
  const redeemTicket = (given: string | null): boolean => {
    if (!given) return false
    for (const [t, expires] of tickets) {
      if (safeEqual(given, t)) {
        tickets.delete(t)
        return expires > Date.now()
      }
    }
    return false
  }

  const unauthorised = (res: http.ServerResponse) =>
    send(
      res,
      401,
      'Smallset: open the URL with the token that `smallset serve` printed.',
      'text/plain; charset=utf-8',
      { 'Cache-Control': 'no-store' },
    )

  const serveStatic = (res: http.ServerResponse, rel: string) => {
    let file = path.resolve(rendererDir, rel.replace(/^\/+/, '') || 'index.html')
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

  const serveEvents = (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
    })
    res.write(': connected\n\n')
    clients.add(res)
    res.on('drain', () => behindSince.delete(res))
    req.on('close', () => clients.delete(res))
  }

  const serveApi = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const { pathname } = url
    if (pathname === '/api/events') {
      if (req.method !== 'GET') return sendJson(res, 405, { error: 'use GET' })
      // EventSource cannot send headers, so it brings a ticket; other clients may send the header.
      if (!headerToken(req) && !redeemTicket(url.searchParams.get('ticket'))) return unauthorised(res)
      return serveEvents(req, res)
    }
    // Only the header: never a cookie (they are shared by every port) nor the URL (it leaks).
    if (!headerToken(req)) return unauthorised(res)
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'use POST' })
    // The custom header already needs a CORS preflight this host never answers, so no other page
    // can send it; still, any Origin must be this host's, and a call must be JSON.
    if (!ownOrigin(req.headers.origin)) {
      return sendJson(res, 403, apiError('unauthorized', 'cross-origin call refused'))
    }
    if (pathname === '/api/events-ticket') return sendJson(res, 200, { ticket: issueTicket() })
    if (pathname === '/api/media-key') return sendJson(res, 200, { mediaKey })
    if (!pathname.startsWith('/api/call/')) return sendJson(res, 404, { error: 'no such endpoint' })
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) {
      return sendJson(res, 415, apiError('invalid_request', 'API calls must be sent as application/json'))
    }
    let body: unknown
    try {
      const text = await readBody(req)
      body = text ? JSON.parse(text) : {}
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        return sendJson(
          res,
          413,
          apiError('invalid_request', e.message),
          e.drained ? {} : { Connection: 'close' },
        )
      }
      return sendJson(res, 400, apiError('invalid_request', `bad JSON body: ${(e as Error).message}`))
    }
    const result = await opts.app.dispatch(pathname.slice('/api/call/'.length), body)
    return sendJson(res, 200, result)
  }

  const serveMedia = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    // <img src> and Konva cannot send headers: they bring the media key, which reads media only.
    const key = url.searchParams.get('key')
    if (!headerToken(req) && !(key !== null && safeEqual(key, mediaKey))) return unauthorised(res)
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'use GET' })
    const media = /^\/media\/(thumb|image)\/(\d+)$/.exec(url.pathname)
    if (!media) return sendJson(res, 404, { error: 'no such media' })
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

  const server = http.createServer((req, res) => {
    void (async () => {
      const host = req.headers.host ?? ''
      if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
        return sendJson(res, 421, { error: 'wrong Host header' })
      }
      let url: URL
      let decoded: string
      try {
        url = new URL(req.url ?? '/', `http://${host}`)
        decoded = decodeURIComponent(url.pathname)
      } catch {
        return sendJson(res, 400, { error: 'malformed URL' })
      }
      if (url.pathname.startsWith('/api/')) return await serveApi(req, res, url)
      if (url.pathname.startsWith('/media/')) return await serveMedia(req, res, url)
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return sendJson(res, 405, { error: 'method not allowed' })
      // The renderer's files hold no data, so they need no token: the page takes it from its URL.
      serveStatic(res, decoded)
    })().catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, apiError('internal', String(e)))
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
    launchUrl: `${base}/?token=${encodeURIComponent(token)}`,
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
