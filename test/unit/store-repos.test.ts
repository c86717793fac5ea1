import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { classColor } from '../../src-shared/domain/classes'
import { splitCounts as expectedSplitCounts } from '../../src-shared/domain/splits'
import type { Split } from '../../src-shared/domain/types'
import { openDatabase, type DB } from '../../src-main/store/open'
import { ensureClass, listClasses } from '../../src-main/store/repos/classes'
import { projectCounts } from '../../src-main/store/repos/counts'
import {
  assignSplits,
  getImageBytes,
  getThumbnail,
  hasHash,
  insertImages,
  listImages,
  resplitAll,
  setSplit,
  splitCounts,
  type NewImage,
} from '../../src-main/store/repos/images'
import { getMeta, setMeta } from '../../src-main/store/repos/meta'
import { snapshot } from './helpers/fixtures'

let db: DB
beforeEach(() => {
  db = openDatabase(':memory:')
})
afterEach(() => db.close())

function img(hash: string, over: Partial<NewImage> = {}): NewImage {
  return {
    hash,
    width: 8,
    height: 6,
    channels: 3,
    format: 'png',
    bytes: Buffer.from(`bytes-of-${hash}`),
    thumb: { mime: 'image/png', bytes: Buffer.from(`thumb-of-${hash}`) },
    source: `/src/${hash}.png`,
    split: null,
    classId: null,
    ...over,
  }
}

const splitOf = (id: number) =>
  (db.prepare('SELECT split FROM images WHERE id = ?').get(id) as { split: Split }).split
const allSplits = () =>
  Object.fromEntries(
    (db.prepare('SELECT id, split FROM images ORDER BY id').all() as { id: number; split: Split }[]).map(
      (r) => [r.id, r.split],
    ),
  )
const idsOf = (prefix: string) =>
  (
    db.prepare("SELECT id FROM images WHERE hash LIKE ? || '%' ORDER BY id").all(prefix) as { id: number }[]
  ).map((r) => r.id)

describe('classes repo', () => {
  it('creates classes with increasing positions and palette colours', () => {
    const a = ensureClass(db, 'cat')
    const b = ensureClass(db, 'dog')
    const c = ensureClass(db, 'bird')
    expect([a.created, b.created, c.created]).toEqual([true, true, true])
    expect(listClasses(db)).toEqual([
      { id: a.id, name: 'cat', color: classColor(0), position: 0 },
      { id: b.id, name: 'dog', color: classColor(1), position: 1 },
      { id: c.id, name: 'bird', color: classColor(2), position: 2 },
    ])
    expect(new Set([classColor(0), classColor(1), classColor(2)]).size).toBe(3)
  })

  it('returns the existing class, without making another', () => {
    const a = ensureClass(db, 'cat')
    expect(ensureClass(db, 'cat')).toEqual({ id: a.id, created: false })
    expect(listClasses(db)).toHaveLength(1)
  })

  it('lists by position, not by id or name', () => {
    const z = ensureClass(db, 'zebra').id
    const a = ensureClass(db, 'ant').id
    db.prepare('UPDATE classes SET position = 5 WHERE id = ?').run(z)
    expect(listClasses(db).map((c) => c.id)).toEqual([a, z])
    // The next class goes after the highest position.
    ensureClass(db, 'yak')
    expect(listClasses(db).map((c) => [c.name, c.position])).toEqual([
      ['ant', 1],
      ['zebra', 5],
      ['yak', 6],
    ])
  })

  it('wraps the palette round past its end', () => {
    expect(classColor(20)).toBe(classColor(0))
    expect(classColor(-1)).toBe(classColor(19))
  })
})

describe('meta repo', () => {
  it('sets, reads and overwrites values', () => {
    expect(getMeta(db, 'k')).toBeUndefined()
    setMeta(db, 'k', 'v1')
    setMeta(db, 'k', 'v2')
    expect(getMeta(db, 'k')).toBe('v2')
  })
})

