import { useState } from 'react'
import { AUGMENT_PRESETS, AugmentConfig } from '../../../src-shared/api/train'
import { AUGMENT_PRESET_CONFIGS, type AugmentPresetName } from '../../../src-shared/domain/augment-presets'
import { NumField } from './fields'

type Augment = AugmentConfig | null | undefined

const normal = (a: Augment): string => {
  if (!a) return 'null'
  const r = AugmentConfig.safeParse(a)
  return r.success ? JSON.stringify(r.data) : 'invalid'
}

/** Which preset a config is, or `custom` when it was edited. */
export function augmentPresetOf(a: Augment): AugmentPresetName | 'custom' {
  const n = normal(a)
  return AUGMENT_PRESETS.find((p) => normal(AUGMENT_PRESET_CONFIGS[p]) === n) ?? 'custom'
}

const copy = (p: AugmentPresetName): AugmentConfig | null => {
  const c = AUGMENT_PRESET_CONFIGS[p]
  return c ? (JSON.parse(JSON.stringify(c)) as AugmentConfig) : null
}

/** Augmentation: a preset, then its ranges, editable. Applied to training batches only. */
export function AugmentPanel({
  augment,
  onChange,
  invalidPaths,
}: {
  augment: Augment
  onChange: (a: AugmentConfig | null) => void
  invalidPaths: Set<string>
}) {
  const [gen, setGen] = useState(0)
  const preset = augmentPresetOf(augment)
  const choose = (p: string) => {
    setGen((g) => g + 1)
    onChange(p === 'custom' ? { ...(augment ?? {}) } : copy(p as AugmentPresetName))
  }
  const set = (patch: Partial<AugmentConfig>) => onChange({ ...(augment ?? {}), ...patch })
  const bad = (f: string) => invalidPaths.has(`augment.${f}`)
  const scale = augment?.scale
  const setScale = (i: 0 | 1, n: number) => {
    const next: [number, number] = [scale?.[0] ?? 1, scale?.[1] ?? 1]
    next[i] = n
    set({ scale: Number.isNaN(next[0]) && Number.isNaN(next[1]) ? undefined : next })
  }

  return (
    <div className="augment" data-testid="augment-panel">
      <label>
        Augmentation
        <select
          aria-label="Augmentation"
          value={preset}
          onChange={(e) => choose(e.target.value)}
          data-testid="augment-preset"
        >
          {AUGMENT_PRESETS.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
          <option value="custom">custom…</option>
        </select>
      </label>
      {augment && (
        <div className="augment-fields" key={gen}>
          <div className="grid3">
            <NumField
              label="rotation ±°"
              value={augment.rotationDeg ?? 0}
              invalid={bad('rotationDeg')}
              onChange={(n) => set({ rotationDeg: n })}
            />
            <NumField
              label="translate ±"
              title="fraction of the image size"
              value={augment.translate ?? 0}
              invalid={bad('translate')}
              onChange={(n) => set({ translate: n })}
            />
            <NumField
              label="shear ±°"
              value={augment.shearDeg ?? 0}
              invalid={bad('shearDeg')}
              onChange={(n) => set({ shearDeg: n })}
            />
            <NumField
              label="zoom ±"
              title="fraction; a scale range overrides it"
              value={augment.zoom ?? 0}
              invalid={bad('zoom')}
              onChange={(n) => set({ zoom: n })}
            />
            <NumField
              label="scale min"
              value={scale?.[0]}
              invalid={bad('scale')}
              onChange={(n) => setScale(0, n)}
            />
            <NumField
              label="scale max"
              value={scale?.[1]}
              invalid={bad('scale')}
              onChange={(n) => setScale(1, n)}
            />
          </div>
          <div className="checks">
            <label className="check">
              <input
                type="checkbox"
                checked={!!augment.hflip}
                onChange={(e) => set({ hflip: e.target.checked })}
              />
              flip horizontally
            </label>
            <label className="check">
              <input
                type="checkbox"
                checked={!!augment.vflip}
                onChange={(e) => set({ vflip: e.target.checked })}
              />
              flip vertically
            </label>
            <label
              className="check"
              title="Train on the originals plus one augmented copy (seed-mlp's variant)"
            >
              <input
                type="checkbox"
                checked={!!augment.concatOriginal}
                onChange={(e) => set({ concatOriginal: e.target.checked })}
              />
              add to the originals
            </label>
          </div>
        </div>
      )}
    </div>
  )
}
