import { useState, type FormEvent } from 'react'
import type { ClassUsage } from '../../../src-shared/api/annotate'
import type { ClassLabel } from '../../../src-shared/domain/types'
import { useEditorShallow } from '../../canvas/useEditor'
import type { Editor } from '../../editor/editor'

export interface ClassActions {
  create(name: string): Promise<void>
  rename(id: number, name: string): Promise<void>
  recolor(id: number, color: string): Promise<void>
  usage(id: number): Promise<ClassUsage>
  merge(from: number, into: number): Promise<void>
  remove(id: number, withAnnotations: boolean): Promise<void>
}

type Dialog =
  | { kind: 'merge'; cls: ClassLabel; into: number | null; usage: ClassUsage }
  | { kind: 'delete'; cls: ClassLabel; usage: ClassUsage }

/**
 * The classes, each with its keyboard number: pick the active class, tag the image, and add, rename,
 * recolour, merge or delete classes. Merging, and deleting a class that annotations use, ask first.
 */
export function ClassPanel({ editor, actions }: { editor: Editor; actions: ClassActions }) {
  const { classes, active, tag } = useEditorShallow(editor, (s) => ({
    classes: s.classes,
    active: s.activeClassId,
    tag: s.doc.tag,
  }))
  const [name, setName] = useState('')
  const [editing, setEditing] = useState<number | null>(null)
  const [draftName, setDraftName] = useState('')
  const [dialog, setDialog] = useState<Dialog | null>(null)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)

  const run = async (f: () => Promise<void>) => {
    setBusy(true)
    setError(null)
    try {
      await f()
      return true
    } catch (e) {
      setError((e as Error).message)
      return false
    } finally {
      setBusy(false)
    }
  }

  const add = (e: FormEvent) => {
    e.preventDefault()
    const n = name.trim()
    if (!n) return
    void run(() => actions.create(n)).then((done) => done && setName(''))
  }

  const commitRename = (c: ClassLabel) => {
    setEditing(null)
    const n = draftName.trim()
    if (n && n !== c.name) void run(() => actions.rename(c.id, n))
  }

  const askDelete = (c: ClassLabel) =>
    void run(async () => {
      const usage = await actions.usage(c.id)
      if (usage.annotations === 0) await actions.remove(c.id, false)
      else setDialog({ kind: 'delete', cls: c, usage })
    })

  const askMerge = (c: ClassLabel) =>
    void run(async () => {
      const usage = await actions.usage(c.id)
      setDialog({ kind: 'merge', cls: c, usage, into: classes.find((k) => k.id !== c.id)?.id ?? null })
    })

  return (
    <aside className="class-panel" data-testid="class-panel">
      <h3>Classes</h3>
      <ul>
        {classes.map((c, i) => (
          <li
            key={c.id}
            className={c.id === active ? 'on' : ''}
            data-testid="class-row"
            data-class-id={c.id}
            onClick={() => editor.setActiveClass(c.id)}
          >
            <span className="num">{i < 9 ? i + 1 : ''}</span>
            <label className="swatch-picker" title="Colour" onClick={(e) => e.stopPropagation()}>
              <span className="swatch" style={{ background: c.color }} />
              <input
                type="color"
                value={c.color}
                aria-label={`Colour of ${c.name}`}
                onChange={(e) => void run(() => actions.recolor(c.id, e.target.value))}
              />
            </label>
            {editing === c.id ? (
              <input
                className="rename"
                autoFocus
                value={draftName}
                aria-label={`New name for ${c.name}`}
                onClick={(e) => e.stopPropagation()}
                onChange={(e) => setDraftName(e.target.value)}
                onBlur={() => commitRename(c)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') commitRename(c)
                  if (e.key === 'Escape') setEditing(null)
                }}
              />
            ) : (
              <span
                className="name"
                title="Double-click to rename"
                onDoubleClick={(e) => {
                  e.stopPropagation()
                  setEditing(c.id)
                  setDraftName(c.name)
                }}
              >
                {c.name}
              </span>
            )}
            <span className="row-actions">
              <button
                className={tag === c.id ? 'tag on' : 'tag'}
                title={
                  tag === c.id
                    ? 'The image has this class: click to remove it'
                    : 'Give the whole image this class'
                }
                aria-pressed={tag === c.id}
                onClick={(e) => {
                  e.stopPropagation()
                  editor.setTag(tag === c.id ? null : c.id)
                }}
              >
                tag
              </button>
              <button
                title="Rename"
                onClick={(e) => {
                  e.stopPropagation()
                  setEditing(c.id)
                  setDraftName(c.name)
                }}
              >
                ✎
              </button>
              <button
                title="Merge into another class"
                disabled={classes.length < 2 || busy}
                onClick={(e) => {
                  e.stopPropagation()
                  askMerge(c)
                }}
              >
                ⇢
              </button>
              <button
                title="Delete"
                aria-label={`Delete ${c.name}`}
                disabled={busy}
                onClick={(e) => {
                  e.stopPropagation()
                  askDelete(c)
                }}
              >
                ✕
              </button>
            </span>
          </li>
        ))}
      </ul>
      {!classes.length && <p className="muted small">No classes yet. Add one to start labelling.</p>}
      <form onSubmit={add} className="add-class">
        <input
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="New class"
          aria-label="New class name"
        />
        <button type="submit" disabled={!name.trim() || busy}>
          Add
        </button>
      </form>
      {error && (
        <p className="error small" role="alert">
          {error}
        </p>
      )}
      {dialog && (
        <div className="modal-backdrop" onClick={() => setDialog(null)}>
          <div
            className="modal"
            role="dialog"
            aria-label={dialog.kind === 'merge' ? 'Merge class' : 'Delete class'}
            onClick={(e) => e.stopPropagation()}
          >
            {dialog.kind === 'merge' ? (
              <>
                <h2>Merge “{dialog.cls.name}”</h2>
                <p>
                  Its {dialog.usage.annotations} annotation(s) on {dialog.usage.images} image(s) move to the
                  class you pick, and “{dialog.cls.name}” is deleted.
                </p>
                <label>
                  Into
                  <select
                    value={dialog.into ?? ''}
                    onChange={(e) => setDialog({ ...dialog, into: Number(e.target.value) })}
                    aria-label="Merge into"
                  >
                    {classes
                      .filter((k) => k.id !== dialog.cls.id)
                      .map((k) => (
                        <option key={k.id} value={k.id}>
                          {k.name}
                        </option>
                      ))}
                  </select>
                </label>
                <div className="row end">
                  <button onClick={() => setDialog(null)}>Cancel</button>
                  <button
                    className="primary"
                    disabled={dialog.into === null || busy}
                    onClick={() =>
                      void run(() => actions.merge(dialog.cls.id, dialog.into!)).then(() => setDialog(null))
                    }
                  >
                    Merge
                  </button>
                </div>
              </>
            ) : (
              <>
                <h2>Delete “{dialog.cls.name}”?</h2>
                <p>
                  {dialog.usage.annotations} annotation(s) on {dialog.usage.images} image(s) use this class.
                  Deleting the class deletes them too. To keep them, merge the class into another instead.
                </p>
                <div className="row end">
                  <button onClick={() => setDialog(null)}>Cancel</button>
                  <button
                    className="danger"
                    disabled={busy}
                    onClick={() =>
                      void run(() => actions.remove(dialog.cls.id, true)).then(() => setDialog(null))
                    }
                  >
                    Delete class and {dialog.usage.annotations} annotation(s)
                  </button>
                </div>
              </>
            )}
          </div>
        </div>
      )}
    </aside>
  )
}
