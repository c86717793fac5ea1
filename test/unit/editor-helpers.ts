import { expect } from 'vitest'
import type { ClassLabel } from '../../src-shared/domain/types'
import { Editor } from '../../src-renderer/editor/editor'
import type { Doc } from '../../src-renderer/editor/types'

export const CLASSES: ClassLabel[] = [
  { id: 11, name: 'cat', color: '#4e79a7', position: 0 },
  { id: 12, name: 'dog', color: '#f28e2b', position: 1 },
  { id: 13, name: 'bird', color: '#e15759', position: 2 },
]

/**
 * A headless editor on a 100 × 80 image with one screen pixel per image pixel, so pointer positions
 * read as image pixels.
 */
export function makeEditor(doc?: Doc, size = { width: 100, height: 80 }): Editor {
  return new Editor({ image: { id: 1, ...size }, classes: CLASSES, doc })
}

/** Press, move through the points, release. */
export function drag(ed: Editor, ...pts: [number, number][]): void {
  const [first, ...rest] = pts
  ed.pointerDown(first![0], first![1])
  for (const p of rest) ed.pointerMove(p[0], p[1])
  const last = pts[pts.length - 1]!
  ed.pointerUp(last[0], last[1])
}

export function click(ed: Editor, x: number, y: number): void {
  ed.pointerDown(x, y)
  ed.pointerUp(x, y)
}

/** Doc regions without their random keys, for comparisons. */
export function shapes(ed: Editor) {
  return ed.doc.regions.map(({ key: _key, ...r }) => r)
}

/** The same shape of values, with every number matched to 12 decimal places. */
export function near<T>(v: T): T {
  if (typeof v === 'number') return expect.closeTo(v, 12) as T
  if (Array.isArray(v)) return v.map(near) as T
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, near(x)])) as T
  return v
}
