import { useEffect, useMemo, useState } from 'react'
import { MODEL_PRESETS, type ClassifyConfig, type ModelPreset } from '../../../src-shared/api/train'
import { call } from '../../app/api-client'
import { AugmentPanel } from './AugmentPanel'
import { AugmentPreview } from './AugmentPreview'
import { configIssues } from './configCheck'
import { NumField, SelectField } from './fields'
import { LayerBuilder } from './LayerBuilder'
import { PinnedPicker } from './PinnedPicker'
import { asClassify, useTrain } from './store'
import { SweepDialog } from './SweepDialog'

type Server = { key: string; notes: string[]; error: string | null }

/** The run's recipe: model, optimizer, schedule, validation, early stopping, augmentation, pins. */
export function ConfigPanel() {
  const config = useTrain((s) => s.config)
  const generation = useTrain((s) => s.configGeneration)
  const setConfig = useTrain((s) => s.setConfig)
  const [loadError, setLoadError] = useState<string | null>(null)

  const loadPreset = (model: ModelPreset) => {
    const keep = useTrain.getState().config?.pinnedImageIds ?? []
    call('train.defaults', { model }).then(
      (c) => {
        setLoadError(null)
        setConfig({ ...asClassify(c), pinnedImageIds: keep }, true)
      },
      (e: Error) => setLoadError(e.message),
    )
  }

  // No recipe yet, or none any more (another project was opened and the lab reset): load the default.
  const needsDefaults = config === null
  useEffect(() => {
    if (!needsDefaults || useTrain.getState().config) return
    let stale = false
    call('train.defaults', { model: 'seed-cnn' }).then(
      (c) => !stale && !useTrain.getState().config && useTrain.getState().setConfig(asClassify(c), true),
      (e: Error) => !stale && setLoadError(e.message),
    )
    return () => {
      stale = true
    }
  }, [needsDefaults])

  if (!config) {
    return (
      <aside className="train-config">
        {loadError ? <p className="error">{loadError}</p> : <p className="muted">Loading the recipe…</p>}
      </aside>
    )
  }
  return <ConfigForm key={generation} config={config} onPreset={loadPreset} loadError={loadError} />
}

function ConfigForm({
  config,
  onPreset,
  loadError,
}: {
  config: ClassifyConfig
  onPreset: (m: ModelPreset) => void
  loadError: string | null
}) {
  const setConfig = useTrain((s) => s.setConfig)
  const select = useTrain((s) => s.select)
  const refreshRuns = useTrain((s) => s.refreshRuns)
  const [server, setServer] = useState<Server | null>(null)
  const [busy, setBusy] = useState(false)
  const [startError, setStartError] = useState<string | null>(null)
  const [sweep, setSweep] = useState(false)
  const [showPreview, setShowPreview] = useState(false)

  const set = (patch: Partial<ClassifyConfig>) => {
    setStartError(null)
    setConfig({ ...config, ...patch })
  }
  const issues = useMemo(() => configIssues(config), [config])
  const invalid = useMemo(() => new Set(issues.map((i) => i.path)), [issues])
  const key = JSON.stringify(config)

  // Ask the backend too (the stack against the input size, the splits), a moment after typing stops.
  useEffect(() => {
    if (issues.length) return
    let stale = false
    const t = setTimeout(() => {
      call('train.validate', { config }).then(
        (r) => !stale && setServer({ key, notes: r.notes, error: null }),
        (e: Error) => !stale && setServer({ key, notes: [], error: e.message }),
      )
    }, 350)
    return () => {
      stale = true
      clearTimeout(t)
    }
    // `key` is the config.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, issues.length])

  const checked = !issues.length && server?.key === key ? server : null

  const start = async () => {
    setBusy(true)
    setStartError(null)
    try {
      const v = await call('train.validate', { config })
      setServer({ key, notes: v.notes, error: null })
      const { runId } = await call('train.start', { config })
      select(runId, true)
      await refreshRuns()
    } catch (e) {
      setStartError((e as Error).message)
    } finally {
      setBusy(false)
    }
  }

  const validation = config.validation ?? 'val'
  const validationKind = typeof validation === 'number' ? 'fraction' : validation
  const sgd = config.optimizer === 'sgd'

  return (
    <aside className="train-config" data-testid="config-panel">
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
        {config.model === 'custom' && (
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

      <section className="start">
        <label>
          Run name (optional)
          <input
            aria-label="Run name"
            defaultValue={config.name ?? ''}
            onChange={(e) => set({ name: e.target.value || undefined })}
          />
        </label>
        <div className="checks-out" data-testid="config-check">
          {issues.map((i) => (
            <p key={i.path + i.text} className="error small" role="alert">
              {i.text}
            </p>
          ))}
          {checked?.error && (
            <p className="error small" role="alert">
              {checked.error}
            </p>
          )}
          {checked?.notes.map((n) => (
            <p key={n} className="muted small">
              Note: {n}
            </p>
          ))}
          {startError && (
            <p className="error small" role="alert">
              {startError}
            </p>
          )}
          {checked && !checked.error && !issues.length && (
            <p className="ok small" data-testid="config-ok">
              ✓ The backend accepts this config.
            </p>
          )}
        </div>
        <div className="row">
          <button
            className="primary grow"
            disabled={busy || issues.length > 0 || !!checked?.error}
            onClick={() => void start()}
            data-testid="train-start"
          >
            {busy ? 'Starting…' : 'Start training'}
          </button>
          <button disabled={issues.length > 0} onClick={() => setSweep(true)} data-testid="sweep-open">
            Sweep…
          </button>
        </div>
      </section>
      {sweep && <SweepDialog base={config} onClose={() => setSweep(false)} />}
    </aside>
  )
}
