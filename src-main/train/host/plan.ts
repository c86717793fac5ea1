import type { TrainConfigParsed } from '../../../src-shared/api/train'
import { ApiError } from '../../../src-shared/api/contract'
import type { DB } from '../../store/open'
import { PRESETS } from '../models/presets'
import { dominantInput, type InputSize } from './dataset'

/**
 * The model's input size: the config's, else the preset's fixed one (cats vs dogs: 180×180 RGB),
 * else the project's most common image size.
 */
export function resolveInput(db: DB, c: TrainConfigParsed): InputSize {
  if (c.input) return c.input
  if (c.model === 'seed-cats-dogs') return PRESETS['seed-cats-dogs'].input!
  const d = dominantInput(db)
  if (!d) throw new ApiError('bad_input', 'The project has no tagged images to train on.')
  return d
}
