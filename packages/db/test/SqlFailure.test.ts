/**
 * `SqlFailure.classify` on real errors, as the drivers raise them: a refused connection, a connection
 * dropped under a statement (by a TCP proxy, by the embedded database's socket server, by PostgreSQL's
 * pg_terminate_backend), a connection limit, a missing table, and an ordinary statement error.
 */
import * as net from "node:net"
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { describe, expect, it, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Fiber, Layer, Redacted, Schedule, Scope } from "effect"
import { Database, Embedded, SqlFailure, TestDatabase } from "../src/index.js"

/** A loopback port nothing listens on: bound, then closed. */
const closedPort = Effect.async<number>((resume) => {
  const server = net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as net.AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** The live layer (`Database.layer`, a pool that connects on first use) on `url`. */
const live = (url: string) =>
  Layer.orDie(Database.layer).pipe(
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["DATABASE_URL", url]]))))
  )

const select1 = Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1`)

/** How the error reads, for assertions: its step, its code or else its cause's message. */
const shape = (e: SqlError) => ({
  kind: SqlFailure.classify(e),
  message: e.message,
  code: SqlFailure.code(e) ?? (e.cause instanceof Error ? e.cause.message : String(e.cause))
})

/** What `shape` gives for an unavailable database: the step that failed and the code. */
const unavailable = (message: string, code: string) => ({ kind: "unavailable", message, code })

/**
 * A TCP proxy in front of a database whose connections can be cut: at once, or as the client sends its
 * next message (a statement then fails in flight). `end` closes them as a server going away does (FIN),
 * `reset` aborts them (RST).
 */
const proxy = (target: URL) =>
  Effect.acquireRelease(
    Effect.async<{
      readonly url: string
      readonly cut: (how: "end" | "reset") => void
      /** `undefined` disarms. */
      readonly cutOnNextMessage: (how: "end" | "reset" | undefined) => void
      readonly close: () => Promise<void>
    }>((resume) => {
      const pairs = new Set<readonly [net.Socket, net.Socket]>()
      let armed: "end" | "reset" | undefined
      const cutPair = ([client, upstream]: readonly [net.Socket, net.Socket], how: "end" | "reset") => {
        if (how === "reset") client.resetAndDestroy()
        else client.destroy()
        upstream.destroy()
      }
      const cut = (how: "end" | "reset") => {
        for (const pair of pairs) cutPair(pair, how)
      }
      const server = net.createServer((client) => {
        const upstream = net.connect(Number(target.port), target.hostname)
        const pair = [client, upstream] as const
        pairs.add(pair)
        client.on("data", (data) => {
          if (armed === undefined) upstream.write(data)
          else cutPair(pair, armed)
        })
        upstream.pipe(client)
        const forget = () => pairs.delete(pair)
        client.on("error", () => upstream.destroy()).on("close", forget)
        upstream.on("error", () => client.destroy())
      })
      server.listen(0, "127.0.0.1", () => {
        const url = new URL(target)
        url.host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`
        resume(
          Effect.succeed({
            url: url.toString(),
            cut,
            cutOnNextMessage: (how) => {
              armed = how
            },
            close: () => {
              cut("end")
              return new Promise<void>((done) => server.close(() => done()))
            }
          })
        )
      })
    }),
    (p) => Effect.promise(p.close)
  )

/** A client of its own (a pool of one) on `url`, for the scope. */
const clientOn = (url: string) =>
  PgClient.make({ url: Redacted.make(url), maxConnections: 1 }).pipe(Effect.provide(Reactivity.layer))

