/** Classification metrics over plain arrays: no tensors, so they are exact and easy to test. */

export interface Guess {
  /** Index into the model's classes. */
  index: number
  score: number
}

/** The k highest scores of one row of probabilities, best first (ties: lower index first). */
export function topK(probs: ArrayLike<number>, offset: number, numClasses: number, k: number): Guess[] {
  const out: Guess[] = []
  for (let c = 0; c < numClasses; c++) {
    const score = probs[offset + c]!
    let i = out.length
    while (i > 0 && out[i - 1]!.score < score) i--
    if (i < k) {
      out.splice(i, 0, { index: c, score })
      if (out.length > k) out.pop()
    }
  }
  return out
}

/** confusion[true][pred] counts. */
export function confusionMatrix(
  truth: ArrayLike<number>,
  pred: ArrayLike<number>,
  numClasses: number,
): number[][] {
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0))
  for (let i = 0; i < truth.length; i++) m[truth[i]!]![pred[i]!]!++
  return m
}

export function accuracyOf(confusion: number[][]): number {
  let right = 0
  let all = 0
  confusion.forEach((row, t) =>
    row.forEach((n, p) => {
      all += n
      if (t === p) right += n
    }),
  )
  return all ? right / all : 0
}

/** Recall per true class: the share of each class's samples predicted right. */
export function perClassAccuracy(confusion: number[][]): { accuracy: number; count: number }[] {
  return confusion.map((row, t) => {
    const count = row.reduce((a, b) => a + b, 0)
    return { accuracy: count ? row[t]! / count : 0, count }
  })
}

export { argMin } from '../../../../src-shared/domain/stats'
