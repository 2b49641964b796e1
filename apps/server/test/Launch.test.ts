/**
 * `pnpm serve` as an operator runs it: SIGTERM to pnpm stops the server too (pnpm exits without passing
 * the signal on; the server notices its parent is gone and shuts down as if signalled); and a start that
 * its configuration stops says so in one JSON line.
 */
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { serverBin } from "./server.js"

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

/**
 * The server with `env` and no database of its own, until it exits (or, at most a minute, is killed: a
 * start that hangs must fail the test, not the run); its exit status and all it printed.
 */
const start = (env: Record<string, string>) =>
  new Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>(
    (resolve) => {
      const { DATABASE_URL: _, ...rest } = process.env
      const child = spawn(process.execPath, [serverBin], {
        env: { ...rest, GROUND_TRUTH_DATA_DIR: "memory://", PORT: "0", HOST: "127.0.0.1", ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (b: Buffer) => {
        stdout += b.toString("utf8")
      })
      child.stderr.on("data", (b: Buffer) => {
        stderr += b.toString("utf8")
      })
      const deadline = setTimeout(() => child.kill("SIGKILL"), 60_000)
      child.on("close", (code) => {
        clearTimeout(deadline)
        resolve({ code, stdout, stderr })
      })
    }
  )

describe("a start that cannot go on logs one JSON line and exits 1", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-launch-"))
  const fifo = path.join(dir, "tokens")
  execFileSync("mkfifo", [fifo])
  it.each([
    [
      { DATABASE_URL: "postgres://postgres:s3cr3t-Pa55@127.0.0.1:99999/x" },
      "DATABASE_URL: its port is not a number 1–65535 (or a password holds a / ? or #: percent-encode / ? # @ in the user name and password as %2F %3F %23 %40)"
    ],
    [
      { DATABASE_URL: "garbage" },
      "DATABASE_URL: is not a URL; expected postgres://user:password@host:5432/database (or postgresql://; a socket directory goes in ?host=/var/run/postgresql)"
    ],
    [
      { GROUND_TRUTH_API_TOKENS: "   " },
      "GROUND_TRUTH_API_TOKENS: is set but holds no token, which would leave the API open; set a token or unset it"
    ],
    // No writer: reading it would hold the start, and SIGTERM with it, forever.
    [
      { GROUND_TRUTH_REVIEW_TOKENS_FILE: fifo },
      `GROUND_TRUTH_REVIEW_TOKENS_FILE: ${fifo} is a named pipe (FIFO), not a regular file; name a file that holds the tokens`
    ]
  ])("%j", { timeout: 120_000 }, async (env, message) => {
    const { code, stdout, stderr } = await start(env)
    expect(code).toBe(1)
    expect(stderr).toBe("")
    const lines = stdout.trimEnd().split("\n")
    expect(lines).toHaveLength(1)
    const entry = JSON.parse(lines[0]) as { readonly message: string; readonly logLevel: string }
    expect([entry.logLevel, entry.message]).toEqual(["ERROR", message])
    expect(stdout).not.toContain("s3cr3t")
  })
})
