/**
 * Access control. The corpus holds personal data (names, NRPs of police personnel): when tokens are
 * configured, every API route needs `Authorization: Bearer <token>`. Two scopes, least privilege:
 *
 * - read tokens (`GROUND_TRUTH_API_TOKENS`, `GROUND_TRUTH_API_TOKENS_FILE`): export, manifest, stats,
 *   report, a job's view;
 * - review tokens (`GROUND_TRUTH_REVIEW_TOKENS`, `GROUND_TRUTH_REVIEW_TOKENS_FILE`): all of that, and the
 *   writes (corrections, approvals, rejections).
 *
 * No token or an unknown one → 401 with `WWW-Authenticate`; a read token on a write route → 403.
 * `/healthz`, `/openapi.json` and `/docs` stay open: they say nothing about the data.
 *
 * The checks are `HttpApiMiddleware`s declared on the routes in the protocol's `Api.ts`, so they run for whatever
 * spelling of a path the router matched. Only SHA-256 digests of the tokens are kept; a presented token
 * is compared in constant time with every one, so neither its length nor its first wrong byte shows in
 * the response time. Logs name a token by the first 12 hex digits of its digest (`tokenId`), never the
 * token itself.
 *
 * @since 0.1.0
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { constants, type Stats } from "node:fs"
import { open } from "node:fs/promises"
import { HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Forbidden, ReadAccess, ReviewAccess, Unauthorized } from "@ground-truth/protocol/Api"
import { Config, Context, Data, Effect, Layer, Option, Redacted } from "effect"

/**
 * A token variable that cannot be used as it is: its file cannot be read or is not a regular file, it is
 * set but holds no token (access control would silently be off), or a token is not one a client can send
 * or too short.
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenConfigError extends Data.TaggedError("TokenConfigError")<{
  readonly variable: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.variable}: ${this.reason}`
  }
}

/** Shorter tokens can be guessed, online or from a log's digest prefix. */
export const MIN_TOKEN_LENGTH = 16

/** RFC 6750's `b64token`: what a client can send after `Bearer `. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/** What a token may do. @since 0.1.0 */
export type Scope = "read" | "review"

const digest = (token: string): Buffer => createHash("sha256").update(token, "utf8").digest()

/**
 * How logs name a token: the first 12 hex digits of its SHA-256 (`printf %s "$TOKEN" | sha256sum`
 * shows which one it was). Never the token.
 *
 * @since 0.1.0
 */
export const tokenId = (token: string): string => digest(token).toString("hex").slice(0, 12)

const split = (text: string): Array<string> =>
  text
    .split(/[,\n\r]/)
    .map((t) => t.trim())
    .filter((t) => t.length > 0)

/** What a file that is not a regular one is, for the message that refuses it. */
const kind = (stat: Stats): string =>
  stat.isFIFO()
    ? "a named pipe (FIFO)"
    : stat.isDirectory()
      ? "a directory"
      : stat.isCharacterDevice()
        ? "a character device"
        : stat.isBlockDevice()
          ? "a block device"
          : stat.isSocket()
            ? "a socket"
            : "not a file"

/**
 * A token file's text. It is opened without blocking and read only if it is a regular file: opening a
 * FIFO that no one writes to would wait forever (holding the start, and SIGTERM with it), and a device
 * such as `/dev/zero` would never end.
 */
const readTokenFile = (variable: string, file: string) =>
  Effect.flatMap(
    Effect.tryPromise({
      try: async () => {
        const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK)
        try {
          const stat = await handle.stat()
          return stat.isFile() ? { text: await handle.readFile("utf8") } : { not: kind(stat) }
        } finally {
          await handle.close()
        }
      },
      catch: (e) => new TokenConfigError({ variable, reason: `cannot read ${file}: ${(e as Error).message}` })
    }),
    (read) =>
      "text" in read
        ? Effect.succeed(read.text)
        : Effect.fail(
            new TokenConfigError({
              variable,
              reason: `${file} is ${read.not}, not a regular file; name a file that holds the tokens`
            })
          )
  )

/**
 * The tokens of one scope: a variable of comma-separated tokens and/or a file of them. A variable set to
 * the empty string counts as unset (as a compose file writes one); one that holds anything else but no
 * token (blanks, commas, an empty file), or a bad token, stops the server.
 */
const fromEnv = (variable: string) =>
  Effect.gen(function* () {
    const fail = (name: string, reason: string) =>
      Effect.fail(new TokenConfigError({ variable: name, reason }))
    const sources: Array<readonly [string, Array<string>]> = []
    const inline = yield* Config.option(Config.redacted(variable))
    if (Option.isSome(inline) && Redacted.value(inline.value) !== "")
      sources.push([variable, split(Redacted.value(inline.value))])
    const file = yield* Config.option(Config.string(`${variable}_FILE`))
    if (Option.isSome(file) && file.value !== "")
      sources.push([`${variable}_FILE`, split(yield* readTokenFile(`${variable}_FILE`, file.value))])
    for (const [name, tokens] of sources) {
      if (tokens.length === 0)
        return yield* fail(
          name,
          "is set but holds no token, which would leave the API open; set a token or unset it"
        )
      for (const [i, token] of tokens.entries()) {
        if (!B64TOKEN.test(token))
          return yield* fail(
            name,
            `token ${i + 1} has characters a client cannot send after "Bearer " (RFC 6750: letters, digits, -._~+/ and a final =)`
          )
        if (token.length < MIN_TOKEN_LENGTH)
          return yield* fail(
            name,
            `token ${i + 1} has ${token.length} characters; at least ${MIN_TOKEN_LENGTH} (openssl rand -hex 32 makes one)`
          )
      }
    }
    return sources.flatMap(([, tokens]) => tokens)
  })

