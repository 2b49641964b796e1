/**
 * `sync --url`: a server's `/changes`, asked through the client `HttpApiClient` derives from the
 * protocol's declaration (the path, the query's parameters, the errors each status carries), so that
 * the CLI builds no route by hand and reads a 410 as the protocol's `Gone`, not as a number.
 *
 * One thing the derived client does not do: stream. @effect/platform 0.97's `HttpApiClient` reads
 * every success body whole before decoding it, and a full export's body can be gigabytes. So the
 * client is given an `HttpClient` that keeps a 200's body aside, as the stream it is, and hands the
 * decoder an empty one in its place; an error's body (small) is read once and handed on, so that the
 * declared error decodes from it and an answer the protocol does not declare (a proxy's 502 page)
 * can still be quoted. Loaded only by `sync --url` (see `SyncCommands`): the declaration's modules
 * would cost every command's start.
 *
 * @since 0.1.0
 */
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Cursor from "@ground-truth/core/Cursor"
import type * as Filter from "@ground-truth/core/Filter"
import { Api, BadRequest, Gone, ServerError, Unauthorized, Unavailable } from "@ground-truth/protocol/Api"
import * as Changes from "@ground-truth/protocol/Changes"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { RemoteError } from "./RemoteError.js"
import type { Source } from "./Sync.js"

/** The innermost cause's message: `connect ECONNREFUSED 127.0.0.1:8080` rather than `Transport error`. */
const innermost = (e: { readonly message: string; readonly cause?: unknown }): string => {
  let message = e.message
  let cause = e.cause as { readonly message?: unknown; readonly cause?: unknown } | undefined
  for (let depth = 0; depth < 8 && typeof cause === "object" && cause !== null; depth++) {
    if (typeof cause.message === "string" && cause.message !== "") message = cause.message
    cause = cause.cause as typeof cause
  }
  return message
}

/** An answer but a 200: its status and its body's text. */
interface Refusal {
  readonly status: number
  readonly body: string
}

/**
 * One line for an error answer: the message of the protocol's error when the body is one, else the
 * server's `{"error":{"message"}}` or what there is. A parameter refused (`BadRequest`) and a cursor the
 * server cannot answer for (`Gone`) are the user's to act on; an answer the protocol does not declare
 * has only its status to say so.
 */
const answered = (refusal: Refusal, decoded: unknown, url: URL, token: boolean): RemoteError => {
  const { status, body } = refusal
  const declared = [BadRequest, Gone, ServerError, Unauthorized, Unavailable].some(
    (c) => decoded instanceof c
  )
  const parsed = Either.try(() => JSON.parse(body) as { readonly error?: { readonly message?: unknown } })
  const message = declared
    ? (decoded as BadRequest).error.message
    : Either.isRight(parsed)
      ? parsed.right?.error?.message
      : undefined
  const detail =
    typeof message === "string"
      ? message
      : status === 404
        ? `nothing at ${url.pathname}: is --url a ground-truth server (or the prefix it is served under)?`
        : body.trim() === ""
          ? "no error message"
          : body.trim().split("\n")[0].slice(0, 200)
  const hint = status === 401 && !token ? " (set GROUND_TRUTH_TOKEN to a token the server accepts)" : ""
  return new RemoteError({
    status,
    message: `${url.origin} answered ${status}: ${detail}${hint}`,
    usage: declared
      ? decoded instanceof BadRequest || decoded instanceof Gone
      : status === 400 || status === 410,
    stale: decoded instanceof Gone
  })
}

/**
 * A server's `GET /api/v1/ground-truth/changes` under `base` (`http://host:8080`, or a prefix a proxy
 * serves it under), with `Authorization: Bearer <token>` when a token is given.
 *
 * @since 0.1.0
 */
