import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { SaveRequest, SaveResult } from '../../src-shared/api/annotate'
import type { Result } from '../../src-shared/api/contract'
import { SaveQueue, type SaveState, type SaveTransport } from '../../src-renderer/editor/autosave'
import type { Editor } from '../../src-renderer/editor/editor'
import { click, drag, makeEditor } from './editor-helpers'

/** A transport that answers like the store would, with row ids from 100 on; it can be told to fail. */
class FakeStore implements SaveTransport {
  sent: { req: SaveRequest; keepalive: boolean }[] = []
  rows = new Map<number, unknown>()
  private next = 100
  private byKey = new Map<string, number>()
  failNext = 0
  delay = 0

  async save(req: SaveRequest, opts: { keepalive: boolean }): Promise<Result<SaveResult>> {
    this.sent.push({ req: structuredClone(req), keepalive: opts.keepalive })
    if (this.delay) await new Promise((r) => setTimeout(r, this.delay))
    if (this.failNext > 0) {
      this.failNext--
      return { ok: false, error: { code: 'internal', message: 'disk on fire' } }
    }
    for (const id of req.deletes ?? []) this.rows.delete(id)
    const ids = (req.puts ?? []).map((p) => {
      const id = p.id ?? this.byKey.get(p.key) ?? this.next++
      this.byKey.set(p.key, id)
      this.rows.set(id, p)
      return { key: p.key, id }
    })
    return { ok: true, value: { ids, rejected: [], status: req.status ?? 'labeled' } }
  }
}

let store: FakeStore
let ed: Editor
let q: SaveQueue
let states: SaveState['kind'][]

beforeEach(() => {
  vi.useFakeTimers()
  store = new FakeStore()
  ed = makeEditor()
  states = []
  q = new SaveQueue({
    imageId: 1,
    source: ed,
    transport: store,
    delayMs: 200,
    onState: (s) => states.push(s.kind),
  })
})
afterEach(() => {
  vi.useRealTimers()
})

const boxes = (n: number) => {
  ed.setTool('box')
  for (let i = 0; i < n; i++) drag(ed, [5 + i * 10, 5], [10 + i * 10, 20])
}

