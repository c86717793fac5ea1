import { useStore } from 'zustand'
import { useShallow } from 'zustand/react/shallow'
import type { Editor, EditorState } from '../editor/editor'

/** Subscribes a component to a slice of the editor's state; it re-renders only when that slice changes. */
export function useEditor<T>(editor: Editor, select: (s: EditorState) => T): T {
  return useStore(editor.store, select)
}

/** The same, for a slice made of several fields (compared field by field). */
export function useEditorShallow<T extends object>(editor: Editor, select: (s: EditorState) => T): T {
  return useStore(editor.store, useShallow(select))
}
