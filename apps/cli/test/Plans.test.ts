/**
 * Plans through the CLI (contract §15), on PostgreSQL: `ground-truth plan` holds a snapshot and writes
 * the plan; `export --plan P --shard I`, each in a process of its own, writes the shards, concatenated
 * the golden bytes, also after writes to the database; once the plan is stopped, a shard is one line,
 * exit 1, and no file. What does not apply is a usage error that writes nothing; on the embedded
 * database (one session) a plan is refused.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Parquet } from "@ground-truth/core"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Chunk, Effect, Layer, Stream } from "effect"
import { planned, run } from "./cli.js"

const oneLine = (stderr: string) => {
  expect(stderr.endsWith("\n")).toBe(true)
  expect(stderr.trimEnd().split("\n")).toHaveLength(1)
  expect(stderr).not.toMatch(/\n\s+at /)
}

/** Every shard of a plan, each written by a process of its own, all at once (as `.jsonl` or `.parquet`). */
const shards = (plan: string, count: number, dir: string, env: Record<string, string>, ext = ".jsonl") =>
  Effect.forEach(
    Array.from({ length: count }, (_, i) => i),
    (i) =>
      Effect.map(
        run(
          ["export", "--plan", plan, "--shard", String(i), "--out", path.join(dir, `shard-${i}${ext}`)],
          env
        ),
        (r) => {
          expect([r.code, r.stderr]).toEqual([0, ""])
          return fs.readFileSync(path.join(dir, `shard-${i}${ext}`))
        }
      ),
    { concurrency: count }
  )

const postgres = TestDatabase.targets().find((t) => t.name === "postgres")

