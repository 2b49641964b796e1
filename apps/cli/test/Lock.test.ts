/**
 * The CLI behind a lock another session holds (issue 28, finding 8), on a cluster of the test's own (a
 * table lock takes a transaction id, which would hold back every other test's snapshots on a shared
 * server): after a few seconds it says what it waits for and on whom, and Ctrl-C cancels the statement
 * at once (before, exit 130 came only when the lock was released), leaving no backend behind and no file.
 *
 * Skipped where the PostgreSQL server binaries are absent.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Demo, Migrations, TestCluster } from "@ground-truth/db"
import { Effect, Option } from "effect"
import { run, start } from "./cli.js"

/** Polls `check` every 100 ms, for up to 60 s, until it holds; whether it did. */
const eventually = (check: Effect.Effect<boolean>) =>
  Effect.gen(function* () {
    for (let i = 0; i < 600; i++) {
      if (yield* check) return true
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
    }
    return false
  })

describe.skipIf(TestCluster.binaries() === undefined)("the CLI behind a lock", () => {
  it.scopedLive(
    "export says what it waits for after 5 s; Ctrl-C cancels the statement while the lock is held",
    () =>
      Effect.gen(function* () {
        const cluster = yield* TestCluster.make
        const node = yield* cluster.primary("p")
        const sql = yield* cluster.client(node)
        yield* Effect.orDie(Effect.provideService(Migrations.run, SqlClient.SqlClient, sql))
        yield* Effect.orDie(
          Effect.provideService(Demo.seed({ jobs: 200, seed: 8 }), SqlClient.SqlClient, sql)
        )
        // The launcher builds the CLI's bundle on first use: built before the clock of this test matters.
        expect((yield* run(["--version"])).code).toBe(0)
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-lock-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
        const out = path.join(dir, "corpus.jsonl")

        const lock = yield* TestCluster.lockJobs(sql)
        const cli = start(["export", "--out", out], { DATABASE_URL: node.url })
        const said = yield* eventually(Effect.sync(() => cli.stderr().includes("\n")))
        expect(said, "no line on stderr").toBe(true)
        expect(cli.stderr()).toMatch(
          new RegExp(
            `^ground-truth: waiting \\d+ s for a lock on relation jobs \\(AccessShareLock\\) held by session ${lock.pid} \\(.+\\); Ctrl-C cancels\n$`
          )
        )
        cli.kill("SIGINT")
        // The lock is still held: the CLI ends only if its statement was cancelled.
        const result = yield* Effect.promise(() => cli.done).pipe(Effect.timeoutOption("30 seconds"))
        const backends = yield* sql<{ readonly state: string | null }>`
          SELECT state FROM pg_stat_activity WHERE application_name = 'ground-truth'`.pipe(Effect.orDie)
        yield* lock.release
        expect(Option.isSome(result), "the CLI was still waiting 30 s after SIGINT").toBe(true)
        if (Option.isSome(result)) expect(result.value.code).toBe(130)
        // No backend of the CLI is left waiting for the lock, and nothing was written.
        expect(backends.filter((b) => b.state === "active")).toEqual([])
        expect(fs.readdirSync(dir)).toEqual([])
      }),
    300_000
  )
})
