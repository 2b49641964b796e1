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
import { type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Eval, Export, type Filter } from "@ground-truth/core"
import { BadRequest, EvalBusy, Gone, ServerError, type Unavailable } from "@ground-truth/protocol/Api"
import {
  Chunk,
  Config,
  Duration,
  Effect,
  Either,
  ExecutionStrategy,
  Exit,
  Option,
  Ref,
  Scope,
  Stream
} from "effect"
import { Admission, retryAfter } from "./Admission.js"
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

/** A bad line: of the body, or of a multipart body's part (`predictions`, `against`). */
const invalid = (e: Eval.InvalidPrediction, multipart = false) =>
  new BadRequest({
    error: { code: "invalid_prediction", message: e.message, parameter: multipart ? e.file : "body" }
  })

/**
 * The handlers, with their configuration and slots: `score(request, filter)`, the scoring;
 * `details(request, filter)`, its details lines as a response.
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
  /** Evaluations running, uploads included: one is counted for the scope that takes it. */
  const running = yield* Ref.make(0)
  const slot = Effect.acquireRelease(
    Ref.modify(running, (n) => (n < concurrency ? [true, n + 1] : [false, n])),
    (taken) => (taken ? Ref.update(running, (n) => n - 1) : Effect.void)
  )

  const failure = (
    e: Eval.InvalidPrediction | Eval.LineChanged | Eval.TooManySlices | Export.ExportError | ServerError
  ): BadRequest | ServerError | Unavailable => {
    if (e instanceof ServerError) return e
    switch (e._tag) {
      case "InvalidPrediction":
        return invalid(e)
      case "TooManySlices":
        return new BadRequest({ error: { code: "too_many_slices", message: e.message, parameter: "by" } })
      // The spool is ours alone: a line that changed is a fault of this server's disk.
      case "LineChanged":
        return new ServerError({ error: { code: "spool_failed", message: `the spooled body: ${e.message}` } })
      default:
        return evalFailure(exportFailure(e))
    }
  }

  /**
   * The body spooled and indexed, then a read slot: the predictions, for the scope, and the options with
   * a second model's: a plain body is the predictions; a multipart one holds the part `predictions`
   * and, to compare it with, the part `against` (`eval --against`).
   */
  const predictionsOf = (request: HttpServerRequest.HttpServerRequest, options: Eval.Options) =>
    Effect.gen(function* () {
      const bounds = { limit, timeout }
      const multipart = Spool.isMultipart(request)
      const lines = Eval.index()
      const againstLines = Eval.index(Eval.limits, "against")
      const readers = yield* (
        multipart
          ? Spool.parts(request, { predictions: lines.push, against: againstLines.push }, bounds)
          : Effect.map(
              Spool.spool(request, { ...bounds, take: lines.push }),
              (read): ReadonlyMap<string, Spool.Reader> => new Map([["predictions", read]])
            )
      ).pipe(Effect.catchTag("InvalidPrediction", (e) => Effect.fail(invalid(e, multipart))))
      const indexed = (index: typeof lines, part: string) => {
        const read = readers.get(part)
        return read === undefined
          ? Effect.succeed(undefined)
          : Effect.map(
              Effect.mapError(index.end(), (e) => invalid(e, multipart)),
              (found) => Eval.reader(found, read)
            )
      }
      const predictions = yield* indexed(lines, "predictions")
      const against = yield* indexed(againstLines, "against")
      if (against !== undefined && predictions === undefined)
        return yield* Effect.fail(
          new BadRequest({
            error: {
              code: "invalid_body",
              message:
                "the part against compares a second model with the first: send the first as the part predictions",
              parameter: "against"
            }
          })
        )
      // Scoring holds a snapshot: it takes a read slot as exports do.
      yield* admit
      return [predictions, against === undefined ? options : { ...options, against }] as const
    })

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

  /** Runs `use` in an evaluation's slot, or refuses at once (503) when none is free. */
  const inSlot = <A, E, R>(
    request: HttpServerRequest.HttpServerRequest,
    use: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | EvalBusy, R | Scope.Scope> =>
    Effect.flatMap(slot, (taken): Effect.Effect<A, E | EvalBusy, R> => (taken ? use : busy(request)))

  return {
    /** The scoring. */
    score: (request: HttpServerRequest.HttpServerRequest, filter: Filter.Filter, options: Eval.Options) =>
      Effect.scoped(
        inSlot(
          request,
          Effect.flatMap(predictionsOf(request, options), ([predictions, given]) =>
            Eval.run(filter.format, exporter.samples(filter), predictions, given).pipe(
              Effect.mapError(failure)
            )
          )
        )
      ),
    /**
     * One details line per reference job (`eval --details`), streamed. A scope of its own holds the
     * slot, the spool and the snapshot until the last line is sent (or the transfer is cut), and is
     * closed then, before the response ends: a client that has read the whole body may send its next
     * eval at once, and finds the slot free (the request's scope closes only a moment after the body's
     * end). A failure before the first line is a JSON error; after it, the transfer is cut.
     */
    details: (request: HttpServerRequest.HttpServerRequest, filter: Filter.Filter, options: Eval.Options) =>
      Effect.gen(function* () {
        const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
        const release = Scope.close(scope, Exit.void)
        return yield* inSlot(
          request,
          Effect.gen(function* () {
            const [predictions, given] = yield* predictionsOf(request, options)
            const encoder = new TextEncoder()
            const { lines } = Eval.detailed(filter.format, exporter.samples(filter), predictions, given)
            const pull = yield* Stream.toPull(Stream.mapError(lines, failure))
            // The first line (or the end): a failure before it is still a JSON error.
            const first = yield* Effect.either(Effect.repeat(pull, { until: Chunk.isNonEmpty }))
            if (Either.isLeft(first) && Option.isSome(first.left)) return yield* Effect.fail(first.left.value)
            const body = Either.isRight(first)
              ? Stream.concat(Stream.fromChunk(first.right), Stream.repeatEffectChunkOption(pull))
              : Stream.empty
            return HttpServerResponse.stream(
              Stream.ensuring(
                Stream.map(body, (line) => encoder.encode(line)),
                release
              ),
              { contentType: "application/x-ndjson" }
            )
          })
        ).pipe(
          Scope.extend(scope),
          Effect.onError(() => release)
        )
      })
  }
})
