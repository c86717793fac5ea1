import { useEffect, useMemo, useState } from 'react'
import { metricOf, type LayerSpec, type RunDetail } from '../../../src-shared/api/train'
import { call } from '../../app/api-client'
import { bestEpoch } from './Curves'
import { duration, num, pct } from './format'
import { useTrain } from './store'
import { UPlotChart, type ChartSeries } from './UPlotChart'

const PALETTE = ['#2f6fed', '#d9480f', '#2f855a', '#7048e8', '#c2255c', '#0c8599', '#b7791f', '#495057']

/** A layer stack in one line: `conv 16@3 same relu → pool max 2 → flatten → dense 128 relu`. */
export function layersText(layers: LayerSpec[]): string {
  return layers
    .map((l) => {
      switch (l.type) {
        case 'conv':
          return `conv ${l.filters}@${l.kernel}${(l.stride ?? 1) > 1 ? `/${l.stride}` : ''} ${l.padding ?? 'valid'}${l.activation && l.activation !== 'linear' ? ` ${l.activation}` : ''}`
        case 'pool':
          return `pool ${l.kind ?? 'max'} ${l.size ?? 2}`
        case 'activation':
          return l.fn
        case 'dropout':
          return `dropout ${l.rate}`
        case 'dense':
          return `dense ${l.units}${l.activation && l.activation !== 'linear' ? ` ${l.activation}` : ''}`
        default:
          return l.type
      }
    })
    .join(' → ')
}

/** Flattens a config into dotted keys, each value as text; a layer stack is one value. */
function flatten(o: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (prefix === 'layers' && Array.isArray(o)) out[prefix] = layersText(o as LayerSpec[])
  else if (o && typeof o === 'object' && !Array.isArray(o)) {
    for (const [k, v] of Object.entries(o)) flatten(v, prefix ? `${prefix}.${k}` : k, out)
  } else if (prefix) {
    out[prefix] = o === undefined || o === null ? '—' : typeof o === 'string' ? o : JSON.stringify(o)
  }
  return out
}

