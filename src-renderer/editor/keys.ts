/**
 * The editor's keyboard map: a key press → a command, or null when the editor has no use for it (so
 * the browser keeps it). Pure, so it is tested without a DOM. The annotate screen shows this list.
 */
import type { ToolName } from './types'

export type Command =
  | { type: 'undo' }
  | { type: 'redo' }
  | { type: 'tool'; tool: ToolName }
  | { type: 'class'; n: number }
  | { type: 'delete' }
  | { type: 'enter' }
  | { type: 'backspace' }
  | { type: 'escape' }
  | { type: 'brush'; dir: 1 | -1 }
  | { type: 'fit' }
  | { type: 'oneToOne' }
  | { type: 'zoom'; dir: 1 | -1 }
  | { type: 'next' }
  | { type: 'prev' }
  | { type: 'nextUnlabeled' }
  | { type: 'toggleReviewed' }
  | { type: 'toggleHidden' }
  | { type: 'toggleLocked' }
  | { type: 'overlay' }
  | { type: 'accept' }
  | { type: 'acceptAll' }
  | { type: 'reject' }
  | { type: 'nextPrediction' }
  | { type: 'nextUnreviewed' }

export interface KeyInput {
  key: string
  ctrl?: boolean
  meta?: boolean
  shift?: boolean
  alt?: boolean
}

const TOOL_KEYS: Record<string, ToolName> = {
  v: 'select',
  t: 'tag',
  b: 'box',
  p: 'polygon',
  m: 'brush',
  e: 'eraser',
}

const PLAIN: Record<string, Command> = {
  Delete: { type: 'delete' },
  Backspace: { type: 'backspace' },
  Enter: { type: 'enter' },
  Escape: { type: 'escape' },
  '[': { type: 'brush', dir: -1 },
  ']': { type: 'brush', dir: 1 },
  f: { type: 'fit' },
  '0': { type: 'oneToOne' },
  '+': { type: 'zoom', dir: 1 },
  '=': { type: 'zoom', dir: 1 },
  '-': { type: 'zoom', dir: -1 },
  ArrowRight: { type: 'next' },
  d: { type: 'next' },
  ArrowLeft: { type: 'prev' },
  a: { type: 'prev' },
  n: { type: 'nextUnlabeled' },
  r: { type: 'toggleReviewed' },
  h: { type: 'toggleHidden' },
  l: { type: 'toggleLocked' },
  o: { type: 'overlay' },
  k: { type: 'accept' },
  x: { type: 'reject' },
  j: { type: 'nextPrediction' },
  u: { type: 'nextUnreviewed' },
}

export function commandForKey(k: KeyInput): Command | null {
  const key = k.key.length === 1 ? k.key.toLowerCase() : k.key
  if (k.ctrl || k.meta) {
    if (k.alt) return null
    if (key === 'z') return k.shift ? { type: 'redo' } : { type: 'undo' }
    if (key === 'y' && !k.shift) return { type: 'redo' }
    return null
  }
  if (k.alt) return null
  if (/^[1-9]$/.test(key) && !k.shift) return { type: 'class', n: Number(key) }
  if (TOOL_KEYS[key] && !k.shift) return { type: 'tool', tool: TOOL_KEYS[key] }
  if (k.shift && key === 'k') return { type: 'acceptAll' }
  if (k.shift && key !== '+') return null
  return PLAIN[key] ?? null
}

/** The shortcuts, as the help panel lists them. */
export const SHORTCUTS: [string, string][] = [
  ['V T B P M E', 'select, tag, box, polygon, brush, eraser'],
  ['1–9', 'pick a class (and give it to the selected region)'],
  ['Ctrl+Z / Ctrl+Shift+Z', 'undo / redo'],
  ['Delete', 'delete the selected region'],
  ['Enter / Backspace', 'close the polygon / remove its last point'],
  ['Escape', 'cancel the drawing, or deselect'],
  ['[ ]', 'brush smaller / bigger'],
  ['Wheel, + −', 'zoom'],
  ['Space+drag, middle drag', 'pan'],
  ['F / 0', 'fit / 1:1'],
  ['→ D / ← A', 'next / previous image'],
  ['N', 'next unlabeled image'],
  ['R', 'mark reviewed (or not)'],
  ['H / L', 'hide / lock the selected region'],
  ['O', "show or hide a run's predictions"],
  ['J', 'highlight the next prediction'],
  ['K / Shift+K', 'accept the highlighted prediction / all above the threshold'],
  ['X', 'reject the highlighted prediction'],
  ['U', 'next unreviewed image (after pre-labelling)'],
]