describe("a database that cannot be reached is unavailable", () => {
  it.effect("a refused connection (a closed port), through the live layer's pool", () =>
    Effect.gen(function* () {
      const port = yield* closedPort
      for (const host of ["127.0.0.1", "localhost"]) {
        const e = yield* Effect.flip(
          Effect.provide(select1, live(`postgres://postgres@${host}:${port}/none`))
        )
        expect(shape(e)).toEqual(unavailable("Failed to acquire connection", "ECONNREFUSED"))
        expect(Database.describeSqlError(e)).toMatch(/^Failed to acquire connection: connect ECONNREFUSED/)
        expect(SqlFailure.remedy(e)).toBeUndefined()
      }
    })
  )

  it.scoped("a refused connection, through a client that connects at start (PgClient.make)", () =>
    Effect.gen(function* () {
      const port = yield* closedPort
      const e = yield* Effect.flip(clientOn(`postgres://postgres@127.0.0.1:${port}/none`))
      expect(shape(e)).toEqual(unavailable("PgClient: Failed to connect", "ECONNREFUSED"))
    })
  )

  it.scoped("the embedded database's socket server dropping its connections (it never sends 57P01)", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const db = yield* Scope.extend(Embedded.start({ dataDir: "memory://", maxConnections: 4 }), scope)
      const client = yield* clientOn(`postgres://postgres@${db.host}:${db.port}/postgres`)
      const dropped = yield* Effect.scoped(
        Effect.gen(function* () {
          const connection = yield* client.reserve
          yield* connection.executeRaw("SELECT 1", [])
          yield* Scope.close(scope, Exit.void)
          return yield* Effect.flip(connection.executeRaw("SELECT 1", []))
        })
      )
      // The socket closed (FIN) under the statement, or before it was sent.
      expect(shape(dropped)).toMatchObject({ kind: "unavailable", message: "Failed to execute statement" })
      expect([
        "Connection terminated unexpectedly",
        "Client has encountered a connection error and is not queryable"
      ]).toContain(shape(dropped).code)
      // Then nothing listens: a new connection is refused.
      const refused = yield* Effect.flip(client`SELECT 1`)
      expect(shape(refused)).toEqual(unavailable("Failed to acquire connection", "ECONNREFUSED"))
    })
  )
})

