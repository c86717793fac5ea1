/**
 * Autosave: every change to the open image reaches the store within a moment, with no save button.
 *
 * Changes mark regions dirty; after a short quiet spell (debounce, 150 ms; at most 1 s behind during a
 * stream of edits) the queue sends one batch built from the document as it is then, so a burst of edits
 * costs one write. One request is in flight at a time;
 * the answer gives new regions their row ids. A failed write keeps everything dirty and is retried with
 * backoff. Changing images or leaving the page flushes at once (flushOnUnload uses a keepalive request
 * where the transport has one). Nothing is sent while a drag is under way: at most that gesture is lost.
 */
import type { AnnotationPut, SaveRequest, SaveResult } from '../../src-shared/api/annotate'
import type { Result } from '../../src-shared/api/contract'
import type { Doc, Patch, Region } from './types'

export interface SaveTransport {
  /** Sends one batch. `keepalive`: the page may be going away; the transport should outlive it if it can. */
  save(req: SaveRequest, opts: { keepalive: boolean }): Promise<Result<SaveResult>>
}

/** What the queue saves from: the editor. */
export interface SaveSource {
  readonly doc: Doc
  readonly inGesture: boolean
  onDocChange(l: (p: Patch, doc: Doc) => void): () => void
}

export type SaveState =
  { kind: 'saved' } | { kind: 'pending' } | { kind: 'saving' } | { kind: 'error'; message: string }

export interface SaveQueueOptions {
  imageId: number
  source: SaveSource
  transport: SaveTransport
  /** Row ids of the regions the image was opened with, by key. */
  ids?: Map<string, number>
  /** Quiet time before a batch goes (default 150 ms). */
  delayMs?: number
  /** A stream of edits with no quiet time still goes out this often (default 1000 ms). */
  maxWaitMs?: number
  /** A batch stops growing past this many bytes of JSON (the web host takes up to 1 MiB a request). */
  maxBatchBytes?: number
  onState?: (s: SaveState) => void
  /** Regions the store refused (and why); they stay in the editor. */
  onRejected?: (items: { key: string; reason: string }[]) => void
  onSaved?: (r: SaveResult) => void
}

interface Batch {
  req: SaveRequest
  keys: string[]
  deletedKeys: string[]
  tag: boolean
  status: boolean
}

export class SaveQueue {
  readonly imageId: number
  private readonly source: SaveSource
  private readonly transport: SaveTransport
  private readonly ids: Map<string, number>
  private readonly delayMs: number
  private readonly maxWaitMs: number
  /** When the oldest unsent change was made (0: none waiting). */
  private waitingSince = 0
  private readonly maxBatchBytes: number
  private readonly dirty = new Set<string>()
  private tagDirty = false
  private statusDirty = false
  private inflight: Promise<boolean> | null = null
  private inflightBatch: Batch | null = null
  private timer: ReturnType<typeof setTimeout> | null = null
  private failures = 0
  private readonly unsubscribe: () => void
  /** Set by close(): the document as it was when the image was left. The editor has moved on to another. */
  private frozen: Doc | null = null
  private _state: SaveState = { kind: 'saved' }
  private readonly opts: SaveQueueOptions

  constructor(opts: SaveQueueOptions) {
    this.opts = opts
    this.imageId = opts.imageId
    this.source = opts.source
    this.transport = opts.transport
    this.ids = opts.ids ?? new Map()
    this.delayMs = opts.delayMs ?? 150
    this.maxWaitMs = opts.maxWaitMs ?? 1000
    this.maxBatchBytes = opts.maxBatchBytes ?? 600_000
    this.unsubscribe = opts.source.onDocChange((p) => this.changed(p))
  }

  get state(): SaveState {
    return this._state
  }

  /** True while some change has not been written yet. */
  get pending(): boolean {
    return this.hasDirty || this.inflight !== null
  }

  /** The row id of a region, once it has been written. */
  idOf(key: string): number | undefined {
    return this.ids.get(key)
  }

  /** The document to save from: the editor's, or the one frozen at close(). */
  private get doc(): Doc {
    return this.frozen ?? this.source.doc
  }

  private get hasDirty(): boolean {
    return this.dirty.size > 0 || this.tagDirty || this.statusDirty
  }

  private setState(s: SaveState): void {
    if (s.kind === this._state.kind && s.kind !== 'error') return
    this._state = s
    this.opts.onState?.(s)
  }

