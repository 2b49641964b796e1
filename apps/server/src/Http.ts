/**
 * The HTTP front end: handlers for the API, and the app as a layer that needs only an `HttpServer` and
 * the database. Parsing and serialization are core's; this module maps them onto HTTP.
 *
 * @since 0.1.0
 */
import { createServer } from "node:http"
import {
  HttpApiBuilder,
  HttpApiSwagger,
  HttpApp,
  type HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { SqlClient } from "@effect/sql"
import {
  Calibration,
  Eval,
  EvalMarkdown,
  Export,
  Filter,
  Lint,
  Manifest,
  Parquet,
  Plan,
  ReportPage,
  Review,
  Snapshot,
  Stats,
  Timestamp
} from "@ground-truth/core"
import { Database } from "@ground-truth/db"
import { Api, BadRequest, Gone, Health, Unhealthy } from "@ground-truth/protocol/Api"
import * as Changes from "@ground-truth/protocol/Changes"
import { Config, Duration, Effect, Either, Layer, Option, Stream } from "effect"
import { Admission, RETRY_AFTER_SECONDS, retryAfter } from "./Admission.js"
import * as Auth from "./Auth.js"
import { databaseFailure, exportFailure } from "./Errors.js"
import * as EvalRoute from "./EvalRoute.js"
import { JobsLive } from "./Jobs.js"
import { Plans } from "./Plans.js"
import { requestLog, requestTarget } from "./RequestLog.js"
import { streamed } from "./Streamed.js"

/** The raw query of a request as name/value pairs, in order, repeats included. */
const queryPairs = (request: HttpServerRequest.HttpServerRequest): Array<[string, string]> =>
  Array.from(new URLSearchParams(requestTarget(request).query))

/** Query pairs through core's filter parser: a bad one is the API's 400. */
const parsePairs = (
  pairs: ReadonlyArray<readonly [string, string]>,
  accept: ReadonlyArray<Filter.Parameter>
) =>
  Either.match(Filter.parse(pairs, { accept }), {
    onLeft: (e) =>
      Effect.fail(new BadRequest({ error: { code: e.code, message: e.message, parameter: e.parameter } })),
    onRight: Effect.succeed
  })

const parseQuery = (request: HttpServerRequest.HttpServerRequest, accept: ReadonlyArray<Filter.Parameter>) =>
  parsePairs(queryPairs(request), accept)

/** The value of a parameter given at most once (none when absent); given twice, a 400. */
const once = (pairs: ReadonlyArray<readonly [string, string]>, name: string) => {
  const given = pairs.filter(([n]) => n === name)
  return given.length > 1
    ? Effect.fail(
        new BadRequest({
          error: { code: "repeated_parameter", message: `${name} is given more than once`, parameter: name }
        })
      )
    : Effect.succeed(Option.fromNullable(given[0]?.[1]))
}

/**
 * An endpoint's own parameter beside the filters (`by`, `target_error`): its value as core parses it
 * (none when absent; a 400 `code` naming it when it does not parse; given twice, a 400 too), and the
 * pairs left for the filters.
 */
const ownParameter = <A>(
  pairs: ReadonlyArray<readonly [string, string]>,
  name: string,
  code: BadRequest["error"]["code"],
  parse: (text: string) => Either.Either<A, string>
) =>
  Effect.flatMap(once(pairs, name), (given) =>
    Effect.map(
      Option.match(given, {
        onNone: () => Effect.succeed(Option.none<A>()),
        onSome: (text) =>
          Either.match(parse(text), {
            onLeft: (why) =>
              Effect.fail(new BadRequest({ error: { code, message: `${name} ${why}`, parameter: name } })),
            onRight: (value) => Effect.succeed(Option.some(value))
          })
      }),
      (value) => [value, pairs.filter(([n]) => n !== name)] as const
    )
  )

/**
 * Whether a client asks for Parquet: its `Accept` names `application/vnd.apache.parquet` (a `q` of 0
 * refuses it, as RFC 9110 says). JSON lines otherwise, as before: a wildcard range is not a request for Parquet.
 */
const accepts = (request: HttpServerRequest.HttpServerRequest, wanted: string): boolean =>
  (request.headers.accept ?? "").split(",").some((range) => {
    const [type, ...params] = range.split(";").map((part) => part.trim().toLowerCase())
    return type === wanted && !params.some((param) => /^q\s*=\s*0(\.0{0,3})?$/.test(param))
  })

const wantsParquet = (request: HttpServerRequest.HttpServerRequest): boolean =>
  accepts(request, Parquet.contentType)

/** How long a plan is held when its request does not say (`hold`), or `GROUND_TRUTH_PLAN_HOLD_MAX` if less. */
const PLAN_HOLD = Duration.minutes(10)

/** A plan this server does not hold (any more). */
const planGone = (id: string) =>
  new Gone({
    error: {
      code: "plan_gone",
      message:
        `plan ${JSON.stringify(id.slice(0, 100))} is not held by this server (it was stopped, its hold ended, or ` +
        "another server made it): ask for a new plan"
    }
  })

const GroundTruthLive = HttpApiBuilder.group(Api, "groundTruth", (handlers) =>
  Effect.gen(function* () {
    const exporter = yield* Export.Export
    const stats = yield* Stats.Stats
    const plans = yield* Plans
    const { admit, admitExport } = yield* Admission
    /**
     * `plan` and `shard`, alone: the plan this server holds and the shard of it asked for. The plan
     * carries the filters and the format, so any other parameter is refused.
     */
    const planShard = (pairs: ReadonlyArray<readonly [string, string]>) =>
      Effect.gen(function* () {
        const bad = (code: "unknown_parameter" | "invalid_shard", parameter: string, message: string) =>
          new BadRequest({ error: { code, message, parameter } })
        const other = pairs.find(([name]) => name !== "plan" && name !== "shard")
        if (other !== undefined) {
          return yield* Effect.fail(
            bad(
              "unknown_parameter",
              other[0],
              `a plan's shard carries the plan's filters and format: ${JSON.stringify(other[0].slice(0, 100))} does not apply`
            )
          )
        }
        const needed = (name: string, other: string, what: string) =>
          Effect.flatMap(
            once(pairs, name),
            Option.match({
              onNone: () => Effect.fail(bad("invalid_shard", name, `${other} needs ${name}: ${what}`)),
              onSome: Effect.succeed
            })
          )
        const id = yield* needed("plan", "shard", "the plan's id")
        const given = yield* needed("shard", "plan", "the shard to read, from 0")
        const plan = yield* Option.match(plans.get(id), {
          onNone: () => Effect.fail(planGone(id)),
          onSome: Effect.succeed
        })
        const index = /^\d{1,4}$/.test(given) ? Number(given) : Number.NaN
        if (!(index >= 0 && index < plan.shards.length)) {
          return yield* Effect.fail(
            bad(
              "invalid_shard",
              "shard",
              `shard must be from 0 to ${plan.shards.length - 1} (plan ${plan.id} has ${plan.shards.length}), not ${JSON.stringify(given.slice(0, 100))}`
            )
          )
        }
        return { plan, index }
      })
    /**
     * A read's parameters, then its slots (an export's: one for each of its workers too): a bad parameter
     * is a 400 however busy the server is.
     */
    const admitted = (
      request: HttpServerRequest.HttpServerRequest,
      accept: ReadonlyArray<Filter.Parameter>
    ) => Effect.zipLeft(parseQuery(request, accept), accept === Filter.exportParameters ? admitExport : admit)
    const sendTimeout = yield* Config.duration("GROUND_TRUTH_SEND_TIMEOUT").pipe(
      Config.validate({
        message: "Expected a duration above zero",
        validation: (d: Duration.Duration) => Duration.toMillis(d) > 0
      }),
      Config.withDefault(Duration.seconds(60))
    )
    const evaluate = yield* EvalRoute.make
    /** A lint (§13) on the server's export, its failures as an export's. */
    const linted = <A>(lint: Effect.Effect<A, Export.ExportError, Export.Export>) =>
      lint.pipe(Effect.provideService(Export.Export, exporter), Effect.mapError(exportFailure))
    return (
      handlers
        // Raw: the body is spooled to a file within its limit (HttpApi would read it into memory).
        .handleRaw("eval", ({ request }) =>
          Effect.gen(function* () {
            const [by, pairs] = yield* ownParameter(queryPairs(request), "by", "invalid_by", Eval.parseBy)
            const filter = yield* parsePairs(pairs, Filter.evalParameters)
            const options: Eval.Options = {
              split: filter.split,
              ...Option.match(by, { onNone: () => ({}), onSome: (slice) => ({ by: slice }) })
            }
            // One line per reference job (what `eval --details` writes), the Markdown view (what
            // `eval --markdown` prints), or the report.
            if (accepts(request, "application/x-ndjson"))
              return yield* evaluate.details(request, filter, options)
            const scored = yield* evaluate.score(request, filter, options)
            return accepts(request, "text/markdown")
              ? HttpServerResponse.text(EvalMarkdown.markdown(scored), {
                  contentType: "text/markdown; charset=utf-8"
                })
              : scored.report
          })
        )
        .handle("export", ({ request }) =>
          Effect.gen(function* () {
            const pairs = queryPairs(request)
            if (pairs.some(([name]) => name === "plan" || name === "shard")) {
              const { plan, index } = yield* planShard(pairs)
              const parquet = wantsParquet(request)
              const filter = Parquet.madeFrom(yield* Effect.orDie(Plan.filter(plan)), parquet)
              yield* admit
              // The plan's own time, written by core: it parses.
              const time = yield* Effect.orDie(Timestamp.parse(plan.snapshot_time))
              // jsonl and hf have a line per job alike: the Parquet shard holds the plan's jobs.
              const lines = Plan.Plan.make({
                ...plan,
                parameters: { ...plan.parameters, format: filter.format }
              })
              return yield* streamed(
                request,
                filter,
                {
                  stream: Stream.catchTag(exporter.shard(lines, index), "PlanInvalid", (e) => Stream.die(e)),
                  taken: Effect.succeedSome({ time, cursor: plan.cursor }),
                  suffix: `-${Manifest.shardPath("shard", index, plan.shards.length).slice(0, -".jsonl".length)}`,
                  parquet
                },
                sendTimeout
              )
            }
            const parquet = wantsParquet(request)
            const filter = Parquet.madeFrom(yield* admitted(request, Filter.exportParameters), parquet)
            const { stream, taken } = yield* exporter.withSnapshot(filter)
            return yield* streamed(request, filter, { stream, taken, suffix: "", parquet }, sendTimeout)
          })
        )
        .handle("plan", ({ request }) =>
          Effect.gen(function* () {
            const pairs = queryPairs(request)
            const shards = yield* once(pairs, "shards")
            const n = Option.match(shards, {
              onNone: () => Number.NaN,
              onSome: (s) => (/^\d{1,4}$/.test(s) ? Number(s) : Number.NaN)
            })
            if (!(n >= 1 && n <= Plan.MAX_SHARDS)) {
              return yield* Effect.fail(
                new BadRequest({
                  error: {
                    code: "invalid_shards",
                    message: `shards must be a whole number from 1 to ${Plan.MAX_SHARDS}${Option.isSome(shards) ? `, not ${JSON.stringify(shards.value.slice(0, 100))}` : ": it is required"}`,
                    parameter: "shards"
                  }
                })
              )
            }
            const holdGiven = yield* once(pairs, "hold")
            const hold = Option.match(holdGiven, {
              onNone: () => Option.some(Duration.min(PLAN_HOLD, plans.holdMax)),
              onSome: (h) =>
                Option.filter(Plan.parseHold(h), (d) => Duration.lessThanOrEqualTo(d, plans.holdMax))
            })
            if (Option.isNone(hold)) {
              return yield* Effect.fail(
                new BadRequest({
                  error: {
                    code: "invalid_hold",
                    message: `hold must be a time from 1s to ${Duration.format(plans.holdMax)} (GROUND_TRUTH_PLAN_HOLD_MAX): seconds, or 90s, 30m, 2h`,
                    parameter: "hold"
                  }
                })
              )
            }
            const filter = yield* parsePairs(
              pairs.filter(([name]) => name !== "shards" && name !== "hold"),
              Filter.planParameters
            )
            return yield* plans
              .make(filter, n, hold.value)
              .pipe(
                Effect.tapError((e) =>
                  e.error.code === "too_many_plans" ? retryAfter(request, plans.retryIn()) : Effect.void
                )
              )
          })
        )
        .handle("stopPlan", ({ path }) =>
          Effect.flatMap(plans.stop(path.id), (stopped) =>
            stopped ? Effect.void : Effect.fail(planGone(path.id))
          )
        )
        .handle("changes", ({ request }) =>
          Effect.gen(function* () {
            const filter = yield* admitted(request, Filter.exportParameters)
            const { stream, manifest, taken } = yield* exporter.withManifest(filter)
            return yield* streamed(
              request,
              filter,
              // Its last line is the manifest: always lines.
              { stream: Changes.body(stream, manifest), taken, suffix: "-changes", parquet: false },
              sendTimeout
            )
          })
        )
        .handle("manifest", ({ request }) =>
          Effect.gen(function* () {
            const filter = yield* admitted(request, Filter.exportParameters)
            const { stream, manifest } = yield* exporter.withManifest(filter)
            yield* Effect.mapError(Stream.runDrain(stream), exportFailure)
            return yield* manifest
          })
        )
        .handle("report", ({ request }) =>
          Effect.gen(function* () {
            const window = yield* admitted(request, Filter.statsParameters)
            const coverage = yield* Effect.mapError(stats.coverage(window), databaseFailure)
            return ReportPage.html({ ...coverage, window }, yield* linted(ReportPage.sections(window)))
          })
        )
        .handle("lint", ({ request }) =>
          Effect.flatMap(admitted(request, Filter.lintParameters), (filter) => linted(Lint.run(filter)))
        )
        .handle("calibration", ({ request }) =>
          Effect.gen(function* () {
            const [given, pairs] = yield* ownParameter(
              queryPairs(request),
              "target_error",
              "invalid_target_error",
              Calibration.parseTarget
            )
            const target = Option.getOrElse(given, () => Calibration.defaultTargetError)
            const filter = yield* parsePairs(pairs, Filter.lintParameters)
            yield* admit
            return yield* linted(
              Effect.flatMap(Export.Export, (x) => Calibration.run(x.samples(filter), target))
            )
          })
        )
        .handle("stats", ({ request }) =>
          Effect.gen(function* () {
            const window = yield* admitted(request, Filter.statsParameters)
            return yield* Effect.mapError(stats.get(window), databaseFailure)
          })
        )
    )
  })
)

const HealthLive = HttpApiBuilder.group(Api, "health", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const info = yield* Database.DatabaseInfo
    return handlers.handle("health", () =>
      // The embedded database lives in this process: it is up when we are, and a probe query would only
      // queue behind a running export's transaction.
      info.kind === "embedded"
        ? Effect.succeed(new Health({ status: "ok", database: "embedded" }))
        : sql`SELECT 1`.pipe(
            Effect.timeoutFail({ duration: Duration.seconds(2), onTimeout: () => "no answer within 2 s" }),
            Effect.as(new Health({ status: "ok", database: "postgres" })),
            Effect.catchAll((e) =>
              Effect.fail(
                new Unhealthy({
                  status: "unavailable",
                  database: "postgres",
                  error: typeof e === "string" ? e : Database.describeSqlError(e)
                })
              )
            )
          )
    )
  })
)

