import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const ROOT = path.resolve(__dirname, '..')

export interface ServedHost {
  /** The launch URL, with the per-launch token. */
  url: string
  /** Stops the host: SIGTERM by default; SIGKILL to test a crash. */
  stop(signal?: NodeJS.Signals): Promise<void>
}

/** Starts `smallset serve` (the built CLI) the way a user would, and reads the URL it prints. */
export async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServedHost> {
  const cli = path.join(ROOT, 'bin', 'smallset.js')
  const child: ChildProcess = spawn(process.execPath, [cli, 'serve', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`smallset serve printed no URL in 30 s:\n${out}`)),
      30_000,
    )
    const onData = (d: Buffer) => {
      out += d.toString()
      const m = /Open (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`smallset serve exited with ${code}:\n${out}`))
    })
  })
  return {
    url,
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill(signal)
      }),
  }
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `smallset-e2e-${prefix}-`))
}
