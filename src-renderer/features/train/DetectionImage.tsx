import { useEffect, useMemo, useRef, useState } from 'react'
import type { Detection } from '../../../src-shared/api/train'
import { rleFromString, type Rle } from '../../../src-shared/domain/rle'
import { api } from '../../app/api-client'
import { maskImage } from '../../canvas/maskImage'
import { pct } from './format'
import { useTrain } from './store'

type Box = { x: number; y: number; w: number; h: number }

/** A labelled object drawn as an outline under the predictions. */
export interface TruthOutline {
  classId: number | null
  box: Box
}

/** A box to ring in red (an error of the gallery), normalised like the rest. */
export interface Highlight {
  box: Box
  label: string
}

// Decoded masks, by their compressed string, so that a redraw (a new threshold) decodes nothing.
const rles = new Map<string, Rle>()
function rleOf(m: NonNullable<Detection['mask']>): Rle {
  const key = `${m.size[0]}x${m.size[1]}:${m.counts}`
  let r = rles.get(key)
  if (!r) {
    if (rles.size > 4000) rles.clear()
    rles.set(key, (r = rleFromString(m.counts, m.size[0], m.size[1])))
  }
  return r
}

const images = new Map<number, Promise<HTMLImageElement>>()
function loadImage(id: number): Promise<HTMLImageElement> {
  let p = images.get(id)
  if (!p) {
    p = new Promise((resolve, reject) => {
      const img = new Image()
      img.onload = () => resolve(img)
      img.onerror = () => reject(new Error(`image ${id} could not be loaded`))
      img.src = api.mediaUrl('image', id)
    })
    if (images.size > 200) images.clear()
    images.set(id, p)
  }
  return p
}

/**
 * An image with a model's detections over it: masks filled and boxes drawn in the class colour,
 * each labelled with its class and score; the labels (ground truth) as dashed white outlines, so the
 * two are never confused. Detections under `threshold` are not drawn.
 */
export function DetectionImage({
  imageId,
  detections,
  truths = [],
  threshold,
  maxWidth = 320,
  maxHeight = 260,
  highlight,
  testid = 'detection-image',
}: {
  imageId: number
  detections: readonly Detection[]
  truths?: readonly TruthOutline[]
  threshold: number
  maxWidth?: number
  maxHeight?: number
  highlight?: Highlight | null
  testid?: string
}) {
  const ref = useRef<HTMLCanvasElement>(null)
  const classes = useTrain((s) => s.classes)
  const [img, setImg] = useState<{ id: number; el: HTMLImageElement } | null>(null)
  const [error, setError] = useState<string | null>(null)

  useEffect(() => {
    let stale = false
    loadImage(imageId).then(
      (el) => !stale && setImg({ id: imageId, el }),
      (e: Error) => !stale && setError(e.message),
    )
    return () => {
      stale = true
    }
  }, [imageId])

  const shown = useMemo(() => detections.filter((d) => d.score >= threshold), [detections, threshold])
  useEffect(() => {
    const canvas = ref.current
    if (!canvas || !img || img.id !== imageId) return
    const { naturalWidth: iw, naturalHeight: ih } = img.el
    const s = Math.min(maxWidth / iw, maxHeight / ih, 4)
    const W = Math.max(1, Math.round(iw * s))
    const H = Math.max(1, Math.round(ih * s))
    canvas.width = W
    canvas.height = H
    const ctx = canvas.getContext('2d')!
    ctx.imageSmoothingEnabled = s < 1
    ctx.drawImage(img.el, 0, 0, W, H)
    const color = (id: number | null) => classes.find((c) => c.id === id)?.color ?? '#ff00ff'
    const name = (id: number | null) => classes.find((c) => c.id === id)?.name ?? `class ${id}`
    // Lowest score first, so the most confident lie on top.
    const ordered = [...shown].sort((a, b) => a.score - b.score)
    ctx.imageSmoothingEnabled = false
    for (const d of ordered) {
      if (!d.mask) continue
      const m = maskImage(rleOf(d.mask), color(d.classId), 0.45)
      if (!m) continue
      const [mh, mw] = d.mask.size
      ctx.drawImage(m.canvas, (m.x * W) / mw, (m.y * H) / mh, (m.width * W) / mw, (m.height * H) / mh)
    }
    ctx.setLineDash([4, 3])
    for (const t of truths) {
      ctx.lineWidth = 1.5
      ctx.strokeStyle = 'rgba(0,0,0,0.8)'
      ctx.strokeRect(t.box.x * W + 1, t.box.y * H + 1, t.box.w * W, t.box.h * H)
      ctx.strokeStyle = '#ffffff'
      ctx.strokeRect(t.box.x * W, t.box.y * H, t.box.w * W, t.box.h * H)
    }
    ctx.setLineDash([])
    ctx.font = '11px system-ui, sans-serif'
    ctx.textBaseline = 'top'
    for (const d of ordered) {
      const c = color(d.classId)
      const [x, y, w, h] = [d.box.x * W, d.box.y * H, d.box.w * W, d.box.h * H]
      ctx.lineWidth = 2
      ctx.strokeStyle = c
      ctx.strokeRect(x, y, w, h)
      const label = `${name(d.classId)} ${pct(d.score, 0)}`
      const tw = ctx.measureText(label).width + 6
      const ly = y >= 14 ? y - 14 : y
      ctx.fillStyle = c
      ctx.fillRect(x, ly, tw, 14)
      ctx.fillStyle = '#ffffff'
      ctx.fillText(label, x + 3, ly + 1)
    }
    if (highlight) {
      const b = highlight.box
      ctx.lineWidth = 3
      ctx.strokeStyle = '#e53e3e'
      ctx.strokeRect(b.x * W - 3, b.y * H - 3, b.w * W + 6, b.h * H + 6)
    }
  }, [img, imageId, shown, truths, classes, maxWidth, maxHeight, highlight])

  if (error) return <div className="muted small">{error}</div>
  return (
    <canvas
      ref={ref}
      className="detection-image"
      data-testid={testid}
      data-image-id={imageId}
      data-shown={shown.length}
      aria-label={`Image ${imageId} with ${shown.length} detections shown`}
    />
  )
}
