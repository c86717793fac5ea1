import { createRequire } from 'node:module'
import type { NativeProbe } from '../backends/select'

/**
 * Loads the native TensorFlow backend when one of its optional packages is installed and works:
 * tfjs-node-gpu first, then tfjs-node. Neither is a dependency (their libtensorflow download is
 * refused upstream today, tfjs#8742), so their absence is normal. Loaded once per process, in the
 * trainer process only (tfjs#3463: one isolate per process).
 */
export function probeNative(): NativeProbe {
  if (process.env.SMALLSET_NO_NATIVE === '1') return { packageName: null, detail: 'SMALLSET_NO_NATIVE=1' }
  const req = createRequire(__filename)
  const notes: string[] = []
  for (const name of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      req.resolve(name)
    } catch {
      notes.push(`${name} is not installed`)
      continue
    }
    try {
      req(name)
      return { packageName: name, detail: 'loaded' }
    } catch (e) {
      notes.push(`${name} is installed but failed to load: ${(e as Error).message.split('\n')[0]}`)
    }
  }
  return { packageName: null, detail: notes.join('; ') }
}
