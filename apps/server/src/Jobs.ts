/**
 * The review write path over HTTP: a job's current result and trail, a correction, an approval or a
 * rejection, each through core's `Review` service. The reviewer is the `X-User-Id` header. The
 * correction body is read with core's lossless JSON parser, so a big number in `new_value` is recorded
 * exactly as sent.
 *
 * @since 0.1.0
 */
import { HttpApiBuilder, type HttpServerRequest } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Json, Review, Timestamp } from "@ground-truth/core"
import {
  Api,
  BadRequest,
  CorrectionEvent,
  CorrectionRequest,
  Decision,
  JobView,
  type ReviewerHeaders
} from "@ground-truth/protocol/Api"
import * as Headers from "@ground-truth/protocol/Headers"
import { Effect, Either } from "effect"
import { reviewFailure } from "./Errors.js"

/**
 * The header's bytes as UTF-8 (Node hands headers over as Latin-1), unless they are not UTF-8: then
 * Latin-1 it is.
 */
const utf8 = (header: string): string => {
  const decoded = Buffer.from(header, "latin1").toString("utf8")
  return decoded.includes("\uFFFD") ? header : decoded
}

/** The reviewer: the declared `X-User-Id`, as UTF-8, trimmed, 1–256 characters. */
const reviewer = (headers: typeof ReviewerHeaders.Type) => {
  const id = utf8(headers[Headers.reviewer] ?? "").trim()
  return id === "" || id.length > 256
    ? Effect.fail(
        new BadRequest({
          error: {
            code: "missing_reviewer",
            message: "the X-User-Id header must name the reviewer (1–256 characters)",
            parameter: "X-User-Id"
          }
        })
      )
    : Effect.succeed(id)
}

const invalidBody = (message: string) =>
  new BadRequest({ error: { code: "invalid_body", message, parameter: "body" } })

/** A correction body holds at most this many bytes. */
const MAX_BODY = 1024 * 1024

/**
 * A larger body is still read to its end (and dropped), so that the client gets its 400 rather than a
 * connection reset while it is still sending; past this many bytes reading on is not worth it: the 400
 * goes out without reading the rest, and the connection is closed after it.
 */
const MAX_DRAIN = 64 * 1024 * 1024

const utf8Strict = new TextDecoder("utf-8", { fatal: true })

/**
 * The body's first `MAX_BODY` bytes and its length, read from the Node request. Past `MAX_DRAIN` the
 * request is paused, not destroyed: a destroyed socket would leave the error response unwritable.
 */
const readBody = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.async<{ readonly kept: ReadonlyArray<Buffer>; readonly bytes: number }, BadRequest>((resume) => {
    const incoming = NodeHttpServerRequest.toIncomingMessage(request)
    const kept: Array<Buffer> = []
    let bytes = 0
    const cleanup = () => {
      incoming.off("data", onData)
      incoming.off("end", onEnd)
      incoming.off("error", onError)
    }
    const onData = (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes <= MAX_BODY) kept.push(chunk)
      else if (bytes > MAX_DRAIN) {
        incoming.pause()
        onEnd()
      }
    }
    const onEnd = () => {
      cleanup()
      resume(Effect.succeed({ kept, bytes }))
    }
    const onError = () => {
      cleanup()
      resume(Effect.fail(invalidBody("the body cannot be read: the connection failed")))
    }
    incoming.on("data", onData)
    incoming.once("end", onEnd)
    incoming.once("error", onError)
    return Effect.sync(cleanup)
  })

/** The body as UTF-8 text, at most `MAX_BODY` bytes of it. */
const bodyText = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    const { kept, bytes } = yield* readBody(request)
    if (bytes > MAX_DRAIN) {
      yield* Effect.logWarning(
        "correction body over 64 MiB: answered without reading the rest, connection closed"
      )
      NodeHttpServerRequest.toServerResponse(request).setHeader("connection", "close")
      return yield* Effect.fail(invalidBody("the body is larger than 1 MiB (over 64 MiB)"))
    }
    if (bytes > MAX_BODY)
      return yield* Effect.fail(invalidBody(`the body is larger than 1 MiB (${bytes} bytes)`))
    return yield* Effect.try({
      try: () => utf8Strict.decode(Buffer.concat(kept)),
      catch: () => invalidBody("the body is not UTF-8")
    })
  })