if (postgres !== undefined) {
  const fixture = Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(postgres.layer))
  layer(fixture, { timeout: 300_000 })("plans through the CLI on postgres", (it) => {
    const env = Effect.map(TestDatabase.TestDatabase, (db) => ({ DATABASE_URL: db.url }))

    it.scoped("a jsonl plan's shards as Parquet: each the Parquet file of its golden jobs' hf lines", () =>
      Effect.gen(function* () {
        const e = yield* env
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-plans-parquet-"))
        const c = Golden.exportCases.find((c) => c.name === "approved_only=false window=none")!
        const plan = path.join(dir, "plan.json")
        const planner = yield* planned(["--shards", "2", "--out", plan, ...Golden.flags(c.params)], e)
        const { shards: cut } = JSON.parse(fs.readFileSync(plan, "utf8")) as {
          shards: Array<{ jobs: number }>
        }
        const files = yield* shards(plan, 2, dir, e, ".parquet")
        const lines = Golden.expectedExport({ ...c, format: "hf" })
          .toString("utf8")
          .split(/(?<=\n)/)
        let at = 0
        for (const [i, s] of cut.entries()) {
          const own = Buffer.from(lines.slice(at, at + s.jobs).join(""))
          at += s.jobs
          const expected = yield* Stream.make(new Uint8Array(own)).pipe(
            Parquet.encode("hf"),
            Stream.runCollect
          )
          expect(files[i]?.equals(Buffer.concat(Chunk.toArray(expected))), `shard ${i}`).toBe(true)
        }
        expect(at).toBe(c.jobs.length)
        planner.kill("SIGINT")
        expect((yield* Effect.promise(() => planner.done)).code).toBe(130)
      })
    )

    it.scoped("golden cases planned in 3 shards, each written by a process: the golden bytes", () =>
      Effect.gen(function* () {
        const e = yield* env
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "gt-plans-"))
        // Filters, formats and splits.
        for (const [i, c] of Golden.exportCases.filter((_, i) => i % 6 === 0).entries()) {
          const dir = path.join(root, `case-${i}`)
          fs.mkdirSync(dir)
          const plan = path.join(dir, "plan.json")
          const planner = yield* planned(["--shards", "3", "--out", plan, ...Golden.flags(c.params)], e)
          const written = JSON.parse(fs.readFileSync(plan, "utf8")) as {
            jobs: number
            shards: Array<{ jobs: number }>
          }
          const jobs = written.shards.map((s) => s.jobs)
          expect(
            jobs.reduce((a, b) => a + b, 0),
            c.name
          ).toBe(written.jobs)
          expect(Math.max(...jobs) - Math.min(...jobs), c.name).toBeLessThanOrEqual(1)
          const files = yield* shards(plan, 3, dir, e)
          expect(Buffer.concat(files).toString("utf8"), c.name).toBe(
            Golden.expectedExport(c).toString("utf8")
          )
          planner.kill("SIGINT")
          const stopped = yield* Effect.promise(() => planner.done)
          expect(stopped.code, c.name).toBe(130)
          expect(stopped.stderr).toContain("stopped; its snapshot is released")
        }
      })
    )

    it.scoped("a stopped plan, or one whose hold ended: one line, exit 1, no file", () =>
      Effect.gen(function* () {
        const e = yield* env
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-plans-"))
        const plan = path.join(dir, "plan.json")
        const planner = yield* planned(["--shards", "2", "--out", plan, "--approved-only", "false"], e)
        planner.kill("SIGTERM")
        expect((yield* Effect.promise(() => planner.done)).code).not.toBe(0)
        const after = yield* run(
          ["export", "--plan", plan, "--shard", "1", "--out", path.join(dir, "s.jsonl")],
          e
        )
        expect(after.code).toBe(1)
        oneLine(after.stderr)
        expect(after.stderr).toMatch(
          /^ground-truth: plan [0-9a-f-]{36} is no longer held .*make a new plan\n$/
        )
        expect(fs.readdirSync(dir)).toEqual(["plan.json"])
        // A hold of one second ends by itself, exit 0.
        const short = yield* run(
          ["plan", "--shards", "2", "--hold", "1", "--out", path.join(dir, "short.json")],
          e
        )
        expect(short.code).toBe(0)
        expect(short.stderr).toContain("its hold ended; its snapshot is released")
        const late = yield* run(["export", "--plan", path.join(dir, "short.json"), "--shard", "0"], e)
        expect([late.code, late.stdout.length]).toEqual([1, 0])
        expect(late.stderr).toContain("is no longer held")
      })
    )

    it.effect("what does not apply to a plan or its shards: one line, exit 2, nothing written", () =>
      Effect.gen(function* () {
        const e = yield* env
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-plans-"))
        const plan = path.join(dir, "plan.json")
        fs.writeFileSync(path.join(dir, "not-a-plan.json"), '{"plan_version":"1"}')
        const out = path.join(dir, "out.jsonl")
        const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
          [["plan", "--shards", "0", "--out", plan], "--shards must be a whole number from 1 to 9999, not 0"],
          [["plan", "--shards", "2", "--hold", "8d", "--out", plan], "--hold must be a time from 1s to 7d"],
          [["plan", "--shards", "2", "--out", `${plan}.gz`], "a plan is JSON, never gzipped"],
          [["plan", "--shards", "2", "--changed-since", "x", "--out", plan], "--changed-since"],
          [["export", "--shard", "1", "--out", out], "--shard names a shard of a plan"],
          [["export", "--plan", plan, "--out", out], "--plan needs --shard I"],
          [["export", "--plan", path.join(dir, "none.json"), "--shard", "0", "--out", out], "ENOENT"],
          [["export", "--plan", dir, "--shard", "0", "--out", out], "is not a regular file"],
          [
            ["export", "--plan", path.join(dir, "not-a-plan.json"), "--shard", "0", "--out", out],
            "not a ground-truth plan: generator: is missing"
          ],
          [
            ["export", "--plan", path.join(dir, "not-a-plan.json"), "--shard", "0", "--format", "hf"],
            "--format does not apply"
          ],
          [
            ["export", "--plan", path.join(dir, "not-a-plan.json"), "--shard", "0", "--gzip", "--out", out],
            "--gzip (name the --out file .gz) does not apply"
          ]
        ]
        for (const [args, message] of cases) {
          const r = yield* run(args, e)
          expect(r.code, args.join(" ")).toBe(2)
          expect(r.stderr, args.join(" ")).toContain(message)
          if (!r.stderr.includes("--changed-since")) oneLine(r.stderr)
        }
        expect(fs.readdirSync(dir).sort()).toEqual(["not-a-plan.json"])
      })
    )
  })

  const written = Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(postgres.layer))
  layer(written, { timeout: 300_000 })("a plan through the CLI, written after", (it) => {
    it.scoped(
      "shards written after the database changed, in sessions of other time settings, are the plan's snapshot",
      () =>
        Effect.gen(function* () {
          const { url } = yield* TestDatabase.TestDatabase
          const sql = yield* SqlClient.SqlClient
          const e = { DATABASE_URL: url }
          const c = Golden.exportCases.find((c) => c.name === "approved_only=false window=none")!
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-plans-"))
          const plan = path.join(dir, "plan.json")
          // Sessions whose times are not written as ISO, and read back otherwise: the plan in one (a key
          // written `01/04/2025 02:09:19 CST`, which reads back 14 hours off), its shards in two others
          // (`SQL, MDY` reads that day as January 4th, not April 1st).
          const [{ name }] = yield* sql<{ readonly name: string }>`SELECT current_database() AS name`
          const settings = (style: string, zone: string) =>
            Effect.zipRight(
              sql.unsafe(`ALTER DATABASE "${name}" SET DateStyle = '${style}'`),
              sql.unsafe(`ALTER DATABASE "${name}" SET TimeZone = '${zone}'`)
            )
          yield* settings("SQL, DMY", "Asia/Shanghai")
          yield* planned(["--shards", "4", "--out", plan, ...Golden.flags(c.params)], e)
          yield* sql`DELETE FROM jobs WHERE id IN (SELECT id FROM jobs ORDER BY created_at DESC, id LIMIT 2)`
          yield* sql`UPDATE jobs SET reviewed_by = 'after the plan'`
          const now = yield* run(["export", ...Golden.flags(c.params)], e)
          expect(now.stdout.equals(Golden.expectedExport(c))).toBe(false)
          const write = (i: number) =>
            Effect.map(
              run(
                ["export", "--plan", plan, "--shard", String(i), "--out", path.join(dir, `s${i}.jsonl`)],
                e
              ),
              (r) => {
                expect([r.code, r.stderr]).toEqual([0, ""])
                return fs.readFileSync(path.join(dir, `s${i}.jsonl`))
              }
            )
          const first = yield* write(0)
          yield* settings("SQL, MDY", "Asia/Kolkata")
          const rest = [yield* write(1), yield* write(2)]
          yield* settings("German", "America/New_York")
          const files = [first, ...rest, yield* write(3)]
          expect(Buffer.concat(files).toString("utf8")).toBe(Golden.expectedExport(c).toString("utf8"))
          // A line a job: each shard holds the jobs its plan gives it.
          const given = (JSON.parse(fs.readFileSync(plan, "utf8")) as { shards: Array<{ jobs: number }> })
            .shards
          expect(files.map((f) => f.toString("utf8").split("\n").length - 1)).toEqual(
            given.map((g) => g.jobs)
          )
        })
    )
  })
}

