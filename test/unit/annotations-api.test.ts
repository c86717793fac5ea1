import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { SaveRequest, SaveResult } from '../../src-shared/api/annotate'
import type { Result } from '../../src-shared/api/contract'
import { encodeMask, rleWithStroke } from '../../src-shared/domain/rle'
import type { ImageMeta } from '../../src-shared/domain/types'
import { SmallsetApp } from '../../src-main/api/app'
import { insertImages, type NewImage } from '../../src-main/store/repos/images'
import { makeTempDir, removeTempDir } from './helpers/fixtures'

let tmp: string
let app: SmallsetApp
let events: { event: string; payload: unknown }[]
let cat: number
let dog: number
let ids: number[]

function ok<T>(r: Result<unknown>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`)
  return r.value as T
}
function err(r: Result<unknown>): { code: string; message: string } {
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.value)}`)
  return r.error
}
const call = <T>(ch: string, req: unknown) => app.dispatch(ch, req).then((r) => ok<T>(r))
const save = (req: SaveRequest) => call<SaveResult>('annotations.save', req)

function img(i: number, over: Partial<NewImage> = {}): NewImage {
  return {
    hash: `h${i}`,
    width: 40,
    height: 30,
    channels: 3,
    format: 'png',
    bytes: Buffer.from(`b${i}`),
    thumb: null,
    source: `/src/${i}.png`,
    split: 'train',
    classId: null,
    ...over,
  }
}

const box = (key: string, x = 0.1, extra: object = {}) => ({
  key,
  id: null,
  kind: 'box' as const,
  geometry: { x, y: 0.2, w: 0.25, h: 0.5 },
  classId: cat,
  z: 0,
  hidden: false,
  locked: false,
  ...extra,
})

beforeEach(async () => {
  tmp = makeTempDir('smallset-annot-')
  app = new SmallsetApp()
  events = []
  app.onEvent((event, payload) => events.push({ event, payload }))
  ok(await app.dispatch('project.create', { dir: path.join(tmp, 'p') }))
  cat = (await call<{ id: number }>('classes.create', { name: 'cat' })).id
  dog = (await call<{ id: number }>('classes.create', { name: 'dog', color: '#112233' })).id
  insertImages(
    app.requireDb(),
    [1, 2, 3, 4, 5].map((i) => img(i)),
  )
  ids = (app.requireDb().prepare('SELECT id FROM images ORDER BY id').all() as { id: number }[]).map(
    (r) => r.id,
  )
})
afterEach(() => {
  app.close()
  removeTempDir(tmp)
})

