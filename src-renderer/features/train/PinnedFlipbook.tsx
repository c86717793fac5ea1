import { useEffect, useState } from 'react'
import { api } from '../../app/api-client'
import { pct } from './format'
import { useClassNames, useTrain, type Top3 } from './store'

/**
 * What the model guessed for each pinned image after every epoch (epoch 0: untrained), scrubbed
 * with a slider or played like a flipbook. Follows the newest epoch until the slider is moved.
 */
export function PinnedFlipbook({
  pinned,
}: {
  pinned: { imageId: number; trueClassId: number | null; epochs: Map<number, Top3> }[]
}) {
  const name = useClassNames()
  const truth = useTrain((s) => s.truth)
  const [chosen, setChosen] = useState<number | null>(null)
  const [playing, setPlaying] = useState(false)
  const maxEpoch = pinned.reduce((m, p) => Math.max(m, ...p.epochs.keys()), 0)
  const epoch = chosen === null ? maxEpoch : Math.min(chosen, maxEpoch)

  useEffect(() => {
    if (!playing) return
    const t = setInterval(() => {
      setChosen((c) => {
        const next = (c ?? -1) + 1
        return next > maxEpoch ? 0 : next
      })
    }, 700)
    return () => clearInterval(t)
  }, [playing, maxEpoch])

  if (!pinned.length) {
    return (
      <p className="muted small">
        No images pinned for this run. Pin some in the config panel before starting.
      </p>
    )
  }
  return (
    <div className="flipbook" data-testid="flipbook" data-epoch={epoch} data-max-epoch={maxEpoch}>
      <div className="row">
        <button
          onClick={() => setPlaying((p) => !p)}
          disabled={maxEpoch === 0}
          aria-label={playing ? 'Pause' : 'Play'}
        >
          {playing ? '❚❚' : '▶'}
        </button>
        <label className="grow">
          Epoch {epoch}
          {epoch === 0 ? ' (untrained)' : ''}
          {chosen === null ? ' · following' : ''}
          <input
            type="range"
            min={0}
            max={maxEpoch}
            step={1}
            value={epoch}
            onChange={(e) => {
              setPlaying(false)
              setChosen(Number(e.target.value))
            }}
            data-testid="flipbook-slider"
            aria-label="Epoch"
          />
        </label>
        <button disabled={chosen === null} onClick={() => setChosen(null)} title="Follow the newest epoch">
          Latest
        </button>
      </div>
      <div className="flip-items">
        {pinned.map((p) => {
          const top = p.epochs.get(epoch)
          // What the run stored, else what this session learnt when the image was pinned.
          const t = p.trueClassId ?? truth[p.imageId]
          const right = top && t !== undefined && t !== null ? top[0]?.classId === t : null
          return (
            <div
              key={p.imageId}
              className={`flip-item${right === true ? ' right' : right === false ? ' wrong' : ''}`}
              data-testid="flip-item"
              data-image-id={p.imageId}
            >
              <img src={api.mediaUrl('thumb', p.imageId)} alt={`#${p.imageId}`} className="pixelated" />
              <div className="guesses">
                <div className="muted small">
                  #{p.imageId}
                  {t !== undefined && t !== null ? ` · true: ${name(t)}` : ''}
                </div>
                {top ? (
                  <Top3List top3={top} name={name} />
                ) : (
                  <div className="muted small">not recorded at epoch {epoch}</div>
                )}
              </div>
            </div>
          )
        })}
      </div>
    </div>
  )
}

/** A model's three best guesses, with bars for their confidence. */
export function Top3List({
  top3,
  name,
  truth,
}: {
  top3: Top3
  name: (id: number) => string
  truth?: number | null
}) {
  return (
    <ol className="top3">
      {top3.map((g, i) => (
        <li
          key={i}
          className={truth !== undefined && truth !== null && g.classId === truth ? 'is-true' : undefined}
        >
          <span className="g-name">{name(g.classId)}</span>
          <span className="g-bar">
            <span style={{ width: `${Math.max(1, g.score * 100)}%` }} />
          </span>
          <span className="g-score">{pct(g.score, 0)}</span>
        </li>
      ))}
    </ol>
  )
}
