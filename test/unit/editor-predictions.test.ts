import { describe, expect, it } from 'vitest'
import type { Detection } from '../../src-shared/api/train'
import { encodeBitmap, rleToString } from '../../src-shared/domain/rle'
import { commandForKey } from '../../src-renderer/editor/keys'
import {
  hitPrediction,
  nextPrediction,
  predictionShape,
  predictionStyle,
  shownPredictions,
} from '../../src-renderer/editor/predictions'
import { makeEditor, shapes } from './editor-helpers'

const det = (classId: number, score: number, x: number, y: number, w: number, h: number): Detection => ({
  classId,
  score,
  box: { x, y, w, h },
})

/** A mask on the editor's 100 × 80 image covering pixels x 10..29, y 8..23. */
function maskDetection(score = 0.8): Detection {
  const data = new Uint8Array(20 * 16).fill(1)
  const rle = encodeBitmap({ x: 10, y: 8, width: 20, height: 16, data }, 80, 100)
  return { ...det(12, score, 0.1, 0.1, 0.2, 0.2), mask: { size: [80, 100], counts: rleToString(rle) } }
}

describe('the predictions overlay', () => {
  const dets = [
    det(11, 0.9, 0.1, 0.1, 0.5, 0.5), // big
    det(12, 0.6, 0.2, 0.2, 0.1, 0.1), // small, inside the big one
    det(11, 0.3, 0.7, 0.7, 0.2, 0.2), // below the threshold
  ]

  it('shows what scores at or above the threshold and was not rejected, most confident first', () => {
    expect(shownPredictions(dets, 0.5, new Set()).map((s) => s.index)).toEqual([0, 1])
    expect(shownPredictions(dets, 0.2, new Set([0])).map((s) => s.index)).toEqual([1, 2])
    expect(shownPredictions(dets, 0.95, new Set())).toEqual([])
  })

  it('hides a prediction once it was accepted from the same run', () => {
    const ed = makeEditor()
    ed.acceptPredictions([{ shape: predictionShape(dets[0]!), classId: 11, score: 0.9 }], 7)
    expect(shownPredictions(dets, 0.5, new Set(), ed.doc.regions, 7).map((s) => s.index)).toEqual([1])
    // Another run's predictions are still shown over it.
    expect(shownPredictions(dets, 0.5, new Set(), ed.doc.regions, 8).map((s) => s.index)).toEqual([0, 1])
  })

  it('hides an accepted mask prediction (its mask is tighter than its box), and shows it again on undo', () => {
    const ed = makeEditor()
    const m = maskDetection(0.8)
    // The mask covers x 0.1..0.3, y 0.1..0.3; make the box looser than the mask.
    const d = { ...m, box: { x: 0.05, y: 0.05, w: 0.3, h: 0.3 } }
    ed.acceptPredictions([{ shape: predictionShape(d), classId: d.classId, score: d.score }], 3)
    expect(shownPredictions([d], 0.5, new Set(), ed.doc.regions, 3)).toEqual([])
    ed.undo()
    expect(shownPredictions([d], 0.5, new Set(), ed.doc.regions, 3)).toHaveLength(1)
  })

  it('hit-tests to the smallest box under the point, so nested objects can be picked', () => {
    const shown = shownPredictions(dets, 0.5, new Set())
    expect(hitPrediction(shown, [0.25, 0.25])?.index).toBe(1)
    expect(hitPrediction(shown, [0.5, 0.5])?.index).toBe(0)
    expect(hitPrediction(shown, [0.95, 0.05])).toBeNull()
  })

  it('cycles the highlight through the shown predictions', () => {
    const shown = shownPredictions(dets, 0.2, new Set())
    expect(nextPrediction(shown, null)).toBe(0)
    expect(nextPrediction(shown, 0)).toBe(1)
    expect(nextPrediction(shown, 2)).toBe(0)
    expect(nextPrediction([], 3)).toBeNull()
  })

  it('is drawn dashed with its score, never like a label, and bolder when highlighted', () => {
    const s = predictionStyle(dets[0]!, '#4e79a7', 'cat', false)
    expect(s).toMatchObject({ stroke: '#4e79a7', label: 'cat 90%' })
    expect(s.dash.length).toBeGreaterThan(0)
    const h = predictionStyle(dets[0]!, '#4e79a7', 'cat', true)
    expect(h.strokeWidth).toBeGreaterThan(s.strokeWidth)
    expect(h.fillAlpha).toBeGreaterThan(s.fillAlpha)
  })

  it('becomes its mask when it has one, else its box', () => {
    expect(predictionShape(dets[0]!)).toEqual({ kind: 'box', geometry: dets[0]!.box })
    const m = predictionShape(maskDetection())
    expect(m.kind).toBe('mask')
  })

  it('keys: O toggles, K accepts, Shift+K accepts all, X rejects, J highlights the next, U goes on', () => {
    expect(commandForKey({ key: 'o' })).toEqual({ type: 'overlay' })
    expect(commandForKey({ key: 'k' })).toEqual({ type: 'accept' })
    expect(commandForKey({ key: 'K', shift: true })).toEqual({ type: 'acceptAll' })
    expect(commandForKey({ key: 'x' })).toEqual({ type: 'reject' })
    expect(commandForKey({ key: 'j' })).toEqual({ type: 'nextPrediction' })
    expect(commandForKey({ key: 'u' })).toEqual({ type: 'nextUnreviewed' })
  })
})

describe('accepting predictions in the headless editor', () => {
  it('adds each as an ordinary region with its model origin, one undo step per accept', () => {
    const ed = makeEditor()
    ed.acceptPredictions([{ shape: predictionShape(maskDetection()), classId: 12, score: 0.8 }], 5)
    expect(shapes(ed)).toMatchObject([
      { kind: 'mask', classId: 12, origin: 'model', source: { runId: 5, score: 0.8 }, hidden: false },
    ])
    expect(ed.doc.status).toBe('labeled')
    ed.acceptPredictions(
      [
        { shape: { kind: 'box', geometry: { x: 0.5, y: 0.5, w: 0.2, h: 0.2 } }, classId: 11, score: 0.7 },
        { shape: { kind: 'box', geometry: { x: 0.1, y: 0.6, w: 0.1, h: 0.1 } }, classId: 13, score: 0.6 },
      ],
      5,
    )
    expect(ed.doc.regions).toHaveLength(3)
    ed.undo()
    expect(ed.doc.regions).toHaveLength(1)
    ed.undo()
    expect(ed.doc.regions).toHaveLength(0)
    expect(ed.doc.status).toBe('unlabeled')
    ed.redo()
    expect(shapes(ed)).toMatchObject([{ kind: 'mask', origin: 'model' }])
  })

  it('skips degenerate shapes, and a class the project no longer has becomes no class', () => {
    const ed = makeEditor()
    const added = ed.acceptPredictions(
      [
        { shape: { kind: 'box', geometry: { x: 0.5, y: 0.5, w: 0, h: 0.2 } }, classId: 11, score: 0.9 },
        { shape: { kind: 'box', geometry: { x: 0.1, y: 0.1, w: 0.2, h: 0.2 } }, classId: 99, score: 0.9 },
      ],
      1,
    )
    expect(added).toHaveLength(1)
    expect(shapes(ed)).toMatchObject([{ classId: null, origin: 'model' }])
    expect(ed.acceptPredictions([], 1)).toEqual([])
    expect(ed.undoDepth).toBe(1)
  })
})
