import { useEffect, useRef, useState } from 'react'
import {
  DEFAULT_MAX_FILE_MB,
  CLASS_PRESETS,
  IMPORT_FORMATS,
  type ClassPreset,
  type ImportFormat,
  type ImportProgress,
  type ImportReport,
} from '../../../src-shared/api/contract'
import { api, call } from '../../app/api-client'

const FORMAT_LABELS: Record<ImportFormat, string> = {
  auto: 'Detect (COCO, labelme, YOLO, Pascal VOC, class folders, IDX or plain images)',
  files: 'Plain images, recursively (no classes)',
  'class-folders': 'Class per folder ([train|valid|test]/class/...)',
  idx: 'IDX files (MNIST / Fashion-MNIST format)',
  coco: 'COCO JSON (a file, or train/valid/test folders with _annotations.coco.json)',
  yolo: 'YOLO (data.yaml, images/ and labels/ per split; boxes or polygons)',
  voc: 'Pascal VOC XML (Annotations/, JPEGImages/, ImageSets/Main splits)',
  labelme: 'labelme JSON (one .json per image; train/val/test folders as splits)',
}

/** Import files or folders from the host's file system, with progress, cancel and a per-file error report. */
export function ImportDialog({
  onClose,
  onImported,
}: {
  onClose: () => void
  onImported: () => Promise<void>
}) {
  const [paths, setPaths] = useState('')
  const [format, setFormat] = useState<ImportFormat>('auto')
  const [preset, setPreset] = useState<ClassPreset | ''>('')
  const [maxFileMb, setMaxFileMb] = useState(DEFAULT_MAX_FILE_MB)
  const [jobId, setJobId] = useState<string | null>(null)
  const [progress, setProgress] = useState<ImportProgress | null>(null)
  const [report, setReport] = useState<ImportReport | null>(null)
  const [error, setError] = useState<string | null>(null)
  const job = useRef<string | null>(null)

  useEffect(() => {
    const offs = [
      api.on('import.progress', (p) => {
        if (p.jobId === job.current) setProgress(p)
      }),
      api.on('import.finished', (f) => {
        if (f.jobId !== job.current) return
        setReport(f.report)
        setJobId(null)
        void onImported()
      }),
      api.on('import.failed', (f) => {
        if (f.jobId !== job.current) return
        setError(f.error.message)
        setJobId(null)
      }),
    ]
    return () => offs.forEach((off) => off())
  }, [onImported])

  const start = async () => {
    setError(null)
    setReport(null)
    setProgress(null)
    const list = paths
      .split('\n')
      .map((p) => p.trim())
      .filter(Boolean)
    try {
      const r = await call('import.start', {
        paths: list,
        format,
        preset: preset || undefined,
        maxFileMb,
      })
      job.current = r.jobId
      setJobId(r.jobId)
    } catch (e) {
      setError((e as Error).message)
    }
  }

  const cancel = async () => {
    if (jobId) await call('import.cancel', { jobId }).catch((e: Error) => setError(e.message))
  }

  const running = jobId !== null
  const pct = progress && progress.total ? Math.round((100 * progress.done) / progress.total) : 0
  return (
    <div className="modal-backdrop">
      <div className="modal wide" role="dialog" aria-label="Import images">
        <h2>Import images</h2>
        <label>
          Files or folders, one per line
          <textarea
            name="import-paths"
            rows={3}
            value={paths}
            disabled={running}
            onChange={(e) => setPaths(e.target.value)}
            placeholder={'/data/cats-vs-dogs\n/usr/share/datasets/fashion-mnist'}
          />
        </label>
        <div className="row">
          <label>
            Format
            <select
              name="import-format"
              value={format}
              disabled={running}
              onChange={(e) => setFormat(e.target.value as ImportFormat)}
            >
              {IMPORT_FORMATS.map((f) => (
                <option key={f} value={f}>
                  {FORMAT_LABELS[f]}
                </option>
              ))}
            </select>
          </label>
          <label>
            IDX class names
            <select
              name="import-preset"
              value={preset}
              disabled={running}
              onChange={(e) => setPreset(e.target.value as ClassPreset | '')}
            >
              <option value="">Label numbers</option>
              {CLASS_PRESETS.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </label>
          <label title="Larger files are reported and skipped unread">
            Largest file (MB)
            <input
              name="import-max-file-mb"
              type="number"
              min={1}
              max={65536}
              value={maxFileMb}
              disabled={running}
              onChange={(e) => setMaxFileMb(Math.max(1, Number(e.target.value) || DEFAULT_MAX_FILE_MB))}
            />
          </label>
        </div>
        {(running || progress) && (
          <div className="progress" data-testid="import-progress">
            <div className="bar">
              <div style={{ width: `${report ? 100 : pct}%` }} />
            </div>
            <span>
              {progress?.phase === 'scanning'
                ? 'Scanning…'
                : `${progress?.done ?? 0} / ${progress?.total ?? 0} · ${progress?.added ?? 0} added · ${progress?.duplicates ?? 0} duplicates · ${progress?.failed ?? 0} failed`}
            </span>
          </div>
        )}
        {report && (
          <div className="report" data-testid="import-report">
            <p>
              <b>{report.cancelled ? 'Cancelled.' : 'Done.'}</b> {report.added} added, {report.duplicates}{' '}
              duplicates skipped, {report.failed.length} failed
              {report.ignored ? `, ${report.ignored} non-image files ignored` : ''} in{' '}
              {(report.durationMs / 1000).toFixed(1)} s.
              {report.cancelled && ' Images imported before the cancel are kept.'}
            </p>
            {report.classesCreated.length > 0 && (
              <p className="muted">New classes: {report.classesCreated.join(', ')}</p>
            )}
            {report.failed.length > 0 && (
              <table className="errors" data-testid="import-errors">
                <thead>
                  <tr>
                    <th>File</th>
                    <th>Why it was not imported</th>
                  </tr>
                </thead>
                <tbody>
                  {report.failed.map((f, i) => (
                    <tr key={i}>
                      <td className="path">{f.path}</td>
                      <td>{f.element ? `${f.element}: ${f.reason}` : f.reason}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <div className="row end">
          {running ? (
            <button onClick={() => void cancel()}>Cancel import</button>
          ) : (
            <>
              <button onClick={onClose}>Close</button>
              <button className="primary" disabled={!paths.trim()} onClick={() => void start()}>
                Import
              </button>
            </>
          )}
        </div>
      </div>
    </div>
  )
}
