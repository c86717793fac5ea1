/**
 * tfjs LayersModel files (model.json + weights.bin) to and from a stored checkpoint. Plain JSON and
 * bytes, no tfjs import: the app's main process exports and imports models without loading tfjs.
 */

interface WeightSpec {
  name: string
  shape: number[]
  dtype: string
}

export interface StoredModel {
  /** JSON: { modelTopology, weightSpecs, optimizerSpecs? } */
  topology: string
  weights: Uint8Array
  /** The moving average of the weights, where the run kept one. */
  ema?: Uint8Array | null
}

export function toLayersModelFiles(e: StoredModel): { modelJson: string; weightsBin: Uint8Array } {
  const topo = JSON.parse(e.topology) as { modelTopology: object; weightSpecs: WeightSpec[] }
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'Smallset',
    convertedBy: null,
    modelTopology: topo.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: topo.weightSpecs }],
  }
  // The weights a run evaluates and predicts with: their moving average, where it keeps one.
  return { modelJson: JSON.stringify(modelJson), weightsBin: e.ema ?? e.weights }
}

/** The weight files a model.json names, in order. */
export function weightPaths(modelJson: string): string[] {
  const m = JSON.parse(modelJson) as { weightsManifest?: { paths: string[] }[] }
  return (m.weightsManifest ?? []).flatMap((g) => g.paths)
}

export function fromLayersModelFiles(modelJson: string, weightFiles: Uint8Array[]): StoredModel {
  let m: { modelTopology?: object; weightsManifest?: { paths: string[]; weights: WeightSpec[] }[] }
  try {
    m = JSON.parse(modelJson)
  } catch (e) {
    throw new Error(`model.json is not JSON: ${(e as Error).message}`, { cause: e })
  }
  if (!m.modelTopology || !m.weightsManifest) {
    throw new Error('model.json is not a tfjs LayersModel (modelTopology or weightsManifest is missing)')
  }
  const weightSpecs = m.weightsManifest.flatMap((g) => g.weights)
  const total = weightFiles.reduce((n, b) => n + b.byteLength, 0)
  const weights = new Uint8Array(total)
  let at = 0
  for (const b of weightFiles) {
    weights.set(b, at)
    at += b.byteLength
  }
  const bytesPer: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1 }
  const expected = weightSpecs.reduce(
    (n, s) => n + s.shape.reduce((a, b) => a * b, 1) * (bytesPer[s.dtype] ?? 4),
    0,
  )
  if (expected !== total)
    throw new Error(`the weight files hold ${total} bytes but model.json describes ${expected}`)
  return { topology: JSON.stringify({ modelTopology: m.modelTopology, weightSpecs }), weights }
}
