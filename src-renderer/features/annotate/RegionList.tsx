import { shapeAreaPx } from '../../../src-shared/domain/regions'
import { useEditorShallow } from '../../canvas/useEditor'
import type { Editor } from '../../editor/editor'
import type { Region } from '../../editor/types'
import { EyeIcon, EyeOffIcon, LockIcon, UnlockIcon } from './icons'

const KIND_LABEL: Record<Region['kind'], string> = { box: 'Box', polygon: 'Polygon', mask: 'Mask' }

function formatArea(px: number): string {
  const a = px >= 100 ? Math.round(px).toLocaleString('en') : (Math.round(px * 10) / 10).toLocaleString('en')
  return `${a} px²`
}

function formatShare(px: number, total: number): string {
  const pct = (100 * px) / total
  return `${pct >= 1 ? pct.toFixed(0) : pct.toFixed(1)}% of the image`
}

/**
 * The image's regions, topmost first (as drawn): select, hide, lock, reorder, change class, convert
 * and delete; with each one's kind, class and area.
 */
export function RegionList({ editor }: { editor: Editor }) {
  const { regions, selectedKey, classes, image } = useEditorShallow(editor, (s) => ({
    regions: s.doc.regions,
    selectedKey: s.selectedKey,
    classes: s.classes,
    image: s.image,
  }))
  const total = image.width * image.height
  const byId = new Map(classes.map((c) => [c.id, c]))
  const ordered = [...regions].reverse()
  const selected = regions.find((r) => r.key === selectedKey)

  return (
    <aside className="region-panel">
      <h3>
        Regions <span className="n">{regions.length}</span>
      </h3>
      {!regions.length && <p className="muted small">None yet. Draw with the box, polygon or brush tool.</p>}
      <ul className="region-list" data-testid="region-list">
        {ordered.map((r, i) => {
          const cls = r.classId === null ? undefined : byId.get(r.classId)
          return (
            <li
              key={r.key}
              className={`${r.key === selectedKey ? 'on' : ''}${r.hidden ? ' hidden' : ''}`}
              data-testid="region-row"
              data-kind={r.kind}
              data-class-id={r.classId ?? ''}
              onClick={() => editor.select(r.key)}
            >
              <span className="swatch" style={{ background: cls?.color ?? '#888' }} />
              <span className="what">
                <span className="kind">{KIND_LABEL[r.kind]}</span>
                <span className="area" title={formatShare(shapeAreaPx(r, image), total)}>
                  {formatArea(shapeAreaPx(r, image))}
                </span>
              </span>
              <select
                value={r.classId ?? ''}
                aria-label="Class"
                disabled={r.locked}
                onClick={(e) => e.stopPropagation()}
                onChange={(e) => {
                  editor.reassign(r.key, e.target.value === '' ? null : Number(e.target.value))
                  e.currentTarget.blur()
                }}
              >
                <option value="">(no class)</option>
                {classes.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
              <span className="row-actions" onClick={(e) => e.stopPropagation()}>
                <button
                  title={r.hidden ? 'Show' : 'Hide'}
                  aria-pressed={r.hidden}
                  aria-label={r.hidden ? 'Show' : 'Hide'}
                  onClick={() => editor.toggleHidden(r.key)}
                >
                  {r.hidden ? <EyeOffIcon /> : <EyeIcon />}
                </button>
                <button
                  title={r.locked ? 'Unlock' : 'Lock'}
                  aria-pressed={r.locked}
                  aria-label={r.locked ? 'Unlock' : 'Lock'}
                  onClick={() => editor.toggleLocked(r.key)}
                >
                  {r.locked ? <LockIcon /> : <UnlockIcon />}
                </button>
                <button
                  title="Bring forward"
                  aria-label="Bring forward"
                  disabled={i === 0}
                  onClick={() => editor.moveZ(r.key, 'up')}
                >
                  ↑
                </button>
                <button
                  title="Send backward"
                  aria-label="Send backward"
                  disabled={i === ordered.length - 1}
                  onClick={() => editor.moveZ(r.key, 'down')}
                >
                  ↓
                </button>
                <button
                  title="Delete"
                  aria-label="Delete region"
                  disabled={r.locked}
                  onClick={() => editor.deleteRegion(r.key)}
                >
                  ✕
                </button>
              </span>
            </li>
          )
        })}
      </ul>
      {selected && !selected.locked && selected.kind !== 'box' && (
        <div className="convert">
          {selected.kind === 'polygon' && (
            <button
              onClick={() => editor.polygonToMask(selected.key)}
              title="The pixels whose centres it covers"
            >
              Polygon → mask
            </button>
          )}
          {selected.kind === 'mask' && (
            <button onClick={() => editor.maskToPolygons(selected.key)} title="Its outlines, holes kept">
              Mask → polygons
            </button>
          )}
        </div>
      )}
    </aside>
  )
}