describe('annotations.save and images.get', () => {
  it('writes a batch in one go and reads it back, lowest z first', async () => {
    const mask = rleWithStroke(null, [[20, 15]], 4, false, 30, 40)
    const r = await save({
      imageId: ids[0]!,
      puts: [
        box('a', 0.1, { z: 2 }),
        {
          key: 'b',
          id: null,
          kind: 'polygon',
          geometry: {
            points: [
              [0.1, 0.1],
              [0.9, 0.1],
              [0.5, 0.9],
            ],
            holes: [
              [
                [0.4, 0.3],
                [0.6, 0.3],
                [0.5, 0.5],
              ],
            ],
          },
          classId: dog,
          z: 1,
          hidden: true,
          locked: true,
        },
        {
          key: 'c',
          id: null,
          kind: 'mask',
          geometry: { rle: mask },
          classId: null,
          z: 0,
          hidden: false,
          locked: false,
        },
      ],
      tag: dog,
      status: 'labeled',
    })
    expect(r.rejected).toEqual([])
    expect(r.ids.map((x) => x.key)).toEqual(['a', 'b', 'c'])
    expect(r.status).toBe('labeled')
    const got = await call<{ image: ImageMeta; tag: number; annotations: { kind: string; id: number }[] }>(
      'images.get',
      { id: ids[0] },
    )
    expect(got.image).toMatchObject({ id: ids[0], width: 40, height: 30, status: 'labeled', classId: dog })
    expect(got.tag).toBe(dog)
    expect(got.annotations.map((a) => a.kind)).toEqual(['mask', 'polygon', 'box'])
    expect(got.annotations[1]).toMatchObject({ hidden: true, locked: true, classId: dog, origin: 'user' })
    expect(got.annotations[0]).toMatchObject({ geometry: { rle: mask } })
    expect(events.filter((e) => e.event === 'annotations.changed')).toEqual([
      { event: 'annotations.changed', payload: { imageId: ids[0], status: 'labeled' } },
    ])
  })

  it('updates and deletes by row id, and moves a tag', async () => {
    const first = await save({ imageId: ids[0]!, puts: [box('a'), box('b', 0.5)], tag: cat })
    const [a, b] = first.ids.map((x) => x.id)
    await save({ imageId: ids[0]!, puts: [box('a', 0.3, { id: a, classId: dog })], deletes: [b!], tag: dog })
    const got = await call<{
      tag: number
      annotations: { id: number; classId: number; geometry: { x: number } }[]
    }>('images.get', { id: ids[0] })
    expect(got.tag).toBe(dog)
    expect(got.annotations).toHaveLength(1)
    expect(got.annotations[0]).toMatchObject({ id: a, classId: dog, geometry: { x: 0.3 } })
    await save({ imageId: ids[0]!, tag: null })
    expect((await call<{ tag: number | null }>('images.get', { id: ids[0] })).tag).toBeNull()
  })

  it('clamps coordinates into the image and refuses degenerate regions, saving the rest', async () => {
    const r = await save({
      imageId: ids[0]!,
      puts: [
        { ...box('out'), geometry: { x: -0.5, y: 0.5, w: 1, h: 2 } },
        { ...box('flat'), geometry: { x: 0.1, y: 0.1, w: 0.5, h: 0 } },
        {
          ...box('two'),
          kind: 'polygon',
          geometry: {
            points: [
              [0, 0],
              [1, 1],
            ],
          },
        },
        {
          ...box('line'),
          kind: 'polygon',
          geometry: {
            points: [
              [0, 0],
              [0.5, 0.5],
              [1, 1],
            ],
          },
        },
        { ...box('empty'), kind: 'mask', geometry: { rle: { size: [30, 40], counts: [1200] } } },
        {
          ...box('wrong-size'),
          kind: 'mask',
          geometry: { rle: encodeMask(new Uint8Array(4).fill(1), 2, 2) },
        },
        { ...box('bad-runs'), kind: 'mask', geometry: { rle: { size: [30, 40], counts: [5, 5] } } },
        box('gone-class', 0.1, { classId: 9999 }),
      ],
    })
    expect(r.ids.map((x) => x.key)).toEqual(['out'])
    expect(Object.fromEntries(r.rejected.map((x) => [x.key, x.reason]))).toEqual({
      flat: expect.stringMatching(/width and height/),
      two: expect.stringMatching(/at least 3 points/),
      line: expect.stringMatching(/no area/),
      empty: expect.stringMatching(/empty/),
      'wrong-size': expect.stringMatching(/image's size/),
      'bad-runs': expect.stringMatching(/malformed/),
      'gone-class': expect.stringMatching(/no longer exists/),
    })
    const got = await call<{ annotations: { geometry: unknown }[] }>('images.get', { id: ids[0] })
    expect(got.annotations[0]!.geometry).toEqual({ x: 0, y: 0.5, w: 0.5, h: 0.5 })
  })

  it('a batch sent twice (its answer lost) writes each new region once', async () => {
    const req: SaveRequest = { imageId: ids[0]!, puts: [box('k1'), box('k2', 0.5)] }
    const one = await save(req)
    const two = await save(req)
    expect(two.ids).toEqual(one.ids)
    expect((await call<{ annotations: unknown[] }>('images.get', { id: ids[0] })).annotations).toHaveLength(2)
  })

  it('never takes a reused row id for the old row', async () => {
    // k1 is written, then deleted; SQLite may give its row id to the next insert (k2). A late resend of
    // k1 with no id must not overwrite k2.
    const one = await save({ imageId: ids[0]!, puts: [box('k1')] })
    await save({ imageId: ids[0]!, deletes: [one.ids[0]!.id] })
    await new Promise((r) => setTimeout(r, 5))
    const two = await save({ imageId: ids[0]!, puts: [box('k2', 0.6)] })
    expect(two.ids[0]!.id).toBe(one.ids[0]!.id)
    await save({ imageId: ids[0]!, puts: [box('k1', 0.1)] })
    const got = await call<{ annotations: { geometry: { x: number } }[] }>('images.get', { id: ids[0] })
    expect(got.annotations.map((a) => a.geometry.x).sort()).toEqual([0.1, 0.6])
  })

  it('errors come back as data', async () => {
    expect(err(await app.dispatch('annotations.save', { imageId: 999_999, puts: [] })).code).toBe('not_found')
    expect(err(await app.dispatch('annotations.save', { imageId: 'x' })).code).toBe('invalid_request')
    expect(
      err(
        await app.dispatch('annotations.save', { imageId: ids[0], puts: [{ ...box('a'), kind: 'circle' }] }),
      ).code,
    ).toBe('invalid_request')
    expect(err(await app.dispatch('images.get', { id: 999_999 })).code).toBe('not_found')
    // A row of another image cannot be changed through this one.
    const r = await save({ imageId: ids[0]!, puts: [box('a')] })
    const other = await save({ imageId: ids[1]!, puts: [box('a', 0.5, { id: r.ids[0]!.id })] })
    expect(other.ids[0]!.id).not.toBe(r.ids[0]!.id)
  })

  it('skips stored rows it cannot read, and says how many', async () => {
    await save({ imageId: ids[0]!, puts: [box('a')] })
    app
      .requireDb()
      .prepare(
        "INSERT INTO annotations (image_id, class_id, kind, geometry) VALUES (?, ?, 'box', '{not json')",
      )
      .run(ids[0], cat)
    const got = await call<{ annotations: unknown[]; skipped: number }>('images.get', { id: ids[0] })
    expect(got.annotations).toHaveLength(1)
    expect(got.skipped).toBe(1)
  })
})

describe('walking images', () => {
  it('gives the neighbours of an image, and its place', async () => {
    const r = await call<{ index: number; total: number; items: ImageMeta[] }>('images.neighbors', {
      id: ids[1],
      before: 3,
      after: 2,
    })
    expect(r.index).toBe(1)
    expect(r.total).toBe(5)
    expect(r.items.map((i) => i.id)).toEqual(ids.slice(0, 4))
  })

  it('finds the next unlabeled image, wrapping round', async () => {
    await call('images.setStatus', { ids: [ids[1], ids[2]], status: 'labeled' })
    await call('images.setStatus', { ids: [ids[4]], status: 'reviewed' })
    expect(await call('images.nextUnlabeled', { after: ids[0] })).toEqual({ id: ids[3] })
    expect(await call('images.nextUnlabeled', { after: ids[3] })).toEqual({ id: ids[0] })
    expect(await call('images.nextUnlabeled', {})).toEqual({ id: ids[0] })
    await call('images.setStatus', { ids: [ids[0], ids[3]], status: 'labeled' })
    expect(await call('images.nextUnlabeled', { after: ids[3] })).toEqual({ id: null })
    expect(err(await app.dispatch('images.setStatus', { ids: [ids[0]], status: 'done' })).code).toBe(
      'invalid_request',
    )
  })
})

describe('classes', () => {
  it('creates, renames and recolours, refusing duplicate names and bad colours', async () => {
    const bird = await call<{ id: number; color: string; position: number }>('classes.create', {
      name: '  bird ',
    })
    expect(bird).toMatchObject({ name: 'bird', position: 2 })
    expect(err(await app.dispatch('classes.create', { name: 'cat' })).message).toMatch(/already exists/)
    expect(err(await app.dispatch('classes.create', { name: '' })).code).toBe('invalid_request')
    expect(await call('classes.rename', { id: bird.id, name: 'parrot' })).toMatchObject({ name: 'parrot' })
    expect(err(await app.dispatch('classes.rename', { id: bird.id, name: 'dog' })).code).toBe('bad_input')
    expect(await call('classes.recolor', { id: bird.id, color: '#ABCDEF' })).toMatchObject({
      color: '#ABCDEF',
    })
    expect(err(await app.dispatch('classes.recolor', { id: bird.id, color: 'red' })).code).toBe(
      'invalid_request',
    )
    expect(err(await app.dispatch('classes.rename', { id: 424242, name: 'x' })).code).toBe('not_found')
    expect(events.filter((e) => e.event === 'classes.changed').length).toBeGreaterThanOrEqual(5)
  })

  it('merges one class into another', async () => {
    await save({ imageId: ids[0]!, puts: [box('a', 0.1, { classId: dog })], tag: dog })
    await save({ imageId: ids[1]!, puts: [box('b')], tag: cat })
    expect(await call('classes.usage', { id: dog })).toEqual({ annotations: 2, images: 1 })
    expect(await call('classes.merge', { from: dog, into: cat })).toEqual({ moved: 2 })
    expect(await call('classes.usage', { id: cat })).toEqual({ annotations: 4, images: 2 })
    expect((await call<{ id: number }[]>('classes.list', {})).map((c) => c.id)).toEqual([cat])
    expect(err(await app.dispatch('classes.merge', { from: cat, into: cat })).code).toBe('invalid_request')
  })

  it('asks before deleting a class in use; deleting with annotations sets images back to unlabeled', async () => {
    await save({ imageId: ids[0]!, puts: [box('a', 0.1, { classId: dog })], status: 'labeled' })
    await save({ imageId: ids[1]!, puts: [box('b', 0.1, { classId: dog }), box('c')], status: 'labeled' })
    await save({ imageId: ids[2]!, tag: dog, status: 'reviewed' })
    const refused = err(await app.dispatch('classes.delete', { id: dog }))
    expect(refused.code).toBe('bad_input')
    expect(refused.message).toMatch(/used by 3 annotation\(s\) on 3 image\(s\)/)
    expect(await call('classes.delete', { id: dog, deleteAnnotations: true })).toEqual({
      annotations: 3,
      images: 3,
    })
    const status = (i: number) =>
      (app.requireDb().prepare('SELECT status FROM images WHERE id = ?').get(ids[i]) as { status: string })
        .status
    expect([status(0), status(1), status(2)]).toEqual(['unlabeled', 'labeled', 'reviewed'])
    // An unused class goes without asking.
    const bird = await call<{ id: number }>('classes.create', { name: 'bird' })
    expect(await call('classes.delete', { id: bird.id })).toEqual({ annotations: 0, images: 0 })
  })
})
