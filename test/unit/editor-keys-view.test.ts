import { describe, expect, it } from 'vitest'
import { commandForKey } from '../../src-renderer/editor/keys'
import { fitView, oneToOneView, screenToImage, zoomAt } from '../../src-renderer/editor/viewport'

describe('keyboard map', () => {
  it('maps shortcuts to commands', () => {
    expect(commandForKey({ key: 'z', ctrl: true })).toEqual({ type: 'undo' })
    expect(commandForKey({ key: 'Z', ctrl: true, shift: true })).toEqual({ type: 'redo' })
    expect(commandForKey({ key: 'z', meta: true, shift: true })).toEqual({ type: 'redo' })
    expect(commandForKey({ key: 'y', ctrl: true })).toEqual({ type: 'redo' })
    expect(commandForKey({ key: '3' })).toEqual({ type: 'class', n: 3 })
    expect(commandForKey({ key: 'b' })).toEqual({ type: 'tool', tool: 'box' })
    expect(commandForKey({ key: 'P' })).toEqual({ type: 'tool', tool: 'polygon' })
    expect(commandForKey({ key: 'ArrowRight' })).toEqual({ type: 'next' })
    expect(commandForKey({ key: 'a' })).toEqual({ type: 'prev' })
    expect(commandForKey({ key: 'n' })).toEqual({ type: 'nextUnlabeled' })
    expect(commandForKey({ key: '0' })).toEqual({ type: 'oneToOne' })
    expect(commandForKey({ key: 'f' })).toEqual({ type: 'fit' })
    expect(commandForKey({ key: ']' })).toEqual({ type: 'brush', dir: 1 })
    expect(commandForKey({ key: 'Delete' })).toEqual({ type: 'delete' })
    expect(commandForKey({ key: '+', shift: true })).toEqual({ type: 'zoom', dir: 1 })
  })

  it('leaves the browser its own shortcuts', () => {
    expect(commandForKey({ key: 'c', ctrl: true })).toBeNull()
    expect(commandForKey({ key: 'r', ctrl: true })).toBeNull()
    expect(commandForKey({ key: 'q' })).toBeNull()
    expect(commandForKey({ key: '1', alt: true })).toBeNull()
    expect(commandForKey({ key: 'B', shift: true })).toBeNull()
  })
})

describe('viewport math', () => {
  const img = { width: 28, height: 28 }
  const vp = { width: 800, height: 600 }

  it('fits a small image large and centred, so its pixels are big', () => {
    const v = fitView(img, vp)
    expect(v.scale).toBeCloseTo((600 - 24) / 28, 10)
    expect(v.x + (28 * v.scale) / 2).toBeCloseTo(400, 10)
    expect(v.y + (28 * v.scale) / 2).toBeCloseTo(300, 10)
  })

  it('zooms around a point, within limits, and to 1:1 around the middle', () => {
    const v = fitView(img, vp)
    const z = zoomAt(v, 123, 456, 2, { min: 0.1, max: 100 })
    expect(screenToImage(z, 123, 456)).toEqual(screenToImage(v, 123, 456).map((n) => expect.closeTo(n, 10)))
    expect(zoomAt(v, 0, 0, 1000, { min: 0.1, max: 100 }).scale).toBe(100)
    const one = oneToOneView(v, vp)
    expect(one.scale).toBe(1)
    expect(screenToImage(one, 400, 300)).toEqual(screenToImage(v, 400, 300).map((n) => expect.closeTo(n, 10)))
  })
})
