/**
 * The registry of import (and export) formats: `recognise(path)` says which format a source is in,
 * and each format's module reads it with `scan()` into import units (see ./types.ts), and writes a
 * project out with `export()` where it has one. The import writer (../import.ts) stores each unit's
 * image and annotations in one transaction.
 *
 * COCO, labelme, Pascal VOC and YOLO live here; `--format auto` asks them in that order, each
 * recogniser strict (COCO by its JSON's keys, labelme by its JSON's `shapes` and `imagePath` /
 * `imageData`, VOC by an `<annotation>` root, YOLO by a data.yaml with `names` or label .txt files
 * beside an images/ folder). ImageFolder (./imagefolder.ts) is export only: the class-folder import
 * reads it back. Plain files, class folders and IDX are still read by
 * ../scan.ts and ../idx.ts; `recognise` answers null for them, and runImport hands them to scanSources.
 */
import type {
  DatasetExportFormat,
  ExportCocoRequest,
  ExportCocoResult,
  ExportDatasetRequest,
  ExportDatasetResult,
} from '../../../src-shared/api/exchange'
import type { DB } from '../../store/open'
import { cocoFormat } from './coco'
import { exportImageFolder } from './imagefolder'
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
} as const

export type RegistryFormat = keyof typeof FORMATS

export function isRegistryFormat(format: string): format is RegistryFormat {
  return Object.prototype.hasOwnProperty.call(FORMATS, format)
}

/** The registry format a path is in, or null for the sources ../scan.ts reads (files, class folders, IDX). */
export async function recognise(path: string): Promise<RegistryFormat | null> {
  for (const name of Object.keys(FORMATS) as RegistryFormat[])
    if (await FORMATS[name].recognise(path)) return name
  return null
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
    imagefolder: exportImageFolder,
  }
  return writers[format](db, rest, onProgress)
}
