/**
 * What the import-format tests (media-yolo, media-voc, media-labelme, media-imagefolder) share: a
 * project per test in a temp folder, unique noise PNGs, and the store's images and regions read back
 * as plain rows to compare.
 */
import path from 'node:path'
import { calls, type ImportRequest } from '../../../src-shared/api/contract'
import type { Rle } from '../../../src-shared/domain/rle'
import { runImport } from '../../../src-main/media/import'
import { createProjectStore, type DB } from '../../../src-main/store/open'
import { makeTempDir, pngBytes, removeTempDir, writeFile } from './fixtures'

export interface FormatTestEnv {
  tmp(): string
  newProject(name?: string): DB
}

/** Call in a describe's scope (or at the top of a file) with vitest's hooks. */
export function formatTestEnv(
  prefix: string,
  hooks: { beforeEach: (fn: () => void) => void; afterEach: (fn: () => void) => void },
): FormatTestEnv {
  let tmp = ''
  const dbs: DB[] = []
  hooks.beforeEach(() => {
    tmp = makeTempDir(prefix)
  })
  hooks.afterEach(() => {
    while (dbs.length) dbs.pop()!.close()
    removeTempDir(tmp)
  })
  return {
    tmp: () => tmp,
    newProject: (name = 'p') => {
      const d = createProjectStore(path.join(tmp, 'projects', `${name}-${dbs.length}`), name)
      dbs.push(d)
      return d
    },
  }
}

export const doImport = (db: DB, req: ImportRequest) => runImport(db, calls['import.start'].req.parse(req))

let seed = 70_000
/** Writes a unique noise PNG of w × h and returns its path. */
export async function png(file: string, w = 40, h = 30): Promise<string> {
  return writeFile(file, await pngBytes(seed++, w, h))
}

export interface StoredRegion {
  imageId: number
  source: string
  hash: string
  split: string
  className: string | null
  kind: 'box' | 'polygon' | 'mask'
  geometry: {
    x?: number
    y?: number
    w?: number
    h?: number
    points?: [number, number][]
    holes?: [number, number][][]
    rle?: Rle
  }
  crowd: number
}

export function storedRegions(db: DB): StoredRegion[] {
  return (
    db
      .prepare(
        `SELECT a.image_id AS imageId, i.source, i.hash, i.split, c.name AS className, a.kind, a.geometry, a.crowd
         FROM annotations a JOIN images i ON i.id = a.image_id LEFT JOIN classes c ON c.id = a.class_id
         WHERE a.kind <> 'tag' ORDER BY a.image_id, a.z, a.id`,
      )
      .all() as (Omit<StoredRegion, 'geometry'> & { geometry: string })[]
  ).map((r) => ({ ...r, geometry: JSON.parse(r.geometry) as StoredRegion['geometry'] }))
}

export interface StoredImage {
  id: number
  source: string
  split: string
  locked: number
  status: string
  width: number
  height: number
  hash: string
  tag: string | null
}

export function storedImages(db: DB): StoredImage[] {
  return db
    .prepare(
      `SELECT i.id, i.source, i.split, i.split_locked AS locked, i.status, i.width, i.height, i.hash, c.name AS tag
       FROM images i LEFT JOIN annotations a ON a.image_id = i.id AND a.kind = 'tag'
       LEFT JOIN classes c ON c.id = a.class_id ORDER BY i.id`,
    )
    .all() as StoredImage[]
}

export const classNames = (db: DB): string[] =>
  (db.prepare('SELECT name FROM classes ORDER BY id').all() as { name: string }[]).map((r) => r.name)

export const base = (p: string): string => path.basename(p)

/** Compares two region lists image by image (matched by hash), kind, class, crowd and geometry within tol. */
export function expectSameRegions(
  a: StoredRegion[],
  b: StoredRegion[],
  tol: number,
  expect: (v: unknown) => {
    toBe(x: unknown): void
    toEqual(x: unknown): void
    toBeLessThan(x: number): void
  },
): void {
  const key = (r: StoredRegion) => `${r.hash}|${r.kind}|${r.className}|${r.crowd}`
  const sort = (xs: StoredRegion[]) =>
    [...xs].sort((p, q) => (key(p) < key(q) ? -1 : key(p) > key(q) ? 1 : 0))
  const sa = sort(a)
  const sb = sort(b)
  expect(sb.map(key)).toEqual(sa.map(key))
  for (let i = 0; i < sa.length; i++) {
    const g = sa[i]!.geometry
    const h = sb[i]!.geometry
    if (sa[i]!.kind === 'box')
      for (const k of ['x', 'y', 'w', 'h'] as const) expect(Math.abs(g[k]! - h[k]!)).toBeLessThan(tol)
    else if (sa[i]!.kind === 'polygon') {
      expect(h.points!.length).toBe(g.points!.length)
      g.points!.forEach((p, j) => {
        expect(Math.abs(p[0] - h.points![j]![0])).toBeLessThan(tol)
        expect(Math.abs(p[1] - h.points![j]![1])).toBeLessThan(tol)
      })
    } else expect(h.rle).toEqual(g.rle)
  }
}

export { removeTempDir, writeFile }
