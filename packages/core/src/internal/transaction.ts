/**
 * A read-only `REPEATABLE READ` transaction on a reserved connection, for the current scope: committed
 * when the scope closes successfully, rolled back otherwise. What a snapshot (`Snapshot`) and a worker
 * that imports one (`Workers`) begin with; the caller says what runs first (that takes the snapshot).
 */
import { SqlClient } from "@effect/sql"
import type { Connection } from "@effect/sql/SqlConnection"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Exit, type Scope } from "effect"

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
