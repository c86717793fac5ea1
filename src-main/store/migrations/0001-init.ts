import type { Migration } from './index'

/**
 * The first schema. It already holds what labeling, training and review need, so later work adds
 * rows, not tables: images (content hash, size, split, source, status), their bytes and thumbnails,
 * classes with colours, annotations (tag | box | polygon | mask, geometry normalised to the image,
 * masks as RLE), training runs, per-epoch metrics, checkpoints and predictions.
 */
export const m0001: Migration = {
  version: 1,
  name: 'init',
  up: `
    CREATE TABLE meta (
      key   TEXT PRIMARY KEY,
      value TEXT NOT NULL
    );

    CREATE TABLE classes (
      id         INTEGER PRIMARY KEY,
      name       TEXT NOT NULL UNIQUE,
      color      TEXT NOT NULL,
      position   INTEGER NOT NULL,
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );

    CREATE TABLE images (
      id         INTEGER PRIMARY KEY,
      hash       TEXT NOT NULL UNIQUE,
      width      INTEGER NOT NULL CHECK (width > 0),
      height     INTEGER NOT NULL CHECK (height > 0),
      channels   INTEGER NOT NULL CHECK (channels BETWEEN 1 AND 4),
      format     TEXT NOT NULL,
      byte_size  INTEGER NOT NULL,
      split      TEXT NOT NULL DEFAULT 'train' CHECK (split IN ('train','val','test')),
      split_locked INTEGER NOT NULL DEFAULT 0,
      status     TEXT NOT NULL DEFAULT 'unlabeled' CHECK (status IN ('unlabeled','labeled','reviewed')),
      source     TEXT NOT NULL,
      added_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );
    CREATE INDEX images_split ON images (split, id);

    -- The image as imported (or, for IDX, losslessly encoded as PNG), and its thumbnail.
    -- Kept apart from images so that scans of image rows stay small.
    CREATE TABLE image_data (
      image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
      bytes    BLOB NOT NULL
    );
    CREATE TABLE thumbnails (
      image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
      mime     TEXT NOT NULL,
      bytes    BLOB NOT NULL
    );

    -- geometry is JSON, normalised to the image (0..1): tag {} | box {x,y,w,h} |
    -- polygon {points:[[x,y],...]} | mask {rle:{size:[h,w],counts:[...]}}.
    CREATE TABLE annotations (
      id         INTEGER PRIMARY KEY,
      image_id   INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
      class_id   INTEGER REFERENCES classes (id) ON DELETE RESTRICT,
      kind       TEXT NOT NULL CHECK (kind IN ('tag','box','polygon','mask')),
      geometry   TEXT NOT NULL DEFAULT '{}',
      z          INTEGER NOT NULL DEFAULT 0,
      hidden     INTEGER NOT NULL DEFAULT 0,
      locked     INTEGER NOT NULL DEFAULT 0,
      origin     TEXT NOT NULL DEFAULT 'user' CHECK (origin IN ('user','import','model')),
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
      updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );
    CREATE INDEX annotations_image ON annotations (image_id, kind);
    CREATE INDEX annotations_class ON annotations (class_id, kind, image_id);
    -- One class tag per image.
    CREATE UNIQUE INDEX annotations_one_tag ON annotations (image_id) WHERE kind = 'tag';

    CREATE TABLE runs (
      id          INTEGER PRIMARY KEY,
      name        TEXT NOT NULL,
      task        TEXT NOT NULL CHECK (task IN ('classify','detect','segment')),
      status      TEXT NOT NULL CHECK (status IN ('queued','running','cancelled','failed','done')),
      config      TEXT NOT NULL,
      backend     TEXT,
      summary     TEXT,
      error       TEXT,
      created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
      started_at  TEXT,
      finished_at TEXT
    );

    CREATE TABLE run_epochs (
      run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      epoch   INTEGER NOT NULL,
      metrics TEXT NOT NULL,
      at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
      PRIMARY KEY (run_id, epoch)
    );

    CREATE TABLE run_checkpoints (
      run_id   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      epoch    INTEGER NOT NULL,
      topology TEXT NOT NULL,
      weights  BLOB NOT NULL,
      optimizer BLOB,
      PRIMARY KEY (run_id, epoch)
    );

    -- One row per predicted class (classification: top-k) or region (detection / segmentation).
    CREATE TABLE predictions (
      id       INTEGER PRIMARY KEY,
      run_id   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      epoch    INTEGER NOT NULL,
      image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
      kind     TEXT NOT NULL CHECK (kind IN ('tag','box','polygon','mask')),
      class_id INTEGER REFERENCES classes (id) ON DELETE SET NULL,
      score    REAL NOT NULL,
      rank     INTEGER NOT NULL DEFAULT 0,
      geometry TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX predictions_run ON predictions (run_id, epoch, image_id);
  `,
}
