import fs from 'node:fs/promises'
import * as tf from '@tensorflow/tfjs'
import { ApiError } from '../../../src-shared/api/contract'
import { openProjectStore } from '../../store/open'
import { getCheckpoint, getRunRow, runFacts } from '../../store/repos/runs'
import { selectBackend, type BackendName } from '../backends/select'
import { loadModel } from '../checkpoint'
import { makeBatch, type ImageSet } from '../data'
import { topK } from '../metrics'
import { toInputPixels } from './dataset'
import { probeNative } from './native'
import sharp from 'sharp'

export interface PredictResult {
  path: string
  top3?: { classId: number; score: number }[]
  error?: string
}

/** Whether a model ends in softmax (imported Keras models) or gives logits (Smallset's own). */
function endsInSoftmax(model: tf.LayersModel): boolean {
  const last = model.layers[model.layers.length - 1]!.getConfig() as { activation?: string }
  return last.activation === 'softmax'
}

/** The top-3 of a run's final model for each image file; a file that cannot be read gets an error instead. */
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
    if (!row || !facts) throw new ApiError('not_found', `Run ${runId} has no trained model`)
    const ckpt = getCheckpoint(db, runId, facts.finalEpoch ?? undefined) ?? getCheckpoint(db, runId)
    if (!ckpt) throw new ApiError('not_found', `Run ${runId} has no checkpoint yet`)
    await selectBackend(probeNative(), prefer ?? (process.env.SMALLSET_BACKEND as BackendName | undefined))
    const model = await loadModel(ckpt)
    const input = facts.input as { width: number; height: number; channels: 1 | 3 }
    const size = input.width * input.height * input.channels
    const results: PredictResult[] = []
    try {
      for (const p of paths) {
        try {
          const bytes = await fs.readFile(p)
          const meta = await sharp(bytes).metadata()
          const pixels = await toInputPixels(
            bytes,
            {
              format: meta.format ?? 'unknown',
              width: meta.width!,
              height: meta.height!,
              channels: meta.channels ?? 3,
            },
            input,
          )
          const set: ImageSet = {
            ...input,
            count: 1,
            pixels: pixels.subarray(0, size),
            labels: new Int32Array(1),
            ids: new Int32Array(1),
          }
          const x = makeBatch(set, [0], facts.normalize)
          const probs = tf.tidy(() => {
            const out = model.predict(
              tf.tensor4d(x, [1, input.height, input.width, input.channels]),
            ) as tf.Tensor
            return (endsInSoftmax(model) ? out : tf.softmax(out)).dataSync() as Float32Array
          })
          const n = facts.classIds.length
          results.push({
            path: p,
            top3: topK(probs, 0, n, Math.min(3, n)).map((g) => ({
              classId: facts.classIds[g.index]!,
              score: g.score,
            })),
          })
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code
          const error =
            code === 'ENOENT'
              ? 'file not found'
              : code === 'EACCES' || code === 'EPERM'
                ? 'unreadable: permission denied'
                : code === 'EISDIR'
                  ? 'is a folder, not an image file'
                  : /unsupported image format/i.test(String(e))
                    ? 'not a recognised image'
                    : (e instanceof Error ? e.message : String(e)).split('\n')[0]!
          results.push({ path: p, error })
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
