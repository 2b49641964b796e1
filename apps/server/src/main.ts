/**
 * `pnpm serve`: the HTTP server.
 *
 * Configuration: `HOST` (default 127.0.0.1), `PORT` (default 8080), `GROUND_TRUTH_SHUTDOWN_GRACE`
 * (default 30 seconds: how long running exports may take to finish after SIGTERM; then what is left is
 * reset),
 * `GROUND_TRUTH_SEND_TIMEOUT` (default 60 seconds: a download that takes no data for that long is cut),
 * `GROUND_TRUTH_API_TOKENS` / `GROUND_TRUTH_REVIEW_TOKENS` and their `_FILE` forms (access control, see
 * `Auth.ts`), and the
 * database variables of `@ground-truth/db` (`DATABASE_URL`, or the embedded default).
 */
import { HttpServer } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Export, Filter } from "@ground-truth/core"
import { Configuration, Database } from "@ground-truth/db"
import { Cause, Config, Data, Duration, Effect, Layer, Logger, Option, Stream } from "effect"
import * as Auth from "./Auth.js"
import * as Http from "./Http.js"
import * as Shutdown from "./Shutdown.js"

/** Serving the corpus beyond this machine with no access control: refused at start. */
class InsecureBind extends Data.TaggedError("InsecureBind")<{ readonly host: string }> {
  override get message(): string {
    return (
      `refusing to listen on ${this.host} without access control: the corpus holds personal data. ` +
      "Set GROUND_TRUTH_API_TOKENS and/or GROUND_TRUTH_REVIEW_TOKENS (or their _FILE forms), or listen on a loopback HOST such as 127.0.0.1."
    )
  }
}

/** How long the start waits for its warm-up (`warmUp`). */
const WARM_UP_LIMIT = Duration.seconds(2)

const host = Config.string("HOST").pipe(Config.withDefault("127.0.0.1"))

/**
 * The Node server. On shutdown it stops accepting at once and lets running responses finish; when the
 * grace period ends it resets every connection still open (`Shutdown`), so that a stuck download cannot
 * hold the process and no client takes the part it got for a whole body, and the requests cut are
 * logged as such.
 */
const NodeServer = Layer.unwrapScoped(
  Effect.gen(function* () {
    const hostname = yield* host
    // 0 asks the system for a free port (the "listening" log says which).
    const port = yield* Config.integer("PORT").pipe(
      Config.validate({ message: "Expected a port number 0-65535", validation: (p) => p >= 0 && p <= 65535 }),
      Config.withDefault(8080)
    )
    const grace = yield* Config.duration("GROUND_TRUTH_SHUTDOWN_GRACE").pipe(
      Config.withDefault(Duration.seconds(30))
    )
    const server = Http.createNodeServer()
    const resetOpen = Shutdown.track(server)
    // Released before the server layer below: arms the deadline, then the server's own release waits
    // for open responses.
    const deadline = Layer.scopedDiscard(
      Effect.addFinalizer(() =>
        Effect.sync(() => {
          server.closeIdleConnections()
          setTimeout(() => resetOpen(grace), Duration.toMillis(grace)).unref()
        })
      )
    )
    return deadline.pipe(Layer.provideMerge(NodeHttpServer.layer(() => server, { host: hostname, port })))
  })
)

/**
 * Before it says it listens, the server reads the first bytes of an export and drops them: the pool's
 * first connection, its backend's catalog and the export's code (which V8 compiles on first use) are
 * then ready, and the first request's first byte comes in ~60 ms instead of ~230 at 1M jobs (later
 * requests: ~30 ms). Whatever goes wrong (the database down, no schema yet, a bad first job) is for the requests
 * to report; a warm-up still waiting after `WARM_UP_LIMIT` (a lock held on `jobs`, a database that
 * stalls) is cancelled in the background, said in a warning, and the server starts anyway.
 */
const warmUp = Effect.flatMap(Export.Export, (exporter) =>
  exporter.stream(Filter.defaults).pipe(Stream.take(1), Stream.runDrain)
).pipe(
  Effect.ignore,
  Effect.disconnect,
  Effect.timeoutOption(WARM_UP_LIMIT),
  Effect.flatMap(
    Option.match({
      onSome: () => Effect.void,
      onNone: () =>
        Effect.logWarning(
          "the warm-up export was still waiting (a lock on jobs, or a slow database): starting without it"
        ).pipe(Effect.annotateLogs({ waited_ms: Duration.toMillis(WARM_UP_LIMIT) }))
    })
  )
)

const Started = Layer.effectDiscard(
  Effect.gen(function* () {
    const server = yield* HttpServer.HttpServer
    const info = yield* Database.DatabaseInfo
    yield* warmUp
    const address =
      server.address._tag === "TcpAddress"
        ? `http://${server.address.hostname}:${server.address.port}`
        : server.address.path
    yield* Effect.log("listening").pipe(
      Effect.annotateLogs({ address, database: info.kind, location: info.location })
    )
  })
)

const Main = Layer.mergeAll(Http.layer, Started).pipe(
  Layer.provide(NodeServer),
  Layer.provide(Http.services),
  Layer.provide(
    Layer.effectDiscard(
      Effect.flatMap(Database.prepareEmbedded, (seeded) =>
        seeded > 0
          ? Effect.log("the embedded database was empty: seeded demo jobs").pipe(
              Effect.annotateLogs({ seeded })
            )
          : Effect.void
      )
    )
  ),
  Layer.provideMerge(Database.layer)
)

const setExitCode = Effect.sync(() => {
  process.exitCode = 1
})

/** A start-up failure the operator must act on: one readable log line and exit status 1. */
const refuse = (e: { readonly message: string }) => Effect.zipRight(Effect.logError(e.message), setExitCode)

/** Access control is settled first: an open bind is refused before the database is even opened. */
const program = Effect.gen(function* () {
  const tokens = yield* Auth.ApiTokens
  const hostname = yield* host
  if (tokens.tokens.length === 0 && !Auth.isLoopback(hostname))
    return yield* new InsecureBind({ host: hostname })
  return yield* Layer.launch(Main.pipe(Layer.provide(Layer.succeed(Auth.ApiTokens, tokens))))
}).pipe(
  Effect.provide(Auth.ApiTokens.layer),
  Effect.catchTags({
    InsecureBind: refuse,
    TokenConfigError: refuse,
    // DATABASE_URL, PORT and the other variables: one line naming the variable.
    ConfigError: (e) => refuse({ message: Configuration.describe(e) })
  }),
  // Whatever else ends the server (a database that cannot be opened, a port in use, a bug) is one JSON
  // line too, not the runtime's multi-line report.
  Effect.catchAllCause((cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.failCause(cause)
      : Effect.zipRight(Effect.logError("the server stopped", cause), setExitCode)
  ),
  Effect.provide(Logger.json)
)

/** Runs the server; the launcher calls it once the modules are loaded (scripts/launch.mjs). */
export const start = (): void => NodeRuntime.runMain(program, { disablePrettyLogger: true })