describe("a plan on the embedded database", () => {
  it.effect("is refused: it serves one session, and a plan's shards need another", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-plans-"))
      const r = yield* run(["plan", "--shards", "2", "--out", path.join(dir, "plan.json")], {
        DATABASE_URL: undefined,
        GROUND_TRUTH_DATA_DIR: path.join(dir, "data")
      })
      expect(r.code).toBe(2)
      oneLine(r.stderr)
      expect(r.stderr).toContain("plans need a database that serves several sessions")
      expect(fs.existsSync(path.join(dir, "plan.json"))).toBe(false)
      // A plan made elsewhere: its shard is refused for the same reason, not as a plan no longer held.
      const elsewhere = {
        plan_version: "1",
        generator: "ground-truth 0.1.0",
        id: "00000000-0000-4000-8000-000000000001",
        snapshot: "00000003-0000001B-1",
        transaction_snapshot: "100:100:",
        snapshot_time: "2026-01-01T00:00:00Z",
        cursor: "gt2.x",
        expires_at: "2026-01-01T01:00:00.000Z",
        parameters: { approved_only: "true", format: "jsonl" },
        jobs: 0,
        shards: [{ shard: 0, jobs: 0, after: null, through: null }]
      }
      fs.writeFileSync(path.join(dir, "elsewhere.json"), JSON.stringify(elsewhere))
      const shard = yield* run(
        [
          "export",
          "--plan",
          path.join(dir, "elsewhere.json"),
          "--shard",
          "0",
          "--out",
          path.join(dir, "s.jsonl")
        ],
        { DATABASE_URL: undefined, GROUND_TRUTH_DATA_DIR: path.join(dir, "data") }
      )
      expect(shard.code).toBe(2)
      oneLine(shard.stderr)
      expect(shard.stderr).toContain("plans need a database that serves several sessions")
      expect(fs.existsSync(path.join(dir, "s.jsonl"))).toBe(false)
    })
  )
})
