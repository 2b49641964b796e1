/**
 * PostgreSQL clusters of a test's own, for what a shared server must never be put through: streaming
 * standbys, failovers, crashes. Each node is an `initdb` (or a `pg_basebackup` of another node) in a
 * temporary folder, served on a spare loopback port by the server binaries of this machine
 * (`initdb`, `pg_ctl`, `pg_basebackup`), as a user other than root (PostgreSQL refuses to run as root:
 * when the tests are root, the nodes run as `postgres`, else `nobody`). Everything is stopped and
 * removed when the scope closes. Where the binaries are absent, `binaries()` is `undefined` and the tests
 * that need a cluster are skipped. Its waits run on the live clock, under any test clock.
 *
 * @since 0.1.0
 */
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import type { SqlClient } from "@effect/sql"
import { Cursor } from "@ground-truth/core"
import { Clock, Data, Deferred, Effect, Fiber, type Scope } from "effect"
import * as TestDatabase from "./TestDatabase.js"

/**
 * A step of a test cluster failed: a command's exit status and what it printed.
 *
 * @since 0.1.0
 * @category errors
 */
export class ClusterError extends Data.TaggedError("ClusterError")<{ readonly message: string }> {}

const NEEDED = ["initdb", "pg_ctl", "pg_basebackup", "postgres", "psql"] as const

/** The folder holding every binary a cluster needs, if any folder does. */
const findBinaries = (): string | undefined => {
  const has = (dir: string) => NEEDED.every((name) => fs.existsSync(path.join(dir, name)))
  const versions = (() => {
    try {
      return fs
        .readdirSync("/usr/lib/postgresql")
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => path.join("/usr/lib/postgresql", v, "bin"))
    } catch {
      return []
    }
  })()
  const fromPath = (process.env.PATH ?? "").split(path.delimiter).filter((dir) => dir !== "")
  return [...(process.env.PG_BINDIR ? [process.env.PG_BINDIR] : []), ...versions, ...fromPath].find(has)
}

/** The user the nodes run as: this one, unless it is root. */
const findUser = (): { readonly uid: number; readonly gid: number } | undefined => {
  const uid = process.getuid?.()
  if (uid === undefined) return undefined
  if (uid !== 0) return { uid, gid: process.getgid?.() ?? uid }
  for (const name of ["postgres", "nobody"]) {
    try {
      const id = (flag: string) => Number(execFileSync("id", [flag, name], { encoding: "utf8" }).trim())
      return { uid: id("-u"), gid: id("-g") }
    } catch {
      // no such user: try the next one
    }
  }
  return undefined
}

/** What `binaries` found, once it has looked. */
let found:
  | { readonly value: { readonly dir: string; readonly uid: number; readonly gid: number } | undefined }
  | undefined

/**
 * Where the server binaries are, and whom to run them as; `undefined` where a cluster cannot be made.
 * Looked up on the first call, not when the module loads: the apps' bundles hold this module (it is
 * exported beside the database), and the lookup runs `id` twice, ~30 ms of every start of the CLI, the
 * server and each export worker.
 *
 * @since 0.1.0
 */
export const binaries = ():
  | { readonly dir: string; readonly uid: number; readonly gid: number }
  | undefined => {
  if (found === undefined) {
    const dir = findBinaries()
    const user = findUser()
    found = { value: dir === undefined || user === undefined ? undefined : { dir, ...user } }
  }
  return found.value
}

/**
 * One server of a test cluster.
 *
 * @since 0.1.0
 */
export interface Node {
  readonly name: string
  readonly port: number
  readonly dataDir: string
  /** The `postgres` database as its superuser `postgres` (trust authentication, loopback only). */
  readonly url: string
}

