/**
 * An export abandoned while it waits for a pooled connection must not take that connection with it:
 * on a pool of one, held elsewhere, an export is started and interrupted while it queues; once the
 * holder lets go, the next export must get the connection. (The driver hands a queued waiter its
 * connection in a callback; a waiter that was interrupted would leave it checked out for good.)
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { expect, layer } from "@effect/vitest"
import { Export, Filter } from "@ground-truth/core"
import { Effect, Exit, Fiber, Layer, Option, Redacted, Scope, Stream } from "effect"
import { Demo, TestDatabase } from "../src/index.js"

const all: Filter.Filter = { ...Filter.defaults, approvedOnly: false }

for (const target of TestDatabase.targets()) {
  layer(Layer.effectDiscard(Demo.seed({ jobs: 50, seed: 9 })).pipe(Layer.provideMerge(target.layer)), {
    timeout: 60_000,
    excludeTestServices: true
  })(`a pool of one on ${target.name}`, (it) => {
    it.scoped(
      "an export interrupted while queued for a connection does not keep it",
      () =>
        Effect.gen(function* () {
          const { url } = yield* TestDatabase.TestDatabase
          const one = yield* PgClient.make({ url: Redacted.make(url), maxConnections: 1 })
          const exported = Export.Export.pipe(
            Effect.flatMap((e) => Stream.runCollect(e.stream(all))),
            Effect.provide(Export.Export.Default),
            Effect.provideService(SqlClient.SqlClient, one)
          )
          const holder = yield* Scope.make()
          yield* Scope.extend(one.reserve, holder)
          const queued = yield* Effect.fork(exported)
          yield* Effect.sleep("100 millis")
          expect(Option.isNone(yield* Fiber.poll(queued))).toBe(true)
          // The interruption is delivered while the export still waits; it completes once the export has
          // its connection and has given it back.
          yield* Fiber.interruptFork(queued)
          yield* Effect.sleep("100 millis")
          yield* Scope.close(holder, Exit.void)
          expect(Exit.isInterrupted(yield* Fiber.await(queued))).toBe(true)
          const next = yield* exported.pipe(Effect.timeout("10 seconds"))
          expect(next.length).toBeGreaterThan(0)
        }).pipe(Effect.provide(Reactivity.layer)),
      30_000
    )
  })
}
