/**
 * The database every front end uses: PostgreSQL when `DATABASE_URL` names one, the embedded PGlite
 * default otherwise. Both are reached through the same `@effect/sql-pg` client, so everything above
 * this layer has one code path.
 *
 * Configuration (read here and nowhere else):
 * - `DATABASE_URL`: a `postgres://` URL, checked by `Configuration.databaseUrl`; unset or empty selects the
 *   embedded default;
 * - `GROUND_TRUTH_DATA_DIR`: where the embedded database keeps its data (default `.data/pglite`;
 *   `memory://` for a throw-away one);
 * - `GROUND_TRUTH_DB_POOL`: the most connections the client opens (default 10).
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Snapshot } from "@ground-truth/core"
import { Config, type ConfigError, Context, Duration, Effect, Layer, Option, Redacted } from "effect"
import pg from "pg"
import * as Configuration from "./Configuration.js"
import * as Demo from "./Demo.js"
import * as Embedded from "./Embedded.js"
import * as ExportWorkers from "./ExportWorkers.js"
import * as Migrations from "./Migrations.js"

/**
 * Which database the layer connected to, for logs and for deciding whether demo data may be seeded.
 *
 * @since 0.1.0
 */
export class DatabaseInfo extends Context.Tag("@ground-truth/db/DatabaseInfo")<
  DatabaseInfo,
  {
    readonly kind: "postgres" | "embedded"
    /** Where it is, without credentials: `host:port/database` or the embedded data directory. */
    readonly location: string
    /** The most connections the client opens at once (`GROUND_TRUTH_DB_POOL`). */
    readonly connections: number
  }
>() {}

/**
 * A pooled connection gives up connecting after 10 s. The pool's own `connectionTimeoutMillis` is not
 * used: it also bounds the wait for a free connection, which would fail every export queued behind
 * long ones (the eleventh of twenty concurrent exports of a large corpus, say).
 */
class Client extends pg.Client {
  constructor(config?: pg.ClientConfig) {
    super({ ...config, connectionTimeoutMillis: 10_000 })
  }
}

/**
 * A client for a PostgreSQL URL over a pool that connects on first use rather than at start (the stock
 * layer refuses to start without an answer): a server comes up while its database is down, answers
 * 503 (`/healthz`, exports) meanwhile, and recovers by itself when the database is back. The CLI fails
 * on its first statement instead, with the same one-line message. The export workers' connections are
 * made the same way.
 *
 * @since 0.1.0
 */
export const postgres = (url: Redacted.Redacted, max: number) =>
  PgClient.layerFromPool({
    acquire: Effect.acquireRelease(
      Effect.sync(() => {
        const pool = new pg.Pool({
          connectionString: Redacted.value(url),
          max,
          application_name: "ground-truth",
          Client
        })
        // A connection that dies while idle is dropped from the pool; without a listener it would be
        // an uncaught error that ends the process.
        pool.on("error", () => {})
        return pool
      }),
      // end() waits for every client to come back; one held by a statement that never returns must
      // not hold the process (SIGTERM mid-export) for longer than a second.
      (pool) => Effect.promise(() => pool.end()).pipe(Effect.interruptible, Effect.timeoutOption(1000))
    ),
    applicationName: "ground-truth"
  })

/** How long a cancel may take, connection included: past it, the statement just runs to its end. */
const CANCEL_LIMIT = Duration.seconds(5)

/**
 * Cancels a snapshot's statement on `url`'s server through a connection of its own, outside the pool
 * (see `Snapshot.Canceller`): `pg_cancel_backend` as the same role, which may signal its own backends,
 * only while the backend is active in the snapshot's transaction (`xact_start` is that transaction's
 * `now()`). Best effort: a server that refuses the connection (full, unreachable) leaves the statement
 * to run to its end, as it would without a canceller.
 *
 * @since 0.1.0
 */
export const canceller = (url: Redacted.Redacted): Layer.Layer<Snapshot.Canceller> =>
  Layer.succeed(Snapshot.Canceller, {
    cancel: (pid, began) =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          const client = new Client({
            connectionString: Redacted.value(url),
            application_name: "ground-truth"
          })
          // An error of the socket after the answer is no one's business: the client is dropped.
          client.on("error", () => {})
          return client
        }),
        (client) =>
          Effect.tryPromise(() =>
            client
              .connect()
              .then(() =>
                client.query(
                  "SELECT pg_cancel_backend(pid) FROM pg_stat_activity " +
                    "WHERE pid = $1 AND state = 'active' AND (extract(epoch FROM xact_start) * 1000000)::bigint = $2::bigint",
                  [pid, began]
                )
              )
          ),
        (client) => Effect.sync(() => void client.end().catch(() => {}))
      ).pipe(Effect.timeout(CANCEL_LIMIT), Effect.ignore)
  })

