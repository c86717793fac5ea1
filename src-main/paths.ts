import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** The checkout (or app) root: the folder above `out/main` once built. */
export function appRoot(): string {
  let dir = __dirname
  for (let i = 0; i < 5; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'resources')))
      return dir
    dir = path.dirname(dir)
  }
  return path.resolve(__dirname, '..', '..')
}

export const resourcesDir = (): string => path.join(appRoot(), 'resources')
export const rendererDir = (): string => path.join(appRoot(), 'out', 'renderer')

/**
 * Where a demo project is made: the classification demo (opened when no project is given) in
 * SMALLSET_DEMO_DIR or ~/.smallset/demo-project, the detection demo beside it.
 */
export function defaultDemoDir(kind: 'classification' | 'detection' = 'classification'): string {
  const classification = process.env.SMALLSET_DEMO_DIR ?? path.join(os.homedir(), '.smallset', 'demo-project')
  return kind === 'classification'
    ? classification
    : path.join(path.dirname(classification), 'detection-demo')
}
