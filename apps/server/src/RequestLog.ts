/**
 * Structured request logs: one entry per request with method, path, status, bytes sent and duration,
 * written when the response is complete (for a streamed export, when its last byte has left or the
 * transfer was cut). Headers are never logged; a bearer token is named by its digest prefix (`token`).
 *
 * @since 0.1.0
 */
import { HttpApp, HttpBody, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Cause, Effect, Exit, Stream } from "effect"
import { bearerToken, tokenId } from "./Auth.js"

const counted = (response: HttpServerResponse.HttpServerResponse, sent: { bytes: number }) => {
  const body = response.body
  switch (body._tag) {
    case "Uint8Array":
      sent.bytes = body.body.length
      return response
    case "Stream":
      return HttpServerResponse.setBody(
        response,
        HttpBody.stream(
          Stream.tap(body.stream, (chunk) =>
            Effect.sync(() => {
              sent.bytes += chunk.length
            })
          ),
          body.contentType,
          body.contentLength
        )
      )
    default:
      return response
  }
}

const outcome = (cause: Cause.Cause<unknown>) =>
  Cause.isInterruptedOnly(cause)
    ? { outcome: "client aborted" }
    : { outcome: "failed", cause: Cause.pretty(cause).split("\n")[0] }

/**
 * A request's path and query as they came (`?…` included), split at the first `?`. Not parsed as a URL:
 * `//api/v1/…`, which the router matches as `/api/v1/…`, would read as the host `api`, and a target
 * such as `//a:99999/` would not parse at all.
 *
 * @since 0.1.0
 */
export const requestTarget = (request: HttpServerRequest.HttpServerRequest) => {
  const q = request.url.indexOf("?")
  return q < 0
    ? { path: request.url, query: "" }
    : { path: request.url.slice(0, q), query: request.url.slice(q) }
}

/**
 * The logging middleware.
 *
 * @since 0.1.0
 */
export const requestLog = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const started = performance.now()
    const sent = { bytes: 0, status: 0 }
    yield* HttpApp.appendPreResponseHandler((_, response) =>
      Effect.sync(() => {
        sent.status = response.status
        return counted(response, sent)
      })
    )
    // On exit, not after: a request whose connection was closed interrupts this fiber from outside,
    // and it is logged all the same.
    return yield* Effect.onExit(app, (exit) => {
      const { path, query } = requestTarget(request)
      const failed = Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)
      const presented = bearerToken(request)
      return Effect.log(failed ? "request failed" : "request").pipe(
        Effect.annotateLogs({
          method: request.method,
          path,
          query,
          status: sent.status,
          bytes: sent.bytes,
          duration_ms: Math.round(performance.now() - started),
          ...("token" in presented ? { token: tokenId(presented.token) } : {}),
          ...(Exit.isFailure(exit) ? outcome(exit.cause) : {})
        })
      )
    })
  })
