import { describe, expect, it } from 'vitest'
import { polygonToRle, rleArea, rleLookup, rleWithStroke } from '../../src-shared/domain/rle'
import type { Region } from '../../src-renderer/editor/types'
import { CLASSES, click, drag, makeEditor, near, shapes } from './editor-helpers'

const W = 100
const H = 80

describe('box tool', () => {
  it('draws a box from a drag, in normalised coordinates with the active class, and selects it', () => {
    const ed = makeEditor()
    ed.setTool('box')
    ed.pointerDown(10, 20)
    expect(ed.tool.state).toBe('drawing')
    ed.pointerMove(30, 30)
    expect(ed.state.draft).toEqual({ kind: 'box', box: near({ x: 0.1, y: 0.25, w: 0.2, h: 0.125 }) })
    ed.pointerMove(60, 50)
    ed.pointerUp(60, 50)
    expect(ed.tool.state).toBe('idle')
    expect(ed.state.draft).toBeNull()
    expect(shapes(ed)).toEqual([
      {
        kind: 'box',
        geometry: { x: 0.1, y: 0.25, w: 0.5, h: 0.375 },
        classId: 11,
        z: 0,
        hidden: false,
        locked: false,
        origin: 'user',
      },
    ])
    expect(ed.state.selectedKey).toBe(ed.doc.regions[0]!.key)
    expect(ed.doc.status).toBe('labeled')
  })

  it('drawn from bottom-right to top-left, it is the same box', () => {
    const ed = makeEditor()
    ed.setTool('box')
    drag(ed, [60, 50], [10, 20])
    expect(ed.doc.regions[0]!.geometry).toEqual({ x: 0.1, y: 0.25, w: 0.5, h: 0.375 })
  })

  it('clamps a drag that leaves the image', () => {
    const ed = makeEditor()
    ed.setTool('box')
    drag(ed, [-20, -10], [150, 40])
    expect(ed.doc.regions[0]!.geometry).toEqual({ x: 0, y: 0, w: 1, h: 0.5 })
  })

  it('refuses a zero-area box (a click) and says why', () => {
    const ed = makeEditor()
    ed.setTool('box')
    click(ed, 40, 40)
    drag(ed, [40, 40], [70, 40.5])
    expect(ed.doc.regions).toHaveLength(0)
    expect(ed.state.notice?.text).toMatch(/needs some width and height/)
    expect(ed.state.notice?.level).toBe('warn')
    expect(ed.doc.status).toBe('unlabeled')
  })

  it('Escape drops a box being drawn', () => {
    const ed = makeEditor()
    ed.setTool('box')
    ed.pointerDown(10, 10)
    ed.pointerMove(50, 50)
    expect(ed.key('escape')).toBe(true)
    expect(ed.state.draft).toBeNull()
    ed.pointerUp(50, 50)
    expect(ed.doc.regions).toHaveLength(0)
  })
})

describe('polygon tool', () => {
  it('clicks points and closes on the first point', () => {
    const ed = makeEditor()
    ed.setTool('polygon')
    click(ed, 10, 10)
    expect(ed.tool.state).toBe('drawing')
    click(ed, 50, 10)
    click(ed, 50, 40)
    ed.pointerMove(11, 11)
    expect(ed.state.draft).toMatchObject({ kind: 'polygon', closable: true })
    click(ed, 11, 11)
    expect(ed.tool.state).toBe('idle')
    expect(ed.doc.regions).toHaveLength(1)
    expect(ed.doc.regions[0]).toMatchObject({
      kind: 'polygon',
      classId: 11,
      geometry: {
        points: [
          [0.1, 0.125],
          [0.5, 0.125],
          [0.5, 0.5],
        ],
      },
    })
  })

  it('Enter closes, Backspace removes the last point, Escape drops it all', () => {
    const ed = makeEditor()
    ed.setTool('polygon')
    click(ed, 10, 10)
    click(ed, 50, 10)
    click(ed, 90, 70)
    ed.key('backspace')
    click(ed, 50, 40)
    ed.key('enter')
    expect(ed.doc.regions[0]!.geometry).toEqual({
      points: [
        [0.1, 0.125],
        [0.5, 0.125],
        [0.5, 0.5],
      ],
    })
    click(ed, 10, 10)
    click(ed, 20, 10)
    ed.key('escape')
    expect(ed.tool.state).toBe('idle')
    expect(ed.state.draft).toBeNull()
    expect(ed.doc.regions).toHaveLength(1)
  })

  it('refuses fewer than 3 points, and a polygon with no area', () => {
    const ed = makeEditor()
    ed.setTool('polygon')
    click(ed, 10, 10)
    click(ed, 50, 10)
    ed.key('enter')
    expect(ed.state.notice?.text).toMatch(/at least 3 points/)
    expect(ed.tool.state).toBe('drawing')
    click(ed, 90, 10)
    ed.key('enter')
    expect(ed.state.notice?.text).toMatch(/no area/)
    expect(ed.doc.regions).toHaveLength(0)
  })

  it('a double click adds one point, and points outside the image are clamped', () => {
    const ed = makeEditor()
    ed.setTool('polygon')
    click(ed, -10, -10)
    click(ed, 120, 0)
    click(ed, 120, 0)
    click(ed, 50, 100)
    ed.key('enter')
    expect(ed.doc.regions[0]!.geometry).toEqual({
      points: [
        [0, 0],
        [1, 0],
        [0.5, 1],
      ],
    })
  })
})

