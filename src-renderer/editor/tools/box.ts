import { boxFromCorners, type Vec } from '../../../src-shared/domain/geometry'
import type { Editor } from '../editor'
import type { Tool, ToolPointer } from './tool'

type State = { name: 'idle' } | { name: 'drawing'; start: Vec }

/** Box: press, drag, release. A box with no width or height is refused, with a notice saying why. */
export class BoxTool implements Tool {
  readonly name = 'box' as const
  private s: State = { name: 'idle' }
  get state() {
    return this.s.name
  }

  down(ed: Editor, e: ToolPointer): void {
    if ((e.opts.button ?? 0) !== 0) return
    this.s = { name: 'drawing', start: ed.clampPx(e.p) }
    this.draw(ed, e.p)
  }

  move(ed: Editor, e: ToolPointer): void {
    if (this.s.name === 'drawing') this.draw(ed, e.p)
  }

  up(ed: Editor, e: ToolPointer): void {
    if (this.s.name !== 'drawing') return
    const box = this.box(ed, e.p)
    this.s = { name: 'idle' }
    ed.setDraft(null)
    ed.addRegion({ kind: 'box', geometry: box })
  }

  key(ed: Editor, key: 'enter' | 'backspace' | 'escape'): boolean {
    if (key !== 'escape' || this.s.name === 'idle') return false
    this.cancel(ed)
    return true
  }

  cancel(ed: Editor): void {
    this.s = { name: 'idle' }
    ed.setDraft(null)
  }

  private box(ed: Editor, p: Vec) {
    const s = this.s as Extract<State, { name: 'drawing' }>
    const [x0, y0] = ed.toNorm(s.start)
    const [x1, y1] = ed.toNorm(ed.clampPx(p))
    return boxFromCorners(x0, y0, x1, y1)
  }

  private draw(ed: Editor, p: Vec): void {
    ed.setDraft({ kind: 'box', box: this.box(ed, p) })
  }
}
