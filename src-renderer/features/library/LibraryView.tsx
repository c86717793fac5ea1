import { useCallback, useEffect, useState } from 'react'
import type { ProjectSummary } from '../../../src-shared/api/contract'
import type { ClassLabel, Split } from '../../../src-shared/domain/types'
import { SPLITS } from '../../../src-shared/domain/types'
import { call } from '../../app/api-client'
import { ImportDialog } from '../import/ImportDialog'
import { ImageGrid } from './ImageGrid'
import { ResplitDialog } from './ResplitDialog'

export interface Filter {
  split?: Split
  /** undefined: all; null: no class */
  classId?: number | null
}

/** A project at a glance: counts, filters by split and class, and the thumbnail grid. */
export function LibraryView({
  project,
  onChanged,
  onCloseProject,
}: {
  project: ProjectSummary
  onChanged: () => Promise<void>
  onCloseProject: () => void
}) {
  const [classes, setClasses] = useState<ClassLabel[]>([])
  const [filter, setFilter] = useState<Filter>({})
  const [dialog, setDialog] = useState<'import' | 'resplit' | null>(null)
  const [selection, setSelection] = useState<Set<number>>(new Set())
  const [generation, setGeneration] = useState(0)
  const [error, setError] = useState<string | null>(null)
  const c = project.counts

  useEffect(() => {
    call('classes.list', {}).then(setClasses, (e: Error) => setError(e.message))
  }, [project])

  const changed = useCallback(async () => {
    setSelection(new Set())
    setGeneration((g) => g + 1)
    await onChanged()
  }, [onChanged])

  const moveSelection = async (split: Split) => {
    try {
      await call('images.setSplit', { ids: [...selection], split })
      await changed()
    } catch (e) {
      setError((e as Error).message)
    }
  }

  const classCount = (id: number | null) => c.byClass.find((k) => k.classId === id)?.count ?? 0

  return (
    <div className="library">
      <header className="topbar">
        <div className="title">
          <strong data-testid="project-name">{project.name}</strong>
          <span className="muted path">{project.dir}</span>
        </div>
        <div className="stats" data-testid="counts">
          <span className="stat">
            <b data-testid="count-images">{c.images.toLocaleString('en')}</b> images
          </span>
          {SPLITS.map((s) => (
            <span key={s} className={`stat split-${s}`}>
              <b data-testid={`count-${s}`}>{(c.bySplit[s] ?? 0).toLocaleString('en')}</b> {s}
            </span>
          ))}
          <span className="stat">
            <b>{classes.length}</b> classes
          </span>
          {Object.entries(c.byAnnotationKind)
            .filter(([k]) => k !== 'tag')
            .map(([k, v]) => (
              <span key={k} className="stat">
                <b>{v}</b> {k}es
              </span>
            ))}
        </div>
        <div className="actions">
          <button className="primary" onClick={() => setDialog('import')}>
            Import…
          </button>
          <button onClick={() => setDialog('resplit')} disabled={!c.images}>
            Re-split…
          </button>
          <button onClick={onCloseProject}>Switch project</button>
        </div>
      </header>
      {error && (
        <div className="banner error" role="alert">
          {error} <button onClick={() => setError(null)}>Dismiss</button>
        </div>
      )}
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
          {c.images === 0 ? (
            <div className="empty">
              <p>This project has no images yet.</p>
              <button className="primary" onClick={() => setDialog('import')}>
                Import images…
              </button>
            </div>
          ) : (
            <ImageGrid
              key={`${generation}:${filter.split ?? ''}:${String(filter.classId)}`}
              filter={filter}
              classes={classes}
              selection={selection}
              onSelectionChange={setSelection}
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
              <button onClick={() => setSelection(new Set())}>Clear</button>
            </div>
          )}
        </main>
      </div>
      {dialog === 'import' && <ImportDialog onClose={() => setDialog(null)} onImported={changed} />}
      {dialog === 'resplit' && <ResplitDialog onClose={() => setDialog(null)} onDone={changed} />}
    </div>
  )
}
