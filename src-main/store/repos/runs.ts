import type {
  Detection,
  DetectionEvaluation,
  EpochMetrics,
  Evaluation,
  RunSummary,
  Task,
} from '../../../src-shared/api/train'
import { argMax, argMin } from '../../../src-shared/domain/stats'
import type { DB } from '../open'
import { stmt } from '../statements'

/** What a run records about itself once its data is loaded and as it ends (runs.summary, JSON). */
export interface RunFacts {
  classIds: number[]
  input: { width: number; height: number; channels: number }
  normalize?: { mean: number; std: number }
  /** Detection: the architecture (whether a pretrained backbone runs under the trained head). */
  model?: string
  backend?: string
  backendReason?: string
  bestEpoch?: number | null
  /** The checkpoint epoch of the run's final model (the best one, with early stopping). */
  finalEpoch?: number | null
  stoppedEarly?: boolean
  trainSamplesPerS?: number
  testAccuracy?: number | null
  /** The run's headline test figures (see RunSummary.testMetrics). */
  testMetrics?: Record<string, number> | null
  evaluation?: Evaluation | null
  /** Detection and segmentation: COCO figures on the test split. */
  detection?: DetectionEvaluation | null
  /** Detection: how the run's detections are decoded (also for predictions on new files). */
  decode?: { maxDetections: number; scoreFloor: number }
  /** Which epoch metric picks the best epoch, and which way (default: lowest validation loss). */
  monitor?: { metric: string; mode: 'min' | 'max' }
  imported?: boolean
  counts?: { train: number; val: number; test: number }
  /** The process that queued the run and runs its trainer. */
  ownerPid?: number
}

interface RunRow {
  id: number
  name: string
  task: Task
  status: RunSummary['status']
  config: string
  backend: string | null
  summary: string | null
  error: string | null
  created_at: string
}

/** A new run, owned by this process (the one that queues it and starts its trainer). */
export function createRun(
  db: DB,
  name: string,
  config: unknown,
  status: 'queued' | 'done' = 'queued',
  task: Task = 'classify',
): number {
  const info = stmt(db, 'INSERT INTO runs (name, task, status, config, summary) VALUES (?, ?, ?, ?, ?)').run(
    name,
    task,
    status,
    JSON.stringify(config),
    JSON.stringify({ ownerPid: process.pid }),
  )
  return Number(info.lastInsertRowid)
}

export function getRunRow(db: DB, id: number): RunRow | undefined {
  return stmt(
    db,
    'SELECT id, name, task, status, config, backend, summary, error, created_at FROM runs WHERE id = ?',
  ).get(id) as RunRow | undefined
}

export function runFacts(row: Pick<RunRow, 'summary'>): RunFacts | null {
  return row.summary ? (JSON.parse(row.summary) as RunFacts) : null
}

export function setRunStatus(
  db: DB,
  id: number,
  status: RunSummary['status'],
  extra: { error?: string | null; backend?: string } = {},
): void {
  stmt(
    db,
    `UPDATE runs SET status = ?, error = ?, backend = COALESCE(?, backend),
       started_at = CASE WHEN ? = 'running' THEN COALESCE(started_at, strftime('%Y-%m-%dT%H:%M:%fZ','now')) ELSE started_at END,
       finished_at = CASE WHEN ? IN ('done','cancelled','failed') THEN strftime('%Y-%m-%dT%H:%M:%fZ','now') ELSE NULL END
     WHERE id = ?`,
  ).run(status, extra.error ?? null, extra.backend ?? null, status, status, id)
}

export function mergeRunFacts(db: DB, id: number, facts: Partial<RunFacts>): RunFacts {
  const row = getRunRow(db, id)
  const merged = { ...(row ? runFacts(row) : {}), ...facts } as RunFacts
  stmt(db, 'UPDATE runs SET summary = ? WHERE id = ?').run(JSON.stringify(merged), id)
  return merged
}

export function putEpoch(db: DB, runId: number, m: EpochMetrics): void {
  stmt(db, 'INSERT OR REPLACE INTO run_epochs (run_id, epoch, metrics) VALUES (?, ?, ?)').run(
    runId,
    m.epoch,
    JSON.stringify(m),
  )
}

