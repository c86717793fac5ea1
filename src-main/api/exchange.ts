import type { exchangeCalls } from '../../src-shared/api/exchange'
import { exportCoco } from '../media/formats/coco'
import { exportDataset } from '../media/formats'
import type { AppContext, HandlerMap } from './context'

/** Handlers for exports to other tools' formats. Requests arrive validated against the contract. */
export function exchangeHandlers(ctx: AppContext): HandlerMap<keyof typeof exchangeCalls> {
  return {
    'export.coco': (r) =>
      exportCoco(ctx.requireDb(), r, (done, total) =>
        ctx.emit('export.progress', { dir: r.dir, done, total }),
      ),
    'export.dataset': (r) =>
      exportDataset(ctx.requireDb(), r, (done, total) =>
        ctx.emit('export.progress', { dir: r.dir, done, total }),
      ),
  }
}
