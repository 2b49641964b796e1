/**
 * One consistent snapshot of the database (contract §9): a `REPEATABLE READ`, read-only transaction on
 * one reserved connection, shared by every statement of an export or a stats call, streams included.
 *
 * `SqlClient.withTransaction` wraps an `Effect`; a streamed export outlives any single effect, so the
 * transaction is tied to a scope instead and handed to the statements as their `TransactionConnection`.
 *
 * A snapshot's statements can wait on other sessions: a lock (`LOCK TABLE`, `ALTER TABLE`, `VACUUM
 * FULL`) held on `jobs` keeps the first one waiting for as long as it is held. What a front end wants
 * then is its own (`Waits`): the server bounds the wait (`lock_timeout`), the CLI says what it waits on;
 * both cancel the statement when the reader goes away (Ctrl-C, a client gone), through the database
 * layer's `Canceller`, never through a pooled connection.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { Connection } from "@effect/sql/SqlConnection"
import type { SqlError } from "@effect/sql/SqlError"
import { Clock, Context, Duration, Effect, Fiber, Option, type Scope, Stream } from "effect"
import { importSnapshot, readOnly } from "./internal/transaction.js"
import { SnapshotGone } from "./Workers.js"

/**
 * Cancels the statement backend `pid` runs in the transaction that began at `began` (its `now()`, in
 * microseconds since 1970, as text), and nothing else: once that transaction has ended, its connection may serve another
 * statement, which a late cancel must not reach. From outside the connection and without a pooled one: a
 * busy pool may hand one out only much later. Provided by the database layer where other sessions exist
 * (PostgreSQL; the embedded database serves one session at a time, so nothing there waits on another).
 *
 * @since 0.1.0
 * @category services
 */
export class Canceller extends Context.Tag("@ground-truth/core/Snapshot/Canceller")<
  Canceller,
  { readonly cancel: (pid: number, began: string) => Effect.Effect<void> }
>() {}

/**
 * A statement waiting for a lock another session holds: what it waits for (`relation jobs`,
 * `transactionid`), in which mode, and the sessions it waits on (`4242 (psql, idle in transaction)`).
 *
 * @since 0.1.0
 */
export interface LockWait {
  readonly waited: Duration.Duration
  readonly lock: string
  readonly mode: string
  readonly blockers: ReadonlyArray<string>
}

/**
 * How a front end's snapshots wait on other sessions: `lockTimeout` bounds a wait for a lock (the
 * statement then fails with SQLSTATE 55P03 lock_not_available); `onLockWait` is told, once per
 * statement, when one has waited `after` for a lock. Without this service a statement waits for ever,
 * silently.
 *
 * @since 0.1.0
 * @category services
 */
export class Waits extends Context.Tag("@ground-truth/core/Snapshot/Waits")<
  Waits,
  {
    readonly lockTimeout: Option.Option<Duration.Duration>
    readonly onLockWait: Option.Option<{
      readonly after: Duration.Duration
      readonly report: (wait: LockWait) => Effect.Effect<void>
    }>
  }
>() {}

/** How often a waiting statement's backend is looked at again once `after` has passed. */
const RECHECK = Duration.seconds(2)

/**
 * The clock of the waits on a statement: the database's time passes whatever the program's clock does
 * (under a test clock a cancelled statement's end would never be checked, and its rollback never sent).
 */
const live = Clock.make()

/** After a cancel, how often (ms) the statement is checked, and how long until the next cancel. */
const POLL = 20
const RECANCEL_FIRST = 1_000
const RECANCEL_MAX = 16_000

/** What backend `pid` waits for, when it waits for a lock: one row, or none. */
const lockWait = (sql: SqlClient.SqlClient, pid: number) =>
  sql<{ readonly lock: string; readonly mode: string; readonly blockers: ReadonlyArray<string> }>`
    SELECT l.locktype || coalesce(' ' || l.relation::regclass::text, '') AS lock, l.mode,
           array(SELECT b.pid || ' (' || coalesce(nullif(b.application_name, ''), 'no application name')
                        || ', ' || coalesce(b.state, 'unknown state') || ')'
                 FROM pg_stat_activity b WHERE b.pid = ANY (pg_blocking_pids(l.pid)) ORDER BY b.pid) AS blockers
    FROM pg_locks l WHERE l.pid = ${pid} AND NOT l.granted LIMIT 1`

