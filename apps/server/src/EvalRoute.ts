/**
 * `POST /api/v1/ground-truth/eval`: the predictions in the body scored against the samples an export
 * with the same filters holds (contract §12), within the bounds of one request, so that no eval stalls
 * or bloats the server:
 *
 * - the body is spooled to a temporary file and indexed as it arrives (core's `Eval.limits` bound each
 *   line, so a bad one is answered at once), at most `GROUND_TRUTH_EVAL_MAX_BYTES` (413 past it), within
 *   `GROUND_TRUTH_EVAL_UPLOAD_TIMEOUT` (408 past it, before Node's own request timeout cuts the
 *   connection with an empty answer);
 * - at most `GROUND_TRUTH_EVAL_CONCURRENCY` evaluations run at once, uploads included; one more is a 503
 *   with `Retry-After`, at once, never a wait;
 * - scoring stays on the event loop, in slices: every read of the spool and every batch of samples
 *   yields, and the limits keep the work between two yields to a line of at most 1 MiB, linear in it.
 *
 * @since 0.1.0
 */
import type { HttpServerRequest } from "@effect/platform"
import { Eval, Export, type Filter } from "@ground-truth/core"
import { Config, Duration, Effect, Option } from "effect"
import { Admission, retryAfter } from "./Admission.js"
import { BadRequest, EvalBusy, Gone, ServerError, type Unavailable } from "./Api.js"
import { exportFailure } from "./Errors.js"
import * as Spool from "./Spool.js"

/** What a refused eval tells its client to wait before it tries again. */
const RETRY_AFTER_SECONDS = 10

/**
 * Node's own `requestTimeout` (5 minutes): past it, Node answers a request whose body has not arrived
 * with an empty 408 and closes the connection. The upload timeout must come first to answer in JSON.
 */
const NODE_REQUEST_TIMEOUT = Duration.minutes(5)

/** Evaluation takes no cursor, so no cursor can be stale: were one, it would be the server's fault. */
const evalFailure = (e: ServerError | Unavailable | Gone): ServerError | Unavailable =>
  e instanceof Gone ? new ServerError({ error: { code: "database_error", message: e.error.message } }) : e

const invalid = (e: Eval.InvalidPrediction) =>
  new BadRequest({ error: { code: "invalid_prediction", message: e.message, parameter: "body" } })

/**
 * The handler, with its configuration and its slots: `(request, filter) => the scoring`.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function* () {
  const exporter = yield* Export.Export
  const { admit } = yield* Admission
  yield* Spool.sweep
  const limit = yield* Config.integer("GROUND_TRUTH_EVAL_MAX_BYTES").pipe(
    Config.validate({ message: "Expected a number of bytes above zero", validation: (n: number) => n > 0 }),
    Config.withDefault(1024 ** 3)
  )
  const concurrency = yield* Config.integer("GROUND_TRUTH_EVAL_CONCURRENCY").pipe(
    Config.validate({ message: "Expected a whole number above zero", validation: (n: number) => n > 0 }),
    Config.withDefault(2)
  )
  const timeout = yield* Config.duration("GROUND_TRUTH_EVAL_UPLOAD_TIMEOUT").pipe(
    Config.validate({
      message:
        "Expected a duration above zero and below 5 minutes (Node's request timeout would cut the upload first)",
      validation: (d: Duration.Duration) =>
        Duration.toMillis(d) > 0 && Duration.lessThan(d, NODE_REQUEST_TIMEOUT)
    }),
    Config.withDefault(Duration.minutes(4))
  )
  const slots = yield* Effect.makeSemaphore(concurrency)

  const score = (request: HttpServerRequest.HttpServerRequest, filter: Filter.Filter) =>
    Effect.scoped(
      Effect.gen(function* () {
        const lines = Eval.index()
        const read = yield* Spool.spool(request, { limit, timeout, take: lines.push }).pipe(
          Effect.catchTag("InvalidPrediction", (e) => Effect.fail(invalid(e)))
        )
        const predictions = Eval.reader(yield* Effect.mapError(lines.end(), invalid), read)
        // Scoring holds a snapshot: it takes a read slot as exports do.
        yield* admit
        return yield* Eval.run(filter.format, exporter.samples(filter), predictions, filter.split).pipe(
          Effect.mapError((e) =>
            e instanceof ServerError
              ? e
              : e._tag === "InvalidPrediction"
                ? invalid(e)
                : // The spool is ours alone: a line that changed is a fault of this server's disk.
                  e._tag === "LineChanged"
                  ? new ServerError({
                      error: { code: "spool_failed", message: `the spooled body: ${e.message}` }
                    })
                  : evalFailure(exportFailure(e))
          )
        )
      })
    )

  const busy = (request: HttpServerRequest.HttpServerRequest) =>
    Effect.zipRight(
      retryAfter(request, RETRY_AFTER_SECONDS),
      Effect.suspend(() => {
        Spool.dropRest(request)
        return Effect.fail(
          new EvalBusy({
            error: {
              code: "eval_busy",
              message:
                `${concurrency} evaluations are running (GROUND_TRUTH_EVAL_CONCURRENCY): try again in ` +
                `${RETRY_AFTER_SECONDS} seconds`
            }
          })
        )
      })
    )

  return (request: HttpServerRequest.HttpServerRequest, filter: Filter.Filter) =>
    Effect.flatMap(
      slots.withPermitsIfAvailable(1)(score(request, filter)),
      Option.match({ onNone: () => busy(request), onSome: Effect.succeed })
    )
})
