/**
 * The headless annotation editor: one image's document, the tools, selection, undo history and the
 * view. It knows nothing of React, Konva or the API: the canvas sends it pointer events in screen
 * pixels, tests send it the same, and whoever saves listens to its document changes.
 *
 *   const ed = new Editor({ image: { id: 1, width: 100, height: 80 }, classes })
 *   ed.setTool('box'); ed.pointerDown(10, 10); ed.pointerMove(50, 40); ed.pointerUp(50, 40)
 *   ed.doc.regions  // one box, { x: 0.1, y: 0.125, w: 0.4, h: 0.375 }
 *   ed.undo()
 */
import { createStore, type StoreApi } from 'zustand/vanilla'
import { clamp, type Size, type Vec } from '../../src-shared/domain/geometry'
import { clampShape, shapeProblem, type RegionShape } from '../../src-shared/domain/regions'
import { polygonToRle, rleArea, rleToPolygons } from '../../src-shared/domain/rle'
import type { ClassLabel, ImageStatus } from '../../src-shared/domain/types'
import { applyPatch, impliedStatus, isEmptyPatch, nextZ, regionsPatch } from './doc'
import { History } from './history'
import { BoxTool } from './tools/box'
import { BrushTool } from './tools/brush'
import { PolygonTool } from './tools/polygon'
import { SelectTool } from './tools/select'
import { TagTool } from './tools/tag'
import type { Tool } from './tools/tool'
import type { Doc, Draft, Notice, Patch, PointerOpts, Region, ToolName } from './types'
import {
  fitView,
  IDENTITY_VIEW,
  oneToOneView,
  panBy,
  scaleLimits,
  screenToImage,
  zoomAt,
  type View,
} from './viewport'

export interface EditorImage {
  id: number
  width: number
  height: number
}

export interface EditorState {
  image: EditorImage
  doc: Doc
  /** Sorted as the class panel shows them: number key n picks classes[n - 1]. */
  classes: ClassLabel[]
  tool: ToolName
  /** The active tool's state machine state ('idle', 'drawing', 'moving'...). */
  toolState: string
  activeClassId: number | null
  selectedKey: string | null
  draft: Draft | null
  /** Brush and eraser diameter in image pixels. */
  brushSize: number
  view: View
  viewport: Size
  /** Where the pointer is over the image (image pixels), while the brush or eraser is active. */
  pointer: Vec | null
  panning: boolean
  spaceHeld: boolean
  notice: Notice | null
  canUndo: boolean
  canRedo: boolean
}

export type DocListener = (patch: Patch, doc: Doc) => void

export const emptyDoc = (): Doc => ({ regions: [], tag: null, status: 'unlabeled' })

let keySeq = 0
/** A key no other region has: the editor's name for a region, kept for as long as the image is open. */
export function newRegionKey(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto
  return c?.randomUUID
    ? c.randomUUID()
    : `k${Date.now().toString(36)}-${(keySeq++).toString(36)}-${Math.random().toString(36).slice(2)}`
}

export function defaultBrushSize(size: Size): number {
  return clamp(Math.round(Math.min(size.width, size.height) / 40), 1, 200)
}

export class Editor {
  readonly store: StoreApi<EditorState>
  private readonly history = new History()
  private readonly tools: Record<ToolName, Tool> = {
    select: new SelectTool(),
    tag: new TagTool(),
    box: new BoxTool(),
    polygon: new PolygonTool(),
    brush: new BrushTool('brush'),
    eraser: new BrushTool('eraser'),
  }
  private readonly docListeners = new Set<DocListener>()
  private pan: { sx: number; sy: number; view: View } | null = null
  private noticeSeq = 0
  /** The view is "fit" until the user zooms or pans; a fitted view refits when the canvas resizes. */
  private fitted = true

