/** Runs the real CLI in a child process, as a user would: through the launcher `pnpm ground-truth` runs. */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { expect } from "@effect/vitest"
import { Readme } from "@ground-truth/golden"
import { Effect } from "effect"

/** This folder: the tests and their Python scripts. */
export const here = path.dirname(fileURLToPath(import.meta.url))

export const bin = path.join(here, "..", "bin", "ground-truth.mjs")

export interface Result {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: Buffer
  readonly stderr: string
}

export interface Running {
  readonly pid: number
  /** What the process has written on standard error so far. */
  readonly stderr: () => string
  readonly kill: (signal: NodeJS.Signals) => void
  readonly done: Promise<Result>
}

export interface Options {
  /** A file descriptor for standard output instead of a pipe (`/dev/full`, say). */
  readonly stdout?: number
  /** The largest file the process may write (RLIMIT_FSIZE); a write past it fails with EFBIG. */
  readonly fileSizeLimit?: number
}

/**
 * Starts `command` with `args` (in `cwd`, with exactly `env`), collecting what it writes on both
 * streams.
 */
export const startProcess = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly env?: NodeJS.ProcessEnv; readonly cwd?: string; readonly stdout?: number } = {}
): Running => {
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stdio: ["ignore", options.stdout ?? "pipe", "pipe"]
  })
  const out: Array<Buffer> = []
  const err: Array<Buffer> = []
  child.stdout?.on("data", (b: Buffer) => out.push(b))
  child.stderr?.on("data", (b: Buffer) => err.push(b))
  const done = new Promise<Result>((resolve) =>
    child.on("close", (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8") })
    )
  )
  return {
    pid: child.pid ?? -1,
    stderr: () => Buffer.concat(err).toString("utf8"),
    kill: (s) => child.kill(s),
    done
  }
}

/** Starts the CLI with `args`; `env` entries set to `undefined` are removed from the environment. */
export const start = (
  args: ReadonlyArray<string>,
  env: Record<string, string | undefined> = {},
  options: Options = {}
): Running => {
  const merged: Record<string, string> = {}
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) merged[k] = v
  const command = [process.execPath, bin, ...args]
  const limited =
    options.fileSizeLimit === undefined
      ? command
      : ["prlimit", `--fsize=${options.fileSizeLimit}`, "--", ...command]
  return startProcess(limited[0], limited.slice(1), {
    env: merged,
    cwd: path.dirname(bin),
    ...(options.stdout === undefined ? {} : { stdout: options.stdout })
  })
}

/** Runs the CLI to completion. */
export const run = (
  args: ReadonlyArray<string>,
  env: Record<string, string | undefined> = {},
  options: Options = {}
) => Effect.promise(() => start(args, env, options).done)

/** Runs python3 with `args` (in `cwd`, with `env` added): its exit status and output (both streams). */
export const python = (args: ReadonlyArray<string>, cwd?: string, env: Record<string, string> = {}) =>
  Effect.promise(
    () =>
      new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn("python3", args, {
          stdio: ["ignore", "pipe", "pipe"],
          cwd,
          env: { ...process.env, ...env }
        })
        let output = ""
        const add = (b: Buffer) => {
          output += b.toString("utf8")
        }
        child.stdout.on("data", add)
        child.stderr.on("data", add)
        child.on("close", (code) => resolve({ code, output }))
      })
  )

/**
 * Runs a README block of commands as written, in `dir`, a line at a time (a comment after one is left
 * out): `pnpm ground-truth …` (standard output into a file after `>`), or `python3 apps/cli/test/X.py …`
 * (this folder's script, with `pythonEnv`). Each must exit 0.
 */
export const readmeCommands = (
  mark: string,
  dir: string,
  env: Record<string, string>,
  pythonEnv: Record<string, string> = {}
) =>
  Effect.forEach(
    readmeBlock(mark).split("\n"),
    (line) =>
      Effect.gen(function* () {
        const [command = "", into] = line.replace(/\s+#.*$/, "").split(/\s+>\s+/)
        const words = command.trim().split(/\s+/)
        if (words[0] === "") return
        if (words[0] === "pnpm" && words[1] === "ground-truth") {
          const r = yield* run(words.slice(2), { ...env, INIT_CWD: dir })
          expect([r.code, line], r.stderr).toEqual([0, line])
          if (into !== undefined) fs.writeFileSync(path.join(dir, into.trim()), r.stdout)
        } else {
          expect([words[0], words[1]?.startsWith("apps/cli/test/"), into], line).toEqual([
            "python3",
            true,
            undefined
          ])
          const r = yield* python(
            [path.join(here, path.basename(words[1]!)), ...words.slice(2)],
            dir,
            pythonEnv
          )
          expect([r.code, line], r.output).toEqual([0, line])
        }
      }),
    { discard: true }
  )

/** Waits real time (the processes and the database need it to pass), not the test clock. */
export const realSleep = (ms: number) =>
  Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

/**
 * A `ground-truth plan` process, once it says it holds its snapshot (its plan file is then complete);
 * killed when the scope closes. It has `seconds` to get there.
 */
export const planned = (args: ReadonlyArray<string>, env: Record<string, string>, seconds = 30) =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const planner = start(["plan", ...args], env)
      for (let i = 0; i < seconds * 10 && !planner.stderr().includes("is held until"); i++)
        yield* realSleep(100)
      expect(planner.stderr()).toContain("is held until")
      return planner
    }),
    (planner: Running) => Effect.sync(() => planner.kill("SIGKILL"))
  )

/** Why `python3` cannot import `modules` (its last line of error), or `undefined` when it can. */
export const pythonMissing = (modules: string): string | undefined => {
  const probe = spawnSync("python3", ["-c", `import ${modules}`], { encoding: "utf8" })
  return probe.error !== undefined
    ? probe.error.message
    : probe.status !== 0
      ? (probe.stderr.trim().split("\n").pop() ?? `exit status ${probe.status}`)
      : undefined
}

/** The fenced block after a `<!-- MARK` comment of the README or docs/, as written: what a test runs or compares. */
export const readmeBlock = (mark: string): string => {
  const block = Readme.block(mark)
  expect(block, `README mark ${mark}`).toBeDefined()
  return block!
}