/**
 * The statements of a connection in a snapshot, each run to its end, or cancelled when the fiber that
 * waits for it is interrupted; either way the statement's end is awaited, so the connection is idle
 * again before anything else runs on it (the rollback). The cancel names the snapshot's transaction, so
 * one that arrives late (the statement ended meanwhile) reaches nothing. Without a canceller a statement
 * just runs to its end. A watcher looks, through another connection, at what a statement still running
 * after `after` waits for.
 */
const guarded = (
  conn: Connection,
  pid: number,
  began: string,
  sql: SqlClient.SqlClient,
  canceller: Option.Option<Context.Tag.Service<Canceller>>,
  waits: Option.Option<Context.Tag.Service<Waits>>
): Connection => {
  if (Option.isNone(canceller)) return through(conn, () => Effect.uninterruptible)
  const cancel = canceller.value.cancel(pid, began)
  // The watcher's query must not run on this connection, which is busy: the snapshot's connection is
  // taken out of its context, so it goes through the pool.
  const outside = <A, E>(effect: Effect.Effect<A, E>) =>
    Effect.mapInputContext(effect, (context: Context.Context<never>) =>
      Context.omit(SqlClient.TransactionConnection)(context)
    )
  const watch = Option.flatMap(waits, (w) => w.onLockWait).pipe(
    Option.map(({ after, report }) => {
      const look = (waited: Duration.Duration): Effect.Effect<void> =>
        outside(lockWait(sql, pid)).pipe(
          Effect.orElseSucceed(() => []),
          Effect.flatMap(([wait]) =>
            wait === undefined
              ? Effect.zipRight(Effect.sleep(RECHECK), look(Duration.sum(waited, RECHECK)))
              : report({ waited, ...wait })
          )
        )
      return Effect.zipRight(Effect.sleep(after), look(after))
    })
  )
  // Cancels until the statement has ended, without waiting for a cancel to be answered: the statement
  // may end first (a cancel's connection may be slow to come). Once is enough when the statement runs
  // already; one that reaches the backend before the statement does (idle, it ignores one) is sent again
  // after a while.
  const stop = (running: Fiber.Fiber<unknown, SqlError>) =>
    Effect.gen(function* () {
      for (let again = RECANCEL_FIRST; ; again = Math.min(again * 2, RECANCEL_MAX)) {
        yield* Effect.forkDaemon(cancel)
        for (let waited = 0; waited < again; waited += POLL) {
          if (Option.isSome(yield* Fiber.poll(running))) return
          yield* Effect.sleep(Duration.millis(POLL))
        }
      }
    })
  const guard = <A>(statement: Effect.Effect<A, SqlError>): Effect.Effect<A, SqlError> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* () {
        const running = yield* Effect.fork(statement)
        const watcher = Option.isSome(watch)
          ? Option.some(yield* Effect.fork(Effect.interruptible(Effect.withClock(watch.value, live))))
          : Option.none()
        const exit = yield* restore(Fiber.await(running)).pipe(
          Effect.onInterrupt(() => Effect.withClock(stop(running), live))
        )
        // Not awaited: a look under way must not hold the statement's result.
        if (Option.isSome(watcher)) yield* Fiber.interruptFork(watcher.value)
        return yield* exit
      })
    )
  // A FETCH from the declared cursor runs to its end: it takes no lock (the DECLARE took them) and reads
  // one batch. Guarding each one cost a third more wall time at 100k jobs (the fiber that waits for the
  // statement resumes behind the batch being serialized, so the next FETCH no longer overlaps it).
  return through(conn, (statement) => (statement.startsWith("FETCH ") ? Effect.uninterruptible : guard))
}

/** `conn` with each statement run through what `how` picks for its text. */
const through = (
  conn: Connection,
  how: (statement: string) => <A>(self: Effect.Effect<A, SqlError>) => Effect.Effect<A, SqlError>
): Connection => ({
  execute: (s, p, t) => how(s)(conn.execute(s, p, t)),
  executeRaw: (s, p) => how(s)(conn.executeRaw(s, p)),
  executeValues: (s, p) => how(s)(conn.executeValues(s, p)),
  executeUnprepared: (s, p, t) => how(s)(conn.executeUnprepared(s, p, t)),
  executeStream: (s, p, t) => conn.executeStream(s, p, t)
})

/**
 * The snapshot's settings: no JIT, and times written as ISO text (`created_at::text`, a key a range or a
 * plan's shard reads back in another session: another DateStyle would write `01/02/2024 11:04:05 CST`,
 * which reads back as another instant or day).
 */
const SETTINGS = "set_config('jit', 'off', true), set_config('DateStyle', 'ISO', true)"

