import fs from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, smallset, tempDir } from './cli'

beforeAll(() => assertBuilt())

describe('the CLI prints names from the data escaped', () => {
  it('a file named with an escape sequence reaches the terminal as \\x1b, not as ESC', async () => {
    const work = tempDir('escape')
    const src = path.join(work, 'in')
    fs.mkdirSync(src)
    // Not a PNG: the import reports it as failed, by name.
    fs.writeFileSync(path.join(src, 'bad\x1b[31mred.png'), 'not a png')
    fs.writeFileSync(path.join(src, 'rtl\u202egnp.png'), 'not a png either')
    const dir = path.join(work, 'project')
    await smallset('init', dir)

    const { stdout } = await smallset('import', dir, src)
    expect(stdout).toContain('failed: ')
    expect(stdout).not.toContain('\x1b')
    expect(stdout).not.toContain('\u202e')
    expect(stdout).toContain('bad\\x1b[31mred.png')
    expect(stdout).toContain('rtl\\u202egnp.png')
    // The CLI's own line breaks stay.
    expect(stdout.split('\n').filter((l) => l.startsWith('  failed: '))).toHaveLength(2)

    // --json stays JSON: the name round-trips exactly.
    const json = await smallset('import', dir, src, '--json')
    const report = JSON.parse(json.stdout) as { failed: { path: string }[] }
    expect(report.failed.map((f) => path.basename(f.path)).sort()).toEqual(
      ['bad\x1b[31mred.png', 'rtl\u202egnp.png'].sort(),
    )
  })

  it('class names from folder names are escaped in import and info', async () => {
    const work = tempDir('escape-classes')
    const tree = path.join(work, 'tree')
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==',
      'base64',
    )
    fs.mkdirSync(path.join(tree, 'evil\x1b]0;title\x07'), { recursive: true })
    fs.writeFileSync(path.join(tree, 'evil\x1b]0;title\x07', 'a.png'), png)
    const dir = path.join(work, 'project')
    await smallset('init', dir)
    const imported = await smallset('import', dir, tree)
    expect(imported.stdout).toContain('New classes: evil\\x1b]0;title\\x07')
    const info = await smallset('info', dir)
    expect(info.stdout).toContain('evil\\x1b]0;title\\x07: 1')
    for (const out of [imported.stdout, info.stdout]) {
      expect(out).not.toContain('\x1b')
      expect(out).not.toContain('\x07')
    }
  })
})
