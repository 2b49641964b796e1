/**
 * Database faults over HTTP. Unreachable when the server starts: the server still comes up, answers
 * 503 JSON on `/healthz` and on exports, and recovers by itself once the database answers (a TCP proxy
 * that starts listening only later stands in for a database coming back). The export's backend killed
 * mid-stream: the transfer is cut (never a short body that looks complete) and the next export is whole.
 * The `jobs` table locked while the server starts: its warm-up gives up with a warning and it starts anyway.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Demo, TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Deferred, Effect, Either, Fiber, Layer } from "effect"
import { baseUrl, bytes, type ErrorBody, freePort, get, json, proxy, serve, serverProcess } from "./server.js"

const all = Golden.exportCases.find((c) => c.name === "approved_only=false window=none")!

for (const target of TestDatabase.targets()) {
  layer(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer)), {
    timeout: 120_000,
    excludeTestServices: true
  })(`database down at start, on ${target.name}`, (it) => {
    it.scoped("the server starts, answers 503 JSON, and recovers by itself when the database is back", () =>
      Effect.gen(function* () {
        const { url } = yield* TestDatabase.TestDatabase
        const real = new URL(url)
        const port = yield* freePort
        const down = new URL(url)
        down.hostname = "127.0.0.1"
        down.port = String(port)
        const { base } = yield* serverProcess(down.toString())

        const health = yield* get(`${base}/healthz`)
        expect(health.status).toBe(503)
        expect(yield* json(health)).toMatchObject({ status: "unavailable", database: "postgres" })
        const refused = yield* get(`${base}/api/v1/ground-truth/export?approved_only=false`)
        expect(refused.status).toBe(503)
        expect((yield* json<ErrorBody>(refused)).error.code).toBe("database_unavailable")

        yield* proxy(port, real)
        let attempts = 0
        for (; attempts < 100; attempts++) {
          if ((yield* get(`${base}/healthz`)).status === 200) break
          yield* Effect.sleep("100 millis")
        }
        expect(attempts).toBeLessThan(100)
        const exported = yield* get(`${base}/api/v1/ground-truth/export?approved_only=false`)
        expect(exported.status).toBe(200)
        expect((yield* bytes(exported)).equals(Golden.expectedExport(all))).toBe(true)
        console.log(`${target.name}: healthy again ${attempts} polls after the database came back`)
      })
    )
  })
}

const postgres = TestDatabase.targets().find((t) => t.name === "postgres")
if (postgres !== undefined) {
  layer(
    serve(
      Layer.effectDiscard(Demo.seed({ jobs: 20_000, seed: 3, batchSize: 5000 })).pipe(
        Layer.provideMerge(postgres.layer)
      )
    ),
    { timeout: 120_000, excludeTestServices: true }
  )("the export's backend killed mid-stream", (it) => {
    it.effect("the transfer is cut, and the next export is whole", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const response = yield* get(`${base}/api/v1/ground-truth/export?approved_only=false`)
        expect(response.status).toBe(200)
        const reader = response.body!.getReader()
        let received = (yield* Effect.promise(() => reader.read())).value?.length ?? 0
        const killed = yield* TestDatabase.terminateBackends("export_samples")
        expect(killed).toHaveLength(1)
        const rest = yield* Effect.either(
          Effect.tryPromise(async () => {
            for (;;) {
              const { done, value } = await reader.read()
              if (done) return
              received += value.length
            }
          })
        )
        // The body ends in an error, not in a clean end of a shorter corpus.
        expect(Either.isLeft(rest)).toBe(true)
        const next = yield* bytes(yield* get(`${base}/api/v1/ground-truth/export?approved_only=false`))
        expect(next.length).toBeGreaterThan(received)
        expect(next.toString("utf8").split("\n").length - 1).toBe(20_000)
        console.log(
          `backend killed after ${received} of ${next.length} bytes: transfer cut, next export whole`
        )
      })
    )
  })
}

if (postgres !== undefined) {
  layer(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(postgres.layer)), {
    timeout: 120_000,
    excludeTestServices: true
  })("the jobs table locked at start", (it) => {
    it.scoped("the server starts all the same, and exports once the lock is gone", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const { url } = yield* TestDatabase.TestDatabase
        const locked = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        // Another session (a migration, say) holds the lock while the server starts.
        const holder = yield* Effect.fork(
          sql.withTransaction(
            sql`LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE`.pipe(
              Effect.zipRight(Deferred.succeed(locked, undefined)),
              Effect.zipRight(Deferred.await(release))
            )
          )
        )
        yield* Deferred.await(locked)
        const started = Date.now()
        const { base, output } = yield* serverProcess(url)
        const seconds = (Date.now() - started) / 1000
        // The warm-up met the lock, gave up on it and said so, before the server said it listens
        // (the warm-up's statement is then cancelled in the background, so the lock's queue is no witness).
        const lines = output()
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as { message: string; logLevel: string })
        const warned = lines.findIndex((l) => l.message.startsWith("the warm-up export was still waiting"))
        expect(warned).toBeGreaterThanOrEqual(0)
        expect(lines[warned].logLevel).toBe("WARN")
        expect(warned).toBeLessThan(lines.findIndex((l) => l.message === "listening"))
        expect((yield* get(`${base}/healthz`)).status).toBe(200)
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(holder)
        const exported = yield* get(`${base}/api/v1/ground-truth/export?approved_only=false`)
        expect(exported.status).toBe(200)
        expect((yield* bytes(exported)).equals(Golden.expectedExport(all))).toBe(true)
        console.log(
          `jobs locked at start: listening after ${seconds.toFixed(1)} s, export whole once unlocked`
        )
      })
    )
  })
}
