/**
 * What the app's own process needs to know of transfer learning before a run (no tfjs here): the
 * model's name, its input and its normalisation.
 */

export const TRANSFER_MODEL = 'transfer-mobilenet-v2'
/** MobileNetV2 takes RGB in [-1, 1]. */
export const TRANSFER_NORMALIZE = { mean: 0.5, std: 0.5 }
/** Rows cached per training image: the image, then augmented copies. */
export const TRANSFER_VIEWS = 4
/** The smallest side the backbone takes (it downsamples by 32). */
export const TRANSFER_MIN_SIDE = 32

/**
 * The input for a project whose most common image size is `d`: RGB, square, the longer side
 * rounded to 32s, between 96 and 224 px (MobileNetV2's native size; larger costs time, smaller
 * loses what it learnt at photo scale).
 */
export function transferInput(d: { width: number; height: number }): {
  width: number
  height: number
  channels: 3
} {
  const side = Math.min(224, Math.max(96, Math.round(Math.max(d.width, d.height) / 32) * 32))
  return { width: side, height: side, channels: 3 }
}
