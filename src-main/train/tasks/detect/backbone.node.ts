import * as tf from '@tensorflow/tfjs'
import { loadArtifacts, mobileNetV2Artifacts, MOBILENET_V2_NAME } from '../../pretrained/mobilenet-v2.node'
import { BACKBONE_TAPS, type Backbone } from './model'

/**
 * The detector's backbone: the pretrained MobileNetV2 (../../pretrained/mobilenet-v2.node.ts), cut at
 * four taps (strides 4 to 32) and kept frozen: the detector runs it in inference mode and trains only
 * what sits on top. Loaded once per process.
 */

let loading: Promise<Backbone> | null = null

async function load(): Promise<Backbone> {
  // Any input size (the detector's canvas), and only the layers up to the last tap.
  const full = await loadArtifacts(mobileNetV2Artifacts(BACKBONE_TAPS[BACKBONE_TAPS.length - 1]))
  const model = tf.model({
    inputs: full.inputs,
    outputs: BACKBONE_TAPS.map((n) => full.getLayer(n).output as tf.SymbolicTensor),
  })
  model.trainable = false
  return { model, name: MOBILENET_V2_NAME }
}

export function loadBackbone(): Promise<Backbone> {
  loading ??= load()
  return loading
}
