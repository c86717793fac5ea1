/**
 * Text from the data (file and folder names, class names, image sources, error reasons that quote
 * them) made safe to print to a terminal: every character a terminal acts on instead of showing is
 * replaced by a visible escape, so a file named `bad\x1b[31mred.png` cannot recolour, retitle or
 * rewrite the screen, and `invoice\u202egnp.exe` cannot print itself backwards.
 *
 * Escaped: C0 controls (newline, return and tab included, as \n \r \t: inside a name they are
 * data, not layout), DEL and C1 controls (\x7f, \x9b), bidi embeddings, overrides and isolates
 * (U+202A–U+202E, U+2066–U+2069) and the other invisible direction marks (U+200E, U+200F, U+061C),
 * the Unicode line and paragraph separators (U+2028, U+2029), and lone surrogates. Everything else,
 * backslashes included, passes unchanged.
 */
export function printable(s: string): string {
  let out = ''
  let plainFrom = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++ // a pair: one character, printed as it is
        continue
      }
    } else if (!(
      c < 0x20 ||
      (c >= 0x7f && c <= 0x9f) ||
      isInvisibleFormat(c) ||
      (c >= 0xdc00 && c <= 0xdfff)
    ))
      continue
    out += s.slice(plainFrom, i) + escape(c)
    plainFrom = i + 1
  }
  return plainFrom === 0 ? s : out + s.slice(plainFrom)
}

function isInvisibleFormat(c: number): boolean {
  return (
    (c >= 0x202a && c <= 0x202e) ||
    (c >= 0x2066 && c <= 0x2069) ||
    c === 0x200e ||
    c === 0x200f ||
    c === 0x061c ||
    c === 0x2028 ||
    c === 0x2029
  )
}

function escape(c: number): string {
  if (c === 0x0a) return '\\n'
  if (c === 0x0d) return '\\r'
  if (c === 0x09) return '\\t'
  const hex = c.toString(16)
  return c < 0x100 ? `\\x${hex.padStart(2, '0')}` : `\\u${hex.padStart(4, '0')}`
}
