/**
 * ImageFolder, in and out (classification): the class-per-folder layout `[split/]class/image`, the
 * one torchvision's `ImageFolder` and Ultralytics' classify task read.
 *
 * In: any folder or image file given. A folder that holds sub-folders and no loose images is read as
 * class folders, `root/[split/]class/...`: split folders (`train`, `valid`, `test`...) keep their
 * split, and each image's folder is its class. Otherwise its images are plain, without class or
 * split. Files of other kinds are counted as ignored; an image format that is not supported, a FIFO
 * or device, a symlink loop and an unreadable folder are reported. IDX files met in a folder are paired
 * and read by ./idx.ts. `--format auto` asks this module last: it takes whatever the others did not.
 *
 * Out: `<out>/<split>/<class>/<image>`: split folders `train/`, `val/`, `test/`, and each image under
 * the folder of its class tag. Images are the stored bytes (raw IDX pixels as PNG).
 *
 * What the layout cannot hold is left out and counted in the result's notes: images without a class
 * tag, and the regions (boxes, polygons, masks) of any image. A class name that is not a safe folder
 * name (a path separator, a character Windows refuses, a leading dot, which the importer skips as
 * hidden, a reserved device name, or one that differs from another only in case) is written under a
 * safe name, and the note says which; such a class reads back under that folder name.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { ApiError, type ImportFailure } from '../../../src-shared/api/contract'
import type { ExportDatasetRequest, ExportDatasetResult } from '../../../src-shared/api/exchange'
import type { Split } from '../../../src-shared/domain/types'
import type { DB } from '../../store/open'
import { regionsForExport, tagsForExport } from '../../store/repos/annotations'
import { listClasses } from '../../store/repos/classes'
import { imagesForExport } from '../../store/repos/images'
import { exportFileName } from './coco'
import { IMAGE_EXTENSIONS, UNSUPPORTED_IMAGE_EXTENSIONS } from '../decode'
import { errnoReason } from '../read'
import { isIdxName, scanIdxFiles } from './idx'
import type { FormatScan, ImportUnit, ScanOptions } from './types'
import {
  bySplitOrder,
  splitFromName,
  walk,
  type Found,
  ExportNotes,
  exportProgress,
  imageFileBytes,
  prepareExportDir,
  shellWord,
  writeOut,
  type OnExportProgress,
} from './common'

/** Split folders, in the order written; each reads back as its split (splitFromName). */
const SPLITS: readonly Split[] = ['train', 'val', 'test']

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i

