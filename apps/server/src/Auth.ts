/**
 * Access control. The corpus holds personal data (names, NRPs): when tokens are configured, every
 * `/api/` request needs `Authorization: Bearer <token>`, else it gets a 401 with `WWW-Authenticate`.
 * `/healthz`, `/openapi.json` and `/docs` stay open: they say nothing about the data.
 *
 * Tokens come from `GROUND_TRUTH_API_TOKENS` (comma-separated) and/or `GROUND_TRUTH_API_TOKENS_FILE`
 * (a file of tokens separated by commas or newlines, as secrets managers mount them). Only their
 * SHA-256 digests are kept, and a presented token is checked against every one in constant time, so
 * neither its length nor its first wrong byte shows in the response time. Tokens are never logged.
 *
 * @since 0.1.0
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { readFile } from "node:fs/promises"
import { type HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Config, Context, Data, Effect, Layer, Option, Redacted } from "effect"

/**
 * The tokens file cannot be read.
 *
 * @since 0.1.0
 * @category errors
 */
export class TokensFileError extends Data.TaggedError("TokensFileError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot read GROUND_TRUTH_API_TOKENS_FILE ${this.path}: ${this.reason}`
  }
}

const digest = (token: string): Buffer => createHash("sha256").update(token, "utf8").digest()

const split = (text: string): Array<string> =>
  text
    .split(/[,\n\r]/)
    .map((t) => t.trim())
    .filter((t) => t.length > 0)

/**
 * The configured tokens, as digests. Empty: access control is off.
 *
 * @since 0.1.0
 * @category services
 */
export class ApiTokens extends Context.Tag("@ground-truth/server/ApiTokens")<
  ApiTokens,
  { readonly digests: ReadonlyArray<Buffer> }
>() {
  /** From the environment. */
  static readonly layer = Layer.effect(
    ApiTokens,
    Effect.gen(function* () {
      const inline = yield* Config.option(Config.redacted("GROUND_TRUTH_API_TOKENS"))
      const file = yield* Config.option(Config.string("GROUND_TRUTH_API_TOKENS_FILE"))
      const fromFile = Option.isNone(file)
        ? []
        : split(
            yield* Effect.tryPromise({
              try: () => readFile(file.value, "utf8"),
              catch: (e) => new TokensFileError({ path: file.value, reason: (e as Error).message })
            })
          )
      const tokens = [...(Option.isSome(inline) ? split(Redacted.value(inline.value)) : []), ...fromFile]
      return { digests: tokens.map(digest) }
    })
  )

  /** Fixed tokens, for tests and embedding programs. */
  static readonly make = (tokens: ReadonlyArray<string>): Layer.Layer<ApiTokens> =>
    Layer.succeed(ApiTokens, { digests: tokens.map(digest) })
}

/** Is `token` one of `digests`? Every digest is compared, whatever matches first. */
const accepted = (digests: ReadonlyArray<Buffer>, token: string): boolean => {
  const presented = digest(token)
  let ok = false
  for (const d of digests) ok = timingSafeEqual(d, presented) || ok
  return ok
}

const unauthorized = (message: string) =>
  HttpServerResponse.unsafeJson(
    { error: { code: "unauthorized", message } },
    { status: 401, headers: { "www-authenticate": 'Bearer realm="ground-truth"' } }
  )

/**
 * The middleware: lets a request through when access control is off, when its path is outside
 * `/api/`, or when it carries a configured bearer token.
 *
 * @since 0.1.0
 */
export const authorize = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.gen(function* () {
    const { digests } = yield* ApiTokens
    if (digests.length === 0) return yield* app
    const request = yield* HttpServerRequest.HttpServerRequest
    if (!new URL(request.url, "http://localhost").pathname.startsWith("/api/")) return yield* app
    const header = request.headers.authorization
    if (header === undefined) return unauthorized("this server needs an Authorization: Bearer <token> header")
    const bearer = /^Bearer +(\S+) *$/i.exec(header)
    if (bearer === null) return unauthorized("the Authorization header must be Bearer <token>")
    if (!accepted(digests, bearer[1])) return unauthorized("the token is not accepted")
    return yield* app
  })

/**
 * Whether `host` only accepts connections from this machine.
 *
 * @since 0.1.0
 */
export const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "::1" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host)
