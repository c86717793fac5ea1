import type { LayerSpec } from '../../../../../src-shared/api/train'
import { LayerSpec as LayerSchema } from '../../../../../src-shared/api/train'

/**
 * Checks a layer stack against an input size without building it (no tfjs needed): each conv and
 * pool must still fit its input. Returns the flattened feature count before the output layer.
 */
export function checkStack(
  stack: readonly LayerSpec[],
  input: { width: number; height: number; channels: number },
): number {
  let [h, w, c] = [input.height, input.width, input.channels]
  let flat: number | null = null
  stack.forEach((raw, i) => {
    const l = LayerSchema.parse(raw)
    const where = `layer ${i + 1} (${l.type})`
    if ((l.type === 'conv' || l.type === 'pool') && flat !== null)
      throw new Error(`${where} cannot follow a flatten or dense layer`)
    if (l.type === 'conv') {
      if (l.padding === 'valid') {
        if (h < l.kernel || w < l.kernel)
          throw new Error(`${where}: a ${l.kernel}×${l.kernel} kernel does not fit the ${h}×${w} feature map`)
        h = Math.floor((h - l.kernel) / l.stride) + 1
        w = Math.floor((w - l.kernel) / l.stride) + 1
      } else {
        h = Math.ceil(h / l.stride)
        w = Math.ceil(w / l.stride)
      }
      c = l.filters
    } else if (l.type === 'pool') {
      if (h < l.size || w < l.size)
        throw new Error(`${where}: the ${h}×${w} feature map is smaller than the ${l.size}×${l.size} pool`)
      h = Math.floor(h / l.size)
      w = Math.floor(w / l.size)
    } else if (l.type === 'flatten') flat = h * w * c
    else if (l.type === 'dense') flat = l.units
  })
  return flat ?? h * w * c
}
