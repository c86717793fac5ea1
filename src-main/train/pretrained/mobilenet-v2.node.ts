import { createRequire } from 'node:module'
import path from 'node:path'
import type * as tf from '@tensorflow/tfjs'
import type { LayerJson, ModelArtifacts, TopologyJson } from './artifacts'

/**
 * The pretrained image backbone every task may use: MobileNetV2 (α 1.0) as the npm package `nsfwjs`
 * 4.3 ships it (MIT). Its upstream, GantMan/nsfw_model (MIT), fine-tuned ImageNet-initialised
 * MobileNetV2 on a 5-class photo set, so its low and middle blocks are general photo features. The
 * weights (3.5 MB, uint8-quantised) are read from the package on disk: nothing is downloaded. It takes
 * RGB in [-1, 1] at any size.
 */

export const MOBILENET_V2_NAME = 'MobileNetV2 (nsfwjs 4.3, MIT)'

const require = createRequire(__filename)

let artifacts: ModelArtifacts | null = null

/** The package's model files, read once per process. */
function packageArtifacts(): ModelArtifacts {
  if (artifacts) return artifacts
  // The package's `exports` names its code only: find its files from its main entry.
  const dist = path.resolve(path.dirname(require.resolve('nsfwjs')), '..')
  const json = require(path.join(dist, 'models', 'mobilenet_v2', 'model.min.js')) as {
    modelTopology: TopologyJson
    weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[]
  }
  const weights = Buffer.from(
    require(path.join(dist, 'models', 'mobilenet_v2', 'group1-shard1of1.min.js')) as string,
    'base64',
  )
  artifacts = {
    topology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((m) => m.weights),
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  }
  return artifacts
}

/**
 * The backbone's topology cut after layer `last` (its output), for inputs of any size with
 * `channels` channels, plus the package's weights. `extra` layers are appended to the topology as
 * they are (they may take `last` as input); the last of them becomes the output.
 */
export function mobileNetV2Artifacts(last: string, extra: LayerJson[] = []): ModelArtifacts {
  const a = packageArtifacts()
  const topology = structuredClone(a.topology)
  const config = topology.model_config.config
  config.layers[0]!.config.batch_input_shape = [null, null, null, 3]
  const cut = config.layers.findIndex((l) => l.name === last)
  if (cut < 0) throw new Error(`MobileNetV2 has no layer ${last}`)
  config.layers = [...config.layers.slice(0, cut + 1), ...extra]
  const out = config.layers[config.layers.length - 1]!
  config.output_layers = [[out.name ?? out.config.name!, 0, 0]]
  return { topology, weightSpecs: a.weightSpecs, weightData: a.weightData }
}
