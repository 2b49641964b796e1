/**
 * A predictions file rewritten while `eval` runs (issue 28, finding 11): eval indexes the file, then
 * reads each job's line again by its byte range when the job's sample comes. A file rewritten in between
 * used to be scored from whatever bytes were there (recall 1.0 → 0.13, exit 0); now a line read again
 * must be the line indexed (its digest), or eval stops with one line naming the file, exit 1.
 *
 * Deterministic on PostgreSQL: a lock on `jobs` holds eval after it has indexed the file, until the file
 * has been rewritten. (The embedded database serves one process; core's Eval tests check the same with
 * a file rewritten between the two reads.)
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { SqlClient } from "@effect/sql"
import { expect, it, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Deferred, Effect, Fiber, Layer } from "effect"
import { start } from "./cli.js"

const postgres = TestDatabase.targets().filter((t) => t.name === "postgres")

if (postgres.length === 0)
  it.skip("eval of a file rewritten while it runs: needs PostgreSQL (TEST_DATABASE_URL) to hold eval between its reads", () => {})

for (const target of postgres) {
  layer(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer)), {
    timeout: 120_000,
    excludeTestServices: true
  })(`eval of a file rewritten while it runs, on ${target.name}`, (it) => {
    it.effect("exits 1 with one line naming the file and the line, and prints no scores", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const { url } = yield* TestDatabase.TestDatabase
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gt-eval-")), "predictions.jsonl")
        // Every line padded to one length (JSON allows trailing spaces): a rewrite in another order then
        // puts a whole, valid line of another job in each byte range, which used to be scored silently.
        const lines = fs.readFileSync(Golden.evalPredictions, "utf8").trimEnd().split("\n")
        const width = Math.max(...lines.map((l) => Buffer.byteLength(l)))
        const padded = lines.map((l) => l + " ".repeat(width - Buffer.byteLength(l)))
        fs.writeFileSync(file, `${padded.join("\n")}\n`)
        const release = yield* Deferred.make<void>()
        const locked = yield* Deferred.make<void>()
        const holder = yield* Effect.fork(
          sql.withTransaction(
            Effect.gen(function* () {
              yield* sql`LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE`
              yield* Deferred.succeed(locked, undefined)
              yield* Deferred.await(release)
            })
          )
        )
        yield* Deferred.await(locked)
        const cli = start(["eval", "--predictions", file], { DATABASE_URL: url })
        // Eval reads the database only once the file is indexed: a backend waiting on the lock says so.
        const waiting = sql<{ readonly n: number }>`
            SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`
        for (let i = 0; i < 600 && (yield* waiting)[0]!.n === 0; i++) yield* Effect.sleep("100 millis")
        expect((yield* waiting)[0]!.n).toBeGreaterThan(0)
        // The same predictions, in another order: every byte range now holds another job's line.
        fs.writeFileSync(file, `${[...padded].reverse().join("\n")}\n`)
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(holder)
        const r = yield* Effect.promise(() => cli.done)
        expect(r.stdout.length).toBe(0)
        expect(r.stderr).toMatch(
          new RegExp(
            `^ground-truth: the predictions file ${file.replaceAll(".", "\\.")} changed while it was being ` +
              "scored \\(line \\d+ is not the line read at first\\); nothing was scored: run eval again once " +
              "the file is complete\n$"
          )
        )
        expect(r.code).toBe(1)
      })
    )
  })
}
