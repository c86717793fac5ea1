import type {
  Channel,
  EventName,
  EventPayload,
  Req,
  Res,
  Result,
  SmallsetApi,
} from '../../src-shared/api/contract'

declare global {
  interface Window {
    /** Set by the Electron preload; absent in a plain browser. */
    api?: SmallsetApi
  }
}

const TOKEN_HEADER = 'x-smallset-token'
const TOKEN_KEY = 'smallset.token'

/**
 * The web host's launch token. It comes once in the launch URL (`?token=…`); it is kept in
 * sessionStorage (per origin, port included, so no other local server sees it, and a reload still
 * works) and taken out of the address bar at once, so it is not left in history or bookmarks.
 */
function launchToken(): string | null {
  const url = new URL(window.location.href)
  const given = url.searchParams.get('token')
  let stored: string | null = null
  try {
    if (given) sessionStorage.setItem(TOKEN_KEY, given)
    else stored = sessionStorage.getItem(TOKEN_KEY)
  } catch {
    // No sessionStorage (a sandboxed page): the token lives in memory only, lost on reload.
  }
  if (given) {
    url.searchParams.delete('token')
    history.replaceState(history.state, '', url.pathname + url.search + url.hash)
  }
  return given ?? stored
}

interface WebTransport extends SmallsetApi {
  /** Fetches what the transport needs before the first render (the media key). */
  init(): Promise<void>
}

/** The web host's transport: HTTP for calls, server-sent events for events, same-origin media. */
/** The web host's token, once the web transport has read it. */
let webToken: string | null = null

/**
 * The headers a request to the web host's API needs (its token), for the rare call that cannot go
 * through `api.call`: the keepalive save sent as the page closes.
 */
export function apiHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return webToken ? { ...extra, [TOKEN_HEADER]: webToken } : extra
}

function webTransport(): WebTransport {
  const token = launchToken()
  webToken = token
  const headers = apiHeaders
  const post = (pathname: string, init: RequestInit = {}) =>
    fetch(pathname, { method: 'POST', ...init, headers: headers(init.headers as Record<string, string>) })
  /** Reads only media; <img src> and Konva cannot send the token header, so they bring this key. */
  let mediaKey = ''

  // Events. EventSource sends no headers, so each stream is opened with a single-use ticket from
  // POST /api/events-ticket. EventSource would reconnect by itself with the same URL, whose ticket
  // is spent; so on any error the stream is closed and a new one opened with a fresh ticket, after
  // a backoff (1 s, doubling up to 30 s, back to 1 s once a stream is open). The listeners live
  // here, not on the EventSource, so each new stream gets them all. Events sent while no stream
  // was open are missed, as they were with EventSource's own reconnects.
  const listeners = new Map<string, Set<(e: MessageEvent<string>) => void>>()
  let source: EventSource | null = null
  let connecting = false
  let retryMs = 1000
  let retryTimer: ReturnType<typeof setTimeout> | null = null
  const reconnectLater = () => {
    if (retryTimer) return
    retryTimer = setTimeout(() => {
      retryTimer = null
      void connect()
    }, retryMs)
    retryMs = Math.min(retryMs * 2, 30_000)
  }
  const connect = async () => {
    if (source || connecting) return
    connecting = true
    try {
      const r = await post('/api/events-ticket')
      // A wrong or missing token will not get better by asking again; calls show that error.
      if (r.status === 401) return
      if (!r.ok) throw new Error(`events ticket: HTTP ${r.status}`)
      const { ticket } = (await r.json()) as { ticket: string }
      const es = new EventSource(`/api/events?ticket=${encodeURIComponent(ticket)}`)
      for (const [event, set] of listeners) for (const h of set) es.addEventListener(event, h)
      es.onopen = () => {
        retryMs = 1000
      }
      es.onerror = () => {
        es.close()
        if (source === es) source = null
        reconnectLater()
      }
      source = es
    } catch {
      reconnectLater()
    } finally {
      connecting = false
    }
  }

  return {
    async init() {
      try {
        const r = await post('/api/media-key')
        if (r.ok) mediaKey = ((await r.json()) as { mediaKey: string }).mediaKey
      } catch {
        // The host did not answer: the first call will say so.
      }
    },
    async call<C extends Channel>(channel: C, req: Req<C>): Promise<Result<Res<C>>> {
      try {
        const r = await post(`/api/call/${channel}`, {
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(req),
        })
        if (r.status === 401) return { ok: false, error: { code: 'unauthorized', message: await r.text() } }
        return (await r.json()) as Result<Res<C>>
      } catch (e) {
        return {
          ok: false,
          error: { code: 'internal', message: `The Smallset host did not answer: ${String(e)}` },
        }
      }
    },
    on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void) {
      const handler = (e: MessageEvent<string>) => listener(JSON.parse(e.data) as EventPayload<E>)
      let set = listeners.get(event)
      if (!set) listeners.set(event, (set = new Set()))
      set.add(handler)
      source?.addEventListener(event, handler)
      void connect()
      return () => {
        set.delete(handler)
        source?.removeEventListener(event, handler)
      }
    },
    mediaUrl: (kind, id) => `/media/${kind}/${id}?key=${encodeURIComponent(mediaKey)}`,
  }
}

const web = window.api ? null : webTransport()

/** Electron's preload when it is there, else the web host. Picked once, at start. */
export const api: SmallsetApi = window.api ?? web!
export const transportName = window.api ? 'electron' : 'web'

/** Call, and wait for, before the first render: the web transport fetches its media key. */
export const initApi = (): Promise<void> => web?.init() ?? Promise.resolve()

export class CallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** Calls the API and throws a CallError (code + message) when the backend says no. */
export async function call<C extends Channel>(channel: C, req: Req<C>): Promise<Res<C>> {
  const r = await api.call(channel, req)
  if (!r.ok) throw new CallError(r.error.code, r.error.message)
  return r.value
}