describe('brush and eraser', () => {
  it('a stroke makes a mask at the image size, with the active class', () => {
    const ed = makeEditor()
    ed.setTool('brush')
    ed.setBrushSize(4)
    drag(ed, [20, 20], [30, 20], [40, 25])
    const r = ed.doc.regions[0]!
    expect(r.kind).toBe('mask')
    if (r.kind !== 'mask') return
    expect(r.geometry.rle.size).toEqual([H, W])
    expect(r.geometry.rle).toEqual(
      rleWithStroke(
        null,
        [
          [20, 20],
          [30, 20],
          [40, 25],
        ],
        2,
        false,
        H,
        W,
      ),
    )
    expect(r.classId).toBe(11)
  })

  it('shows the stroke while drawing and writes nothing before release', () => {
    const ed = makeEditor()
    ed.setTool('brush')
    ed.pointerDown(5, 5)
    ed.pointerMove(15, 5)
    expect(ed.state.draft).toMatchObject({
      kind: 'stroke',
      erase: false,
      points: [
        [5, 5],
        [15, 5],
      ],
    })
    expect(ed.doc.regions).toHaveLength(0)
    ed.pointerUp(15, 5)
    expect(ed.doc.regions).toHaveLength(1)
  })

  it('adds to the selected mask of the active class; another class starts a new mask', () => {
    const ed = makeEditor()
    ed.setTool('brush')
    ed.setBrushSize(2)
    drag(ed, [10, 10], [20, 10])
    drag(ed, [10, 30], [20, 30])
    expect(ed.doc.regions).toHaveLength(1)
    ed.pickClassNumber(2)
    // Picking class 2 with the mask selected gives the mask class 2; deselect to start a new one.
    expect(ed.doc.regions[0]!.classId).toBe(12)
    ed.select(null)
    ed.pickClassNumber(3)
    drag(ed, [50, 50], [60, 50])
    expect(ed.doc.regions.map((r) => r.classId)).toEqual([12, 13])
  })

  it('the eraser takes pixels away, and removes a mask it empties', () => {
    const ed = makeEditor()
    ed.setTool('brush')
    ed.setBrushSize(6)
    drag(ed, [20, 20], [60, 20])
    const before = rleArea((ed.doc.regions[0] as Region & { kind: 'mask' }).geometry.rle)
    ed.setTool('eraser')
    ed.setBrushSize(6)
    drag(ed, [40, 10], [40, 30])
    const m = ed.doc.regions[0] as Region & { kind: 'mask' }
    expect(rleArea(m.geometry.rle)).toBeLessThan(before)
    expect(rleLookup(m.geometry.rle)(40, 20)).toBe(false)
    expect(rleLookup(m.geometry.rle)(25, 20)).toBe(true)
    ed.setBrushSize(60)
    drag(ed, [40, 20], [41, 20])
    expect(ed.doc.regions).toHaveLength(0)
    expect(ed.state.notice?.text).toMatch(/removed/)
    // One undo brings the mask back as it was before the last stroke.
    ed.undo()
    expect(ed.doc.regions[0]).toEqual(m)
  })

  it('[ and ] change the brush size', () => {
    const ed = makeEditor()
    ed.setBrushSize(10)
    ed.stepBrush(1)
    expect(ed.state.brushSize).toBe(13)
    ed.stepBrush(-1)
    ed.stepBrush(-1)
    expect(ed.state.brushSize).toBe(8)
    ed.setBrushSize(1)
    ed.stepBrush(-1)
    expect(ed.state.brushSize).toBe(1)
  })
})

