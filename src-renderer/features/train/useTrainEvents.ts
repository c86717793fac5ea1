import { useEffect, useMemo, useState } from 'react'
import type { Detection, EpochMetrics, RunDetail } from '../../../src-shared/api/train'
import { api, call } from '../../app/api-client'
import { useTrain, type Top3 } from './store'

/** Feeds the training events into the store while the lab is open. */
export function useTrainEvents(): void {
  useEffect(() => {
    const s = useTrain.getState()
    const offs = [
      api.on('train.started', s.onStarted),
      api.on('train.batch', s.onBatch),
      api.on('train.epoch', s.onEpoch),
      api.on('train.finished', s.onFinished),
    ]
    return () => offs.forEach((off) => off())
  }, [])
}

export interface RunView {
  detail: RunDetail | null
  error: string | null
  /** The stored history with the epochs that arrived live since. */
  history: EpochMetrics[]
  /** Per pinned image, per epoch, the top-3 (epoch 0: the untrained model). */
  pinned: { imageId: number; trueClassId: number | null; epochs: Map<number, Top3> }[]
  /** Per pinned image, per epoch, the detections (detection and segmentation runs). */
  pinnedDetections: PinnedDetections[]
}

export interface PinnedDetections {
  imageId: number
  epochs: Map<number, Detection[]>
}

/** One run as the store has it (`runs.get`), kept current by its live events. */
export function useRunView(runId: number | null): RunView {
  const version = useTrain((s) => (runId === null ? 0 : (s.versions[runId] ?? 0)))
  const live = useTrain((s) => (runId === null ? undefined : s.live[runId]))
  const [loaded, setLoaded] = useState<{ key: string; detail: RunDetail | null; error: string | null }>({
    key: '',
    detail: null,
    error: null,
  })
  // Reload once the first epoch is in too: the untrained model's epoch 0 is stored, not sent.
  const key = `${runId}:${version}:${(live?.epochs.length ?? 0) > 0}`

  useEffect(() => {
    if (runId === null) return
    let stale = false
    call('runs.get', { runId }).then(
      (detail) => !stale && setLoaded({ key, detail, error: null }),
      (e: Error) => !stale && setLoaded({ key, detail: null, error: e.message }),
    )
    return () => {
      stale = true
    }
  }, [runId, key])

  // Keep showing the previous load of the same run while a newer one is on its way.
  const current = loaded.detail?.summary.id === runId ? loaded : null
  const detail = current?.detail ?? null

  const history = useMemo(() => {
    const byEpoch = new Map<number, EpochMetrics>()
    for (const h of detail?.history ?? []) byEpoch.set(h.epoch, h)
    for (const h of live?.epochs ?? []) byEpoch.set(h.epoch, h)
    return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch)
  }, [detail, live?.epochs])

  const pinned = useMemo(() => {
    const byImage = new Map<number, Map<number, Top3>>()
    const ids = detail?.config?.pinnedImageIds ?? []
    for (const id of ids) byImage.set(id, new Map())
    for (const p of detail?.pinned ?? []) {
      const m = byImage.get(p.imageId) ?? new Map<number, Top3>()
      for (const e of p.epochs) m.set(e.epoch, e.top3)
      byImage.set(p.imageId, m)
    }
    for (const e of live?.pinned ?? []) {
      for (const item of e.items) {
        const m = byImage.get(item.imageId) ?? new Map<number, Top3>()
        m.set(e.epoch, item.top3)
        byImage.set(item.imageId, m)
      }
    }
    const truthOf = new Map((detail?.pinned ?? []).map((p) => [p.imageId, p.trueClassId]))
    return [...byImage.entries()].map(([imageId, epochs]) => ({
      imageId,
      trueClassId: truthOf.get(imageId) ?? null,
      epochs,
    }))
  }, [detail, live?.pinned])

  const pinnedDetections = useMemo(() => {
    const byImage = new Map<number, Map<number, Detection[]>>()
    const of = (id: number) => {
      let m = byImage.get(id)
      if (!m) byImage.set(id, (m = new Map()))
      return m
    }
    for (const id of detail?.config?.pinnedImageIds ?? []) of(id)
    for (const p of detail?.pinnedDetections ?? [])
      for (const e of p.epochs) of(p.imageId).set(e.epoch, e.detections)
    for (const e of live?.pinnedDetections ?? [])
      for (const item of e.items) of(item.imageId).set(e.epoch, item.detections)
    return [...byImage.entries()].map(([imageId, epochs]) => ({ imageId, epochs }))
  }, [detail, live?.pinnedDetections])

  return {
    detail,
    error: runId !== null && loaded.key === key ? loaded.error : null,
    history,
    pinned,
    pinnedDetections,
  }
}
