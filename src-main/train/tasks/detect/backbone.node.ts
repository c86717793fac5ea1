import { createRequire } from 'node:module'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { BACKBONE_TAPS, type Backbone } from './model'

/**
 * The pretrained backbone: MobileNetV2 (α 1.0) as the npm package `nsfwjs` 4.3 ships it (MIT; its
 * upstream, GantMan/nsfw_model, fine-tuned ImageNet MobileNetV2 on a 5-class photo set), loaded
 * from disk, nothing downloaded. Cut at four taps (strides 4 to 32) and kept frozen: the detector
 * runs it in inference mode and trains only what sits on top. Loaded once per process.
 */

const require = createRequire(__filename)
let loading: Promise<Backbone> | null = null

function files(): { model: string; weights: string } {
  // The package's `exports` names its code only: find its files from its main entry.
  const dist = path.resolve(path.dirname(require.resolve('nsfwjs')), '..')
  return {
    model: path.join(dist, 'models', 'mobilenet_v2', 'model.min.js'),
    weights: path.join(dist, 'models', 'mobilenet_v2', 'group1-shard1of1.min.js'),
  }
}

async function load(): Promise<Backbone> {
  const f = files()
  const json = require(f.model) as {
    modelTopology: TopologyJson
    weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[]
  }
  const weights = Buffer.from(require(f.weights) as string, 'base64')
  // Any input size (the detector's canvas), and only the layers up to the last tap.
  const topology = structuredClone(json.modelTopology)
  const config = topology.model_config.config
  config.layers[0]!.config.batch_input_shape = [null, null, null, 3]
  const last = config.layers.findIndex((l) => l.name === BACKBONE_TAPS[BACKBONE_TAPS.length - 1])
  config.layers = config.layers.slice(0, last + 1)
  config.output_layers = [[config.layers[last]!.name, 0, 0]]
  const full = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: topology,
      weightSpecs: json.weightsManifest.flatMap((m) => m.weights),
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }),
    // The classifier's own top (pooling, dense layers) has weights but no layer here any more.
    { strict: false },
  )
  const model = tf.model({
    inputs: full.inputs,
    outputs: BACKBONE_TAPS.map((n) => full.getLayer(n).output as tf.SymbolicTensor),
  })
  model.trainable = false
  return { model, name: 'MobileNetV2 (nsfwjs 4.3, MIT)' }
}

interface TopologyJson {
  model_config: {
    config: {
      layers: { name: string; config: { batch_input_shape?: (number | null)[] } }[]
      output_layers: [string, number, number][]
    }
  }
}

export function loadBackbone(): Promise<Backbone> {
  loading ??= load()
  return loading
}
