import * as tf from '@tensorflow/tfjs'
import type { RunFacts } from '../../../store/repos/runs'
import type { ImageFile, ImagePrediction } from '../types'
import type { DetectionConfigParsed } from '../../../../src-shared/api/train'
import { loadBackbone } from './backbone.node'
import { detect } from './decode'
import { usesBackbone } from './model'
import { canvasPixels } from './feed.node'
import { cellCentres } from './loss'
import { toDetections } from './run.node'
import { letterboxFor } from './sample'
import { STRIDE } from './targets'

type DetectionModel = DetectionConfigParsed['model']

/** What a trained detector finds in an image file, in the file's own pixels. */
export async function detectImage(
  head: tf.LayersModel,
  facts: RunFacts,
  file: ImageFile,
): Promise<ImagePrediction> {
  const { width, height } = facts.input
  const letterbox = letterboxFor(file.width, file.height, width, height)
  const pixels = await canvasPixels(file.bytes, file, letterbox, width, height)
  const centres = tf.tensor4d(cellCentres(width / STRIDE, height / STRIDE), [
    1,
    height / STRIDE,
    width / STRIDE,
    2,
  ])
  try {
    const sample = { imageId: 0, pixels, instances: [], letterbox, truth: [] }
    const model = facts.model as DetectionModel | undefined
    const backbone = usesBackbone(model ?? 'centernet-s') ? await loadBackbone() : null
    const [dets] = await detect({ backbone, head }, [sample], width, height, centres, {
      maxDetections: facts.decode?.maxDetections ?? 100,
      scoreFloor: facts.decode?.scoreFloor ?? 0.05,
    })
    return {
      detections: toDetections(dets!, sample, facts.classIds),
      size: { width: file.width, height: file.height },
    }
  } finally {
    centres.dispose()
  }
}
