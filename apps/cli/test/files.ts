/** What the tests of files look at: a folder's whole contents, and a process id no process has. */
import * as fs from "node:fs"
import * as path from "node:path"

/**
 * Everything under `dir`, without following a link: each name's type, a link's text, a file's bytes and
 * permission bits. Equal before and after a command: it wrote nothing, not even a temporary file.
 */
export const tree = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const walk = (at: string) => {
    for (const name of fs.readdirSync(at).sort()) {
      const file = path.join(at, name)
      const s = fs.lstatSync(file)
      const key = path.relative(dir, file)
      if (s.isSymbolicLink()) out[key] = `link ${fs.readlinkSync(file)}`
      else if (s.isDirectory()) {
        out[key] = "folder"
        walk(file)
      } else if (s.isFile()) out[key] = `file ${(s.mode & 0o777).toString(8)} ${fs.readFileSync(file, "hex")}`
      else out[key] = `${s.isFIFO() ? "fifo" : s.isSocket() ? "socket" : "device"} ${s.rdev}`
    }
  }
  walk(dir)
  return out
}

/** No process has this id (Linux gives out ids below `pid_max`): what a killed run's files are named by. */
export const dead = Number(fs.readFileSync("/proc/sys/kernel/pid_max", "utf8"))
