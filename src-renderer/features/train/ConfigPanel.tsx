import { useEffect, useMemo, useState } from 'react'
import {
  MODEL_PRESETS,
  type ClassifyConfig,
  type ModelPreset,
  type Task,
  type TrainConfig,
} from '../../../src-shared/api/train'
import { call } from '../../app/api-client'
import { AugmentPanel } from './AugmentPanel'
import { AugmentPreview } from './AugmentPreview'
import { configIssues } from './configCheck'
import { DetectForm } from './DetectForm'
import { NumField, SelectField } from './fields'
import { LayerBuilder } from './LayerBuilder'
import { PinnedPicker } from './PinnedPicker'
import { StartSection } from './StartSection'
import { useTrain, type TaskOption } from './store'

const TASK_LABELS: Record<Task, string> = {
  classify: 'Classification',
  detect: 'Detection (boxes)',
  segment: 'Instance segmentation',
}

/** The task a project opens with: the richest its labels allow (masks, then boxes, then tags). */
export function preferredTask(tasks: readonly TaskOption[]): Task {
  for (const t of ['segment', 'detect', 'classify'] as const)
    if (tasks.find((o) => o.task === t)?.available) return t
  return 'classify'
}

/** The run's recipe: the task, then that task's settings, pinned images, and Start. */
export function ConfigPanel() {
  const config = useTrain((s) => s.config)
  const generation = useTrain((s) => s.configGeneration)
  const setConfig = useTrain((s) => s.setConfig)
  const tasks = useTrain((s) => s.tasks)
  const [loadError, setLoadError] = useState<string | null>(null)

  const load = (task: Task, model?: ModelPreset) => {
    const keep = useTrain.getState().config?.pinnedImageIds ?? []
    call('train.defaults', { task, ...(model && { model }) }).then(
      ({ notes, ...c }) => {
        setLoadError(null)
        setConfig({ ...c, pinnedImageIds: keep } as TrainConfig, true, notes)
      },
      (e: Error) => setLoadError(e.message),
    )
  }

  // What the project's labels can train: asked each time the lab opens (labels change meanwhile).
  useEffect(() => {
    let stale = false
    call('train.tasks', {}).then(
      (t) => !stale && useTrain.setState({ tasks: t }),
      (e: Error) => !stale && setLoadError(e.message),
    )
    return () => {
      stale = true
    }
  }, [])

  // No recipe yet, or none any more (another project was opened and the lab reset): load the
  // default recipe of the project's preferred task.
  const needsDefaults = config === null && tasks !== null
  useEffect(() => {
    if (!needsDefaults || useTrain.getState().config) return
    let stale = false
    const task = preferredTask(useTrain.getState().tasks ?? [])
    // Classification opens on `auto`: a recipe chosen from the project's images, with its reasons.
    call('train.defaults', task === 'classify' ? { task, model: 'auto' } : { task }).then(
      ({ notes, ...c }) =>
        !stale && !useTrain.getState().config && useTrain.getState().setConfig(c as TrainConfig, true, notes),
      (e: Error) => !stale && setLoadError(e.message),
    )
    return () => {
      stale = true
    }
  }, [needsDefaults])

  return (
    <aside className="train-config" data-testid="config-panel">
      <section>
        <h3>Task</h3>
        <div className="task-picker" role="radiogroup" aria-label="Task" data-testid="task-picker">
          {(tasks ?? []).map((t) => (
            <label
              key={t.task}
              className={`task-option${t.available ? '' : ' unavailable'}`}
              title={t.available ? undefined : `This project ${t.reason}`}
              data-testid={`task-${t.task}`}
            >
              <input
                type="radio"
                name="task"
                value={t.task}
                checked={config?.task === t.task}
                disabled={!t.available}
                onChange={() => load(t.task)}
              />
              <span>
                {TASK_LABELS[t.task]}
                {!t.available && <span className="muted small why"> — this project {t.reason}</span>}
              </span>
            </label>
          ))}
        </div>
      </section>
      {!config ? (
        loadError ? (
          <p className="error">{loadError}</p>
        ) : (
          <p className="muted">Loading the recipe…</p>
        )
      ) : config.task === 'classify' ? (
        <ClassifyForm
          key={generation}
          config={config}
          onPreset={(m) => load('classify', m)}
          loadError={loadError}
        />
      ) : (
        <DetectForm key={generation} config={config} />
      )}
    </aside>
  )
}

