/**
 * How many snapshots the server's reads hold at once. Every export, increment, manifest, stats call,
 * report and eval holds one of the pool's connections for as long as it runs; without a bound, enough of
 * them (150 concurrent downloads, say) take the whole pool, and `/healthz` and the review writes wait
 * behind them. So reads take a slot first: all the pool's connections but `RESERVED`, which stay for
 * health checks, the job view and the review writes. A read that finds every slot taken waits in a queue
 * of at most `GROUND_TRUTH_EXPORT_QUEUE` (default 64); one more is answered at once with a 503
 * `server_busy` and a `Retry-After`, never left to wait without end. A client that goes away while it
 * waits leaves the queue.
 *
 * The embedded database serves one transaction at a time: one slot, the others wait here rather than
 * at its socket.
 *
 * An export may read with workers (`GROUND_TRUTH_EXPORT_WORKERS`, contract §15), each on a connection of
 * its own outside the pool: such an export (and increment, manifest) takes a slot for each of them too
 * (`admitExport`), so the server never holds more connections than `GROUND_TRUTH_DB_POOL`. A count that
 * could never be admitted is refused at start. Where the database serves one session (embedded, PGlite
 * behind a URL) exports read with one worker.
 *
 * @since 0.1.0
 */
import type { HttpServerRequest } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Database } from "@ground-truth/db"
import { Unavailable } from "@ground-truth/protocol/Api"
import { Config, ConfigError, Duration, Effect, type Scope } from "effect"

/** Connections kept for `/healthz`, the job view and the review writes. */
const RESERVED = 2

/**
 * What a 503 tells its client to wait before it tries again (`Retry-After`, set on every 503 that does
 * not choose its own: `Http.ts`), a refused read's included.
 *
 * @since 0.1.0
 */
export const RETRY_AFTER_SECONDS = 5

/**
 * Sets `Retry-After` on the response a request will get (unless something set it already).
 *
 * @since 0.1.0
 */
export const retryAfter = (request: HttpServerRequest.HttpServerRequest, seconds: number) =>
  Effect.sync(() => {
    const response = NodeHttpServerRequest.toServerResponse(request)
    if (!response.headersSent && !response.hasHeader("retry-after"))
      response.setHeader("retry-after", String(seconds))
  })

/**
 * The server's read slots: `admit` waits for one (or fails with `server_busy`) and holds it
 * until the scope closes.
 *
 * @since 0.1.0
 */
/**
 * The workers an export reads with (`GROUND_TRUTH_EXPORT_WORKERS`, default 1): one where the database
 * serves one session (asked of the database at start; one that does not answer yet is taken to serve
 * many), and refused when an export with them would need more than the `slots` for reads.
 */
const exportWorkers = (slots: number, pool: number) =>
  Effect.gen(function* () {
    const asked = yield* Config.integer("GROUND_TRUTH_EXPORT_WORKERS").pipe(
      Config.validate({
        message: "Expected a whole number from 1 to 64",
        validation: (n: number) => n >= 1 && n <= 64
      }),
      Config.withDefault(1)
    )
    if (asked === 1) return 1
    const oneSession = yield* Database.servesOneSession.pipe(
      Effect.timeout(Duration.seconds(2)),
      Effect.orElseSucceed(() => false)
    )
    if (oneSession) {
      yield* Effect.logWarning(
        "the database serves one session at a time: exports read with one worker"
      ).pipe(Effect.annotateLogs({ GROUND_TRUTH_EXPORT_WORKERS: asked }))
      return 1
    }
    if (1 + asked > slots) {
      return yield* Effect.fail(
        ConfigError.InvalidData(
          ["GROUND_TRUTH_EXPORT_WORKERS"],
          `an export with ${asked} workers holds ${asked + 1} connections, more than the ${slots} reads may ` +
            `hold (GROUND_TRUTH_DB_POOL ${pool}, less ${RESERVED} kept for health checks and reviews)`
        )
      )
    }
    return asked
  })

export class Admission extends Effect.Service<Admission>()("@ground-truth/server/Admission", {
  effect: Effect.gen(function* () {
    const info = yield* Database.DatabaseInfo
    const queue = yield* Config.integer("GROUND_TRUTH_EXPORT_QUEUE").pipe(
      Config.validate({ message: "Expected a whole number, 0 or more", validation: (n: number) => n >= 0 }),
      Config.withDefault(64)
    )
    const slots = info.kind === "embedded" ? 1 : Math.max(1, info.connections - RESERVED)
    const workers = yield* exportWorkers(slots, info.connections)
    const semaphore = yield* Effect.makeSemaphore(slots)
    let held = 0
    let waiting = 0
    const busy = () =>
      Effect.fail(
        new Unavailable({
          error: {
            code: "server_busy",
            message:
              `the ${slots} connections for reads of the database are taken and ${waiting} reads are waiting ` +
              `(GROUND_TRUTH_EXPORT_QUEUE): try again in ${RETRY_AFTER_SECONDS} seconds`
          }
        })
      )
    /** Takes `n` slots for the scope, waiting in the queue when they are not free. */
    const take = (n: number): Effect.Effect<void, Unavailable, Scope.Scope> =>
      // Only the wait is interruptible: once the slots are taken, their release is in the scope.
      Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => {
          const queued = held + n > slots
          if (queued && waiting >= queue) return busy()
          if (queued) waiting++
          return restore(semaphore.take(n)).pipe(
            Effect.ensuring(
              Effect.sync(() => {
                if (queued) waiting--
              })
            ),
            Effect.zipRight(
              Effect.sync(() => {
                held += n
              })
            ),
            Effect.zipRight(
              Effect.addFinalizer(() =>
                Effect.zipRight(
                  Effect.sync(() => {
                    held -= n
                  }),
                  semaphore.release(n)
                )
              )
            )
          )
        })
      )
    return {
      /** A read's slot. */
      admit: take(1),
      /** An export's: its own connection's and its workers'. */
      admitExport: take(workers > 1 ? 1 + workers : 1),
      slots,
      queue,
      workers
    }
  })
}) {}
