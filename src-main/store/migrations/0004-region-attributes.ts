import type { Migration } from './index'

/**
 * Attributes a source gives a region beyond its shape and class, kept so an export can give them
 * back: Pascal VOC's `truncated`, `occluded` and `pose`, for instance. A JSON object of strings,
 * numbers and booleans; NULL where there are none.
 */
export const m0004: Migration = {
  version: 4,
  name: 'region-attributes',
  up: `
    ALTER TABLE annotations ADD COLUMN attributes TEXT;
  `,
}
