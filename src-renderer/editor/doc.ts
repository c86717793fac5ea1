/**
 * Pure functions over the document and its patches: apply, invert, squash. The undo history and the
 * autosave queue are both built on these.
 */
import type { ImageStatus } from '../../src-shared/domain/types'
import type { Doc, Patch, Region } from './types'

export const emptyPatch = (): Patch => ({ regions: {} })

export function isEmptyPatch(p: Patch): boolean {
  return !Object.keys(p.regions).length && !p.tag && !p.status
}

/** Regions are equal when they are the same object, or hold the same values. */
export function sameRegion(a: Region | null, b: Region | null): boolean {
  if (a === b) return true
  if (!a || !b) return false
  return JSON.stringify(a) === JSON.stringify(b)
}

const byZ = (a: Region, b: Region) => a.z - b.z || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)

/** The document with a patch applied (forwards, or backwards to undo it). */
export function applyPatch(doc: Doc, p: Patch, backwards = false): Doc {
  const keys = Object.keys(p.regions)
  let regions = doc.regions
  if (keys.length) {
    const byKey = new Map(doc.regions.map((r) => [r.key, r]))
    for (const k of keys) {
      const e = p.regions[k]!
      const v = backwards ? e.before : e.after
      if (v) byKey.set(k, v)
      else byKey.delete(k)
    }
    regions = [...byKey.values()].sort(byZ)
  }
  return {
    regions,
    tag: p.tag ? (backwards ? p.tag.before : p.tag.after) : doc.tag,
    status: p.status ? (backwards ? p.status.before : p.status.after) : doc.status,
  }
}

export function invertPatch(p: Patch): Patch {
  const out: Patch = { regions: {} }
  for (const [k, e] of Object.entries(p.regions)) out.regions[k] = { before: e.after, after: e.before }
  if (p.tag) out.tag = { before: p.tag.after, after: p.tag.before }
  if (p.status) out.status = { before: p.status.after, after: p.status.before }
  return out
}

/**
 * Squashes `next` onto `first`: one patch with the first's befores and the next's afters. Entries
 * that end where they started drop out, so a drag that comes back to its start leaves no step.
 */
export function squash(first: Patch, next: Patch): Patch {
  const out: Patch = { regions: { ...first.regions } }
  for (const [k, e] of Object.entries(next.regions)) {
    const before = first.regions[k] ? first.regions[k]!.before : e.before
    if (sameRegion(before, e.after)) delete out.regions[k]
    else out.regions[k] = { before, after: e.after }
  }
  const tagBefore = first.tag ? first.tag.before : next.tag?.before
  const tagAfter = next.tag ? next.tag.after : first.tag?.after
  if (tagBefore !== undefined && tagAfter !== undefined && tagBefore !== tagAfter)
    out.tag = { before: tagBefore, after: tagAfter }
  const stBefore = first.status ? first.status.before : next.status?.before
  const stAfter = next.status ? next.status.after : first.status?.after
  if (stBefore && stAfter && stBefore !== stAfter) out.status = { before: stBefore, after: stAfter }
  return out
}

/** A patch that puts these regions (new or changed) and removes those keys. */
export function regionsPatch(doc: Doc, put: readonly Region[], remove: readonly string[] = []): Patch {
  const byKey = new Map(doc.regions.map((r) => [r.key, r]))
  const p: Patch = { regions: {} }
  for (const r of put) {
    const before = byKey.get(r.key) ?? null
    if (!sameRegion(before, r)) p.regions[r.key] = { before, after: r }
  }
  for (const k of remove) {
    const before = byKey.get(k)
    if (before) p.regions[k] = { before, after: null }
  }
  return p
}

export function hasContent(doc: Doc): boolean {
  return doc.tag !== null || doc.regions.length > 0
}

/**
 * The status an edit implies: an unlabeled image that gets a label becomes labeled, a labeled one
 * that loses its last becomes unlabeled. Reviewed stays reviewed.
 */
export function impliedStatus(doc: Doc): ImageStatus {
  if (doc.status === 'unlabeled' && hasContent(doc)) return 'labeled'
  if (doc.status === 'labeled' && !hasContent(doc)) return 'unlabeled'
  return doc.status
}

export function nextZ(doc: Doc): number {
  return doc.regions.length ? doc.regions[doc.regions.length - 1]!.z + 1 : 0
}