describe('tag tool and class keys', () => {
  it('a click tags the image with the active class; number keys pick classes', () => {
    const ed = makeEditor()
    ed.setTool('tag')
    click(ed, 50, 50)
    expect(ed.doc.tag).toBe(11)
    expect(ed.doc.status).toBe('labeled')
    ed.pickClassNumber(3)
    expect(ed.state.activeClassId).toBe(13)
    expect(ed.doc.tag).toBe(13)
    ed.pickClassNumber(9)
    expect(ed.state.notice?.text).toMatch(/no class 9/)
    expect(ed.doc.tag).toBe(13)
  })

  it('number keys reassign the selected region', () => {
    const ed = makeEditor()
    ed.setTool('box')
    drag(ed, [10, 10], [40, 40])
    ed.pickClassNumber(2)
    expect(ed.doc.regions[0]!.classId).toBe(12)
    expect(ed.doc.tag).toBeNull()
  })

  it('classes follow their positions, and a removed active class falls back to the first', () => {
    const ed = makeEditor()
    ed.setClasses([CLASSES[2]!, { ...CLASSES[0]!, position: 5 }, CLASSES[1]!])
    expect(ed.state.classes.map((c) => c.id)).toEqual([12, 13, 11])
    ed.setActiveClass(13)
    ed.setClasses([CLASSES[0]!, CLASSES[1]!])
    expect(ed.state.activeClassId).toBe(11)
  })
})

describe('select tool', () => {
  function withBox() {
    const ed = makeEditor()
    ed.setTool('box')
    drag(ed, [10, 10], [30, 30])
    ed.setTool('select')
    ed.select(null)
    return ed
  }

  it('selects by clicking, deselects on empty space', () => {
    const ed = withBox()
    click(ed, 20, 20)
    expect(ed.state.selectedKey).toBe(ed.doc.regions[0]!.key)
    click(ed, 80, 70)
    expect(ed.state.selectedKey).toBeNull()
  })

  it('moves a region, clamped to stay inside the image', () => {
    const ed = withBox()
    drag(ed, [20, 20], [30, 25], [40, 30])
    expect(ed.doc.regions[0]!.geometry).toEqual(near({ x: 0.3, y: 0.25, w: 0.2, h: 0.25 }))
    drag(ed, [40, 30], [400, -300])
    const g = ed.doc.regions[0]!.geometry as { x: number; y: number; w: number; h: number }
    expect(g.x + g.w).toBeCloseTo(1, 12)
    expect(g.y).toBeCloseTo(0, 12)
  })

  it('resizes a box with its handles', () => {
    const ed = withBox()
    click(ed, 20, 20)
    drag(ed, [30, 30], [50, 60])
    expect(ed.doc.regions[0]!.geometry).toEqual({ x: 0.1, y: 0.125, w: 0.4, h: 0.625 })
    drag(ed, [10, 35], [0, 35]) // the west side handle (x 10, half way down)
    expect(ed.doc.regions[0]!.geometry).toEqual({ x: 0, y: 0.125, w: 0.5, h: 0.625 })
  })

  it('puts a box back when a resize would leave it with no area', () => {
    const ed = withBox()
    click(ed, 20, 20)
    const before = ed.doc.regions[0]!.geometry
    drag(ed, [30, 30], [10, 30.2])
    expect(ed.doc.regions[0]!.geometry).toEqual(before)
    expect(ed.state.notice?.text).toMatch(/put back/)
  })

  it('drags polygon vertices', () => {
    const ed = makeEditor()
    ed.setTool('polygon')
    click(ed, 10, 10)
    click(ed, 50, 10)
    click(ed, 50, 40)
    ed.key('enter')
    ed.setTool('select')
    drag(ed, [50, 40], [70, 60])
    expect(ed.doc.regions[0]!.geometry).toEqual({
      points: [
        [0.1, 0.125],
        [0.5, 0.125],
        [0.7, 0.75],
      ],
    })
  })

  it('moves a mask by whole pixels when the drag ends', () => {
    const ed = makeEditor()
    ed.setTool('brush')
    ed.setBrushSize(4)
    drag(ed, [20, 20], [30, 20])
    const before = (ed.doc.regions[0] as Region & { kind: 'mask' }).geometry.rle
    ed.setTool('select')
    ed.pointerDown(25, 20)
    ed.pointerMove(35.4, 29.6)
    expect(ed.state.draft).toEqual({ kind: 'offset', key: ed.doc.regions[0]!.key, dx: 10, dy: 10 })
    expect((ed.doc.regions[0] as Region & { kind: 'mask' }).geometry.rle).toBe(before)
    ed.pointerUp(35.4, 29.6)
    const after = (ed.doc.regions[0] as Region & { kind: 'mask' }).geometry.rle
    expect(rleArea(after)).toBe(rleArea(before))
    expect(rleLookup(after)(35, 30)).toBe(true)
    expect(rleLookup(after)(20, 20)).toBe(false)
  })

  it('hidden and locked regions are not picked on the canvas; locked ones refuse edits', () => {
    const ed = withBox()
    const key = ed.doc.regions[0]!.key
    ed.toggleLocked(key)
    click(ed, 20, 20)
    expect(ed.state.selectedKey).toBeNull()
    ed.select(key)
    ed.pickClassNumber(2)
    expect(ed.doc.regions[0]!.classId).toBe(11)
    expect(ed.state.notice?.text).toMatch(/locked/)
    ed.deleteSelected()
    expect(ed.doc.regions).toHaveLength(1)
    ed.toggleLocked(key)
    ed.toggleHidden(key)
    ed.select(null)
    click(ed, 20, 20)
    expect(ed.state.selectedKey).toBeNull()
  })

  it('Delete (or Backspace) deletes the selected region', () => {
    const ed = withBox()
    click(ed, 20, 20)
    expect(ed.key('backspace')).toBe(true)
    expect(ed.doc.regions).toHaveLength(0)
    expect(ed.state.selectedKey).toBeNull()
    expect(ed.doc.status).toBe('unlabeled')
  })
})