describe('autosave', () => {
  it('a stream of edits with no pause still goes out within maxWait', async () => {
    ed.setTool('box')
    for (let i = 0; i < 12; i++) {
      drag(ed, [5 + i * 5, 5], [9 + i * 5, 20])
      await vi.advanceTimersByTimeAsync(150)
    }
    // Every edit came within the 200 ms debounce of the last, yet batches went out once a second.
    expect(store.sent.length).toBeGreaterThanOrEqual(1)
    expect(store.sent.length).toBeLessThanOrEqual(2)
    await q.flush()
    expect(store.rows.size).toBe(12)
  })

  it('debounces a burst of edits into one batch, then maps keys to row ids', async () => {
    boxes(3)
    expect(store.sent).toHaveLength(0)
    expect(q.pending).toBe(true)
    await vi.advanceTimersByTimeAsync(199)
    expect(store.sent).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(10)
    expect(store.sent).toHaveLength(1)
    const req = store.sent[0]!.req
    expect(req.puts).toHaveLength(3)
    expect(req.puts!.every((p) => p.id === null)).toBe(true)
    expect(req.status).toBe('labeled')
    expect(q.pending).toBe(false)
    expect(states).toEqual(['pending', 'saving', 'saved'])
    expect(ed.doc.regions.map((r) => q.idOf(r.key))).toEqual([100, 101, 102])
  })

  it('later edits update rows by id, and deletes name the row', async () => {
    boxes(2)
    await q.flush()
    const [a, b] = ed.doc.regions
    ed.setTool('select')
    drag(ed, [7, 10], [9, 12])
    ed.select(b!.key)
    ed.deleteSelected()
    await q.flush()
    const req = store.sent[1]!.req
    expect(req.puts).toEqual([expect.objectContaining({ key: a!.key, id: 100 })])
    expect(req.deletes).toEqual([101])
    expect(q.idOf(b!.key)).toBeUndefined()
  })

  it('an undo of a delete writes the region again as a new row', async () => {
    boxes(1)
    await q.flush()
    ed.select(ed.doc.regions[0]!.key)
    ed.deleteSelected()
    await q.flush()
    ed.undo()
    await q.flush()
    expect(store.sent[2]!.req.puts).toEqual([expect.objectContaining({ id: null })])
    expect(store.rows.size).toBe(1)
  })

  it('holds back while a drag is under way and saves when it ends', async () => {
    boxes(1)
    await q.flush()
    ed.setTool('select')
    ed.pointerDown(7, 10)
    ed.pointerMove(20, 30)
    await vi.advanceTimersByTimeAsync(1000)
    expect(store.sent).toHaveLength(1)
    ed.pointerUp(20, 30)
    await vi.advanceTimersByTimeAsync(250)
    expect(store.sent).toHaveLength(2)
  })

  it('keeps everything after a failed write and retries with backoff', async () => {
    store.failNext = 2
    boxes(1)
    await vi.advanceTimersByTimeAsync(250)
    expect(store.sent).toHaveLength(1)
    expect(q.state).toMatchObject({ kind: 'error', message: expect.stringMatching(/disk on fire/) })
    await vi.advanceTimersByTimeAsync(1000)
    expect(store.sent).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(2000)
    expect(store.sent).toHaveLength(3)
    expect(q.state.kind).toBe('saved')
    expect(store.rows.size).toBe(1)
  })

  it('sends edits made during a write in the next batch', async () => {
    store.delay = 50
    boxes(1)
    await vi.advanceTimersByTimeAsync(210)
    expect(store.sent).toHaveLength(1)
    ed.pickClassNumber(2)
    const done = q.flush()
    await vi.advanceTimersByTimeAsync(200)
    expect(await done).toBe(true)
    expect(store.sent).toHaveLength(2)
    expect(store.sent[1]!.req.puts).toEqual([expect.objectContaining({ id: 100, classId: 12 })])
  })

  it('splits a large batch', async () => {
    const ed2 = makeEditor()
    const store2 = new FakeStore()
    const small = new SaveQueue({ imageId: 1, source: ed2, transport: store2, maxBatchBytes: 400 })
    ed2.setTool('box')
    for (let i = 0; i < 5; i++) drag(ed2, [5 + i * 10, 5], [10 + i * 10, 20])
    expect(await small.flush()).toBe(true)
    expect(store2.sent.length).toBeGreaterThan(1)
    expect(store2.sent.every((s) => JSON.stringify(s.req.puts).length < 800)).toBe(true)
    expect(store2.rows.size).toBe(5)
  })

  it('the tag and status go with the batch', async () => {
    ed.setTool('tag')
    click(ed, 5, 5)
    await q.flush()
    expect(store.sent[0]!.req).toMatchObject({ tag: 11, status: 'labeled', puts: [], deletes: [] })
    ed.undo()
    await q.flush()
    expect(store.sent[1]!.req).toMatchObject({ tag: null, status: 'unlabeled' })
  })

  it('on unload, sends what is pending (and what is in flight) as one keepalive batch', async () => {
    store.delay = 1000
    boxes(1)
    await vi.advanceTimersByTimeAsync(210) // first batch in flight
    boxes(1)
    expect(q.flushOnUnload()).toBeGreaterThan(0)
    const last = store.sent[store.sent.length - 1]!
    expect(last.keepalive).toBe(true)
    expect(last.req.puts).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(2000)
    // The store wrote each region once, though the first went twice.
    expect(store.rows.size).toBe(2)
    expect(q.flushOnUnload()).toBe(0)
  })

  it('close() flushes and stops listening', async () => {
    boxes(1)
    expect(await q.close()).toBe(true)
    boxes(1)
    await vi.advanceTimersByTimeAsync(1000)
    expect(store.sent).toHaveLength(1)
  })
})

describe('leaving an image', () => {
  it('a closed queue keeps writing the image it was for, even after the editor opened another', async () => {
    store.delay = 100
    boxes(2)
    await vi.advanceTimersByTimeAsync(210) // first batch in flight
    ed.pickClassNumber(3) // the second box (selected) changes while it is in flight
    const write = q.close()
    ed.load({ id: 2, width: 100, height: 80 }, { regions: [], tag: null, status: 'unlabeled' })
    await vi.advanceTimersByTimeAsync(500)
    expect(await write).toBe(true)
    const second = store.sent[1]!.req
    expect(second.imageId).toBe(1)
    expect(second.deletes).toEqual([])
    expect(second.puts).toEqual([expect.objectContaining({ classId: 13 })])
    expect(store.rows.size).toBe(2)
  })

  it('a failed last write is retried from the document as it was left', async () => {
    boxes(1)
    store.failNext = 1
    const write = q.close()
    ed.load({ id: 2, width: 100, height: 80 }, { regions: [], tag: null, status: 'unlabeled' })
    expect(await write).toBe(false)
    await vi.advanceTimersByTimeAsync(1500)
    expect(store.sent).toHaveLength(2)
    expect(store.sent[1]!.req).toMatchObject({ imageId: 1, deletes: [] })
    expect(store.sent[1]!.req.puts).toHaveLength(1)
    expect(store.rows.size).toBe(1)
  })
})
