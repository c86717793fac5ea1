import { encodeBitmap } from '../../../src-shared/domain/rle'
import { seededRandom } from '../../../src-shared/domain/random'
import {
  letterboxFor,
  maskBox,
  type DetectionSample,
  type Instance,
} from '../../../src-main/train/tasks/detect/sample'

/**
 * A 64×64 scene of seeded noise with two rectangles (class 0 and class 1) as instance masks, on a
 * canvas of its own size: the detector's parity tests train on these (webgpu-parity.test.ts, and
 * e2e/gpu-worker.spec.ts in Chromium's worker).
 */
export const SCENE_SIZE = 64

export function noiseScene(seed: number): DetectionSample {
  const W = SCENE_SIZE
  const r = seededRandom(seed)
  const pixels = Uint8Array.from({ length: W * W * 3 }, () => Math.floor(r() * 255))
  const instances: Instance[] = [
    [8, 10, 20, 16],
    [34, 30, 22, 26],
  ].map(([x, y, w, h], i) => {
    const mask = { x: x!, y: y!, width: w!, height: h!, data: new Uint8Array(w! * h!).fill(1) }
    return { classIndex: i, mask, box: maskBox(mask)!, crowd: false }
  })
  const truth = instances.map((inst) => {
    const [x0, y0, x1, y1] = inst.box
    const box: [number, number, number, number] = [x0, y0, x1 - x0, y1 - y0]
    return { classIndex: inst.classIndex, box, mask: encodeBitmap(inst.mask!, W, W), crowd: false }
  })
  return { imageId: seed, pixels, instances, letterbox: letterboxFor(W, W, W, W), truth }
}
