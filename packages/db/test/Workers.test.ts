/**
 * Contract §15 through core's export with live workers (threads, each with its own connection) on
 * PostgreSQL: every golden case gives the golden bytes with 2 and 3 workers and ranges of one or two
 * rows (so that every boundary is crossed), datasets and increments too; writes committed while a
 * workers export runs are not seen by any worker; and a range that fails fails the export as a single
 * reader does. (The embedded database serves one connection: there an export has no workers.)
 */
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Export, Filter, Workers } from "@ground-truth/core"
import { Golden } from "@ground-truth/golden"
import { Context, Effect, Layer, Option, Redacted, Schedule, Stream } from "effect"
import { ExportWorkers, TestDatabase } from "../src/index.js"

/** The process's threads (Linux): a worker thread is one of them. */
const threads = () => fs.readdirSync("/proc/self/task").sort()

const collect = <E, R>(stream: Stream.Stream<Uint8Array, E, R>) =>
  Stream.runFold(stream, Buffer.alloc(0), (acc, chunk) => Buffer.concat([acc, chunk]))

/** The export service with `size` workers of `rangeRows` rows a range, on the test database. */
const withWorkers = (size: number, rangeRows: number) =>
  Layer.unwrapEffect(
    Effect.map(TestDatabase.TestDatabase, (db) =>
      Export.Export.Default.pipe(
        Layer.provide(ExportWorkers.layer({ url: Redacted.make(db.url), size, rangeRows }))
      )
    )
  )

/** Runs `effect` with the export service of `size` workers. */
const onWorkers = <A, E, R>(size: number, rangeRows: number, effect: Effect.Effect<A, E, R>) =>
  Effect.provide(effect, withWorkers(size, rangeRows))

