import type { SaveRequest, SaveResult } from '../../../src-shared/api/annotate'
import type { Result } from '../../../src-shared/api/contract'
import { api, apiHeaders, transportName } from '../../app/api-client'
import type { SaveTransport } from '../../editor/autosave'

/** Browsers refuse keepalive requests over 64 KiB (all in flight together); stay under it. */
export const KEEPALIVE_MAX_BYTES = 60_000

/**
 * Autosave's way to the store: the API client, except when the page is going away in the web host,
 * where a keepalive fetch outlives the page. (Electron's IPC needs no such thing: the main process
 * receives the call whatever happens to the window.)
 */
export const saveTransport: SaveTransport = {
  async save(req: SaveRequest, { keepalive }): Promise<Result<SaveResult>> {
    if (keepalive && transportName === 'web') {
      const body = JSON.stringify(req)
      if (body.length <= KEEPALIVE_MAX_BYTES) {
        try {
          const r = await fetch('/api/call/annotations.save', {
            method: 'POST',
            // The token too: the host refuses any API call without it (a cookie no longer carries it).
            headers: apiHeaders({ 'Content-Type': 'application/json' }),
            body,
            keepalive: true,
          })
          return (await r.json()) as Result<SaveResult>
        } catch (e) {
          return {
            ok: false,
            error: { code: 'internal', message: `The Smallset host did not answer: ${String(e)}` },
          }
        }
      }
    }
    return api.call('annotations.save', req)
  },
}

/** Whether a batch of this size sent at unload is sure to arrive. */
export function deliverableOnUnload(bytes: number): boolean {
  return transportName !== 'web' || bytes <= KEEPALIVE_MAX_BYTES
}