describe('order and conversions', () => {
  it('reorders regions', () => {
    const ed = makeEditor()
    ed.setTool('box')
    drag(ed, [10, 10], [20, 20])
    drag(ed, [30, 30], [40, 40])
    drag(ed, [50, 50], [60, 60])
    const [a, b, c] = ed.doc.regions.map((r) => r.key)
    ed.moveZ(a!, 'up')
    expect(ed.doc.regions.map((r) => r.key)).toEqual([b, a, c])
    ed.moveZ(c!, 'bottom')
    expect(ed.doc.regions.map((r) => r.key)).toEqual([c, b, a])
    expect(ed.doc.regions.map((r) => r.z)).toEqual([0, 1, 2])
    ed.undo()
    expect(ed.doc.regions.map((r) => r.key)).toEqual([b, a, c])
  })

  it('converts a polygon to a mask and back to a polygon with its hole, in one step each', () => {
    const ed = makeEditor()
    const mask = rleWithStroke(null, [[50, 40]], 20, false, H, W)
    const holed = rleWithStroke(mask, [[50, 40]], 6, true, H, W)
    ed.load(
      { id: 2, width: W, height: H },
      {
        regions: [
          {
            key: 'm',
            kind: 'mask',
            geometry: { rle: holed },
            classId: 12,
            z: 0,
            hidden: false,
            locked: false,
            origin: 'user',
          },
        ],
        tag: null,
        status: 'labeled',
      },
    )
    ed.maskToPolygons('m')
    expect(ed.doc.regions).toHaveLength(1)
    const poly = ed.doc.regions[0]!
    expect(poly).toMatchObject({ kind: 'polygon', classId: 12 })
    if (poly.kind !== 'polygon') return
    expect(poly.geometry.holes).toHaveLength(1)
    ed.polygonToMask(poly.key)
    const back = ed.doc.regions[0]!
    expect(back.kind).toBe('mask')
    if (back.kind === 'mask') expect(back.geometry.rle).toEqual(holed)
    ed.undo()
    ed.undo()
    expect(ed.doc.regions[0]!.key).toBe('m')
    expect(polygonToRle(poly.geometry, H, W)).toEqual(holed)
  })
})

describe('the view', () => {
  it('pointer positions follow zoom and pan', () => {
    const ed = makeEditor()
    ed.setViewport(400, 320, true)
    expect(ed.state.view.scale).toBeCloseTo(Math.min(376 / 100, 296 / 80), 10)
    ed.setTool('box')
    const v = ed.state.view
    const sx = (x: number) => x * v.scale + v.x
    const sy = (y: number) => y * v.scale + v.y
    drag(ed, [sx(10), sy(20)], [sx(60), sy(50)])
    const g = ed.doc.regions[0]!.geometry as { x: number; y: number; w: number; h: number }
    expect(g.x).toBeCloseTo(0.1, 12)
    expect(g.h).toBeCloseTo(0.375, 12)
  })

  it('space-drag and the middle button pan instead of drawing', () => {
    const ed = makeEditor()
    ed.setTool('box')
    ed.setSpaceHeld(true)
    drag(ed, [10, 10], [40, 30])
    ed.setSpaceHeld(false)
    ed.pointerDown(10, 10, { button: 1 })
    ed.pointerMove(20, 10, { button: 1 })
    ed.pointerUp(20, 10, { button: 1 })
    expect(ed.doc.regions).toHaveLength(0)
    expect(ed.state.view).toEqual({ scale: 1, x: 40, y: 20 })
  })

  it('the wheel zooms around the pointer', () => {
    const ed = makeEditor()
    ed.setViewport(400, 320, true)
    const before = ed.state.view
    const ix = (200 - before.x) / before.scale
    ed.wheel(200, 100, -200)
    const after = ed.state.view
    expect(after.scale).toBeGreaterThan(before.scale)
    expect((200 - after.x) / after.scale).toBeCloseTo(ix, 10)
    ed.oneToOne()
    expect(ed.state.view.scale).toBe(1)
    ed.fit()
    expect(ed.state.view).toEqual(before)
  })
})
