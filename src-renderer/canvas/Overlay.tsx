import { Circle, Group, Line, Rect, Shape } from 'react-konva'
import type { Size } from '../../src-shared/domain/geometry'
import { rleBounds } from '../../src-shared/domain/rle'
import type { Editor } from '../editor/editor'
import { handlesOf } from '../editor/hit'
import type { Draft, Region } from '../editor/types'
import { boxPx, pointPx, ringsPx, withAlpha } from './coords'
import { NO_CLASS_COLOR, traceRings } from './RegionNode'
import { useEditor } from './useEditor'

const ACCENT = '#2f6fed'
/** Past this many vertices a polygon shows its outline only (its vertices still drag). */
const MAX_VERTEX_HANDLES = 400

/** What sits above the regions: the selection and its handles, the shape being drawn, the brush cursor. */
export function Overlay({ editor }: { editor: Editor }) {
  const size = useEditor(editor, (s) => s.image)
  const scale = useEditor(editor, (s) => s.view.scale)
  const selected = useEditor(editor, (s) =>
    s.selectedKey === null ? undefined : s.doc.regions.find((r) => r.key === s.selectedKey),
  )
  const draft = useEditor(editor, (s) => s.draft)
  const color = useEditor(
    editor,
    (s) => s.classes.find((c) => c.id === s.activeClassId)?.color ?? NO_CLASS_COLOR,
  )
  const brush = useEditor(editor, (s) =>
    (s.tool === 'brush' || s.tool === 'eraser') && s.pointer && !s.panning
      ? { p: s.pointer, r: s.brushSize / 2, erase: s.tool === 'eraser' }
      : null,
  )
  return (
    <>
      {selected && !selected.hidden && (
        <Selection region={selected} size={size} scale={scale} draft={draft} />
      )}
      {draft && <DraftShape draft={draft} size={size} scale={scale} color={color} />}
      {brush && (
        <Circle
          x={brush.p[0]}
          y={brush.p[1]}
          radius={brush.r}
          stroke={brush.erase ? '#ffffff' : color}
          strokeWidth={1.5}
          dash={[4, 3]}
          strokeScaleEnabled={false}
          listening={false}
        />
      )}
    </>
  )
}

function Selection({
  region,
  size,
  scale,
  draft,
}: {
  region: Region
  size: Size
  scale: number
  draft: Draft | null
}) {
  const hs = 8 / scale
  const common = { stroke: ACCENT, strokeWidth: 2, strokeScaleEnabled: false, listening: false }
  let outline
  if (region.kind === 'box') outline = <Rect {...boxPx(region.geometry, size)} {...common} />
  else if (region.kind === 'polygon') {
    const rings = ringsPx(region.geometry, size)
    outline = (
      <Shape
        sceneFunc={(ctx, shape) => {
          traceRings(ctx, rings)
          ctx.strokeShape(shape)
        }}
        {...common}
      />
    )
  } else {
    const b = rleBounds(region.geometry.rle)
    const off = draft?.kind === 'offset' && draft.key === region.key ? draft : { dx: 0, dy: 0 }
    outline = (
      <Rect x={b.x + off.dx} y={b.y + off.dy} width={b.width} height={b.height} {...common} dash={[6, 4]} />
    )
  }
  const handles = region.locked ? [] : handlesOf(region, size)
  return (
    <Group listening={false}>
      {outline}
      {handles.length <= MAX_VERTEX_HANDLES &&
        handles.map(({ handle, at }, i) =>
          handle.kind === 'box' ? (
            <Rect
              key={i}
              x={at[0] - hs / 2}
              y={at[1] - hs / 2}
              width={hs}
              height={hs}
              fill="#ffffff"
              stroke={ACCENT}
              strokeWidth={1.5}
              strokeScaleEnabled={false}
              listening={false}
            />
          ) : (
            <Circle
              key={i}
              x={at[0]}
              y={at[1]}
              radius={hs / 2}
              fill="#ffffff"
              stroke={ACCENT}
              strokeWidth={1.5}
              strokeScaleEnabled={false}
              listening={false}
            />
          ),
        )}
    </Group>
  )
}

function DraftShape({
  draft,
  size,
  scale,
  color,
}: {
  draft: Draft
  size: Size
  scale: number
  color: string
}) {
  if (draft.kind === 'box')
    return (
      <Rect
        {...boxPx(draft.box, size)}
        fill={withAlpha(color, 0.15)}
        stroke={color}
        strokeWidth={2}
        dash={[6, 4]}
        strokeScaleEnabled={false}
        listening={false}
      />
    )
  if (draft.kind === 'polygon') {
    const pts = draft.points.flatMap((p) => pointPx(p, size))
    const cursor = draft.cursor ? pointPx(draft.cursor, size) : null
    const first = pointPx(draft.points[0]!, size)
    return (
      <Group listening={false}>
        {draft.points.length >= 3 && (
          <Line points={pts} closed fill={withAlpha(color, 0.12)} strokeEnabled={false} />
        )}
        <Line points={pts} stroke={color} strokeWidth={2} strokeScaleEnabled={false} />
        {cursor && (
          <Line
            points={[...pts.slice(-2), ...cursor]}
            stroke={color}
            strokeWidth={1.5}
            dash={[5, 4]}
            strokeScaleEnabled={false}
          />
        )}
        {draft.points.map((p, i) => {
          const [x, y] = pointPx(p, size)
          return (
            <Circle
              key={i}
              x={x}
              y={y}
              radius={(i === 0 && draft.closable ? 6 : 3.5) / scale}
              fill={i === 0 && draft.closable ? color : '#ffffff'}
              stroke={color}
              strokeWidth={1.5}
              strokeScaleEnabled={false}
            />
          )
        })}
        <Circle
          x={first[0]}
          y={first[1]}
          radius={8 / scale}
          stroke={color}
          strokeWidth={1}
          strokeScaleEnabled={false}
          opacity={draft.points.length >= 3 ? 0.8 : 0}
        />
      </Group>
    )
  }
  if (draft.kind === 'stroke') {
    const c = draft.erase ? 'rgba(255, 255, 255, 0.55)' : withAlpha(color, 0.5)
    if (draft.points.length === 1)
      return (
        <Circle
          x={draft.points[0]![0]}
          y={draft.points[0]![1]}
          radius={draft.radius}
          fill={c}
          listening={false}
        />
      )
    return (
      <Line
        points={draft.points.flat()}
        stroke={c}
        strokeWidth={draft.radius * 2}
        lineCap="round"
        lineJoin="round"
        listening={false}
      />
    )
  }
  return null
}
