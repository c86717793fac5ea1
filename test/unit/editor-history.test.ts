import { describe, expect, it } from 'vitest'
import { applyPatch, invertPatch, squash } from '../../src-renderer/editor/doc'
import { History } from '../../src-renderer/editor/history'
import type { Doc, Patch, Region } from '../../src-renderer/editor/types'
import { click, drag, makeEditor } from './editor-helpers'

const box = (key: string, x: number): Region => ({
  key,
  kind: 'box',
  geometry: { x, y: 0.1, w: 0.2, h: 0.2 },
  classId: 1,
  z: 0,
  hidden: false,
  locked: false,
  origin: 'user',
})

describe('patches', () => {
  const doc: Doc = { regions: [], tag: null, status: 'unlabeled' }

  it('apply, invert and squash', () => {
    const add: Patch = {
      regions: { a: { before: null, after: box('a', 0.1) } },
      tag: { before: null, after: 3 },
    }
    const move: Patch = { regions: { a: { before: box('a', 0.1), after: box('a', 0.5) } } }
    const d1 = applyPatch(doc, add)
    expect(d1.regions).toEqual([box('a', 0.1)])
    expect(d1.tag).toBe(3)
    expect(applyPatch(d1, invertPatch(add))).toEqual(doc)
    expect(applyPatch(d1, add, true)).toEqual(doc)
    const both = squash(add, move)
    expect(both.regions.a).toEqual({ before: null, after: box('a', 0.5) })
    expect(applyPatch(doc, both)).toEqual(applyPatch(d1, move))
  })

  it('squashing a change and its reverse leaves nothing', () => {
    const there: Patch = { regions: { a: { before: box('a', 0.1), after: box('a', 0.4) } } }
    expect(squash(there, invertPatch(there))).toEqual({ regions: {} })
    const add: Patch = { regions: { b: { before: null, after: box('b', 0.1) } } }
    expect(squash(add, invertPatch(add))).toEqual({ regions: {} })
  })
})

describe('History', () => {
  it('records steps, undoes and redoes them; a new step clears redo', () => {
    const h = new History()
    const p1: Patch = { regions: { a: { before: null, after: box('a', 0.1) } } }
    const p2: Patch = { regions: { b: { before: null, after: box('b', 0.1) } } }
    h.record(p1)
    h.record(p2)
    expect(h.depth).toBe(2)
    expect(h.undo()).toEqual(invertPatch(p2))
    expect(h.canRedo).toBe(true)
    expect(h.redo()).toEqual(p2)
    h.undo()
    h.record(p1)
    expect(h.canRedo).toBe(false)
  })

  it('a gesture is one step', () => {
    const h = new History()
    h.begin()
    for (let i = 1; i <= 20; i++)
      h.record({ regions: { a: { before: box('a', (i - 1) / 100), after: box('a', i / 100) } } })
    expect(h.depth).toBe(0)
    h.end()
    expect(h.depth).toBe(1)
    expect(h.undo()).toEqual({ regions: { a: { before: box('a', 0.2), after: box('a', 0) } } })
  })

  it('a gesture that ends where it began leaves no step; abandon gives the way back', () => {
    const h = new History()
    h.begin()
    h.record({ regions: { a: { before: box('a', 0), after: box('a', 0.1) } } })
    h.record({ regions: { a: { before: box('a', 0.1), after: box('a', 0) } } })
    h.end()
    expect(h.depth).toBe(0)
    h.begin()
    h.record({ regions: { a: { before: box('a', 0), after: box('a', 0.3) } } })
    expect(h.abandon()).toEqual({ regions: { a: { before: box('a', 0.3), after: box('a', 0) } } })
    expect(h.inGesture).toBe(false)
    expect(h.depth).toBe(0)
  })

  it('keeps at most `limit` steps', () => {
    const h = new History(3)
    for (let i = 0; i < 5; i++) h.record({ regions: {}, tag: { before: i, after: i + 1 } })
    expect(h.depth).toBe(3)
  })
})

