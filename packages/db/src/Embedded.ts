/**
 * The embedded default database: PGlite (PostgreSQL compiled to WebAssembly) served on a loopback port
 * by `@electric-sql/pglite-socket`, so the same `@effect/sql-pg` client serves it and a real server.
 *
 * The socket server multiplexes one PGlite session: while one connection has a transaction open (a
 * whole export, say), the others wait for it to end. Snapshot semantics hold; concurrency does not.
 *
 * A full disk. PGlite stores its files through Emscripten's NODEFS, which hands ENOSPC to PostgreSQL as
 * an errno, so most failures are ordinary errors (a table that cannot grow, say). Three are not:
 * - a new database is ~40 MB that PGlite copies in file by file (initdb runs in memory): cut short, it
 *   left a directory that never opened again. It is now written under a staging name and renamed into
 *   place once complete (see create);
 * - once PostgreSQL fails to write its WAL (a new 16 MB segment), PGlite's session is broken: its next
 *   statement spins for ever in `XLogFlush` at 100% CPU, on the event loop's thread, so SIGTERM is
 *   never handled either. The error is passed on, and PGlite is never called again (see `internal/wireGuard.ts`);
 * - a start that fails (recovering from that needs space) left PostgreSQL's start-up progress timer
 *   running, which kept the process alive after its error (see startParams).
 * Each ends in one line naming the directory: `cannot write the embedded database at <dir>: no space
 * left on device (ENOSPC); ...`.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as path from "node:path"
import type { PGlite } from "@electric-sql/pglite"
import { Data, Effect, Exit, type Scope } from "effect"
import { free, isNoSpace, NO_SPACE } from "./internal/noSpace.js"
import { guard } from "./internal/wireGuard.js"

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
  /** The data directory as it is now, as a tar archive: a `template` for `start`. */
  readonly dump: Effect.Effect<Uint8Array, EmbeddedDatabaseError>
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
        message: isNoSpace(cause)
          ? `cannot lock the embedded database at ${dataDir}: ${NO_SPACE}: ${free(dataDir)}`
          : `cannot lock the embedded database at ${dataDir}: ${String(cause)}`,
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

/** A readable cause: PGlite's ErrnoError has no message, and would print as `[object Object]`. */
const describe = (cause: unknown): string => {
  if (cause instanceof Error) return cause.message
  const e = cause as { readonly name?: unknown; readonly errno?: unknown } | null
  return typeof e?.errno === "number" ? `file system error ${e.errno}` : String(cause)
}

// PGlite's own parameters, plus no start-up progress timer: PostgreSQL arms it (every 10 s) while it
// recovers, and when recovery fails (a full disk) nothing disarms it, so the failed instance kept the
// process alive after its error. And 16 MB of shared buffers instead of PostgreSQL's 128 MB: they live in
// PGlite's WebAssembly memory, in this process, and an export of 100k jobs touched all of them (peak RSS
// 383 MB; ~250 MB with 16 MB, in the same time: the operating system caches the data files anyway). WAL
// buffers stay at the 4 MB PostgreSQL derives from 128 MB (it would take 512 kB from 16 MB), so a
// transaction's WAL is written when it was before: at its COMMIT, for one that fits.
const startParams = (defaults: ReadonlyArray<string>) => [
  ...defaults,
  "-c",
  "log_startup_progress_interval=0",
  "-c",
  "shared_buffers=16MB",
  "-c",
  "wal_buffers=4MB"
]

type PGliteClass = typeof PGlite

/**
 * Opens (and, in a directory without a database, creates) PGlite at `dir`. A failure names `dataDir`
 * and, from PostgreSQL's log, why: PGlite itself only says "failed to initialize properly".
 */
