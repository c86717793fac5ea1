#!/usr/bin/env node
// `npm start`: build, then open Smallset on the demo project (or the project given after --).
// In the Electron window where Electron can run; otherwise through the web host, saying why.
import { spawnSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)
const args = process.argv.slice(2)

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', ...opts })
  return r.status === 0
}

if (
  !run(process.execPath, [
    path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'),
    'build',
  ])
) {
  console.error('smallset: the build failed; see above.')
  process.exit(1)
}

/** Why the Electron window cannot open here, or null when it can. */
function electronBlocker() {
  if (process.env.SMALLSET_WEB === '1') return 'SMALLSET_WEB=1 asks for the web host'
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return 'there is no display (DISPLAY and WAYLAND_DISPLAY are unset)'
  }
  let binary
  try {
    binary = require('electron')
  } catch {
    return 'the electron package is not installed'
  }
  if (typeof binary === 'string' && fs.existsSync(binary)) return null
  // npm skipped Electron's postinstall (see package.json allowScripts): fetch the binary now.
  console.log('smallset: the Electron binary is missing; trying to download it once…')
  const ok = run(process.execPath, [path.join(root, 'node_modules', 'electron', 'install.js')], {
    stdio: 'inherit',
    timeout: 120_000,
  })
  if (!ok) return 'the Electron binary is missing and could not be downloaded'
  return null
}

/**
 * better-sqlite3 built for Electron's ABI, kept apart from node_modules' Node build (which the CLI
 * and tests use): a copy of the package, compiled once per Electron version with node-gyp against
 * Electron's headers. Returns the .node file, or null (with the reason printed) when it cannot.
 */
function electronSqliteBinding() {
  const version = require('electron/package.json').version
  const dir = path.join(root, 'out', 'native', `better-sqlite3-electron-${version}`)
  const binding = path.join(dir, 'build', 'Release', 'better_sqlite3.node')
  if (fs.existsSync(binding)) return binding
  console.log(`smallset: building better-sqlite3 for Electron ${version} (once)…`)
  fs.rmSync(dir, { recursive: true, force: true })
  fs.cpSync(path.dirname(require.resolve('better-sqlite3/package.json')), dir, { recursive: true })
  fs.rmSync(path.join(dir, 'build'), { recursive: true, force: true })
  const gyp = process.env.npm_config_node_gyp ?? require.resolve('node-gyp/bin/node-gyp.js')
  const ok = run(
    process.execPath,
    [
      gyp,
      'rebuild',
      '--release',
      `--target=${version}`,
      '--dist-url=https://electronjs.org/headers',
      '--runtime=electron',
    ],
    { cwd: dir, env: { ...process.env, npm_config_nodedir: '' } },
  )
  return ok && fs.existsSync(binding) ? binding : null
}

let why = electronBlocker()
let binding = null
if (why === null) {
  binding = electronSqliteBinding()
  if (!binding) why = 'better-sqlite3 could not be built for Electron (see above)'
}
if (why === null) {
  const electron = require('electron')
  const child = spawn(electron, ['.', ...args], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, SMALLSET_SQLITE_BINDING: binding },
  })
  child.on('exit', (code) => process.exit(code ?? 0))
} else {
  console.log(`smallset: opening in your browser instead of an Electron window, because ${why}.`)
  const child = spawn(process.execPath, [path.join(root, 'bin', 'smallset.js'), 'serve', ...args], {
    cwd: root,
    stdio: 'inherit',
  })
  const stop = () => child.kill('SIGTERM')
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  child.on('exit', (code) => process.exit(code ?? 0))
}