export const server = (
  base: URL,
  token: Option.Option<Redacted.Redacted>
): Source<RemoteError | Changes.IncompleteChanges, HttpClient.HttpClient> => {
  const prefix = new URL(base)
  prefix.search = ""
  prefix.hash = ""
  const baseUrl = prefix.href.endsWith("/") ? prefix.href.slice(0, -1) : prefix.href
  // Where the request goes, for messages: the declared path under the prefix.
  const url = new URL(`${baseUrl}${Api.groups.groundTruth.endpoints.changes.path}`)
  const unreachable = (e: { readonly message: string; readonly cause?: unknown }) =>
    new RemoteError({
      status: 0,
      message: `cannot read ${url.origin}${url.pathname}: ${innermost(e)}`,
      usage: false,
      stale: false
    })
  const request = (filter: Filter.Filter) =>
    Effect.gen(function* () {
      let body: Stream.Stream<Uint8Array, RemoteError> | undefined
      let refusal: Refusal | undefined
      const keepBody = HttpClient.transformResponse(
        Effect.flatMap((response: HttpClientResponse.HttpClientResponse) => {
          // The decoder reads only the status and the body (204 and the like may have no body at all).
          const stand = (text: string) =>
            HttpClientResponse.fromWeb(
              response.request,
              new Response(text === "" ? null : text, { status: response.status })
            )
          if (response.status === 200) {
            body = Stream.mapError(response.stream, unreachable)
            return Effect.succeed(stand(""))
          }
          return Effect.map(
            Effect.orElseSucceed(response.text, () => ""),
            (text) => {
              refusal = { status: response.status, body: text }
              return stand(text)
            }
          )
        })
      )
      const http = yield* HttpClient.HttpClient
      const changes = yield* HttpApiClient.endpoint(Api, {
        group: "groundTruth",
        endpoint: "changes",
        baseUrl,
        httpClient: keepBody(
          Option.match(token, {
            onNone: () => http,
            onSome: (t) => HttpClient.mapRequest(http, HttpClientRequest.bearerToken(Redacted.value(t)))
          })
        )
      })
      const params = Changes.said(Changes.describeFilter(filter), filter.format)
      const cursor = Option.map(filter.changedSince, (c) => ["changed_since", Cursor.encode(c)] as const)
      return yield* changes({ urlParams: Object.fromEntries([...params, ...Option.toArray(cursor)]) }).pipe(
        Effect.catchAll((e) =>
          // No answer but a 200 (which decodes): the request itself failed.
          refusal === undefined
            ? Effect.fail(unreachable(e as HttpClientError.HttpClientError))
            : Effect.fail(answered(refusal, e, url, Option.isSome(token)))
        ),
        Effect.flatMap(() =>
          body === undefined ? Effect.fail(unreachable(new Error("no body"))) : Effect.succeed(body)
        )
      )
    })
  return {
    name: url.origin,
    full: (filter) =>
      Effect.map(request(filter), (stream) => {
        const split = Changes.withoutLastLine(stream)
        const counted = Changes.tally(split.stream)
        const incomplete = (detail: string) => new Changes.IncompleteChanges({ source: url.origin, detail })
        const manifest = Effect.suspend(() => {
          const last = split.last()
          if (last === undefined) return Effect.fail(incomplete("it does not end with a manifest line"))
          const m = Changes.parseManifest(last)
          if (Either.isLeft(m)) return Effect.fail(incomplete(`its last line is ${m.left}`))
          const counts = counted.counts()
          if (!Changes.matches(m.right, counts) || m.right.changed_since !== null) {
            return Effect.fail(
              incomplete(
                `its lines (${Changes.showCounts(counts)}) are not the full export its manifest describes ` +
                  `(${Changes.showCounts(m.right)}, changed_since ${m.right.changed_since})`
              )
            )
          }
          return Effect.succeed(m.right)
        })
        return { stream: counted.stream, manifest }
      }),
    changes: (filter) =>
      Effect.flatMap(request(filter), (stream) =>
        Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat([...chunks]))
      )
  }
}