const open = (
  PGliteClass: PGliteClass,
  dir: string | undefined,
  options: {
    readonly dataDir: string
    readonly verb: "open" | "create"
    /** The free space before a creation: a failed one holds its files open, so statfs still counts them. */
    readonly freeBefore?: string
    /** A data directory to start from (`Embedded.dump`'s archive) instead of a new one. */
    readonly template?: Uint8Array
  }
) =>
  Effect.suspend(() => {
    const log: Array<string> = []
    return Effect.tryPromise({
      try: () =>
        PGliteClass.create({
          ...(dir === undefined ? {} : { dataDir: dir }),
          ...(options.template === undefined ? {} : { loadDataDir: new Blob([options.template]) }),
          startParams: startParams(PGliteClass.defaultStartParams),
          // PostgreSQL's log (quiet unless something goes wrong): the last FATAL line says why it stopped.
          onStderr: (line) => {
            log.push(line)
            if (log.length > 50) log.shift()
            return false
          }
        }),
      catch: (cause) => {
        const fatal = log
          .map((line) => /\b(?:FATAL|PANIC):\s+(.*)$/.exec(line)?.[1])
          .filter((m) => m !== undefined)
          .pop()
        const reason = fatal ?? describe(cause)
        const prefix = `cannot ${options.verb} the embedded database at ${options.dataDir}`
        if (!isNoSpace(cause) && !isNoSpace(reason)) {
          return new EmbeddedDatabaseError({ message: `${prefix}: ${reason}`, cause })
        }
        const recovering = log.some((line) => line.includes("automatic recovery in progress"))
        const why =
          options.verb === "create"
            ? `a new one takes about 40 MB (${options.freeBefore ?? free(options.dataDir)})`
            : recovering
              ? `it was not shut down cleanly and must write to recover (${free(options.dataDir)})`
              : free(options.dataDir)
        return new EmbeddedDatabaseError({
          message: `${prefix}: ${NO_SPACE}: ${why}; free some space and run the command again`,
          cause
        })
      }
    })
  })

/** What PostgreSQL leaves in a data directory. */
const CLUSTER_ENTRY =
  /^(?:PG_VERSION|base|global|pg_[a-z_]+(?:\.conf)?|postgresql(?:\.auto)?\.conf|postmaster\.(?:pid|opts))$/

/**
 * Does `dataDir` hold a database? PG_VERSION alone does not say: an earlier version of this program,
 * stopped (a full disk, SIGKILL) while PGlite copied a new database in, left everything but the last
 * files, pg_hba.conf among them, without which PostgreSQL does not start. Such a directory never served
 * a query, so it holds no data: it also lacks what PostgreSQL writes once it has run (its relation
 * cache, pid file and statistics), and is created afresh.
 */
const holdsDatabase = (dataDir: string): boolean => {
  const has = (file: string) => fs.existsSync(path.join(dataDir, file))
  return (
    has("PG_VERSION") &&
    (has("pg_hba.conf") ||
      has("global/pg_internal.init") ||
      has("postmaster.pid") ||
      has("pg_stat/pgstat.stat"))
  )
}

/**
 * Creates a database at `dataDir` atomically: PGlite writes it under `<dataDir>.creating` (initdb's
 * ~40 MB), closes it cleanly, and only then is it renamed into place. A staging directory left by a run
 * that was killed holds no data and is removed (the lock guarantees its owner is dead). So is a
 * directory without a database that holds nothing but PostgreSQL's files (see holdsDatabase); anything
 * else in it is not ours, and is left alone.
 */
