import { create } from 'zustand'
import type { EventPayload } from '../../../src-shared/api/contract'
import type {
  BackendInfo,
  ClassifyConfig,
  Detection,
  EpochMetrics,
  RunSummary,
  Task,
  TrainConfig,
} from '../../../src-shared/api/train'
import type { ClassLabel } from '../../../src-shared/domain/types'
import { call } from '../../app/api-client'

export type Top3 = { classId: number; score: number }[]
export type TrainBatch = EventPayload<'train.batch'>

/** What the events of one run have told us since the lab opened (the store holds the rest). */
export interface LiveRun {
  backend?: BackendInfo
  /** The latest batch report while the run trains; cleared when it ends. */
  batch?: TrainBatch
  epochs: EpochMetrics[]
  /** The smoothed per-batch loss: [fractional epoch, loss]. Only live; the store does not keep it. */
  batchLoss: [number, number][]
  /** Per epoch, the pinned images' top-3. */
  pinned: { epoch: number; items: { imageId: number; top3: Top3 }[] }[]
  /** Per epoch, the pinned images' detections (detection and segmentation runs). */
  pinnedDetections: { epoch: number; items: { imageId: number; detections: Detection[] }[] }[]
}

const emptyLive = (): LiveRun => ({ epochs: [], batchLoss: [], pinned: [], pinnedDetections: [] })

/** What `train.tasks` says of each task for this project. */
export type TaskOption = { task: Task; available: boolean; reason: string }

export type MainTab = 'run' | 'compare' | 'models'

interface TrainState {
  projectDir: string | null
  classes: ClassLabel[]
  /** The engine a run will most likely get (`train.backend`), before any run says which it got. */
  expectedBackend: BackendInfo | null
  runs: RunSummary[]
  selectedId: number | null
  /** Select each run as it starts (a sweep's next run, a resumed run). */
  follow: boolean
  compareIds: number[]
  tab: MainTab
  live: Record<number, LiveRun>
  /** Bumped when a run starts or ends: views of it reload `runs.get`. */
  versions: Record<number, number>
  /** The tasks this project's labels can train (null until asked). */
  tasks: TaskOption[] | null
  /** The config being edited, and a counter that resets the form's text fields when it is replaced. */
  config: TrainConfig | null
  configGeneration: number
  /** Why the loaded recipe is what it is (`train.defaults` notes: `auto` explains each choice). */
  recipeNotes: string[]
  /** Image ids whose true class we know (picked from the grid): for the flipbook. */
  truth: Record<number, number | null>
  error: string | null
  /** Opens an image in the editor with a run's predictions shown (set by the shell). */
  openImage: ((imageId: number, runId: number) => void) | null

  reset(projectDir: string): void
  /** `replace`: a new recipe (resets the form), with `notes` saying why it is what it is. */
  setConfig(c: TrainConfig, replace?: boolean, notes?: string[]): void
  select(runId: number | null, follow?: boolean): void
  toggleCompare(runId: number): void
  setTab(tab: MainTab): void
  setError(e: string | null): void
  rememberTruth(items: { id: number; classId: number | null }[]): void
  refreshRuns(): Promise<void>
  onStarted(p: EventPayload<'train.started'>): void
  onBatch(p: EventPayload<'train.batch'>): void
  onEpoch(p: EventPayload<'train.epoch'>): void
  onFinished(p: EventPayload<'train.finished'>): void
}

const patchLive = (s: TrainState, runId: number, f: (l: LiveRun) => LiveRun) => ({
  live: { ...s.live, [runId]: f(s.live[runId] ?? emptyLive()) },
})

