import { ApiError } from '../../../src-shared/api/contract'
import type { TrainConfigParsed } from '../../../src-shared/api/train'
import type { DB } from '../../store/open'
import { taggedClasses } from './dataset'

/** Checks that the project can train this config: classes, splits, sizes. Throws a clear ApiError. */
export function checkTrainable(db: DB, c: TrainConfigParsed): { classIds: number[]; notes: string[] } {
  const classes = taggedClasses(db).filter((k) => (k.bySplit.train ?? 0) > 0)
  if (classes.length < 2) {
    throw new ApiError(
      'bad_input',
      `Training needs at least 2 classes with tagged images in the train split; this project has ${classes.length}.`,
    )
  }
  const total = (s: string) => classes.reduce((n, k) => n + (k.bySplit[s] ?? 0), 0)
  const notes: string[] = []
  if (total('train') === 0) throw new ApiError('bad_input', 'The train split is empty.')
  if (c.validation === 'val' && total('val') === 0) {
    throw new ApiError(
      'bad_input',
      'The val split is empty: re-split the project, or validate on the test split or on a fraction of train.',
    )
  }
  if (typeof c.validation === 'number') {
    const held = classes.reduce(
      (n, k) => n + Math.round((k.bySplit.train ?? 0) * (c.validation as number)),
      0,
    )
    if (held === 0) {
      throw new ApiError(
        'bad_input',
        `Holding out ${c.validation} of train leaves no validation images: hold out more, or use the val split.`,
      )
    }
  }
  if (total('test') === 0)
    throw new ApiError(
      'bad_input',
      'The test split is empty: every run is evaluated on it. Re-split the project.',
    )
  if (c.batchSize > total('train'))
    notes.push(`the batch size (${c.batchSize}) is larger than the train split (${total('train')})`)
  return { classIds: classes.map((k) => k.id), notes }
}
