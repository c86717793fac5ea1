import { z } from 'zod'
import { ClassLabel, Counts, ImageMeta, Split } from '../domain/types'
import { annotateCalls, annotateEvents } from './annotate'
import { exchangeCalls } from './exchange'
import { trainCalls, trainEvents } from './train'

/**
 * The one API contract. Every call is `domain.verb` with a request and a response schema; every
 * event the backend pushes has a payload schema. The Electron preload, the web host, the CLI and
 * the renderer's client are all typed against these maps, and validate with them at the boundary.
 */

export const ProjectSummary = z.object({
  dir: z.string(),
  name: z.string(),
  schemaVersion: z.number().int(),
  counts: Counts,
  /** Why the project can only be read (a read-only disk...); null where it can be edited. */
  readOnly: z.string().nullable(),
})
export type ProjectSummary = z.infer<typeof ProjectSummary>

export const IMPORT_FORMATS = [
  'auto',
  'files',
  'class-folders',
  'idx',
  'coco',
  'yolo',
  'voc',
  'labelme',
] as const
export const ImportFormat = z.enum(IMPORT_FORMATS)
export type ImportFormat = z.infer<typeof ImportFormat>

/** The demo projects: a classification set and a detection / instance segmentation set. */
export const DEMO_KINDS = ['classification', 'detection'] as const
export const DemoKind = z.enum(DEMO_KINDS)
export type DemoKind = z.infer<typeof DemoKind>

export const CLASS_PRESETS = ['fashion-mnist', 'mnist'] as const
export const ClassPreset = z.enum(CLASS_PRESETS)
export type ClassPreset = z.infer<typeof ClassPreset>

export const SplitRatios = z
  .object({ train: z.number().min(0), val: z.number().min(0), test: z.number().min(0) })
  .refine((r) => r.train + r.val + r.test > 0, { message: 'split ratios must not all be zero' })
export type SplitRatios = z.infer<typeof SplitRatios>

/** The largest image file an import reads, in MB, unless the user raises it (ImportRequest.maxFileMb). */
export const DEFAULT_MAX_FILE_MB = 256

export const ImportRequest = z.object({
  paths: z.array(z.string().min(1)).min(1, 'give at least one file or folder to import'),
  format: ImportFormat.default('auto'),
  /** Class names for IDX labels 0..n-1; wins over the preset. */
  classNames: z.array(z.string().min(1)).optional(),
  preset: ClassPreset.optional(),
  /** Used where the source has no split of its own. */
  splitRatios: SplitRatios.optional(),
  seed: z.number().int().optional(),
  /** The largest image file read, in MB (default 256); larger files are reported and skipped unread. */
  maxFileMb: z.number().positive().max(65_536).optional(),
  /**
   * COCO: the folder holding the images that `file_name` names. Without it they are looked for beside
   * the JSON file, then in an `images/` folder beside it.
   */
  images: z.string().min(1).optional(),
})
export type ImportRequest = z.input<typeof ImportRequest>
export type ImportRequestParsed = z.output<typeof ImportRequest>

export const ImportFailure = z.object({
  path: z.string(),
  reason: z.string(),
  /** The part of the file that is bad, where the file holds many: `annotation 17`, `image 3 (dog.jpg)`. */
  element: z.string().optional(),
})
export type ImportFailure = z.infer<typeof ImportFailure>

export const ImportReport = z.object({
  added: z.number().int(),
  duplicates: z.number().int(),
  /** Files that are not images (notes, metadata) found while walking folders. */
  ignored: z.number().int(),
  failed: z.array(ImportFailure),
  classesCreated: z.array(z.string()),
  cancelled: z.boolean(),
  durationMs: z.number(),
})
export type ImportReport = z.infer<typeof ImportReport>

export const ImportPhase = z.enum(['scanning', 'importing', 'done'])
export const ImportProgress = z.object({
  jobId: z.string(),
  phase: ImportPhase,
  done: z.number().int(),
  total: z.number().int(),
  added: z.number().int(),
  duplicates: z.number().int(),
  failed: z.number().int(),
  current: z.string().optional(),
})
export type ImportProgress = z.infer<typeof ImportProgress>

