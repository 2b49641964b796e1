/**
 * `pnpm serve` as an operator runs it: SIGTERM to pnpm stops the server too (pnpm exits without passing
 * the signal on; the server notices its parent is gone and shuts down as if signalled).
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "@effect/vitest"

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")

/** pnpm as this test run was started by, else the one on the PATH. */
const pnpm = (args: ReadonlyArray<string>): [string, Array<string>] => {
  const execPath = process.env.npm_execpath
  return execPath !== undefined && /pnpm/.test(execPath)
    ? [process.execPath, [execPath, ...args]]
    : ["pnpm", [...args]]
}

/** The pids of running processes whose environment holds `marker`. */
const marked = (marker: string): Array<number> =>
  fs
    .readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return fs.readFileSync(`/proc/${d}/environ`, "latin1").includes(marker)
      } catch {
        return false
      }
    })
    .map(Number)

const answers = (base: string) =>
  fetch(`${base}/healthz`).then(
    () => true,
    () => false
  )

it("SIGTERM to pnpm serve stops the server it started", { timeout: 180_000 }, async () => {
  const marker = `GT_LAUNCH_TEST=${process.pid}-${Date.now()}`
  const [command, args] = pnpm(["serve"])
  const { DATABASE_URL: _, ...env } = process.env
  const child = spawn(command, args, {
    cwd: root,
    env: {
      ...env,
      GROUND_TRUTH_DATA_DIR: "memory://",
      PORT: "0",
      HOST: "127.0.0.1",
      [marker.split("=")[0]]: marker.split("=")[1]
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const base = await new Promise<string>((resolve, reject) => {
    const read = (b: Buffer) => {
      output += b.toString("utf8")
      const address = /"address":"(http:\/\/[^"]+)"/.exec(output)
      if (address) resolve(address[1])
    }
    child.stdout.on("data", read)
    child.stderr.on("data", read)
    child.once("exit", (code) => reject(new Error(`pnpm serve exited with ${code}: ${output}`)))
  })
  expect(await answers(base)).toBe(true)
  const processes = marked(marker)
  // pnpm, the shell it runs the script in, and node running the server.
  expect(processes.length).toBeGreaterThanOrEqual(2)

  child.kill("SIGTERM")
  const started = Date.now()
  while (Date.now() - started < 60_000 && (marked(marker).length > 0 || (await answers(base))))
    await new Promise((resolve) => setTimeout(resolve, 200))
  const left = marked(marker)
  for (const pid of left) process.kill(pid, "SIGKILL")
  console.log(
    `pnpm serve: ${processes.length} processes; all gone ${Date.now() - started} ms after SIGTERM to pnpm`
  )
  expect(left).toEqual([])
  expect(await answers(base)).toBe(false)
})
