import type { Vec } from '../../../src-shared/domain/geometry'
import type { Editor } from '../editor'
import type { PointerOpts, ToolName } from '../types'

/** A pointer event as a tool sees it: the point in image pixels (not yet clamped to the image). */
export interface ToolPointer {
  p: Vec
  opts: PointerOpts
}

/**
 * A tool is a small state machine (idle → drawing → done). It reads the editor and changes it only
 * through the editor's tool API (commit, addRegion, setDraft, gestures), so it runs headless.
 */
export interface Tool {
  readonly name: ToolName
  /** The current state's name, e.g. 'idle' or 'drawing'. */
  readonly state: string
  down(ed: Editor, e: ToolPointer): void
  move(ed: Editor, e: ToolPointer): void
  up(ed: Editor, e: ToolPointer): void
  /** Enter, Backspace or Escape while this tool is active; true when the tool used the key. */
  key?(ed: Editor, key: 'enter' | 'backspace' | 'escape'): boolean
  /** Ctrl+Z while drawing (e.g. take back the last polygon point); true when handled. */
  undoStep?(ed: Editor): boolean
  /** Drops whatever is under way (switching tools, changing images). */
  cancel(ed: Editor): void
}

/** Handles are this many screen pixels across for the pointer. */
export const HANDLE_PX = 7
/** Outlines catch the pointer within this many screen pixels. */
export const OUTLINE_PX = 4
/** A polygon closes when its first point is clicked within this many screen pixels. */
export const CLOSE_PX = 8