export function getHistory(db: DB, runId: number): EpochMetrics[] {
  return (
    stmt(db, 'SELECT metrics FROM run_epochs WHERE run_id = ? ORDER BY epoch').all(runId) as {
      metrics: string
    }[]
  ).map((r) => JSON.parse(r.metrics) as EpochMetrics)
}

/** Drops epochs after `epoch` (a resumed run redoes them). */
export function truncateHistory(db: DB, runId: number, epoch: number): void {
  stmt(db, 'DELETE FROM run_epochs WHERE run_id = ? AND epoch > ?').run(runId, epoch)
  stmt(db, 'DELETE FROM predictions WHERE run_id = ? AND epoch > ?').run(runId, epoch)
}

export interface Checkpoint {
  epoch: number
  /** JSON: { modelTopology, weightSpecs, optimizerSpecs } */
  topology: string
  weights: Buffer
  optimizer: Buffer | null
  /** The moving average of the weights (same layout as `weights`), where the run keeps one. */
  ema?: Buffer | null
}

/** Stores an epoch's checkpoint and keeps only the latest and the best (`keepEpoch`) ones. */
export function putCheckpoint(db: DB, runId: number, c: Checkpoint, keepEpoch: number | null): void {
  db.transaction(() => {
    stmt(
      db,
      'INSERT OR REPLACE INTO run_checkpoints (run_id, epoch, topology, weights, optimizer, ema) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(runId, c.epoch, c.topology, c.weights, c.optimizer, c.ema ?? null)
    stmt(db, 'DELETE FROM run_checkpoints WHERE run_id = ? AND epoch <> ? AND epoch <> ?').run(
      runId,
      c.epoch,
      keepEpoch ?? -1,
    )
  }).immediate()
}

export function getCheckpoint(db: DB, runId: number, epoch?: number): Checkpoint | undefined {
  return (
    epoch === undefined
      ? stmt(
          db,
          'SELECT epoch, topology, weights, optimizer, ema FROM run_checkpoints WHERE run_id = ? ORDER BY epoch DESC LIMIT 1',
        ).get(runId)
      : stmt(
          db,
          'SELECT epoch, topology, weights, optimizer, ema FROM run_checkpoints WHERE run_id = ? AND epoch = ?',
        ).get(runId, epoch)
  ) as Checkpoint | undefined
}

export interface PredictionRow {
  imageId: number
  /** Best first. */
  top: { classId: number; score: number }[]
}

/** Replaces a run's class predictions for one epoch (-1: the final test evaluation). */
export function putPredictions(db: DB, runId: number, epoch: number, rows: readonly PredictionRow[]): void {
  const ins = stmt(
    db,
    "INSERT INTO predictions (run_id, epoch, image_id, kind, class_id, score, rank) VALUES (?, ?, ?, 'tag', ?, ?, ?)",
  )
  db.transaction(() => {
    stmt(db, 'DELETE FROM predictions WHERE run_id = ? AND epoch = ?').run(runId, epoch)
    for (const r of rows)
      r.top.forEach((g, rank) => ins.run(runId, epoch, r.imageId, g.classId, g.score, rank))
  }).immediate()
}

/** Predictions grouped per image, in image order: `epoch` one epoch, or every epoch for `imageIds`. */
export function getPredictions(
  db: DB,
  runId: number,
  where: { epoch: number; offset?: number; limit?: number } | { imageIds: readonly number[] },
): { imageId: number; epoch: number; top: { classId: number; score: number }[] }[] {
  let rows: { image_id: number; epoch: number; class_id: number; score: number }[]
  if ('epoch' in where) {
    rows = stmt(
      db,
      `SELECT p.image_id, p.epoch, p.class_id, p.score FROM predictions p
       WHERE p.run_id = ? AND p.epoch = ? AND p.image_id IN (
         SELECT DISTINCT image_id FROM predictions WHERE run_id = ? AND epoch = ? ORDER BY image_id LIMIT ? OFFSET ?)
       ORDER BY p.image_id, p.rank`,
    ).all(runId, where.epoch, runId, where.epoch, where.limit ?? -1, where.offset ?? 0) as typeof rows
  } else {
    if (!where.imageIds.length) return []
    rows = db
      .prepare(
        `SELECT image_id, epoch, class_id, score FROM predictions WHERE run_id = ? AND epoch >= 0
         AND image_id IN (${where.imageIds.map(() => '?').join(',')}) ORDER BY image_id, epoch, rank`,
      )
      .all(runId, ...where.imageIds) as typeof rows
  }
  const out: { imageId: number; epoch: number; top: { classId: number; score: number }[] }[] = []
  for (const r of rows) {
    const last = out[out.length - 1]
    if (last && last.imageId === r.image_id && last.epoch === r.epoch)
      last.top.push({ classId: r.class_id, score: r.score })
    else out.push({ imageId: r.image_id, epoch: r.epoch, top: [{ classId: r.class_id, score: r.score }] })
  }
  return out
}

/** Replaces a run's detections for one epoch (-1: the final test evaluation) for the given images. */
export function putDetections(
  db: DB,
  runId: number,
  epoch: number,
  rows: readonly { imageId: number; detections: readonly Detection[] }[],
): void {
  const del = stmt(db, 'DELETE FROM predictions WHERE run_id = ? AND epoch = ? AND image_id = ?')
  const ins = stmt(
    db,
    'INSERT INTO predictions (run_id, epoch, image_id, kind, class_id, score, rank, geometry) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  )
  db.transaction(() => {
    for (const r of rows) {
      del.run(runId, epoch, r.imageId)
      r.detections.forEach((d, rank) =>
        ins.run(
          runId,
          epoch,
          r.imageId,
          d.mask ? 'mask' : 'box',
          d.classId,
          d.score,
          rank,
          JSON.stringify(d.mask ? { box: d.box, mask: d.mask } : { box: d.box }),
        ),
      )
    }
  }).immediate()
}

/** Stored detections per image and epoch, best first: `epoch` for one epoch, or all epochs of `imageIds`. */
export function getDetections(
  db: DB,
  runId: number,
  where: { epoch: number; imageIds?: readonly number[] } | { imageIds: readonly number[] },
): { imageId: number; epoch: number; detections: Detection[] }[] {
  const ids = where.imageIds
  if (ids && !ids.length) return []
  const byEpoch = 'epoch' in where
  const sql =
    `SELECT image_id, epoch, class_id, score, geometry FROM predictions WHERE run_id = ? AND kind IN ('box', 'mask')` +
    (byEpoch ? ' AND epoch = ?' : ' AND epoch >= 0') +
    (ids ? ` AND image_id IN (${ids.map(() => '?').join(',')})` : '') +
    ' ORDER BY image_id, epoch, rank'
  const params: number[] = [runId, ...(byEpoch ? [where.epoch] : []), ...(ids ?? [])]
  const rows = (ids ? db.prepare(sql) : stmt(db, sql)).all(...params) as {
    image_id: number
    epoch: number
    class_id: number
    score: number
    geometry: string
  }[]
  const out: { imageId: number; epoch: number; detections: Detection[] }[] = []
  for (const r of rows) {
    const g = JSON.parse(r.geometry) as { box: Detection['box']; mask?: Detection['mask'] }
    const d: Detection = { classId: r.class_id, score: r.score, box: g.box, ...(g.mask && { mask: g.mask }) }
    const last = out[out.length - 1]
    if (last && last.imageId === r.image_id && last.epoch === r.epoch) last.detections.push(d)
    else out.push({ imageId: r.image_id, epoch: r.epoch, detections: [d] })
  }
  return out
}

/** The images of one confusion-matrix cell (true class × predicted class) of a run's test predictions. */
export function confusionCell(
  db: DB,
  runId: number,
  trueClassId: number,
  predClassId: number,
  limit: number,
): number[] {
  return (
    stmt(
      db,
      `SELECT p.image_id AS imageId FROM predictions p
       JOIN annotations a ON a.image_id = p.image_id AND a.kind = 'tag'
       WHERE p.run_id = ? AND p.epoch = -1 AND p.rank = 0 AND a.class_id = ? AND p.class_id = ?
       ORDER BY p.score DESC LIMIT ?`,
    ).all(runId, trueClassId, predClassId, limit) as { imageId: number }[]
  ).map((r) => r.imageId)
}

export function listRunRows(db: DB): RunRow[] {
  return stmt(
    db,
    'SELECT id, name, task, status, config, backend, summary, error, created_at FROM runs ORDER BY id DESC',
  ).all() as RunRow[]
}

export function deleteRun(db: DB, id: number): boolean {
  return stmt(db, 'DELETE FROM runs WHERE id = ?').run(id).changes > 0
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Runs left 'running' or 'queued' by a process that is gone (a crash, a kill), or by this one
 * (which is closing the project), become failed: each can be resumed, from its last checkpoint
 * where it has one. Runs another live process owns (the app training while the CLI reads) stay.
 */
export function failOrphanedRuns(db: DB): number {
  const rows = stmt(
    db,
    "SELECT id, status, summary FROM runs WHERE status IN ('running', 'queued')",
  ).all() as {
    id: number
    status: string
    summary: string | null
  }[]
  let n = 0
  for (const r of rows) {
    const owner = r.summary ? (JSON.parse(r.summary) as RunFacts).ownerPid : undefined
    if (owner !== undefined && owner !== process.pid && alive(owner)) continue
    setRunStatus(db, r.id, 'failed', {
      error:
        r.status === 'running'
          ? 'the trainer stopped without finishing; resume continues from the last checkpoint'
          : 'the app closed before this queued run started; resume starts it',
    })
    n++
  }
  return n
}

/** The epoch the run's monitor prefers: by default the lowest validation loss. */
export function bestEpochOf(
  history: readonly EpochMetrics[],
  monitor: RunFacts['monitor'] = { metric: 'valLoss', mode: 'min' },
): EpochMetrics | null {
  const values = history.map((h) =>
    monitor.metric === 'valLoss' ? h.valLoss : (h.metrics[monitor.metric] ?? null),
  )
  return history[monitor.mode === 'min' ? argMin(values) : argMax(values)] ?? null
}

export function toSummary(row: RunRow, history: EpochMetrics[]): RunSummary {
  const facts = runFacts(row)
  const config = JSON.parse(row.config) as { model?: string; epochs?: number }
  const best = bestEpochOf(history, facts?.monitor)
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    model: config.model ?? 'imported',
    backend: row.backend,
    backendReason: facts?.backendReason ?? null,
    epochsDone: history.length ? history[history.length - 1]!.epoch : 0,
    epochs: config.epochs ?? 0,
    bestValLoss: bestEpochOf(history)?.valLoss ?? null,
    bestEpoch: best?.epoch ?? null,
    testAccuracy: facts?.testAccuracy ?? null,
    task: row.task,
    testMetrics: facts?.testMetrics ?? null,
    createdAt: row.created_at,
    error: row.error,
  }
}

/** The epoch that pre-labelling stores a run's predictions of project images under. */
export const PRELABEL_EPOCH = -2

/**
 * The first image after `after` (wrapping round) that a run pre-labelled and a person has not
 * marked reviewed; null when there is none.
 */
export function nextUnreviewed(db: DB, runId: number, after: number | null): number | null {
  const sql = (cmp: '>' | '<') =>
    `SELECT i.id FROM images i WHERE i.status <> 'reviewed' AND i.id ${cmp} ?
       AND EXISTS (SELECT 1 FROM predictions p WHERE p.run_id = ? AND p.epoch = ${PRELABEL_EPOCH} AND p.image_id = i.id)
     ORDER BY i.id LIMIT 1`
  const from = after ?? 0
  const row =
    (stmt(db, sql('>')).get(from, runId) as { id: number } | undefined) ??
    (stmt(db, sql('<')).get(from, runId) as { id: number } | undefined)
  return row?.id ?? null
}

/** Images a run pre-labelled, whatever their status now. */
export function prelabelledCount(db: DB, runId: number): number {
  return (
    stmt(
      db,
      `SELECT COUNT(DISTINCT image_id) AS n FROM predictions WHERE run_id = ? AND epoch = ${PRELABEL_EPOCH}`,
    ).get(runId) as { n: number }
  ).n
}
