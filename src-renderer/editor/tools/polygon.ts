import { dist, type Vec } from '../../../src-shared/domain/geometry'
import type { Editor } from '../editor'
import { CLOSE_PX, type Tool, type ToolPointer } from './tool'

type State = { name: 'idle' } | { name: 'drawing'; points: Vec[]; cursor: Vec | null }

/**
 * Polygon: click points; click the first point again (or press Enter) to close; Backspace or Ctrl+Z
 * takes back the last point; Escape drops the polygon. Fewer than 3 points, or no area, is refused.
 */
export class PolygonTool implements Tool {
  readonly name = 'polygon' as const
  private s: State = { name: 'idle' }
  get state() {
    return this.s.name
  }
  /** Points placed so far (image pixels). */
  get points(): readonly Vec[] {
    return this.s.name === 'drawing' ? this.s.points : []
  }

  down(ed: Editor, e: ToolPointer): void {
    if ((e.opts.button ?? 0) !== 0) return
    const p = ed.clampPx(e.p)
    if (this.s.name === 'idle') {
      this.s = { name: 'drawing', points: [p], cursor: p }
      return this.show(ed)
    }
    const pts = this.s.points
    if (pts.length >= 3 && dist(p, pts[0]!) <= ed.tolerance(CLOSE_PX)) return this.close(ed)
    // A second click on the last point (a double click) adds nothing.
    if (dist(p, pts[pts.length - 1]!) <= ed.tolerance(2)) return
    pts.push(p)
    this.show(ed)
  }

  move(ed: Editor, e: ToolPointer): void {
    if (this.s.name !== 'drawing') return
    this.s.cursor = ed.clampPx(e.p)
    this.show(ed)
  }

  up(): void {}

  key(ed: Editor, key: 'enter' | 'backspace' | 'escape'): boolean {
    if (this.s.name === 'idle') return false
    if (key === 'enter') this.close(ed)
    else if (key === 'backspace') this.undoStep(ed)
    else this.cancel(ed)
    return true
  }

  undoStep(ed: Editor): boolean {
    if (this.s.name !== 'drawing') return false
    this.s.points.pop()
    if (!this.s.points.length) this.cancel(ed)
    else this.show(ed)
    return true
  }

  cancel(ed: Editor): void {
    this.s = { name: 'idle' }
    ed.setDraft(null)
  }

  private close(ed: Editor): void {
    if (this.s.name !== 'drawing') return
    const pts = this.s.points
    if (pts.length < 3) {
      ed.notify(
        `A polygon needs at least 3 points (this one has ${pts.length}). Add more, or Escape to drop it.`,
        'warn',
      )
      return
    }
    this.s = { name: 'idle' }
    ed.setDraft(null)
    ed.addRegion({ kind: 'polygon', geometry: { points: pts.map((p) => ed.toNorm(p)) } })
  }

  private show(ed: Editor): void {
    if (this.s.name !== 'drawing') return
    const { points, cursor } = this.s
    const closable = points.length >= 3 && !!cursor && dist(cursor, points[0]!) <= ed.tolerance(CLOSE_PX)
    ed.setDraft({
      kind: 'polygon',
      points: points.map((p) => ed.toNorm(p)),
      cursor: cursor ? ed.toNorm(cursor) : null,
      closable,
    })
  }
}
