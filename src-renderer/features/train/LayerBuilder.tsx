import { useState } from 'react'
import { ACTIVATIONS, type Activation, type LayerSpec } from '../../../src-shared/api/train'
import { NumField, SelectField } from './fields'

type LayerType = LayerSpec['type']
const TYPES: readonly LayerType[] = ['conv', 'pool', 'activation', 'batchnorm', 'dropout', 'flatten', 'dense']

const fresh = (type: LayerType): LayerSpec => {
  switch (type) {
    case 'conv':
      return { type, filters: 16, kernel: 3, stride: 1, padding: 'same', activation: 'relu' }
    case 'pool':
      return { type, kind: 'max', size: 2 }
    case 'activation':
      return { type, fn: 'relu' }
    case 'dropout':
      return { type, rate: 0.25 }
    case 'dense':
      return { type, units: 64, activation: 'relu' }
    default:
      return { type }
  }
}

let nextKey = 1
const newKey = () => nextKey++

/**
 * The layer stack of a `custom` model: add, remove and reorder rows, each with its own fields.
 * The output layer (one unit per class) is added by the trainer.
 */
export function LayerBuilder({
  layers,
  onChange,
  invalidPaths,
}: {
  layers: LayerSpec[]
  onChange: (layers: LayerSpec[]) => void
  invalidPaths: Set<string>
}) {
  // Stable row keys, so that the uncontrolled number fields move with their rows.
  const [keys, setKeys] = useState<number[]>(() => layers.map(newKey))
  const [addType, setAddType] = useState<LayerType>('conv')
  const rowKeys = keys.length === layers.length ? keys : layers.map((_, i) => keys[i] ?? -i - 1)

  const update = (i: number, patch: Partial<LayerSpec>) =>
    onChange(layers.map((l, j) => (j === i ? ({ ...l, ...patch } as LayerSpec) : l)))
  const move = (i: number, d: -1 | 1) => {
    const j = i + d
    if (j < 0 || j >= layers.length) return
    const swap = <T,>(a: T[]) => a.map((x, k) => (k === i ? a[j]! : k === j ? a[i]! : x))
    setKeys(swap(rowKeys))
    onChange(swap(layers))
  }
  const remove = (i: number) => {
    setKeys(rowKeys.filter((_, k) => k !== i))
    onChange(layers.filter((_, k) => k !== i))
  }
  const retype = (i: number, type: LayerType) => {
    setKeys(rowKeys.map((k, j) => (j === i ? newKey() : k)))
    onChange(layers.map((l, j) => (j === i ? fresh(type) : l)))
  }
  const add = () => {
    setKeys([...rowKeys, newKey()])
    onChange([...layers, fresh(addType)])
  }
  const bad = (i: number, f: string) => invalidPaths.has(`layers.${i}.${f}`)
  const activation = (i: number, value: Activation | undefined, field: 'activation' | 'fn') => (
    <SelectField
      label={field === 'fn' ? 'function' : 'activation'}
      value={value ?? 'linear'}
      options={ACTIVATIONS}
      onChange={(v) => update(i, { [field]: v } as Partial<LayerSpec>)}
    />
  )

  return (
    <div className="layers" data-testid="layer-builder">
      {layers.length === 0 && <p className="muted small">No layers yet: add one below.</p>}
      {layers.map((l, i) => (
        <div key={rowKeys[i]} className="layer-row" data-testid="layer-row" data-type={l.type}>
          <span className="layer-n">{i + 1}</span>
          <SelectField
            label="layer"
            value={l.type}
            options={TYPES}
            onChange={(t) => retype(i, t)}
            testid="layer-type"
          />
          {l.type === 'conv' && (
            <>
              <NumField
                label="filters"
                value={l.filters}
                invalid={bad(i, 'filters')}
                onChange={(n) => update(i, { filters: n })}
              />
              <NumField
                label="kernel"
                value={l.kernel}
                invalid={bad(i, 'kernel')}
                onChange={(n) => update(i, { kernel: n })}
              />
              <NumField
                label="stride"
                value={l.stride ?? 1}
                invalid={bad(i, 'stride')}
                onChange={(n) => update(i, { stride: n })}
              />
              <SelectField
                label="padding"
                value={l.padding ?? 'valid'}
                options={['valid', 'same'] as const}
                onChange={(v) => update(i, { padding: v })}
              />
              {activation(i, l.activation, 'activation')}
            </>
          )}
          {l.type === 'pool' && (
            <>
              <SelectField
                label="kind"
                value={l.kind ?? 'max'}
                options={['max', 'avg'] as const}
                onChange={(v) => update(i, { kind: v })}
              />
              <NumField
                label="size"
                value={l.size ?? 2}
                invalid={bad(i, 'size')}
                onChange={(n) => update(i, { size: n })}
              />
            </>
          )}
          {l.type === 'activation' && activation(i, l.fn, 'fn')}
          {l.type === 'dropout' && (
            <NumField
              label="rate"
              value={l.rate}
              invalid={bad(i, 'rate')}
              onChange={(n) => update(i, { rate: n })}
            />
          )}
          {l.type === 'dense' && (
            <>
              <NumField
                label="units"
                value={l.units}
                invalid={bad(i, 'units')}
                onChange={(n) => update(i, { units: n })}
              />
              {activation(i, l.activation, 'activation')}
            </>
          )}
          <span className="layer-actions">
            <button
              title="Move up"
              aria-label={`Move layer ${i + 1} up`}
              disabled={i === 0}
              onClick={() => move(i, -1)}
            >
              ↑
            </button>
            <button
              title="Move down"
              aria-label={`Move layer ${i + 1} down`}
              disabled={i === layers.length - 1}
              onClick={() => move(i, 1)}
            >
              ↓
            </button>
            <button title="Remove" aria-label={`Remove layer ${i + 1}`} onClick={() => remove(i)}>
              ✕
            </button>
          </span>
        </div>
      ))}
      <div className="row">
        <SelectField
          label="New layer"
          value={addType}
          options={TYPES}
          onChange={setAddType}
          testid="layer-add-type"
        />
        <button onClick={add} data-testid="layer-add">
          Add layer
        </button>
      </div>
      <p className="muted small">The output layer, one unit per class, is added after these.</p>
    </div>
  )
}
