/**
 * Undo history of patches (diffs), one step per gesture. A gesture opens with begin(): every patch
 * recorded until end() squashes into one step. A patch recorded outside a gesture is a step of its own.
 */
import { invertPatch, isEmptyPatch, squash } from './doc'
import type { Patch } from './types'

export class History {
  private done: Patch[] = []
  private undone: Patch[] = []
  private open: Patch | null = null

  constructor(readonly limit = 1000) {}

  get inGesture(): boolean {
    return this.open !== null
  }
  get canUndo(): boolean {
    return this.done.length > 0
  }
  get canRedo(): boolean {
    return this.undone.length > 0
  }
  /** Steps that can be undone (for tests and the status line). */
  get depth(): number {
    return this.done.length
  }

  /** Marks the start of a gesture. */
  begin(): void {
    this.open ??= { regions: {} }
  }

  record(p: Patch): void {
    if (isEmptyPatch(p)) return
    if (this.open) this.open = squash(this.open, p)
    else this.push(p)
  }

  /** Ends the gesture: what it changed becomes one step (none if it changed nothing in the end). */
  end(): void {
    const p = this.open
    this.open = null
    if (p && !isEmptyPatch(p)) this.push(p)
  }

  /** Drops the open gesture; returns the patch that takes the document back to where it began. */
  abandon(): Patch | null {
    const p = this.open
    this.open = null
    return p && !isEmptyPatch(p) ? invertPatch(p) : null
  }

  /** The patch to apply to undo the last step (null when there is none). */
  undo(): Patch | null {
    const p = this.done.pop()
    if (!p) return null
    this.undone.push(p)
    return invertPatch(p)
  }

  redo(): Patch | null {
    const p = this.undone.pop()
    if (!p) return null
    this.done.push(p)
    return p
  }

  clear(): void {
    this.done = []
    this.undone = []
    this.open = null
  }

  private push(p: Patch): void {
    this.done.push(p)
    if (this.done.length > this.limit) this.done.shift()
    this.undone = []
  }
}
