/**
 * The embedded default database: PGlite (PostgreSQL compiled to WebAssembly) served on a loopback port
 * by `@electric-sql/pglite-socket`, so the same `@effect/sql-pg` client serves it and a real server.
 *
 * The socket server multiplexes one PGlite session: while one connection has a transaction open (a
 * whole export, say), the others wait for it to end. Snapshot semantics hold; concurrency does not.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Data, Effect, type Scope } from "effect"

/**
 * The embedded database could not start or is in use by another process.
 *
 * @since 0.1.0
 * @category errors
 */
export class EmbeddedDatabaseError extends Data.TaggedError("EmbeddedDatabaseError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/** @since 0.1.0 */
export interface Embedded {
  readonly host: string
  readonly port: number
  /** Where the data lives: a directory, or `memory://`. */
  readonly dataDir: string
}

/**
 * Is a process with this pid running? (Signal 0 only checks; EPERM means it runs as another user.)
 * For telling a stale lock or temporary file from one still in use.
 *
 * @since 0.1.0
 */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * PGlite must never have two processes on one data directory: that corrupts it. A lock file beside the
 * directory holds the owner's pid; a lock left by a dead process is taken over.
 */
const lock = (dataDir: string): Effect.Effect<void, EmbeddedDatabaseError, Scope.Scope> => {
  const file = `${dataDir}.lock`
  const acquire = Effect.try({
    try: () => {
      fs.mkdirSync(path.dirname(file), { recursive: true })
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          fs.writeFileSync(file, String(process.pid), { flag: "wx" })
          return undefined
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
          const owner = Number(fs.readFileSync(file, "utf8"))
          if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) return owner
          fs.rmSync(file, { force: true })
        }
      }
      throw new Error(`cannot create ${file}`)
    },
    catch: (cause) =>
      new EmbeddedDatabaseError({
        message: `cannot lock the embedded database at ${dataDir}: ${String(cause)}`,
        cause
      })
  }).pipe(
    Effect.flatMap((owner) =>
      owner === undefined
        ? Effect.void
        : Effect.fail(
            new EmbeddedDatabaseError({
              message:
                `the embedded database at ${dataDir} is in use by process ${owner}; ` +
                "stop it, or set DATABASE_URL to use a PostgreSQL server that many processes can share"
            })
          )
    )
  )
  return Effect.acquireRelease(acquire, () => Effect.sync(() => fs.rmSync(file, { force: true })))
}

/**
 * Opens the database at `dataDir` (`memory://` for a throw-away one) and serves it on `127.0.0.1` at a
 * free port, for the current scope.
 *
 * @since 0.1.0
 */
export const start = (options: {
  readonly dataDir: string
  readonly maxConnections: number
}): Effect.Effect<Embedded, EmbeddedDatabaseError, Scope.Scope> =>
  Effect.gen(function* () {
    const inMemory = options.dataDir.startsWith("memory://")
    const dataDir = inMemory ? options.dataDir : path.resolve(options.dataDir)
    if (!inMemory) yield* lock(dataDir)
    // Loaded only when used: a process on a real server never pays for PGlite (about 11 MB).
    const [{ PGlite }, { PGLiteSocketServer }] = yield* Effect.tryPromise({
      try: () => Promise.all([import("@electric-sql/pglite"), import("@electric-sql/pglite-socket")]),
      catch: (cause) =>
        new EmbeddedDatabaseError({ message: `cannot load the embedded database: ${String(cause)}`, cause })
    })
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => PGlite.create(inMemory ? undefined : dataDir),
        catch: (cause) =>
          new EmbeddedDatabaseError({
            message: `cannot open the embedded database at ${dataDir}: ${String(cause)}`,
            cause
          })
      }),
      (db) => Effect.promise(() => db.close()).pipe(Effect.ignore)
    )
    const server = new PGLiteSocketServer({
      db,
      host: "127.0.0.1",
      port: 0,
      maxConnections: options.maxConnections
    })
    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => server.start(),
        catch: (cause) =>
          new EmbeddedDatabaseError({
            message: `cannot serve the embedded database: ${String(cause)}`,
            cause
          })
      }),
      () => Effect.promise(() => server.stop())
    )
    const [host, port] = server.getServerConn().split(":")
    return { host, port: Number(port), dataDir }
  })