/**
 * The live database layer.
 *
 * @since 0.1.0
 */
export const layer = Layer.unwrapScoped(
  Effect.gen(function* () {
    // Checked before anything else: a malformed URL is one line naming DATABASE_URL, not the driver's error
    // at the first statement.
    const url = yield* Configuration.databaseUrl
    const pool = yield* Config.integer("GROUND_TRUTH_DB_POOL").pipe(
      Config.validate({ message: "Expected a whole number above zero", validation: (n: number) => n > 0 }),
      Config.withDefault(10)
    )
    if (Option.isSome(url)) {
      return Layer.mergeAll(
        postgres(url.value.url, pool),
        canceller(url.value.url),
        Layer.succeed(DatabaseInfo, { kind: "postgres", location: url.value.location, connections: pool })
      )
    }
    const dataDir = yield* Config.string("GROUND_TRUTH_DATA_DIR").pipe(Config.withDefault(".data/pglite"))
    const embedded = yield* Embedded.start({ dataDir, maxConnections: pool })
    return Layer.merge(
      PgClient.layer({
        host: embedded.host,
        port: embedded.port,
        username: "postgres",
        database: "postgres",
        maxConnections: pool,
        applicationName: "ground-truth"
      }),
      Layer.succeed(DatabaseInfo, { kind: "embedded", location: embedded.dataDir, connections: pool })
    )
  })
)

/** The rows of an export worker's range, unless `GROUND_TRUTH_WORKER_RANGE_ROWS` says otherwise. */
const RANGE_ROWS = 2000

/**
 * Export workers (core's `Workers`) for the database `DATABASE_URL` names: `size` per export, each with
 * a connection of its own, outside the pool. The embedded database serves one connection at a time:
 * there, none, and an export reads on its own connection (`DatabaseInfo.kind` tells a front end, which
 * says so). `GROUND_TRUTH_WORKER_RANGE_ROWS`: the rows of a range (default 2000). The service is
 * optional (an export reads it with `Effect.serviceOption`), so the layer's type promises none.
 *
 * @since 0.1.0
 */
export const workers = (size: number): Layer.Layer<never, ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const url = yield* Configuration.databaseUrl
      const rangeRows = yield* Config.integer("GROUND_TRUTH_WORKER_RANGE_ROWS").pipe(
        Config.validate({ message: "Expected a whole number above zero", validation: (n: number) => n > 0 }),
        Config.withDefault(RANGE_ROWS)
      )
      return Option.isSome(url) && size > 1
        ? ExportWorkers.layer({ url: url.value.url, size, rangeRows })
        : Layer.empty
    })
  )

/**
 * Does the database serve one session at a time? The embedded database does, and so does PGlite behind
 * a URL (its socket server multiplexes one session: a second connection waits for the first to end),
 * which its `version()` names. Export workers there would wait for the export that started them.
 *
 * @since 0.1.0
 */
export const servesOneSession: Effect.Effect<boolean, SqlError, DatabaseInfo | SqlClient.SqlClient> =
  Effect.gen(function* () {
    if ((yield* DatabaseInfo).kind === "embedded") return true
    const sql = yield* SqlClient.SqlClient
    const [{ version }] = yield* sql<{ readonly version: string }>`SELECT version() AS version`
    return version.includes("(PGlite ")
  })

/** How many demo jobs a new embedded database starts with. @since 0.1.0 */
export const EMBEDDED_DEMO_JOBS = 1000

/**
 * Makes the embedded default usable at once: applies the migrations and, when it holds no job yet,
 * seeds demo data with the letters' texts. A `DATABASE_URL` database is never touched here: its schema is `migrate`'s business
 * and demo data goes in only through `seed-demo`. Returns how many demo jobs were seeded.
 *
 * @since 0.1.0
 */
export const prepareEmbedded = Effect.gen(function* () {
  const info = yield* DatabaseInfo
  if (info.kind !== "embedded") return 0
  const sql = yield* SqlClient.SqlClient
  yield* Migrations.run
  const [row] = yield* sql<{ readonly empty: boolean }>`SELECT NOT EXISTS (SELECT 1 FROM jobs) AS empty`
  if (!row.empty) return 0
  yield* Migrations.texts
  const seeded = yield* Demo.seed({ jobs: EMBEDDED_DEMO_JOBS, texts: true })
  return seeded.jobs
})

/**
 * One line for a database error: the client's message and the driver's cause (`Failed to execute
 * statement: relation "jobs" does not exist`), for the CLI's stderr and the server's JSON errors.
 *
 * @since 0.1.0
 */
export const describeSqlError = (e: SqlError): string => {
  const cause = e.cause as { readonly message?: unknown } | undefined
  return typeof cause?.message === "string" ? `${e.message}: ${cause.message}` : e.message
}
