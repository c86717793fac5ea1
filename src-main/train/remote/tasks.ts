import { classifyTask } from '../tasks/classify/task'
import { backboneFrom } from '../tasks/detect/backbone'
import { detectionTask } from '../tasks/detect/task'
import type { TrainTask } from '../trainer'
import type { RemoteTaskSpec } from './protocol'

/** The TrainTask a spec describes, rebuilt on the worker's side from the same task code. */
export async function remoteTask(
  spec: RemoteTaskSpec,
): Promise<{ task: TrainTask<unknown>; dispose(): void }> {
  switch (spec.kind) {
    case 'classify':
      return { task: classifyTask(spec.data, spec.config) as TrainTask<unknown>, dispose: () => {} }
    case 'detect': {
      const backbone = spec.backbone && (await backboneFrom(spec.backbone.artifacts, spec.backbone.name))
      const task = detectionTask(spec.data, spec.config, backbone)
      return {
        task: task as unknown as TrainTask<unknown>,
        dispose: () => {
          task.dispose()
          backbone?.model.dispose()
        },
      }
    }
  }
}
