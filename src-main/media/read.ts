import fs from 'node:fs'
import fsp from 'node:fs/promises'

/**
 * Reading files from folders a user points at, which may hold anything: a FIFO named `pipe.png`
 * (a plain read waits for a writer for ever), a symlink to /dev/zero (a plain read never ends), or
 * a file far larger than any image. Only regular files are read, their size is checked before a
 * byte is read, and a read can be cancelled.
 */

export { DEFAULT_MAX_FILE_MB } from '../../src-shared/api/contract'

/** Why a file was not read: reported against the file, and never worth a second try. */
export class ReadError extends Error {}

/** A read stopped by cancel: not the file's fault, so not reported against it. */
export class ReadCancelled extends ReadError {}

/** What a directory entry or stat is, in words, when it is not a regular file. */
export function specialKind(st: fs.Stats | fs.Dirent): string | null {
  if (st.isFile()) return null
  if (st.isFIFO()) return 'a named pipe (FIFO)'
  if (st.isSocket()) return 'a socket'
  if (st.isCharacterDevice()) return 'a character device'
  if (st.isBlockDevice()) return 'a block device'
  if (st.isDirectory()) return 'a folder'
  return 'not a regular file'
}

/** Why a file or folder could not be read, in words (ENOENT, ELOOP, EACCES ...). */
export function errnoReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException
  switch (err.code) {
    case 'ENOENT':
      return 'file not found (or a broken symlink)'
    case 'ELOOP':
      return 'symlink loop: the link points back to itself'
    case 'EACCES':
    case 'EPERM':
      return 'unreadable: permission denied'
    case 'EISDIR':
      return 'is a folder, not a file'
    default:
      return `unreadable: ${err.message}`
  }
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 0)} MB`

export interface ReadOptions {
  /** Bytes at most; a larger file is refused unread. */
  maxBytes: number
  signal?: AbortSignal
  /** How the limit can be raised, for the message (e.g. `--max-file-mb`). */
  raiseHint?: string
}

/**
 * Reads a whole regular file. The file is opened without blocking (so a FIFO cannot hang it), then
 * checked with fstat on that same descriptor (so a swap after a check cannot fool it), and read in
 * chunks up to its size, stopping at `maxBytes + 1` if it grows meanwhile. Throws ReadError with the
 * reason in words; ENOENT stays recognisable as `code`.
 */
export async function readRegularFile(file: string, opts: ReadOptions): Promise<Buffer> {
  let handle: fsp.FileHandle
  try {
    handle = await fsp.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
  } catch (e) {
    const err = new ReadError(errnoReason(e))
    Object.assign(err, { code: (e as NodeJS.ErrnoException).code })
    throw err
  }
  try {
    const st = await handle.stat()
    const kind = specialKind(st)
    if (kind) throw new ReadError(`skipped: ${kind}, not a regular file`)
    if (st.size > opts.maxBytes) {
      throw new ReadError(
        `skipped: the file is ${mb(st.size)}, over the ${mb(opts.maxBytes)} limit for one file` +
          (opts.raiseHint ? ` (raise it with ${opts.raiseHint})` : ''),
      )
    }
    const chunks: Buffer[] = []
    let total = 0
    const chunk = Math.min(Math.max(st.size, 1 << 16), 1 << 22)
    for (;;) {
      if (opts.signal?.aborted) throw new ReadCancelled('cancelled')
      const buf = Buffer.allocUnsafe(chunk)
      const { bytesRead } = await handle.read(buf, 0, chunk, null)
      if (bytesRead === 0) break
      total += bytesRead
      if (total > opts.maxBytes)
        throw new ReadError(`skipped: the file grew past the ${mb(opts.maxBytes)} limit while being read`)
      chunks.push(bytesRead === chunk ? buf : buf.subarray(0, bytesRead))
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)
  } catch (e) {
    if (e instanceof ReadError) throw e
    throw new ReadError(errnoReason(e))
  } finally {
    await handle.close()
  }
}
