import { describe, expect, it } from 'vitest'
import { boxIou, imageErrors, type TruthBox } from '../../src-shared/domain/detection-errors'

const box = (x: number, y: number, w: number, h: number) => ({ x, y, w, h })
const truths: TruthBox[] = [
  { classId: 1, box: box(0, 0, 10, 10) },
  { classId: 2, box: box(50, 50, 10, 10) },
  { classId: 1, box: box(100, 0, 10, 10) },
]

describe('detection errors (the error gallery)', () => {
  it('IoU of boxes', () => {
    expect(boxIou(box(0, 0, 10, 10), box(0, 0, 10, 10))).toBe(1)
    expect(boxIou(box(0, 0, 10, 10), box(5, 0, 10, 10))).toBeCloseTo(50 / 150)
    expect(boxIou(box(0, 0, 10, 10), box(20, 0, 10, 10))).toBe(0)
  })

  it('a perfect set of detections has no errors', () => {
    const r = imageErrors(
      truths,
      truths.map((t) => ({ ...t, score: 0.9 })),
      { threshold: 0.5 },
    )
    expect(r).toEqual({ correct: 3, errors: [], wrongness: 0 })
  })

  it('names each kind of error once, and sorts them by how bad they are', () => {
    const r = imageErrors(
      truths,
      [
        { classId: 1, score: 0.95, box: box(0, 0, 10, 10) }, // right
        { classId: 1, score: 0.9, box: box(0, 0, 10, 9) }, // the same object again
        { classId: 1, score: 0.8, box: box(50, 50, 10, 10) }, // on the class-2 object
        { classId: 1, score: 0.7, box: box(104, 0, 10, 10) }, // IoU 0.43 with object 3
        { classId: 2, score: 0.6, box: box(300, 300, 10, 10) }, // on nothing
        { classId: 2, score: 0.3, box: box(400, 400, 10, 10) }, // below the threshold: not judged
      ],
      { threshold: 0.5 },
    )
    expect(r.correct).toBe(1)
    expect(r.errors.map((e) => [e.kind, e.detection ?? null, e.truth ?? null])).toEqual([
      ['duplicate', 1, 0],
      ['wrong_class', 2, 1],
      ['poor_localisation', 3, 2],
      ['false_positive', 4, null],
    ])
    expect(r.errors[1]).toMatchObject({ classId: 1, trueClassId: 2, iou: 1 })
    expect(r.errors[2]!.iou).toBeCloseTo(60 / 140)
    expect(r.wrongness).toBeCloseTo(0.9 + 0.8 + 0.7 + 0.6)
  })

  it('an object nothing explains is a miss, weighing more than any detection', () => {
    const r = imageErrors(truths, [{ classId: 2, score: 0.99, box: box(300, 300, 5, 5) }], {
      threshold: 0.5,
    })
    expect(r.errors.map((e) => e.kind)).toEqual(['miss', 'miss', 'miss', 'false_positive'])
    expect(r.errors[0]).toMatchObject({ truth: 0, classId: 1, box: truths[0]!.box, weight: 1 })
    expect(r.wrongness).toBeCloseTo(3.99)
  })

  it('a detection on a crowd region is neither right nor wrong, and a crowd is never missed', () => {
    const r = imageErrors(
      [{ classId: 1, box: box(0, 0, 10, 10), crowd: true }],
      [{ classId: 1, score: 0.9, box: box(0, 0, 10, 10) }],
      { threshold: 0.5 },
    )
    expect(r).toEqual({ correct: 0, errors: [], wrongness: 0 })
  })

  it('matches greedily by score, as COCO does', () => {
    // The weaker detection fits better, but the stronger one takes the object first.
    const r = imageErrors(
      [{ classId: 1, box: box(0, 0, 10, 10) }],
      [
        { classId: 1, score: 0.6, box: box(0, 0, 10, 10) },
        { classId: 1, score: 0.9, box: box(1, 0, 10, 10) },
      ],
      { threshold: 0.5 },
    )
    expect(r.correct).toBe(1)
    expect(r.errors).toMatchObject([{ kind: 'duplicate', detection: 0 }])
  })
})
