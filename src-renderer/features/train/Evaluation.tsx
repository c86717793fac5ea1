import { useState } from 'react'
import type { Evaluation as EvaluationData } from '../../../src-shared/api/train'
import { ConfusionMatrix } from './ConfusionMatrix'
import { num, pct } from './format'
import { Top3List } from './PinnedFlipbook'
import { PredictionGrid } from './PredictionGrid'
import { SampleModal, SampleThumb, type Sample } from './SampleModal'
import { useClassNames } from './store'

/** A finished run on its test split: accuracy, per class, the confusion matrix, mistakes, predictions. */
export function Evaluation({ runId, evaluation }: { runId: number; evaluation: EvaluationData }) {
  const [open, setOpen] = useState<Sample | null>(null)
  return (
    <div className="evaluation" data-testid="evaluation">
      <div className="card">
        <div className="headline">
          <div>
            <div className="big-num" data-testid="eval-accuracy">
              {pct(evaluation.accuracy, 2)}
            </div>
            <div className="muted small">{evaluation.split} accuracy</div>
          </div>
          <div>
            <div className="big-num">{num(evaluation.loss)}</div>
            <div className="muted small">{evaluation.split} loss</div>
          </div>
          <div>
            <div className="big-num">{evaluation.samples.toLocaleString('en')}</div>
            <div className="muted small">images</div>
          </div>
          <div>
            <div className="big-num">{evaluation.wrong.length}</div>
            <div className="muted small">
              wrong{evaluation.wrong.length === 200 ? ' (200 most confident shown)' : ''}
            </div>
          </div>
        </div>
      </div>
      <div className="eval-split">
        <div className="card">
          <h3>Per class</h3>
          <PerClass evaluation={evaluation} />
        </div>
        <div className="card">
          <h3>Confusion matrix</h3>
          <ConfusionMatrix runId={runId} evaluation={evaluation} onOpen={setOpen} />
        </div>
      </div>
      <div className="card">
        <h3>Wrong, most confident first</h3>
        <WrongSamples evaluation={evaluation} onOpen={setOpen} />
      </div>
      <div className="card">
        <h3>Predictions: pred (true)</h3>
        <PredictionGrid runId={runId} total={evaluation.samples} onOpen={setOpen} />
      </div>
      {open && <SampleModal sample={open} onClose={() => setOpen(null)} />}
    </div>
  )
}

function PerClass({ evaluation }: { evaluation: EvaluationData }) {
  const name = useClassNames()
  return (
    <div className="per-class" data-testid="per-class">
      {evaluation.perClass.map((p) => (
        <div key={p.classId} className="pc-row" title={`${p.count} images`}>
          <span className="pc-name">{name(p.classId)}</span>
          <span className="pc-bar">
            <span style={{ width: `${p.accuracy * 100}%` }} />
          </span>
          <span className="pc-val">{pct(p.accuracy, 0)}</span>
        </div>
      ))}
    </div>
  )
}

function WrongSamples({ evaluation, onOpen }: { evaluation: EvaluationData; onOpen: (s: Sample) => void }) {
  const name = useClassNames()
  const [shown, setShown] = useState(12)
  if (!evaluation.wrong.length) return <p className="muted">No mistakes on this split.</p>
  return (
    <>
      <div className="wrong-list" data-testid="wrong-samples">
        {evaluation.wrong.slice(0, shown).map((w) => (
          <div key={w.imageId} className="wrong-item">
            <SampleThumb sample={w} onOpen={onOpen} testid="wrong-sample" />
            <div className="guesses">
              <div className="small">
                true <b>{name(w.trueClassId)}</b>
              </div>
              <Top3List top3={w.top3} name={name} truth={w.trueClassId} />
            </div>
          </div>
        ))}
      </div>
      {shown < evaluation.wrong.length && (
        <button onClick={() => setShown((n) => n + 24)}>
          Show more ({evaluation.wrong.length - shown} left)
        </button>
      )}
    </>
  )
}
