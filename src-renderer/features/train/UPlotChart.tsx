import { useEffect, useLayoutEffect, useRef } from 'react'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'

export interface ChartSeries {
  label: string
  color: string
  values: (number | null)[]
  dash?: number[]
  /** Draw a dot per value (epoch curves); off for dense per-batch lines. */
  points?: boolean
  width?: number
}

export interface ChartMark {
  x: number
  label: string
}

/**
 * A uPlot line chart over a shared x axis (epochs). The chart is built once per set of series
 * (labels, colours) and fed new data in place, so points appear as they arrive without a flicker.
 */
export function UPlotChart({
  x,
  series,
  xMax,
  mark,
  yLabel,
  height = 220,
  testid,
  percent,
}: {
  x: number[]
  series: ChartSeries[]
  /** The x axis runs from 0 to at least this (the run's epochs), so the curve fills in from the left. */
  xMax?: number
  mark?: ChartMark | null
  yLabel?: string
  height?: number
  testid?: string
  percent?: boolean
}) {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const markRef = useRef<ChartMark | null>(null)
  const xMaxRef = useRef<number | undefined>(xMax)
  const shape = JSON.stringify([
    series.map((s) => [s.label, s.color, s.dash, s.points, s.width]),
    yLabel,
    percent,
    height,
  ])
  const data = [x, ...series.map((s) => s.values)] as uPlot.AlignedData

  useLayoutEffect(() => {
    markRef.current = mark ?? null
    xMaxRef.current = xMax
  })

  useLayoutEffect(() => {
    const el = box.current
    if (!el) return
    const dpr = () => window.devicePixelRatio || 1
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      scales: {
        x: {
          time: false,
          range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(xMaxRef.current ?? 1, max ?? 1, 1)],
        },
      },
      axes: [
        { label: 'epoch', stroke: '#6b7280', grid: { stroke: '#eef0f3' }, incrs: [1, 2, 5, 10, 20, 50, 100] },
        {
          label: yLabel,
          stroke: '#6b7280',
          grid: { stroke: '#eef0f3' },
          size: 52,
          values: percent ? (_u, vals) => vals.map((v) => `${Math.round(v * 100)}%`) : undefined,
        },
      ],
      series: [
        {
          label: 'epoch',
          value: (_u, v) => (v === null || v === undefined ? '—' : Number(v.toFixed(2)).toString()),
        },
        ...series.map<uPlot.Series>((s) => ({
          label: s.label,
          stroke: s.color,
          width: s.width ?? 2,
          dash: s.dash,
          spanGaps: true,
          points: { show: s.points ?? true, size: 6, fill: s.color },
          value: (_u, v) =>
            v === null || v === undefined ? '—' : percent ? `${(v * 100).toFixed(1)}%` : v.toPrecision(4),
        })),
      ],
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      hooks: {
        draw: [
          (u) => {
            const m = markRef.current
            if (!m) return
            const cx = Math.round(u.valToPos(m.x, 'x', true))
            const ctx = u.ctx
            ctx.save()
            ctx.strokeStyle = '#c0392b'
            ctx.fillStyle = '#c0392b'
            ctx.lineWidth = dpr()
            ctx.setLineDash([5 * dpr(), 4 * dpr()])
            ctx.beginPath()
            ctx.moveTo(cx, u.bbox.top)
            ctx.lineTo(cx, u.bbox.top + u.bbox.height)
            ctx.stroke()
            ctx.font = `${11 * dpr()}px system-ui, sans-serif`
            const w = ctx.measureText(m.label).width
            const right = cx + 4 * dpr() + w < u.bbox.left + u.bbox.width
            ctx.textAlign = right ? 'left' : 'right'
            ctx.fillText(m.label, right ? cx + 4 * dpr() : cx - 4 * dpr(), u.bbox.top + 12 * dpr())
            ctx.restore()
          },
        ],
      },
    }
    const u = new uPlot(opts, data, el)
    plot.current = u
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }))
    ro.observe(el)
    return () => {
      ro.disconnect()
      u.destroy()
      plot.current = null
    }
    // Rebuilt only when the series change shape; data flows in through the effect below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape])

  const dataKey = JSON.stringify([data, xMax, mark])
  useEffect(() => {
    plot.current?.setData(data)
    // `dataKey` is the data, the x range and the mark.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [dataKey])

  return <div ref={box} className="uplot-box" data-testid={testid} />
}
