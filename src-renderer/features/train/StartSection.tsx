import { useEffect, useState } from 'react'
import { BACKENDS, type TrainConfig } from '../../../src-shared/api/train'
import { call } from '../../app/api-client'
import type { ConfigIssue } from './configCheck'
import { useTrain } from './store'
import { SweepDialog } from './SweepDialog'

type Server = { key: string; notes: string[]; error: string | null }

/**
 * The end of every recipe: its name, what the form and the backend say of it, Start and Sweep.
 * The backend is asked a moment after typing stops (the stack against the input size, the splits).
 */
export function StartSection({ config, issues }: { config: TrainConfig; issues: ConfigIssue[] }) {
  const setConfig = useTrain((s) => s.setConfig)
  const select = useTrain((s) => s.select)
  const refreshRuns = useTrain((s) => s.refreshRuns)
  const [server, setServer] = useState<Server | null>(null)
  const [busy, setBusy] = useState(false)
  /** Why the last start failed, for the config it was tried with (an edit clears it). */
  const [failed, setFailed] = useState<{ key: string; text: string } | null>(null)
  const [sweep, setSweep] = useState(false)
  const key = JSON.stringify(config)

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
  const startError = failed?.key === key ? failed.text : null

  const start = async () => {
    setBusy(true)
    setFailed(null)
    try {
      const v = await call('train.validate', { config })
      setServer({ key, notes: v.notes, error: null })
      const { runId } = await call('train.start', { config })
      select(runId, true)
      await refreshRuns()
    } catch (e) {
      setFailed({ key, text: (e as Error).message })
    } finally {
      setBusy(false)
    }
  }

  return (
    <section className="start">
      <label>
        Run name (optional)
        <input
          aria-label="Run name"
          defaultValue={config.name ?? ''}
          onChange={(e) => setConfig({ ...config, name: e.target.value || undefined })}
        />
      </label>
      <label>
        Backend
        <select
          aria-label="Backend"
          value={config.backend ?? 'auto'}
          onChange={(e) =>
            setConfig({
              ...config,
              backend: e.target.value === 'auto' ? undefined : (e.target.value as TrainConfig['backend']),
            } as TrainConfig)
          }
          data-testid="backend-choice"
        >
          <option value="auto">fastest available (WebGPU, WebGL, then wasm on every core, then cpu)</option>
          {BACKENDS.map((b) => (
            <option key={b} value={b}>
              {b}
            </option>
          ))}
        </select>
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
      {sweep && <SweepDialog base={config} onClose={() => setSweep(false)} />}
    </section>
  )
}
