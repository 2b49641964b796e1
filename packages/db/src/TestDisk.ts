/**
 * Small disks for tests: a tmpfs of a given size, mounted for a test's scope, to run the CLI or the
 * database out of space. Mounting needs root (CI here runs as root); elsewhere `unavailable` says why,
 * and the tests that need a disk are skipped saying so.
 *
 * @since 0.1.0
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix))

const mount = (size: string, dir: string) =>
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "pipe" })

/** Unmounts `dir` (lazily, if something still holds it) and removes it. */
const release = (dir: string) => {
  try {
    execFileSync("umount", [dir], { stdio: "pipe" })
  } catch {
    execFileSync("umount", ["-l", dir])
  }
  fs.rmSync(dir, { recursive: true, force: true })
}

let probed: { readonly reason: string | undefined } | undefined

/**
 * Why this process cannot mount a tmpfs (the first line of the error), or `undefined` when it can.
 * Probed once, on the first call.
 *
 * @since 0.1.0
 */
export const unavailable = (): string | undefined => {
  if (probed === undefined) {
    const probe = tmp("gt-disk-probe-")
    try {
      mount("64k", probe)
      execFileSync("umount", [probe])
      probed = { reason: undefined }
    } catch (e) {
      probed = { reason: String(e).split("\n")[0] }
    } finally {
      fs.rmSync(probe, { recursive: true, force: true })
    }
  }
  return probed.reason
}

/**
 * A tmpfs of `size` (`"256k"`, `"40m"`) for the current scope: its directory.
 *
 * @since 0.1.0
 */
export const tmpfs = (size: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = tmp("gt-disk-")
      mount(size, dir)
      return dir
    }),
    (dir) => Effect.sync(() => release(dir))
  )

/**
 * Gives the tmpfs at `dir` a new size: "the user freed some space".
 *
 * @since 0.1.0
 */
export const resize = (dir: string, size: string) =>
  execFileSync("mount", ["-o", `remount,size=${size}`, dir])

/**
 * Free bytes on the file system that holds `dir`.
 *
 * @since 0.1.0
 */
export const free = (dir: string) => {
  const s = fs.statfsSync(dir)
  return s.bavail * s.bsize
}
