import {
  useCallback,
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
  type PointerEvent as ReactPointerEvent,
} from 'react'
import { Group, Image as KImage, Layer, Line, Rect, Stage } from 'react-konva'
import type { Rle } from '../../src-shared/domain/rle'
import type { ClassLabel } from '../../src-shared/domain/types'
import type { Editor } from '../editor/editor'
import type { ShownPrediction } from '../editor/predictions'
import { Overlay } from './Overlay'
import { PredictionLayer } from './Predictions'
import { NO_CLASS_COLOR, RegionNode } from './RegionNode'
import { useEditor, useEditorShallow } from './useEditor'

/** The image as the browser decoded it, or why it could not. */
export type Picture = { kind: 'ok'; bitmap: CanvasImageSource } | { kind: 'error'; message: string }

/**
 * The editor's canvas: a react-konva stage whose transform is the editor's view, with three layers:
 * the image (no smoothing, so pixels stay crisp at any zoom), the regions, and the overlay (selection,
 * drawing, brush cursor). No layer listens for Konva events: pointer and wheel events go from the
 * container straight to the editor, in screen pixels.
 *
 * Once the image layer has drawn a new image, the container's `data-drawn-image` names it and a
 * `smallset:image-drawn` performance mark is made (the navigation benchmark reads both).
 */
/** What the predictions layer draws (see Predictions.tsx). */
export interface PredictionOverlay {
  items: readonly ShownPrediction[]
  masks: ReadonlyMap<number, Rle>
  highlighted: number | null
  classes: readonly ClassLabel[]
  /** Hidden, the layer stays built, so showing it again is one redraw. */
  visible: boolean
}

