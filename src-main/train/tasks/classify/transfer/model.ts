import * as tf from '@tensorflow/tfjs'

/**
 * The transfer classifier, as one flat model: the frozen pretrained backbone, global average pooling
 * (`transfer_pool`), dropout and a dense layer to the classes (`transfer_logits`). Saved, resumed and
 * used for prediction like any classifier; trained through `headLogits`, on cached pooled features.
 */

export const POOL_LAYER = 'transfer_pool'
export const DROPOUT_LAYER = 'transfer_dropout'
export const LOGITS_LAYER = 'transfer_logits'

/** The layers appended to the backbone's topology (tfjs-layers' JSON), after layer `last`. */
export function headLayersJson(last: string, numClasses: number, dropout: number, seed: number) {
  return [
    {
      name: POOL_LAYER,
      class_name: 'GlobalAveragePooling2D',
      config: { name: POOL_LAYER, trainable: false, data_format: 'channels_last' },
      inbound_nodes: [[[last, 0, 0, {}]]],
    },
    {
      name: DROPOUT_LAYER,
      class_name: 'Dropout',
      config: { name: DROPOUT_LAYER, trainable: true, rate: dropout, seed },
      inbound_nodes: [[[POOL_LAYER, 0, 0, {}]]],
    },
    {
      name: LOGITS_LAYER,
      class_name: 'Dense',
      config: {
        name: LOGITS_LAYER,
        trainable: true,
        units: numClasses,
        activation: 'linear',
        use_bias: true,
        kernel_initializer: {
          class_name: 'VarianceScaling',
          config: { scale: 1, mode: 'fan_avg', distribution: 'uniform', seed },
        },
        bias_initializer: { class_name: 'Zeros', config: {} },
      },
      inbound_nodes: [[[DROPOUT_LAYER, 0, 0, {}]]],
    },
  ]
}

/** Freezes everything but the head, so the optimizer sees the head's weights only. */
export function freezeBackbone(model: tf.LayersModel): void {
  for (const l of model.layers) l.trainable = l.name === LOGITS_LAYER
}

/** The model from its input to the pooled features (what the feature cache holds). */
export function featureModel(model: tf.LayersModel): tf.LayersModel {
  return tf.model({ inputs: model.inputs, outputs: model.getLayer(POOL_LAYER).output as tf.SymbolicTensor })
}

/** The head applied to pooled features: the same layers, and so the same weights, as in `model`. */
export function headLogits(model: tf.LayersModel, features: tf.Tensor2D, training: boolean): tf.Tensor2D {
  const dropped = model.getLayer(DROPOUT_LAYER).apply(features, { training }) as tf.Tensor2D
  return model.getLayer(LOGITS_LAYER).apply(dropped, { training }) as tf.Tensor2D
}
