/** Small formatting helpers for the training lab. */

export const pct = (x: number | null | undefined, digits = 1): string =>
  x === null || x === undefined || Number.isNaN(x) ? '—' : `${(x * 100).toFixed(digits)}%`

export const num = (x: number | null | undefined, digits = 4): string =>
  x === null || x === undefined || Number.isNaN(x) ? '—' : Number(x.toPrecision(digits)).toString()

export function duration(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—'
  if (s < 1) return '<1 s'
  if (s < 60) return `${Math.round(s)} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`
}

/** Parses a typed number; NaN when it is not one (the config check then says which field). */
export function parseNum(text: string): number {
  const t = text.trim()
  return t === '' ? NaN : Number(t)
}

/** Parses "0.1, 0.01 1e-3" into numbers; null when any part is not a number. */
export function parseList(text: string): number[] | null {
  const parts = text
    .split(/[\s,;]+/)
    .map((p) => p.trim())
    .filter(Boolean)
  const nums = parts.map(Number)
  return nums.some((n) => !Number.isFinite(n)) ? null : nums
}