  constructor(opts: { image: EditorImage; doc?: Doc; classes?: ClassLabel[]; viewport?: Size }) {
    const classes = sortClasses(opts.classes ?? [])
    const viewport = opts.viewport ?? { width: opts.image.width, height: opts.image.height }
    this.store = createStore<EditorState>(() => ({
      image: opts.image,
      doc: opts.doc ?? emptyDoc(),
      classes,
      tool: 'select',
      toolState: 'idle',
      activeClassId: classes[0]?.id ?? null,
      selectedKey: null,
      draft: null,
      brushSize: defaultBrushSize(opts.image),
      // Headless (no viewport given): one screen pixel per image pixel, so tests speak in image pixels.
      view: opts.viewport ? fitView(opts.image, viewport) : IDENTITY_VIEW,
      viewport,
      pointer: null,
      panning: false,
      spaceHeld: false,
      notice: null,
      canUndo: false,
      canRedo: false,
    }))
  }

  // ------------------------------------------------------------ reading

  get state(): EditorState {
    return this.store.getState()
  }
  get doc(): Doc {
    return this.state.doc
  }
  get size(): Size {
    return this.state.image
  }
  get selected(): Region | undefined {
    const k = this.state.selectedKey
    return k === null ? undefined : this.doc.regions.find((r) => r.key === k)
  }
  get tool(): Tool {
    return this.tools[this.state.tool]
  }
  /** True while a drag is under way: its changes are not a finished step yet. */
  get inGesture(): boolean {
    return this.history.inGesture
  }
  get undoDepth(): number {
    return this.history.depth
  }

  /** Called with every change to the document: edits, undo and redo. Returns an unsubscribe. */
  onDocChange(l: DocListener): () => void {
    this.docListeners.add(l)
    return () => this.docListeners.delete(l)
  }

  // ------------------------------------------------------------ images and classes

  /** Opens another image: a fresh history, nothing selected, the view fitted. */
  load(image: EditorImage, doc: Doc): void {
    this.tool.cancel(this)
    this.history.clear()
    this.pan = null
    this.fitted = true
    const sameSize = image.width === this.size.width && image.height === this.size.height
    this.store.setState({
      image,
      doc,
      selectedKey: null,
      draft: null,
      notice: null,
      canUndo: false,
      canRedo: false,
      panning: false,
      toolState: this.tool.state,
      view: fitView(image, this.state.viewport),
      brushSize: sameSize ? this.state.brushSize : defaultBrushSize(image),
    })
  }

  setClasses(classes: ClassLabel[]): void {
    const sorted = sortClasses(classes)
    const active = this.state.activeClassId
    this.store.setState({
      classes: sorted,
      activeClassId: sorted.some((c) => c.id === active) ? active : (sorted[0]?.id ?? null),
    })
  }

  /** The canvas's size changed. A view the user has not zoomed or panned (or `refit`) fits the image again. */
  setViewport(width: number, height: number, refit = false): void {
    const viewport = { width, height }
    if (refit) this.fitted = true
    const view = this.fitted ? fitView(this.size, viewport) : this.state.view
    this.store.setState({ viewport, view })
  }

  // ------------------------------------------------------------ pointer input (screen pixels)

  private toImage(sx: number, sy: number): Vec {
    return screenToImage(this.state.view, sx, sy)
  }

  private wantsPan(opts: PointerOpts): boolean {
    return opts.button === 1 || this.state.spaceHeld
  }

  pointerDown(sx: number, sy: number, opts: PointerOpts = {}): void {
    if (this.wantsPan(opts)) {
      this.fitted = false
      this.pan = { sx, sy, view: this.state.view }
      this.store.setState({ panning: true })
      return
    }
    this.tool.down(this, { p: this.toImage(sx, sy), opts })
    this.syncToolState()
  }

  pointerMove(sx: number, sy: number, opts: PointerOpts = {}): void {
    if (this.pan) {
      this.store.setState({ view: panBy(this.pan.view, sx - this.pan.sx, sy - this.pan.sy) })
      return
    }
    const p = this.toImage(sx, sy)
    if (this.state.tool === 'brush' || this.state.tool === 'eraser') this.store.setState({ pointer: p })
    this.tool.move(this, { p, opts })
    this.syncToolState()
  }

