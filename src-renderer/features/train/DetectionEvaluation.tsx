import { useEffect, useMemo, useState } from 'react'
import type {
  CocoStats,
  DetectionEvaluation as DetectionEvaluationData,
  ImageDetectionErrors,
} from '../../../src-shared/api/train'
import { DETECTION_ERROR_KINDS, type DetectionErrorKind } from '../../../src-shared/domain/detection-errors'
import { call } from '../../app/api-client'
import { DetectionImage } from './DetectionImage'
import { pct } from './format'
import { useClassNames, useTrain } from './store'
import { UPlotChart } from './UPlotChart'

const KIND_LABELS: Record<DetectionErrorKind, string> = {
  false_positive: 'false positive',
  duplicate: 'duplicate',
  wrong_class: 'wrong class',
  poor_localisation: 'poor localisation',
  miss: 'missed',
}

const ap = (v: number | null | undefined) => (v === null || v === undefined || v < 0 ? '—' : pct(v, 1))

/** A finished detection run on its test split: COCO tables, AP per class, PR curves, the errors. */
export function DetectionEvaluation({
  runId,
  evaluation,
}: {
  runId: number
  evaluation: DetectionEvaluationData
}) {
  return (
    <div className="evaluation" data-testid="detection-evaluation">
      <div className="card">
        <div className="headline">
          <div>
            <div className="big-num" data-testid="eval-box-map50">
              {ap(evaluation.box.ap50)}
            </div>
            <div className="muted small">box mAP@.5 ({evaluation.split})</div>
          </div>
          {evaluation.mask && (
            <div>
              <div className="big-num" data-testid="eval-mask-map50">
                {ap(evaluation.mask.ap50)}
              </div>
              <div className="muted small">mask mAP@.5</div>
            </div>
          )}
          <div>
            <div className="big-num">{evaluation.images}</div>
            <div className="muted small">images</div>
          </div>
          <div>
            <div className="big-num">{evaluation.instances}</div>
            <div className="muted small">objects</div>
          </div>
        </div>
        <CocoTable box={evaluation.box} mask={evaluation.mask} />
      </div>
      <div className="eval-split">
        <div className="card">
          <h3>AP per class</h3>
          <PerClassAp evaluation={evaluation} />
        </div>
        <div className="card">
          <h3>Precision–recall at IoU 0.5 (boxes)</h3>
          <PrCurves evaluation={evaluation} />
        </div>
      </div>
      <div className="card">
        <h3>Where it is wrong</h3>
        <ErrorGallery runId={runId} />
      </div>
    </div>
  )
}

