/** Small numeric helpers shared by the store, the trainer and the UI. */

/** Index of the lowest value (the overfitting point for validation loss); -1 when empty. */
export function argMin(values: readonly (number | null)[]): number {
  let best = -1
  values.forEach((v, i) => {
    if (v !== null && Number.isFinite(v) && (best < 0 || v < values[best]!)) best = i
  })
  return best
}

/** Index of the highest value (the best epoch by mAP); -1 when empty. */
export function argMax(values: readonly (number | null)[]): number {
  return argMin(values.map((v) => (v === null ? null : -v)))
}
