import * as tf from '@tensorflow/tfjs'
import { loadArtifacts, type ModelArtifacts } from '../../pretrained/artifacts'
import { BACKBONE_TAPS, type Backbone } from './model'

/**
 * The detector's backbone, cut from MobileNetV2's artifacts at four taps (strides 4 to 32) and kept
 * frozen: the detector runs it in inference mode and trains only what sits on top. Pure tfjs, so a
 * trainer with no file system (the GPU worker, train/remote/) builds it from the artifacts it is
 * sent; backbone.node.ts reads them from the package.
 */
export async function backboneFrom(artifacts: ModelArtifacts, name: string): Promise<Backbone> {
  const full = await loadArtifacts(artifacts)
  const model = tf.model({
    inputs: full.inputs,
    outputs: BACKBONE_TAPS.map((n) => full.getLayer(n).output as tf.SymbolicTensor),
  })
  model.trainable = false
  return { model, name }
}