/** The members the declaration's `CorrectionRequest` has. */
const members: ReadonlyArray<string> = Object.keys(CorrectionRequest.fields)

/**
 * `{"field_path", "new_value"?, "reason"?}` (the declaration's `CorrectionRequest`), nothing else;
 * `new_value` absent means remove. Read here rather than decoded by HttpApi, which would `JSON.parse`
 * it (a big number would lose digits) and read any size into memory.
 */
const correctionBody = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    const text = yield* bodyText(request)
    const parsed = Json.parse(text)
    if (Either.isLeft(parsed))
      return yield* Effect.fail(invalidBody(`the body is not JSON: ${parsed.left.message}`))
    const body = parsed.right
    if (!Json.isObject(body))
      return yield* Effect.fail(
        invalidBody('the body must be an object: {"field_path", "new_value", "reason"}')
      )
    for (const key of body.keys()) {
      if (!members.includes(key)) {
        return yield* Effect.fail(
          invalidBody(`unknown member ${JSON.stringify(key)}; known: ${members.join(", ")}`)
        )
      }
    }
    const path = body.get("field_path")
    if (typeof path !== "string") return yield* Effect.fail(invalidBody("field_path must be a string"))
    const reason = body.get("reason") ?? null
    if (reason !== null && typeof reason !== "string")
      return yield* Effect.fail(invalidBody("reason must be a string or null"))
    return { path, newValue: body.get("new_value"), reason }
  })

/** A correction event as the API shows it. */
const eventView = (e: Review.Event) =>
  new CorrectionEvent({
    event_id: e.id,
    job_id: e.jobId,
    field_path: e.fieldPath,
    old_value: e.oldValue,
    new_value: e.newValue,
    corrected_by: e.correctedBy,
    reason: e.reason,
    corrected_at: Timestamp.format(e.correctedAt)
  })

/** @since 0.1.0 */
export const JobsLive = HttpApiBuilder.group(Api, "jobs", (handlers) =>
  Effect.gen(function* () {
    const review = yield* Review.Review
    /** Approve and reject: the reviewer from the header, the decision as the API shows it. */
    const decided =
      (decide: typeof review.approve) =>
      ({
        path,
        headers
      }: {
        readonly path: { readonly id: string }
        readonly headers: typeof ReviewerHeaders.Type
      }) =>
        Effect.flatMap(reviewer(headers), (who) => Effect.mapError(decide(path.id, who), reviewFailure)).pipe(
          Effect.map(
            (d) =>
              new Decision({
                job_id: d.jobId,
                approved: d.approved,
                reviewed_by: d.reviewedBy,
                reviewed_at: Timestamp.format(d.reviewedAt)
              })
          )
        )
    return (
      handlers
        .handle("job", ({ path }) =>
          review.job(path.id).pipe(
            Effect.map(
              (job) =>
                new JobView({
                  job_id: job.jobId,
                  filename: job.filename,
                  approved: job.approved,
                  reviewed_by: job.reviewedBy,
                  reviewed_at: job.reviewedAt === null ? null : Timestamp.format(job.reviewedAt),
                  result: job.result,
                  corrections: job.corrections.map(eventView)
                })
            ),
            Effect.mapError(reviewFailure)
          )
        )
        // Raw: the body is read here, within its size limits and losslessly (HttpApi would JSON.parse it).
        .handleRaw("correct", ({ path, headers, request }) =>
          Effect.gen(function* () {
            const who = yield* reviewer(headers)
            const body = yield* correctionBody(request)
            const event = yield* Effect.mapError(
              review.correct(path.id, body.path, body.newValue, who, body.reason),
              reviewFailure
            )
            return eventView(event)
          })
        )
        .handle("approve", decided(review.approve))
        .handle("reject", decided(review.reject))
    )
  })
)