/** Two or more runs side by side: curves overlaid, the config keys that differ, the metrics. */
export function CompareRuns() {
  const ids = useTrain((s) => s.compareIds)
  const versions = useTrain((s) => s.versions)
  const live = useTrain((s) => s.live)
  const key = ids.map((id) => `${id}:${versions[id] ?? 0}`).join(',')
  const [loaded, setLoaded] = useState<{ key: string; runs: RunDetail[]; error: string | null } | null>(null)

  useEffect(() => {
    let stale = false
    Promise.all(ids.map((runId) => call('runs.get', { runId }))).then(
      (runs) => !stale && setLoaded({ key, runs, error: null }),
      (e: Error) => !stale && setLoaded({ key, runs: [], error: e.message }),
    )
    return () => {
      stale = true
    }
    // `key` covers the ids and their versions.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key])

  const runs = useMemo(
    () =>
      (loaded?.runs ?? []).map((r) => {
        const byEpoch = new Map(r.history.map((h) => [h.epoch, h]))
        for (const h of live[r.summary.id]?.epochs ?? []) byEpoch.set(h.epoch, h)
        return { ...r, history: [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch) }
      }),
    [loaded, live],
  )

  const charts = useMemo(() => {
    const x = [...new Set(runs.flatMap((r) => r.history.map((h) => h.epoch)))].sort((a, b) => a - b)
    const loss: ChartSeries[] = []
    const acc: ChartSeries[] = []
    runs.forEach((r, i) => {
      const color = PALETTE[i % PALETTE.length]!
      const by = new Map(r.history.map((h) => [h.epoch, h]))
      const col = (f: (h: (typeof r.history)[number]) => number | null) =>
        x.map((e) => (by.has(e) ? f(by.get(e)!) : null))
      const tag = `#${r.summary.id}`
      loss.push({ label: `${tag} val`, color, values: col((h) => h.valLoss) })
      loss.push({ label: `${tag} train`, color, values: col((h) => h.loss), dash: [4, 4], width: 1.5 })
      acc.push({ label: `${tag} val`, color, values: col((h) => metricOf(h, 'val_accuracy')) })
      acc.push({
        label: `${tag} train`,
        color,
        values: col((h) => metricOf(h, 'accuracy')),
        dash: [4, 4],
        width: 1.5,
      })
    })
    const xMax = Math.max(1, ...runs.map((r) => r.summary.epochs))
    return { x, loss, acc, xMax }
  }, [runs])

  const diff = useMemo(() => {
    const flat = runs.map((r) => flatten(r.config))
    const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort()
    return keys
      .filter((k) => new Set(flat.map((f) => f[k] ?? '—')).size > 1)
      .map((k) => ({ key: k, values: flat.map((f) => f[k] ?? '—') }))
  }, [runs])

  if (ids.length < 2) return <p className="muted empty">Tick two or more runs in the list to compare them.</p>
  if (loaded?.error) return <p className="error">{loaded.error}</p>
  if (!runs.length) return <p className="muted">Loading…</p>

  const metrics: { label: string; value: (r: (typeof runs)[number]) => string }[] = [
    { label: 'status', value: (r) => r.summary.status },
    { label: 'epochs', value: (r) => `${r.summary.epochsDone} / ${r.summary.epochs}` },
    { label: 'test accuracy', value: (r) => pct(r.summary.testAccuracy, 2) },
    { label: 'best epoch (lowest val loss)', value: (r) => String(bestEpoch(r.history)?.epoch ?? '—') },
    { label: 'lowest val loss', value: (r) => num(bestEpoch(r.history)?.valLoss) },
    { label: 'final val accuracy', value: (r) => pct(metricOf(r.history.at(-1), 'val_accuracy')) },
    { label: 'final train accuracy', value: (r) => pct(metricOf(r.history.at(-1), 'accuracy')) },
    { label: 'final train loss', value: (r) => num(r.history.at(-1)?.loss) },
    {
      label: 'images/s (mean)',
      value: (r) =>
        r.history.length
          ? Math.round(r.history.reduce((n, h) => n + h.imagesPerS, 0) / r.history.length).toLocaleString(
              'en',
            )
          : '—',
    },
    { label: 'training time', value: (r) => duration(r.history.reduce((n, h) => n + h.seconds, 0)) },
    { label: 'backend', value: (r) => r.summary.backend ?? '—' },
  ]
  const head = (
    <tr>
      <th />
      {runs.map((r, i) => (
        <th key={r.summary.id} style={{ color: PALETTE[i % PALETTE.length] }} title={r.summary.name}>
          #{r.summary.id}
        </th>
      ))}
    </tr>
  )

  return (
    <div className="compare" data-testid="compare">
      <div className="card">
        <h3>Validation (solid) and training (dashed) curves</h3>
        <div className="curves">
          <div className="chart">
            <h4>Loss</h4>
            <UPlotChart
              x={charts.x}
              series={charts.loss}
              xMax={charts.xMax}
              yLabel="loss"
              testid="compare-loss"
            />
          </div>
          <div className="chart">
            <h4>Accuracy</h4>
            <UPlotChart
              x={charts.x}
              series={charts.acc}
              xMax={charts.xMax}
              yLabel="accuracy"
              percent
              testid="compare-acc"
            />
          </div>
        </div>
      </div>
      <div className="card">
        <h3>Metrics</h3>
        <table className="table" data-testid="compare-metrics">
          <thead>{head}</thead>
          <tbody>
            {metrics.map((m) => (
              <tr key={m.label}>
                <th>{m.label}</th>
                {runs.map((r) => (
                  <td key={r.summary.id}>{m.value(r)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="card">
        <h3>Config: the keys that differ</h3>
        {diff.length === 0 ? (
          <p className="muted">The configs are the same.</p>
        ) : (
          <table className="table diff" data-testid="compare-diff">
            <thead>{head}</thead>
            <tbody>
              {diff.map((d) => (
                <tr key={d.key} data-key={d.key}>
                  <th>{d.key}</th>
                  {d.values.map((v, i) => (
                    <td key={i} className="mono">
                      {v}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  )
}
