import { useCallback, useEffect, useState } from 'react'
import type { ProjectSummary } from '../../src-shared/api/contract'
import type { ClassLabel } from '../../src-shared/domain/types'
import { SPLITS } from '../../src-shared/domain/types'
import { api, call } from './api-client'
import { AnnotateView } from '../features/annotate/AnnotateView'
import { flushAnnotationEdits } from '../features/annotate/pending'
import { ExportDialog } from '../features/export/ExportDialog'
import { ImportDialog } from '../features/import/ImportDialog'
import { LibraryView } from '../features/library/LibraryView'
import { ResplitDialog } from '../features/library/ResplitDialog'
import { TrainView } from '../features/train/TrainView'

export type View =
  | { kind: 'library' }
  | { kind: 'annotate'; imageId: number | null; overlayRunId?: number }
  | { kind: 'train' }

/** An open project: its counts at a glance, the screens (library, annotate, train) and project actions. */
export function ProjectShell({
  project,
  onChanged,
  onCloseProject,
}: {
  project: ProjectSummary
  onChanged: () => Promise<void>
  onCloseProject: () => void
}) {
  const [view, setView] = useState<View>({ kind: 'library' })
  const [classes, setClasses] = useState<ClassLabel[]>([])
  const [dialog, setDialog] = useState<'import' | 'export' | 'resplit' | null>(null)
  const [generation, setGeneration] = useState(0)
  const [error, setError] = useState<string | null>(null)
  const c = project.counts

  useEffect(() => {
    call('classes.list', {}).then(setClasses, (e: Error) => setError(e.message))
  }, [project])

  // Edits made in the editor (or anywhere) change the classes and the counts shown up here:
  // classes at once, counts at most once a second while labeling goes on.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null
    const refreshSoon = () => {
      timer ??= setTimeout(() => {
        timer = null
        void onChanged()
      }, 1000)
    }
    const offs = [
      api.on('classes.changed', () => {
        call('classes.list', {}).then(setClasses, (e: Error) => setError(e.message))
        refreshSoon()
      }),
      api.on('annotations.changed', refreshSoon),
    ]
    return () => {
      offs.forEach((off) => off())
      if (timer) clearTimeout(timer)
    }
  }, [onChanged])

  /** After anything that changes images, classes or splits: refresh counts and reload the grid. */
  const changed = useCallback(async () => {
    setGeneration((g) => g + 1)
    await onChanged()
  }, [onChanged])

  const openWithRun = useCallback(
    (imageId: number, overlayRunId: number) => setView({ kind: 'annotate', imageId, overlayRunId }),
    [],
  )

  const readOnly = project.readOnly
  const tab = (kind: View['kind'], label: string, off = false) => (
    <button
      className={view.kind === kind ? 'tab on' : 'tab'}
      disabled={off}
      title={off ? 'This project is open read-only' : undefined}
      onClick={() => setView(kind === 'annotate' ? { kind, imageId: null } : ({ kind } as View))}
    >
      {label}
    </button>
  )

  return (
    <div className="library">
      <header className="topbar">
        <div className="title">
          <strong data-testid="project-name">{project.name}</strong>
          <span className="muted path">{project.dir}</span>
        </div>
        <nav className="tabs">
          {tab('library', 'Images')}
          {tab('annotate', 'Annotate', readOnly !== null)}
          {tab('train', 'Train', readOnly !== null)}
        </nav>
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
                <b>{v}</b> {v === 1 ? k : k === 'box' ? 'boxes' : `${k}s`}
              </span>
            ))}
        </div>
        <div className="actions">
          <button className="primary" onClick={() => setDialog('import')} disabled={readOnly !== null}>
            Import…
          </button>
          <button onClick={() => setDialog('export')} disabled={!c.images}>
            Export…
          </button>
          <button onClick={() => setDialog('resplit')} disabled={!c.images || readOnly !== null}>
            Re-split…
          </button>
          <button
            onClick={() =>
              flushAnnotationEdits()
                .then(() => call('project.close', {}))
                .then(onCloseProject, (e: Error) => setError(e.message))
            }
          >
            Switch project
          </button>
        </div>
      </header>
      {readOnly && (
        <div className="banner readonly" data-testid="read-only">
          Read-only: {readOnly}. You can look through the images and export them; importing, labelling and
          training are off.
        </div>
      )}
      {error && (
        <div className="banner error" role="alert">
          {error} <button onClick={() => setError(null)}>Dismiss</button>
        </div>
      )}
      {view.kind === 'library' && (
        <LibraryView
          key={generation}
          project={project}
          classes={classes}
          onChanged={changed}
          onImport={() => setDialog('import')}
          onOpenImage={(imageId) =>
            readOnly
              ? setError('This project is open read-only, so the editor is off.')
              : setView({ kind: 'annotate', imageId })
          }
          onReviewImage={(imageId, runId) =>
            readOnly
              ? setError('This project is open read-only, so the editor is off.')
              : openWithRun(imageId, runId)
          }
        />
      )}
      {view.kind === 'annotate' && (
        <AnnotateView
          project={project}
          imageId={view.imageId}
          overlayRunId={view.overlayRunId ?? null}
          onChanged={changed}
        />
      )}
      {view.kind === 'train' && <TrainView project={project} onChanged={changed} onOpenImage={openWithRun} />}
      {dialog === 'import' && <ImportDialog onClose={() => setDialog(null)} onImported={changed} />}
      {dialog === 'export' && <ExportDialog project={project} onClose={() => setDialog(null)} />}
      {dialog === 'resplit' && <ResplitDialog onClose={() => setDialog(null)} onDone={changed} />}
    </div>
  )
}
