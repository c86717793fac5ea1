import { useMemo } from 'react'
import {
  DETECTION_MODELS,
  type DetectAugment,
  type DetectConfig,
  type SegmentConfig,
} from '../../../src-shared/api/train'
import { configIssues } from './configCheck'
import { NumField, SelectField } from './fields'
import { PinnedPicker } from './PinnedPicker'
import { StartSection } from './StartSection'
import { useTrain } from './store'

type DetectionConfig = DetectConfig | SegmentConfig

const MODEL_LABELS: Record<(typeof DETECTION_MODELS)[number], string> = {
  'mobilenet-v2': 'MobileNetV2, pretrained (frozen) + trained heads',
  'centernet-s': 'Small CenterNet, from scratch',
}

/**
 * The detection and instance-segmentation recipe. Every field starts at the default recipe
 * (`train.defaults`), which is meant to work untouched on about 50 labelled images.
 */
export function DetectForm({ config }: { config: DetectionConfig }) {
  const setConfig = useTrain((s) => s.setConfig)
  const set = (patch: Partial<DetectionConfig>) => setConfig({ ...config, ...patch } as DetectionConfig)
  const aug = (patch: Partial<DetectAugment>) => set({ augment: { ...config.augment, ...patch } })
  const issues = useMemo(() => configIssues(config), [config])
  const invalid = useMemo(() => new Set(issues.map((i) => i.path)), [issues])
  const a = config.augment ?? {}
  const validation = config.validation ?? 'val'
  const validationKind = typeof validation === 'number' ? 'fraction' : validation
  const scale = a.scale ?? [0.6, 1.4]

  return (
    <>
      <section>
        <h3>Model</h3>
        <SelectField
          label="Architecture"
          value={config.model ?? 'mobilenet-v2'}
          options={DETECTION_MODELS.map((m) => ({ value: m, label: MODEL_LABELS[m] }))}
          onChange={(model) => set({ model })}
          testid="detect-model"
        />
        <div className="grid3">
          <NumField
            label="Input width"
            title="The training canvas; images are letterboxed into it (a multiple of 32)"
            value={config.input?.width}
            invalid={invalid.has('input.width')}
            onChange={(width) => set({ input: { height: config.input?.height ?? width, width } })}
          />
          <NumField
            label="Input height"
            value={config.input?.height}
            invalid={invalid.has('input.height')}
            onChange={(height) => set({ input: { width: config.input?.width ?? height, height } })}
          />
          {config.task === 'segment' && (
            <NumField
              label="Mask prototypes"
              value={config.prototypes}
              invalid={invalid.has('prototypes')}
              onChange={(prototypes) => set({ prototypes } as Partial<SegmentConfig>)}
            />
          )}
        </div>
      </section>

      <section>
        <h3>Training</h3>
        <div className="grid3">
          <SelectField
            label="Optimizer"
            value={config.optimizer ?? 'adam'}
            options={['adam', 'sgd'] as const}
            onChange={(optimizer) => set({ optimizer })}
          />
          <NumField
            label="Learning rate"
            value={config.learningRate}
            invalid={invalid.has('learningRate')}
            onChange={(learningRate) => set({ learningRate })}
            testid="learning-rate"
          />
          <NumField
            label="Weight decay"
            value={config.weightDecay}
            invalid={invalid.has('weightDecay')}
            onChange={(weightDecay) => set({ weightDecay })}
          />
          <NumField
            label="Batch size"
            value={config.batchSize}
            invalid={invalid.has('batchSize')}
            onChange={(batchSize) => set({ batchSize })}
            testid="batch-size"
          />
          <NumField
            label="Epochs"
            value={config.epochs}
            invalid={invalid.has('epochs')}
            onChange={(epochs) => set({ epochs })}
            testid="epochs"
          />
          <NumField
            label="Warm-up epochs"
            value={config.warmupEpochs}
            invalid={invalid.has('warmupEpochs')}
            onChange={(warmupEpochs) => set({ warmupEpochs })}
          />
          <SelectField
            label="Schedule"
            value={config.schedule ?? 'cosine'}
            options={['cosine', 'constant'] as const}
            onChange={(schedule) => set({ schedule })}
          />
          <NumField
            label="EMA decay"
            title="An exponential moving average of the weights evaluates and predicts; 0 turns it off"
            value={config.ema === null ? 0 : (config.ema?.decay ?? 0.995)}
            invalid={invalid.has('ema.decay')}
            onChange={(d) => set({ ema: d === 0 ? null : { decay: d } })}
          />
          <NumField
            label="Seed"
            value={config.seed ?? 42}
            invalid={invalid.has('seed')}
            onChange={(seed) => set({ seed })}
          />
        </div>
        <div className="grid3">
          <SelectField
            label="Validate on"
            value={validationKind}
            options={[
              { value: 'val', label: 'val split' },
              { value: 'test', label: 'test split' },
              { value: 'fraction', label: 'part of train' },
            ]}
            onChange={(v) => set({ validation: v === 'fraction' ? 0.1 : v })}
          />
          {typeof validation === 'number' && (
            <NumField
              label="Fraction of train"
              value={validation}
              invalid={invalid.has('validation')}
              onChange={(n) => set({ validation: n })}
            />
          )}
        </div>
        <div className="row">
          <label className="check">
            <input
              type="checkbox"
              checked={!!config.earlyStopping}
              onChange={(e) => set({ earlyStopping: e.target.checked ? { patience: 15 } : null })}
            />
            Early stopping (on val mAP)
          </label>
          {config.earlyStopping && (
            <NumField
              label="Patience (epochs)"
              value={config.earlyStopping.patience}
              invalid={invalid.has('earlyStopping.patience')}
              onChange={(patience) => set({ earlyStopping: { patience } })}
            />
          )}
        </div>
      </section>

      <section>
        <h3>Augmentation</h3>
        <div className="grid3">
          <NumField
            label="Copy-paste chance"
            title="Chance that an image gets objects pasted in from other training images"
            value={a.copyPaste ?? 0.5}
            invalid={invalid.has('augment.copyPaste')}
            onChange={(copyPaste) => aug({ copyPaste })}
          />
          <NumField
            label="Pasted at most"
            value={a.copyPasteMax ?? 4}
            invalid={invalid.has('augment.copyPasteMax')}
            onChange={(copyPasteMax) => aug({ copyPasteMax })}
          />
          <NumField
            label="Scale from"
            value={scale[0]}
            invalid={invalid.has('augment.scale.0')}
            onChange={(n) => aug({ scale: [n, scale[1]] })}
          />
          <NumField
            label="Scale to"
            value={scale[1]}
            invalid={invalid.has('augment.scale.1')}
            onChange={(n) => aug({ scale: [scale[0], n] })}
          />
          <NumField
            label="Brightness ±"
            value={a.brightness ?? 0.25}
            invalid={invalid.has('augment.brightness')}
            onChange={(brightness) => aug({ brightness })}
          />
          <NumField
            label="Contrast ±"
            value={a.contrast ?? 0.25}
            invalid={invalid.has('augment.contrast')}
            onChange={(contrast) => aug({ contrast })}
          />
          <NumField
            label="Noise (std)"
            value={a.noise ?? 0.03}
            invalid={invalid.has('augment.noise')}
            onChange={(noise) => aug({ noise })}
          />
          <NumField
            label="Blur chance"
            value={a.blur ?? 0.2}
            invalid={invalid.has('augment.blur')}
            onChange={(blur) => aug({ blur })}
          />
        </div>
        <div className="row">
          <label className="check">
            <input
              type="checkbox"
              checked={a.hflip ?? true}
              onChange={(e) => aug({ hflip: e.target.checked })}
            />
            Horizontal flips
          </label>
          <label className="check">
            <input
              type="checkbox"
              checked={a.vflip ?? false}
              onChange={(e) => aug({ vflip: e.target.checked })}
            />
            Vertical flips
          </label>
        </div>
      </section>

      <section>
        <h3>Detections</h3>
        <div className="grid3">
          <NumField
            label="Max per image"
            value={config.maxDetections}
            invalid={invalid.has('maxDetections')}
            onChange={(maxDetections) => set({ maxDetections })}
          />
          <NumField
            label="Score floor"
            title="Detections below this are dropped when decoding"
            value={config.scoreFloor}
            invalid={invalid.has('scoreFloor')}
            onChange={(scoreFloor) => set({ scoreFloor })}
          />
          <NumField
            label="Shown from"
            title="Detections at or above this score count as shown in the tables"
            value={config.displayThreshold}
            invalid={invalid.has('displayThreshold')}
            onChange={(displayThreshold) => set({ displayThreshold })}
          />
        </div>
      </section>

      <section>
        <h3>Pinned images</h3>
        <p className="muted small">
          Their detections are recorded before training (epoch 0) and after every epoch: see the flipbook and
          the table.
        </p>
        <PinnedPicker
          ids={config.pinnedImageIds ?? []}
          onChange={(pinnedImageIds) => set({ pinnedImageIds })}
        />
      </section>

      <StartSection config={config} issues={issues} />
    </>
  )
}