/**
 * Begins the snapshot transaction on a reserved connection for the current scope; it commits when the
 * scope closes successfully and rolls back otherwise. JIT is off: it costs ~130 ms per statement and
 * buys nothing for an ordered index scan (`SETTINGS`). The statements it hands out are guarded (see `guarded`).
 *
 * Uninterruptible while it reserves and begins: a request abandoned while it waits for a pooled
 * connection would leave the connection the pool hands over later checked out for good, since the
 * driver's callback has no one left to release it. BEGIN takes no lock; the statements after it may.
 */
const beginWith = <E = never>(
  canceller: Option.Option<Context.Tag.Service<Canceller>>,
  waits: Option.Option<Context.Tag.Service<Waits>>,
  first: (conn: Connection) => Effect.Effect<void, E> = () => Effect.void
): Effect.Effect<Connection, SqlError | E, SqlClient.SqlClient | Scope.Scope> =>
  Effect.uninterruptible(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const conn = yield* readOnly
      yield* first(conn)
      const lockTimeout = Option.flatMap(waits, (w) => w.lockTimeout)
      const [{ pid, began }] = yield* conn.executeUnprepared(
        Option.isSome(lockTimeout)
          ? `SELECT pg_backend_pid() AS pid, (extract(epoch FROM now()) * 1000000)::bigint::text AS began, ${SETTINGS}, set_config('lock_timeout', $1, true)`
          : `SELECT pg_backend_pid() AS pid, (extract(epoch FROM now()) * 1000000)::bigint::text AS began, ${SETTINGS}`,
        Option.isSome(lockTimeout)
          ? [`${Math.max(1, Math.round(Duration.toMillis(lockTimeout.value)))}ms`]
          : [],
        undefined
      )
      return guarded(conn, pid as number, began as string, sql, canceller, waits)
    })
  )

/** Imports the snapshot another transaction exported, or fails: it is no longer held. */
const importing = (snapshot: string) => (conn: Connection) =>
  Effect.flatMap(importSnapshot(conn, snapshot), (imported) =>
    Option.isSome(imported) ? Effect.void : Effect.fail(new SnapshotGone({ snapshot }))
  )

/**
 * A front end's snapshots, with the `Canceller` and the `Waits` its context holds (each optional):
 * `stream` and `effect` run their statements in one snapshot; `held`, in one kept until the caller's
 * scope closes (a plan's, which other sessions import); `imported`, in the snapshot another transaction
 * exported and still holds. Export, Stats and Review build one.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const canceller = yield* Effect.serviceOption(Canceller)
  const waits = yield* Effect.serviceOption(Waits)
  const begin = beginWith(canceller, waits)
  const provided = Effect.provideService(SqlClient.SqlClient, sql)
  const streamOn = <A, E, R, E2>(
    self: Stream.Stream<A, E, R>,
    begun: Effect.Effect<Connection, SqlError | E2, SqlClient.SqlClient | Scope.Scope>
  ): Stream.Stream<A, E | E2 | SqlError, Exclude<R, SqlClient.TransactionConnection>> =>
    Stream.unwrapScoped(
      provided(
        Effect.map(begun, (conn) => Stream.provideService(self, SqlClient.TransactionConnection, [conn, 0]))
      )
    )
  return {
    stream: <A, E, R>(
      self: Stream.Stream<A, E, R>
    ): Stream.Stream<A, E | SqlError, Exclude<R, SqlClient.TransactionConnection>> => streamOn(self, begin),
    imported: <A, E, R>(
      snapshot: string,
      self: Stream.Stream<A, E, R>
    ): Stream.Stream<A, E | SqlError | SnapshotGone, Exclude<R, SqlClient.TransactionConnection>> =>
      streamOn(self, beginWith(canceller, waits, importing(snapshot))),
    held: <A, E, R>(
      self: Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | SqlError, Exclude<R, SqlClient.TransactionConnection> | Scope.Scope> =>
      provided(
        Effect.flatMap(begin, (conn) =>
          Effect.provideService(self, SqlClient.TransactionConnection, [conn, 0])
        )
      ),
    effect: <A, E, R>(
      self: Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | SqlError, Exclude<Exclude<R, SqlClient.TransactionConnection>, Scope.Scope>> =>
      Effect.scoped(
        provided(
          Effect.flatMap(begin, (conn) =>
            Effect.provideService(self, SqlClient.TransactionConnection, [conn, 0])
          )
        )
      )
  }
})

/**
 * Runs an effect's statements in one snapshot, without a canceller or waits: each runs to its end.
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
    Effect.flatMap(beginWith(Option.none(), Option.none()), (conn) =>
      Effect.provideService(self, SqlClient.TransactionConnection, [conn, 0])
    )
  )
