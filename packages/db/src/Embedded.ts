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
 *   never handled either. The error is passed on, and PGlite is never called again (see guard);
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

// --- A full disk ---------------------------------------------------------------------------------------

const NO_SPACE = "no space left on device (ENOSPC)"

/** Emscripten's errno for ENOSPC: NODEFS reports a full disk to PGlite as `ErrnoError { errno: 51 }`. */
const EMSCRIPTEN_ENOSPC = 51

/** A full disk, however it was reported: by Node, by PGlite's file system, or by PostgreSQL's message. */
const isNoSpace = (cause: unknown): boolean => {
  if (typeof cause === "string") return /no space left on device/i.test(cause)
  if (typeof cause !== "object" || cause === null) return false
  const e = cause as { readonly code?: unknown; readonly errno?: unknown; readonly name?: unknown }
  return (
    e.code === "ENOSPC" ||
    (e.name === "ErrnoError" && e.errno === EMSCRIPTEN_ENOSPC) ||
    (cause instanceof Error && isNoSpace(cause.message))
  )
}

/** "12.3 MB free" on the file system that holds (or will hold) `dir`, for messages. */
const free = (dir: string): string => {
  let existing = dir
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing)
  try {
    const s = fs.statfsSync(existing)
    return `${((s.bavail * s.bsize) / 1e6).toFixed(1)} MB free`
  } catch {
    return "free space unknown"
  }
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
  }
) =>
  Effect.suspend(() => {
    const log: Array<string> = []
    return Effect.tryPromise({
      try: () =>
        PGliteClass.create({
          ...(dir === undefined ? {} : { dataDir: dir }),
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

// --- The wire protocol, as far as the guard below needs it ---------------------------------------------

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const PROTOCOL_3 = 196608
const DISK_FULL = "53100"

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (parts.length === 1) return parts[0]
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

const backendMessage = (type: string, body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(5 + body.length)
  out[0] = type.charCodeAt(0)
  new DataView(out.buffer).setInt32(1, 4 + body.length)
  out.set(body, 5)
  return out
}

/** An ErrorResponse's fields (severity S, code C, message M, ...), from its body. */
const errorFields = (body: Uint8Array): Map<string, string> => {
  const fields = new Map<string, string>()
  let at = 0
  while (at < body.length && body[at] !== 0) {
    const end = body.indexOf(0, at + 1)
    if (end < 0) break
    fields.set(String.fromCharCode(body[at]), decoder.decode(body.subarray(at + 1, end)))
    at = end + 1
  }
  return fields
}

const errorResponse = (severity: "ERROR" | "FATAL", message: string, detail?: string): Uint8Array => {
  const fields: Array<readonly [string, string]> = [
    ["S", severity],
    ["V", severity],
    ["C", DISK_FULL],
    ["M", message]
  ]
  if (detail !== undefined) fields.push(["D", detail])
  return backendMessage(
    "E",
    concat([...fields.flatMap(([k, v]) => [encoder.encode(k + v), Uint8Array.of(0)]), Uint8Array.of(0)])
  )
}

/**
 * Disk-full errors PostgreSQL recovers from like from any other: a table, an index or a temporary file
 * that cannot grow (tested: the session goes on, and shuts down cleanly). Any other is taken to break
 * PGlite's session, as one writing the WAL does (tested: the next statement spins).
 */
const recoverable = (message: string) =>
  message.startsWith("could not extend file") || message.includes("pgsql_tmp")

/**
 * Puts `db` behind the socket server so that a full disk is reported in words and never hangs:
 * - every disk-full error's message is replaced by one naming the directory (PostgreSQL's own becomes
 *   its detail);
 * - after one that breaks the session, PGlite is never called again. The guard answers instead, so that
 *   the client that hit the error sees it once and can roll back (its ROLLBACK succeeds: nothing of the
 *   transaction was kept), new connections are refused with the reason, and everything else waits for
 *   `drop` (the caller's: it drops every connection a second later). Nothing here throws: the socket
 *   server's queue stops for good on an error.
 */
const guard = (db: PGlite, dataDir: string, drop: () => void) => {
  let broken = false
  // The transaction status of PostgreSQL's last ReadyForQuery: "I" idle, "T" in a transaction.
  let status = "I"
  const failed = `cannot write the embedded database at ${dataDir}: ${NO_SPACE}; free some space and run the command again`
  const earlier =
    `cannot write the embedded database at ${dataDir}: ${NO_SPACE} earlier in this process; ` +
    "free some space and start it again"
  const ready = (s: string) => backendMessage("Z", encoder.encode(s))

  /**
   * The guard's answer to a frontend message once PGlite may not be called: a startup, a simple query and
   * a Parse (which starts each of the client's queries) get an error, a ROLLBACK succeeds. The rest of an
   * extended-protocol cycle, its Sync included, gets nothing: which client's cycle a Sync ends is not
   * known here, and a ReadyForQuery could tell a client whose statement ran before the break that it is
   * done, uncommitted. Those clients wait for `drop`.
   */
  const answer = (message: Uint8Array): Uint8Array => {
    const startup =
      message.length >= 8 && new DataView(message.buffer, message.byteOffset).getInt32(4) === PROTOCOL_3
    if (startup) return errorResponse("FATAL", earlier)
    switch (String.fromCharCode(message[0])) {
      case "P":
        return errorResponse("ERROR", earlier)
      case "Q":
        return /^\s*rollback\s*;?\s*$/i.test(decoder.decode(message.subarray(5, message.length - 1)))
          ? concat([backendMessage("C", encoder.encode("ROLLBACK\0")), ready("I")])
          : concat([errorResponse("ERROR", earlier), ready("I")])
      default:
        return new Uint8Array(0)
    }
  }

  /** Passes PGlite's output on, message by message, rewriting disk-full errors. */
  const relay = (emit: (data: Uint8Array) => void) => {
    // A message cut between chunks: its parts (copied, as PGlite reuses its buffer), their length, and
    // the message's whole length once its header is in (0 before). The parts are joined once, when the
    // message is complete: joining at every chunk would copy a large row over and over.
    let pending: Array<Uint8Array> = []
    let pendingLength = 0
    let needed = 0
    const lengthAt = (data: Uint8Array, at: number) =>
      1 + new DataView(data.buffer, data.byteOffset + at + 1, 4).getInt32(0)
    let readyLast = false
    const push = (chunk: Uint8Array) => {
      let data = chunk
      if (pending.length > 0) {
        pending.push(chunk.slice())
        pendingLength += chunk.length
        if (needed === 0 && pendingLength >= 5) needed = lengthAt(concat(pending), 0)
        if (needed === 0 || pendingLength < needed) return
        data = concat(pending)
        pending = []
        pendingLength = 0
        needed = 0
      }
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
      const out: Array<Uint8Array> = []
      let from = 0
      let at = 0
      while (at + 5 <= data.length) {
        const end = at + 1 + view.getInt32(at + 1)
        if (end > data.length) break
        const type = String.fromCharCode(data[at])
        readyLast = type === "Z"
        if (type === "Z") status = String.fromCharCode(data[at + 5])
        if (type === "E") {
          const fields = errorFields(data.subarray(at + 5, end))
          const message = fields.get("M") ?? ""
          if (fields.get("C") === DISK_FULL) {
            if (!recoverable(message)) broken = true
            out.push(data.subarray(from, at), errorResponse("ERROR", failed, message))
            from = end
          }
        }
        at = end
      }
      if (at > from) out.push(data.subarray(from, at))
      if (at < data.length) {
        pending = [data.slice(at)]
        pendingLength = data.length - at
        needed = pendingLength >= 5 ? lengthAt(data, at) : 0
      }
      const whole = concat(out)
      if (whole.length > 0) emit(whole)
    }
    return {
      push,
      end: () => {
        if (pending.length > 0) emit(concat(pending))
        return readyLast
      }
    }
  }

  const execProtocolRawStream: PGlite["execProtocolRawStream"] = async (message, options) => {
    if (broken) {
      const reply = answer(message)
      if (reply.length > 0) options.onRawData(reply)
      drop()
      return
    }
    const out = relay(options.onRawData)
    await db.execProtocolRawStream(message, { ...options, onRawData: out.push })
    const readyLast = out.end()
    if (broken) {
      // Broken mid-cycle (an Execute failed, its Sync is still to come): end the cycle now, so the
      // client can roll back; the Sync it already sent is then answered with nothing.
      if (!readyLast) options.onRawData(ready(status === "I" ? "I" : "E"))
      drop()
    }
  }

  const proxy = new Proxy(db, {
    get(target, key) {
      switch (key) {
        case "execProtocolRawStream":
          return execProtocolRawStream
        // The socket server reads these to pick the next query and, when a connection ends, to roll back
        // its transaction: a broken session has no transaction, and must not be asked to roll back.
        case "isInTransaction":
          return () => !broken && target.isInTransaction()
        case "exec":
          return (...args: Parameters<PGlite["exec"]>) =>
            broken ? Promise.resolve([]) : target.exec(...args)
      }
      // PGlite's methods use private fields: they must run on PGlite itself, not on this proxy.
      const value: unknown = Reflect.get(target, key, target)
      return typeof value === "function" ? value.bind(target) : value
    }
  })
  return { db: proxy, isBroken: () => broken }
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
    if (!inMemory && !holdsDatabase(dataDir)) yield* create(PGlite, dataDir)
    // Set once PGlite's session is broken (see guard): then it is not closed, which would write a
    // checkpoint and could spin like any other write. Only PostgreSQL's timers are cleared: its 10 s
    // statistics timer would otherwise hold the process that long after its error.
    let broken = () => false
    const db = yield* Effect.acquireRelease(
      open(PGlite, inMemory ? undefined : dataDir, { dataDir, verb: "open" }),
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
    return { host, port: Number(port), dataDir }
  })
