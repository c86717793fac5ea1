import type { Task, TrainConfigParsed } from '../../../src-shared/api/train'
import { classify } from './classify'
import { detect, segment } from './detect'
import type { TaskModule } from './types'

/**
 * The registry of training tasks: a task's name → its module. Each task keeps its config, data
 * feed, model, loss, decoding, metrics, evaluation and prediction rows in its own folder, so adding
 * one never means putting `if (task)` into the trainer, the API or the store.
 */
const TASKS: Record<Task, TaskModule<never>> = {
  classify: classify as TaskModule<never>,
  detect: detect as TaskModule<never>,
  segment: segment as TaskModule<never>,
}

export function taskModule<C extends TrainConfigParsed>(task: C['task']): TaskModule<C> {
  return TASKS[task] as unknown as TaskModule<C>
}

export function taskNames(): Task[] {
  return Object.keys(TASKS) as Task[]
}
