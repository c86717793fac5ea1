import fs from 'node:fs/promises'
import sharp from 'sharp'
import { ApiError } from '../../../src-shared/api/contract'
import type { Detection } from '../../../src-shared/api/train'
import { openProjectStore } from '../../store/open'
import { getImageBytes } from '../../store/repos/images'
import { getCheckpoint, getRunRow, PRELABEL_EPOCH, putDetections, runFacts } from '../../store/repos/runs'
import { selectBackend, type BackendName } from '../backends/select'
import { loadModel } from '../checkpoint'
import { taskModule } from '../tasks'
import { probeNative } from './native'

export interface PredictResult {
  path: string
  top3?: { classId: number; score: number }[]
  detections?: Detection[]
  size?: { width: number; height: number }
  error?: string
}

/** A file's failure in words. */
function fileError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code
  return code === 'ENOENT'
    ? 'file not found'
    : code === 'EACCES' || code === 'EPERM'
      ? 'unreadable: permission denied'
      : code === 'EISDIR'
        ? 'is a folder, not an image file'
        : /unsupported image format/i.test(String(e))
          ? 'not a recognised image'
          : (e instanceof Error ? e.message : String(e)).split('\n')[0]!
}

/**
 * What a run's final model says of each image file (its top-3, or its detections); a file that
 * cannot be read gets an error instead.
 */
export async function predictFiles(
  projectDir: string,
  runId: number,
  paths: readonly string[],
  prefer?: BackendName,
): Promise<PredictResult[]> {
  const db = openProjectStore(projectDir)
  try {
    const row = getRunRow(db, runId)
    const facts = row && runFacts(row)
    if (!row || !facts?.input) throw new ApiError('not_found', `Run ${runId} has no trained model`)
    const ckpt = getCheckpoint(db, runId, facts.finalEpoch ?? undefined) ?? getCheckpoint(db, runId)
    if (!ckpt) throw new ApiError('not_found', `Run ${runId} has no checkpoint yet`)
    await selectBackend(probeNative(), prefer ?? (process.env.SMALLSET_BACKEND as BackendName | undefined))
    const model = await loadModel(ckpt)
    const task = taskModule(row.task)
    const results: PredictResult[] = []
    try {
      for (const p of paths) {
        try {
          const bytes = await fs.readFile(p)
          const meta = await sharp(bytes).metadata()
          const file = {
            bytes,
            format: meta.format ?? 'unknown',
            width: meta.autoOrient?.width ?? meta.width!,
            height: meta.autoOrient?.height ?? meta.height!,
            channels: meta.channels ?? 3,
          }
          results.push({ path: p, ...(await task.predictImage(model, facts, file)) })
        } catch (e) {
          results.push({ path: p, error: fileError(e) })
        }
      }
    } finally {
      model.dispose()
    }
    return results
  } finally {
    db.close()
  }
}

export interface PrelabelProgress {
  done: number
  total: number
  /** Images that could not be predicted, and why. */
  failed: { imageId: number; error: string }[]
  cancelled: boolean
}

/**
 * Pre-labelling: a detection run's final model predicts the project's own images, and each
 * image's detections are stored (under PRELABEL_EPOCH) as soon as it is done, so a cancel keeps
 * what was finished. The editor shows them over the image, to accept or correct.
 */
export async function prelabelImages(
  projectDir: string,
  runId: number,
  imageIds: readonly number[],
  o: { signal?: AbortSignal; onProgress?: (p: PrelabelProgress) => void; prefer?: BackendName } = {},
): Promise<PrelabelProgress> {
  const db = openProjectStore(projectDir)
  try {
    const row = getRunRow(db, runId)
    const facts = row && runFacts(row)
    if (!row || !facts?.input) throw new ApiError('not_found', `Run ${runId} has no trained model`)
    if (row.task === 'classify')
      throw new ApiError('bad_input', `Run ${runId} is a classifier: only detectors pre-label objects`)
    const ckpt = getCheckpoint(db, runId, facts.finalEpoch ?? undefined) ?? getCheckpoint(db, runId)
    if (!ckpt) throw new ApiError('not_found', `Run ${runId} has no checkpoint yet`)
    await selectBackend(probeNative(), o.prefer ?? (process.env.SMALLSET_BACKEND as BackendName | undefined))
    const model = await loadModel(ckpt)
    const task = taskModule(row.task)
    const progress: PrelabelProgress = { done: 0, total: imageIds.length, failed: [], cancelled: false }
    try {
      for (const imageId of imageIds) {
        if (o.signal?.aborted) {
          progress.cancelled = true
          break
        }
        const m = getImageBytes(db, imageId)
        if (!m) progress.failed.push({ imageId, error: 'the image is no longer in the project' })
        else
          try {
            const p = await task.predictImage(model, facts, m)
            putDetections(db, runId, PRELABEL_EPOCH, [{ imageId, detections: p.detections ?? [] }])
          } catch (e) {
            progress.failed.push({ imageId, error: fileError(e) })
          }
        progress.done++
        o.onProgress?.({ ...progress, failed: [...progress.failed] })
      }
    } finally {
      model.dispose()
    }
    return progress
  } finally {
    db.close()
  }
}
