import { useState } from 'react'
import { call } from '../../app/api-client'

/** Makes a new seeded, stratified train/val/test split of every image. */
export function ResplitDialog({ onClose, onDone }: { onClose: () => void; onDone: () => Promise<void> }) {
  const [train, setTrain] = useState(80)
  const [val, setVal] = useState(10)
  const [test, setTest] = useState(10)
  const [seed, setSeed] = useState(42)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const run = async () => {
    setBusy(true)
    try {
      await call('splits.resplit', { ratios: { train, val, test }, seed })
      await onDone()
      onClose()
    } catch (e) {
      setError((e as Error).message)
    } finally {
      setBusy(false)
    }
  }
  const num = (set: (n: number) => void) => (e: React.ChangeEvent<HTMLInputElement>) =>
    set(Number(e.target.value))
  return (
    <div className="modal-backdrop">
      <div className="modal" role="dialog" aria-label="Re-split">
        <h2>Re-split the project</h2>
        <p className="muted">
          Every image gets a new split, stratified by class and reproducible from the seed. Splits set by hand
          or by the source folders are replaced too.
        </p>
        <div className="grid4">
          <label>
            Train %<input type="number" min={0} value={train} onChange={num(setTrain)} />
          </label>
          <label>
            Val %<input type="number" min={0} value={val} onChange={num(setVal)} />
          </label>
          <label>
            Test %<input type="number" min={0} value={test} onChange={num(setTest)} />
          </label>
          <label>
            Seed
            <input type="number" value={seed} onChange={num(setSeed)} />
          </label>
        </div>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <div className="row end">
          <button onClick={onClose}>Cancel</button>
          <button className="primary" disabled={busy} onClick={() => void run()}>
            Re-split
          </button>
        </div>
      </div>
    </div>
  )
}