describe('editor undo and redo', () => {
  it('undoes and redoes every kind of change, one step each', () => {
    const ed = makeEditor()
    const states: string[] = []
    const snap = () => states.push(JSON.stringify(ed.doc))
    snap()
    ed.setTool('box')
    drag(ed, [10, 10], [20, 15], [30, 30])
    snap()
    ed.setTool('polygon')
    click(ed, 50, 10)
    click(ed, 90, 10)
    click(ed, 90, 40)
    ed.key('enter')
    snap()
    ed.setTool('brush')
    drag(ed, [60, 60], [70, 60], [80, 65])
    snap()
    ed.pickClassNumber(2) // the new mask (selected) gets class 2
    snap()
    ed.setTool('tag')
    click(ed, 5, 5)
    snap()
    ed.setStatus('reviewed')
    snap()
    ed.toggleHidden(ed.doc.regions[2]!.key)
    snap()
    ed.setTool('select')
    drag(ed, [20, 20], [25, 25], [30, 30], [40, 40])
    snap()
    ed.select(ed.doc.regions[1]!.key)
    ed.deleteSelected()
    snap()
    expect(ed.undoDepth).toBe(states.length - 1)
    for (let i = states.length - 2; i >= 0; i--) {
      ed.undo()
      expect(JSON.stringify(ed.doc)).toBe(states[i])
    }
    expect(ed.state.canUndo).toBe(false)
    for (let i = 1; i < states.length; i++) {
      ed.redo()
      expect(JSON.stringify(ed.doc)).toBe(states[i])
    }
  })

  it('a move of many pointer events is one undo step', () => {
    const ed = makeEditor()
    ed.setTool('box')
    drag(ed, [10, 10], [30, 30])
    ed.setTool('select')
    const before = ed.doc.regions[0]!.geometry
    ed.pointerDown(20, 20)
    for (let i = 1; i <= 50; i++) {
      ed.pointerMove(20 + i, 20 + i / 2)
      expect(ed.inGesture).toBe(true)
    }
    ed.pointerUp(70, 45)
    expect(ed.undoDepth).toBe(2)
    ed.undo()
    expect(ed.doc.regions[0]!.geometry).toEqual(before)
  })

  it('a click that selects without moving adds no step', () => {
    const ed = makeEditor()
    ed.setTool('box')
    drag(ed, [10, 10], [30, 30])
    ed.setTool('select')
    click(ed, 20, 20)
    drag(ed, [20, 20], [40, 40], [20, 20])
    expect(ed.undoDepth).toBe(1)
  })

  it('undo while drawing a polygon takes back its last point; undo ignores a drag under way', () => {
    const ed = makeEditor()
    ed.setTool('polygon')
    click(ed, 10, 10)
    click(ed, 20, 10)
    ed.undo()
    expect(ed.state.draft).toMatchObject({ points: [[0.1, 0.125]] })
    ed.undo()
    expect(ed.tool.state).toBe('idle')
    ed.setTool('box')
    drag(ed, [10, 10], [30, 30])
    ed.setTool('select')
    ed.pointerDown(20, 20)
    ed.pointerMove(40, 40)
    ed.undo()
    expect(ed.doc.regions).toHaveLength(1)
    ed.pointerUp(40, 40)
    ed.undo()
    ed.undo()
    expect(ed.doc.regions).toHaveLength(0)
  })

  it('the status follows the labels in the same step', () => {
    const ed = makeEditor()
    ed.setTool('box')
    drag(ed, [10, 10], [30, 30])
    expect(ed.doc.status).toBe('labeled')
    ed.undo()
    expect(ed.doc.status).toBe('unlabeled')
    ed.redo()
    ed.setStatus('reviewed')
    ed.select(ed.doc.regions[0]!.key)
    ed.deleteSelected()
    expect(ed.doc.status).toBe('reviewed')
  })

  it('history belongs to the image: loading another clears it', () => {
    const ed = makeEditor()
    ed.setTool('box')
    drag(ed, [10, 10], [30, 30])
    ed.load({ id: 2, width: 50, height: 50 }, { regions: [], tag: null, status: 'unlabeled' })
    expect(ed.state.canUndo).toBe(false)
    ed.undo()
    expect(ed.doc.regions).toHaveLength(0)
  })
})
