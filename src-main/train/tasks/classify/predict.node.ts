import * as tf from '@tensorflow/tfjs'
import type { RunFacts } from '../../../store/repos/runs'
import { toInputPixels } from '../../host/pixels'
import type { ImageFile, ImagePrediction } from '../types'
import { makeBatch, type ImageSet } from './data'
import { topK } from './metrics'

/** Whether a model ends in softmax (imported Keras models) or gives logits (Smallset's own). */
function endsInSoftmax(model: tf.LayersModel): boolean {
  const last = model.layers[model.layers.length - 1]!.getConfig() as { activation?: string }
  return last.activation === 'softmax'
}

/** The top-3 classes a trained classifier gives an image file. */
export async function classifyImage(
  model: tf.LayersModel,
  facts: RunFacts,
  file: ImageFile,
): Promise<ImagePrediction> {
  const input = facts.input as { width: number; height: number; channels: 1 | 3 }
  const size = input.width * input.height * input.channels
  const pixels = await toInputPixels(file.bytes, file, input)
  const set: ImageSet = {
    ...input,
    count: 1,
    pixels: pixels.subarray(0, size),
    labels: new Int32Array(1),
    ids: new Int32Array(1),
  }
  const x = makeBatch(set, [0], facts.normalize ?? { mean: 0, std: 1 })
  const p = tf.tidy(() => {
    const out = model.predict(tf.tensor4d(x, [1, input.height, input.width, input.channels])) as tf.Tensor
    return endsInSoftmax(model) ? out : tf.softmax(out)
  })
  const probs = (await p.data()) as Float32Array
  p.dispose()
  const n = facts.classIds.length
  return {
    top3: topK(probs, 0, n, Math.min(3, n)).map((g) => ({
      classId: facts.classIds[g.index]!,
      score: g.score,
    })),
  }
}