export function EditorCanvas({
  editor,
  imageId,
  picture,
  predictions,
}: {
  editor: Editor
  imageId: number
  /** null while loading. */
  picture: Picture | null
  /** A run's predictions to draw over the labels, when the overlay is on. */
  predictions?: PredictionOverlay | null
}) {
  const boxRef = useRef<HTMLDivElement>(null)
  const [vp, setVp] = useState({ width: 0, height: 0 })
  const view = useEditor(editor, (s) => s.view)
  const size = useEditor(editor, (s) => s.image)
  const { tool, panning, spaceHeld, toolState } = useEditorShallow(editor, (s) => ({
    tool: s.tool,
    panning: s.panning,
    spaceHeld: s.spaceHeld,
    toolState: s.toolState,
  }))

  // Follow the container's size (a view the user has not zoomed or panned keeps fitting the image).
  useLayoutEffect(() => {
    const el = boxRef.current
    if (!el) return
    const measure = () => {
      const width = el.clientWidth
      const height = el.clientHeight
      setVp({ width, height })
      if (width && height) editor.setViewport(width, height)
    }
    const ro = new ResizeObserver(measure)
    ro.observe(el)
    measure()
    return () => ro.disconnect()
  }, [editor])

  // Wheel zoom needs a non-passive listener to keep the page from scrolling.
  useEffect(() => {
    const el = boxRef.current
    if (!el) return
    const onWheel = (e: WheelEvent) => {
      e.preventDefault()
      const r = el.getBoundingClientRect()
      const dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY
      editor.wheel(e.clientX - r.left, e.clientY - r.top, dy)
    }
    el.addEventListener('wheel', onWheel, { passive: false })
    return () => el.removeEventListener('wheel', onWheel)
  }, [editor])

  // Report when the image layer has drawn the current image.
  const drawnFor = useRef<number | null>(null)
  const reported = useRef<number | null>(null)
  useLayoutEffect(() => {
    drawnFor.current = picture ? imageId : null
  }, [picture, imageId])
  const onImageLayerDraw = useCallback(() => {
    const id = drawnFor.current
    const el = boxRef.current
    if (id === null || id === reported.current || !el) return
    reported.current = id
    el.dataset.drawnImage = String(id)
    performance.mark('smallset:image-drawn', { detail: { imageId: id } })
  }, [])

  const local = (e: ReactPointerEvent) => {
    const r = boxRef.current!.getBoundingClientRect()
    return [e.clientX - r.left, e.clientY - r.top] as const
  }
  const opts = (e: ReactPointerEvent) => ({
    button: e.button,
    shift: e.shiftKey,
    alt: e.altKey,
    ctrl: e.ctrlKey || e.metaKey,
  })

  const cursor = panning
    ? 'grabbing'
    : spaceHeld
      ? 'grab'
      : tool === 'select'
        ? toolState === 'idle'
          ? 'default'
          : 'move'
        : tool === 'brush' || tool === 'eraser'
          ? 'none'
          : tool === 'tag'
            ? 'copy'
            : 'crosshair'

  return (
    <div
      ref={boxRef}
      className="editor-canvas"
      data-testid="editor-canvas"
      data-scale={view.scale}
      data-offset-x={view.x}
      data-offset-y={view.y}
      style={{ cursor }}
      onPointerDown={(e) => {
        if (e.button === 2) return
        e.currentTarget.setPointerCapture(e.pointerId)
        // Focus stays on the page (not a panel's input), so shortcuts keep working.
        if (document.activeElement instanceof HTMLElement) document.activeElement.blur()
        e.preventDefault()
        editor.pointerDown(...local(e), opts(e))
      }}
      onPointerMove={(e) => {
        // A brush stroke takes every point the pointer passed, not just one per frame.
        const all = tool === 'brush' || tool === 'eraser' ? e.nativeEvent.getCoalescedEvents?.() : undefined
        if (all && all.length > 1) {
          const r = boxRef.current!.getBoundingClientRect()
          for (const c of all) editor.pointerMove(c.clientX - r.left, c.clientY - r.top, opts(e))
        } else editor.pointerMove(...local(e), opts(e))
      }}
      onPointerUp={(e) => {
        if (e.currentTarget.hasPointerCapture(e.pointerId)) e.currentTarget.releasePointerCapture(e.pointerId)
        editor.pointerUp(...local(e), opts(e))
      }}
      onPointerLeave={() => editor.pointerLeave()}
      onContextMenu={(e) => e.preventDefault()}
    >
      {vp.width > 0 && (
        <Stage
          width={vp.width}
          height={vp.height}
          scaleX={view.scale}
          scaleY={view.scale}
          x={view.x}
          y={view.y}
          listening={false}
        >
          <Layer imageSmoothingEnabled={false} listening={false} onDraw={onImageLayerDraw}>
            {picture?.kind === 'ok' && (
              <KImage image={picture.bitmap} width={size.width} height={size.height} listening={false} />
            )}
            {picture?.kind === 'error' && <ErrorTile width={size.width} height={size.height} />}
            {!picture && <Rect width={size.width} height={size.height} fill="#2a2f3a" listening={false} />}
          </Layer>
          <Layer imageSmoothingEnabled={false} listening={false}>
            <Regions editor={editor} />
          </Layer>
          {predictions && (
            <Layer imageSmoothingEnabled={false} listening={false} visible={predictions.visible}>
              <PredictionLayer
                items={predictions.items}
                masks={predictions.masks}
                highlighted={predictions.highlighted}
                classes={predictions.classes}
                size={size}
                scale={view.scale}
              />
            </Layer>
          )}
          <Layer listening={false}>
            <Overlay editor={editor} />
          </Layer>
        </Stage>
      )}
      {picture?.kind === 'error' && (
        <div className="decode-error" data-testid="decode-error" role="alert">
          <strong>This image could not be shown.</strong>
          <span>{picture.message}</span>
          <span className="muted">Its annotations are still here, over a placeholder of its size.</span>
        </div>
      )}
    </div>
  )
}

function Regions({ editor }: { editor: Editor }) {
  const regions = useEditor(editor, (s) => s.doc.regions)
  const classes = useEditor(editor, (s) => s.classes)
  const size = useEditor(editor, (s) => s.image)
  const offset = useEditor(editor, (s) => (s.draft?.kind === 'offset' ? s.draft : null))
  const colors = new Map(classes.map((c) => [c.id, c.color]))
  return (
    <Group listening={false}>
      {regions.map((r) =>
        r.hidden ? null : (
          <RegionNode
            key={r.key}
            region={r}
            size={size}
            color={(r.classId !== null && colors.get(r.classId)) || NO_CLASS_COLOR}
            offset={offset?.key === r.key ? offset : undefined}
          />
        ),
      )}
    </Group>
  )
}

/** Drawn where an image failed to decode: a hatched tile of the image's size, so it is never blank. */
function ErrorTile({ width, height }: { width: number; height: number }) {
  const step = Math.max(width, height) / 12
  const lines = []
  for (let d = -height; d < width; d += step) lines.push([d, 0, d + height, height])
  return (
    <Group listening={false} clipX={0} clipY={0} clipWidth={width} clipHeight={height}>
      <Rect
        width={width}
        height={height}
        fill="#fdecea"
        stroke="#c0392b"
        strokeWidth={2}
        strokeScaleEnabled={false}
      />
      {lines.map((l, i) => (
        <Line key={i} points={l} stroke="#f5b7b1" strokeWidth={1.5} strokeScaleEnabled={false} />
      ))}
    </Group>
  )
}