  pointerUp(sx: number, sy: number, opts: PointerOpts = {}): void {
    if (this.pan) {
      this.pointerMove(sx, sy, opts)
      this.pan = null
      this.store.setState({ panning: false })
      return
    }
    this.tool.up(this, { p: this.toImage(sx, sy), opts })
    this.syncToolState()
  }

  pointerLeave(): void {
    if (this.state.pointer) this.store.setState({ pointer: null })
  }

  /** Wheel: zoom around the pointer. */
  wheel(sx: number, sy: number, deltaY: number): void {
    const factor = Math.exp(-clamp(deltaY, -300, 300) * 0.002)
    this.fitted = false
    this.store.setState({
      view: zoomAt(this.state.view, sx, sy, factor, scaleLimits(this.size, this.state.viewport)),
    })
  }

  setSpaceHeld(held: boolean): void {
    if (held !== this.state.spaceHeld) this.store.setState({ spaceHeld: held })
  }

  fit(): void {
    this.fitted = true
    this.store.setState({ view: fitView(this.size, this.state.viewport) })
  }

  oneToOne(): void {
    this.fitted = false
    this.store.setState({ view: oneToOneView(this.state.view, this.state.viewport) })
  }

  zoomBy(factor: number): void {
    this.fitted = false
    const { width, height } = this.state.viewport
    this.store.setState({
      view: zoomAt(
        this.state.view,
        width / 2,
        height / 2,
        factor,
        scaleLimits(this.size, this.state.viewport),
      ),
    })
  }

  // ------------------------------------------------------------ commands

  setTool(tool: ToolName): void {
    if (tool === this.state.tool) return
    this.tool.cancel(this)
    this.store.setState({ tool, pointer: null })
    this.syncToolState()
  }

  setActiveClass(id: number | null): void {
    this.store.setState({ activeClassId: id })
  }

  /**
   * Number key n: class n becomes the active class; a selected region is given it; with the tag tool,
   * so is the image.
   */
  pickClassNumber(n: number): void {
    const c = this.state.classes[n - 1]
    if (!c) return this.notify(`There is no class ${n}.`, 'warn')
    this.setActiveClass(c.id)
    const sel = this.selected
    if (sel) this.reassign(sel.key, c.id)
    else if (this.state.tool === 'tag') this.setTag(c.id)
  }

  reassign(key: string, classId: number | null): void {
    const r = this.doc.regions.find((x) => x.key === key)
    if (!r || r.classId === classId) return
    if (r.locked) return this.notify('This region is locked: unlock it to change its class.', 'warn')
    this.commit(regionsPatch(this.doc, [{ ...r, classId }]))
  }

  setTag(classId: number | null): void {
    if (this.doc.tag === classId) return
    this.commit({ regions: {}, tag: { before: this.doc.tag, after: classId } })
  }

  /** Sets the status by hand (reviewed, or back); it is not inferred over. */
  setStatus(status: ImageStatus): void {
    if (this.doc.status === status) return
    this.commit({ regions: {}, status: { before: this.doc.status, after: status } }, false)
  }

  deleteSelected(): void {
    const sel = this.selected
    if (!sel) return
    this.deleteRegion(sel.key)
  }

  deleteRegion(key: string): void {
    const r = this.doc.regions.find((x) => x.key === key)
    if (!r) return
    if (r.locked) return this.notify('This region is locked: unlock it to delete it.', 'warn')
    this.removeRegions([key])
  }

  toggleHidden(key: string): void {
    const r = this.doc.regions.find((x) => x.key === key)
    if (r) this.commit(regionsPatch(this.doc, [{ ...r, hidden: !r.hidden }]))
  }

  toggleLocked(key: string): void {
    const r = this.doc.regions.find((x) => x.key === key)
    if (r) this.commit(regionsPatch(this.doc, [{ ...r, locked: !r.locked }]))
  }

  /** Moves a region up or down the drawing order (one place, or to the top or bottom). */
  moveZ(key: string, to: 'up' | 'down' | 'top' | 'bottom'): void {
    const order = this.doc.regions.slice()
    const i = order.findIndex((r) => r.key === key)
    if (i < 0) return
    const j = to === 'up' ? i + 1 : to === 'down' ? i - 1 : to === 'top' ? order.length - 1 : 0
    if (j < 0 || j >= order.length || j === i) return
    const [r] = order.splice(i, 1)
    order.splice(j, 0, r!)
    this.commit(
      regionsPatch(
        this.doc,
        order.map((x, z) => (x.z === z ? x : { ...x, z })),
      ),
    )
  }

