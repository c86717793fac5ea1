import type { annotateCalls } from '../../src-shared/api/annotate'
import type { DB } from '../store/open'
import { getImageForEditor, KeyIds, saveAnnotations } from '../store/repos/annotations'
import { imageNeighbors, nextUnlabeled, setStatus } from '../store/repos/images'
import {
  classUsage,
  createClass,
  deleteClass,
  mergeClasses,
  recolorClass,
  renameClass,
} from '../store/repos/classes'
import type { AppContext, HandlerMap } from './context'

/**
 * Handlers for the labeling calls. Requests arrive validated against the contract (app.dispatch
 * checks them, and the responses); each write is one transaction in the store, then an event.
 */
export function annotateHandlers(ctx: AppContext): HandlerMap<keyof typeof annotateCalls> {
  const db = () => ctx.requireDb()
  const classesChanged = () => ctx.emit('classes.changed', {})
  // Per open store: which row each editor key went to (see saveAnnotations).
  const keyIds = new WeakMap<DB, KeyIds>()
  const keyIdsFor = (d: DB) => {
    let k = keyIds.get(d)
    if (!k) keyIds.set(d, (k = new KeyIds()))
    return k
  }
  return {
    'images.get': (r) => getImageForEditor(db(), r.id),
    'images.neighbors': (r) => imageNeighbors(db(), r.id, r.before, r.after),
    'images.nextUnlabeled': (r) => ({ id: nextUnlabeled(db(), r.after) }),
    'images.setStatus': (r) => {
      const changed = setStatus(db(), r.ids, r.status)
      if (r.ids.length <= 50)
        for (const imageId of r.ids) ctx.emit('annotations.changed', { imageId, status: r.status })
      return { changed }
    },
    'annotations.save': (r) => {
      const d = db()
      const result = saveAnnotations(d, r, keyIdsFor(d))
      ctx.emit('annotations.changed', { imageId: r.imageId, status: result.status })
      return result
    },
    'classes.create': (r) => {
      const c = createClass(db(), r.name, r.color)
      classesChanged()
      return c
    },
    'classes.rename': (r) => {
      const c = renameClass(db(), r.id, r.name)
      classesChanged()
      return c
    },
    'classes.recolor': (r) => {
      const c = recolorClass(db(), r.id, r.color)
      classesChanged()
      return c
    },
    'classes.usage': (r) => classUsage(db(), r.id),
    'classes.merge': (r) => {
      const moved = mergeClasses(db(), r.from, r.into)
      classesChanged()
      return { moved }
    },
    'classes.delete': (r) => {
      const { annotations, images } = deleteClass(db(), r.id, r.deleteAnnotations)
      classesChanged()
      return { annotations, images }
    },
  }
}
