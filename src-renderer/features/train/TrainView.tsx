import type { ProjectSummary } from '../../../src-shared/api/contract'

/** The training lab (issue 4). */
export function TrainView(_props: { project: ProjectSummary; onChanged: () => Promise<void> }) {
  return <div className="empty muted">The training lab is not built yet.</div>
}
