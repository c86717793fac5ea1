import { useCallback, useEffect, useRef, useState } from 'react'
import type { ProjectSummary } from '../../../src-shared/api/contract'
import type { ClassLabel, ImageMeta } from '../../../src-shared/domain/types'
import { call } from '../../app/api-client'
import { EditorCanvas, type Picture } from '../../canvas/EditorCanvas'
import { useEditor } from '../../canvas/useEditor'
import { SaveQueue, type SaveState } from '../../editor/autosave'
import { hasContent } from '../../editor/doc'
import { Editor } from '../../editor/editor'
import { commandForKey, SHORTCUTS, type Command } from '../../editor/keys'
import { ClassPanel, type ClassActions } from './ClassPanel'
import { Filmstrip } from './Filmstrip'
import { ImageLoader, type LoadedImage } from './images'
import { registerFlusher } from './pending'
import { RegionList } from './RegionList'
import { NavBar, Toolbar } from './Toolbar'
import { PredictionsPanel } from './PredictionsPanel'
import { usePredictions } from './usePredictions'
import { deliverableOnUnload, saveTransport } from './transport'
import './annotate.css'

/** Images either side of the current one in the filmstrip. */
const FILM = 12

interface Neighbors {
  index: number
  total: number
  items: ImageMeta[]
}

function isTyping(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null
  if (!el || !el.tagName) return false
  const tag = el.tagName
  if (tag === 'TEXTAREA' || el.isContentEditable) return true
  if (tag === 'INPUT')
    return !['range', 'color', 'checkbox', 'radio', 'button'].includes((el as HTMLInputElement).type)
  return false
}

/**
 * The annotation editor: tools and canvas for one image at a time, its classes and regions, the
 * filmstrip to move between images, and autosave. The editing itself is the headless Editor
 * (src-renderer/editor); this screen loads images into it, saves what changes, and wires keys.
 */
