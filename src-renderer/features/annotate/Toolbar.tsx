import type { ImageStatus } from '../../../src-shared/domain/types'
import { useEditor, useEditorShallow } from '../../canvas/useEditor'
import type { SaveState } from '../../editor/autosave'
import type { Editor } from '../../editor/editor'
import type { ToolName } from '../../editor/types'

const TOOL_BUTTONS: { tool: ToolName; label: string; key: string; hint: string }[] = [
  { tool: 'select', label: 'Select', key: 'V', hint: 'select, move, resize' },
  { tool: 'tag', label: 'Tag', key: 'T', hint: 'give the whole image the active class' },
  { tool: 'box', label: 'Box', key: 'B', hint: 'drag to draw' },
  { tool: 'polygon', label: 'Polygon', key: 'P', hint: 'click points; click the first or Enter to close' },
  { tool: 'brush', label: 'Brush', key: 'M', hint: 'paint a mask' },
  { tool: 'eraser', label: 'Eraser', key: 'E', hint: 'erase from masks' },
]

export function saveLabel(s: SaveState): string {
  switch (s.kind) {
    case 'saved':
      return 'All changes saved'
    case 'pending':
      return 'Unsaved changes…'
    case 'saving':
      return 'Saving…'
    case 'error':
      return `Not saved: ${s.message}`
  }
}

/** Tools, brush size, undo/redo, zoom, and the autosave state. */
export function Toolbar({
  editor,
  saveState,
  onHelp,
}: {
  editor: Editor
  saveState: SaveState
  onHelp: () => void
}) {
  const { tool, brushSize, canUndo, canRedo } = useEditorShallow(editor, (s) => ({
    tool: s.tool,
    brushSize: s.brushSize,
    canUndo: s.canUndo,
    canRedo: s.canRedo,
  }))
  const scale = useEditor(editor, (s) => s.view.scale)
  const maxBrush = useEditor(editor, (s) =>
    Math.max(8, Math.round(Math.min(s.image.width, s.image.height) / 4)),
  )
  return (
    <div className="annotate-toolbar" role="toolbar" aria-label="Editor tools">
      <div className="group tools">
        {TOOL_BUTTONS.map((t) => (
          <button
            key={t.tool}
            className={tool === t.tool ? 'on' : ''}
            aria-pressed={tool === t.tool}
            title={`${t.label} (${t.key}): ${t.hint}`}
            onClick={() => editor.setTool(t.tool)}
          >
            {t.label} <kbd>{t.key}</kbd>
          </button>
        ))}
      </div>
      {/* Always there (hidden for other tools), so the canvas below never moves when tools change. */}
      <label
        className="group brush"
        title="Brush size in image pixels ([ and ])"
        style={{ visibility: tool === 'brush' || tool === 'eraser' ? 'visible' : 'hidden' }}
      >
        Size
        <input
          type="range"
          min={1}
          max={Math.max(maxBrush, brushSize)}
          value={brushSize}
          aria-label="Brush size"
          onChange={(e) => editor.setBrushSize(Number(e.target.value))}
        />
        <span className="n">{brushSize} px</span>
      </label>
      <div className="group">
        <button title="Undo (Ctrl+Z)" disabled={!canUndo} onClick={() => editor.undo()}>
          Undo
        </button>
        <button title="Redo (Ctrl+Shift+Z)" disabled={!canRedo} onClick={() => editor.redo()}>
          Redo
        </button>
      </div>
      <div className="group">
        <button title="Fit the image to the view (F)" onClick={() => editor.fit()}>
          Fit
        </button>
        <button title="One image pixel per screen pixel (0)" onClick={() => editor.oneToOne()}>
          1:1
        </button>
        <span className="n zoom" data-testid="zoom">
          {Math.round(scale * 100)}%
        </span>
      </div>
      <span
        className={`save-status ${saveState.kind}`}
        data-testid="save-status"
        data-state={saveState.kind}
        role="status"
      >
        {saveLabel(saveState)}
      </span>
      <button className="help" title="Keyboard shortcuts" onClick={onHelp}>
        ?
      </button>
    </div>
  )
}

/** Where we are among the images, moving on, and the image's status. */
export function NavBar({
  editor,
  position,
  onPrev,
  onNext,
  onNextUnlabeled,
}: {
  editor: Editor
  position: { index: number; total: number } | null
  onPrev: () => void
  onNext: () => void
  onNextUnlabeled: () => void
}) {
  const status = useEditor(editor, (s) => s.doc.status)
  return (
    <div className="nav-bar">
      <button title="Previous image (← or A)" onClick={onPrev}>
        ‹ Prev
      </button>
      <span className="n" data-testid="image-position">
        {position
          ? `${(position.index + 1).toLocaleString('en')} / ${position.total.toLocaleString('en')}`
          : '–'}
      </span>
      <button title="Next image (→ or D)" onClick={onNext}>
        Next ›
      </button>
      <button title="Next unlabeled image (N)" onClick={onNextUnlabeled}>
        Next unlabeled
      </button>
      <select
        aria-label="Image status"
        data-testid="image-status"
        className={`status-${status}`}
        value={status}
        title="Status (R toggles reviewed)"
        onChange={(e) => {
          editor.setStatus(e.target.value as ImageStatus)
          e.currentTarget.blur()
        }}
      >
        <option value="unlabeled">unlabeled</option>
        <option value="labeled">labeled</option>
        <option value="reviewed">reviewed</option>
      </select>
    </div>
  )
}