describe('insertImages', () => {
  it('inserts images with their bytes, thumbnails and class tags', () => {
    const cat = ensureClass(db, 'cat').id
    const r = insertImages(db, [img('a', { classId: cat }), img('b', { split: 'val' })])
    expect(r).toEqual({ added: 2, duplicates: 0 })
    const rows = db.prepare('SELECT * FROM images ORDER BY id').all() as Record<string, unknown>[]
    expect(rows.map((x) => [x.hash, x.split, x.split_locked, x.status, x.byte_size, x.source])).toEqual([
      ['a', 'train', 0, 'labeled', Buffer.from('bytes-of-a').length, '/src/a.png'],
      ['b', 'val', 1, 'unlabeled', Buffer.from('bytes-of-b').length, '/src/b.png'],
    ])
    expect(getImageBytes(db, 1)).toEqual({
      hash: 'a',
      format: 'png',
      width: 8,
      height: 6,
      channels: 3,
      thumbMime: null,
      bytes: Buffer.from('bytes-of-a'),
    })
    expect(getThumbnail(db, 2)).toMatchObject({
      hash: 'b',
      thumbMime: 'image/png',
      bytes: Buffer.from('thumb-of-b'),
    })
    expect(db.prepare('SELECT image_id, class_id, kind, origin FROM annotations').all()).toEqual([
      { image_id: 1, class_id: cat, kind: 'tag', origin: 'import' },
    ])
    expect(hasHash(db, 'a')).toBe(true)
    expect(hasHash(db, 'zzz')).toBe(false)
  })

  it('stores no thumbnail row for an image that is its own thumbnail, and serves the image instead', () => {
    insertImages(db, [img('small', { thumb: null })])
    expect(db.prepare('SELECT COUNT(*) AS n FROM thumbnails').get()).toEqual({ n: 0 })
    expect(getThumbnail(db, 1)).toMatchObject({
      hash: 'small',
      thumbMime: null,
      bytes: Buffer.from('bytes-of-small'),
    })
  })

  it('skips hashes already stored, and repeats within one batch, as duplicates', () => {
    insertImages(db, [img('a')])
    const before = snapshot(db)
    const r = insertImages(db, [img('a', { source: '/elsewhere/a.png', split: 'test' }), img('b'), img('b')])
    expect(r).toEqual({ added: 1, duplicates: 2 })
    const after = snapshot(db)
    // The stored "a" is untouched (not re-split, not re-sourced).
    expect(after.images[0]).toEqual(before.images[0])
    expect(after.images).toHaveLength(2)
    expect(after.image_data).toHaveLength(2)
    expect(after.thumbnails).toHaveLength(2)
  })

  it('writes a batch as a whole or not at all', () => {
    insertImages(db, [img('keep')])
    const before = snapshot(db)
    // A bad row in the middle (width 0 breaks a CHECK) undoes the rows before it too.
    expect(() => insertImages(db, [img('x1'), img('x2', { width: 0 }), img('x3')])).toThrow(/CHECK/)
    expect(snapshot(db)).toEqual(before)
  })

  it('returns nothing for an empty batch', () => {
    expect(insertImages(db, [])).toEqual({ added: 0, duplicates: 0 })
  })
})

