import type { ProjectSummary } from '../../../src-shared/api/contract'

/** The annotation editor (issue 3). */
export function AnnotateView(_props: {
  project: ProjectSummary
  imageId: number | null
  onChanged: () => Promise<void>
}) {
  return <div className="empty muted">The annotation editor is not built yet.</div>
}