const create = (PGliteClass: PGliteClass, dataDir: string) => {
  const staging = `${dataDir}.creating`
  const clean = Effect.try({
    try: () => {
      fs.rmSync(staging, { recursive: true, force: true })
      const entries = fs.existsSync(dataDir) ? fs.readdirSync(dataDir) : []
      const foreign = entries.filter((entry) => !CLUSTER_ENTRY.test(entry))
      if (foreign.length === 0) fs.rmSync(dataDir, { recursive: true, force: true })
      return foreign
    },
    catch: (cause) =>
      new EmbeddedDatabaseError({
        message: `cannot create the embedded database at ${dataDir}: ${describe(cause)}`,
        cause
      })
  }).pipe(
    Effect.flatMap((foreign) =>
      foreign.length === 0
        ? Effect.void
        : Effect.fail(
            new EmbeddedDatabaseError({
              message:
                `cannot create the embedded database at ${dataDir}: the directory holds no database but ` +
                `other files (${foreign.slice(0, 3).join(", ")}); empty it or set GROUND_TRUTH_DATA_DIR`
            })
          )
    )
  )
  const made = Effect.gen(function* () {
    const db = yield* open(PGliteClass, staging, { dataDir, verb: "create", freeBefore: free(dataDir) })
    yield* Effect.tryPromise({
      try: () => db.close(),
      catch: (cause) =>
        new EmbeddedDatabaseError({
          message: isNoSpace(cause)
            ? `cannot create the embedded database at ${dataDir}: ${NO_SPACE}: ${free(dataDir)}`
            : `cannot create the embedded database at ${dataDir}: ${describe(cause)}`,
          cause
        })
    })
    yield* Effect.try({
      try: () => fs.renameSync(staging, dataDir),
      catch: (cause) =>
        new EmbeddedDatabaseError({
          message: `cannot create the embedded database at ${dataDir}: ${describe(cause)}`,
          cause
        })
    })
  })
  return Effect.zipRight(
    clean,
    // Whatever went wrong (or interrupted it), the staging directory goes: it holds no data.
    Effect.onExit(made, (exit) =>
      Exit.isSuccess(exit)
        ? Effect.void
        : Effect.sync(() => fs.rmSync(staging, { recursive: true, force: true }))
    )
  )
}

/**
 * Opens the database at `dataDir` (`memory://` for a throw-away one) and serves it on `127.0.0.1` at a
 * free port, for the current scope. A throw-away one may start as a copy of `template` (an earlier
 * one's `dump`): a new database is PostgreSQL's initdb, ~2.5 s of CPU, a copy ~0.5 s.
 *
 * @since 0.1.0
 */
export const start = (options: {
  readonly dataDir: string
  readonly maxConnections: number
  readonly template?: Uint8Array
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
    if (!inMemory && !holdsDatabase(dataDir)) yield* create(PGlite, dataDir)
    // Set once PGlite's session is broken (see `guard`): then it is not closed, which would write a
    // checkpoint and could spin like any other write. Only PostgreSQL's timers are cleared: its 10 s
    // statistics timer would otherwise hold the process that long after its error.
    let broken = () => false
    const db = yield* Effect.acquireRelease(
      open(PGlite, inMemory ? undefined : dataDir, {
        dataDir,
        verb: "open",
        ...(inMemory && options.template !== undefined ? { template: options.template } : {})
      }),
      (db) =>
        broken()
          ? Effect.sync(() => (db.Module as { readonly _clear_setitimer?: () => void })._clear_setitimer?.())
          : Effect.promise(() => db.close()).pipe(Effect.ignore)
    )
    // Once the session is broken, every connection is dropped (by restarting the server on its port) a
    // second after the guard first answers one: the client that hit the error has rolled back by then,
    // and the others' queries fail instead of waiting. New connections are refused with the reason.
    let closing = false
    let dropping = Promise.resolve()
    let timer: NodeJS.Timeout | undefined
    const dropAll = () => {
      if (timer !== undefined) return
      timer = setTimeout(() => {
        timer = undefined
        dropping = dropping
          .then(async () => {
            if (closing) return
            await server.stop()
            if (!closing) await server.start()
          })
          .catch(() => {})
      }, 1000).unref()
    }
    const guarded = guard(db, dataDir, dropAll)
    broken = guarded.isBroken
    const server = new PGLiteSocketServer({
      db: guarded.db,
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
      () =>
        Effect.promise(async () => {
          closing = true
          clearTimeout(timer)
          await dropping
          await server.stop()
        })
    )
    const [host, port] = server.getServerConn().split(":")
    const dump = Effect.tryPromise({
      try: async () => new Uint8Array(await (await db.dumpDataDir("none")).arrayBuffer()),
      catch: (cause) =>
        new EmbeddedDatabaseError({
          message: `cannot dump the embedded database at ${dataDir}: ${describe(cause)}`,
          cause
        })
    })
    return { host, port: Number(port), dataDir, dump }
  })
