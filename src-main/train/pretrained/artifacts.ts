import * as tf from '@tensorflow/tfjs'

/**
 * A pretrained model's files in memory (topology, weight specs, weight data) and how to load them:
 * pure tfjs, so any trainer can load artifacts it is sent (the GPU worker has no file system).
 * mobilenet-v2.node.ts reads the package's files into this shape.
 */

export interface LayerJson {
  class_name: string
  name?: string
  config: { name?: string; batch_input_shape?: (number | null)[]; [k: string]: unknown }
  inbound_nodes?: unknown[]
}

/** A functional model's topology, as tfjs-layers serialises it. */
export interface TopologyJson {
  class_name?: string
  model_config: {
    class_name?: string
    config: {
      layers: LayerJson[]
      input_layers?: [string, number, number][]
      output_layers: [string, number, number][]
      [k: string]: unknown
    }
  }
  [k: string]: unknown
}

export interface ModelArtifacts {
  topology: TopologyJson
  weightSpecs: tf.io.WeightsManifestEntry[]
  weightData: ArrayBuffer
}

/**
 * Loads a model from artifacts made by mobileNetV2Artifacts; `strict` is off, since the package's own
 * classifier top has weights but no layer any more, and appended layers start from their initialisers.
 */
export function loadArtifacts(a: ModelArtifacts): Promise<tf.LayersModel> {
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: a.topology, weightSpecs: a.weightSpecs, weightData: a.weightData }),
    { strict: false },
  )
}
