/**
 * What every import format hands the writer (see ./index.ts): import units, each an image file with
 * its split and its annotations in the shared region types, plus a report row for each bad part.
 */
import type { ImportFailure } from '../../../src-shared/api/contract'
import type { Size } from '../../../src-shared/domain/geometry'
import {
  clampShape,
  shapeProblem,
  type RegionAttributes,
  type RegionShape,
} from '../../../src-shared/domain/regions'
import type { ImageStatus, Split } from '../../../src-shared/domain/types'

/** A region ready to store: clamped into its image and checked as the editor's saves are. */
export interface UnitRegion {
  className: string
  shape: RegionShape
  crowd: boolean
  /** What the source says of the region beyond shape and class, kept for export (VOC's truncated...). */
  attributes?: RegionAttributes
}

/** One annotation of a unit, read at a given image size: its region, or why it is skipped. */
export type UnitAnnotation = { region: UnitRegion } | { failure: ImportFailure }

/** One image to import, with everything the source says about it. */
export interface ImportUnit {
  /** The image file to read (the first place looked, where there are several). */
  file: string
  /**
   * Reads the image's bytes where the source holds them itself (labelme's embedded `imageData`);
   * `file` then names the file they come from. Omitted: the image is read from `file`.
   */
  read?: () => Promise<Buffer>
  /**
   * Set where `read` gives raw pixels of this size (IDX), row by row, stored as they are; omitted:
   * the bytes are an image file (PNG, JPEG...), decoded to check it and make its thumbnail.
   */
  raw?: { width: number; height: number; channels: 1 | 3 }
  /** Other places the image may be, tried in order when `file` is missing. */
  alternatives: string[]
  /** How report rows about the image name it within `file`, e.g. `image 3 (dog.jpg)`; omitted: the file is the image. */
  element?: string
  /** The split the source gives, or null to have one made. */
  split: Split | null
  /** The class of the whole image (its folder, its IDX label), stored as its tag; omitted: none. */
  className?: string | null
  /** The width and height the source states, checked against the decoded image; null where it states none. */
  declaredSize: Size | null
  /** How many annotations the source gives the image. */
  annotationCount: number
  /**
   * The image's annotations read at this pixel size, one entry each in the source's order. Called with
   * the decoded image's size (and, where the source states another, with that one too).
   */
  annotations(size: Size): UnitAnnotation[]
  /**
   * The status to store where the source says more than its regions do: an empty YOLO label file
   * means someone looked and found no objects (reviewed). Omitted: labeled with regions, else unlabeled.
   */
  status?: ImageStatus
}

export interface FormatScan {
  units: ImportUnit[]
  /** Bad files and bad parts of files found while reading the source. */
  failures: ImportFailure[]
  /** Class names the units use, in the order new classes are to be made. */
  classes: string[]
  /** Files that are not images at all (notes, metadata) met while walking folders: left alone, only counted. */
  ignored?: number
}

export interface ScanOptions {
  /** Where the images are, for formats whose files name them (COCO's `file_name`). */
  images?: string
  /** Class names for IDX labels 0..n-1 (a label without one is named by its number). */
  classNames?: readonly string[]
  /**
   * How the ImageFolder scan reads a folder: `class-folders` as `[split/]class/...`, `files` as plain
   * images, `auto` as class folders where it holds sub-folders and no loose images. Default `auto`.
   */
  layout?: 'auto' | 'files' | 'class-folders'
}

/**
 * Clamps a shape into the image and checks it as the editor's saves do (clampShape, shapeProblem):
 * the shape to store, or why not.
 */
export function checkedShape(shape: RegionShape, size: Size): { shape: RegionShape } | { problem: string } {
  const clamped = clampShape(shape)
  const problem = shapeProblem(clamped, size)
  return problem ? { problem } : { shape: clamped }
}
