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

const why = electronBlocker()
if (why === null) {
  const electron = require('electron')
  const child = spawn(electron, ['.', ...args], { cwd: root, stdio: 'inherit' })
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
