import type { AUGMENT_PRESETS, AugmentConfig } from '../api/train'

/** A preset's name: `none`, or one of the seed write-ups' augmentations. */
export type AugmentPresetName = (typeof AUGMENT_PRESETS)[number]

/**
 * The augmentation presets, with the seed write-ups' ranges: one table for the trainer, the CLI and
 * the UI (src-main/train/models/presets.ts can re-export it).
 */
export const AUGMENT_PRESET_CONFIGS = {
  none: null,
  // seed 004: RandomAffine(45°, translate 0.1, scale 0.8–1.2) then RandomRotation 25, concatenated with the originals.
  'seed-mlp-affine': {
    rotationDeg: 45,
    translate: 0.1,
    scale: [0.8, 1.2] as [number, number],
    concatOriginal: true,
  },
  // seed 004's Keras variant: translate ±10 %, rotate ±15°, scale 0.9–1.1.
  'keras-affine': { rotationDeg: 15, translate: 0.1, scale: [0.9, 1.1] as [number, number] },
  // seed 001: RandomFlip horizontal, RandomRotation 0.1 (±36°), RandomZoom 0.2.
  'cats-dogs': { hflip: true, rotationDeg: 36, zoom: 0.2 },
} as const satisfies Record<AugmentPresetName, AugmentConfig | null>
