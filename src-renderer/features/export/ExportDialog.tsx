import { useEffect, useRef, useState } from 'react'
import type { ProjectSummary } from '../../../src-shared/api/contract'
import {
  DATASET_EXPORT_FORMATS,
  type DatasetExportFormat,
  type ExportCocoResult,
  type ExportDatasetResult,
} from '../../../src-shared/api/exchange'
import { SPLITS, type Split } from '../../../src-shared/domain/types'
import { api, call } from '../../app/api-client'
import { flushAnnotationEdits } from '../annotate/pending'

type Format = 'coco' | DatasetExportFormat

const FORMAT_LABELS: Record<string, string> = {
  coco: 'COCO JSON (annotations.json and images/; masks as RLE)',
  yolo: 'YOLO, Ultralytics layout (data.yaml, images/ and labels/ per split)',
  voc: 'Pascal VOC XML (Annotations/, JPEGImages/, ImageSets/Main; boxes only)',
  labelme: 'labelme JSON (one .json beside each image, a folder per split)',
  imagefolder: 'ImageFolder for classification (split/class/image)',
}

/** What one export wrote, whichever call made it. */
interface Written {
  dir: string
  images: number
  annotations: number
  files: number
  notes: string[]
  trainCommand: string | null
}

/**
 * Writes the project (or one split) in another tool's format: COCO, YOLO, Pascal VOC, labelme or
 * ImageFolder. A project labelled with image tags only starts on ImageFolder, the one format that
 * holds them. The result says what was written, what the format could not hold, and how to train
 * on it elsewhere.
 */
export function ExportDialog({ project, onClose }: { project: ProjectSummary; onClose: () => void }) {
  const kinds = project.counts.byAnnotationKind
  const tagsOnly = !!kinds.tag && !kinds.box && !kinds.polygon && !kinds.mask
  const firstFormat: Format =
    tagsOnly && (DATASET_EXPORT_FORMATS as readonly string[]).includes('imagefolder')
      ? ('imagefolder' as Format)
      : 'yolo'
  const [format, setFormat] = useState<Format>(firstFormat)
  const [split, setSplit] = useState<Split | ''>('')
  const [dir, setDir] = useState(`${project.dir}-${firstFormat}`)
  const [dirEdited, setDirEdited] = useState(false)
  const [running, setRunning] = useState(false)
  const [elapsed, setElapsed] = useState(0)
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null)
  const [written, setWritten] = useState<Written | null>(null)
  const [error, setError] = useState<string | null>(null)
  const started = useRef(0)

  useEffect(() => {
    if (!running) return
    const t = setInterval(() => setElapsed((Date.now() - started.current) / 1000), 200)
    const off = api.on('export.progress', (p) => {
      if (p.dir === dir.trim()) setProgress({ done: p.done, total: p.total })
    })
    return () => {
      clearInterval(t)
      off()
    }
  }, [running, dir])

  const pick = (f: Format) => {
    setFormat(f)
    if (!dirEdited) setDir(`${project.dir}-${f}`)
  }

  const run = async () => {
    setError(null)
    setWritten(null)
    setRunning(true)
    setProgress(null)
    started.current = Date.now()
    setElapsed(0)
    try {
      // Edits still on their way to the store go out with the export.
      await flushAnnotationEdits()
      const at = dir.trim()
      if (format === 'coco') {
        const r: ExportCocoResult = await call('export.coco', { dir: at, split: split || undefined })
        setWritten({
          dir: at,
          images: r.images,
          annotations: r.annotations,
          files: r.images + 1,
          notes: [],
          trainCommand: null,
        })
      } else {
        const r: ExportDatasetResult = await call('export.dataset', {
          format,
          dir: at,
          split: split || undefined,
        })
        setWritten({
          dir: r.dir,
          images: r.images,
          annotations: r.annotations,
          files: r.files.length,
          notes: r.notes,
          trainCommand: r.trainCommand,
        })
      }
    } catch (e) {
      setError((e as Error).message)
    } finally {
      setElapsed((Date.now() - started.current) / 1000)
      setRunning(false)
    }
  }

  const formats: Format[] = ['coco', ...DATASET_EXPORT_FORMATS]
  return (
    <div className="modal-backdrop">
      <div className="modal wide" role="dialog" aria-label="Export dataset">
        <h2>Export dataset</h2>
        <div className="row">
          <label>
            Format
            <select
              name="export-format"
              value={format}
              disabled={running}
              onChange={(e) => pick(e.target.value as Format)}
            >
              {formats.map((f) => (
                <option key={f} value={f}>
                  {FORMAT_LABELS[f] ?? f}
                </option>
              ))}
            </select>
          </label>
          <label>
            Images
            <select
              name="export-split"
              value={split}
              disabled={running}
              onChange={(e) => setSplit(e.target.value as Split | '')}
            >
              <option value="">Every split</option>
              {SPLITS.map((s) => (
                <option key={s} value={s}>
                  {s} only
                </option>
              ))}
            </select>
          </label>
        </div>
        <label>
          Folder to write (new or empty)
          <input
            name="export-dir"
            value={dir}
            disabled={running}
            onChange={(e) => {
              setDir(e.target.value)
              setDirEdited(true)
            }}
          />
        </label>
        {tagsOnly && format !== 'imagefolder' && (
          <p className="muted small">
            This project has image tags only: {format} holds boxes and shapes, so there would be nothing to
            write. ImageFolder holds tags.
          </p>
        )}
        {running && (
          <div className="progress" data-testid="export-progress">
            <div className={progress?.total ? 'bar' : 'bar indeterminate'}>
              <div
                style={progress?.total ? { width: `${(100 * progress.done) / progress.total}%` } : undefined}
              />
            </div>
            <span>
              {progress
                ? `Written ${progress.done.toLocaleString('en')} of ${progress.total.toLocaleString('en')} images…`
                : `Writing ${project.counts.images.toLocaleString('en')} images…`}{' '}
              {elapsed.toFixed(1)} s
            </span>
          </div>
        )}
        {written && (
          <div className="report" data-testid="export-report">
            <p>
              <b>Done.</b> Wrote {written.images} images and {written.annotations}{' '}
              {format === 'imagefolder' ? 'tagged images' : 'objects'} ({written.files} files) to{' '}
              <span className="path">{written.dir}</span> in {elapsed.toFixed(1)} s.
            </p>
            {written.notes.length > 0 && (
              <ul className="notes" data-testid="export-notes">
                {written.notes.map((n) => (
                  <li key={n}>{n}</li>
                ))}
              </ul>
            )}
            {written.trainCommand && (
              <p>
                Train on it with an existing engine:
                <code className="command" data-testid="export-train-command">
                  {written.trainCommand}
                </code>
              </p>
            )}
          </div>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <div className="row end">
          <button onClick={onClose} disabled={running}>
            Close
          </button>
          <button className="primary" disabled={running || !dir.trim()} onClick={() => void run()}>
            Export
          </button>
        </div>
      </div>
    </div>
  )
}