  /** Polygon → mask: the pixels whose centres the polygon covers. One undo step. */
  polygonToMask(key: string): void {
    const r = this.doc.regions.find((x) => x.key === key)
    if (!r || r.kind !== 'polygon') return
    if (r.locked) return this.notify('This region is locked: unlock it to convert it.', 'warn')
    const rle = polygonToRle(r.geometry, this.size.height, this.size.width)
    if (!rleArea(rle))
      return this.notify('This polygon covers no pixel centre, so it makes an empty mask.', 'warn')
    const mask: Region = { ...r, kind: 'mask', geometry: { rle }, key: newRegionKey() }
    this.commit(regionsPatch(this.doc, [mask], [r.key]))
    this.select(mask.key)
  }

  /**
   * Mask → polygons: one polygon per island, holes kept, traced along pixel edges so the polygons give
   * back exactly this mask. One undo step.
   */
  maskToPolygons(key: string): void {
    const r = this.doc.regions.find((x) => x.key === key)
    if (!r || r.kind !== 'mask') return
    if (r.locked) return this.notify('This region is locked: unlock it to convert it.', 'warn')
    const polys = rleToPolygons(r.geometry.rle)
    const made: Region[] = polys.map((geometry) => ({ ...r, kind: 'polygon', geometry, key: newRegionKey() }))
    this.commit(regionsPatch(this.doc, made, [r.key]))
    this.select(made[0]?.key ?? null)
    if (made.length > 1)
      this.notify(`The mask had ${made.length} separate parts: made ${made.length} polygons.`, 'info')
  }

  undo(): void {
    if (this.history.inGesture) return
    if (this.tool.undoStep?.(this)) return this.syncToolState()
    const p = this.history.undo()
    if (p) this.setDoc(applyPatch(this.doc, p), p)
  }

  redo(): void {
    if (this.history.inGesture) return
    const p = this.history.redo()
    if (p) this.setDoc(applyPatch(this.doc, p), p)
  }

  /** Enter, Backspace, Escape: the tool's first; otherwise Backspace deletes and Escape deselects. */
  key(key: 'enter' | 'backspace' | 'escape'): boolean {
    const used = this.tool.key?.(this, key) ?? false
    this.syncToolState()
    if (used) return true
    if (key === 'backspace' && this.selected) {
      this.deleteSelected()
      return true
    }
    if (key === 'escape' && this.state.selectedKey) {
      this.select(null)
      return true
    }
    return false
  }

  setBrushSize(size: number): void {
    this.store.setState({ brushSize: clamp(Math.round(size), 1, 500) })
  }

  /** [ and ]: a quarter smaller or bigger, by at least one pixel. */
  stepBrush(dir: 1 | -1): void {
    const s = this.state.brushSize
    this.setBrushSize(dir > 0 ? Math.max(s + 1, s * 1.25) : Math.min(s - 1, s / 1.25))
  }

  /** Drops what the tool has under way. */
  cancelTool(): void {
    this.tool.cancel(this)
    this.syncToolState()
  }

  // ------------------------------------------------------------ the tool API

  select(key: string | null): void {
    if (key !== this.state.selectedKey) this.store.setState({ selectedKey: key })
  }

  setDraft(draft: Draft | null): void {
    this.store.setState({ draft })
  }

  notify(text: string, level: Notice['level'] = 'info'): void {
    this.store.setState({ notice: { text, level, seq: ++this.noticeSeq } })
  }

  dismissNotice(): void {
    this.store.setState({ notice: null })
  }

  /** Screen pixels → image pixels at the current zoom (for hit tolerances). */
  tolerance(screenPx: number): number {
    return screenPx / this.state.view.scale
  }

