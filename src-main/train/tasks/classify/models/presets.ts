import type { ClassifyConfig, LayerSpec, ModelPreset } from '../../../../../src-shared/api/train'

/**
 * The seed recipes, as layer stacks (the output layer is added by the builder) and training
 * settings. See shared SEED-RECIPES.md for the write-ups they reproduce.
 */
export interface Preset {
  description: string
  layers: LayerSpec[]
  input?: { width: number; height: number; channels: 1 | 3 }
  config: Omit<ClassifyConfig, 'task' | 'model' | 'layers'>
}

const conv = (filters: number, kernel: number, activation: 'relu' | 'linear' = 'linear'): LayerSpec => ({
  type: 'conv',
  filters,
  kernel,
  activation,
})

/** The fixed presets (`auto` is chosen per project: see auto.ts; `custom` is the user's stack). */
export const PRESETS: Record<Exclude<ModelPreset, 'custom' | 'auto'>, Preset> = {
  'seed-mlp': {
    description: 'MNIST MLP (seed 004): 784 → 512 ReLU → 10; SGD lr 0.1, batch 20, 10 epochs; about 97%',
    layers: [{ type: 'flatten' }, { type: 'dense', units: 512, activation: 'relu' }],
    input: { width: 28, height: 28, channels: 1 },
    config: { optimizer: 'sgd', learningRate: 0.1, momentum: 0, batchSize: 20, epochs: 10, init: 'torch' },
  },
  'seed-mlp-dropout': {
    description:
      'MNIST MLP with dropout (seed 004): 784 → 512 → dropout 0.3 → 120 → 84 → 10; Adam 1e-3; about 98%',
    layers: [
      { type: 'flatten' },
      { type: 'dense', units: 512, activation: 'relu' },
      { type: 'dropout', rate: 0.3 },
      { type: 'dense', units: 120, activation: 'relu' },
      { type: 'dense', units: 84, activation: 'relu' },
    ],
    input: { width: 28, height: 28, channels: 1 },
    config: { optimizer: 'adam', learningRate: 1e-3, batchSize: 20, epochs: 10, init: 'torch' },
  },
  'seed-cnn': {
    description:
      'Fashion-MNIST CNN (seed 002): conv 10@5×5, pool, ReLU, conv 20@5×5, pool, ReLU, fc 50, dropout 0.5, fc 10; SGD 0.01 m0.5, batch 64; 89.65% after 40 epochs',
    layers: [
      conv(10, 5),
      { type: 'pool', kind: 'max', size: 2 },
      { type: 'activation', fn: 'relu' },
      conv(20, 5),
      { type: 'pool', kind: 'max', size: 2 },
      { type: 'activation', fn: 'relu' },
      { type: 'flatten' },
      { type: 'dense', units: 50, activation: 'relu' },
      { type: 'dropout', rate: 0.5 },
    ],
    input: { width: 28, height: 28, channels: 1 },
    config: {
      optimizer: 'sgd',
      learningRate: 0.01,
      momentum: 0.5,
      batchSize: 64,
      epochs: 40,
      normalize: { mean: 0.1307, std: 0.3081 },
      init: 'torch',
      testEachEpoch: true,
    },
  },
  'seed-cnn-bn': {
    description:
      'MNIST study (seed 003): conv 64,64, pool, BN; conv 128,128, pool, BN; conv 256, pool, BN; dense 512; Adam 1e-3, batch 128, early stopping',
    layers: [
      conv(64, 3, 'relu'),
      conv(64, 3, 'relu'),
      { type: 'pool', kind: 'max', size: 2 },
      { type: 'batchnorm' },
      conv(128, 3, 'relu'),
      conv(128, 3, 'relu'),
      { type: 'pool', kind: 'max', size: 2 },
      { type: 'batchnorm' },
      { type: 'conv', filters: 256, kernel: 3, padding: 'same', activation: 'relu' },
      { type: 'pool', kind: 'max', size: 2 },
      { type: 'batchnorm' },
      { type: 'flatten' },
      { type: 'dense', units: 512, activation: 'relu' },
      { type: 'dropout', rate: 0.3 },
    ],
    input: { width: 28, height: 28, channels: 1 },
    config: {
      optimizer: 'adam',
      learningRate: 1e-3,
      batchSize: 128,
      epochs: 20,
      earlyStopping: { patience: 3 },
      init: 'keras',
    },
  },
  // Transfer learning (the cats-vs-dogs write-up's next step): the network is the pretrained backbone
  // plus a dense head (../transfer/), so there is no stack here; these are the head's settings.
  'transfer-mobilenet-v2': {
    description:
      'Transfer learning: MobileNetV2 pretrained on photos (nsfwjs, MIT), frozen; its features cached once per image and 3 augmented views; a dense head trained on them with Adam and early stopping',
    layers: [],
    config: {
      optimizer: 'adam',
      learningRate: 1e-3,
      batchSize: 32,
      epochs: 40,
      earlyStopping: { patience: 8 },
      weightDecay: 1e-4,
      normalize: { mean: 0.5, std: 0.5 },
      augment: { hflip: true, rotationDeg: 10, zoom: 0.15, translate: 0.1 },
      init: 'keras',
    },
  },
  'seed-cats-dogs': {
    description:
      'Cats vs dogs (seed 001): 180×180 RGB, conv 32/64/128/256/256 3×3 with 2×2 pools, dropout 0.5, dense; RMSprop; flip/rotate 0.1/zoom 0.2',
    layers: [
      conv(32, 3, 'relu'),
      { type: 'pool', kind: 'max', size: 2 },
      conv(64, 3, 'relu'),
      { type: 'pool', kind: 'max', size: 2 },
      conv(128, 3, 'relu'),
      { type: 'pool', kind: 'max', size: 2 },
      conv(256, 3, 'relu'),
      { type: 'pool', kind: 'max', size: 2 },
      conv(256, 3, 'relu'),
      { type: 'flatten' },
      { type: 'dropout', rate: 0.5 },
    ],
    input: { width: 180, height: 180, channels: 3 },
    config: {
      optimizer: 'rmsprop',
      learningRate: 1e-3,
      batchSize: 32,
      epochs: 100,
      init: 'keras',
      augment: { hflip: true, rotationDeg: 36, zoom: 0.2 },
    },
  },
}

/** Augmentation presets with the write-ups' ranges: one table, shared with the UI. */
export { AUGMENT_PRESET_CONFIGS } from '../../../../../src-shared/domain/augment-presets'
