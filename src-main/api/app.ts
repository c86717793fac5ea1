import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { z } from 'zod'
import {
  ApiError,
  calls,
  events,
  isChannel,
  type Channel,
  type EventName,
  type EventPayload,
  type DemoKind,
  type ImportReport,
  type ImportRequest,
  type ProjectSummary,
  type ReqParsed,
  type Result,
} from '../../src-shared/api/contract'
import { annotateHandlers } from './annotate'
import type { AppContext, HandlerMap } from './context'
import { exchangeHandlers } from './exchange'
import { trainHandlers } from './train'
import { TrainRunner, type GpuHost } from '../train/host/runner'
import { failOrphanedRuns } from '../store/repos/runs'
import { displayable, displayableThumb } from '../media/decode'
import { runImport, type ImportOptions } from '../media/import'
import { createProjectStore, openProjectStore, readOnlyBecause, type DB } from '../store/open'
import { listClasses } from '../store/repos/classes'
import { projectCounts } from '../store/repos/counts'
import { getImageBytes, getThumbnail, listImages, resplitAll, setSplit } from '../store/repos/images'
import { getMeta, schemaVersion } from '../store/repos/meta'
import { defaultDemoDir, resourcesDir } from '../paths'
import { openDemoProject } from '../project/demo'

export const APP_VERSION = '0.1.0'

export type EventListener = <E extends EventName>(event: E, payload: EventPayload<E>) => void

/**
 * The app's services behind the typed contract. It holds no Electron import: the Electron main
 * process, the web host, the CLI and the tests all drive this same object.
 */
export interface AppOptions {
  /** Where each demo project is made (default: ~/.smallset/…, see paths.ts). */
  demoDir?: (kind: DemoKind) => string
  /**
   * A trainer in a Chromium worker with the machine's GPU, where the host has one: Electron's
   * hidden trainer window (src-main/index.ts). Runs train through it on WebGPU or WebGL.
   */
  gpuHost?: GpuHost
}

export class SmallsetApp implements AppContext {
  constructor(private readonly options: AppOptions = {}) {}

  get gpuHost(): GpuHost | null {
    return this.options.gpuHost ?? null
  }

  private db: DB | null = null
  private dir: string | null = null
  private readonly imports = new Map<string, AbortController>()

  private readonly listeners = new Set<EventListener>()

