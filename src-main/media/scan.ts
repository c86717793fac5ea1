import fs from 'node:fs/promises'
import path from 'node:path'
import type { ImportFailure, ImportFormat } from '../../src-shared/api/contract'
import type { Split } from '../../src-shared/domain/types'
import { IMAGE_EXTENSIONS, UNSUPPORTED_IMAGE_EXTENSIONS } from './decode'
import { idxNameParts, isIdxName } from './idx'
import { errnoReason, specialKind } from './read'

export type ScanItem =
  | { kind: 'file'; path: string; split: Split | null; className: string | null }
  | { kind: 'idx'; images: string; labels: string | null; split: Split | null }

export interface ScanResult {
  items: ScanItem[]
  failures: ImportFailure[]
  /** Files that are not images at all (notes, metadata): left alone, only counted. */
  ignored: number
}

const SPLIT_NAMES: Record<string, Split> = {
  train: 'train',
  training: 'train',
  val: 'val',
  valid: 'val',
  validation: 'val',
  dev: 'val',
  test: 'test',
  testing: 'test',
  t10k: 'test',
}

/** The split a folder or IDX prefix names, if any (`train`, `valid`, `t10k` ...). */
export function splitFromName(name: string): Split | null {
  return SPLIT_NAMES[name.toLowerCase()] ?? null
}

interface Found {
  abs: string
  /** Path segments below the import root. */
  rel: string[]
}

/** Walks a folder recursively, following symlinks once each and reporting loops. */
async function walk(root: string, failures: ImportFailure[]): Promise<Found[]> {
  const out: Found[] = []
  const seen = new Set<string>()
  const visit = async (dir: string, rel: string[]): Promise<void> => {
    let real: string
    try {
      real = await fs.realpath(dir)
    } catch (e) {
      failures.push({ path: dir, reason: errnoReason(e) })
      return
    }
    if (seen.has(real)) {
      failures.push({
        path: dir,
        reason: `symlink loop: this folder leads back to ${real}, already being imported`,
      })
      return
    }
    seen.add(real)
    let entries: import('node:fs').Dirent[]
    try {
      entries = await fs.readdir(dir, { withFileTypes: true })
    } catch (e) {
      failures.push({ path: dir, reason: errnoReason(e) })
      return
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const ent of entries) {
      if (ent.name.startsWith('.')) continue
      const abs = path.join(dir, ent.name)
      let target: import('node:fs').Stats | import('node:fs').Dirent = ent
      if (ent.isSymbolicLink()) {
        try {
          target = await fs.stat(abs)
        } catch (e) {
          failures.push({ path: abs, reason: errnoReason(e) })
          continue
        }
      }
      const isDir = target.isDirectory()
      // A FIFO, socket or device (or a link to one) is never read: a read could wait or run for ever.
      const special = isDir ? null : specialKind(target)
      if (special) {
        failures.push({ path: abs, reason: `skipped: ${special}, not a regular file` })
        continue
      }
      if (isDir) await visit(abs, [...rel, ent.name])
      else out.push({ abs, rel: [...rel, ent.name] })
    }
  }
  await visit(root, [])
  return out
}

type Classify = 'image' | 'idx' | 'unsupported' | 'other'

function classify(name: string): Classify {
  if (isIdxName(name)) return 'idx'
  const ext = path.extname(name).toLowerCase()
  if (IMAGE_EXTENSIONS.has(ext)) return 'image'
  if (UNSUPPORTED_IMAGE_EXTENSIONS.has(ext)) return 'unsupported'
  return 'other'
}

/** Pairs `X-images-idx3-ubyte` with `X-labels-idx1-ubyte`; the prefix names the split. */
function pairIdx(files: string[], failures: ImportFailure[]): ScanItem[] {
  const groups = new Map<string, { images?: string; labels?: string }>()
  for (const f of files) {
    const parts = idxNameParts(path.basename(f))
    const key = path.join(path.dirname(f), parts?.prefix ?? path.basename(f))
    const g = groups.get(key) ?? {}
    if (parts?.kind === 'labels') g.labels = f
    else g.images = f
    groups.set(key, g)
  }
  const items: ScanItem[] = []
  for (const [key, g] of groups) {
    if (!g.images) {
      failures.push({ path: g.labels!, reason: 'IDX labels file without a matching images file' })
      continue
    }
    items.push({
      kind: 'idx',
      images: g.images,
      labels: g.labels ?? null,
      split: splitFromName(path.basename(key)),
    })
  }
  return items
}

/**
 * Turns the paths a user gave into import items. `class-folders` reads `root/[split/]class/...`;
 * `auto` picks class-folders for a folder that holds sub-folders and no loose images, IDX for
 * IDX-named files, and plain files otherwise.
 */
export async function scanSources(paths: readonly string[], format: ImportFormat): Promise<ScanResult> {
  const failures: ImportFailure[] = []
  const items: ScanItem[] = []
  let ignored = 0
  // IDX files are paired across every path given, so images and labels may be named separately.
  const idxFiles: string[] = []
  for (const given of paths) {
    const root = path.resolve(given)
    let st: import('node:fs').Stats
    try {
      st = await fs.stat(root)
    } catch (e) {
      failures.push({ path: root, reason: errnoReason(e) })
      continue
    }
    const found: Found[] = st.isDirectory()
      ? await walk(root, failures)
      : [{ abs: root, rel: [path.basename(root)] }]
    let byFolders = format === 'class-folders'
    if (format === 'auto' && st.isDirectory()) {
      const loose = found.some((f) => f.rel.length === 1 && classify(f.abs) === 'image')
      byFolders = !loose && found.some((f) => f.rel.length > 1)
    }
    for (const f of found) {
      const kind = classify(f.abs)
      if (kind === 'idx') {
        idxFiles.push(f.abs)
        continue
      }
      if (format === 'idx') {
        if (!st.isDirectory())
          failures.push({
            path: f.abs,
            reason: 'not an IDX file (expected a name like train-images-idx3-ubyte.gz)',
          })
        else ignored++
        continue
      }
      if (kind === 'unsupported' || (kind === 'other' && !st.isDirectory())) {
        failures.push({ path: f.abs, reason: `unsupported format: ${path.extname(f.abs) || 'no extension'}` })
        continue
      }
      if (kind === 'other') {
        ignored++
        continue
      }
      let split: Split | null = null
      let className: string | null = null
      if (byFolders) {
        const dirs = f.rel.slice(0, -1)
        const s = dirs.length ? splitFromName(dirs[0]!) : null
        if (s) {
          split = s
          className = dirs[1] ?? null
        } else className = dirs[0] ?? null
      }
      items.push({ kind: 'file', path: f.abs, split, className })
    }
  }
  items.push(...pairIdx([...new Set(idxFiles)], failures))
  // train, then val, then test, then unsplit (a stable sort): image ids follow the usual order.
  const rank = (s: Split | null) => (s === null ? 3 : ['train', 'val', 'test'].indexOf(s))
  items.sort((a, b) => rank(a.split) - rank(b.split))
  return { items, failures, ignored }
}