export const useTrain = create<TrainState>()((set, get) => ({
  projectDir: null,
  classes: [],
  expectedBackend: null,
  runs: [],
  selectedId: null,
  follow: true,
  compareIds: [],
  tab: 'run',
  live: {},
  versions: {},
  tasks: null,
  config: null,
  configGeneration: 0,
  recipeNotes: [],
  truth: {},
  error: null,
  openImage: null,

  reset: (projectDir) =>
    set({
      projectDir,
      classes: [],
      expectedBackend: null,
      runs: [],
      selectedId: null,
      follow: true,
      compareIds: [],
      tab: 'run',
      live: {},
      versions: {},
      tasks: null,
      config: null,
      configGeneration: get().configGeneration + 1,
      recipeNotes: [],
      truth: {},
      error: null,
    }),
  setConfig: (config, replace = false, notes) =>
    set((s) => ({
      config,
      configGeneration: replace ? s.configGeneration + 1 : s.configGeneration,
      // A replaced config brings its own reasons, or none (a run's config reused).
      recipeNotes: replace ? (notes ?? []) : s.recipeNotes,
    })),
  select: (selectedId, follow) => set((s) => ({ selectedId, follow: follow ?? s.follow, tab: 'run' })),
  toggleCompare: (runId) =>
    set((s) => ({
      compareIds: s.compareIds.includes(runId)
        ? s.compareIds.filter((id) => id !== runId)
        : [...s.compareIds, runId],
    })),
  setTab: (tab) => set({ tab }),
  setError: (error) => set({ error }),
  rememberTruth: (items) =>
    set((s) => ({ truth: { ...s.truth, ...Object.fromEntries(items.map((i) => [i.id, i.classId])) } })),
  refreshRuns: async () => {
    try {
      const runs = await call('runs.list', {})
      set((s) => ({
        runs,
        compareIds: s.compareIds.filter((id) => runs.some((r) => r.id === id)),
        selectedId: s.selectedId !== null && !runs.some((r) => r.id === s.selectedId) ? null : s.selectedId,
      }))
    } catch (e) {
      set({ error: (e as Error).message })
    }
  },

  onStarted: ({ runId, backend }) => {
    set((s) => ({
      ...patchLive(s, runId, (l) => {
        // A resumed run redoes the epoch it was cancelled in: drop that epoch's batch points.
        const done = l.epochs.reduce((m, e) => Math.max(m, e.epoch), 0)
        return { ...l, backend, batch: undefined, batchLoss: l.batchLoss.filter(([x]) => x <= done) }
      }),
      versions: { ...s.versions, [runId]: (s.versions[runId] ?? 0) + 1 },
      selectedId: s.follow || s.selectedId === null ? runId : s.selectedId,
    }))
    void get().refreshRuns()
  },
  onBatch: (p) =>
    set((s) =>
      patchLive(s, p.runId, (l) => {
        const x = p.epoch - 1 + p.batch / p.batches
        const kept = l.batchLoss.length && l.batchLoss[l.batchLoss.length - 1]![0] >= x
        const batchLoss = kept ? l.batchLoss.filter(([bx]) => bx < x) : l.batchLoss
        return { ...l, batch: p, batchLoss: [...batchLoss, [x, p.smoothLoss]] }
      }),
    ),
  onEpoch: ({ runId, metrics, pinned }) => {
    set((s) =>
      patchLive(s, runId, (l) => ({
        ...l,
        epochs: [...l.epochs.filter((e) => e.epoch !== metrics.epoch), metrics].sort(
          (a, b) => a.epoch - b.epoch,
        ),
        pinned: [
          ...l.pinned.filter((p) => p.epoch !== metrics.epoch),
          {
            epoch: metrics.epoch,
            items: pinned.flatMap((p) => (p.top3 ? [{ imageId: p.imageId, top3: p.top3 }] : [])),
          },
        ],
        pinnedDetections: [
          ...l.pinnedDetections.filter((p) => p.epoch !== metrics.epoch),
          {
            epoch: metrics.epoch,
            items: pinned.flatMap((p) =>
              p.detections ? [{ imageId: p.imageId, detections: p.detections }] : [],
            ),
          },
        ],
      })),
    )
    void get().refreshRuns()
  },
  onFinished: ({ runId }) => {
    set((s) => ({
      ...patchLive(s, runId, (l) => ({ ...l, batch: undefined })),
      versions: { ...s.versions, [runId]: (s.versions[runId] ?? 0) + 1 },
    }))
    void get().refreshRuns()
  },
}))

/** Class names by id. */
export function useClassNames(): (id: number | null | undefined) => string {
  const classes = useTrain((s) => s.classes)
  return (id) => {
    if (id === null || id === undefined) return '—'
    return classes.find((c) => c.id === id)?.name ?? `class ${id}`
  }
}

/** The classification lab edits classification recipes; the server answers with the task's union. */
export function asClassify(c: TrainConfig): ClassifyConfig {
  if (c.task !== 'classify') throw new Error(`expected a classification recipe, got a ${c.task} one`)
  return c
}
