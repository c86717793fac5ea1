import type { Migration } from './index'

/**
 * Training becomes a set of tasks (classify, detect, segment):
 * - every stored classification config names its task;
 * - per-epoch metrics take the general shape `{ loss, valLoss, metrics: {name: value} }`, the
 *   classification figures moving into `metrics` (nulls, never measured, are left out);
 * - checkpoints can carry the exponential moving average of the weights that a run evaluates
 *   and predicts with;
 * - annotations can be COCO crowd regions (`iscrowd`), kept on import and export and ignored by
 *   training and evaluation as COCO does;
 * - predictions are looked up per image across epochs (the flipbooks), so they get that index.
 */
export const m0002: Migration = {
  version: 2,
  name: 'tasks',
  up: `
    UPDATE runs SET config = json_set(config, '$.task', 'classify')
      WHERE json_valid(config) AND json_extract(config, '$.task') IS NULL
        AND json_extract(config, '$.model') IS NOT NULL;

    UPDATE run_epochs SET metrics = json_remove(
        json_set(metrics, '$.metrics', json(json_patch('{}', json_object(
          'accuracy', json_extract(metrics, '$.acc'),
          'val_accuracy', json_extract(metrics, '$.valAcc'),
          'test_loss', json_extract(metrics, '$.testLoss'),
          'test_accuracy', json_extract(metrics, '$.testAcc'))))),
        '$.acc', '$.valAcc', '$.testLoss', '$.testAcc')
      WHERE json_valid(metrics) AND json_extract(metrics, '$.metrics') IS NULL;

    ALTER TABLE run_checkpoints ADD COLUMN ema BLOB;

    ALTER TABLE annotations ADD COLUMN crowd INTEGER NOT NULL DEFAULT 0 CHECK (crowd IN (0, 1));

    CREATE INDEX predictions_run_image ON predictions (run_id, image_id, epoch);
  `,
}