import { Empty, Ok } from './common'

const coreCalls = {
  'app.info': {
    req: Empty,
    res: z.object({ version: z.string(), project: ProjectSummary.nullable() }),
  },
  'project.create': {
    req: z.object({ dir: z.string().min(1), name: z.string().min(1).optional() }),
    res: ProjectSummary,
  },
  'project.open': { req: z.object({ dir: z.string().min(1) }), res: ProjectSummary },
  /** Opens a shipped demo project, making it first (from resources/) where it is not there yet. */
  'project.openDemo': { req: z.object({ kind: DemoKind }), res: ProjectSummary },
  'project.close': { req: Empty, res: Ok },
  'project.counts': { req: Empty, res: Counts },
  'classes.list': { req: Empty, res: z.array(ClassLabel) },
  'images.list': {
    req: z.object({
      split: Split.optional(),
      /** A class id, or null for images without a class tag. Omitted: every image. */
      classId: z.number().int().nullable().optional(),
      offset: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(5000).default(200),
    }),
    res: z.object({ total: z.number().int(), items: z.array(ImageMeta) }),
  },
  'images.setSplit': {
    req: z.object({ ids: z.array(z.number().int()).min(1), split: Split }),
    res: z.object({ changed: z.number().int() }),
  },
  'splits.resplit': {
    req: z.object({ ratios: SplitRatios, seed: z.number().int().default(42) }),
    res: z.object({ bySplit: z.record(z.string(), z.number().int()) }),
  },
  'import.start': { req: ImportRequest, res: z.object({ jobId: z.string() }) },
  'import.cancel': { req: z.object({ jobId: z.string() }), res: Ok },
} as const

/** Every call: the core ones above, labeling (./annotate.ts), training (./train.ts) and exports (./exchange.ts). */
export const calls = { ...coreCalls, ...annotateCalls, ...trainCalls, ...exchangeCalls } as const

export const events = {
  'import.progress': ImportProgress,
  'import.finished': z.object({ jobId: z.string(), report: ImportReport }),
  'import.failed': z.object({
    jobId: z.string(),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
  /** How far an export is: images dealt with, out of the images it writes (`dir` as requested). */
  'export.progress': z.object({ dir: z.string(), done: z.number().int(), total: z.number().int() }),
  ...annotateEvents,
  ...trainEvents,
} as const

export type Calls = typeof calls
export type Channel = keyof Calls & string
export type Req<C extends Channel> = z.input<Calls[C]['req']>
export type ReqParsed<C extends Channel> = z.output<Calls[C]['req']>
export type Res<C extends Channel> = z.output<Calls[C]['res']>
export type Events = typeof events
export type EventName = keyof Events & string
export type EventPayload<E extends EventName> = z.output<Events[E]>

export const ERROR_CODES = [
  'invalid_request',
  'unknown_channel',
  'no_project',
  'not_found',
  'project_too_new',
  'project_invalid',
  /** The project cannot be written (a read-only disk): it can be looked at, not changed. */
  'project_read_only',
  'bad_input',
  'busy',
  'unauthorized',
  'internal',
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]
export const ApiErrorShape = z.object({ code: z.string(), message: z.string() })
export type ApiErrorShape = z.infer<typeof ApiErrorShape>

/** Errors cross every boundary as data, never as thrown strings. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ApiErrorShape }

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export function isChannel(name: string): name is Channel {
  return Object.prototype.hasOwnProperty.call(calls, name)
}

/** The surface every transport gives the renderer: `window.api` in Electron, HTTP + SSE on the web host. */
export interface SmallsetApi {
  call<C extends Channel>(channel: C, req: Req<C>): Promise<Result<Res<C>>>
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void
  /** A URL the renderer can put in an <img> for an image's thumbnail or full bytes. */
  mediaUrl(kind: 'thumb' | 'image', imageId: number): string
}
