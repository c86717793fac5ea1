/**
 * Loading images for the editor, ahead of time: each image's regions (from the store) and its pixels
 * (decoded by the browser into an ImageBitmap), cached for the images around the current one so that
 * "next" draws at once. An image's regions are fetched again after it was edited (once its writes landed).
 */
import type { ImageForEditor } from '../../../src-shared/api/annotate'
import type { ImageMeta } from '../../../src-shared/domain/types'
import { api, call } from '../../app/api-client'
import type { Picture } from '../../canvas/EditorCanvas'
import { newRegionKey } from '../../editor/editor'
import type { Doc, Region } from '../../editor/types'

export interface LoadedImage {
  meta: ImageMeta
  doc: Doc
  /** Row ids of the regions, by the keys the editor gave them. */
  ids: Map<string, number>
  /** Stored regions that could not be read. */
  skipped: number
}

export function toLoaded(r: ImageForEditor): LoadedImage {
  const ids = new Map<string, number>()
  const regions = r.annotations.map(({ id, ...a }) => {
    const key = newRegionKey()
    ids.set(key, id)
    return { ...a, key } as Region
  })
  return { meta: r.image, doc: { regions, tag: r.tag, status: r.image.status }, ids, skipped: r.skipped }
}

/** Loads through an <img> (no CORS needed: Electron's smallset-media: scheme answers the app's own page this way). */
async function viaImg(url: string): Promise<Picture> {
  const img = new Image()
  img.src = url
  try {
    await img.decode()
    return { kind: 'ok', bitmap: img }
  } catch {
    return { kind: 'error', message: 'This browser could not load or decode it.' }
  }
}

async function decode(id: number): Promise<Picture> {
  const url = api.mediaUrl('image', id)
  let res: Response
  try {
    res = await fetch(url)
  } catch {
    return viaImg(url)
  }
  if (!res.ok) {
    let why = `HTTP ${res.status}`
    try {
      const body = (await res.json()) as { error?: string }
      if (body.error) why = body.error
    } catch {
      /* not JSON */
    }
    return { kind: 'error', message: `Could not fetch the image: ${why}` }
  }
  const blob = await res.blob()
  try {
    // Turned by its EXIF orientation, as the thumbnail is: the store's width and height are those
    // of the image as shown (see media/decode.ts), so normalised regions match what is drawn.
    const bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image' })
    return { kind: 'ok', bitmap }
  } catch {
    return {
      kind: 'error',
      message: `This browser cannot decode it (${blob.type || 'unknown type'}, ${blob.size.toLocaleString('en')} bytes).`,
    }
  }
}

const PICTURES_KEPT = 6

export class ImageLoader {
  private readonly docs = new Map<number, Promise<LoadedImage>>()
  private readonly pictures = new Map<number, Promise<Picture>>()
  /** Writes still under way for images that were left: a reload waits for them. */
  private readonly writes = new Map<number, Promise<unknown>>()

  doc(id: number): Promise<LoadedImage> {
    let p = this.docs.get(id)
    if (!p) {
      const pending = this.writes.get(id)
      p = (pending ? pending.catch(() => undefined) : Promise.resolve())
        .then(() => call('images.get', { id }))
        .then(toLoaded)
      p.catch(() => this.docs.delete(id))
      this.docs.set(id, p)
    }
    return p
  }

  picture(id: number): Promise<Picture> {
    let p = this.pictures.get(id)
    if (p) {
      // Most recently used last.
      this.pictures.delete(id)
      this.pictures.set(id, p)
      return p
    }
    p = decode(id)
    this.pictures.set(id, p)
    return p
  }

  /** Drops pictures beyond the most recent few, except those in `keep`. */
  trim(keep: ReadonlySet<number>): void {
    for (const [id, p] of this.pictures) {
      if (this.pictures.size <= PICTURES_KEPT) break
      if (keep.has(id)) continue
      this.pictures.delete(id)
      void p.then((pic) => {
        if (pic.kind === 'ok' && 'close' in pic.bitmap) (pic.bitmap as ImageBitmap).close()
      })
    }
  }

  /** The image was left with edits: its regions are read again next time, after `write` settles. */
  left(id: number, write: Promise<unknown>): void {
    this.docs.delete(id)
    const w = write.finally(() => {
      if (this.writes.get(id) === w) this.writes.delete(id)
    })
    this.writes.set(id, w)
  }

  /** Forgets every image's regions (after a class was merged or deleted). */
  forgetDocs(): void {
    this.docs.clear()
  }

  forgetDoc(id: number): void {
    this.docs.delete(id)
  }

  prefetch(ids: readonly number[]): void {
    for (const id of ids) {
      void this.doc(id).catch(() => undefined)
      void this.picture(id)
    }
  }
}