for (const target of TestDatabase.targets().filter((t) => t.name === "postgres")) {
  const fixture = Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer))
  layer(fixture, { timeout: 300_000, excludeTestServices: true })("export workers on postgres", (it) => {
    for (const [size, rangeRows] of [
      [2, 1],
      [3, 2]
    ] as const) {
      it.effect(
        `every golden case gives the golden bytes with ${size} workers and ${rangeRows}-row ranges`,
        () =>
          Effect.gen(function* () {
            const results = yield* Effect.forEach(
              Golden.exportCases,
              (c) =>
                Effect.gen(function* () {
                  const filter = yield* Filter.parse(c.params)
                  const exporter = yield* Export.Export
                  return { c, bytes: yield* collect(exporter.stream(filter)) }
                }),
              { concurrency: 2 }
            ).pipe((e) => onWorkers(size, rangeRows, e))
            for (const { c, bytes } of results) {
              expect(bytes.toString("utf8"), c.name).toBe(Golden.expectedExport(c).toString("utf8"))
            }
          }),
        300_000
      )
    }

    it.effect("a dataset's splits and manifest are the same with 3 workers as with one", () =>
      Effect.gen(function* () {
        const filter = yield* Filter.parse([["approved_only", "false"]])
        const splitting = { by: "letter", ratios: [60, 20, 20], seed: "s" } as const
        const dataset = Effect.gen(function* () {
          const exporter = yield* Export.Export
          const { stream, manifest } = yield* exporter.dataset(filter, splitting)
          const parts = yield* Stream.runCollect(stream)
          const bySplit = new Map<string, Buffer>()
          for (const part of parts) {
            bySplit.set(part.split, Buffer.concat([bySplit.get(part.split) ?? Buffer.alloc(0), part.bytes]))
          }
          const m = yield* manifest
          return {
            bySplit,
            files: m.files,
            rows: [...bySplit.values()].map((b) => b.toString().split("\n").length - 1)
          }
        })
        const one = yield* Effect.provide(dataset, Export.Export.Default)
        const three = yield* onWorkers(3, 1, dataset)
        expect(three.bySplit).toEqual(one.bySplit)
        expect(three.files).toEqual(one.files)
        // Every split has rows: the comparison is not of empty folders.
        expect(one.rows.every((n) => n > 0)).toBe(true)
      })
    )

    it.effect("an increment and its manifest are the same with 2 workers as with one", () =>
      Effect.gen(function* () {
        yield* Golden.settle
        const before = yield* Effect.provide(
          Effect.flatMap(Export.Export, (e) =>
            Effect.flatMap(e.withManifest(Filter.defaults), ({ stream, manifest }) =>
              Effect.zipRight(Stream.runDrain(stream), manifest)
            )
          ),
          Export.Export.Default
        )
        yield* Golden.change
        yield* Golden.settle
        const seen = { lines: 0, removed: 0 }
        for (const params of [
          [],
          [["format", "preference"]],
          [
            ["split", "train"],
            ["split_ratios", "50,25,25"]
          ]
        ] as const) {
          const filter = yield* Filter.parse([...params, ["changed_since", before.cursor]])
          const increment = Effect.gen(function* () {
            const exporter = yield* Export.Export
            const { stream, manifest } = yield* exporter.withManifest(filter)
            const bytes = yield* collect(stream)
            const { rows, sha256, removed, corpus_rows } = yield* manifest
            return { bytes: bytes.toString("utf8"), rows, sha256, removed, corpus_rows }
          })
          const one = yield* Effect.provide(increment, Export.Export.Default)
          const two = yield* onWorkers(2, 1, increment)
          expect(two, JSON.stringify(params)).toEqual(one)
          seen.lines += one.rows
          seen.removed += one.removed.length
        }
        // The increments held lines and removals: the comparison is not of empty ones.
        expect(seen.lines).toBeGreaterThan(0)
        expect(seen.removed).toBeGreaterThan(0)
      })
    )

    it.effect(
      "the threads serve export after export, stopped, failed or not, and hold no connection between them",
      () =>
        Effect.gen(function* () {
          const db = yield* TestDatabase.TestDatabase
          const sql = yield* SqlClient.SqlClient
          const filter = yield* Filter.parse([["approved_only", "false"]])
          const whole = Effect.flatMap(Export.Export, (e) => collect(e.stream(filter)))
          const expected = (yield* Effect.provide(whole, Export.Export.Default)).toString("utf8")
          // libuv's own threads start on its first asynchronous file read: before the count, not during it.
          yield* Effect.promise(() => fs.promises.readFile(fileURLToPath(import.meta.url)))
          const before = new Set(threads())
          /** The threads started since (another test's, still stopping, may leave meanwhile). */
          const added = () => threads().filter((t) => !before.has(t))
          /** No worker's connection is left: its end may be seen a moment after the export's. */
          const noConnection = Effect.flatMap(TestDatabase.backends("ground-truth"), (left) =>
            left.length === 0 ? Effect.void : Effect.fail(left)
          ).pipe(Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("10 seconds"))))
          yield* Effect.scoped(
            Effect.gen(function* () {
              const workers = Layer.succeedContext(
                yield* Layer.build(
                  // Threads unused at a look are stopped: no look during this test.
                  ExportWorkers.layer({ url: Redacted.make(db.url), size: 2, rangeRows: 1, idle: "1 hour" })
                )
              )
              const live = yield* Layer.build(Export.Export.Default.pipe(Layer.provide(workers)))
              expect((yield* Effect.provide(whole, live)).toString("utf8")).toBe(expected)
              const kept = added()
              // The export's two threads outlived it, and its connections did not.
              expect(kept).toHaveLength(2)
              yield* noConnection
              // An export stopped at its first bytes, with ranges in flight.
              const first = yield* Effect.provide(
                Effect.flatMap(Export.Export, (e) => Stream.runHead(e.stream(filter))),
                live
              )
              expect(Option.isSome(first)).toBe(true)
              // An export whose workers' connections are terminated once they imported its snapshot fails;
              // the threads, whose next export connects anew, go on.
              const cut = Layer.effect(
                Workers.Workers,
                Effect.map(Workers.Workers, (pool) => ({
                  ...pool,
                  start: (snapshot: string) =>
                    Effect.tap(pool.start(snapshot), () =>
                      Effect.mapInputContext(
                        Effect.orDie(
                          Effect.provideService(
                            TestDatabase.terminateBackends("max_parallel_workers_per_gather"),
                            SqlClient.SqlClient,
                            sql
                          )
                        ),
                        (context: Context.Context<never>) =>
                          Context.omit(SqlClient.TransactionConnection)(context)
                      )
                    )
                }))
              ).pipe(Layer.provide(workers))
              const failure = yield* Effect.flip(
                Effect.provide(whole, Export.Export.Default.pipe(Layer.provide(cut)))
              )
              expect(failure._tag).toBe("SqlError")
              for (let i = 0; i < 3; i++)
                expect((yield* Effect.provide(whole, live)).toString("utf8")).toBe(expected)
              // The same two threads served every export.
              expect(added()).toEqual(kept)
              yield* noConnection
            })
          )
          // With the layer, the threads stopped.
          expect(added()).toEqual([])
        })
    )
  })

  // Writes committed after the export's snapshot was taken, before its workers start (a slow thread, a
  // busy machine) and while they read: each worker imported the export's snapshot, so none sees them. (A
  // worker that began a snapshot of its own instead would read every range as it is after the writes.)
  layer(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer)), {
    timeout: 120_000,
    excludeTestServices: true
  })("export workers and concurrent writes on postgres", (it) => {
    it.effect("writes committed after the export's snapshot are in no range of the export", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const db = yield* TestDatabase.TestDatabase
        const filter = yield* Filter.parse([["approved_only", "false"]])
        const expected = yield* Effect.provide(
          Effect.flatMap(Export.Export, (e) => collect(e.stream(filter))),
          Export.Export.Default
        )
        // Every job's result and approval and every trail change, and a job is added at the end of the order.
        const writes = Effect.gen(function* () {
          yield* sql`UPDATE jobs SET result = '{"rewritten": true}'::jsonb, approved = NOT approved`
          yield* sql`DELETE FROM job_corrections`
          yield* sql`
            INSERT INTO jobs (id, filename, source_kind, status, result, approved, created_at)
            VALUES ('ffffffff-ffff-4fff-8fff-ffffffffffff', 'late.pdf', 'pdf', 'done', '{}', true, '2999-01-01')`
        })
        // The live workers, started only once the writes have committed.
        const late = Layer.effect(
          Workers.Workers,
          Effect.map(Workers.Workers, (live) => ({
            ...live,
            // On a connection of the pool, not in the export's transaction, whose context this runs in.
            start: (snapshot: string) =>
              Effect.zipRight(
                Effect.mapInputContext(Effect.orDie(writes), Context.omit(SqlClient.TransactionConnection)),
                live.start(snapshot)
              )
          }))
        ).pipe(Layer.provide(ExportWorkers.layer({ url: Redacted.make(db.url), size: 2, rangeRows: 1 })))
        const bytes = yield* Effect.provide(
          Effect.flatMap(Export.Export, (e) => collect(e.stream(filter))),
          Export.Export.Default.pipe(Layer.provide(late))
        )
        expect(bytes.toString("utf8")).toBe(expected.toString("utf8"))
        // The writes took: an export now reads them.
        const after = yield* Effect.provide(
          Effect.flatMap(Export.Export, (e) => collect(e.stream(filter))),
          Export.Export.Default
        )
        expect(after.toString("utf8")).toContain("late.pdf")
        expect(expected.toString("utf8").split("\n").length - 1).toBeGreaterThan(8)
      })
    )
  })

  layer(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer)), {
    timeout: 120_000,
    excludeTestServices: true
  })("a failing range on postgres", (it) => {
    it.effect(
      "fails the export with the error one reader gives: the first failing job in the export's order",
      () =>
        Effect.gen(function* () {
          // Two jobs that cannot replay, far apart: a worker may reach the later one first.
          yield* Golden.insertTampered("00000000-0000-4000-8000-0000000000aa", "2025-06-04T00:00:00Z")
          yield* Golden.insertTampered("00000000-0000-4000-8000-0000000000ab", "2025-05-01T00:00:00Z")
          const failure = Effect.flatMap(Export.Export, (e) =>
            Effect.flip(collect(e.stream(Filter.defaults)))
          )
          const one = yield* Effect.provide(failure, Export.Export.Default)
          const two = yield* onWorkers(2, 1, failure)
          expect(one._tag).toBe("AuditTrailMismatch")
          expect(one.message).toContain("00000000-0000-4000-8000-0000000000ab")
          expect(two._tag).toBe(one._tag)
          expect(two.message).toBe(one.message)
        })
    )
  })
}
