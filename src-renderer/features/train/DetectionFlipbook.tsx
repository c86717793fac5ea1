import { useEffect, useMemo, useState } from 'react'
import type { Detection } from '../../../src-shared/api/train'
import { detectionStats } from '../../../src-shared/domain/detections'
import { shapeBounds } from '../../../src-shared/domain/regions'
import { call } from '../../app/api-client'
import { DetectionImage, type TruthOutline } from './DetectionImage'
import { num, pct } from './format'
import { UPlotChart } from './UPlotChart'
import type { PinnedDetections } from './useTrainEvents'

/** The labels of the pinned images, as outlines (asked once per image). */
function useTruths(ids: readonly number[]): Map<number, TruthOutline[]> {
  const [truths, setTruths] = useState<Map<number, TruthOutline[]>>(new Map())
  const key = ids.join(',')
  useEffect(() => {
    let stale = false
    Promise.all(
      ids.map((id) =>
        call('images.get', { id }).then(
          (r): [number, TruthOutline[]] => [
            id,
            r.annotations.map((a) => ({ classId: a.classId, box: shapeBounds(a) })),
          ],
          (): [number, TruthOutline[]] => [id, []],
        ),
      ),
    ).then((pairs) => !stale && setTruths(new Map(pairs)))
    return () => {
      stale = true
    }
    // `key` is the ids.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key])
  return truths
}

/**
 * What a detector finds on each pinned image, epoch by epoch from 0 (the untrained model): its
 * boxes and masks over the image with the labels as outlines, a score threshold, play and step
 * controls, and the write-up's table (detections shown, top and mean score) with a chart of it.
 */
export function DetectionFlipbook({
  pinned,
  defaultThreshold,
}: {
  pinned: PinnedDetections[]
  defaultThreshold: number
}) {
  const [chosen, setChosen] = useState<number | null>(null)
  const [playing, setPlaying] = useState(false)
  const [threshold, setThreshold] = useState(defaultThreshold)
  const [tableImage, setTableImage] = useState<number | null>(null)
  const truths = useTruths(pinned.map((p) => p.imageId))
  const maxEpoch = pinned.reduce((m, p) => Math.max(m, ...p.epochs.keys()), 0)
  const epoch = chosen === null ? maxEpoch : Math.min(chosen, maxEpoch)

  useEffect(() => {
    if (!playing) return
    const t = setInterval(() => {
      setChosen((c) => {
        const next = (c ?? -1) + 1
        return next > maxEpoch ? 0 : next
      })
    }, 500)
    return () => clearInterval(t)
  }, [playing, maxEpoch])

  if (!pinned.length) {
    return (
      <p className="muted small">
        No images pinned for this run. Pin some in the config panel before starting.
      </p>
    )
  }
  const step = (d: number) => {
    setPlaying(false)
    setChosen(Math.max(0, Math.min(maxEpoch, epoch + d)))
  }
  const tableOf = pinned.find((p) => p.imageId === tableImage) ?? pinned[0]!
  return (
    <div className="flipbook" data-testid="flipbook" data-epoch={epoch} data-max-epoch={maxEpoch}>
      <div className="row">
        <button onClick={() => step(-1)} disabled={epoch === 0} aria-label="Previous epoch">
          ◀
        </button>
        <button
          onClick={() => setPlaying((p) => !p)}
          disabled={maxEpoch === 0}
          aria-label={playing ? 'Pause' : 'Play'}
        >
          {playing ? '❚❚' : '▶'}
        </button>
        <button onClick={() => step(1)} disabled={epoch >= maxEpoch} aria-label="Next epoch">
          ▶|
        </button>
        <label className="grow">
          Epoch {epoch}
          {epoch === 0 ? ' (untrained)' : ''}
          {chosen === null ? ' · following' : ''}
          <input
            type="range"
            min={0}
            max={maxEpoch}
            step={1}
            value={epoch}
            onChange={(e) => {
              setPlaying(false)
              setChosen(Number(e.target.value))
            }}
            data-testid="flipbook-slider"
            aria-label="Epoch"
          />
        </label>
        <button disabled={chosen === null} onClick={() => setChosen(null)} title="Follow the newest epoch">
          Latest
        </button>
        <label className="threshold">
          Score ≥ {pct(threshold, 0)}
          <input
            type="range"
            min={0}
            max={1}
            step={0.01}
            value={threshold}
            onChange={(e) => setThreshold(Number(e.target.value))}
            data-testid="flipbook-threshold"
            aria-label="Score threshold"
          />
        </label>
      </div>
      <div className="flip-items detection">
        {pinned.map((p) => {
          const dets = p.epochs.get(epoch)
          const stats = dets ? detectionStats(dets, threshold) : null
          return (
            <figure
              key={p.imageId}
              className={`flip-item det${tableOf.imageId === p.imageId ? ' chosen' : ''}`}
              data-testid="flip-item"
              data-image-id={p.imageId}
              onClick={() => setTableImage(p.imageId)}
            >
              {dets ? (
                <DetectionImage
                  imageId={p.imageId}
                  detections={dets}
                  truths={truths.get(p.imageId)}
                  threshold={threshold}
                />
              ) : (
                <div className="muted small">not recorded at epoch {epoch}</div>
              )}
              <figcaption className="muted small">
                #{p.imageId}
                {stats &&
                  ` · ${stats.shown} shown of ${stats.total} · top ${stats.maxScore === null ? '—' : pct(stats.maxScore, 0)}`}
              </figcaption>
            </figure>
          )
        })}
      </div>
      <SeedTable pinned={tableOf} threshold={threshold} epoch={epoch} onEpoch={(e) => step(e - epoch)} />
    </div>
  )
}

/** The write-up's table for one pinned image: per epoch, detections shown, top and mean score. */
function SeedTable({
  pinned,
  threshold,
  epoch,
  onEpoch,
}: {
  pinned: PinnedDetections
  threshold: number
  epoch: number
  onEpoch: (e: number) => void
}) {
  const rows = useMemo(
    () =>
      [...pinned.epochs.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([e, dets]: [number, Detection[]]) => ({ epoch: e, ...detectionStats(dets, threshold) })),
    [pinned, threshold],
  )
  const x = rows.map((r) => r.epoch)
  return (
    <div className="seed-table" data-testid="seed-table" data-rows={rows.length}>
      <div>
        <h4>Image #{pinned.imageId}, epoch by epoch</h4>
        <div className="table-scroll">
          <table className="metric-table">
            <thead>
              <tr>
                <th>epoch</th>
                <th title={`score ≥ ${num(threshold)}`}>detections shown</th>
                <th>max score</th>
                <th>mean score</th>
              </tr>
            </thead>
            <tbody>
              {[...rows].reverse().map((r) => (
                <tr
                  key={r.epoch}
                  className={r.epoch === epoch ? 'on' : undefined}
                  onClick={() => onEpoch(r.epoch)}
                  data-testid="seed-row"
                >
                  <td>{r.epoch}</td>
                  <td>{r.shown}</td>
                  <td>{r.maxScore === null ? '—' : num(r.maxScore)}</td>
                  <td>{r.meanScore === null ? '—' : num(r.meanScore)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
      <div className="chart">
        <UPlotChart
          x={x}
          series={[
            { label: 'max score', color: '#2f855a', values: rows.map((r) => r.maxScore) },
            { label: 'mean score', color: '#b7791f', values: rows.map((r) => r.meanScore) },
          ]}
          xMax={Math.max(1, ...x)}
          yLabel="score"
          percent
          testid="seed-chart"
        />
      </div>
    </div>
  )
}