/**
 * The configured tokens, as digests with their scopes. Empty: access control is off (loopback only).
 *
 * @since 0.1.0
 * @category services
 */
export class ApiTokens extends Context.Tag("@ground-truth/server/ApiTokens")<
  ApiTokens,
  { readonly tokens: ReadonlyArray<{ readonly digest: Buffer; readonly scope: Scope }> }
>() {
  /** From the environment. */
  static readonly layer = Layer.effect(
    ApiTokens,
    Effect.gen(function* () {
      const read = yield* fromEnv("GROUND_TRUTH_API_TOKENS")
      const review = yield* fromEnv("GROUND_TRUTH_REVIEW_TOKENS")
      return ApiTokens.of(scoped({ read, review }))
    })
  )

  /** Fixed tokens, for tests and embedding programs. */
  static readonly make = (tokens: {
    readonly read?: ReadonlyArray<string>
    readonly review?: ReadonlyArray<string>
  }): Layer.Layer<ApiTokens> => Layer.succeed(ApiTokens, ApiTokens.of(scoped(tokens)))
}

const scoped = (tokens: {
  readonly read?: ReadonlyArray<string>
  readonly review?: ReadonlyArray<string>
}) => ({
  tokens: [
    ...(tokens.read ?? []).map((t) => ({ digest: digest(t), scope: "read" as const })),
    ...(tokens.review ?? []).map((t) => ({ digest: digest(t), scope: "review" as const }))
  ]
})

/**
 * The scope of a presented token, `undefined` when none is configured. Every digest is compared,
 * whatever matches first; a token listed in both scopes reviews.
 */
const scopeOf = (tokens: ApiTokens["Type"]["tokens"], token: string): Scope | undefined => {
  const presented = digest(token)
  let scope: Scope | undefined
  for (const t of tokens) if (timingSafeEqual(t.digest, presented) && scope !== "review") scope = t.scope
  return scope
}

/** The bearer token of a request's `Authorization` header, or why there is none. */
export const bearerToken = (
  request: HttpServerRequest.HttpServerRequest
): { readonly token: string } | { readonly missing: string } => {
  const header = request.headers.authorization
  if (header === undefined) return { missing: "this server needs an Authorization: Bearer <token> header" }
  const bearer = /^Bearer +(\S+) *$/i.exec(header)
  return bearer === null
    ? { missing: "the Authorization header must be Bearer <token>" }
    : { token: bearer[1] }
}

const unauthorized = (message: string) =>
  Effect.fail(new Unauthorized({ error: { code: "unauthorized", message } }))

/**
 * The scope of the request's token; `review` when access control is off (loopback only).
 * `HttpApiSecurity.bearer` hands over the header with its first seven characters cut, whatever they
 * were; the header itself is read here instead, so that a wrong scheme gets its own message.
 */
const authenticate = (tokens: ApiTokens["Type"]["tokens"]) =>
  Effect.gen(function* () {
    if (tokens.length === 0) return "review" as const
    const presented = bearerToken(yield* HttpServerRequest.HttpServerRequest)
    if ("missing" in presented) return yield* unauthorized(presented.missing)
    return scopeOf(tokens, presented.token) ?? (yield* unauthorized("the token is not accepted"))
  })

const forbidden = new Forbidden({
  error: {
    code: "forbidden",
    message: "this token may read but not write: corrections, approvals and rejections need a review token"
  }
})

/**
 * The two middlewares of the protocol's `Api.ts`, over the configured `ApiTokens`: any token reads, review tokens write.
 *
 * @since 0.1.0
 */
export const layer = Layer.mergeAll(
  Layer.effect(
    ReadAccess,
    Effect.map(ApiTokens, ({ tokens }) =>
      ReadAccess.of({ bearer: () => Effect.asVoid(authenticate(tokens)) })
    )
  ),
  Layer.effect(
    ReviewAccess,
    Effect.map(ApiTokens, ({ tokens }) =>
      ReviewAccess.of({
        bearer: () =>
          Effect.flatMap(authenticate(tokens), (scope) =>
            scope === "review" ? Effect.void : Effect.fail(forbidden)
          )
      })
    )
  )
)

/**
 * Every 401 this server sends is the bearer challenge of RFC 6750: the header is added here, once,
 * because HttpApi encodes a middleware's failure without headers of its own. (A pre-response handler:
 * a server middleware sees the response only once it has been written.)
 *
 * @since 0.1.0
 */
export const challenge = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.zipRight(
    HttpApp.appendPreResponseHandler((_, response) =>
      Effect.succeed(
        response.status === 401
          ? HttpServerResponse.setHeader(response, "www-authenticate", 'Bearer realm="ground-truth"')
          : response
      )
    ),
    app
  )

/**
 * Whether `host` only accepts connections from this machine.
 *
 * @since 0.1.0
 */
export const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "::1" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host)