  private changed(p: Patch): void {
    for (const k of Object.keys(p.regions)) this.dirty.add(k)
    if (p.tag) this.tagDirty = true
    if (p.status) this.statusDirty = true
    if (!this.hasDirty) return
    const now = Date.now()
    if (!this.waitingSince) this.waitingSince = now
    this.schedule(Math.max(0, Math.min(this.delayMs, this.waitingSince + this.maxWaitMs - now)))
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer)
    if (this._state.kind !== 'error') this.setState({ kind: 'pending' })
    this.timer = setTimeout(() => {
      this.timer = null
      void this.flush()
    }, ms)
  }

  /**
   * Writes everything dirty now (after any request in flight). Resolves true when all is saved, false
   * when a write failed (a retry is scheduled) or a drag is still under way (saved when it ends).
   */
  async flush(): Promise<boolean> {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
    for (;;) {
      if (this.inflight) {
        await this.inflight
        continue
      }
      if (!this.hasDirty) break
      if (!this.frozen && this.source.inGesture) {
        this.schedule(this.delayMs)
        return false
      }
      this.waitingSince = 0
      const batch = this.build(this.maxBatchBytes)
      this.inflight = this.send(batch, false).finally(() => {
        this.inflight = null
        this.inflightBatch = null
      })
      if (!(await this.inflight)) return false
    }
    this.setState({ kind: 'saved' })
    return true
  }

  /**
   * The page is going away: sends everything not yet known to be written (the request in flight
   * included: writes are idempotent, a region's key names its row) in one keepalive request. Returns
   * the size of what was sent (0 when nothing was pending), so the page can tell whether the transport
   * can promise to deliver it.
   */
  flushOnUnload(): number {
    if (!this.pending) return 0
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
    const extra = this.inflightBatch
    if (extra) this.redirty(extra)
    const batch = this.build(Infinity)
    this.transport.save(batch.req, { keepalive: true }).then(
      (res) => this.settle(batch, res),
      (e: unknown) => this.settle(batch, { ok: false, error: { code: 'internal', message: String(e) } }),
    )
    return JSON.stringify(batch.req).length
  }

  /**
   * The image is being left: stops listening, keeps the document as it is now (retries after this
   * write from it, not from whatever the editor opens next), and writes what is left. The promise
   * settles when it is written, or when a write failed (retries go on).
   */
  close(): Promise<boolean> {
    if (!this.frozen) {
      this.frozen = this.source.doc
      this.unsubscribe()
    }
    return this.flush()
  }

  private build(maxBytes: number): Batch {
    const doc = this.doc
    const byKey = new Map(doc.regions.map((r) => [r.key, r]))
    const puts: AnnotationPut[] = []
    const deletes: number[] = []
    const keys: string[] = []
    const deletedKeys: string[] = []
    let bytes = 0
    for (const key of this.dirty) {
      const r = byKey.get(key)
      if (r) {
        const put = toPut(r, this.ids.get(key) ?? null)
        const size = JSON.stringify(put).length
        if (puts.length && bytes + size > maxBytes) continue
        bytes += size
        puts.push(put)
      } else {
        const id = this.ids.get(key)
        if (id !== undefined) {
          deletes.push(id)
          deletedKeys.push(key)
        }
      }
      keys.push(key)
    }
    for (const k of keys) this.dirty.delete(k)
    const req: SaveRequest = { imageId: this.imageId, puts, deletes }
    const tag = this.tagDirty
    const status = this.statusDirty
    if (tag) req.tag = doc.tag
    if (status) req.status = doc.status
    this.tagDirty = false
    this.statusDirty = false
    return { req, keys, deletedKeys, tag, status }
  }

  private async send(batch: Batch, keepalive: boolean): Promise<boolean> {
    this.inflightBatch = batch
    this.setState({ kind: 'saving' })
    let res: Result<SaveResult>
    try {
      res = await this.transport.save(batch.req, { keepalive })
    } catch (e) {
      res = { ok: false, error: { code: 'internal', message: String(e) } }
    }
    return this.settle(batch, res)
  }

  private redirty(batch: Batch): void {
    for (const k of batch.keys) this.dirty.add(k)
    if (batch.tag) this.tagDirty = true
    if (batch.status) this.statusDirty = true
  }

  /** Takes in a batch's answer: row ids on success; on failure all of it is dirty again, and retried with backoff. */
  private settle(batch: Batch, res: Result<SaveResult>): boolean {
    if (!res.ok) {
      this.redirty(batch)
      this.failures++
      const retry = Math.min(10_000, 500 * 2 ** this.failures)
      this.setState({
        kind: 'error',
        message: `${res.error.message} (retrying in ${Math.round(retry / 1000)} s)`,
      })
      this.schedule(retry)
      return false
    }
    this.failures = 0
    for (const { key, id } of res.value.ids) this.ids.set(key, id)
    for (const k of batch.deletedKeys) this.ids.delete(k)
    if (res.value.rejected.length) this.opts.onRejected?.(res.value.rejected)
    if (res.value.tagRejected) this.opts.onRejected?.([{ key: 'tag', reason: res.value.tagRejected }])
    this.opts.onSaved?.(res.value)
    if (this._state.kind === 'error') this._state = { kind: 'saving' }
    return true
  }
}

export function toPut(r: Region, id: number | null): AnnotationPut {
  return {
    kind: r.kind,
    geometry: r.geometry,
    key: r.key,
    id,
    classId: r.classId,
    z: r.z,
    hidden: r.hidden,
    locked: r.locked,
    ...(r.origin !== 'user' && { origin: r.origin }),
    ...(r.source && { source: r.source }),
  } as AnnotationPut
}
