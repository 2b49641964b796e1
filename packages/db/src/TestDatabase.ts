/**
 * Fresh, isolated databases for tests: the embedded default (in memory, served on a loopback port)
 * always, and a throw-away database on a real PostgreSQL server when `TEST_DATABASE_URL` names one.
 * Each layer provides the `SqlClient` with the schema migrated, `DatabaseInfo` as the live layer does,
 * and the URL a child process (the CLI, the server) can connect to.
 *
 * @since 0.1.0
 */
import { createHash, randomUUID } from "node:crypto"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer, Option, Redacted, type Scope } from "effect"
import { canceller, DatabaseInfo } from "./Database.js"
import * as Embedded from "./Embedded.js"
import { repositoryRoot } from "./internal/root.js"
import * as Migrations from "./Migrations.js"

/** @since 0.1.0 */
export class TestDatabase extends Context.Tag("@ground-truth/db/TestDatabase")<
  TestDatabase,
  { readonly kind: "embedded" | "postgres"; readonly url: string }
>() {}

/** @since 0.1.0 */
export interface Options {
  /** Apply the migrations (default); without, the database is empty, for migration tests. */
  readonly migrate?: boolean
  /**
   * An embedded database made anew, not a copy of the template: its cluster's system identifier is
   * its own, as another server's is (copies share one, as a standby shares its primary's, and a cursor
   * names its database by it). For a test that needs another database than the one its layer gives.
   */
  readonly fresh?: boolean
}

const prepared = <E>(client: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, E>, options: Options) =>
  options.migrate === false ? client : Layer.effectDiscard(Migrations.run).pipe(Layer.provideMerge(client))

/**
 * Where the migrated embedded database that tests' databases start from is kept (`Embedded.dump`'s
 * archive, ~40 MB): this package's build folder, shared by every test process, under a name made from
 * what made it, the schema's and the embedded database's sources and PGlite's version (in the path
 * pnpm installs it at), so that a change to any makes another. Outside a checkout, none.
 */
const templateFile = (): string | undefined => {
  const root = repositoryRoot()
  if (root === undefined) return undefined
  const pkg = path.join(root, "packages", "db")
  const hash = createHash("sha256")
  try {
    for (const file of ["Migrations.ts", "Embedded.ts"])
      hash.update(fs.readFileSync(path.join(pkg, "src", file)))
    hash.update(createRequire(path.join(pkg, "package.json")).resolve("@electric-sql/pglite"))
  } catch {
    return undefined
  }
  return path.join(pkg, "build", `embedded-template.${hash.digest("hex").slice(0, 16)}.tar`)
}

/** The template, when one was kept. */
const readTemplate = (file: string) =>
  Effect.sync(() => {
    try {
      return fs.readFileSync(file)
    } catch {
      return undefined
    }
  })

/**
 * Keeps `db`'s data directory as the template (renamed into place: a reader never sees half of it). It
 * is a cache: where it cannot be kept (a read-only checkout), the next database is made anew, as this
 * one was.
 */
const keepTemplate = (db: Embedded.Embedded, file: string) =>
  Effect.flatMap(Effect.option(db.dump), (archive) =>
    Effect.sync(() => {
      if (Option.isNone(archive)) return
      const partial = `${file}.${process.pid}.${randomUUID()}.partial`
      try {
        fs.mkdirSync(path.dirname(file), { recursive: true })
        fs.writeFileSync(partial, archive.value)
        fs.renameSync(partial, file)
        // Templates of other sources or versions: never read again.
        const dir = path.dirname(file)
        for (const other of fs.readdirSync(dir))
          if (
            other.startsWith("embedded-template.") &&
            other.endsWith(".tar") &&
            other !== path.basename(file)
          )
            fs.rmSync(path.join(dir, other), { force: true })
      } catch {
        fs.rmSync(partial, { force: true })
      }
    })
  )

/**
 * An in-memory embedded database, served on a loopback port. A migrated one starts as a copy of the
 * first one made (`templateFile`): a new one is ~2.5 s of CPU (PostgreSQL's initdb, in WebAssembly), a
 * copy ~0.5 s, and the suite makes dozens.
 *
 * @since 0.1.0
 */
