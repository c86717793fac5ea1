import * as tf from '@tensorflow/tfjs'

/**
 * PyTorch's default initialisation for Linear and Conv2d layers (kaiming_uniform with a=√5):
 * weights and biases both ~ U(-1/√fan_in, 1/√fan_in). tfjs' defaults (Glorot weights, zero
 * biases) train the seed recipes noticeably slower in their first epochs, so the seed presets use
 * these to match the write-ups' numbers.
 */
export function torchInit(fanIn: number, seed: number) {
  const bound = 1 / Math.sqrt(fanIn)
  return {
    kernelInitializer: tf.initializers.varianceScaling({
      scale: 1 / 3,
      mode: 'fanIn',
      distribution: 'uniform',
      seed,
    }),
    biasInitializer: tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: seed + 1 }),
  }
}