/**
 * Every 503 says when to try again: `Retry-After` (unless its handler chose the seconds already, as
 * `/eval` does).
 */
const retrying = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.zipRight(
    HttpApp.appendPreResponseHandler((request, response) =>
      response.status === 503
        ? Effect.as(retryAfter(request, RETRY_AFTER_SECONDS), response)
        : Effect.succeed(response)
    ),
    app
  )

/**
 * The API with its handlers, the OpenAPI document (`/openapi.json`) and Swagger UI (`/docs`), served
 * with structured request logs (a refused request is logged too) behind access control. Needs an
 * `HttpServer`, the database, core's services and the `ApiTokens`.
 *
 * @since 0.1.0
 */
export const layer = HttpApiBuilder.serve((app) => requestLog(Auth.challenge(retrying(app)))).pipe(
  Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
  Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
  Layer.provide(
    HttpApiBuilder.api(Api).pipe(
      Layer.provide(Layer.mergeAll(GroundTruthLive, JobsLive, HealthLive)),
      Layer.provide(Auth.layer)
    )
  )
)

/**
 * The Node server. A long query (a filter fuzzer's, say) still reaches the filter parser and gets its
 * 400 JSON; only a request line and headers beyond 64 KB are refused by Node with a 431.
 *
 * On shutdown the app's request listener is removed at once, while connections accepted just before
 * (and kept-alive ones) stay open for running exports: a request arriving on one of them would wait,
 * unanswered, until the grace period ends. This listener, registered first, answers those with a 503
 * and closes the connection; while the app's listener is there it does nothing.
 *
 * @since 0.1.0
 */
