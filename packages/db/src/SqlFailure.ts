/**
 * What a database error means, decided once for every front end: the database is *unavailable* (no
 * connection could be had, or the one in use was lost: the server answers 503 and recovers by itself),
 * its *schema is missing* (`pnpm ground-truth migrate` creates it), or the statement failed for another
 * reason. The readable line stays `Database.describeSqlError`.
 *
 * The decision reads codes:
 * - the SQLSTATE the database sent, on the `pg` driver's `DatabaseError` (PGlite is PostgreSQL and sends
 *   the same ones through its socket server: 42P01 for a missing table);
 * - the Node.js error code of a socket that could not connect or broke (`ECONNREFUSED`, `ECONNRESET`…).
 *
 * and, where there is no code, whole messages (never a substring), each written in one place:
 * - the step `@effect/sql-pg` names in its own `SqlError` message (`Failed to acquire connection`…): a
 *   failure to get a connection is unavailability whatever its cause (no server, a time limit, a FATAL at
 *   start-up such as 53300, a wrong password), since no statement ran; see `connectionSteps`;
 * - the `pg` driver's own errors, created with `new Error(message)` and no code, when the socket ends
 *   under a client (`Connection terminated unexpectedly`: the server, or the embedded database's socket
 *   server, closed it; that is how the embedded database drops a connection, it never sends 57P01) and
 *   when a statement is given to a client whose connection already broke (`Client has encountered a
 *   connection error and is not queryable`); see `driverMessages` (`pg` 8, `lib/client.js` and
 *   `pg-pool/index.js`).
 *
 * A statement that meets the embedded database's full disk (53100 disk_full, its message rewritten in
 * `Embedded`) is `other`: waiting does not bring the space back.
 *
 * @since 0.1.0
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Predicate } from "effect"

/**
 * - `unavailable`: no connection, or the connection was lost (the database is down, restarting,
 *   unreachable, full of connections): worth retrying later;
 * - `schema_missing`: a table does not exist (42P01 undefined_table): the schema was never created;
 * - `lock_timeout`: a statement waited longer than `lock_timeout` for a lock another session holds (55P03
 *   lock_not_available): worth retrying once that session is done;
 * - `other`: any other database error.
 *
 * @since 0.1.0
 */
export type Kind = "unavailable" | "schema_missing" | "lock_timeout" | "other"

/**
 * SQLSTATEs of a database that cannot serve the connection (beside class 08, connection_exception):
 * 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up or shutting down),
 * 57P04 database_dropped, 57P05 idle_session_timeout, 53300 too_many_connections.
 */
const unavailableStates: ReadonlySet<string> = new Set(["57P01", "57P02", "57P03", "57P04", "57P05", "53300"])

/** Node.js socket and name-resolution codes: the server cannot be reached, or the connection broke. */
const unavailableSystemCodes: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN"
])

/** 42P01 undefined_table. */
const UNDEFINED_TABLE = "42P01"

/** 55P03 lock_not_available: `lock_timeout` passed (or `NOWAIT`). */
const LOCK_NOT_AVAILABLE = "55P03"

/**
 * The messages `@effect/sql-pg` gives its `SqlError` when it could not get a connection at all (its pool's
 * `connect`, `PgClient.make`'s first query, its time limit), or when the client it held broke between
 * statements (`Connection error`, from the client's `error` event).
 */
const connectionSteps: ReadonlySet<string> = new Set([
  "Failed to acquire connection",
  "Failed to acquire connection for transaction",
  "Failed to acquire connection for listen",
  "PgClient: Failed to connect",
  "PgClient: Connection timed out",
  "Connection error"
])

/**
 * The `pg` driver's errors that say the connection is gone and carry no code (`pg` 8: `lib/client.js`,
 * `pg-pool/index.js`): the socket ended, the connect timeout fired, or the client is used after either.
 */
const driverMessages: ReadonlySet<string> = new Set([
  "Connection terminated unexpectedly",
  "Connection terminated",
  "Connection terminated due to connection timeout",
  "timeout expired",
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error and is not queryable",
  "Client was closed and is not queryable"
])

/**
 * The code of a database error's cause: its SQLSTATE (`42P01`) when the database answered, its Node.js
 * error code (`ECONNREFUSED`) when the socket failed; `undefined` when the driver gave none.
 *
 * @since 0.1.0
 */
export const code = (e: SqlError): string | undefined =>
  Predicate.hasProperty(e.cause, "code") && Predicate.isString(e.cause.code) ? e.cause.code : undefined

/**
 * What `e` means: the database `unavailable`, its `schema_missing`, a `lock_timeout`, or an `other` error.
 *
 * @since 0.1.0
 */
export const classify = (e: SqlError): Kind => {
  const c = code(e)
  if (c !== undefined) {
    if (c.startsWith("08") || unavailableStates.has(c) || unavailableSystemCodes.has(c)) return "unavailable"
    if (c === UNDEFINED_TABLE) return "schema_missing"
    if (c === LOCK_NOT_AVAILABLE) return "lock_timeout"
  }
  if (connectionSteps.has(e.message)) return "unavailable"
  if (c === undefined && e.cause instanceof Error && driverMessages.has(e.cause.message)) return "unavailable"
  return "other"
}

/**
 * Is the database unavailable (rather than failing a statement)? `classify(e) === "unavailable"`.
 *
 * @since 0.1.0
 */
export const isUnavailable = (e: SqlError): boolean => classify(e) === "unavailable"

/**
 * What the user can do about `e`, when there is one thing: for a missing schema, run the migrations.
 *
 * @since 0.1.0
 */
export const remedy = (e: SqlError): string | undefined =>
  classify(e) === "schema_missing" ? "run `pnpm ground-truth migrate` to create the tables" : undefined
