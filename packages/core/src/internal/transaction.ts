/**
 * A read-only `REPEATABLE READ` transaction on a reserved connection, for the current scope: committed
 * when the scope closes successfully, rolled back otherwise. What a snapshot (`Snapshot`) and a worker
 * that imports one (`Workers`) begin with; the caller says what runs first (that takes the snapshot, or
 * imports one: `importSnapshot`).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { Connection } from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import { Effect, Exit, Option, type Scope } from "effect"

export const readOnly: Effect.Effect<Connection, SqlError, SqlClient.SqlClient | Scope.Scope> = Effect.gen(
  function* () {
    const sql = yield* SqlClient.SqlClient
    const conn = yield* sql.reserve
    yield* Effect.acquireRelease(
      conn.executeUnprepared("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", [], undefined),
      (_, exit) =>
        Effect.ignore(conn.executeUnprepared(Exit.isSuccess(exit) ? "COMMIT" : "ROLLBACK", [], undefined))
    )
    return conn
  }
)

/**
 * What `SET TRANSACTION SNAPSHOT` fails with when it names no snapshot exported now: 22023
 * invalid_parameter_value (PostgreSQL 15: "invalid snapshot identifier"), or 42704 undefined_object
 * ("snapshot … does not exist", in later versions).
 */
const NO_SUCH_SNAPSHOT: ReadonlySet<unknown> = new Set(["22023", "42704"])

/**
 * A snapshot read while its exporting transaction was still running, which ended before it could be
 * installed (55000 object_not_in_prerequisite_state, "could not import the requested snapshot: the
 * source process … is not running anymore"): gone as well. A plan whose hold ends while one of its shards
 * is being opened answered that with a 500.
 */
const SOURCE_ENDED = "55000"

/** Whether a failure of `SET TRANSACTION SNAPSHOT` says the snapshot is no longer held. @internal */
export const isSnapshotGone = (e: unknown): boolean => {
  const cause =
    e instanceof SqlError
      ? (e.cause as { readonly code?: unknown; readonly message?: unknown } | undefined)
      : undefined
  return (
    NO_SUCH_SNAPSHOT.has(cause?.code) ||
    (cause?.code === SOURCE_ENDED &&
      typeof cause.message === "string" &&
      cause.message.startsWith("could not import the requested snapshot"))
  )
}

/**
 * Makes the transaction just begun on `conn` read the snapshot another transaction exported
 * (`pg_export_snapshot()`): its first statement. `None` when that snapshot is no longer held (the
 * exporting transaction ended, or another server was asked); any other failure is the `SqlError`.
 */
export const importSnapshot = (
  conn: Connection,
  snapshot: string
): Effect.Effect<Option.Option<void>, SqlError> =>
  // A literal: SET takes no parameters. The identifier is ours (pg_export_snapshot's), quoted anyway.
  conn
    .executeUnprepared(`SET TRANSACTION SNAPSHOT '${snapshot.replaceAll("'", "''")}'`, [], undefined)
    .pipe(
      Effect.as(Option.some<void>(undefined)),
      Effect.catchIf(isSnapshotGone, () => Effect.succeedNone)
    )