describe('splits', () => {
  /** 20 cats, 10 dogs, 10 without a class, all unsplit. */
  function seedImages() {
    const cat = ensureClass(db, 'cat').id
    const dog = ensureClass(db, 'dog').id
    const batch = [
      ...Array.from({ length: 20 }, (_, i) => img(`cat${i}`, { classId: cat })),
      ...Array.from({ length: 10 }, (_, i) => img(`dog${i}`, { classId: dog })),
      ...Array.from({ length: 10 }, (_, i) => img(`none${i}`)),
    ]
    insertImages(db, batch)
    const unsplit = (
      db.prepare('SELECT id FROM images WHERE split_locked = 0').all() as { id: number }[]
    ).map((r) => r.id)
    return { cat, dog, unsplit }
  }
  const perClass = (ids: number[]) => {
    const c: Record<string, number> = { train: 0, val: 0, test: 0 }
    for (const id of ids) c[splitOf(id)]!++
    return c
  }

  it('assignSplits makes a stratified split by class, by the ratios', () => {
    const { unsplit } = seedImages()
    assignSplits(db, { train: 0.8, val: 0.1, test: 0.1 }, 7, unsplit)
    expect(perClass(idsOf('cat'))).toEqual(expectedSplitCounts(20, { train: 0.8, val: 0.1, test: 0.1 }))
    expect(perClass(idsOf('cat'))).toEqual({ train: 16, val: 2, test: 2 })
    expect(perClass(idsOf('dog'))).toEqual({ train: 8, val: 1, test: 1 })
    expect(perClass(idsOf('none'))).toEqual({ train: 8, val: 1, test: 1 })
    expect(splitCounts(db)).toEqual({ train: 32, val: 4, test: 4 })
  })

  it('assignSplits is deterministic for a seed and differs between seeds', () => {
    seedImages()
    assignSplits(db, { train: 0.5, val: 0.25, test: 0.25 }, 1)
    const first = allSplits()
    assignSplits(db, { train: 0.5, val: 0.25, test: 0.25 }, 1)
    expect(allSplits()).toEqual(first)
    assignSplits(db, { train: 0.5, val: 0.25, test: 0.25 }, 2)
    expect(allSplits()).not.toEqual(first)
  })

  it('assignSplits leaves images whose split is locked alone, and only touches the ids given', () => {
    seedImages()
    const [a, b] = idsOf('cat')
    setSplit(db, [a!], 'test')
    const dogs = idsOf('dog')
    const before = allSplits()
    // Every dog to val: only dogs may change.
    assignSplits(db, { train: 0, val: 1, test: 0 }, 3, [a!, ...dogs])
    const after = allSplits()
    for (const d of dogs) expect(after[d]).toBe('val')
    expect(after[a!]).toBe('test')
    expect(after[b!]).toBe(before[b!])
    for (const id of [...idsOf('cat'), ...idsOf('none')]) expect(after[id]).toBe(before[id])
  })

  it('assignSplits without ids splits every unlocked image', () => {
    seedImages()
    assignSplits(db, { train: 0, val: 0, test: 1 }, 3)
    expect(splitCounts(db)).toEqual({ test: 40 })
  })

  it('setSplit sets and locks the split, returning how many rows changed', () => {
    seedImages()
    const [a, b] = idsOf('cat')
    expect(setSplit(db, [a!, b!, 9999], 'val')).toBe(2)
    expect(db.prepare('SELECT split, split_locked FROM images WHERE id IN (?, ?)').all(a, b)).toEqual([
      { split: 'val', split_locked: 1 },
      { split: 'val', split_locked: 1 },
    ])
    expect(setSplit(db, [], 'val')).toBe(0)
  })

  it('resplitAll re-splits every image, including locked ones, and reports the counts', () => {
    const { cat } = seedImages()
    insertImages(db, [img('fixed', { split: 'test', classId: cat })])
    const fixed = idsOf('fixed')[0]!
    setSplit(db, [1, 2, 3], 'test')
    const counts = resplitAll(db, { train: 1, val: 0, test: 0 }, 9)
    expect(counts).toEqual({ train: 41 })
    expect(splitOf(fixed)).toBe('train')
    expect(db.prepare('SELECT COUNT(*) AS n FROM images WHERE split_locked = 1').get()).toEqual({ n: 0 })
    // Same seed and ratios: the same result again.
    const r1 = resplitAll(db, { train: 0.6, val: 0.2, test: 0.2 }, 5)
    const s1 = allSplits()
    const r2 = resplitAll(db, { train: 0.6, val: 0.2, test: 0.2 }, 5)
    expect(r2).toEqual(r1)
    expect(allSplits()).toEqual(s1)
    // 21 cats: 12.6/4.2/4.2 -> 13/4/4; 10 dogs and 10 unlabelled: 6/2/2 each.
    expect(r1).toEqual({ train: 25, val: 8, test: 8 })
  })
})