  clampPx(p: Vec): Vec {
    return [clamp(p[0], 0, this.size.width), clamp(p[1], 0, this.size.height)]
  }

  toNorm(p: Vec): Vec {
    return [p[0] / this.size.width, p[1] / this.size.height]
  }

  beginGesture(): void {
    this.history.begin()
  }

  endGesture(): void {
    this.history.end()
    this.store.setState({ canUndo: this.history.canUndo, canRedo: this.history.canRedo })
    // Listeners (the autosave) hold back while a gesture is open; tell them it is done.
    this.setDoc(this.doc, { regions: {} })
  }

  /** Puts the document back as it was when the gesture began, leaving no step. */
  abandonGesture(): void {
    const back = this.history.abandon()
    if (back) this.setDoc(applyPatch(this.doc, back), back)
  }

  /**
   * Adds a region with the active class, on top, and selects it. The shape is clamped into the image;
   * a degenerate one is not added, and the notice says why. Returns the region, or null.
   */
  addRegion(shape: RegionShape): Region | null {
    const clamped = clampShape(shape)
    const problem = shapeProblem(clamped, this.size)
    if (problem) {
      this.notify(problem, 'warn')
      return null
    }
    const r = {
      ...clamped,
      key: newRegionKey(),
      classId: this.state.activeClassId,
      z: nextZ(this.doc),
      hidden: false,
      locked: false,
      origin: 'user',
    } as Region
    this.commit(regionsPatch(this.doc, [r]))
    this.select(r.key)
    return r
  }

  /**
   * Accepts a model's predictions as labels: each becomes an ordinary region of its class, on top,
   * recording that it came from the model and from which run. One call is one undo step (accepting
   * one prediction, or all above a threshold at once). Degenerate shapes are skipped. Returns the
   * regions added.
   */
  acceptPredictions(
    preds: readonly { shape: RegionShape; classId: number | null; score: number }[],
    runId: number,
  ): Region[] {
    let z = nextZ(this.doc)
    const added: Region[] = []
    for (const p of preds) {
      const shape = clampShape(p.shape)
      if (shapeProblem(shape, this.size)) continue
      added.push({
        ...shape,
        key: newRegionKey(),
        classId: p.classId !== null && this.state.classes.some((c) => c.id === p.classId) ? p.classId : null,
        z: z++,
        hidden: false,
        locked: false,
        origin: 'model',
        source: { runId, score: p.score },
      } as Region)
    }
    if (!added.length) return []
    this.commit(regionsPatch(this.doc, added))
    if (added.length === 1) this.select(added[0]!.key)
    return added
  }

  replaceRegion(r: Region): void {
    this.commit(regionsPatch(this.doc, [r]))
  }

  removeRegions(keys: readonly string[]): void {
    this.commit(regionsPatch(this.doc, [], keys))
  }

  /**
   * Applies a patch and records it: inside a gesture it squashes into the gesture's step, otherwise it
   * is a step of its own. The image's status follows (unlabeled ⇄ labeled) in the same step.
   */
  commit(p: Patch, inferStatus = true): void {
    if (isEmptyPatch(p)) return
    let doc = applyPatch(this.doc, p)
    if (inferStatus) {
      const status = impliedStatus(doc)
      if (status !== doc.status) {
        p = { ...p, status: { before: p.status?.before ?? this.doc.status, after: status } }
        doc = { ...doc, status }
      }
    }
    this.history.record(p)
    this.setDoc(doc, p)
  }

  private setDoc(doc: Doc, p: Patch): void {
    const sel = this.state.selectedKey
    this.store.setState({
      doc,
      canUndo: this.history.canUndo,
      canRedo: this.history.canRedo,
      selectedKey: sel !== null && !doc.regions.some((r) => r.key === sel) ? null : sel,
    })
    for (const l of this.docListeners) l(p, doc)
  }

  private syncToolState(): void {
    const s = this.tool.state
    if (s !== this.state.toolState) this.store.setState({ toolState: s })
  }
}

export function sortClasses(classes: readonly ClassLabel[]): ClassLabel[] {
  return [...classes].sort((a, b) => a.position - b.position || a.id - b.id)
}