export function AnnotateView({
  imageId,
  overlayRunId,
  onChanged,
}: {
  project: ProjectSummary
  imageId: number | null
  /** Show this run's predictions over the image from the start (opened from the error gallery). */
  overlayRunId?: number | null
  onChanged: () => Promise<void>
}) {
  const [editor] = useState(
    () => new Editor({ image: { id: 0, width: 1, height: 1 }, viewport: { width: 1, height: 1 } }),
  )
  const [loader] = useState(() => new ImageLoader())
  const queue = useRef<SaveQueue | null>(null)
  /** Queues of images left behind whose last writes have not landed yet (sent too if the page closes). */
  const leaving = useRef(new Set<SaveQueue>())
  const nav = useRef(0)
  const [current, setCurrent] = useState<{ meta: ImageMeta; picture: Picture } | null>(null)
  const [neighbors, setNeighbors] = useState<Neighbors | null>(null)
  const neighborsRef = useRef<Neighbors | null>(null)
  const [saveState, setSaveState] = useState<SaveState>({ kind: 'saved' })
  const [error, setError] = useState<string | null>(null)
  const [empty, setEmpty] = useState(false)
  const [help, setHelp] = useState(false)
  const notice = useEditor(editor, (s) => s.notice)
  const preds = usePredictions(editor, current?.meta.id ?? null, overlayRunId ?? null)

  // Tell the shell (counts in the top bar) about changes, at most every so often.
  const onChangedRef = useRef(onChanged)
  useEffect(() => {
    onChangedRef.current = onChanged
  }, [onChanged])
  const announceTimer = useRef<ReturnType<typeof setTimeout> | null>(null)
  const announce = useCallback(() => {
    if (announceTimer.current) return
    announceTimer.current = setTimeout(() => {
      announceTimer.current = null
      void onChangedRef.current()
    }, 1500)
  }, [])

  const setNb = useCallback((nb: Neighbors | null) => {
    neighborsRef.current = nb
    setNeighbors(nb)
  }, [])

  const reloadClasses = useCallback(async () => {
    const cs: ClassLabel[] = await call('classes.list', {})
    editor.setClasses(cs)
  }, [editor])

  /**
   * Leaves the current image: its queue writes what is left, and the loader reads it afresh next time.
   * Returns the write.
   */
  const leave = useCallback((): Promise<unknown> => {
    editor.cancelTool()
    const q = queue.current
    if (!q) return Promise.resolve()
    queue.current = null
    leaving.current.add(q)
    const write = q.close()
    loader.left(q.imageId, write)
    const done = (ok: boolean) => {
      if (ok) leaving.current.delete(q)
      // A failed write is retried by the queue; look again once it has had its chance.
      else setTimeout(() => void q.flush().then(done), 2000)
    }
    void write.then(done)
    return write
  }, [editor, loader])

  const open = useCallback(
    (id: number, loaded: LoadedImage, picture: Picture) => {
      editor.load({ id, width: loaded.meta.width, height: loaded.meta.height }, loaded.doc)
      const q: SaveQueue = new SaveQueue({
        imageId: id,
        source: editor,
        transport: saveTransport,
        ids: loaded.ids,
        // What the indicator shows is the open image's state, or a failure to write one left behind.
        onState: (st) => {
          if (queue.current === q || st.kind === 'error') setSaveState(st)
        },
        onRejected: (items) =>
          editor.notify(
            `${items.length === 1 ? 'A region was' : `${items.length} regions were`} not saved: ${items[0]!.reason}`,
            'error',
          ),
        onSaved: (r) => {
          const nb = neighborsRef.current
          if (nb?.items.some((m) => m.id === id && m.status !== r.status))
            setNb({ ...nb, items: nb.items.map((m) => (m.id === id ? { ...m, status: r.status } : m)) })
          announce()
        },
      })
      queue.current = q
      setSaveState({ kind: 'saved' })
      setCurrent({ meta: loaded.meta, picture })
      if (loaded.skipped)
        editor.notify(`${loaded.skipped} stored region(s) could not be read, so they are not shown.`, 'warn')
    },
    [editor, announce, setNb],
  )

  const goTo = useCallback(
    async (id: number) => {
      const token = ++nav.current
      leave()
      setError(null)
      try {
        const [loaded, picture] = await Promise.all([loader.doc(id), loader.picture(id)])
        if (token !== nav.current) return
        open(id, loaded, picture)
        const nb = await call('images.neighbors', { id, before: FILM, after: FILM })
        if (token !== nav.current) return
        setNb(nb)
        const i = nb.items.findIndex((m) => m.id === id)
        const around = [nb.items[i + 1]?.id, nb.items[i - 1]?.id, nb.items[i + 2]?.id].filter(
          (x): x is number => x !== undefined,
        )
        loader.prefetch(around)
        loader.trim(new Set([id, ...around]))
      } catch (e) {
        if (token === nav.current) setError((e as Error).message)
      }
    },
    [leave, loader, open, setNb],
  )

  /** Next or previous image, from the filmstrip's list (asking the store at its ends). */
  const step = useCallback(
    async (dir: 1 | -1) => {
      const cur = editor.state.image.id
      let nb = neighborsRef.current
      let i = nb ? nb.items.findIndex((m) => m.id === cur) : -1
      if (i < 0 || !nb!.items[i + dir]) {
        nb = await call('images.neighbors', { id: cur, before: 1, after: 1 })
        i = nb.items.findIndex((m) => m.id === cur)
      }
      const target = nb!.items[i + dir]
      if (target) await goTo(target.id)
      else editor.notify(dir > 0 ? 'This is the last image.' : 'This is the first image.', 'info')
    },
    [editor, goTo],
  )

  const nextUnlabeled = useCallback(async () => {
    const cur = editor.state.image.id
    // The current image's status must be in the store before asking.
    await queue.current?.flush()
    const { id } = await call('images.nextUnlabeled', { after: cur })
    if (id === null || id === cur) editor.notify('Every other image is labeled.', 'info')
    else await goTo(id)
  }, [editor, goTo])

  const predRunId = preds.runId
  const nextUnreviewed = useCallback(async () => {
    if (predRunId === null)
      return editor.notify('Pick a detection run in the Predictions panel first.', 'info')
    const cur = editor.state.image.id
    await queue.current?.flush()
    const r = await call('images.nextUnreviewed', { runId: predRunId, after: cur })
    if (r.id === null || r.id === cur)
      editor.notify(
        r.prelabelled
          ? 'Every other image this run pre-labelled is reviewed.'
          : 'This run has pre-labelled no images yet: use "Pre-label unlabeled images".',
        'info',
      )
    else await goTo(r.id)
  }, [editor, goTo, predRunId])

  // The first image: the one asked for, else the first unlabeled, else the first.
  useEffect(() => {
    let cancelled = false
    void (async () => {
      try {
        await reloadClasses()
        let id = imageId
        if (id === null) id = (await call('images.nextUnlabeled', { after: null })).id
        if (id === null) id = (await call('images.list', { offset: 0, limit: 1 })).items[0]?.id ?? null
        if (cancelled) return
        if (id === null) setEmpty(true)
        else await goTo(id)
      } catch (e) {
        if (!cancelled) setError((e as Error).message)
      }
    })()
    return () => {
      cancelled = true
    }
  }, [imageId, goTo, reloadClasses])

  // Leaving the screen writes what is left.
  useEffect(
    () => () => {
      nav.current++
      if (announceTimer.current) clearTimeout(announceTimer.current)
      void leave().finally(() => onChangedRef.current())
    },
    [leave],
  )

  // Closing the project: the shell asks for every edit to be written first.
  useEffect(
    () =>
      registerFlusher(() =>
        Promise.all([...leaving.current, ...(queue.current ? [queue.current] : [])].map((q) => q.flush())),
      ),
    [],
  )

  // Leaving the page: send what is pending in a request that outlives the page.
  useEffect(() => {
    const all = () => [...leaving.current, ...(queue.current ? [queue.current] : [])]
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      let risky = false
      for (const q of all()) {
        const bytes = q.flushOnUnload()
        if (bytes && !deliverableOnUnload(bytes)) risky = true
      }
      // Too much to be sure of: ask the person to stay while it is written.
      if (risky) e.preventDefault()
    }
    const onPageHide = () => all().forEach((q) => q.flushOnUnload())
    const onHidden = () => {
      if (document.visibilityState === 'hidden') void queue.current?.flush()
    }
    window.addEventListener('beforeunload', onBeforeUnload)
    window.addEventListener('pagehide', onPageHide)
    document.addEventListener('visibilitychange', onHidden)
    return () => {
      window.removeEventListener('beforeunload', onBeforeUnload)
      window.removeEventListener('pagehide', onPageHide)
      document.removeEventListener('visibilitychange', onHidden)
    }
  }, [])

  const run = useCallback(
    (cmd: Command) => {
      const sel = editor.selected
      switch (cmd.type) {
        case 'undo':
          return editor.undo()
        case 'redo':
          return editor.redo()
        case 'tool':
          return editor.setTool(cmd.tool)
        case 'class':
          return editor.pickClassNumber(cmd.n)
        case 'delete':
          return editor.deleteSelected()
        case 'enter':
        case 'backspace':
        case 'escape':
          return void editor.key(cmd.type)
        case 'brush':
          return editor.stepBrush(cmd.dir)
        case 'fit':
          return editor.fit()
        case 'oneToOne':
          return editor.oneToOne()
        case 'zoom':
          return editor.zoomBy(cmd.dir > 0 ? 1.25 : 0.8)
        case 'next':
          return void step(1)
        case 'prev':
          return void step(-1)
        case 'nextUnlabeled':
          return void nextUnlabeled()
        case 'toggleReviewed': {
          const doc = editor.doc
          return editor.setStatus(
            doc.status === 'reviewed' ? (hasContent(doc) ? 'labeled' : 'unlabeled') : 'reviewed',
          )
        }
        case 'toggleHidden':
          return sel && editor.toggleHidden(sel.key)
        case 'toggleLocked':
          return sel && editor.toggleLocked(sel.key)
        case 'overlay':
          return preds.toggle()
        case 'accept':
          return preds.accept()
        case 'acceptAll':
          return preds.acceptAll()
        case 'reject':
          return preds.reject()
        case 'nextPrediction':
          return preds.highlightNext()
        case 'nextUnreviewed':
          return void nextUnreviewed()
      }
    },
    [editor, step, nextUnlabeled, nextUnreviewed, preds],
  )

  useEffect(() => {
    const onKeyDown = (e: KeyboardEvent) => {
      if (isTyping(e.target)) return
      if (e.key === ' ') {
        e.preventDefault()
        editor.setSpaceHeld(true)
        return
      }
      const cmd = commandForKey({
        key: e.key,
        ctrl: e.ctrlKey,
        meta: e.metaKey,
        shift: e.shiftKey,
        alt: e.altKey,
      })
      if (!cmd) return
      // A focused select or button keeps its own keys.
      const t = e.target as HTMLElement | null
      if (t?.tagName === 'SELECT' && cmd.type !== 'undo' && cmd.type !== 'redo') return
      e.preventDefault()
      run(cmd)
    }
    const onKeyUp = (e: KeyboardEvent) => {
      if (e.key === ' ') editor.setSpaceHeld(false)
    }
    const onBlur = () => editor.setSpaceHeld(false)
    window.addEventListener('keydown', onKeyDown)
    window.addEventListener('keyup', onKeyUp)
    window.addEventListener('blur', onBlur)
    return () => {
      window.removeEventListener('keydown', onKeyDown)
      window.removeEventListener('keyup', onKeyUp)
      window.removeEventListener('blur', onBlur)
    }
  }, [editor, run])

  // Notices fade after a while.
  useEffect(() => {
    if (!notice) return
    const t = setTimeout(() => editor.dismissNotice(), notice.level === 'error' ? 12_000 : 5000)
    return () => clearTimeout(t)
  }, [notice, editor])

  /** After a merge or delete rewrote annotations: classes and the open image come fresh from the store. */
  const afterClassRewrite = useCallback(async () => {
    await reloadClasses()
    loader.forgetDocs()
    const id = editor.state.image.id
    if (id) await goTo(id)
    editor.notify('Classes changed: the image was reloaded, and its undo history starts afresh.', 'info')
    announce()
  }, [reloadClasses, loader, editor, goTo, announce])

  const recolorTimer = useRef<ReturnType<typeof setTimeout> | null>(null)
  const actions: ClassActions = {
    create: async (name) => {
      const c = await call('classes.create', { name })
      await reloadClasses()
      editor.setActiveClass(c.id)
      announce()
    },
    rename: async (id, name) => {
      await call('classes.rename', { id, name })
      await reloadClasses()
      announce()
    },
    recolor: async (id, color) => {
      // The picker fires as it moves: show at once, write when it rests.
      editor.setClasses(editor.state.classes.map((c) => (c.id === id ? { ...c, color } : c)))
      if (recolorTimer.current) clearTimeout(recolorTimer.current)
      recolorTimer.current = setTimeout(() => {
        void call('classes.recolor', { id, color }).then(announce, (e: Error) => setError(e.message))
      }, 300)
    },
    usage: (id) => call('classes.usage', { id }),
    merge: async (from, into) => {
      await queue.current?.flush()
      await call('classes.merge', { from, into })
      await afterClassRewrite()
    },
    remove: async (id, withAnnotations) => {
      await queue.current?.flush()
      await call('classes.delete', { id, deleteAnnotations: withAnnotations })
      if (withAnnotations) await afterClassRewrite()
      else await reloadClasses()
    },
  }

  if (empty)
    return (
      <div className="empty muted">This project has no images yet: import some, then label them here.</div>
    )

  const curId = current?.meta.id ?? null
  return (
    <div
      className="annotate"
      data-testid="annotate-view"
      data-image-id={curId ?? ''}
      // Buttons take no focus from a click, so Space and Enter keep going to the editor. (A form's submit
      // button does, so that clicking "Add" leaves the text field and the shortcuts work again.)
      onMouseDown={(e) => {
        if ((e.target as HTMLElement).closest('button:not([type=submit])')) e.preventDefault()
      }}
    >
      <Toolbar editor={editor} saveState={saveState} onHelp={() => setHelp((h) => !h)} />
      {error && (
        <div className="banner error" role="alert">
          {error} <button onClick={() => setError(null)}>Dismiss</button>
        </div>
      )}
      <div className="annotate-body">
        <ClassPanel editor={editor} actions={actions} />
        <div className="annotate-stage">
          {current ? (
            <EditorCanvas
              editor={editor}
              imageId={current.meta.id}
              picture={current.picture}
              predictions={preds.overlay}
            />
          ) : (
            <div className="empty muted">Loading…</div>
          )}
          {current && (
            <div className="image-caption muted" title={current.meta.source}>
              {current.meta.source.split(/[\\/]/).pop()} · {current.meta.width}×{current.meta.height}
            </div>
          )}
          {notice && (
            <div className={`notice ${notice.level}`} role="status" data-testid="notice" key={notice.seq}>
              {notice.text}
              <button aria-label="Dismiss" onClick={() => editor.dismissNotice()}>
                ✕
              </button>
            </div>
          )}
          {help && (
            <div className="shortcuts" role="dialog" aria-label="Keyboard shortcuts">
              <h3>Keyboard</h3>
              <table>
                <tbody>
                  {SHORTCUTS.map(([k, v]) => (
                    <tr key={k}>
                      <th>{k}</th>
                      <td>{v}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <button onClick={() => setHelp(false)}>Close</button>
            </div>
          )}
        </div>
        <div className="side-stack">
          <PredictionsPanel
            editor={editor}
            imageId={curId}
            p={preds}
            onNextUnreviewed={() => void nextUnreviewed()}
          />
          <RegionList editor={editor} />
        </div>
      </div>
      {/* Always laid out at its full height, so the canvas does not move when the filmstrip arrives. */}
      <div className="annotate-bottom">
        <NavBar
          editor={editor}
          position={neighbors && curId !== null ? { index: neighbors.index, total: neighbors.total } : null}
          onPrev={() => void step(-1)}
          onNext={() => void step(1)}
          onNextUnlabeled={() => void nextUnlabeled()}
        />
        <Filmstrip
          items={neighbors?.items ?? []}
          currentId={curId}
          firstIndex={neighbors ? neighbors.index - neighbors.items.findIndex((m) => m.id === curId) : 0}
          onOpen={(id) => void goTo(id)}
        />
      </div>
    </div>
  )
}