for (const target of TestDatabase.targets()) {
  layer(target.layer, { timeout: 60_000, excludeTestServices: true })(
    `SqlFailure on ${target.name}`,
    (it) => {
      it.effect("a missing table is schema_missing, with the migrate hint", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const e = yield* Effect.flip(sql`SELECT 1 FROM no_such_table`)
          expect(shape(e)).toEqual({
            kind: "schema_missing",
            message: "Failed to execute statement",
            code: "42P01"
          })
          expect(Database.describeSqlError(e)).toBe(
            'Failed to execute statement: relation "no_such_table" does not exist'
          )
          expect(SqlFailure.remedy(e)).toBe("run `pnpm ground-truth migrate` to create the tables")
        })
      )

      it.effect("another statement error is other", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const e = yield* Effect.flip(sql`SELECT 1 / 0`)
          expect(shape(e)).toEqual({ kind: "other", message: "Failed to execute statement", code: "22012" })
          expect(SqlFailure.remedy(e)).toBeUndefined()
        })
      )

      it.scoped("a connection dropped under a statement (FIN or RST), and between statements", () =>
        Effect.gen(function* () {
          const { url } = yield* TestDatabase.TestDatabase
          const p = yield* proxy(new URL(url))
          const client = yield* clientOn(p.url)

          // In flight, on the pooled connection PgClient.make opened: the socket ends (FIN) as the statement
          // goes out. The driver fails the statement and the client reports the error: the step is whichever
          // @effect/sql-pg hears of first.
          const steps = ["Failed to execute statement", "Connection error"]
          p.cutOnNextMessage("end")
          const ended = shape(yield* Effect.flip(client`SELECT 1`))
          expect(ended).toMatchObject({ kind: "unavailable", code: "Connection terminated unexpectedly" })
          expect(steps).toContain(ended.message)

          // The pool opens a new connection: aborted (RST) as it starts, it was never acquired.
          p.cutOnNextMessage("reset")
          const starting = shape(yield* Effect.flip(client`SELECT 1`))
          expect(starting).toEqual(unavailable("Failed to acquire connection", "ECONNRESET"))

          // Aborted under a statement: the driver passes the socket's ECONNRESET on.
          p.cutOnNextMessage(undefined)
          yield* client`SELECT 1`
          p.cutOnNextMessage("reset")
          const reset = shape(yield* Effect.flip(client`SELECT 1`))
          expect(reset).toMatchObject({ kind: "unavailable", code: "ECONNRESET" })
          expect(steps).toContain(reset.message)

          // Between statements, on a reserved connection: the next statement finds the client broken.
          p.cutOnNextMessage(undefined)
          yield* Effect.scoped(
            Effect.gen(function* () {
              const connection = yield* client.reserve
              yield* connection.executeRaw("SELECT 1", [])
              p.cut("end")
              yield* Effect.sleep("200 millis")
              const broken = yield* Effect.flip(connection.executeRaw("SELECT 1", []))
              expect(shape(broken)).toEqual(
                unavailable(
                  "Failed to execute statement",
                  "Client has encountered a connection error and is not queryable"
                )
              )
            })
          )
          // The pool recovers by itself: the next statement opens a new connection.
          expect(yield* client`SELECT 1 AS one`).toEqual([{ one: 1 }])
        })
      )

      if (target.name === "postgres") {
        it.scoped("pg_terminate_backend under a statement is 57P01 admin_shutdown", () =>
          Effect.gen(function* () {
            const { url } = yield* TestDatabase.TestDatabase
            const client = yield* clientOn(url)
            const sleeping = yield* Effect.fork(Effect.flip(client`SELECT pg_sleep(30) AS sqlfailure_victim`))
            yield* TestDatabase.terminateBackends("sqlfailure_victim").pipe(
              Effect.filterOrFail((pids) => pids.length > 0),
              Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.compose(Schedule.recurs(500))))
            )
            const e = yield* Fiber.join(sleeping)
            expect(shape(e)).toEqual(unavailable("Failed to execute statement", "57P01"))
          })
        )

        it.scoped("a lock held past lock_timeout is 55P03 lock_timeout, not unavailable", () =>
          Effect.gen(function* () {
            const { url } = yield* TestDatabase.TestDatabase
            // An advisory lock: a table lock would take a transaction id, which holds back every other
            // test's snapshots on the shared server while it is held.
            const holder = yield* clientOn(url)
            const waiter = yield* clientOn(url)
            const key = 28_000 + (process.pid % 1000)
            // Held by the session (its pool has one connection), so that the waiter's transaction is not
            // the holder's: the transaction connection is the fiber's, whichever client asks.
            yield* Effect.acquireRelease(holder`SELECT pg_advisory_lock(${key})`, () =>
              Effect.ignore(holder`SELECT pg_advisory_unlock(${key})`)
            )
            const e = yield* Effect.flip(
              waiter.withTransaction(
                Effect.zipRight(
                  waiter`SET LOCAL lock_timeout = '100ms'`,
                  waiter`SELECT pg_advisory_lock(${key})`
                )
              )
            )
            expect(shape(e)).toEqual({
              kind: "lock_timeout",
              message: "Failed to execute statement",
              code: "55P03"
            })
            expect(SqlFailure.isUnavailable(e)).toBe(false)
          })
        )

        it.scoped("a role over its connection limit is 53300 too_many_connections", () =>
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const { url } = yield* TestDatabase.TestDatabase
            const role = `gt_limited_${process.pid}_${Date.now().toString(36)}`
            yield* Effect.acquireRelease(sql.unsafe(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 0`), () =>
              Effect.ignore(sql.unsafe(`DROP ROLE IF EXISTS ${role}`))
            )
            const limited = new URL(url)
            limited.username = role
            const e = yield* Effect.flip(Effect.provide(select1, live(limited.toString())))
            expect(shape(e)).toEqual(unavailable("Failed to acquire connection", "53300"))
          })
        )
      }
    }
  )
}