function ClassifyForm({
  config,
  onPreset,
  loadError,
}: {
  config: ClassifyConfig
  onPreset: (m: ModelPreset) => void
  loadError: string | null
}) {
  const setConfig = useTrain((s) => s.setConfig)
  const recipeNotes = useTrain((s) => s.recipeNotes)
  const [showPreview, setShowPreview] = useState(false)

  const set = (patch: Partial<ClassifyConfig>) => setConfig({ ...config, ...patch })
  const issues = useMemo(() => configIssues(config), [config])
  const invalid = useMemo(() => new Set(issues.map((i) => i.path)), [issues])

  const validation = config.validation ?? 'val'
  const validationKind = typeof validation === 'number' ? 'fraction' : validation
  const sgd = config.optimizer === 'sgd'

  return (
    <>
      <section>
        <h3>Model</h3>
        <SelectField
          label="Preset"
          value={config.model}
          options={MODEL_PRESETS}
          onChange={onPreset}
          testid="model-preset"
        />
        {loadError && <p className="error small">{loadError}</p>}
        {recipeNotes.length > 0 && (
          <div className="recipe-notes" data-testid="recipe-notes">
            <p className="muted small">
              {config.model === 'auto'
                ? 'Chosen from this project’s images; every setting below stays editable:'
                : 'About this recipe:'}
            </p>
            <ul className="small">
              {recipeNotes.map((n, i) => (
                <li key={i}>{n}</li>
              ))}
            </ul>
          </div>
        )}
        {(config.model === 'custom' || config.model === 'auto') && (
          <LayerBuilder
            layers={config.layers ?? []}
            onChange={(layers) => set({ layers })}
            invalidPaths={invalid}
          />
        )}
        <div className="grid3">
          <NumField
            label="Input width"
            value={config.input?.width}
            invalid={invalid.has('input.width')}
            onChange={(n) => set({ input: { height: n, channels: 1, ...config.input, width: n } })}
          />
          <NumField
            label="Input height"
            value={config.input?.height}
            invalid={invalid.has('input.height')}
            onChange={(n) => set({ input: { width: n, channels: 1, ...config.input, height: n } })}
          />
          <SelectField
            label="Channels"
            value={String(config.input?.channels ?? 1) as '1' | '3'}
            options={['1', '3'] as const}
            onChange={(v) =>
              set({ input: { width: 28, height: 28, ...config.input, channels: Number(v) as 1 | 3 } })
            }
          />
          <NumField
            label="Normalise mean"
            value={config.normalize?.mean ?? 0}
            invalid={invalid.has('normalize.mean')}
            onChange={(n) => set({ normalize: { std: 1, ...config.normalize, mean: n } })}
          />
          <NumField
            label="Normalise std"
            value={config.normalize?.std ?? 1}
            invalid={invalid.has('normalize.std')}
            onChange={(n) => set({ normalize: { mean: 0, ...config.normalize, std: n } })}
          />
          <SelectField
            label="Init"
            value={config.init ?? 'torch'}
            options={['torch', 'keras'] as const}
            onChange={(init) => set({ init })}
          />
        </div>
      </section>

      <section>
        <h3>Training</h3>
        <div className="grid3">
          <SelectField
            label="Optimizer"
            value={config.optimizer}
            options={['sgd', 'adam', 'rmsprop'] as const}
            onChange={(optimizer) => set({ optimizer })}
            testid="optimizer"
          />
          <NumField
            label="Learning rate"
            value={config.learningRate}
            invalid={invalid.has('learningRate')}
            onChange={(learningRate) => set({ learningRate })}
            testid="learning-rate"
          />
          <NumField
            label="Momentum"
            title={sgd ? 'SGD momentum' : 'only SGD uses momentum'}
            value={config.momentum ?? 0}
            invalid={invalid.has('momentum')}
            disabled={!sgd}
            onChange={(momentum) => set({ momentum })}
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
            testid="validation"
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
              onChange={(e) => set({ earlyStopping: e.target.checked ? { patience: 3 } : null })}
              data-testid="early-stopping"
            />
            Early stopping
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
        <div className="grid3">
          <SelectField
            label="Schedule"
            value={config.schedule?.kind ?? 'none'}
            options={[
              { value: 'none', label: 'constant (no warm-up)' },
              { value: 'constant', label: 'warm-up, then constant' },
              { value: 'cosine', label: 'warm-up, then cosine' },
            ]}
            onChange={(v) =>
              set({
                schedule: v === 'none' ? null : { kind: v, warmupEpochs: config.schedule?.warmupEpochs ?? 3 },
              })
            }
            testid="schedule"
          />
          {config.schedule && (
            <NumField
              label="Warm-up epochs"
              value={config.schedule.warmupEpochs}
              invalid={invalid.has('schedule.warmupEpochs')}
              onChange={(warmupEpochs) => set({ schedule: { ...config.schedule!, warmupEpochs } })}
            />
          )}
          <NumField
            label="Weight decay"
            title="decoupled (AdamW-style), times the learning rate, per step"
            value={config.weightDecay ?? 0}
            invalid={invalid.has('weightDecay')}
            onChange={(weightDecay) => set({ weightDecay })}
            testid="weight-decay"
          />
          <NumField
            label="Label smoothing"
            value={config.labelSmoothing ?? 0}
            invalid={invalid.has('labelSmoothing')}
            onChange={(labelSmoothing) => set({ labelSmoothing })}
            testid="label-smoothing"
          />
          <SelectField
            label="Class weights"
            value={config.classWeights ?? 'none'}
            options={[
              { value: 'none', label: 'none' },
              { value: 'balanced', label: 'balanced (inverse share)' },
            ]}
            onChange={(classWeights) => set({ classWeights })}
          />
        </div>
        <label className="check">
          <input
            type="checkbox"
            checked={!!config.testEachEpoch}
            onChange={(e) => set({ testEachEpoch: e.target.checked })}
          />
          Evaluate on test after every epoch
        </label>
      </section>

      <section>
        <h3>Augmentation</h3>
        <AugmentPanel
          augment={config.augment}
          onChange={(augment) => set({ augment })}
          invalidPaths={invalid}
        />
        <button
          className="link"
          onClick={() => setShowPreview((p) => !p)}
          data-testid="augment-preview-toggle"
        >
          {showPreview ? 'Hide preview' : 'Preview on an image…'}
        </button>
        {showPreview && <AugmentPreview augment={config.augment} pinnedIds={config.pinnedImageIds ?? []} />}
      </section>

      <section>
        <h3>Pinned images</h3>
        <p className="muted small">Their top-3 is recorded after every epoch: see the flipbook.</p>
        <PinnedPicker
          ids={config.pinnedImageIds ?? []}
          onChange={(pinnedImageIds) => set({ pinnedImageIds })}
        />
      </section>

      <StartSection config={config} issues={issues} />
    </>
  )
}
