import type { ImageDetectionErrors } from '../../src-shared/api/train'
import { imageErrors } from '../../src-shared/domain/detection-errors'
import { shapeBounds, type RegionShape } from '../../src-shared/domain/regions'
import type { DB } from '../store/open'
import { getDetections } from '../store/repos/runs'
import { detectionImages, regionsOf } from '../store/repos/training'

/**
 * The error gallery of a detection run: each test image's stored test detections (epoch -1) judged
 * against the image's labels as they are now, so that a fixed label stops showing as an error.
 * Worst images first.
 */
export function detectionErrors(
  db: DB,
  runId: number,
  threshold: number,
  limit: number,
): { images: number; byKind: Record<string, number>; items: ImageDetectionErrors[] } {
  const images = detectionImages(db).filter((i) => i.split === 'test')
  const ids = images.map((i) => i.id)
  const dets = new Map(
    getDetections(db, runId, { epoch: -1, imageIds: ids }).map((d) => [d.imageId, d.detections]),
  )
  const regions = regionsOf(db, ids)
  const byKind: Record<string, number> = {}
  const items: ImageDetectionErrors[] = images.map((im) => {
    const truths = regions
      .filter((r) => r.imageId === im.id && r.classId !== null)
      .map((r) => ({
        classId: r.classId!,
        box: shapeBounds({ kind: r.kind, geometry: JSON.parse(r.geometry) } as RegionShape),
        crowd: r.crowd,
      }))
    const shown = (dets.get(im.id) ?? []).filter((d) => d.score >= threshold)
    const judged = imageErrors(truths, shown, { threshold })
    for (const e of judged.errors) byKind[e.kind] = (byKind[e.kind] ?? 0) + 1
    return { imageId: im.id, width: im.width, height: im.height, detections: shown, truths, ...judged }
  })
  items.sort((a, b) => b.wrongness - a.wrongness || a.imageId - b.imageId)
  return { images: images.length, byKind, items: items.slice(0, limit) }
}