  /** Every event the app emits goes to each listener (a transport forwards it to its renderer). */
  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    const checked = checkEvent(event, payload)
    for (const l of this.listeners) l(event, checked)
  }

  get projectDir(): string | null {
    return this.dir
  }

  requireDb(): DB {
    if (!this.db) throw new ApiError('no_project', 'No project is open: create or open one first')
    return this.db
  }

  private summary(): ProjectSummary {
    const db = this.requireDb()
    return {
      dir: this.dir!,
      name: getMeta(db, 'name') ?? path.basename(this.dir!),
      schemaVersion: schemaVersion(db),
      counts: projectCounts(db),
      readOnly: readOnlyBecause(db),
    }
  }

  /** The open project, refusing at once (before any work) where it can only be read. */
  requireWritableDb(): DB {
    const db = this.requireDb()
    const why = readOnlyBecause(db)
    if (why)
      throw new ApiError(
        'project_read_only',
        `This project is open read-only (${why}): nothing in it can be changed.`,
      )
    return db
  }

  private refuseWhileBusy(): void {
    if (this.imports.size) {
      throw new ApiError('busy', 'An import is running: cancel it or let it finish before switching projects')
    }
    if (this.training.busy) {
      throw new ApiError(
        'busy',
        'A training run is running or queued: cancel it or let it finish before switching projects',
      )
    }
  }

  private setProject(db: DB, dir: string): ProjectSummary {
    this.training.stopAll()
    // Runs a dead process left 'running' or 'queued' become resumable.
    if (!readOnlyBecause(db)) failOrphanedRuns(db)
    this.db?.close()
    this.db = db
    this.dir = dir
    return this.summary()
  }

  createProject(dir: string, name?: string): ProjectSummary {
    const abs = path.resolve(dir)
    this.refuseWhileBusy()
    return this.setProject(createProjectStore(abs, name ?? path.basename(abs)), abs)
  }

  openProject(dir: string): ProjectSummary {
    const abs = path.resolve(dir)
    this.refuseWhileBusy()
    return this.setProject(openProjectStore(abs), abs)
  }

  /** Runs an import to its end; the `import.start` call and the CLI both come here. */
  async importNow(req: ImportRequest, opts: ImportOptions = {}): Promise<ImportReport> {
    const db = this.requireWritableDb()
    const parsed = calls['import.start'].req.parse(req)
    return runImport(db, parsed, opts)
  }

  private startImport(req: ReqParsed<'import.start'>): { jobId: string } {
    this.requireWritableDb()
    if (this.imports.size) throw new ApiError('busy', 'An import is already running in this project')
    const jobId = randomUUID()
    const ac = new AbortController()
    this.imports.set(jobId, ac)
    this.importNow(req, {
      signal: ac.signal,
      onProgress: (p) => this.emit('import.progress', { jobId, ...p }),
    })
      .then((report) => this.emit('import.finished', { jobId, report }))
      .catch((e: unknown) => this.emit('import.failed', { jobId, error: toErrorShape(e) }))
      .finally(() => this.imports.delete(jobId))
    return { jobId }
  }

  /** Training runs, one at a time, each in its own trainer process. */
  readonly training = new TrainRunner(this)

  readonly handlers: HandlerMap<Channel> = {
    ...annotateHandlers(this),
    ...trainHandlers(this, this.training),
    ...exchangeHandlers(this),
    'app.info': () => ({ version: APP_VERSION, project: this.db ? this.summary() : null }),
    'project.create': (r) => this.createProject(r.dir, r.name),
    'project.open': (r) => this.openProject(r.dir),
    'project.openDemo': async ({ kind }) => {
      await openDemoProject(this, (this.options.demoDir ?? defaultDemoDir)(kind), resourcesDir(), kind)
      return this.summary()
    },
    'project.close': () => {
      if (this.imports.size)
        throw new ApiError('busy', 'An import is running: cancel it or let it finish first')
      this.close()
      return { ok: true as const }
    },
    'project.counts': () => projectCounts(this.requireDb()),
    'classes.list': () => listClasses(this.requireDb()),
    'images.list': (r) =>
      listImages(this.requireDb(), { split: r.split, classId: r.classId }, r.offset, r.limit),
    'images.setSplit': (r) => ({ changed: setSplit(this.requireDb(), r.ids, r.split) }),
    'splits.resplit': (r) => ({ bySplit: resplitAll(this.requireDb(), r.ratios, r.seed) }),
    'import.start': (r) => this.startImport(r),
    'import.cancel': (r) => {
      const ac = this.imports.get(r.jobId)
      if (!ac) throw new ApiError('not_found', `No running import with id ${r.jobId}`)
      ac.abort()
      return { ok: true as const }
    },
  }

  /** Validates the request, runs the handler, validates the response; errors come back as data. */
  async dispatch(channel: string, rawReq: unknown): Promise<Result<unknown>> {
    try {
      if (!isChannel(channel)) throw new ApiError('unknown_channel', `Unknown API call: ${channel}`)
      const spec = calls[channel]
      const req = spec.req.safeParse(rawReq ?? {})
      if (!req.success) throw new ApiError('invalid_request', `${channel}: ${z.prettifyError(req.error)}`)
      const handler = this.handlers[channel] as (r: unknown) => unknown
      const value = spec.res.parse(await handler(req.data))
      return { ok: true, value }
    } catch (e) {
      return { ok: false, error: toErrorShape(e) }
    }
  }

  /**
   * An image's thumbnail or full image, ready for a browser, with its content hash as an ETag.
   * `ifNoneMatch` saves the encoding when the caller already has this version.
   */
  async media(
    kind: 'thumb' | 'image',
    id: number,
    ifNoneMatch?: string,
  ): Promise<{ etag: string; mime: string; bytes: Buffer } | 'not-modified' | undefined> {
    const db = this.requireDb()
    const m = kind === 'thumb' ? getThumbnail(db, id) : getImageBytes(db, id)
    if (!m) return undefined
    const etag = `"${m.hash.slice(0, 32)}-${kind}"`
    if (ifNoneMatch === etag) return 'not-modified'
    return { etag, ...(await (kind === 'thumb' ? displayableThumb(m) : displayable(m))) }
  }

  close(): void {
    this.training.stopAll()
    for (const ac of this.imports.values()) ac.abort()
    this.db?.close()
    this.db = null
    this.dir = null
  }
}

export function toErrorShape(e: unknown): { code: string; message: string } {
  if (e instanceof ApiError) return { code: e.code, message: e.message }
  const err = e as NodeJS.ErrnoException
  if (err?.code === 'EACCES' || err?.code === 'EPERM') return { code: 'bad_input', message: err.message }
  if (err?.code === 'SQLITE_READONLY')
    return {
      code: 'project_read_only',
      message: 'This project is open read-only: nothing in it can be changed.',
    }
  return { code: 'internal', message: e instanceof Error ? e.message : String(e) }
}

/** Checks an event payload against the contract before it leaves the process. */
export function checkEvent<E extends EventName>(event: E, payload: unknown): EventPayload<E> {
  return events[event].parse(payload) as EventPayload<E>
}
