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

/** The web host's transport: HTTP for calls, server-sent events for events, same-origin media. */
function webTransport(): SmallsetApi {
  let source: EventSource | null = null
  const events = () => (source ??= new EventSource('/api/events'))
  return {
    async call<C extends Channel>(channel: C, req: Req<C>): Promise<Result<Res<C>>> {
      try {
        const r = await fetch(`/api/call/${channel}`, {
          method: 'POST',
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
      events().addEventListener(event, handler)
      return () => events().removeEventListener(event, handler)
    },
    mediaUrl: (kind, id) => `/media/${kind}/${id}`,
  }
}

/** Electron's preload when it is there, else the web host. Picked once, at start. */
export const api: SmallsetApi = window.api ?? webTransport()
export const transportName = window.api ? 'electron' : 'web'

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
