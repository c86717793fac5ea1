/**
 * Edits the annotate screen has not written yet, for whoever is about to close the project: the shell
 * calls flushAnnotationEdits() before `project.close`, so the last edits land first.
 */
const flushers = new Set<() => Promise<unknown>>()

export function registerFlusher(f: () => Promise<unknown>): () => void {
  flushers.add(f)
  return () => flushers.delete(f)
}

/** Writes every annotation edit not yet in the store (resolves when they landed or failed). */
export async function flushAnnotationEdits(): Promise<void> {
  await Promise.all([...flushers].map((f) => f().catch(() => undefined)))
}
