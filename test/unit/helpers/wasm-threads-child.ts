/**
 * Run in a child process by wasm-threads.test.ts (bundled first): starts the wasm backend with
 * SMALLSET_THREADS threads, trains a small CNN for a few seeded steps, and prints one JSON line with
 * the thread count, the backend's description, every batch loss and a checksum of the weights.
 */
import * as tf from '@tensorflow/tfjs'
import { ClassifyConfig } from '../../../src-shared/api/train'
import { selectBackend } from '../../../src-main/train/backends/select'
import { buildModel } from '../../../src-main/train/tasks/classify/models/builder'
import { trainClassifier } from '../../../src-main/train/tasks/classify/task'
import { quadrantSet } from '../train-helpers'

async function main(): Promise<void> {
  const info = await selectBackend({ packageName: null, detail: 'not installed' }, 'wasm')
  const threads = Number(/(\d+) threads?\)/.exec(info.tried.at(-1)!.detail)?.[1] ?? 0)
  const layers = [
    { type: 'conv' as const, filters: 16, kernel: 3, padding: 'same' as const, activation: 'relu' as const },
    { type: 'pool' as const, kind: 'max' as const, size: 2 },
    { type: 'conv' as const, filters: 32, kernel: 3, activation: 'relu' as const },
    { type: 'pool' as const, kind: 'max' as const, size: 2 },
    { type: 'flatten' as const },
    { type: 'dense' as const, units: 32, activation: 'relu' as const },
  ]
  const train = quadrantSet(96, 4, 3, 28)
  const config = ClassifyConfig.parse({
    task: 'classify',
    model: 'custom',
    layers,
    optimizer: 'sgd',
    learningRate: 0.05,
    momentum: 0.9,
    batchSize: 32,
    epochs: 3,
  })
  const model = buildModel(layers, {
    input: { width: 28, height: 28, channels: 1 },
    numClasses: 4,
    init: 'torch',
    seed: 7,
  })
  const losses: number[] = []
  await trainClassifier(model, { train, val: null, test: null, numClasses: 4 }, config, {
    onBatch: (p) => losses.push(p.loss),
  })
  let checksum = 0
  for (const w of model.getWeights()) {
    const v = await w.data()
    for (let i = 0; i < v.length; i++) checksum += v[i]! * ((i % 7) + 1)
  }
  process.stdout.write(
    JSON.stringify({ threads, detail: info.tried.at(-1)!.detail, losses, checksum }) + '\n',
  )
  tf.disposeVariables()
  process.exit(0)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