/** A class name as a folder name every file system takes and the importer reads back unchanged. */
export function safeFolderName(name: string): string {
  let s = name
    // eslint-disable-next-line no-control-regex
    .replace(/[/\\:*?"<>|\u0000-\u001f]/g, '_')
    .replace(/^[.\s]+/, (m) => '_'.repeat(m.length))
    .replace(/[.\s]+$/, (m) => '_'.repeat(m.length))
  if (!s) s = '_'
  if (WINDOWS_RESERVED.test(s)) s = `${s}_`
  return s
}

/** Class id → folder name, unique even on case-insensitive file systems; renames go to `notes`. */
function classFolders(
  classes: readonly { id: number; name: string }[],
  notes: ExportNotes,
): Map<number, string> {
  const taken = new Set<string>()
  const out = new Map<number, string>()
  // Safe names first, so a renamed class never takes the name of one that needed no change.
  const ordered = [
    ...classes.filter((c) => safeFolderName(c.name) === c.name),
    ...classes.filter((c) => safeFolderName(c.name) !== c.name),
  ]
  for (const c of ordered) {
    const safe = safeFolderName(c.name)
    let folder = safe
    for (let k = 2; taken.has(folder.toLowerCase()); k++) folder = `${safe}_${k}`
    taken.add(folder.toLowerCase())
    out.set(c.id, folder)
    if (folder !== c.name)
      notes.add(
        `class "${c.name}" was written as the folder "${folder}" (${
          safe === c.name ? 'another class has that name but for case' : 'not a safe folder name'
        }): it reads back as a class of that name`,
      )
  }
  return out
}

/**
 * Writes the project (or one split) as an ImageFolder tree into `dir`; see the header. Refused when
 * no image (of the split) has a class tag: the layout holds one class per image, nothing else.
 */
export async function exportImageFolder(
  db: DB,
  req: Omit<ExportDatasetRequest, 'format'>,
  onProgress?: OnExportProgress,
): Promise<ExportDatasetResult> {
  const dir = path.resolve(req.dir)
  const tags = tagsForExport(db, req.split)
  if (!tags.length)
    throw new ApiError(
      'bad_input',
      `This project${req.split ? `'s ${req.split} split` : ''} has no image tags: ImageFolder holds one class per image, ` +
        'and nothing would be written. Export boxes, polygons and masks with --format coco, yolo, voc or labelme instead.',
    )
  await prepareExportDir(dir)
  const notes = new ExportNotes()
  const tagOf = new Map<number, number>()
  for (const t of tags) if (!tagOf.has(t.imageId)) tagOf.set(t.imageId, t.classId)
  const classes = listClasses(db)
  const folders = classFolders(
    classes.filter((c) => [...tagOf.values()].includes(c.id)),
    notes,
  )
  const withRegions = new Set(regionsForExport(db, req.split).map((r) => r.imageId))

  const files: string[] = []
  const present = new Map<Split, Set<number>>()
  let images = 0
  const rows = imagesForExport(db, req.split)
  const tick = exportProgress(rows.length, onProgress)
  for (const split of SPLITS)
    for (const im of rows) {
      if (im.split !== split) continue
      tick()
      const cls = tagOf.get(im.id)
      if (cls === undefined) {
        notes.add('{n} images without a class tag were left out: ImageFolder holds one class per image')
        continue
      }
      const bytes = await imageFileBytes(db, im)
      if (!bytes) continue
      if (withRegions.has(im.id))
        notes.add('{n} images also have regions, which were left out: ImageFolder holds the image class only')
      const file = `${split}/${folders.get(cls)!}/${exportFileName(im)}`
      await writeOut(path.join(dir, file), bytes)
      files.push(file)
      images++
      present.set(split, (present.get(split) ?? new Set()).add(cls))
    }

  // torchvision's ImageFolder numbers the classes of each split folder by themselves: a class missing
  // from one split shifts the numbers of the classes after it.
  const used = new Set([...present.values()].flatMap((s) => [...s]))
  for (const [split, have] of present) {
    const missing = classes.filter((c) => used.has(c.id) && !have.has(c.id)).map((c) => c.name)
    if (missing.length)
      notes.add(
        `the ${split} split has no images of ${missing.map((m) => `"${m}"`).join(', ')}: ` +
          "tools that number the classes of each split folder on their own (torchvision's ImageFolder) will number that split's classes differently",
      )
  }
  const val = present.has('val') ? 'val' : present.has('test') ? 'test' : null
  const trainCommand =
    present.has('train') && val ? `yolo classify train data=${shellWord(dir)} model=yolo11n-cls.pt` : null
  if (!trainCommand)
    notes.add(
      present.has('train')
        ? 'there are no val or test images, so there is no training command (Ultralytics classify needs one)'
        : 'there are no train images, so there is no training command',
    )
  return { format: 'imagefolder', dir, files, images, annotations: images, notes: notes.list(), trainCommand }
}

// ================================================================ reading

type Kind = 'image' | 'idx' | 'unsupported' | 'other'

function kindOf(name: string): Kind {
  if (isIdxName(name)) return 'idx'
  const ext = path.extname(name).toLowerCase()
  if (IMAGE_EXTENSIONS.has(ext)) return 'image'
  if (UNSUPPORTED_IMAGE_EXTENSIONS.has(ext)) return 'unsupported'
  return 'other'
}

function imageUnit(file: string, split: Split | null, className: string | null): ImportUnit {
  return {
    file,
    alternatives: [],
    split,
    className,
    declaredSize: null,
    annotationCount: 0,
    annotations: () => [],
  }
}

/** Reads the folders and image files given; see the header. */
async function scanImageFolders(paths: readonly string[], opts: ScanOptions = {}): Promise<FormatScan> {
  const layout = opts.layout ?? 'auto'
  const failures: ImportFailure[] = []
  const units: ImportUnit[] = []
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
    let byFolders = layout === 'class-folders'
    if (layout === 'auto' && st.isDirectory()) {
      const loose = found.some((f) => f.rel.length === 1 && kindOf(f.abs) === 'image')
      byFolders = !loose && found.some((f) => f.rel.length > 1)
    }
    for (const f of found) {
      const kind = kindOf(f.abs)
      if (kind === 'idx') {
        idxFiles.push(f.abs)
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
      units.push(imageUnit(f.abs, split, className))
    }
  }
  const idx = idxFiles.length ? await scanIdxFiles(idxFiles, opts) : null
  // Class order: IDX labels in label order, then folder classes in name order.
  const folderClasses = [...new Set(units.flatMap((u) => (u.className ? [u.className] : [])))].sort()
  return {
    units: bySplitOrder([...units, ...(idx?.units ?? [])]),
    failures: [...failures, ...(idx?.failures ?? [])],
    classes: [...new Set([...(idx?.classes ?? []), ...folderClasses])],
    ignored,
  }
}

export const imageFolderFormat = {
  name: 'imagefolder',
  /** Any path: asked last, this module takes what no other format recognised (a missing path is reported by its scan). */
  recognise: () => Promise.resolve(true),
  scan: (p: string, opts?: ScanOptions) => scanImageFolders([p], opts),
  scanAll: scanImageFolders,
  export: exportImageFolder,
} as const
