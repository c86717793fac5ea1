import { mobileNetV2Artifacts, MOBILENET_V2_NAME } from '../../pretrained/mobilenet-v2.node'
import { backboneFrom } from './backbone'
import { BACKBONE_TAPS, type Backbone } from './model'

/**
 * The detector's backbone in this process: the pretrained MobileNetV2
 * (../../pretrained/mobilenet-v2.node.ts), for inputs of any size (the detector's canvas) and with the
 * layers up to its last tap only. Loaded once per process.
 */

let loading: Promise<Backbone> | null = null

/** The artifacts the backbone is cut from, for a trainer that builds it itself (train/remote/). */
export const backboneArtifacts = () => mobileNetV2Artifacts(BACKBONE_TAPS[BACKBONE_TAPS.length - 1])

export function loadBackbone(): Promise<Backbone> {
  loading ??= backboneFrom(backboneArtifacts(), MOBILENET_V2_NAME)
  return loading
}