function CocoTable({ box, mask }: { box: CocoStats; mask: CocoStats | null }) {
  const cols: [keyof CocoStats, string][] = [
    ['ap', 'AP@[.5:.95]'],
    ['ap50', 'AP@.5'],
    ['ap75', 'AP@.75'],
    ['apSmall', 'AP small'],
    ['apMedium', 'AP medium'],
    ['apLarge', 'AP large'],
    ['ar100', 'AR@100'],
  ]
  return (
    <table className="metric-table coco" data-testid="coco-table">
      <thead>
        <tr>
          <th />
          {cols.map(([, l]) => (
            <th key={l}>{l}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {[['boxes', box] as const, ...(mask ? [['masks', mask] as const] : [])].map(([name, s]) => (
          <tr key={name}>
            <th>{name}</th>
            {cols.map(([k]) => (
              <td key={k}>{ap(s[k])}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function PerClassAp({ evaluation }: { evaluation: DetectionEvaluationData }) {
  const name = useClassNames()
  const masks = evaluation.mask !== null
  return (
    <table className="metric-table" data-testid="per-class-ap">
      <thead>
        <tr>
          <th>class</th>
          <th>objects</th>
          <th>box AP</th>
          <th>box AP@.5</th>
          {masks && <th>mask AP</th>}
          {masks && <th>mask AP@.5</th>}
        </tr>
      </thead>
      <tbody>
        {evaluation.perClass.map((c) => (
          <tr key={c.classId}>
            <td>{name(c.classId)}</td>
            <td>{c.instances}</td>
            <td>{ap(c.boxAp)}</td>
            <td>{ap(c.boxAp50)}</td>
            {masks && <td>{ap(c.maskAp)}</td>}
            {masks && <td>{ap(c.maskAp50)}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function PrCurves({ evaluation }: { evaluation: DetectionEvaluationData }) {
  const name = useClassNames()
  const classes = useTrain((s) => s.classes)
  const x = Array.from({ length: 101 }, (_, i) => i / 100)
  const series = evaluation.perClass
    .filter((c) => c.boxPr50.length === 101)
    .map((c) => ({
      label: name(c.classId),
      color: classes.find((k) => k.id === c.classId)?.color ?? '#888888',
      values: c.boxPr50.map((p) => (p < 0 ? null : p)),
      points: false,
    }))
  if (!series.length) return <p className="muted small">No curves: no class had test objects.</p>
  return <UPlotChart x={x} series={series} xMax={1} yLabel="precision" percent testid="pr-chart" />
}

/**
 * The test images the run got most wrong, each drawn with its predictions over its labels and its
 * worst error ringed; filtered by the kind of error. Clicking one opens it in the editor with the
 * run's predictions shown.
 */
function ErrorGallery({ runId }: { runId: number }) {
  const name = useClassNames()
  const openImage = useTrain((s) => s.openImage)
  const [data, setData] = useState<{
    runId: number
    threshold: number
    byKind: Record<string, number>
    items: ImageDetectionErrors[]
  } | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [kind, setKind] = useState<DetectionErrorKind | 'all'>('all')
  const [shown, setShown] = useState(12)

  useEffect(() => {
    let stale = false
    call('runs.detectionErrors', { runId }).then(
      (r) => !stale && setData({ runId, ...r }),
      (e: Error) => !stale && setError(e.message),
    )
    return () => {
      stale = true
    }
  }, [runId])

  const items = useMemo(() => {
    if (!data || data.runId !== runId) return []
    const keep = data.items.filter((i) => i.errors.length)
    if (kind === 'all') return keep
    // Worst first by the chosen kind of error alone.
    const weight = (i: ImageDetectionErrors) =>
      i.errors.filter((e) => e.kind === kind).reduce((s, e) => s + e.weight, 0)
    return keep.filter((i) => weight(i) > 0).sort((a, b) => weight(b) - weight(a))
  }, [data, runId, kind])

  if (error) return <p className="error small">{error}</p>
  if (!data) return <p className="muted small">Judging the test images…</p>
  return (
    <div className="error-gallery" data-testid="error-gallery">
      <div className="row kinds" role="radiogroup" aria-label="Kind of error">
        {(['all', ...DETECTION_ERROR_KINDS] as const).map((k) => (
          <button
            key={k}
            className={kind === k ? 'chip on' : 'chip'}
            onClick={() => setKind(k)}
            data-testid={`error-kind-${k}`}
          >
            {k === 'all' ? 'all' : KIND_LABELS[k]}{' '}
            <span className="muted">
              {k === 'all' ? Object.values(data.byKind).reduce((a, b) => a + b, 0) : (data.byKind[k] ?? 0)}
            </span>
          </button>
        ))}
        <span className="muted small grow">
          Detections scoring ≥ {pct(data.threshold, 0)}, against the labels as they are now; dashed outlines
          are the labels.
        </span>
      </div>
      {!items.length && <p className="muted">No errors of this kind on the test images.</p>}
      <div className="gallery-grid">
        {items.slice(0, shown).map((item) => {
          const worst = item.errors.find((e) => kind === 'all' || e.kind === kind) ?? item.errors[0]!
          return (
            <button
              key={item.imageId}
              className="gallery-item"
              onClick={() => openImage?.(item.imageId, runId)}
              title="Open in the editor, with this run's predictions shown"
              data-testid="error-item"
              data-image-id={item.imageId}
              data-kind={worst.kind}
            >
              <DetectionImage
                imageId={item.imageId}
                detections={item.detections}
                truths={item.truths}
                threshold={data.threshold}
                maxWidth={220}
                maxHeight={180}
                highlight={{ box: worst.box, label: worst.kind }}
                testid="error-image"
              />
              <span className="small">
                <b>{KIND_LABELS[worst.kind]}</b>: {name(worst.classId)}
                {worst.kind === 'wrong_class' && ` (is ${name(worst.trueClassId)})`}
                {worst.score !== undefined && ` ${pct(worst.score, 0)}`}
                {worst.kind === 'poor_localisation' && ` · IoU ${worst.iou.toFixed(2)}`}
              </span>
              <span className="muted small">
                #{item.imageId} · {item.correct} right, {item.errors.length} wrong
              </span>
            </button>
          )
        })}
      </div>
      {shown < items.length && (
        <button onClick={() => setShown((n) => n + 24)}>Show more ({items.length - shown} left)</button>
      )}
    </div>
  )
}
