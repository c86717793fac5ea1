import { memo } from 'react'
import { Group, Image as KImage, Rect, Text } from 'react-konva'
import type { Size } from '../../src-shared/domain/geometry'
import type { Rle } from '../../src-shared/domain/rle'
import type { ClassLabel } from '../../src-shared/domain/types'
import { predictionStyle, type ShownPrediction } from '../editor/predictions'
import { boxPx } from './coords'
import { maskImage } from './maskImage'
import { NO_CLASS_COLOR } from './RegionNode'

/**
 * A run's predictions over the image, under the selection overlay: dashed boxes in the class
 * colour with a score tag, masks lighter than labels' (see editor/predictions.ts for the rules).
 * `masks` holds each shown prediction's decoded mask, made once per prediction list so that the
 * mask canvases are cached across redraws.
 */
export const PredictionLayer = memo(function PredictionLayer({
  items,
  masks,
  highlighted,
  size,
  scale,
  classes,
}: {
  items: readonly ShownPrediction[]
  masks: ReadonlyMap<number, Rle>
  highlighted: number | null
  size: Size
  scale: number
  classes: readonly ClassLabel[]
}) {
  const font = 12 / scale
  return (
    <>
      {items.map(({ index, detection: d }) => {
        const c = classes.find((k) => k.id === d.classId)
        const st = predictionStyle(
          d,
          c?.color ?? NO_CLASS_COLOR,
          c?.name ?? `class ${d.classId}`,
          highlighted === index,
        )
        const b = boxPx(d.box, size)
        const rle = masks.get(index)
        const img = rle ? maskImage(rle, st.stroke, st.fillAlpha) : null
        return (
          <Group key={index} listening={false}>
            {img && (
              <KImage
                image={img.canvas}
                x={img.x}
                y={img.y}
                width={img.width}
                height={img.height}
                perfectDrawEnabled={false}
                listening={false}
              />
            )}
            <Rect
              {...b}
              stroke={st.stroke}
              strokeWidth={st.strokeWidth}
              dash={st.dash.map((v) => v / scale)}
              strokeScaleEnabled={false}
              perfectDrawEnabled={false}
              listening={false}
            />
            <Text
              x={b.x}
              y={b.y - font * 1.4 >= 0 ? b.y - font * 1.4 : b.y}
              text={`◇ ${st.label}`}
              fontSize={font}
              padding={2 / scale}
              fill="#ffffff"
              stroke={st.stroke}
              strokeWidth={0}
              shadowColor="#000000"
              shadowBlur={2 / scale}
              shadowOpacity={0.9}
              listening={false}
            />
          </Group>
        )
      })}
    </>
  )
})
