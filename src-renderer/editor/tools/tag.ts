import type { Editor } from '../editor'
import type { Tool, ToolPointer } from './tool'

/** Class tag: a click anywhere gives the whole image the active class (number keys do too). */
export class TagTool implements Tool {
  readonly name = 'tag' as const
  readonly state = 'idle'

  down(ed: Editor, e: ToolPointer): void {
    if ((e.opts.button ?? 0) !== 0) return
    const c = ed.state.activeClassId
    if (c === null) return ed.notify('Add a class first: the image is tagged with the active class.', 'warn')
    ed.setTag(c)
  }
  move(): void {}
  up(): void {}
  cancel(): void {}
}
