import { m0001 } from './0001-init'
import { m0002 } from './0002-tasks'
import { m0003 } from './0003-model-labels'
import { m0004 } from './0004-region-attributes'

export interface Migration {
  version: number
  name: string
  /** SQL run inside the migration's transaction. */
  up: string
}

/** Every migration, in order. Versions are 1..n with no gaps; the test checks it. */
export const migrations: readonly Migration[] = [m0001, m0002, m0003, m0004]

export const LATEST_SCHEMA_VERSION = migrations[migrations.length - 1]!.version
