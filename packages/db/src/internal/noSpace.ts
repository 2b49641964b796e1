/** A full disk, as the embedded database meets it and as its messages name it. */
import * as fs from "node:fs"
import * as path from "node:path"

export const NO_SPACE = "no space left on device (ENOSPC)"

/** Emscripten's errno for ENOSPC: NODEFS reports a full disk to PGlite as `ErrnoError { errno: 51 }`. */
const EMSCRIPTEN_ENOSPC = 51

/** A full disk, however it was reported: by Node, by PGlite's file system, or by PostgreSQL's message. */
export const isNoSpace = (cause: unknown): boolean => {
  if (typeof cause === "string") return /no space left on device/i.test(cause)
  if (typeof cause !== "object" || cause === null) return false
  const e = cause as { readonly code?: unknown; readonly errno?: unknown; readonly name?: unknown }
  return (
    e.code === "ENOSPC" ||
    (e.name === "ErrnoError" && e.errno === EMSCRIPTEN_ENOSPC) ||
    (cause instanceof Error && isNoSpace(cause.message))
  )
}

/** "12.3 MB free" on the file system that holds (or will hold) `dir`, for messages. */
export const free = (dir: string): string => {
  let existing = dir
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing)
  try {
    const s = fs.statfsSync(existing)
    return `${((s.bavail * s.bsize) / 1e6).toFixed(1)} MB free`
  } catch {
    return "free space unknown"
  }
}
