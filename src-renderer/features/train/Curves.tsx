import { useMemo } from 'react'
import { metricOf, type EpochMetrics } from '../../../src-shared/api/train'
import { num, pct } from './format'
import { UPlotChart, type ChartSeries } from './UPlotChart'

export const COLORS = { train: '#2f6fed', val: '#b7791f', test: '#2f855a', batch: '#9db7f5' }

/** The epoch with the lowest validation loss: where overfitting starts. */
export function bestEpoch(history: EpochMetrics[]): EpochMetrics | null {
  let best: EpochMetrics | null = null
  for (const h of history) if (h.valLoss !== null && (!best || h.valLoss < best.valLoss!)) best = h
  return best
}

/**
 * Loss and accuracy per epoch, as they arrive, with the smoothed per-batch loss under the loss
 * curves and the lowest validation loss marked.
 */
export function Curves({
  history,
  batchLoss,
  epochs,
}: {
  history: EpochMetrics[]
  batchLoss: [number, number][]
  epochs: number
}) {
  const best = bestEpoch(history)
  const { x, loss, acc } = useMemo(() => {
    const byEpoch = new Map(history.map((h) => [h.epoch, h]))
    const byBatch = new Map(batchLoss)
    const x = [...new Set([...byEpoch.keys(), ...byBatch.keys()])].sort((a, b) => a - b)
    const col = (f: (h: EpochMetrics) => number | null) =>
      x.map((e) => (byEpoch.has(e) ? f(byEpoch.get(e)!) : null))
    const loss: ChartSeries[] = [
      { label: 'train loss', color: COLORS.train, values: col((h) => h.loss) },
      { label: 'val loss', color: COLORS.val, values: col((h) => h.valLoss) },
    ]
    if (history.some((h) => metricOf(h, 'test_loss') !== null)) {
      loss.push({ label: 'test loss', color: COLORS.test, values: col((h) => metricOf(h, 'test_loss')) })
    }
    if (byBatch.size) {
      loss.push({
        label: 'batch loss (smoothed)',
        color: COLORS.batch,
        values: x.map((e) => byBatch.get(e) ?? null),
        points: false,
        width: 1,
      })
    }
    const acc: ChartSeries[] = [
      { label: 'train acc', color: COLORS.train, values: col((h) => metricOf(h, 'accuracy')) },
      { label: 'val acc', color: COLORS.val, values: col((h) => metricOf(h, 'val_accuracy')) },
    ]
    if (history.some((h) => metricOf(h, 'test_accuracy') !== null)) {
      acc.push({ label: 'test acc', color: COLORS.test, values: col((h) => metricOf(h, 'test_accuracy')) })
    }
    return { x, loss, acc }
  }, [history, batchLoss])

  const mark = best ? { x: best.epoch, label: `lowest val loss · epoch ${best.epoch}` } : null
  const last = history[history.length - 1]
  return (
    <div
      className="curves"
      data-testid="curves"
      data-epochs={history.length}
      data-best-epoch={best?.epoch ?? ''}
      data-batch-points={batchLoss.length}
    >
      <div className="chart">
        <h4>Loss</h4>
        <UPlotChart x={x} series={loss} xMax={epochs} mark={mark} yLabel="loss" testid="loss-chart" />
      </div>
      <div className="chart">
        <h4>Accuracy</h4>
        <UPlotChart
          x={x}
          series={acc}
          xMax={epochs}
          mark={mark}
          yLabel="accuracy"
          percent
          testid="acc-chart"
        />
      </div>
      <p className="muted small">
        {history.length === 0
          ? 'The curves fill in as epochs finish.'
          : `${history.length} of ${epochs} epochs · last: train loss ${num(last?.loss)}, val loss ${num(last?.valLoss)}`}
        {best && (
          <>
            {' · '}
            <span className="overfit" data-testid="best-epoch">
              lowest val loss {num(best.valLoss)} at epoch {best.epoch}
              {best.epoch < (last?.epoch ?? 0) ? ', rising after it: overfitting' : ''}
            </span>
          </>
        )}
      </p>
    </div>
  )
}

const PART_COLORS: Record<string, string> = {
  loss_heatmap: '#805ad5',
  loss_box: '#d53f8c',
  loss_mask: '#319795',
}

