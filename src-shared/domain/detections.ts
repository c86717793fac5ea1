/**
 * What the per-epoch tables say of one image's detections (the seed-000 write-up's table): how
 * many are shown at a score threshold, and the highest and mean score. Pure: the trainer, the CLI
 * and the renderer all compute it the same way.
 */
export interface DetectionStats {
  /** Detections kept by the decoder (at most maxDetections, above its score floor). */
  total: number
  /** Of those, how many score at or above the threshold. */
  shown: number
  maxScore: number | null
  meanScore: number | null
}

export function detectionStats(scores: readonly { score: number }[], threshold: number): DetectionStats {
  let shown = 0
  let max = -Infinity
  let sum = 0
  for (const d of scores) {
    if (d.score >= threshold) shown++
    if (d.score > max) max = d.score
    sum += d.score
  }
  return {
    total: scores.length,
    shown,
    maxScore: scores.length ? max : null,
    meanScore: scores.length ? sum / scores.length : null,
  }
}
