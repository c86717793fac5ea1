import type { trainCalls } from '../../src-shared/api/train'
import type { AppContext, HandlerMap } from './context'

/** Handlers for the training calls. */
export function trainHandlers(_ctx: AppContext): HandlerMap<keyof typeof trainCalls> {
  return {}
}