/**
 * A detector's curves: the total loss (train and val) with each part of the training loss, and
 * COCO mAP on val by epoch, for boxes and, when the run learns them, masks.
 */
export function DetectionCurves({
  history,
  batchLoss,
  epochs,
}: {
  history: EpochMetrics[]
  batchLoss: [number, number][]
  epochs: number
}) {
  const { x, loss, map } = useMemo(() => {
    const byEpoch = new Map(history.map((h) => [h.epoch, h]))
    const byBatch = new Map(batchLoss)
    const x = [...new Set([...byEpoch.keys(), ...byBatch.keys()])].sort((a, b) => a - b)
    const col = (f: (h: EpochMetrics) => number | null) =>
      x.map((e) => (byEpoch.has(e) ? f(byEpoch.get(e)!) : null))
    const has = (name: string) => history.some((h) => metricOf(h, name) !== null)
    const loss: ChartSeries[] = [
      { label: 'train loss', color: COLORS.train, values: col((h) => h.loss) },
      { label: 'val loss', color: COLORS.val, values: col((h) => h.valLoss) },
      ...Object.keys(PART_COLORS)
        .filter(has)
        .map((name) => ({
          label: name.replace('loss_', ''),
          color: PART_COLORS[name]!,
          values: col((h) => metricOf(h, name)),
          dash: [4, 3],
        })),
    ]
    if (byBatch.size)
      loss.push({
        label: 'batch loss (smoothed)',
        color: COLORS.batch,
        values: x.map((e) => byBatch.get(e) ?? null),
        points: false,
        width: 1,
      })
    const map: ChartSeries[] = [
      { label: 'box mAP@.5', color: COLORS.train, values: col((h) => metricOf(h, 'val_box_map50')) },
      { label: 'box mAP', color: COLORS.train, values: col((h) => metricOf(h, 'val_box_map')), dash: [4, 3] },
    ]
    if (has('val_mask_map50'))
      map.push(
        { label: 'mask mAP@.5', color: COLORS.test, values: col((h) => metricOf(h, 'val_mask_map50')) },
        {
          label: 'mask mAP',
          color: COLORS.test,
          values: col((h) => metricOf(h, 'val_mask_map')),
          dash: [4, 3],
        },
      )
    return { x, loss, map }
  }, [history, batchLoss])

  const last = history[history.length - 1]
  const bestOf = (name: string) =>
    history.reduce<EpochMetrics | null>(
      (b, h) => ((metricOf(h, name) ?? -1) > (metricOf(b ?? undefined, name) ?? -1) ? h : b),
      null,
    )
  const monitor = history.some((h) => metricOf(h, 'val_mask_map') !== null) ? 'val_mask_map' : 'val_box_map'
  const best = bestOf(monitor)
  const mark = best ? { x: best.epoch, label: `best val ${monitor.slice(4)} · epoch ${best.epoch}` } : null
  return (
    <div
      className="curves"
      data-testid="curves"
      data-epochs={history.length}
      data-best-epoch={best?.epoch ?? ''}
      data-batch-points={batchLoss.length}
    >
      <div className="chart">
        <h4>Loss</h4>
        <UPlotChart x={x} series={loss} xMax={epochs} mark={mark} yLabel="loss" testid="loss-chart" />
      </div>
      <div className="chart">
        <h4>Val mAP (COCO)</h4>
        <UPlotChart x={x} series={map} xMax={epochs} mark={mark} yLabel="mAP" percent testid="map-chart" />
      </div>
      <p className="muted small">
        {history.length === 0
          ? 'The curves fill in as epochs finish.'
          : `${history.length} of ${epochs} epochs · last: train loss ${num(last?.loss)}, val box mAP@.5 ${pct(metricOf(last, 'val_box_map50'))}${metricOf(last, 'val_mask_map50') !== null ? `, val mask mAP@.5 ${pct(metricOf(last, 'val_mask_map50'))}` : ''}`}
        {best && (
          <>
            {' · '}
            <span data-testid="best-epoch">
              best val {monitor.slice(4).replace('_', ' ')} {pct(metricOf(best, monitor))} at epoch{' '}
              {best.epoch}
            </span>
          </>
        )}
      </p>
    </div>
  )
}
