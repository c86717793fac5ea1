/**
 * The editor's model: the document (an image's regions, tag and status), the patches that change it,
 * and what tools draw while a gesture is under way. Plain data: no React, no Konva, no API calls.
 */
import type { BoxGeom, Vec } from '../../src-shared/domain/geometry'
import type { ModelSource, Origin, RegionShape } from '../../src-shared/domain/regions'
import type { ImageStatus } from '../../src-shared/domain/types'

/** A region as the editor holds it: its shape (normalised), and `key`, the editor's own stable name for it. */
export type Region = RegionShape & {
  key: string
  classId: number | null
  /** Drawing order: higher is on top. The document keeps regions sorted by it. */
  z: number
  hidden: boolean
  locked: boolean
  origin: Origin
  /** For a label accepted from a model's predictions: which run, and its score then. */
  source?: ModelSource
}

/** What one image holds. Immutable: every change makes a new Doc. */
export interface Doc {
  /** Sorted by z, lowest first. */
  regions: Region[]
  /** The class of the whole image. */
  tag: number | null
  status: ImageStatus
}

/** One change to a Doc, as before/after values, so it can be undone, redone and squashed. */
export interface Patch {
  regions: Record<string, { before: Region | null; after: Region | null }>
  tag?: { before: number | null; after: number | null }
  status?: { before: ImageStatus; after: ImageStatus }
}

export const TOOLS = ['select', 'tag', 'box', 'polygon', 'brush', 'eraser'] as const
export type ToolName = (typeof TOOLS)[number]

/** What a tool shows while a gesture is under way; not part of the document until committed. */
export type Draft =
  /** A box being dragged out (normalised). */
  | { kind: 'box'; box: BoxGeom }
  /** A polygon being clicked out (normalised), with the rubber band to the pointer. */
  | { kind: 'polygon'; points: Vec[]; cursor: Vec | null; closable: boolean }
  /** A brush or eraser stroke (image pixels). */
  | { kind: 'stroke'; points: Vec[]; radius: number; erase: boolean }
  /** A mask being dragged: drawn shifted by whole pixels until the drag ends. */
  | { kind: 'offset'; key: string; dx: number; dy: number }

export interface Notice {
  text: string
  level: 'info' | 'warn' | 'error'
  /** Increases with each notice, so the same text twice still shows. */
  seq: number
}

/** Pointer input in screen pixels, relative to the canvas's top-left corner. */
export interface PointerOpts {
  /** 0 main, 1 middle, 2 secondary. */
  button?: number
  shift?: boolean
  alt?: boolean
  ctrl?: boolean
}
