import { describe, expect, it } from 'vitest'
import {
  accuracyOf,
  argMin,
  confusionMatrix,
  perClassAccuracy,
  topK,
} from '../../src-main/train/tasks/classify/metrics'
import { checkStack } from '../../src-main/train/tasks/classify/models/shapes'
import { PRESETS } from '../../src-main/train/tasks/classify/models/presets'

describe('metrics', () => {
  it('top-k: best first, ties to the lower index', () => {
    const p = [0.1, 0.5, 0.2, 0.2, 0.0, 0.7, 0.1, 0.1]
    expect(topK(p, 0, 4, 3)).toEqual([
      { index: 1, score: 0.5 },
      { index: 2, score: 0.2 },
      { index: 3, score: 0.2 },
    ])
    expect(topK(p, 4, 4, 2)).toEqual([
      { index: 1, score: 0.7 },
      { index: 2, score: 0.1 },
    ])
  })

  it('confusion matrix, accuracy and per-class accuracy', () => {
    const truth = [0, 0, 0, 1, 1, 2]
    const pred = [0, 0, 1, 1, 2, 2]
    const m = confusionMatrix(truth, pred, 3)
    expect(m).toEqual([
      [2, 1, 0],
      [0, 1, 1],
      [0, 0, 1],
    ])
    expect(accuracyOf(m)).toBeCloseTo(4 / 6)
    expect(perClassAccuracy(m)).toEqual([
      { accuracy: 2 / 3, count: 3 },
      { accuracy: 0.5, count: 2 },
      { accuracy: 1, count: 1 },
    ])
  })

  it('finds the overfitting point (lowest validation loss), skipping gaps', () => {
    expect(argMin([0.9, 0.5, null, 0.4, 0.6])).toBe(3)
    expect(argMin([])).toBe(-1)
  })
})

describe('model stacks', () => {
  it('gives the seed CNN its 320 flattened features on 28×28 (as in the write-up)', () => {
    const cnn = PRESETS['seed-cnn'].layers
    const flattenAt = cnn.findIndex((l) => l.type === 'flatten')
    expect(checkStack(cnn.slice(0, flattenAt + 1), { width: 28, height: 28, channels: 1 })).toBe(320)
  })

  it('takes cats vs dogs from 180×180 down to 7×7×256 before the classifier', () => {
    const l = PRESETS['seed-cats-dogs'].layers
    expect(
      checkStack(l.slice(0, l.findIndex((x) => x.type === 'flatten') + 1), {
        width: 180,
        height: 180,
        channels: 3,
      }),
    ).toBe(7 * 7 * 256)
  })

  it('refuses a stack that does not fit the input, naming the layer', () => {
    expect(() => checkStack(PRESETS['seed-cnn'].layers, { width: 8, height: 8, channels: 1 })).toThrow(
      /layer \d+ \((conv|pool)\)/,
    )
    expect(() =>
      checkStack([{ type: 'flatten' }, { type: 'conv', filters: 4, kernel: 3 }], {
        width: 8,
        height: 8,
        channels: 1,
      }),
    ).toThrow(/cannot follow a flatten/)
  })
})
