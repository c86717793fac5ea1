import type { annotateCalls } from '../../src-shared/api/annotate'
import type { AppContext, HandlerMap } from './context'

/** Handlers for the labeling calls. */
export function annotateHandlers(_ctx: AppContext): HandlerMap<keyof typeof annotateCalls> {
  return {}
}
