import type { Task, TrainConfigParsed } from '../../../src-shared/api/train'
import { ApiError } from '../../../src-shared/api/contract'
import { classify } from './classify'
import type { TaskModule } from './types'

/**
 * The registry of training tasks: a task's name → its module. Each task keeps its config, data
 * feed, model, loss, decoding, metrics, evaluation and prediction rows in its own folder, so adding
 * one never means putting `if (task)` into the trainer, the API or the store.
 */
const TASKS: Partial<Record<Task, TaskModule<never>>> = {
  classify: classify as TaskModule<never>,
}

export function taskModule<C extends TrainConfigParsed>(task: C['task']): TaskModule<C> {
  const m = TASKS[task]
  if (!m) throw new ApiError('bad_input', `Smallset cannot train the task "${task}" yet`)
  return m as unknown as TaskModule<C>
}

export function taskNames(): Task[] {
  return Object.keys(TASKS) as Task[]
}
