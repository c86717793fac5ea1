import * as tf from '@tensorflow/tfjs'

/**
 * A model's weights (and optionally its optimizer's state) as bytes plus a JSON description,
 * for the store's run_checkpoints rows and for tfjs LayersModel export.
 */
export interface EncodedModel {
  /** JSON: { modelTopology, weightSpecs, optimizerSpecs? } */
  topology: string
  weights: Uint8Array
  optimizer: Uint8Array | null
  /** The moving average of the weights, in the layout of `weights` (the same specs). */
  ema?: Uint8Array | null
}

interface TopologyJson {
  modelTopology: object
  weightSpecs: tf.io.WeightsManifestEntry[]
  optimizerSpecs?: tf.io.WeightsManifestEntry[]
}

function concat(data: tf.io.WeightData): Uint8Array {
  const parts = Array.isArray(data) ? data : [data]
  const total = parts.reduce((n, b) => n + b.byteLength, 0)
  const out = new Uint8Array(total)
  let at = 0
  for (const b of parts) {
    out.set(new Uint8Array(b), at)
    at += b.byteLength
  }
  return out
}

export async function encodeModel(
  model: tf.LayersModel,
  optimizer?: tf.Optimizer,
  ema?: readonly tf.Tensor[] | null,
): Promise<EncodedModel> {
  let artifacts: tf.io.ModelArtifacts | null = null
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
    }),
  )
  const a = artifacts as unknown as tf.io.ModelArtifacts
  const topo: TopologyJson = { modelTopology: a.modelTopology as object, weightSpecs: a.weightSpecs! }
  let opt: Uint8Array | null = null
  if (optimizer) {
    const named = await optimizer.getWeights()
    const enc = await tf.io.encodeWeights(named)
    // getWeights makes a new scalar for the step count; the rest are the optimizer's own variables.
    tf.dispose(named.filter((n) => n.name === 'iter').map((n) => n.tensor))
    topo.optimizerSpecs = enc.specs
    opt = new Uint8Array(enc.data)
  }
  let averaged: Uint8Array | null = null
  if (ema) {
    const enc = await tf.io.encodeWeights(topo.weightSpecs.map((s, i) => ({ name: s.name, tensor: ema[i]! })))
    averaged = new Uint8Array(enc.data)
  }
  return { topology: JSON.stringify(topo), weights: concat(a.weightData!), optimizer: opt, ema: averaged }
}

const toArrayBuffer = (b: Uint8Array) =>
  b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer

/** The weights in the model's own order (names depend on layer counters, so order is what counts). */
export function decodeWeights(e: Pick<EncodedModel, 'topology' | 'weights'>): tf.Tensor[] {
  const topo = JSON.parse(e.topology) as TopologyJson
  const map = tf.io.decodeWeights(toArrayBuffer(e.weights), topo.weightSpecs)
  return topo.weightSpecs.map((s) => map[s.name]!)
}

/** The moving average of the weights, in the model's order; null where the checkpoint has none. */
export function decodeEma(e: Pick<EncodedModel, 'topology' | 'ema'>): tf.Tensor[] | null {
  if (!e.ema) return null
  return decodeWeights({ topology: e.topology, weights: e.ema })
}

export function decodeOptimizer(e: EncodedModel): { name: string; tensor: tf.Tensor }[] {
  const topo = JSON.parse(e.topology) as TopologyJson
  if (!e.optimizer || !topo.optimizerSpecs) return []
  const map = tf.io.decodeWeights(toArrayBuffer(e.optimizer), topo.optimizerSpecs)
  return topo.optimizerSpecs.map((s) => ({ name: s.name, tensor: map[s.name]! }))
}

/**
 * A LayersModel rebuilt from its topology and weights (imported or exported models, predictions):
 * the moving average of the weights where the checkpoint keeps one, since that is what the run
 * evaluated with.
 */
export async function loadModel(
  e: Pick<EncodedModel, 'topology' | 'weights'> & { ema?: Uint8Array | null },
): Promise<tf.LayersModel> {
  const topo = JSON.parse(e.topology) as TopologyJson
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: topo.modelTopology,
      weightSpecs: topo.weightSpecs,
      weightData: toArrayBuffer(e.ema ?? e.weights),
    }),
  )
}
