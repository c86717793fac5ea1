import path from 'node:path'
import { APP_HOST, APP_SCHEME, parseMediaUrl, securityHeaders } from './security'

/**
 * The handlers behind the window's two schemes, as functions of a Request-like input and the few
 * things they read, so they run (and are tested) without Electron:
 * - `smallset-app://renderer/…` serves the built renderer (out/renderer) with the CSP header on every
 *   response. A custom scheme instead of file:// (Electron's checklist, item 18): a real origin for
 *   'self', the sender check and permissions, headers we control, and no file:// page that every
 *   other local file shares an "origin" with.
 * - `smallset-media://thumb|image/<id>` answers an image's thumbnail or full bytes.
 */

export interface RequestLike {
  url: string
  method?: string
  headers?: { get(name: string): string | null }
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
}

function text(status: number, body: string, extra: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', ...extra },
  })
}

/**
 * The file under `root` that a `smallset-app://renderer/<path>` URL names, or null when the URL is not
 * one of ours or leaves the folder (`..`, encoded or not; a NUL byte; an absolute path).
 */
export function rendererFile(url: string, root: string): string | null {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return null
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host !== APP_HOST || u.username || u.password) return null
  let rel: string
  try {
    rel = decodeURIComponent(u.pathname).replace(/^\/+/, '')
  } catch {
    return null
  }
  if (rel.includes('\0') || rel.includes('\\')) return null
  if (rel === '') rel = 'index.html'
  const base = path.resolve(root)
  const file = path.resolve(base, rel)
  const inside = path.relative(base, file)
  if (!inside || inside.startsWith('..') || path.isAbsolute(inside)) return null
  return file
}

export interface RendererOptions {
  /** The built renderer folder (out/renderer). */
  root: string
  csp: string
  readFile: (file: string) => Promise<Uint8Array>
}

/** Answers a `smallset-app://` request from the built renderer, with the security headers. */
export async function serveRenderer(request: RequestLike, opts: RendererOptions): Promise<Response> {
  const headers = securityHeaders(opts.csp)
  const method = (request.method ?? 'GET').toUpperCase()
  if (method !== 'GET' && method !== 'HEAD') return text(405, 'method not allowed', headers)
  const file = rendererFile(request.url, opts.root)
  if (!file) return text(404, 'not found', headers)
  let bytes: Uint8Array
  try {
    bytes = await opts.readFile(file)
  } catch {
    return text(404, 'not found', headers)
  }
  const type = MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream'
  return new Response(method === 'HEAD' ? null : new Uint8Array(bytes), {
    status: 200,
    headers: { ...headers, 'Content-Type': type, 'Cache-Control': 'no-cache' },
  })
}

export type MediaLookup = (
  kind: 'thumb' | 'image',
  id: number,
  ifNoneMatch?: string,
) => Promise<{ etag: string; mime: string; bytes: Uint8Array } | 'not-modified' | undefined>

/** Answers a `smallset-media://` request: 400 for a bad URL, 404 unknown id, 409 when no project is open. */
export async function serveMedia(request: RequestLike, media: MediaLookup): Promise<Response> {
  const method = (request.method ?? 'GET').toUpperCase()
  if (method !== 'GET' && method !== 'HEAD') return text(405, 'method not allowed')
  const ref = parseMediaUrl(request.url)
  if (!ref)
    return text(400, 'bad media URL: expected smallset-media://thumb/<id> or smallset-media://image/<id>')
  try {
    const ifNoneMatch = request.headers?.get('if-none-match') ?? undefined
    const item = await media(ref.kind, ref.id, ifNoneMatch)
    if (!item) return text(404, 'not found')
    if (item === 'not-modified')
      return new Response(null, { status: 304, headers: { ETag: ifNoneMatch ?? '' } })
    return new Response(method === 'HEAD' ? null : new Uint8Array(item.bytes), {
      headers: {
        'Content-Type': item.mime,
        ETag: item.etag,
        'Cache-Control': 'no-cache',
        'X-Content-Type-Options': 'nosniff',
      },
    })
  } catch (e) {
    return text(409, e instanceof Error ? e.message : String(e))
  }
}
