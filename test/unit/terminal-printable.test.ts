import { describe, expect, it } from 'vitest'
import { printable } from '../../src-shared/domain/terminal'

describe('printable', () => {
  it('leaves ordinary text alone, accents, CJK, emoji and backslashes included', () => {
    for (const s of ['', 'cat.png', 'Ünïcødé/éte.jpg', '猫の写真.png', 'dog 🐕.png', 'C:\\photos\\a b.png'])
      expect(printable(s)).toBe(s)
  })

  it('escapes ESC and the rest of C0, newline, return and tab included', () => {
    expect(printable('bad\x1b[31mred.png')).toBe('bad\\x1b[31mred.png')
    expect(printable('a\nb\rc\td')).toBe('a\\nb\\rc\\td')
    expect(printable('\x00\x07\x08\x1f')).toBe('\\x00\\x07\\x08\\x1f')
    expect(printable('\x1b]0;owned\x07')).toBe('\\x1b]0;owned\\x07')
  })

  it('escapes DEL and C1 controls (CSI as one byte)', () => {
    expect(printable('a\x7fb')).toBe('a\\x7fb')
    expect(printable('\x80\x9b31m\x9f')).toBe('\\x80\\x9b31m\\x9f')
    // Just past C1: printable Latin-1.
    expect(printable('\xa0\xe9')).toBe('\xa0\xe9')
  })

  it('escapes bidi embeddings, overrides and isolates', () => {
    expect(printable('invoice\u202egnp.exe')).toBe('invoice\\u202egnp.exe')
    for (let c = 0x202a; c <= 0x202e; c++)
      expect(printable(String.fromCharCode(c))).toBe(`\\u${c.toString(16)}`)
    for (let c = 0x2066; c <= 0x2069; c++)
      expect(printable(String.fromCharCode(c))).toBe(`\\u${c.toString(16)}`)
  })

  it('escapes lone surrogates but keeps pairs', () => {
    expect(printable('a\ud800b')).toBe('a\\ud800b')
    expect(printable('a\udfffb')).toBe('a\\udfffb')
    expect(printable('\ude00\ud83d')).toBe('\\ude00\\ud83d')
    expect(printable('\ud83d\ude00')).toBe('\ud83d\ude00')
  })

  it('leaves nothing a terminal acts on', () => {
    let all = ''
    for (let c = 0; c < 0x3000; c++) all += String.fromCharCode(c)
    // eslint-disable-next-line no-control-regex
    expect(printable(all)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/)
  })
})