export const createNodeServer = () => {
  const server = createServer({ maxHeaderSize: 64 * 1024 })
  server.on("request", (_request, response) => {
    if (server.listenerCount("request") > 1) return
    response.writeHead(503, { "content-type": "application/json", connection: "close" })
    response.end(JSON.stringify({ error: { code: "shutting_down", message: "the server is shutting down" } }))
  })
  return server
}

/**
 * How the server's reads wait on other sessions' locks: at most `GROUND_TRUTH_LOCK_TIMEOUT` (default
 * 10 seconds; a 503 `lock_timeout` then), with a warning naming the lock and who holds it halfway.
 */
const waits = Layer.effect(
  Snapshot.Waits,
  Effect.gen(function* () {
    const lockTimeout = yield* Config.duration("GROUND_TRUTH_LOCK_TIMEOUT").pipe(
      Config.validate({
        message: "Expected a duration above zero",
        validation: (d: Duration.Duration) => Duration.toMillis(d) > 0
      }),
      Config.withDefault(Duration.seconds(10))
    )
    return {
      lockTimeout: Option.some(lockTimeout),
      onLockWait: Option.some({
        after: Duration.times(lockTimeout, 0.5),
        report: (wait: Snapshot.LockWait) =>
          Effect.logWarning("a read waits for a lock another session holds").pipe(
            Effect.annotateLogs({
              lock: wait.lock,
              mode: wait.mode,
              held_by: wait.blockers.join("; "),
              waited_ms: Duration.toMillis(wait.waited)
            })
          )
      })
    }
  })
)

/**
 * The services the handlers use, from the live database layer: core's, the read slots and the plans.
 *
 * @since 0.1.0
 */
export const services = Plans.Default.pipe(
  Layer.provideMerge(
    Layer.mergeAll(
      Layer.unwrapEffect(
        Effect.map(Admission, ({ workers }) =>
          Export.Export.Default.pipe(Layer.provide(Database.workers(workers)))
        )
      ),
      Stats.Stats.Default,
      Review.Review.Default
    )
  ),
  Layer.provideMerge(Admission.Default),
  Layer.provide(waits)
)
