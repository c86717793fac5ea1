import { useCallback, useEffect, useMemo, useState } from 'react'
import type { Detection, RunSummary } from '../../../src-shared/api/train'
import { rleFromString, type Rle } from '../../../src-shared/domain/rle'
import { call } from '../../app/api-client'
import type { PredictionOverlay } from '../../canvas/EditorCanvas'
import { useEditor } from '../../canvas/useEditor'
import type { Editor } from '../../editor/editor'
import {
  nextPrediction,
  predictionShape,
  shownPredictions,
  type ShownPrediction,
} from '../../editor/predictions'

export interface Predictions {
  /** Finished detection runs, newest first: what the overlay can show. */
  runs: RunSummary[]
  runId: number | null
  setRunId(id: number | null): void
  visible: boolean
  toggle(): void
  threshold: number
  setThreshold(t: number): void
  /** The image's predictions by the chosen run, and where they came from. */
  loaded: { imageId: number; runId: number; detections: Detection[]; from: 'test' | 'prelabel' | null } | null
  shown: ShownPrediction[]
  highlighted: number | null
  setHighlighted(i: number | null): void
  /** What the canvas draws (null when there is nothing to show; hidden by its `visible`). */
  overlay: PredictionOverlay | null
  accept(index?: number): void
  acceptAll(): void
  reject(index?: number): void
  highlightNext(): void
  /** Asks for the image's predictions again (after pre-labelling it). */
  reload(): void
}

/**
 * A run's predictions over the open image: which run, the threshold, what was rejected on each
 * image (this session only), and accepting predictions as labels through the editor (so each
 * accept is an undo step and autosave writes it with its model origin).
 */
export function usePredictions(
  editor: Editor,
  imageId: number | null,
  initialRunId: number | null,
): Predictions {
  const [runs, setRuns] = useState<RunSummary[]>([])
  const [runId, setRunId] = useState<number | null>(initialRunId)
  const [visible, setVisible] = useState(initialRunId !== null)
  const [threshold, setThreshold] = useState(0.5)
  const [loaded, setLoaded] = useState<Predictions['loaded']>(null)
  const [generation, setGeneration] = useState(0)
  const [rejected, setRejected] = useState<Map<string, Set<number>>>(new Map())
  const [highlighted, setHighlighted] = useState<number | null>(null)
  const regions = useEditor(editor, (s) => s.doc.regions)
  const classes = useEditor(editor, (s) => s.classes)

  useEffect(() => {
    let stale = false
    call('runs.list', {}).then(
      (all) => {
        if (stale) return
        const done = all.filter((r) => r.task !== 'classify' && r.status === 'done').reverse()
        setRuns(done)
        setRunId((cur) => cur ?? done[0]?.id ?? null)
      },
      () => undefined,
    )
    return () => {
      stale = true
    }
  }, [])

  useEffect(() => {
    if (imageId === null || runId === null) return
    let stale = false
    call('runs.imagePredictions', { runId, imageId }).then(
      (r) => !stale && setLoaded({ imageId, runId, ...r }),
      () => !stale && setLoaded({ imageId, runId, detections: [], from: null }),
    )
    return () => {
      stale = true
    }
  }, [imageId, runId, generation])

  const current = loaded && loaded.imageId === imageId && loaded.runId === runId ? loaded : null
  const rejectKey = `${runId}:${imageId}`
  const shown = useMemo(
    () =>
      current
        ? shownPredictions(
            current.detections,
            threshold,
            rejected.get(rejectKey) ?? new Set(),
            regions,
            runId,
          )
        : [],
    [current, threshold, rejected, rejectKey, regions, runId],
  )
  // Decoded once per prediction list: the mask canvases are cached by these objects.
  const masks = useMemo(() => {
    const m = new Map<number, Rle>()
    current?.detections.forEach((d, i) => {
      if (d.mask) m.set(i, rleFromString(d.mask.counts, d.mask.size[0], d.mask.size[1]))
    })
    return m
  }, [current])

  const pick = useCallback(
    (index?: number) => shown.find((s) => s.index === (index ?? highlighted)) ?? shown[0] ?? null,
    [shown, highlighted],
  )
  const accept = useCallback(
    (index?: number) => {
      const p = pick(index)
      if (!p || runId === null) return editor.notify('No prediction to accept here.', 'info')
      editor.acceptPredictions(
        [{ shape: predictionShape(p.detection), classId: p.detection.classId, score: p.detection.score }],
        runId,
      )
      setHighlighted(null)
    },
    [pick, runId, editor],
  )
  const acceptAll = useCallback(() => {
    if (!shown.length || runId === null) return editor.notify('No prediction above the threshold.', 'info')
    const added = editor.acceptPredictions(
      shown.map((p) => ({
        shape: predictionShape(p.detection),
        classId: p.detection.classId,
        score: p.detection.score,
      })),
      runId,
    )
    editor.notify(`Accepted ${added.length} prediction(s) as labels (one undo step).`, 'info')
    setHighlighted(null)
  }, [shown, runId, editor])
  const reject = useCallback(
    (index?: number) => {
      const p = pick(index)
      if (!p) return
      setRejected((m) => new Map(m).set(rejectKey, new Set([...(m.get(rejectKey) ?? []), p.index])))
      setHighlighted(null)
    },
    [pick, rejectKey],
  )

  const reload = useCallback(() => setGeneration((g) => g + 1), [])
  const overlay = useMemo<PredictionOverlay | null>(
    () => (shown.length ? { items: shown, masks, highlighted, classes, visible } : null),
    [shown, masks, highlighted, classes, visible],
  )
  return {
    runs,
    runId,
    setRunId: (id) => {
      setRunId(id)
      setHighlighted(null)
    },
    visible,
    toggle: () => setVisible((v) => !v),
    threshold,
    setThreshold,
    loaded: current,
    shown,
    highlighted,
    setHighlighted,
    overlay,
    accept,
    acceptAll,
    reject,
    highlightNext: () => setHighlighted((h) => nextPrediction(shown, h)),
    reload,
  }
}
