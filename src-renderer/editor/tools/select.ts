import {
  boxFromCorners,
  clamp,
  clamp01,
  translatePolygon,
  type Vec,
} from '../../../src-shared/domain/geometry'
import { shapeBounds, shapeProblem } from '../../../src-shared/domain/regions'
import { rleBounds, rleTranslate } from '../../../src-shared/domain/rle'
import type { Editor } from '../editor'
import { handleAt, regionAt, regionContains, type Handle } from '../hit'
import type { Region } from '../types'
import { HANDLE_PX, OUTLINE_PX, type Tool, type ToolPointer } from './tool'

type State =
  | { name: 'idle' }
  /** Dragging a box or polygon: the document changes as it moves, squashed into one step on release. */
  | { name: 'moving'; start: Vec; orig: Region }
  /** Dragging a mask: drawn shifted until release, then moved by whole pixels. */
  | { name: 'moving-mask'; start: Vec; orig: Region & { kind: 'mask' }; dx: number; dy: number }
  | { name: 'resizing'; handle: Handle; orig: Region }

/** Select, move, and resize with handles (box corners and sides, polygon vertices). */
export class SelectTool implements Tool {
  readonly name = 'select' as const
  private s: State = { name: 'idle' }
  get state() {
    return this.s.name
  }

  down(ed: Editor, e: ToolPointer): void {
    if ((e.opts.button ?? 0) !== 0) return
    const size = ed.size
    const sel = ed.selected
    const editable = sel && !sel.locked && !sel.hidden ? sel : null
    if (editable) {
      const handle = handleAt(editable, e.p, ed.tolerance(HANDLE_PX), size)
      if (handle) {
        ed.beginGesture()
        this.s = { name: 'resizing', handle, orig: editable }
        return
      }
    }
    // The selected region wins where regions overlap, so it can be dragged from anywhere inside it.
    const target =
      editable && regionContains(editable, e.p, ed.tolerance(OUTLINE_PX), size)
        ? editable
        : regionAt(ed.doc.regions, e.p, ed.tolerance(OUTLINE_PX), size)
    if (!target) {
      ed.select(null)
      return
    }
    ed.select(target.key)
    if (target.kind === 'mask') this.s = { name: 'moving-mask', start: e.p, orig: target, dx: 0, dy: 0 }
    else {
      ed.beginGesture()
      this.s = { name: 'moving', start: e.p, orig: target }
    }
  }

  move(ed: Editor, e: ToolPointer): void {
    const s = this.s
    const { width, height } = ed.size
    if (s.name === 'moving') {
      const b = shapeBounds(s.orig)
      const dx = clamp((e.p[0] - s.start[0]) / width, -b.x, 1 - (b.x + b.w))
      const dy = clamp((e.p[1] - s.start[1]) / height, -b.y, 1 - (b.y + b.h))
      ed.replaceRegion(moveRegion(s.orig, dx, dy))
    } else if (s.name === 'moving-mask') {
      const b = rleBounds(s.orig.geometry.rle)
      s.dx = clamp(Math.round(e.p[0] - s.start[0]), -b.x, width - (b.x + b.width))
      s.dy = clamp(Math.round(e.p[1] - s.start[1]), -b.y, height - (b.y + b.height))
      ed.setDraft({ kind: 'offset', key: s.orig.key, dx: s.dx, dy: s.dy })
    } else if (s.name === 'resizing') {
      const next = resizeRegion(s.orig, s.handle, ed.toNorm(ed.clampPx(e.p)))
      if (next) ed.replaceRegion(next)
    }
  }

  up(ed: Editor, e: ToolPointer): void {
    const s = this.s
    this.move(ed, e)
    this.s = { name: 'idle' }
    if (s.name === 'moving') ed.endGesture()
    else if (s.name === 'moving-mask') {
      ed.setDraft(null)
      if (s.dx || s.dy) {
        const rle = rleTranslate(s.orig.geometry.rle, s.dx, s.dy)
        ed.replaceRegion({ ...s.orig, geometry: { rle } })
      }
    } else if (s.name === 'resizing') {
      const now = ed.doc.regions.find((r) => r.key === s.orig.key)
      const problem = now && shapeProblem(now, ed.size)
      if (problem) {
        ed.abandonGesture()
        ed.notify(`${problem} The region was put back as it was.`, 'warn')
      } else ed.endGesture()
    }
  }

  key(ed: Editor, key: 'enter' | 'backspace' | 'escape'): boolean {
    if (key !== 'escape') return false
    if (this.s.name !== 'idle') this.cancel(ed)
    else if (ed.state.selectedKey) ed.select(null)
    else return false
    return true
  }

  cancel(ed: Editor): void {
    if (this.s.name === 'moving' || this.s.name === 'resizing') ed.abandonGesture()
    if (this.s.name === 'moving-mask') ed.setDraft(null)
    this.s = { name: 'idle' }
  }
}

function moveRegion(r: Region, dx: number, dy: number): Region {
  if (r.kind === 'box')
    return { ...r, geometry: { ...r.geometry, x: r.geometry.x + dx, y: r.geometry.y + dy } }
  if (r.kind === 'polygon') return { ...r, geometry: translatePolygon(r.geometry, dx, dy) }
  return r
}

/** The region with one handle dragged to `p` (normalised, already inside the image). */
function resizeRegion(r: Region, h: Handle, p: Vec): Region | null {
  if (r.kind === 'box' && h.kind === 'box') {
    const g = r.geometry
    let [x0, y0, x1, y1] = [g.x, g.y, g.x + g.w, g.y + g.h]
    if (h.name.includes('w')) x0 = p[0]
    if (h.name.includes('e')) x1 = p[0]
    if (h.name.startsWith('n')) y0 = p[1]
    if (h.name.startsWith('s')) y1 = p[1]
    return { ...r, geometry: boxFromCorners(x0, y0, x1, y1) }
  }
  if (r.kind === 'polygon' && h.kind === 'vertex') {
    const q: Vec = [clamp01(p[0]), clamp01(p[1])]
    const set = (ring: Vec[], ri: number) =>
      ri === h.ring ? ring.map((v, i) => (i === h.index ? q : v)) : ring
    const g = {
      points: set(r.geometry.points, 0),
      holes: r.geometry.holes?.map((ring, i) => set(ring, i + 1)),
    }
    if (!g.holes) delete g.holes
    return { ...r, geometry: g }
  }
  return null
}