describe('listImages', () => {
  function seed() {
    const cat = ensureClass(db, 'cat').id
    const dog = ensureClass(db, 'dog').id
    insertImages(db, [
      img('c1', { classId: cat, split: 'train' }),
      img('c2', { classId: cat, split: 'val' }),
      img('d1', { classId: dog, split: 'train' }),
      img('n1', { split: 'train' }),
      img('n2', { split: 'test' }),
    ])
    return { cat, dog }
  }
  const hashes = (r: { items: { hash: string }[] }) => r.items.map((i) => i.hash)

  it('lists every image in id order with its class', () => {
    const { cat, dog } = seed()
    const r = listImages(db, {}, 0, 100)
    expect(r.total).toBe(5)
    expect(r.items.map((i) => [i.hash, i.classId, i.split, i.status])).toEqual([
      ['c1', cat, 'train', 'labeled'],
      ['c2', cat, 'val', 'labeled'],
      ['d1', dog, 'train', 'labeled'],
      ['n1', null, 'train', 'unlabeled'],
      ['n2', null, 'test', 'unlabeled'],
    ])
    expect(Object.keys(r.items[0]!).sort()).toEqual(
      ['id', 'hash', 'width', 'height', 'channels', 'format', 'split', 'status', 'source', 'classId'].sort(),
    )
  })

  it('filters by split, by class, by "no class", and by both', () => {
    const { cat, dog } = seed()
    expect(hashes(listImages(db, { split: 'train' }, 0, 100))).toEqual(['c1', 'd1', 'n1'])
    expect(hashes(listImages(db, { classId: cat }, 0, 100))).toEqual(['c1', 'c2'])
    expect(hashes(listImages(db, { classId: dog }, 0, 100))).toEqual(['d1'])
    expect(hashes(listImages(db, { classId: null }, 0, 100))).toEqual(['n1', 'n2'])
    expect(hashes(listImages(db, { classId: null, split: 'test' }, 0, 100))).toEqual(['n2'])
    expect(hashes(listImages(db, { classId: cat, split: 'val' }, 0, 100))).toEqual(['c2'])
    expect(listImages(db, { classId: cat, split: 'test' }, 0, 100)).toEqual({ total: 0, items: [] })
    expect(listImages(db, { classId: 12345 }, 0, 100).total).toBe(0)
  })

  it('counts an image with only boxes as having no class', () => {
    seed()
    db.prepare("INSERT INTO annotations (image_id, class_id, kind) VALUES (4, 1, 'box')").run()
    expect(hashes(listImages(db, { classId: null }, 0, 100))).toEqual(['n1', 'n2'])
    expect(listImages(db, {}, 0, 100).total).toBe(5)
  })

  it('pages with offset and limit, total counting every match', () => {
    seed()
    const p1 = listImages(db, {}, 0, 2)
    const p2 = listImages(db, {}, 2, 2)
    const p3 = listImages(db, {}, 4, 2)
    expect([p1.total, p2.total, p3.total]).toEqual([5, 5, 5])
    expect([...hashes(p1), ...hashes(p2), ...hashes(p3)]).toEqual(['c1', 'c2', 'd1', 'n1', 'n2'])
    expect(listImages(db, { split: 'train' }, 1, 1)).toMatchObject({ total: 3, items: [{ hash: 'd1' }] })
    expect(listImages(db, {}, 10, 5)).toEqual({ total: 5, items: [] })
  })

  it('returns undefined bytes for a missing image', () => {
    expect(getThumbnail(db, 42)).toBeUndefined()
    expect(getImageBytes(db, 42)).toBeUndefined()
  })
})

describe('projectCounts', () => {
  it('is all zeros for an empty project', () => {
    expect(projectCounts(db)).toEqual({
      images: 0,
      bySplit: {},
      byClass: [],
      byAnnotationKind: {},
      byStatus: {},
    })
  })

  it('counts by split, class (with "(no class)"), annotation kind and status', () => {
    const cat = ensureClass(db, 'cat').id
    const dog = ensureClass(db, 'dog').id
    const empty = ensureClass(db, 'emu').id
    insertImages(db, [
      img('c1', { classId: cat, split: 'train' }),
      img('c2', { classId: cat, split: 'val' }),
      img('d1', { classId: dog, split: 'test' }),
      img('n1', { split: 'train' }),
    ])
    db.prepare("INSERT INTO annotations (image_id, class_id, kind) VALUES (1, ?, 'box'), (1, ?, 'box')").run(
      dog,
      dog,
    )
    db.prepare("UPDATE images SET status = 'reviewed' WHERE id = 3").run()
    expect(projectCounts(db)).toEqual({
      images: 4,
      bySplit: { train: 2, val: 1, test: 1 },
      byClass: [
        { classId: cat, name: 'cat', count: 2 },
        // Boxes do not make an image "of" a class: only its tag does.
        { classId: dog, name: 'dog', count: 1 },
        { classId: empty, name: 'emu', count: 0 },
        { classId: null, name: '(no class)', count: 1 },
      ],
      byAnnotationKind: { tag: 3, box: 2 },
      byStatus: { labeled: 2, reviewed: 1, unlabeled: 1 },
    })
  })
})
