/**
 * The registry of import (and export) formats: `recognise(path)` says which format a source is in,
 * and each format's module reads it with `scan()` into import units (see ./types.ts), and writes a
 * project out with `export()` where it has one. The import writer (../import.ts) stores each unit's
 * image and annotations in one transaction.
 *
 * `--format auto` asks them in registry order, each recogniser strict (COCO by its JSON's keys,
 * labelme by its JSON's `shapes` and `imagePath` / `imageData`, VOC by an `<annotation>` root, YOLO by
 * a data.yaml with `names` or label .txt files beside an images/ folder, IDX by its file names), and
 * ImageFolder last, which takes any other folder or image file: class folders, or plain images.
 * Formats with `scanAll` read all their paths at once (IDX pairs images and labels named apart).
 */
import type { ImportFormat } from '../../../src-shared/api/contract'
import type {
  DatasetExportFormat,
  ExportCocoRequest,
  ExportCocoResult,
  ExportDatasetRequest,
  ExportDatasetResult,
} from '../../../src-shared/api/exchange'
import type { DB } from '../../store/open'
import { cocoFormat } from './coco'
import { idxFormat } from './idx'
import { imageFolderFormat } from './imagefolder'
import { labelmeFormat } from './labelme'
import { vocFormat } from './voc'
import { yoloFormat } from './yolo'
import type { OnExportProgress } from './common'
import type { FormatScan, ScanOptions } from './types'

export * from './types'

/** What a format module gives the registry. */
export interface FormatModule<ExportReq = never, ExportRes = never> {
  readonly name: string
  /** Whether a file or folder is in this format: what `--format auto` asks, in registry order. */
  recognise(path: string): Promise<boolean>
  /** Reads a source into import units; bad files and parts become report rows, never exceptions. */
  scan(path: string, opts?: ScanOptions): Promise<FormatScan>
  /** Reads several sources in one scan, where they belong together (IDX images and labels given apart). */
  scanAll?(paths: readonly string[], opts?: ScanOptions): Promise<FormatScan>
  /** Writes the open project (or part of it) in this format, telling `onProgress` how far it is. */
  export?(db: DB, req: ExportReq, onProgress?: OnExportProgress): Promise<ExportRes>
}

type DatasetExport = FormatModule<Omit<ExportDatasetRequest, 'format'>, ExportDatasetResult>

/** In the order `--format auto` asks them. */
export const FORMATS = {
  coco: cocoFormat satisfies FormatModule<ExportCocoRequest, ExportCocoResult>,
  labelme: labelmeFormat satisfies DatasetExport,
  voc: vocFormat satisfies DatasetExport,
  yolo: yoloFormat satisfies DatasetExport,
  idx: idxFormat satisfies FormatModule,
  imagefolder: imageFolderFormat satisfies DatasetExport,
} as const

export type RegistryFormat = keyof typeof FORMATS

export function isRegistryFormat(format: string): format is RegistryFormat {
  return Object.prototype.hasOwnProperty.call(FORMATS, format)
}

/** The registry format a path is in: the first that recognises it (ImageFolder takes any). */
export async function recognise(path: string): Promise<RegistryFormat> {
  for (const name of Object.keys(FORMATS) as RegistryFormat[])
    if (await FORMATS[name].recognise(path)) return name
  return 'imagefolder'
}

/** Scans the paths of one format: all at once where it can (scanAll), else one by one. */
async function scanPaths(
  name: RegistryFormat,
  paths: readonly string[],
  opts: ScanOptions,
): Promise<FormatScan> {
  const m: FormatModule<unknown, unknown> = FORMATS[name]
  if (m.scanAll) return m.scanAll(paths, opts)
  const scans: FormatScan[] = []
  // One at a time: a large annotation file is parsed and let go before the next is read.
  for (const p of paths) scans.push(await m.scan(p, opts))
  return merged(scans)
}

function merged(scans: readonly FormatScan[]): FormatScan {
  return {
    units: scans.flatMap((r) => r.units),
    failures: scans.flatMap((r) => r.failures),
    classes: [...new Set(scans.flatMap((r) => r.classes))],
    ignored: scans.reduce((n, r) => n + (r.ignored ?? 0), 0),
  }
}

/**
 * Reads the paths of an import: each goes to its format's module (the one named, or with `auto` the
 * first that recognises it), and a module's paths are scanned together. Units, report rows and
 * classes come in the order their formats first appear among the paths.
 */
export async function scanSources(
  paths: readonly string[],
  format: ImportFormat,
  opts: Omit<ScanOptions, 'layout'> = {},
): Promise<FormatScan> {
  const byFormat = new Map<RegistryFormat, string[]>()
  for (const p of paths) {
    const name: RegistryFormat =
      format === 'auto'
        ? await recognise(p)
        : format === 'files' || format === 'class-folders'
          ? 'imagefolder'
          : format
    byFormat.set(name, [...(byFormat.get(name) ?? []), p])
  }
  const layout = format === 'files' || format === 'class-folders' ? format : 'auto'
  const scans: FormatScan[] = []
  for (const [name, group] of byFormat) scans.push(await scanPaths(name, group, { ...opts, layout }))
  return merged(scans)
}

export function formatModule<F extends RegistryFormat>(name: F): (typeof FORMATS)[F] {
  return FORMATS[name]
}

/** Writes the project (or one split) in one of `export.dataset`'s formats. */
export function exportDataset(
  db: DB,
  req: ExportDatasetRequest,
  onProgress?: OnExportProgress,
): Promise<ExportDatasetResult> {
  const { format, ...rest } = req
  const writers: Record<
    DatasetExportFormat,
    (
      db: DB,
      r: Omit<ExportDatasetRequest, 'format'>,
      onProgress?: OnExportProgress,
    ) => Promise<ExportDatasetResult>
  > = {
    yolo: FORMATS.yolo.export,
    voc: FORMATS.voc.export,
    labelme: FORMATS.labelme.export,
    imagefolder: FORMATS.imagefolder.export,
  }
  return writers[format](db, rest, onProgress)
}
