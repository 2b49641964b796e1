/**
 * The live `Workers` of core (contract §15): each worker a thread (`node:worker_threads`) running the
 * bundle of `worker.ts`, with its own connection to the database; the requests and answers are core's
 * schemas, carried by `@effect/platform`'s worker protocol (chosen over piscina, tinypool and workerpool:
 * it is typed end to end by those schemas, interrupts a request across the thread, and stops its
 * threads with the scope, which the others leave to the caller).
 *
 * The bundle is built on first use, and again when a source it was built from changes
 * (`scripts/bundle.cjs`), so a worker runs the code of the tree, as the apps do.
 *
 * @since 0.1.0
 */
import { createRequire } from "node:module"
import * as path from "node:path"
import { Worker as Thread } from "node:worker_threads"
import * as Worker from "@effect/platform/Worker"
import { WorkerError } from "@effect/platform/WorkerError"
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import type { SqlError } from "@effect/sql/SqlError"
import { Workers } from "@ground-truth/core"
import { Duration, Effect, Layer, ParseResult, Pool, Redacted, Scope } from "effect"
import { repositoryRoot } from "./internal/root.js"

/**
 * What a worker's thread runs: `scripts/thread.cjs`, which runs the worker's bundle (built when it may be
 * stale) with V8's code cache, as the apps run theirs. Once per layer.
 */
const script = Effect.cached(
  Effect.tryPromise({
    try: async () => {
      const at = repositoryRoot() ?? process.cwd()
      const { bundled } = createRequire(path.join(at, "package.json"))("./scripts/bundle.cjs") as {
        readonly bundled: (options: { readonly pkg: string; readonly entry: string }) => Promise<string>
      }
      const bundle = await bundled({ pkg: "packages/db", entry: "src/worker.ts" })
      return { thread: path.join(at, "scripts", "thread.cjs"), bundle }
    },
    catch: (cause) => new Workers.WorkerFailed({ detail: `cannot build the worker: ${String(cause)}` })
  })
)

/** The young generation of a worker's heap, in MB (the apps' launcher keeps theirs small: see docs/performance.md, "Memory"). */
const YOUNG_GENERATION_MB = 48

/** A worker's failure to run (it died, or could not start), as the export's. */
const failed = (e: { readonly message: string }) => new Workers.WorkerFailed({ detail: e.message })

/** A worker's answer, its database error as the `SqlError` it was. */
const answer = <A, E>(
  request: Effect.Effect<A, E | Workers.SqlFailed | WorkerError | ParseResult.ParseError>
): Effect.Effect<A, Exclude<E, Workers.SqlFailed> | SqlError | Workers.WorkerFailed> =>
  Effect.mapError(request, (e) =>
    e instanceof Workers.SqlFailed
      ? Workers.sqlError(e)
      : e instanceof WorkerError || ParseResult.isParseError(e)
        ? failed(e)
        : (e as Exclude<E, Workers.SqlFailed>)
  )

/**
 * How often threads unused since the last look are stopped: an export's threads serve the next one (a
 * thread takes 170-360 ms to start on a busy 2-core machine, more than a small export's work). Effect's
 * `Pool` looks every `idle` and stops as many threads as are unused at that moment.
 */
const IDLE = Duration.seconds(30)

/** Threads at most, far above any export's count: what bounds them is the front end's admission. */
const MAX_THREADS = 1024

/** How long a thread may take to start: one that died before it was ready is started again, forever. */
const START_LIMIT = Duration.seconds(60)

/** How long an export's end may wait for a worker to end its snapshot: past it, the thread is stopped. */
const CLOSE_LIMIT = Duration.seconds(5)

/**
 * Workers for `url`'s database: `size` per export, `rangeRows` rows a range (see `Workers`). The threads
 * are kept between exports (stopped when unused at a look every `idle`, 30 s unless given, and with the
 * layer), each export's snapshot on a connection of its own that ends with the export: an idle thread
 * holds no connection. A thread that failed a request other than by the export's own error (it died,
 * say) is stopped, never handed out again.
 *
 * @since 0.1.0
 */
export const layer = (options: {
  readonly url: Redacted.Redacted
  readonly size: number
  readonly rangeRows: number
  readonly idle?: Duration.DurationInput
}): Layer.Layer<Workers.Workers> =>
  Layer.scoped(
    Workers.Workers,
    Effect.gen(function* () {
      const built = yield* script
      const spawn = Effect.gen(function* () {
        const { thread, bundle } = yield* built
        return yield* Worker.makeSerialized<typeof Workers.Request.Type>({}).pipe(
          Effect.provide(
            NodeWorker.layer(
              () =>
                new Thread(thread, {
                  workerData: { bundle, url: Redacted.value(options.url) },
                  // A range's rows are megabytes alive at once: a young generation that holds them
                  // keeps them from being promoted and collected again (9% less CPU at 100k jobs).
                  resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB }
                })
            )
          ),
          Effect.mapError(failed),
          Effect.timeoutFail({
            duration: START_LIMIT,
            onTimeout: () =>
              failed({ message: `a worker thread did not start within ${Duration.toSeconds(START_LIMIT)} s` })
          })
        )
      })
      const threads = yield* Pool.makeWithTTL({
        acquire: spawn,
        min: 0,
        max: MAX_THREADS,
        timeToLive: options.idle ?? IDLE
      })
      const one = (snapshot: string) =>
        Effect.gen(function* () {
          const scope = yield* Effect.scope
          const worker = yield* Pool.get(threads)
          const discard = Effect.provideService(Pool.invalidate(threads, worker), Scope.Scope, scope)
          /**
           * A request whose failure is not the export's own discards the thread: it died, or it was
           * started again after it died (then it holds no snapshot, and dies asking for a range).
           */
          const ask = <A, E>(request: Effect.Effect<A, E | WorkerError | ParseResult.ParseError>) =>
            request.pipe(
              Effect.catchAllDefect((defect) => Effect.fail(failed({ message: String(defect) }))),
              Effect.tapError((e) =>
                e instanceof WorkerError || ParseResult.isParseError(e) || e instanceof Workers.WorkerFailed
                  ? discard
                  : Effect.void
              )
            )
          // The end first: an export stopped while its snapshot is being opened waits for no connection.
          yield* Effect.addFinalizer(() =>
            worker.executeEffect(new Workers.Close()).pipe(
              Effect.timeoutFail({ duration: CLOSE_LIMIT, onTimeout: () => "timeout" as const }),
              Effect.catchAllCause(() => discard)
            )
          )
          yield* answer(ask(worker.executeEffect(new Workers.Open({ snapshot }))))
          const reader: Workers.Reader = (range) => answer(ask(worker.executeEffect(range)))
          return reader
        })
      return {
        size: options.size,
        rangeRows: options.rangeRows,
        // The threads end their snapshots at once, each before it goes back to the pool.
        start: (snapshot: string) =>
          Effect.parallelFinalizers(
            Effect.all(
              Array.from({ length: options.size }, () => Effect.sequentialFinalizers(one(snapshot))),
              { concurrency: "unbounded" }
            )
          )
      }
    })
  )
