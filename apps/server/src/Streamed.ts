/**
 * A streamed export body: its first bytes decide between a JSON error and a body, then the body goes
 * out gzipped when the client accepts it, in slices a client must take within the send timeout.
 *
 * @since 0.1.0
 */
import { type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { type Export, Filter, Parquet, type Plan, Timestamp } from "@ground-truth/core"
import * as Headers from "@ground-truth/protocol/Headers"
import { Cause, Chunk, Duration, Effect, Exit, Option, Stream } from "effect"
import * as Compression from "./Compression.js"
import { exportFailure, logFields } from "./Errors.js"

/** gzip's level for bodies: 4 compresses the corpus to ~11% at ~200 MB/s a core (6: ~10%, ~140 MB/s). */
const GZIP_LEVEL = 4

/** How many bytes of a streamed body are handed to the response at a time (see `handedOut`). */
const SLICE = 64 * 1024

/** A batch's buffers cut into slices of at most `SLICE` bytes (views, not copies). */
const slices = (chunk: Chunk.Chunk<Uint8Array>): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (const buffer of chunk)
    for (let i = 0; i < buffer.length; i += SLICE) out.push(buffer.subarray(i, i + SLICE))
  return out
}

/** What a streamed body can fail with. */
type BodyError = Export.ExportError | Plan.PlanGone | Compression.CompressionError | Parquet.ParquetError

/** A pull of a body's batches: a chunk, or `None` at its end. */
type Pull<E> = Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<E>>

/**
 * `pull`'s batches gzipped, batch by batch: at the end of `pull`, gzip's last bytes, then the end.
 * `first`, the batch already pulled, is gzipped first.
 */
const gzipped = <E>(pull: Pull<E>, first: Chunk.Chunk<Uint8Array>) =>
  Effect.gen(function* () {
    const gzip = yield* Compression.gzipper(GZIP_LEVEL)
    const compress = (batch: Chunk.Chunk<Uint8Array>): Pull<Compression.CompressionError> =>
      Chunk.isEmpty(batch) ? Effect.succeed(batch) : Effect.mapError(gzip.write(batch), Option.some)
    let ended = false
    const batches: Pull<E | Compression.CompressionError> = Effect.flatMap(pull, compress).pipe(
      Effect.catchAll((e: Option.Option<E | Compression.CompressionError>) => {
        if (Option.isSome(e) || ended) return Effect.fail(e)
        ended = true
        return Effect.mapError(gzip.end, Option.some)
      })
    )
    return { first: yield* gzip.write(first), batches }
  })

/**
 * A body's bytes handed out a slice of at most `SLICE` bytes at a time: `next` hands over the next slice
 * (pulling the next batch when the last is out), `handedAt` is when the last slice was handed over
 * (`undefined` while the next batch is being produced: the database's time, not the client's).
 */
const handedOut = <E>(first: Chunk.Chunk<Uint8Array>, batches: Pull<E>) => {
  let queue = slices(first)
  let at = 0
  let handedAt: number | undefined = Date.now()
  const handOver = () => {
    handedAt = Date.now()
    return at < queue.length ? Chunk.of(queue[at++]) : Chunk.empty<Uint8Array>()
  }
  const next: Pull<E> = Effect.suspend(() => {
    handedAt = undefined
    return at < queue.length
      ? Effect.succeed(handOver())
      : Effect.map(batches, (chunk) => {
          queue = slices(chunk)
          at = 0
          return handOver()
        })
  })
  return { next, handedAt: () => handedAt }
}

/**
 * Resets the transfer once `handedAt` (see `handedOut`) is `sendTimeout` old: one watcher per download,
 * not a timer per slice.
 */
const watch = (
  handedAt: () => number | undefined,
  sendTimeout: Duration.Duration,
  reset: Effect.Effect<void>
) => {
  const timeout = Duration.toMillis(sendTimeout)
  const watcher: Effect.Effect<void> = Effect.suspend(() => {
    const at = handedAt()
    const since = at === undefined ? 0 : Date.now() - at
    return at !== undefined && since >= timeout
      ? Effect.logWarning("export cut: the client took no data").pipe(
          Effect.annotateLogs({ send_timeout: Duration.format(sendTimeout) }),
          Effect.zipRight(reset)
        )
      : Effect.zipRight(Effect.sleep(Duration.millis(timeout - since)), watcher)
  })
  return watcher
}

/**
 * A streamed JSONL response (or Parquet: nothing leaves before its first row group, so an early failure
 * is a JSON error too). The first chunk is pulled before the status is sent, so an export that
 * fails at once (an unreachable database, a bad first job) answers with a JSON error. Once bytes have
 * left, a failure resets the connection: the client sees a broken transfer, never a clean but short
 * corpus. The stream lives in the request's scope, which closes when the response is done or the client
 * goes away: the snapshot transaction ends and its connection returns to the pool. A client that does
 * not take a slice of the body within `sendTimeout` has its transfer reset, which closes the scope the
 * same way. A client that accepts gzip gets the body gzipped, batch by batch, from the first bytes on
 * (an early failure is still a plain JSON error).
 *
 * @since 0.1.0
 */
