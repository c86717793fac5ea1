import { clamp, type Vec } from '../../../src-shared/domain/geometry'
import { rleArea, rleBounds, rleWithStroke, strokeWindow } from '../../../src-shared/domain/rle'
import type { Editor } from '../editor'
import type { Region } from '../types'
import type { Tool, ToolPointer } from './tool'

type State = { name: 'idle' } | { name: 'painting'; points: Vec[] }

/**
 * Brush and eraser for masks. A stroke is drawn as a preview while the pointer is down, and becomes
 * one undo step when it is released. The brush adds to the selected mask when it has the active class,
 * else starts a new mask; the eraser takes away from the selected mask, or from every mask it crosses.
 */
export class BrushTool implements Tool {
  private s: State = { name: 'idle' }
  constructor(readonly name: 'brush' | 'eraser') {}
  get state() {
    return this.s.name
  }
  private get erase() {
    return this.name === 'eraser'
  }

  down(ed: Editor, e: ToolPointer): void {
    if ((e.opts.button ?? 0) !== 0) return
    this.s = { name: 'painting', points: [this.clampPt(ed, e.p)] }
    this.show(ed)
  }

  move(ed: Editor, e: ToolPointer): void {
    if (this.s.name !== 'painting') return
    const p = this.clampPt(ed, e.p)
    const last = this.s.points[this.s.points.length - 1]!
    if (p[0] === last[0] && p[1] === last[1]) return
    this.s.points.push(p)
    this.show(ed)
  }

  up(ed: Editor, e: ToolPointer): void {
    if (this.s.name !== 'painting') return
    this.move(ed, e)
    const points = this.s.points
    this.s = { name: 'idle' }
    ed.setDraft(null)
    const radius = ed.state.brushSize / 2
    const { width: w, height: h } = ed.size
    if (!this.erase) return this.paint(ed, points, radius, w, h)

    const sel = ed.selected
    const win = strokeWindow(points, radius, h, w)
    const targets =
      sel && sel.kind === 'mask' && !sel.locked && !sel.hidden
        ? [sel]
        : ed.doc.regions.filter(
            (r): r is Region & { kind: 'mask' } =>
              r.kind === 'mask' && !r.locked && !r.hidden && overlaps(rleBounds(r.geometry.rle), win),
          )
    ed.beginGesture()
    let removed = 0
    for (const t of targets) {
      const rle = rleWithStroke(t.geometry.rle, points, radius, true, h, w)
      if (rleArea(rle) === rleArea(t.geometry.rle)) continue
      if (rleArea(rle) === 0) {
        ed.removeRegions([t.key])
        removed++
      } else ed.replaceRegion({ ...t, geometry: { rle } })
    }
    ed.endGesture()
    if (removed)
      ed.notify(`Erased ${removed === 1 ? 'a mask' : `${removed} masks`} completely: removed.`, 'info')
  }

  cancel(ed: Editor): void {
    this.s = { name: 'idle' }
    ed.setDraft(null)
  }

  private paint(ed: Editor, points: Vec[], radius: number, w: number, h: number): void {
    const sel = ed.selected
    const target =
      sel && sel.kind === 'mask' && !sel.locked && !sel.hidden && sel.classId === ed.state.activeClassId
        ? sel
        : null
    const rle = rleWithStroke(target ? target.geometry.rle : null, points, radius, false, h, w)
    if (target) ed.replaceRegion({ ...target, geometry: { rle } })
    else ed.addRegion({ kind: 'mask', geometry: { rle } })
  }

  private clampPt(ed: Editor, p: Vec): Vec {
    const { width, height } = ed.size
    return [clamp(p[0], 0, width), clamp(p[1], 0, height)]
  }

  private show(ed: Editor): void {
    if (this.s.name !== 'painting') return
    ed.setDraft({
      kind: 'stroke',
      points: this.s.points.slice(),
      radius: ed.state.brushSize / 2,
      erase: this.erase,
    })
  }
}

function overlaps(a: { x: number; y: number; width: number; height: number }, b: typeof a): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
}
