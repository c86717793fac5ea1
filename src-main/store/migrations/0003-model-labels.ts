import type { Migration } from './index'

/**
 * Labels can come from a model: a prediction accepted in the editor is stored as an ordinary
 * annotation with origin 'model', the run it came from and its score then. Deleting the run keeps
 * the label (a person accepted it) and forgets the run.
 */
export const m0003: Migration = {
  version: 3,
  name: 'model-labels',
  up: `
    ALTER TABLE annotations ADD COLUMN source_run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL;
    ALTER TABLE annotations ADD COLUMN source_score REAL;
  `,
}