const sparePort = Effect.async<number>((resume) => {
  const server = net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/**
 * A test cluster's nodes, made and driven by name.
 *
 * @since 0.1.0
 */
export interface Cluster {
  /** A new primary (`initdb`), started. */
  readonly primary: (name: string) => Effect.Effect<Node, ClusterError>
  /** A streaming standby of `of` (`pg_basebackup -R`), started. */
  readonly standby: (name: string, of: Node) => Effect.Effect<Node, ClusterError>
  readonly start: (node: Node) => Effect.Effect<void, ClusterError>
  /** `fast` shuts down cleanly; `immediate` is a crash (recovery at the next start). */
  readonly stop: (node: Node, mode: "fast" | "immediate") => Effect.Effect<void, ClusterError>
  /** Promotes a standby to a primary on a new timeline, and waits until it takes writes. */
  readonly promote: (node: Node) => Effect.Effect<void, ClusterError>
  /** Points a stopped standby at another upstream (`primary_conninfo`); `start` it after. */
  readonly follow: (standby: Node, upstream: Node) => Effect.Effect<void, ClusterError>
  /** A client of the node's `postgres` database, closed with the scope. */
  readonly client: (node: Node, user?: string) => Effect.Effect<SqlClient.SqlClient, never, Scope.Scope>
  /** Waits until `standby` has replayed everything `primary` has written so far. */
  readonly caughtUp: (standby: Node, primary: Node) => Effect.Effect<void, ClusterError>
}

/**
 * A cluster in a temporary folder, torn down with the scope. Fails where `binaries` is `undefined`.
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<Cluster, ClusterError, Scope.Scope> = Effect.gen(function* () {
  const bin = binaries()
  if (bin === undefined) {
    return yield* new ClusterError({ message: "no PostgreSQL server binaries, or no user to run them as" })
  }
  const root = yield* Effect.acquireRelease(
    Effect.sync(() => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-cluster-"))
      fs.chownSync(dir, bin.uid, bin.gid)
      return dir
    }),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )
  const run = (command: string, args: ReadonlyArray<string>) =>
    Effect.async<string, ClusterError>((resume) => {
      const child = spawn(path.join(bin.dir, command), args, {
        uid: bin.uid,
        gid: bin.gid,
        cwd: root,
        env: { PATH: process.env.PATH ?? "", LANG: "C.UTF-8", PGTZ: "UTC" },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout.on("data", (b: Buffer) => {
        output += b.toString("utf8")
      })
      child.stderr.on("data", (b: Buffer) => {
        output += b.toString("utf8")
      })
      child.on("error", (e) => resume(Effect.fail(new ClusterError({ message: `${command}: ${e.message}` }))))
      child.on("close", (code) =>
        resume(
          code === 0
            ? Effect.succeed(output)
            : Effect.fail(
                new ClusterError({ message: `${command} ${args.join(" ")} exited ${code}: ${output}` })
              )
        )
      )
      // Interrupted (a timeout, say): the process goes too.
      return Effect.sync(() => child.kill("SIGKILL"))
    })
  const live = Clock.make()
  const nodes: Array<Node> = []
  // Every node still running is stopped (as a crash: nothing is kept) before the folder goes.
  yield* Effect.addFinalizer(() =>
    Effect.forEach(nodes, (node) =>
      Effect.ignore(run("pg_ctl", ["-D", node.dataDir, "-m", "immediate", "stop"]))
    )
  )
  const logOf = (node: Node) => path.join(root, `${node.name}.log`)
  const start = (node: Node) =>
    Effect.asVoid(
      run("pg_ctl", [
        "-D",
        node.dataDir,
        "-l",
        logOf(node),
        "-w",
        "-t",
        "120",
        "-o",
        `-p ${node.port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB -c wal_receiver_status_interval=1s`,
        "start"
      ])
    )
  const node = (name: string) =>
    Effect.map(sparePort, (port): Node => {
      const made = {
        name,
        port,
        dataDir: path.join(root, name),
        url: `postgres://postgres@127.0.0.1:${port}/postgres`
      }
      nodes.push(made)
      return made
    })
  /**
   * One value from `psql`, bounded in time: a connection a node keeps waiting (a standby replaying, a
   * server starting) is given up and tried again by `poll`, rather than waited on for good.
   */
  const scalar = (target: Node, text: string) =>
    run("psql", [
      "-X",
      "-h",
      "127.0.0.1",
      "-p",
      String(target.port),
      "-U",
      "postgres",
      "-d",
      "postgres",
      "-Atc",
      text
    ]).pipe(
      Effect.timeoutFail({
        duration: "10 seconds",
        onTimeout: () => new ClusterError({ message: `psql on ${target.name} took over 10 s: ${text}` })
      }),
      Effect.withClock(live),
      Effect.map((out) => out.trim())
    )
  const client = (target: Node, user = "postgres") => {
    const url = new URL(target.url)
    url.username = user
    return TestDatabase.client(url.toString())
  }
  /**
   * Tries `attempt` until it gives a value, for up to two minutes; a failed try is tried again. On the
   * live clock, whichever the test runs on: under @effect/vitest's `it.effect` the test clock never moves
   * by itself, and a wait on it would last for ever.
   */
  const poll = <A>(what: string, attempt: Effect.Effect<A | undefined, ClusterError>) =>
    Effect.gen(function* () {
      let last = ""
      for (let i = 0; i < 600; i++) {
        const found = yield* Effect.catchAll(attempt, (e) =>
          Effect.sync(() => {
            last = e.message
            return undefined
          })
        )
        if (found !== undefined) return found
        yield* Effect.sleep("200 millis")
      }
      return yield* new ClusterError({ message: `gave up waiting ${what}${last === "" ? "" : `: ${last}`}` })
    }).pipe(Effect.withClock(live))
  return {
    primary: (name) =>
      Effect.gen(function* () {
        const made = yield* node(name)
        yield* run("initdb", [
          "-D",
          made.dataDir,
          "-U",
          "postgres",
          "--auth=trust",
          "--no-sync",
          "-E",
          "UTF8"
        ])
        yield* start(made)
        return made
      }),
    standby: (name, of) =>
      Effect.gen(function* () {
        const made = yield* node(name)
        yield* run("pg_basebackup", [
          "-h",
          "127.0.0.1",
          "-p",
          String(of.port),
          "-U",
          "postgres",
          "-D",
          made.dataDir,
          "-R",
          "-X",
          "stream",
          // Without it, the backup waits for a spread checkpoint: ~14 s on an idle node.
          "--checkpoint=fast",
          "--no-sync"
        ])
        yield* start(made)
        return made
      }),
    start,
    stop: (target, mode) => Effect.asVoid(run("pg_ctl", ["-D", target.dataDir, "-m", mode, "-w", "stop"])),
    promote: (target) =>
      Effect.gen(function* () {
        yield* run("pg_ctl", ["-D", target.dataDir, "-w", "promote"])
        yield* poll(
          `for ${target.name} to take writes`,
          Effect.map(scalar(target, "SELECT NOT pg_is_in_recovery()"), (v) => (v === "t" ? true : undefined))
        )
      }),
    follow: (standby, upstream) =>
      Effect.sync(() => {
        const file = path.join(standby.dataDir, "postgresql.auto.conf")
        const text = fs.readFileSync(file, "utf8").replace(/port=\d+/g, `port=${upstream.port}`)
        fs.writeFileSync(file, text)
      }),
    client: (target, user) => client(target, user),
    caughtUp: (standby, primary) =>
      Effect.gen(function* () {
        const [insert, page, segment] = (yield* scalar(
          primary,
          "SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn, current_setting('wal_block_size'), " +
            "(SELECT setting FROM pg_settings WHERE name = 'wal_segment_size')"
        )).split("|")
        const end = Cursor.recordEnd(BigInt(insert), BigInt(page), BigInt(segment))
        yield* poll(
          `for ${standby.name} to replay ${primary.name}'s WAL up to ${end}`,
          Effect.map(scalar(standby, `SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn >= ${end}`), (v) =>
            v === "t" ? true : undefined
          )
        )
      })
  }
})

/**
 * Another session of `sql`'s database holds `ACCESS EXCLUSIVE` on `jobs` from when this returns until
 * `release` (or the scope's end): every read of the table waits for it. Its process id names it. Only
 * on a cluster of the test's own: the lock takes a transaction id, which holds back the snapshots of
 * every database of its server while it is held.
 *
 * @since 0.1.0
 */
export const lockJobs = (sql: SqlClient.SqlClient) =>
  Effect.gen(function* () {
    const locked = yield* Deferred.make<number>()
    const release = yield* Deferred.make<void>()
    const holder = yield* Effect.forkScoped(
      sql
        .withTransaction(
          Effect.gen(function* () {
            const [{ pid }] = yield* sql<{ readonly pid: number }>`SELECT pg_backend_pid() AS pid`
            yield* sql`LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE`
            yield* Deferred.succeed(locked, pid)
            yield* Deferred.await(release)
          })
        )
        .pipe(Effect.orDie)
    )
    const pid = yield* Deferred.await(locked)
    return { pid, release: Effect.zipRight(Deferred.succeed(release, undefined), Fiber.join(holder)) }
  })
