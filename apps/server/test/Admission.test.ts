/**
 * Reads under load and behind a lock (issue 28, finding 7), on a cluster of the test's own: a table lock
 * takes a transaction id, which would hold back every other test's snapshots on a shared server.
 *
 * - reads take a slot (the pool's connections but two): `/healthz` keeps its connections; reads past the
 *   slots wait in a bounded queue, one more is a 503 `server_busy` with `Retry-After`, at once;
 * - a read waits at most `GROUND_TRUTH_LOCK_TIMEOUT` for a lock (a 503 `lock_timeout`), and the log
 *   names the lock and who holds it;
 * - a client that gives up has its statement cancelled: its connection comes back while the lock is
 *   still held.
 *
 * Skipped where the PostgreSQL server binaries are absent.
 */
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Demo, Migrations, TestCluster } from "@ground-truth/db"
import { Effect, Fiber } from "effect"
import { type ErrorBody, realSleep, serverProcess } from "./server.js"

const EXPORT = "/api/v1/ground-truth/export?approved_only=false"

/** A primary with the schema and 300 demo jobs, and a client of it. */
const primary = Effect.gen(function* () {
  const cluster = yield* TestCluster.make
  const node = yield* cluster.primary("p")
  const sql = yield* cluster.client(node)
  yield* Effect.orDie(Effect.provideService(Migrations.run, SqlClient.SqlClient, sql))
  yield* Effect.orDie(Effect.provideService(Demo.seed({ jobs: 300, seed: 28 }), SqlClient.SqlClient, sql))
  return { node, sql }
})

/** The server's backends (application `ground-truth`) and what each waits on. */
const serverBackends = (sql: SqlClient.SqlClient) =>
  sql<{ readonly state: string | null; readonly wait: string | null }>`
    SELECT state, wait_event_type AS wait FROM pg_stat_activity WHERE application_name = 'ground-truth'`.pipe(
    Effect.orDie
  )

/** Polls `check` every 100 ms, for up to 30 s, until it holds; whether it did. */
const eventually = (check: Effect.Effect<boolean>) =>
  Effect.gen(function* () {
    for (let i = 0; i < 300; i++) {
      if (yield* check) return true
      yield* realSleep(100)
    }
    return false
  })

interface Answer {
  readonly status: number
  readonly code: string | undefined
  readonly retryAfter: string | null
  readonly at: number
}

/** A GET whose answer is read whole: its status, error code, Retry-After and when it came. */
const ask = (url: string, signal?: AbortSignal) =>
  Effect.promise(async (): Promise<Answer> => {
    const response = await fetch(url, signal === undefined ? {} : { signal })
    const text = await response.text()
    const code = response.status >= 400 ? (JSON.parse(text) as ErrorBody).error.code : undefined
    return { status: response.status, code, retryAfter: response.headers.get("retry-after"), at: Date.now() }
  })

describe.skipIf(TestCluster.binaries() === undefined)("reads under load and behind a lock", () => {
  it.scopedLive(
    "slots, a bounded queue and a lock timeout: server_busy at once, lock_timeout after the limit, /healthz answers throughout",
    () =>
      Effect.gen(function* () {
        const { node, sql } = yield* primary
        // A pool of 4: two read slots; two reads may wait.
        const server = yield* serverProcess(node.url, [], {
          GROUND_TRUTH_DB_POOL: "4",
          GROUND_TRUTH_EXPORT_QUEUE: "2",
          GROUND_TRUTH_LOCK_TIMEOUT: "3 seconds"
        })
        const lock = yield* TestCluster.lockJobs(sql)
        const reads = yield* Effect.forkScoped(
          Effect.all(
            Array.from({ length: 5 }, () => ask(`${server.base}${EXPORT}`)),
            { concurrency: "unbounded" }
          )
        )
        // While two reads wait for the lock and two for a slot, the health check has its connections.
        yield* eventually(
          Effect.map(serverBackends(sql), (rows) => rows.filter((r) => r.wait === "Lock").length === 2)
        )
        const health = yield* Effect.all(Array.from({ length: 3 }, () => ask(`${server.base}/healthz`)))
        const answers = yield* Fiber.join(reads)
        yield* lock.release

        expect(health.map((h) => h.status)).toEqual([200, 200, 200])
        const busy = answers.filter((a) => a.code === "server_busy")
        const timedOut = answers.filter((a) => a.code === "lock_timeout")
        expect(busy).toHaveLength(1)
        expect(timedOut).toHaveLength(4)
        for (const a of [...busy, ...timedOut]) {
          expect(a.status).toBe(503)
          expect(Number(a.retryAfter)).toBeGreaterThan(0)
        }
        // The refused read was answered before any read waiting for the lock gave up.
        expect(busy[0].at).toBeLessThan(Math.min(...timedOut.map((a) => a.at)))
        // The log named the lock and the session holding it.
        const warnings = server
          .output()
          .split("\n")
          .filter((l) => l.includes("a read waits for a lock another session holds"))
          .map((l) => JSON.parse(l) as { annotations: Record<string, unknown> })
        expect(warnings.length).toBeGreaterThan(0)
        expect(warnings[0].annotations).toMatchObject({ lock: "relation jobs", mode: "AccessShareLock" })
        expect(String(warnings[0].annotations.held_by)).toMatch(new RegExp(`^${lock.pid} \\(`))
        // With the lock gone, the slots are free again: a whole export.
        const after = yield* ask(`${server.base}${EXPORT}`)
        expect(after.status).toBe(200)
      }),
    300_000
  )

  it.scopedLive(
    "clients that give up: their statements are cancelled and their connections come back at once",
    () =>
      Effect.gen(function* () {
        const { node, sql } = yield* primary
        const server = yield* serverProcess(node.url, [], {
          GROUND_TRUTH_DB_POOL: "4",
          GROUND_TRUTH_LOCK_TIMEOUT: "10 minutes"
        })
        const lock = yield* TestCluster.lockJobs(sql)
        const controller = new AbortController()
        // As many reads as the pool has connections: a cancel through the pool (the driver's own) would
        // find none free, and the statements would wait for the lock, holding every connection.
        const reads = yield* Effect.forkScoped(
          Effect.all(
            Array.from({ length: 4 }, () =>
              Effect.either(
                Effect.tryPromise(() => fetch(`${server.base}${EXPORT}`, { signal: controller.signal }))
              )
            ),
            { concurrency: "unbounded" }
          )
        )
        expect(
          yield* eventually(
            Effect.map(serverBackends(sql), (rows) => rows.filter((r) => r.wait === "Lock").length >= 2)
          )
        ).toBe(true)
        // The other two reach their place: a slot's queue (or, without slots, the lock too).
        yield* realSleep(1000)
        const waiting = (yield* serverBackends(sql)).filter((r) => r.wait === "Lock").length
        controller.abort()
        yield* Fiber.join(reads)
        // Every statement is cancelled while the lock is still held: no backend of the server waits on it.
        const idle = yield* eventually(
          Effect.map(serverBackends(sql), (rows) => rows.every((r) => r.state === "idle"))
        )
        const left = yield* serverBackends(sql)
        yield* lock.release
        console.log(
          `4 reads behind a lock, pool 4: ${waiting} waited on the lock; after their clients gave up: ${JSON.stringify(left)}`
        )
        expect(waiting).toBe(2)
        expect(idle, JSON.stringify(left)).toBe(true)
        expect((yield* ask(`${server.base}${EXPORT}`)).status).toBe(200)
      }),
    300_000
  )
})
