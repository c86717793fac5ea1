import type { Channel, EventName, EventPayload, ReqParsed, Res } from '../../src-shared/api/contract'
import type { DB } from '../store/open'

/** What a group of handlers gets from the app: the open project's store and the event stream. */
export interface AppContext {
  /** The open project's store; throws a `no_project` ApiError when none is open. */
  requireDb(): DB
  readonly projectDir: string | null
  emit<E extends EventName>(event: E, payload: EventPayload<E>): void
}

export type Handler<C extends Channel> = (req: ReqParsed<C>) => Promise<Res<C>> | Res<C>
export type HandlerMap<K extends Channel> = { [C in K]: Handler<C> }
