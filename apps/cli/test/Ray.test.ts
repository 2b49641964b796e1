/**
 * A plan's shards run as Ray tasks (contract §15), on PostgreSQL: `ground-truth plan --shards 4` holds
 * a snapshot of a 2,000-job demo corpus; `ray_shards.py` starts a local Ray cluster, writes each shard
 * with `export --plan P --shard I` in a Ray task of its own and reads the folder with `ray.data`. Ray
 * reads every job once; the shards, concatenated in name order, are byte for byte the single export with
 * the same flags; each holds the rows the plan gave it; and no Ray process outlives the script.
 * Skipped without PostgreSQL (TEST_DATABASE_URL) or without `ray` in python3 (.ci/run installs it).
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Demo, TestDatabase } from "@ground-truth/db"
import { Effect, Layer } from "effect"
import { bin, planned, pythonMissing, realSleep, run, startProcess } from "./cli.js"

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "ray_shards.py")

const JOBS = 2000
const SHARDS = 4
/** The export's flags, the plan's and the single export's alike: every job, in the format Arrow reads. */
const FLAGS = ["--format", "hf", "--approved-only", "false"]

const postgres = TestDatabase.targets().find((t) => t.name === "postgres")
const missing = pythonMissing("ray, ray.data")
const skipped =
  postgres === undefined
    ? "TEST_DATABASE_URL names no PostgreSQL server (plans need one)"
    : missing !== undefined
      ? `python3 cannot import ray (${missing}); .ci/run installs it`
      : undefined
if (skipped !== undefined) console.log(`Ray test skipped: ${skipped}`)

/** Runs ray_shards.py on `spec` with `env`: its exit status, standard output and standard error. */
const rayShards = (spec: object, env: Record<string, string>) =>
  Effect.promise(() =>
    startProcess("python3", [script, JSON.stringify(spec)], { env: { ...process.env, ...env } }).done.then(
      ({ code, stdout, stderr }) => ({
        code,
        stdout: stdout.toString("utf8"),
        stderr
      })
    )
  )

/** The command line of process `pid`, or undefined once it is gone. */
const commandLine = (pid: number | string) => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ")
  } catch {
    return undefined
  }
}

/** The processes whose command line names `text` (Ray's are started with its temporary folder's path). */
const processesNaming = (text: string) =>
  fs
    .readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .flatMap((p) => {
      const cmdline = commandLine(p)
      return cmdline?.includes(text) ? [`${p}: ${cmdline.slice(0, 120)}`] : []
    })

interface Report {
  readonly rows: number
  readonly ids: ReadonlyArray<string>
  readonly driver_pid: number
  readonly shards: ReadonlyArray<{
    path: string
    rows: number
    bytes: number
    sha256: string
    pid: number
    stderr: string
  }>
  readonly seconds: Record<string, number>
}

if (postgres !== undefined && missing === undefined) {
  const fixture = Layer.effectDiscard(Demo.seed({ jobs: JOBS, seed: 7, batchSize: 1000 })).pipe(
    Layer.provideMerge(postgres.layer)
  )
  layer(fixture, { timeout: 120_000 })("a plan's shards as Ray tasks on postgres", (it) => {
    it.scoped(
      "4 shards written by Ray tasks, read by ray.data: every job once, the single export's bytes",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const e = { DATABASE_URL: (yield* TestDatabase.TestDatabase).url }
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-ray-"))
          const plan = path.join(dir, "plan.json")
          const out = path.join(dir, "parts")
          // Ray's sockets live in its temporary folder: a short path (a socket's path has ~107 bytes).
          const temp = fs.mkdtempSync("/tmp/gt-ray-tmp-")

          const planner = yield* planned(["--shards", String(SHARDS), "--out", plan, ...FLAGS], e)
          const written = JSON.parse(fs.readFileSync(plan, "utf8")) as {
            jobs: number
            shards: Array<{ jobs: number }>
          }
          expect(written.jobs).toBe(JOBS)
          expect(written.shards).toHaveLength(SHARDS)

          const single = path.join(dir, "single.jsonl")
          const whole = yield* run(["export", "--out", single, ...FLAGS], e)
          expect([whole.code, whole.stderr]).toEqual([0, ""])
          const expected = fs.readFileSync(single)
          const exportIds = expected
            .toString("utf8")
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => (JSON.parse(l) as { job_id: string }).job_id)
          const ids = (yield* sql<{ readonly id: string }>`SELECT id::text AS id FROM jobs`)
            .map((r) => r.id)
            .sort()
          expect(ids).toHaveLength(JOBS)
          expect([...exportIds].sort()).toEqual(ids)

          const started = Date.now()
          const r = yield* rayShards({ cli: [process.execPath, bin], plan, out, temp_dir: temp }, e)
          const seconds = ((Date.now() - started) / 1000).toFixed(1)
          expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
          const report = JSON.parse(r.stdout.trim().split("\n").pop()!) as Report
          console.log(`ray_shards.py: ${seconds} s (in Ray: ${JSON.stringify(report.seconds)})`)

          // Ray Data read every job once: the database's, the single export's.
          expect(report.rows).toBe(JOBS)
          expect(report.ids).toEqual(ids)

          // The shards, named as datasets reads them, each in a Ray worker, each with the rows the plan gave it.
          const names = Array.from({ length: SHARDS }, (_, i) => `part-0000${i}-of-0000${SHARDS}.jsonl`)
          expect(fs.readdirSync(out).sort()).toEqual(names)
          const files = names.map((n) => fs.readFileSync(path.join(out, n)))
          expect(report.shards).toEqual(
            files.map((f, i) => ({
              path: names[i],
              rows: written.shards[i].jobs,
              bytes: f.length,
              sha256: createHash("sha256").update(f).digest("hex"),
              pid: expect.any(Number),
              stderr: ""
            }))
          )
          for (const s of report.shards) expect(s.pid).not.toBe(report.driver_pid)
          for (const [i, f] of files.entries()) {
            expect(f.toString("utf8").split("\n").length - 1, names[i]).toBe(written.shards[i].jobs)
          }
          // Non-trivial shards, concatenated in name order the single export byte for byte.
          for (const s of written.shards) expect(s.jobs).toBeGreaterThanOrEqual(JOBS / SHARDS - 1)
          expect(Buffer.concat(files).equals(expected)).toBe(true)

          // ray.shutdown() left no Ray process behind: none started with its folder (GCS, raylet, agents),
          // none of the workers that ran the tasks (they rename themselves `ray::…`), after a moment to exit.
          const rayProcesses = () => [
            ...processesNaming(temp),
            ...report.shards.flatMap((s) => {
              const cmdline = commandLine(s.pid)
              return cmdline?.startsWith("ray::") ? [`${s.pid}: ${cmdline}`] : []
            })
          ]
          for (let i = 0; i < 50 && rayProcesses().length > 0; i++) yield* realSleep(100)
          expect(rayProcesses()).toEqual([])

          planner.kill("SIGINT")
          const stopped = yield* Effect.promise(() => planner.done)
          expect(stopped.code).toBe(130)
          expect(stopped.stderr).toContain("stopped; its snapshot is released")
          fs.rmSync(dir, { recursive: true, force: true })
          fs.rmSync(temp, { recursive: true, force: true })
        }),
      240_000
    )
  })
} else {
  describe("a plan's shards as Ray tasks", () => {
    it.skip(`skipped: ${skipped}`, () => {})
  })
}
