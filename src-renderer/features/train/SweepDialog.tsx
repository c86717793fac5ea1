import { useState } from 'react'
import type { TrainConfig } from '../../../src-shared/api/train'
import { call } from '../../app/api-client'
import { parseList } from './format'
import { useTrain } from './store'

const OPTIMIZERS = ['sgd', 'adam', 'rmsprop'] as const
/** Detectors train with Adam or SGD only. */
const optimizersOf = (c: TrainConfig) => (c.task === 'classify' ? OPTIMIZERS : (['sgd', 'adam'] as const))
const MAX_VALUES = 6

/** A grid of learning rates × batch sizes (× optimizers) over the current config, queued as runs. */
export function SweepDialog({ base, onClose }: { base: TrainConfig; onClose: () => void }) {
  const [lrText, setLrText] = useState(() => {
    const lr = base.learningRate ?? 1e-3
    return [lr * 10, lr, lr / 10].map((x) => Number(x.toPrecision(3))).join(', ')
  })
  const [bsText, setBsText] = useState(String(base.batchSize ?? 8))
  const [optimizers, setOptimizers] = useState<string[]>([base.optimizer ?? 'adam'])
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const select = useTrain((s) => s.select)
  const refreshRuns = useTrain((s) => s.refreshRuns)

  const lrs = parseList(lrText)
  const bss = parseList(bsText)
  const problem =
    lrs === null || !lrs.length
      ? 'Learning rates: give numbers, e.g. 0.1, 0.01'
      : lrs.some((x) => x <= 0 || x > 10)
        ? 'Learning rates must be more than 0 and at most 10'
        : bss === null || !bss.length
          ? 'Batch sizes: give whole numbers, e.g. 32, 64'
          : bss.some((x) => !Number.isInteger(x) || x < 1 || x > 4096)
            ? 'Batch sizes must be whole numbers from 1 to 4096'
            : lrs.length > MAX_VALUES || bss.length > MAX_VALUES
              ? `At most ${MAX_VALUES} values per axis`
              : !optimizers.length
                ? 'Pick at least one optimizer'
                : null
  const count = problem ? 0 : new Set(lrs).size * new Set(bss).size * optimizers.length

  const run = async () => {
    if (problem) return
    setBusy(true)
    setError(null)
    try {
      await call('train.sweep', {
        base,
        grid: {
          learningRate: [...new Set(lrs)],
          batchSize: [...new Set(bss)],
          optimizer: optimizers as (typeof OPTIMIZERS)[number][],
        },
      })
      // Each queued run is selected as it starts.
      select(useTrain.getState().selectedId, true)
      await refreshRuns()
      onClose()
    } catch (e) {
      setError((e as Error).message)
    } finally {
      setBusy(false)
    }
  }

  return (
    <div className="modal-backdrop">
      <div className="modal" role="dialog" aria-label="Sweep" data-testid="sweep-dialog">
        <h2>Sweep</h2>
        <p className="muted">
          One run per combination, over the current config ({base.model}, {base.epochs} epochs). They are
          queued and train one after another.
        </p>
        <label>
          Learning rates
          <input aria-label="Learning rates" value={lrText} onChange={(e) => setLrText(e.target.value)} />
        </label>
        <label>
          Batch sizes
          <input aria-label="Batch sizes" value={bsText} onChange={(e) => setBsText(e.target.value)} />
        </label>
        <div className="checks">
          Optimizers:
          {optimizersOf(base).map((o) => (
            <label key={o} className="check">
              <input
                type="checkbox"
                checked={optimizers.includes(o)}
                onChange={(e) =>
                  setOptimizers(e.target.checked ? [...optimizers, o] : optimizers.filter((x) => x !== o))
                }
              />
              {o}
            </label>
          ))}
        </div>
        {problem ? (
          <p className="error">{problem}</p>
        ) : (
          <p data-testid="sweep-count">
            {count} run{count === 1 ? '' : 's'} will be queued.
          </p>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <div className="row end">
          <button onClick={onClose}>Cancel</button>
          <button className="primary" disabled={busy || !!problem} onClick={() => void run()}>
            Queue {count || ''} runs
          </button>
        </div>
      </div>
    </div>
  )
}
