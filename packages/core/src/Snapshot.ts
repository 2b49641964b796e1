/**
 * One consistent snapshot of the database (contract §9): a `REPEATABLE READ`, read-only transaction on
 * one reserved connection, shared by every statement of an export or a stats call, streams included.
 *
 * `SqlClient.withTransaction` wraps an `Effect`; a streamed export outlives any single effect, so the
 * transaction is tied to a scope instead and handed to the statements as their `TransactionConnection`.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import type { Connection } from "@effect/sql/SqlConnection"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Exit, type Scope, Stream } from "effect"

/**
 * Begins the snapshot transaction on a reserved connection for the current scope; it commits when the
 * scope closes successfully and rolls back otherwise. JIT is off: it costs ~130 ms per statement and
 * buys nothing for an ordered index scan.
 *
 * Uninterruptible (an export whose client went away stops right after): a request abandoned while it
 * waits for a pooled connection would leave the connection the pool hands over later checked out for
 * good, since the driver's callback has no one left to release it; and an interrupted statement is
 * cancelled through another pooled connection, which a busy pool may hand out only much later, to
 * cancel whatever that backend runs by then.
 *
 * @since 0.1.0
 */
export const begin: Effect.Effect<Connection, SqlError, SqlClient.SqlClient | Scope.Scope> =
  Effect.uninterruptible(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const conn = yield* sql.reserve
      yield* Effect.acquireRelease(
        conn.executeUnprepared("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", [], undefined),
        (_, exit) =>
          Effect.ignore(conn.executeUnprepared(Exit.isSuccess(exit) ? "COMMIT" : "ROLLBACK", [], undefined))
      )
      yield* conn.executeUnprepared("SET LOCAL jit = off", [], undefined)
      return conn
    })
  )

/**
 * Runs a stream's statements in one snapshot.
 *
 * @since 0.1.0
 */
export const stream = <A, E, R>(
  self: Stream.Stream<A, E, R>
): Stream.Stream<A, E | SqlError, Exclude<R, SqlClient.TransactionConnection> | SqlClient.SqlClient> =>
  Stream.unwrapScoped(
    Effect.map(begin, (conn) => Stream.provideService(self, SqlClient.TransactionConnection, [conn, 0]))
  )

/**
 * Runs an effect's statements in one snapshot.
 *
 * @since 0.1.0
 */
export const effect = <A, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<
  A,
  E | SqlError,
  Exclude<Exclude<R, SqlClient.TransactionConnection>, Scope.Scope> | SqlClient.SqlClient
> =>
  Effect.scoped(
    Effect.flatMap(begin, (conn) => Effect.provideService(self, SqlClient.TransactionConnection, [conn, 0]))
  )
