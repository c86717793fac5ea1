import type { EpochMetrics } from '../../../src-shared/api/train'
import { Curves, DetectionCurves } from './Curves'
import { DetectionEvaluation } from './DetectionEvaluation'
import { DetectionFlipbook } from './DetectionFlipbook'
import { Evaluation } from './Evaluation'
import { PinnedFlipbook } from './PinnedFlipbook'
import { BackendLine, RunStatus } from './RunStatus'
import { useTrain } from './store'
import { useRunView } from './useTrainEvents'

/** The smoothed batch loss each stored epoch carries (for runs not watched live), as [epoch position, loss]. */
function storedBatchLoss(history: readonly EpochMetrics[]): [number, number][] {
  return history.flatMap((h) =>
    (h.batchLoss ?? []).map((v, i, a): [number, number] => [h.epoch - 1 + (i + 1) / a.length, v]),
  )
}

/** The selected run: status and controls, live curves, the pinned flipbook, then its evaluation. */
export function RunView() {
  const selectedId = useTrain((s) => s.selectedId)
  const summary = useTrain((s) => s.runs.find((r) => r.id === s.selectedId) ?? null)
  const setTab = useTrain((s) => s.setTab)
  const batchLoss = useTrain((s) => (s.selectedId === null ? undefined : s.live[s.selectedId]?.batchLoss))
  const imported = summary?.model === 'imported'
  // An imported model has no training history; `runs.get` cannot describe it (see ModelIO).
  const view = useRunView(imported ? null : selectedId)

  const config = view.detail?.config ?? null
  const detection = summary ? summary.task !== 'classify' : false
  const points = batchLoss?.length ? batchLoss : storedBatchLoss(view.history)

  if (!summary) {
    return (
      <div className="card" data-testid="no-run">
        <h3>No run selected</h3>
        <p className="muted">Set up a recipe on the left and start training, or pick a run on the right.</p>
        <BackendLine runId={null} />
      </div>
    )
  }
  return (
    <div className="run-view">
      <RunStatus summary={summary} detail={view.detail} />
      {view.error && (
        <p className="error" role="alert">
          {view.error}
        </p>
      )}
      {imported && (
        <div className="card" data-testid="imported-run">
          <h3>Imported model</h3>
          <p className="muted">
            This run holds a model imported from files: it has no curves or test evaluation here. Predict new
            images with it, or export it again, on the Model files tab.
          </p>
          <button className="link" onClick={() => setTab('models')}>
            Open Model files
          </button>
        </div>
      )}
      {!imported && (
        <div className="card">
          <h3>Curves</h3>
          {detection ? (
            <DetectionCurves history={view.history} batchLoss={points} epochs={summary.epochs} />
          ) : (
            <Curves history={view.history} batchLoss={points} epochs={summary.epochs} />
          )}
        </div>
      )}
      {!imported && (config?.pinnedImageIds?.length ?? 0) > 0 && (
        <div className="card">
          <h3>Pinned images, epoch by epoch</h3>
          {config && config.task !== 'classify' ? (
            <DetectionFlipbook
              pinned={view.pinnedDetections}
              defaultThreshold={config.displayThreshold ?? 0.5}
            />
          ) : (
            <PinnedFlipbook pinned={view.pinned} />
          )}
        </div>
      )}
      {view.detail?.evaluation && <Evaluation runId={summary.id} evaluation={view.detail.evaluation} />}
      {view.detail?.detection && (
        <DetectionEvaluation runId={summary.id} evaluation={view.detail.detection} />
      )}
    </div>
  )
}
