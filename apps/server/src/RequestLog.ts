/**
 * Structured request logs: one entry per request with method, path, status, bytes sent and duration,
 * written when the response is complete (for a streamed export, when its last byte has left or the
 * transfer was cut: `outcome` is `cut at shutdown` when the shutdown grace ended first). Headers are
 * never logged; a bearer token is named by its digest prefix (`token`); a query parameter the API does
 * not read keeps its name and loses its value (`loggedQuery`).
 *
 * @since 0.1.0
 */
import { HttpApp, HttpBody, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Filter } from "@ground-truth/core"
import { Cause, Duration, Effect, Exit, Option, Predicate, Stream } from "effect"
import { bearerToken, tokenId } from "./Auth.js"
import { cutAtShutdown } from "./Shutdown.js"

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

/**
 * How a request ended, when it did not end well. An error of ours is named by its tag
 * (`AuditTrailMismatch`; a stream's failure reaches here as a defect): its message may show a value, and
 * the line that reports it (`export aborted after streaming began`) says where it happened. Anything
 * else, a bug, keeps its first line.
 */
const outcome = (cause: Cause.Cause<unknown>) => {
  if (Cause.isInterruptedOnly(cause)) return { outcome: "client aborted" }
  const error = Cause.squash(cause)
  return {
    outcome: "failed",
    cause:
      Predicate.hasProperty(error, "_tag") && Predicate.isString(error._tag)
        ? error._tag
        : Cause.pretty(cause).split("\n")[0]
  }
}

/** The parameters the API reads (a plan's too): their values are kept in the log. */
const known: ReadonlySet<string> = new Set([...Filter.Parameter.literals, "shards", "hold", "plan", "shard"])

/**
 * The query as the log shows it: as sent, but the value of any parameter the API does not read is
 * `[redacted]`. The API takes a token only from the `Authorization` header, and answers any other
 * parameter with a 400; a client may still send one (`?access_token=…`, `?api_key=…`), in any spelling.
 * A name is compared as the parser reads it (`%61ccess_token` is `access_token`), exactly: `SINCE` is not
 * `since`, and so loses its value too.
 *
 * @since 0.1.0
 */
export const loggedQuery = (query: string): string => {
  if (query === "") return ""
  // The parser's own reading (`URLSearchParams`, as in `Http.ts`): one pair per non-empty `&`-separated
  // part, in order, so the names line up with the parts as sent.
  const names = Array.from(new URLSearchParams(query), ([name]) => name)
  let next = 0
  const parts = query
    .slice(1)
    .split("&")
    .map((part) => {
      if (part === "") return part
      const name = names[next++]
      const eq = part.indexOf("=")
      return eq < 0 || known.has(name) ? part : `${part.slice(0, eq)}=[redacted]`
    })
  return `?${parts.join("&")}`
}

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
      // Read whatever the exit: a streamed response whose connection is gone may still end as a success.
      const cut = cutAtShutdown(NodeHttpServerRequest.toIncomingMessage(request).socket)
      const failed = Option.isNone(cut) && Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)
      const presented = bearerToken(request)
      const entry = Effect.log(failed ? "request failed" : "request").pipe(
        Effect.annotateLogs({
          method: request.method,
          path,
          query: loggedQuery(query),
          status: sent.status,
          bytes: sent.bytes,
          duration_ms: Math.round(performance.now() - started),
          ...("token" in presented ? { token: tokenId(presented.token) } : {}),
          ...(Option.isSome(cut)
            ? { outcome: "cut at shutdown" }
            : Exit.isFailure(exit)
              ? outcome(exit.cause)
              : {})
        })
      )
      return Option.match(cut, {
        onNone: () => entry,
        onSome: (grace) =>
          Effect.logWarning("request cut: the shutdown grace ended").pipe(
            Effect.annotateLogs({ shutdown_grace: Duration.format(grace) }),
            Effect.zipRight(entry)
          )
      })
    })
  })
