import { useEffect } from 'react'
import { api } from '../../app/api-client'
import { Top3List } from './PinnedFlipbook'
import { useClassNames, type Top3 } from './store'

export interface Sample {
  imageId: number
  trueClassId: number | null
  top3: Top3
}

/** One evaluated image, large, with the model's three guesses against the truth. */
export function SampleModal({ sample, onClose }: { sample: Sample; onClose: () => void }) {
  const name = useClassNames()
  useEffect(() => {
    const key = (e: KeyboardEvent) => e.key === 'Escape' && onClose()
    window.addEventListener('keydown', key)
    return () => window.removeEventListener('keydown', key)
  }, [onClose])
  const pred = sample.top3[0]?.classId
  const right = sample.trueClassId !== null && pred === sample.trueClassId
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div
        className="modal sample-modal"
        role="dialog"
        aria-label={`Image ${sample.imageId}`}
        data-testid="sample-modal"
        data-image-id={sample.imageId}
        onClick={(e) => e.stopPropagation()}
      >
        <h2>
          Image #{sample.imageId} <span className={right ? 'ok' : 'error'}>{right ? 'right' : 'wrong'}</span>
        </h2>
        <div className="row top">
          <img
            src={api.mediaUrl('image', sample.imageId)}
            alt={`#${sample.imageId}`}
            className="pixelated big"
          />
          <div className="grow">
            <p>
              True class: <b>{name(sample.trueClassId)}</b>
            </p>
            <p className="muted small">The model's guesses, best first:</p>
            <Top3List top3={sample.top3} name={name} truth={sample.trueClassId} />
          </div>
        </div>
        <div className="row end">
          <button onClick={onClose}>Close</button>
        </div>
      </div>
    </div>
  )
}

/** A thumbnail of an evaluated image that opens it. */
export function SampleThumb({
  sample,
  onOpen,
  caption,
  testid,
}: {
  sample: Sample
  onOpen: (s: Sample) => void
  caption?: string
  testid?: string
}) {
  const name = useClassNames()
  const right = sample.trueClassId !== null && sample.top3[0]?.classId === sample.trueClassId
  return (
    <button
      className={`sample ${right ? 'right' : 'wrong'}`}
      data-testid={testid}
      data-image-id={sample.imageId}
      data-right={right}
      title={`#${sample.imageId} · true ${name(sample.trueClassId)}\n${sample.top3
        .map((g, i) => `${i + 1}. ${name(g.classId)} ${(g.score * 100).toFixed(0)}%`)
        .join('\n')}`}
      onClick={() => onOpen(sample)}
    >
      {caption && <span className="caption">{caption}</span>}
      <img
        src={api.mediaUrl('thumb', sample.imageId)}
        alt={`#${sample.imageId}`}
        className="pixelated"
        loading="lazy"
      />
    </button>
  )
}