export const streamed = (
  request: HttpServerRequest.HttpServerRequest,
  filter: Filter.Filter,
  body: {
    readonly stream: Stream.Stream<Uint8Array, Export.ExportError | Plan.PlanGone>
    /** The snapshot, known once the first bytes (or the end) have come. */
    readonly taken: Effect.Effect<Option.Option<Export.Taken>>
    /** A suffix of the file name: `-changes` for `/changes`. */
    readonly suffix: string
    /** The body as one Parquet file of these lines (never gzipped: its pages are compressed). */
    readonly parquet: boolean
  },
  sendTimeout: Duration.Duration
) =>
  Effect.gen(function* () {
    // A reset, not a close: a close sends what is queued and then a clean end, which a client reading
    // without chunked encoding (HTTP/1.0, as a proxy may speak) could take for a whole corpus.
    const response = NodeHttpServerRequest.toServerResponse(request)
    const reset = Effect.sync(() => {
      response.socket?.resetAndDestroy()
    })
    const pull = yield* Stream.toPull(
      body.parquet ? Parquet.encode(filter.format, Filter.output(filter).input)(body.stream) : body.stream
    )
    // The first bytes, not the first chunk: a split or the preference format can make whole batches
    // write nothing, and an error after them must still be a JSON error, not a cut transfer.
    const first = yield* Effect.exit(Effect.repeat(pull, { until: Chunk.isNonEmpty }))
    // ground-truth-2025-06-01[-train][-prompt-completion].jsonl
    const name = [
      `ground-truth-${new Date().toISOString().slice(0, 10)}`,
      ...Option.toArray(Option.map(filter.split, (split) => split.name)),
      ...(filter.format === "jsonl" ? [] : [filter.format])
    ].join("-")
    const taken = Option.getOrUndefined(yield* body.taken)
    const respond = (bytes: Stream.Stream<Uint8Array, BodyError>, gzip: boolean) =>
      HttpServerResponse.stream(bytes, {
        contentType: body.parquet ? Parquet.contentType : "application/x-ndjson",
        headers: {
          "content-disposition": `attachment; filename="${name}${body.suffix}${body.parquet ? Parquet.extension : ".jsonl"}"`,
          vary: "accept, accept-encoding",
          ...(gzip ? { "content-encoding": "gzip" } : {}),
          ...(taken === undefined
            ? {}
            : {
                [Headers.cursor]: taken.cursor,
                [Headers.snapshotTime]: Timestamp.format(taken.time)
              })
        }
      })
    if (Exit.isFailure(first)) {
      const error = Cause.failureOption(first.cause)
      if (Option.isNone(error)) return yield* Effect.failCause(first.cause as Cause.Cause<never>)
      if (Option.isNone(error.value)) return respond(Stream.empty, false)
      // A cursor the database cannot answer for (yet), or a plan no longer held, is no failure of the
      // server's: the request log's 410 or 503 says it.
      const tag = error.value.value._tag
      if (tag !== "StaleCursor" && tag !== "StandbyNotReady" && tag !== "PlanGone") {
        yield* Effect.logError("export failed before streaming").pipe(
          Effect.annotateLogs(logFields(error.value.value))
        )
      }
      return yield* Effect.fail(exportFailure(error.value.value))
    }
    // Compression starts after the first bytes, so the decision above (a JSON error or a body) stands.
    const gzip = !body.parquet && Compression.acceptsGzip(request.headers["accept-encoding"])
    const compressed = gzip
      ? yield* Effect.mapError(gzipped(pull, first.value), exportFailure)
      : { first: first.value, batches: pull }
    // A stalled or trickling reader would hold the snapshot and its pooled connection for as long as it
    // likes. So the body goes out in slices, each handed over when the response has sent the previous
    // one, and the clock runs from a slice's hand-over until the next is asked for: only the client's
    // time counts (not the database's, producing the next batch), and a client must take a slice per
    // `sendTimeout`.
    const out = handedOut<BodyError>(compressed.first, compressed.batches)
    yield* Effect.forkIn(watch(out.handedAt, sendTimeout, reset), yield* Effect.scope)
    return respond(
      Stream.repeatEffectChunkOption(out.next).pipe(
        Stream.tapError((e) =>
          Effect.logError("export aborted after streaming began").pipe(
            Effect.annotateLogs(logFields(e)),
            Effect.zipRight(reset)
          )
        )
      ),
      gzip
    )
  })