export const embedded = (options: Options = {}) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      // A copy of the template, unless the database is to be empty or made anew.
      const file = options.migrate === false || options.fresh === true ? undefined : templateFile()
      const template = file === undefined ? undefined : yield* readTemplate(file)
      const start = (from: Uint8Array | undefined) =>
        Embedded.start({
          dataDir: "memory://",
          maxConnections: 32,
          ...(from === undefined ? {} : { template: from })
        })
      // A template PGlite cannot start from (cut short, say) is dropped: the next database makes another.
      const db = yield* Effect.catchAll(start(template), (e) =>
        template === undefined || file === undefined
          ? Effect.fail(e)
          : Effect.zipRight(
              Effect.sync(() => fs.rmSync(file, { force: true })),
              start(undefined)
            )
      )
      const url = `postgres://postgres@${db.host}:${db.port}/postgres`
      const client = PgClient.layer({ url: Redacted.make(url), maxConnections: 4 })
      return Layer.mergeAll(
        file !== undefined && template === undefined
          ? Layer.effectDiscard(Effect.zipRight(Migrations.run, keepTemplate(db, file))).pipe(
              Layer.provideMerge(client)
            )
          : prepared(client, options),
        Layer.succeed(TestDatabase, { kind: "embedded", url }),
        Layer.succeed(DatabaseInfo, { kind: "embedded", location: "memory://", connections: 4 })
      )
    })
  )

/**
 * A new database on the server `adminUrl` names, dropped when the layer is released.
 *
 * @since 0.1.0
 */
export const postgres = (adminUrl: string, options: Options = {}) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const name = `gt_test_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`
      const admin = yield* PgClient.make({ url: Redacted.make(adminUrl), maxConnections: 1 }).pipe(
        Effect.provide(Reactivity.layer)
      )
      yield* Effect.acquireRelease(admin.unsafe(`CREATE DATABASE ${name}`), () =>
        Effect.ignore(admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
      )
      const url = new URL(adminUrl)
      url.pathname = `/${name}`
      return Layer.mergeAll(
        prepared(PgClient.layer({ url: Redacted.make(url.toString()), maxConnections: 4 }), options),
        canceller(Redacted.make(url.toString())),
        Layer.succeed(TestDatabase, { kind: "postgres", url: url.toString() }),
        Layer.succeed(DatabaseInfo, { kind: "postgres", location: name, connections: 4 })
      )
    })
  )

/**
 * The databases tests run on: the embedded default, and real PostgreSQL when `TEST_DATABASE_URL` is
 * set (`.ci/run` sets it when a server answers on 127.0.0.1:5432).
 *
 * @since 0.1.0
 */
export const targets = (
  options: Options = {}
): ReadonlyArray<{
  readonly name: "embedded" | "postgres"
  readonly layer: Layer.Layer<TestDatabase | DatabaseInfo | SqlClient.SqlClient | PgClient.PgClient, unknown>
}> => {
  const url = process.env.TEST_DATABASE_URL
  return [
    { name: "embedded", layer: embedded(options) },
    ...(url ? [{ name: "postgres" as const, layer: postgres(url, options) }] : [])
  ]
}

/**
 * A client of the database `url` names, closed with the scope: for a test that reaches a database of
 * its own (a cluster's node, an embedded database on disk) beside the one its layer provides.
 *
 * @since 0.1.0
 */
export const client = (url: string): Effect.Effect<SqlClient.SqlClient, never, Scope.Scope> =>
  PgClient.make({ url: Redacted.make(url), maxConnections: 2 }).pipe(
    Effect.provide(Reactivity.layer),
    Effect.orDie
  )

/**
 * Terminates the other backends of the current database whose current or last statement contains
 * `text`, and returns their process ids: how fault tests kill an export mid-stream.
 *
 * @since 0.1.0
 */
export const terminateBackends = (text: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      // Materialized first: a filter beside pg_terminate_backend could be evaluated after it.
      sql<{ readonly pid: number }>`
        WITH target AS MATERIALIZED (
          SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE ${`%${text}%`}
        )
        SELECT pid FROM target WHERE pg_terminate_backend(pid)`,
      (rows) => rows.map((row) => row.pid)
    )
  )

/**
 * The other backends of the current database that `applicationName` opened, with their state
 * (`idle`, `active`, `idle in transaction`…): how load tests see connections left busy.
 *
 * @since 0.1.0
 */
export const backends = (applicationName: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ readonly pid: number; readonly state: string | null }>`
        SELECT pid, state FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = ${applicationName}`
  )
