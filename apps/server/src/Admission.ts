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
 * @since 0.1.0
 */
import type { HttpServerRequest } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Database } from "@ground-truth/db"
import { Config, Effect, type Scope } from "effect"
import { Unavailable } from "./Api.js"

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
export class Admission extends Effect.Service<Admission>()("@ground-truth/server/Admission", {
  effect: Effect.gen(function* () {
    const info = yield* Database.DatabaseInfo
    const queue = yield* Config.integer("GROUND_TRUTH_EXPORT_QUEUE").pipe(
      Config.validate({ message: "Expected a whole number, 0 or more", validation: (n: number) => n >= 0 }),
      Config.withDefault(64)
    )
    const slots = info.kind === "embedded" ? 1 : Math.max(1, info.connections - RESERVED)
    const semaphore = yield* Effect.makeSemaphore(slots)
    let held = 0
    let waiting = 0
    const busy = () =>
      Effect.fail(
        new Unavailable({
          error: {
            code: "server_busy",
            message:
              `${slots} reads of the database are running and ${waiting} are waiting (GROUND_TRUTH_EXPORT_QUEUE): ` +
              `try again in ${RETRY_AFTER_SECONDS} seconds`
          }
        })
      )
    const admit: Effect.Effect<void, Unavailable, Scope.Scope> =
      // Only the wait is interruptible: once the slot is taken, its release is in the scope.
      Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => {
          const queued = held >= slots
          if (queued && waiting >= queue) return busy()
          if (queued) waiting++
          return restore(semaphore.take(1)).pipe(
            Effect.ensuring(
              Effect.sync(() => {
                if (queued) waiting--
              })
            ),
            Effect.zipRight(
              Effect.sync(() => {
                held++
              })
            ),
            Effect.zipRight(
              Effect.addFinalizer(() =>
                Effect.zipRight(
                  Effect.sync(() => {
                    held--
                  }),
                  semaphore.release(1)
                )
              )
            )
          )
        })
      )
    return { admit, slots, queue }
  })
}) {}
