/**
 * Export workers in the server (`GROUND_TRUTH_EXPORT_WORKERS`, contract §15), as `pnpm serve` runs: the
 * golden exports with 2 workers and with 3, increments' bodies and manifests, ranges of one job; an export
 * with workers takes a slot for each of its connections, so the server never holds more than its pool
 * (two exports of 2 workers on a pool of 5 take turns); a count that could never be admitted stops the
 * server with one line; where the database serves one session, exports read with one worker and the
 * log says so.
 */
import { expect, layer } from "@effect/vitest"
import { Demo, TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Cause, Effect, Exit, Fiber, Layer } from "effect"
import { realSleep, serverProcess } from "./server.js"

const WORKERS = {
  GROUND_TRUTH_EXPORT_WORKERS: "2",
  GROUND_TRUTH_WORKER_RANGE_ROWS: "1",
  GROUND_TRUTH_DB_POOL: "5"
}

const body = (url: string) =>
  Effect.promise(async () => {
    const response = await fetch(url)
    return { status: response.status, body: Buffer.from(await response.arrayBuffer()) }
  })

for (const target of TestDatabase.targets()) {
  const fixture = Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer))
  layer(fixture, { timeout: 300_000, excludeTestServices: true })(
    `GROUND_TRUTH_EXPORT_WORKERS on ${target.name}`,
    (it) => {
      it.scoped(
        "the golden exports and manifests are the same bytes with 2 workers and with 3",
        () =>
          Effect.gen(function* () {
            const db = yield* TestDatabase.TestDatabase
            const server = yield* serverProcess(db.url, [], WORKERS)
            const three = yield* serverProcess(db.url, [], {
              ...WORKERS,
              GROUND_TRUTH_EXPORT_WORKERS: "3",
              GROUND_TRUTH_DB_POOL: "6"
            })
            const cases = target.name === "postgres" ? Golden.exportCases : Golden.exportCases.slice(0, 3)
            for (const c of cases) {
              for (const base of [server.base, three.base]) {
                const r = yield* body(`${base}/api/v1/ground-truth/export?${Golden.query(c.params)}`)
                expect(r.status, c.name).toBe(200)
                expect(r.body.toString("utf8"), c.name).toBe(Golden.expectedExport(c).toString("utf8"))
              }
            }
            const manifest = yield* body(`${server.base}/api/v1/ground-truth/manifest?approved_only=false`)
            expect(manifest.status).toBe(200)
            const m = JSON.parse(manifest.body.toString("utf8"))
            const all = Golden.exportCases.find((c) => Golden.query(c.params) === "approved_only=false")
            expect(all).toBeDefined()
            if (all !== undefined) expect(m.rows).toBe(all.jobs.length)
            // Where the database serves one session the log says the exports read with one worker.
            expect(server.output().includes("exports read with one worker")).toBe(target.name === "embedded")
          }),
        // 55 golden cases, twice each, on worker threads: over two minutes on a busy 2-core machine.
        300_000
      )
    }
  )

  if (target.name === "postgres") {
    const seeded = Layer.effectDiscard(Demo.seed({ jobs: 3000, seed: 29 })).pipe(
      Layer.provideMerge(target.layer)
    )
    layer(seeded, { timeout: 300_000, excludeTestServices: true })(
      "workers and the pool on postgres",
      (it) => {
        it.scoped("two exports of 2 workers on a pool of 5 take turns: never more than 5 connections", () =>
          Effect.gen(function* () {
            const db = yield* TestDatabase.TestDatabase
            const server = yield* serverProcess(db.url, [], {
              ...WORKERS,
              GROUND_TRUTH_WORKER_RANGE_ROWS: "100"
            })
            const url = `${server.base}/api/v1/ground-truth/export?approved_only=false`
            let peak = 0
            let done = false
            const watch = yield* Effect.fork(
              Effect.gen(function* () {
                while (!done) {
                  peak = Math.max(peak, (yield* TestDatabase.backends("ground-truth")).length)
                  yield* realSleep(20)
                }
              })
            )
            const [a, b] = yield* Effect.all([body(url), body(url)], { concurrency: "unbounded" })
            done = true
            yield* Fiber.join(watch)
            expect([a.status, b.status]).toEqual([200, 200])
            expect(a.body.equals(b.body)).toBe(true)
            expect(a.body.toString("utf8").split("\n").length - 1).toBe(3000)
            // One export's connection and its two workers' were seen; a second export's were not added.
            expect(peak).toBeGreaterThanOrEqual(3)
            expect(peak).toBeLessThanOrEqual(5)
          })
        )

        it.scoped("workers an export could never be admitted with stop the server with one line", () =>
          Effect.gen(function* () {
            const db = yield* TestDatabase.TestDatabase
            const exit = yield* Effect.exit(
              serverProcess(db.url, [], {
                ...WORKERS,
                GROUND_TRUTH_EXPORT_WORKERS: "3",
                GROUND_TRUTH_DB_POOL: "5"
              })
            )
            expect(Exit.isFailure(exit)).toBe(true)
            const said = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
            expect(said).toContain("server exited with 1")
            expect(said).toContain(
              "GROUND_TRUTH_EXPORT_WORKERS: an export with 3 workers holds 4 connections, more than the 3 reads may hold"
            )
          })
        )
      }
    )
  }
}
