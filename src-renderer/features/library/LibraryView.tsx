import { useState } from 'react'
import type { ProjectSummary } from '../../../src-shared/api/contract'
import type { ClassLabel, Split } from '../../../src-shared/domain/types'
import { SPLITS } from '../../../src-shared/domain/types'
import { call } from '../../app/api-client'
import { ImageGrid } from './ImageGrid'
import { PrelabelSelection } from './PrelabelSelection'

export interface Filter {
  split?: Split
  /** undefined: all; null: no class */
  classId?: number | null
}

/** The image library: filters by split and class, the thumbnail grid, and moving images between splits. */
export function LibraryView({
  project,
  classes,
  onChanged,
  onImport,
  onOpenImage,
  onReviewImage,
}: {
  project: ProjectSummary
  classes: ClassLabel[]
  onChanged: () => Promise<void>
  onImport: () => void
  onOpenImage: (imageId: number) => void
  /** Opens an image in the editor with a run's predictions shown (after pre-labelling). */
  onReviewImage: (imageId: number, runId: number) => void
}) {
  const [filter, setFilter] = useState<Filter>({})
  const [selection, setSelection] = useState<Set<number>>(new Set())
  const [error, setError] = useState<string | null>(null)
  const c = project.counts

  const moveSelection = async (split: Split) => {
    try {
      await call('images.setSplit', { ids: [...selection], split })
      setSelection(new Set())
      await onChanged()
    } catch (e) {
      setError((e as Error).message)
    }
  }

  const classCount = (id: number | null) => c.byClass.find((k) => k.classId === id)?.count ?? 0

  return (
    <div className="body">
      <aside className="sidebar">
        <h3>Split</h3>
        <ul className="filters" data-testid="split-filter">
          <li>
            <button
              className={!filter.split ? 'on' : ''}
              onClick={() => setFilter({ ...filter, split: undefined })}
            >
              All <span className="n">{c.images}</span>
            </button>
          </li>
          {SPLITS.map((s) => (
            <li key={s}>
              <button
                className={filter.split === s ? 'on' : ''}
                onClick={() => setFilter({ ...filter, split: s })}
              >
                {s} <span className="n">{c.bySplit[s] ?? 0}</span>
              </button>
            </li>
          ))}
        </ul>
        <h3>Class</h3>
        <ul className="filters" data-testid="class-filter">
          <li>
            <button
              className={filter.classId === undefined ? 'on' : ''}
              onClick={() => setFilter({ ...filter, classId: undefined })}
            >
              All classes
            </button>
          </li>
          {classes.map((k) => (
            <li key={k.id}>
              <button
                className={filter.classId === k.id ? 'on' : ''}
                onClick={() => setFilter({ ...filter, classId: k.id })}
              >
                <span className="swatch" style={{ background: k.color }} />
                {k.name} <span className="n">{classCount(k.id)}</span>
              </button>
            </li>
          ))}
          {classCount(null) > 0 && (
            <li>
              <button
                className={filter.classId === null ? 'on' : ''}
                onClick={() => setFilter({ ...filter, classId: null })}
              >
                (no class) <span className="n">{classCount(null)}</span>
              </button>
            </li>
          )}
        </ul>
      </aside>
      <main className="main">
        {error && (
          <div className="banner error" role="alert">
            {error} <button onClick={() => setError(null)}>Dismiss</button>
          </div>
        )}
        {c.images === 0 ? (
          <div className="empty">
            <p>This project has no images yet.</p>
            <button className="primary" onClick={onImport}>
              Import images…
            </button>
          </div>
        ) : (
          <ImageGrid
            key={`${filter.split ?? ''}:${String(filter.classId)}`}
            filter={filter}
            classes={classes}
            selection={selection}
            onSelectionChange={setSelection}
            onOpen={onOpenImage}
          />
        )}
        {selection.size > 0 && (
          <div className="selectionbar" data-testid="selection-bar">
            <span>{selection.size} selected</span>
            <span className="muted">Move to</span>
            {SPLITS.map((s) => (
              <button key={s} onClick={() => void moveSelection(s)}>
                {s}
              </button>
            ))}
            <PrelabelSelection ids={[...selection]} onReview={onReviewImage} />
            <button onClick={() => setSelection(new Set())}>Clear</button>
          </div>
        )}
      </main>
    </div>
  )
}
