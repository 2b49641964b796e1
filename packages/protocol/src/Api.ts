/**
 * The HTTP API (contract §7, §8, §10): every route's parameters, bodies, errors and statuses, once. The
 * handlers return values and fail with the error classes below; HttpApi encodes both from these schemas
 * and derives the OpenAPI document from them. Two things it does not do itself, on purpose:
 *
 * - JSON bodies are written in canonical bytes (`canonicalJson`): exact numbers, a fixed key order and,
 *   for stats and the manifest, the trailing newline the CLI prints. The schema still names the encoder.
 * - Query parameters are declared here (documentation: the export's are described by `Parameters`'
 *   table, which the CLI's flags share) but parsed by core's filter parser, the one the CLI uses, so
 *   unknown, repeated and invalid parameters get the same `{"error":…}` 400 on both paths.
 *
 * @since 0.1.0
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as Multipart from "@effect/platform/Multipart"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Calibration from "@ground-truth/core/Calibration"
import * as Eval from "@ground-truth/core/Eval"
import * as Filter from "@ground-truth/core/Filter"
import * as Json from "@ground-truth/core/Json"
import * as Lint from "@ground-truth/core/Lint"
import * as Manifest from "@ground-truth/core/Manifest"
import * as Plan from "@ground-truth/core/Plan"
import * as Stats from "@ground-truth/core/Stats"
import * as Version from "@ground-truth/core/Version"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Headers from "./Headers.js"
import * as Parameters from "./Parameters.js"

/**
 * A JSON body in canonical bytes: HttpApi encodes a value through `schema`, then `write` turns the
 * encoded form into the body (`JSON.stringify` would lose big numbers and the trailing newline); a
 * client decodes it with `JSON.parse` and `schema`. OpenAPI shows `schema` itself (a component: every
 * schema used here is listed in the API's `AdditionalSchemas`).
 */
const canonicalJson = <A, I>(
  schema: Schema.Schema<A, I>,
  identifier: string,
  write: (encoded: I) => string
) =>
  Schema.transformOrFail(Schema.String, schema, {
    strict: true,
    decode: (text, _, ast) =>
      ParseResult.try({
        try: () => JSON.parse(text) as I,
        catch: () => new ParseResult.Type(ast, text, "the body is not JSON")
      }),
    encode: (encoded) => ParseResult.succeed(write(encoded))
  }).pipe(
    (body) => body.annotations({ jsonSchema: { $ref: `#/components/schemas/${identifier}` } }),
    HttpApiSchema.withEncoding({ kind: "Text", contentType: "application/json" })
  )

/**
 * `{"error":{"code","message","parameter"?}}`, the body of every error, with the codes each status
 * may carry. The codes also tell the classes apart when HttpApi encodes one (their shapes are alike).
 */
const errorDetail = <const Codes extends ReadonlyArray<string>>(...codes: Codes) =>
  Schema.Struct({
    code: Schema.Literal(...codes),
    message: Schema.String,
    parameter: Schema.optional(Schema.String)
  })

/**
 * An error class of the API: its body `{"error":{"code","message","parameter"?}}` with the codes it may
 * carry, its status and what the status means (for OpenAPI).
 */
const ApiError =
  <Self>() =>
  <const Codes extends ReadonlyArray<string>>(
    identifier: string,
    status: number,
    description: string,
    ...codes: Codes
  ) =>
    Schema.Class<Self>(identifier)(
      { error: errorDetail(...codes) },
      HttpApiSchema.annotations({ status, description })
    )

/**
 * A parameter, header or body the API rejects.
 *
 * @since 0.1.0
 */
export class BadRequest extends ApiError<BadRequest>()(
  "BadRequest",
  400,
  "A parameter, header or body is unknown, repeated or invalid",
  ...Filter.ErrorCode.literals,
  "missing_reviewer",
  "invalid_body",
  "invalid_prediction",
  "invalid_path",
  "invalid_value",
  "invalid_shards",
  "invalid_hold",
  "invalid_shard",
  "invalid_target_error",
  "invalid_by",
  "too_many_slices"
) {}

/**
 * The export could not start: an audit trail that does not replay, a row it cannot read.
 *
 * @since 0.1.0
 */
export class ServerError extends ApiError<ServerError>()(
  "ServerError",
  500,
  "The corpus cannot be produced",
  "database_error",
  "audit_trail_mismatch",
  "invalid_correction_event",
  "invalid_row",
  "compression_failed",
  "parquet_failed",
  "spool_failed",
  "worker_failed"
) {}

/**
 * The database cannot be reached, the server is shutting down, a standby cannot answer for an
 * increment's cursor yet, every read slot is taken and the queue is full, or a lock held too long.
 *
 * @since 0.1.0
 */
export class Unavailable extends ApiError<Unavailable>()(
  "Unavailable",
  503,
  "The database is unreachable (database_unavailable), the server is shutting down (shutting_down), the " +
    "database is a standby that has not replayed the changed_since cursor's snapshot yet or cannot tell which " +
    "timeline it replays (standby_not_ready: retry, or ask the primary), every read slot is taken and " +
    "GROUND_TRUTH_EXPORT_QUEUE reads wait already (server_busy), or another session held a lock the read " +
    "needs for GROUND_TRUTH_LOCK_TIMEOUT (lock_timeout). Retry after the seconds Retry-After gives",
  "database_unavailable",
  "shutting_down",
  "standby_not_ready",
  "server_busy",
  "lock_timeout"
) {}

/**
 * An increment's cursor the database can no longer answer for (contract §11).
 *
 * @since 0.1.0
 */
export class Gone extends ApiError<Gone>()(
  "Gone",
  410,
  "changed_since names a snapshot this database cannot answer for (another database, a point-in-time " +
    "restore or failover, rows deleted since, or beyond the transaction-id horizon): take a full export " +
    "and continue from its cursor (stale_cursor); or the snapshot an export's workers read is no longer " +
    "held (snapshot_gone); or the plan is not held by this server: stopped, its hold ended, or made by " +
    "another server (plan_gone): ask for a new plan",
  "stale_cursor",
  "snapshot_gone",
  "plan_gone"
) {}

/**
 * As many plans as `GROUND_TRUTH_PLANS` allows are held; sent with `Retry-After` (when the first ends).
 *
 * @since 0.1.0
 */
export class TooManyPlans extends ApiError<TooManyPlans>()(
  "TooManyPlans",
  429,
  "GROUND_TRUTH_PLANS plans (default 2) are held: stop one (DELETE /plan/{id}) or retry after the " +
    "seconds Retry-After gives, when the first one's hold ends",
  "too_many_plans"
) {}

/**
 * Plans need a database that serves several sessions: not the embedded one.
 *
 * @since 0.1.0
 */
export class PlansUnsupported extends ApiError<PlansUnsupported>()(
  "PlansUnsupported",
  501,
  "The database serves one session at a time (the embedded one), or GROUND_TRUTH_PLANS is 0: a plan's " +
    "shards could not be read while it holds its snapshot",
  "plans_unsupported"
) {}

/**
 * A body over the configured limit (`GROUND_TRUTH_EVAL_MAX_BYTES` for predictions).
 *
 * @since 0.1.0
 */
export class PayloadTooLarge extends ApiError<PayloadTooLarge>()(
  "PayloadTooLarge",
  413,
  "The predictions are larger than GROUND_TRUTH_EVAL_MAX_BYTES (default 1 GiB)",
  "payload_too_large"
) {}

/**
 * A predictions body that did not arrive within `GROUND_TRUTH_EVAL_UPLOAD_TIMEOUT` (the rest is not
 * read: the connection is closed after the answer).
 *
 * @since 0.1.0
 */
export class UploadTimeout extends ApiError<UploadTimeout>()(
  "UploadTimeout",
  408,
  "The predictions did not arrive within GROUND_TRUTH_EVAL_UPLOAD_TIMEOUT (default 4 minutes)",
  "upload_timeout"
) {}

/**
 * As many evaluations as `GROUND_TRUTH_EVAL_CONCURRENCY` allows are running; sent with `Retry-After`.
 *
 * @since 0.1.0
 */
export class EvalBusy extends ApiError<EvalBusy>()(
  "EvalBusy",
  503,
  "GROUND_TRUTH_EVAL_CONCURRENCY evaluations (default 2) are running, uploads included: retry after the " +
    "seconds Retry-After gives",
  "eval_busy"
) {}

/** No job has this id. @since 0.1.0 */
export class NotFound extends ApiError<NotFound>()("NotFound", 404, "No job has this id", "unknown_job") {}

/** The correction cannot apply, or would change nothing. @since 0.1.0 */
export class Conflict extends ApiError<Conflict>()(
  "Conflict",
  409,
  "The correction cannot apply to the current result (precondition_failed: a missing parent, an index " +
    "out of range) or would change nothing (no_change)",
  "precondition_failed",
  "no_change"
) {}

/**
 * No accepted bearer token, when the server has tokens configured (`WWW-Authenticate: Bearer`).
 *
 * @since 0.1.0
 */
export class Unauthorized extends ApiError<Unauthorized>()(
  "Unauthorized",
  401,
  "Tokens are configured and the request has no accepted Authorization: Bearer token",
  "unauthorized"
) {}

/**
 * An accepted token whose scope does not cover the route: a read token on a write route.
 *
 * @since 0.1.0
 */
export class Forbidden extends ApiError<Forbidden>()(
  "Forbidden",
  403,
  "The token may read but not write: writes need a GROUND_TRUTH_REVIEW_TOKENS token",
  "forbidden"
) {}

/**
 * Reading the corpus (export, manifest, stats, report, a job's view): any configured token. Declared
 * on the routes themselves, so it holds under every spelling the router matches (`/API/…`, `//api/…`,
 * `/%61pi/…`), where a check on the raw path would not.
 *
 * @since 0.1.0
 */
export class ReadAccess extends HttpApiMiddleware.Tag<ReadAccess>()("ReadAccess", {
  failure: Unauthorized,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

/**
 * Writing the audit trail (corrections, approvals, rejections): a review token only.
 *
 * @since 0.1.0
 */
export class ReviewAccess extends HttpApiMiddleware.Tag<ReviewAccess>()("ReviewAccess", {
  failure: Schema.Union(Unauthorized, Forbidden),
  security: { bearer: HttpApiSecurity.bearer }
}) {}

const param = (description: string) =>
  Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String)).annotations({ description }))

/** An export parameter as the protocol's table describes it, spelled as a query says it. */
const described = (name: Filter.Parameter) => param(Parameters.table[name].meaning(Parameters.http))

const windowParams = { since: described("since"), until: described("until") }

/** The export's parameters, shared by the export and its manifest. */
const exportParams = Schema.Struct({
  approved_only: described("approved_only"),
  has_corrections: described("has_corrections"),
  ...windowParams,
  format: described("format"),
  input: described("input"),
  split: described("split"),
  split_ratios: described("split_ratios"),
  split_seed: described("split_seed"),
  split_by: described("split_by"),
  changed_since: described("changed_since")
})

/** A full export's parameters (a plan's): an export's, but an increment's cursor. */
const { changed_since: _, ...fullFields } = exportParams.fields

/** Evaluation's parameters: a full export's, but the input (it scores results, whatever a model read). */
const { input: __, ...evalFields } = fullFields
const evalParams = Schema.Struct({
  ...evalFields,
  by: param(
    "Also score each slice of the reference jobs on its own: satuan, source_kind or review_flag (each flag of " +
      "a job; none: null). The report gains slices {by, values: [{value, report}]}"
  )
})

/** Lint's parameters: evaluation's, but the format (it checks jobs, whatever a format writes of them). */
const { format: ___, ...lintFields } = evalFields

/** A plan's: a full export's, its shards and its hold. */
const planParams = Schema.Struct({
  ...fullFields,
  shards: param("Required: how many shards of as many jobs, 1 to 9999"),
  hold: param(
    "How long the server holds the plan's snapshot: seconds, or 90s, 30m, 2h (default 10m, at most " +
      "GROUND_TRUTH_PLAN_HOLD_MAX, default 1h)"
  )
})

/** The export's: its filters, or a plan's shard. */
const exportRouteParams = Schema.Struct({
  ...exportParams.fields,
  plan: param(
    "A plan's id (GET /plan): the body is then that plan's shard `shard`, from the snapshot the plan holds, " +
      "with its filters and format (no other parameter)"
  ),
  shard: param("With plan: the shard, from 0 to N-1")
})

const planId = HttpApiSchema.param("id", Schema.String.annotations({ description: "The plan's id" }))

/**
 * A read in one snapshot: its errors (a parameter, a cursor it cannot answer for, a corpus it cannot
 * produce, the database) and what it does.
 */
const snapshotRead = <Name extends string, P, U, Pl, H, S, E, R, RE>(
  endpoint: HttpApiEndpoint.HttpApiEndpoint<Name, "GET", P, U, Pl, H, S, E, R, RE>,
  description: string
) =>
  endpoint
    .addError(BadRequest)
    .addError(Gone)
    .addError(ServerError)
    .addError(Unavailable)
    .annotate(OpenApi.Description, description)

/** An endpoint that streams an export's JSONL, with the export's parameters and errors. */
const streamedExport = <Name extends string>(
  endpoint: HttpApiEndpoint.HttpApiEndpoint<Name, "GET">,
  description: string,
  params: typeof exportParams | typeof exportRouteParams = exportParams
) =>
  snapshotRead(
    endpoint.setUrlParams(params).addSuccess(HttpApiSchema.Text({ contentType: "application/x-ndjson" })),
    description
  )

/** The corpus: export, changes, manifest, report and stats. @since 0.1.0 */
export class GroundTruthApi extends HttpApiGroup.make("groundTruth")
  .add(
    streamedExport(
      HttpApiEndpoint.get("export", "/export"),
      "The corpus as JSONL, one training sample per line, streamed as it is read from one database snapshot. " +
        "A failure after the first bytes aborts the transfer: a complete body always ends with a newline. " +
        "Ground-Truth-Cursor names the snapshot (pass it as changed_since later); with changed_since, the " +
        "body holds only the changed jobs, and /changes gives them with their removed ids in one response. " +
        "With plan and shard: that shard of a plan (GET /plan); concatenated in order, a plan's shards are " +
        "the export of its filters at its snapshot. With Accept: application/vnd.apache.parquet, the body is one " +
        "Parquet file of the same samples instead (a declared schema: jsonl as hf, times timestamp[us, tz=UTC]; " +
        "never gzipped), the bytes of ground-truth export --out X.parquet.",
      exportRouteParams
    )
  )
  .add(
    HttpApiEndpoint.get("plan", "/plan")
      .setUrlParams(planParams)
      .addSuccess(canonicalJson(Plan.Plan, "Plan", Plan.text))
      .addError(BadRequest)
      .addError(TooManyPlans)
      .addError(PlansUnsupported)
      .addError(Gone)
      .addError(ServerError)
      .addError(Unavailable)
      .annotate(
        OpenApi.Description,
        "Plans an export that other processes or machines download shard by shard (contract §15): the server " +
          "exports a snapshot, cuts the export of these filters into `shards` shards of as many jobs inside it, " +
          "and holds it for `hold`. The plan (its id, snapshot, cursor, filters, each shard's jobs and range) " +
          "is the body; GET /export?plan=ID&shard=I streams shard I from this server until the hold ends or " +
          "DELETE /plan/ID stops it. Each held plan keeps one database connection."
      )
  )
  .add(
    HttpApiEndpoint.del("stopPlan")`/plan/${planId}`
      .addSuccess(Schema.Void, { status: 204 })
      .addError(Gone)
      .annotate(
        OpenApi.Description,
        "Stops a plan: its snapshot is released, and its shards can no longer be read"
      )
  )
  .add(
    streamedExport(
      HttpApiEndpoint.get("changes", "/changes"),
      "An export and its manifest from one snapshot, in one body: the export's lines, byte for byte, then " +
        "one last line, its manifest (cursor, removed, rows, bytes, sha256 of the lines before it). Without " +
        "changed_since, a full export. What `ground-truth sync --url` and `ground-truth merge` read: an " +
        "increment's lines and its removed ids must come from the same snapshot (contract §11)."
    )
  )
  .add(
    HttpApiEndpoint.get("stats", "/stats")
      .setUrlParams(Schema.Struct(windowParams))
      .addSuccess(canonicalJson(Stats.Report, "Report", Stats.encode))
      .addError(BadRequest)
      .addError(ServerError)
      .addError(Unavailable)
      .annotate(
        OpenApi.Description,
        "Coverage: jobs, approvals, corrections and the 20 most corrected fields."
      )
  )
  .add(
    snapshotRead(
      HttpApiEndpoint.get("lint", "/lint")
        .setUrlParams(Schema.Struct(lintFields))
        .addSuccess(canonicalJson(Lint.Report, "LintReport", Lint.encode)),
      "Checks the jobs an export with these filters holds, from one snapshot (contract §13): letters (by " +
        "header.nomor_sprint, whitespace removed, upper-cased) whose copies have different final results, " +
        "NRPs with two names, fields corrected back to what the pipeline said, NRPs that are not 8 or 18 " +
        "digits; each a count and its first 20 examples. 200 whatever it finds: the same JSON line as " +
        "`ground-truth lint` (which exits 3 when a count is not 0)."
    )
  )
  .add(
    snapshotRead(
      HttpApiEndpoint.get("calibration", "/calibration")
        .setUrlParams(
          Schema.Struct({
            ...lintFields,
            target_error: param(
              `The error rate auto-approval may not exceed, at the upper end of its 95% Wilson interval: a decimal ` +
                `between 0 and 1 (default ${Calibration.defaultTargetError})`
            )
          })
        )
        .addSuccess(canonicalJson(Calibration.Report, "CalibrationReport", Calibration.encode)),
      "Above which pipeline confidence could jobs be approved without a review (contract §14)? From the " +
        "review history of the jobs an export with these filters holds (one snapshot): ten confidence " +
        "bins, each threshold 0.50…0.99 with its error rate and 95% Wilson upper bound, the smallest " +
        "threshold under target_error, ECE and Brier. The same JSON line as `ground-truth calibration`."
    )
  )
  .add(
    HttpApiEndpoint.post("eval", "/eval")
      .setUrlParams(evalParams)
      .setPayload(
        Schema.Union(
          Schema.String.pipe(
            HttpApiSchema.withEncoding({ kind: "Text", contentType: "application/x-ndjson" })
          ).annotations({
            description:
              'One prediction per line: {"job_id": …, "result": {…}} or {"job_id": …, "completion": "…" | ' +
              '[{"role":"assistant","content":"…"}]} (contract §12)'
          }),
          HttpApiSchema.MultipartStream(
            Schema.Struct({
              predictions: Multipart.FileSchema.annotations({
                description: "The model's predictions, one per line, as in an application/x-ndjson body"
              }),
              against: Schema.optional(
                Multipart.FileSchema.annotations({
                  description:
                    "A second model's predictions, in the same form, scored beside the first: `ground-truth " +
                    "eval --against`"
                })
              )
            })
          ).annotations({
            description:
              "Two models compared on the same jobs: each a file part (curl -F predictions=@a.jsonl -F against=@b.jsonl)"
          })
        )
      )
      .addSuccess(canonicalJson(Eval.Report, "EvalReport", Eval.encode))
      .addError(BadRequest)
      .addError(UploadTimeout)
      .addError(PayloadTooLarge)
      .addError(ServerError)
      .addError(Unavailable)
      .addError(EvalBusy)
      .annotate(
        OpenApi.Description,
        "Scores the predictions in the body against the jobs an export with the same parameters holds (one " +
          "snapshot), field by field, beside the pipeline's first answer: the same JSON line as `ground-truth " +
          "eval`. The body is spooled to a temporary file, not held in memory, and checked as it arrives; a " +
          "bad line or one past the limits (docs/evaluation.md) is a 400 naming it. With Accept: text/markdown, " +
          "the Markdown view instead (text/markdown; charset=utf-8), what `ground-truth eval --markdown` prints; " +
          "with Accept: application/x-ndjson, one line per reference job (its prediction, exact match and each " +
          "wrong leaf with path, class, expected and predicted), the lines `ground-truth eval --details` writes. " +
          "A multipart/form-data body compares two models: the file parts predictions and against (`ground-truth " +
          "eval --against`), each spooled and checked as it arrives, the limits on the whole body."
      )
  )
  .add(
    snapshotRead(
      HttpApiEndpoint.get("manifest", "/manifest")
        .setUrlParams(exportParams)
        .addSuccess(canonicalJson(Manifest.Manifest, "Manifest", Manifest.encode)),
      "What the export with the same parameters produces: parameters, snapshot time, rows, bytes and the " +
        "SHA-256 of the body. It runs that export to its end (the body is hashed, not sent), on its own " +
        "snapshot: it matches a download made while the database did not change."
    )
  )
  .add(
    snapshotRead(
      HttpApiEndpoint.get("report", "/report")
        .setUrlParams(Schema.Struct(windowParams))
        .addSuccess(HttpApiSchema.Text({ contentType: "text/html; charset=utf-8" })),
      "The coverage report: one self-contained HTML page with charts (readiness, corrections per field, " +
        "approved samples per satuan against 50, approvals per week), the lint of the window's approved " +
        "jobs (GET /lint), its examples linked to the jobs, where to fix the pipeline (POST /eval with an " +
        "empty body) and when a job could skip review (GET /calibration); the same bytes as " +
        "`ground-truth report`."
    )
  )
  .middleware(ReadAccess)
  .prefix("/api/v1/ground-truth") {}

/** @since 0.1.0 */
export class Health extends Schema.Class<Health>("Health")({
  status: Schema.Literal("ok"),
  database: Schema.Literal("postgres", "embedded")
}) {}

/** @since 0.1.0 */
export class Unhealthy extends Schema.Class<Unhealthy>("Unhealthy")({
  status: Schema.Literal("unavailable"),
  database: Schema.Literal("postgres", "embedded"),
  error: Schema.String
}) {}

/** @since 0.1.0 */
export class HealthApi extends HttpApiGroup.make("health").add(
  HttpApiEndpoint.get("health", "/healthz")
    .addSuccess(Health)
    .addError(Unhealthy, { status: 503 })
    .annotate(OpenApi.Description, "200 when the database answers within 2 s, 503 when it does not")
) {}

/** @since 0.1.0 */
const jobId = HttpApiSchema.param("id", Schema.String.annotations({ description: "The job's UUID" }))

/**
 * The reviewer of a write, `X-User-Id`. Optional to the decoder, so that a missing one reaches the
 * handler and gets the API's own 400 JSON (the handler checks it is 1–256 characters of UTF-8).
 *
 * @since 0.1.0
 */
export const ReviewerHeaders = Schema.Struct({
  [Headers.reviewer]: Schema.optional(Schema.String).annotations({
    description: "Required: the reviewer, recorded as corrected_by / reviewed_by"
  })
})

const JsonValue = Schema.Unknown.annotations({
  description: "Any JSON value, kept exactly (big numbers too)"
})

export class CorrectionRequest extends Schema.Class<CorrectionRequest>("CorrectionRequest")({
  field_path: Schema.String.annotations({
    description: 'A path of contract §2: "header.perihal", "personel[0].nrp", ""'
  }),
  new_value: Schema.optional(JsonValue).annotations({
    description:
      "The new value; omit it to remove the path. It must fit the result schema (400 invalid_value): " +
      "header fields and personel[].pangkat, nama, jabatan a string or null, header.tanggal a date " +
      "YYYY-MM-DD or null, personel[].nrp a string of ASCII digits or null; elsewhere, the JSON type the " +
      "path holds now or null"
  }),
  reason: Schema.optional(Schema.NullOr(Schema.String))
}) {}

/** A correction event as the API shows it: the export's correction fields, plus its id and job. @since 0.1.0 */
export class CorrectionEvent extends Schema.Class<CorrectionEvent>("CorrectionEvent")({
  event_id: Schema.String,
  job_id: Schema.String,
  field_path: Schema.String,
  old_value: JsonValue,
  new_value: JsonValue,
  corrected_by: Schema.String,
  reason: Schema.NullOr(Schema.String),
  corrected_at: Schema.String
}) {}

/** A job's review state after an approval or a rejection. @since 0.1.0 */
export class Decision extends Schema.Class<Decision>("Decision")({
  job_id: Schema.String,
  approved: Schema.Boolean,
  reviewed_by: Schema.String,
  reviewed_at: Schema.String
}) {}

/** A job as a reviewer sees it: its current result and its audit trail, oldest first. @since 0.1.0 */
export class JobView extends Schema.Class<JobView>("JobView")({
  job_id: Schema.String,
  filename: Schema.String,
  approved: Schema.Boolean,
  reviewed_by: Schema.NullOr(Schema.String),
  reviewed_at: Schema.NullOr(Schema.String),
  result: JsonValue,
  corrections: Schema.Array(CorrectionEvent)
}) {}

/** A value of the audit trail, lossless (big numbers as sent); an absent one is `null`. */
const value = (v: unknown): string => (v === undefined ? "null" : Json.stringify(v as Json.Json))

const eventText = (e: typeof CorrectionEvent.Encoded): string =>
  `{"event_id":${JSON.stringify(e.event_id)},"job_id":${JSON.stringify(e.job_id)},"field_path":${JSON.stringify(e.field_path)},` +
  `"old_value":${value(e.old_value)},"new_value":${value(e.new_value)},"corrected_by":${JSON.stringify(e.corrected_by)},` +
  `"reason":${JSON.stringify(e.reason)},"corrected_at":${JSON.stringify(e.corrected_at)}}`

const EventBody = canonicalJson(CorrectionEvent, "CorrectionEvent", (e) => `${eventText(e)}\n`)

const DecisionBody = canonicalJson(
  Decision,
  "Decision",
  (d) =>
    `{"job_id":${JSON.stringify(d.job_id)},"approved":${d.approved},"reviewed_by":${JSON.stringify(d.reviewed_by)},` +
    `"reviewed_at":${JSON.stringify(d.reviewed_at)}}\n`
)

const JobViewBody = canonicalJson(
  JobView,
  "JobView",
  (j) =>
    `{"job_id":${JSON.stringify(j.job_id)},"filename":${JSON.stringify(j.filename)},"approved":${j.approved},` +
    `"reviewed_by":${JSON.stringify(j.reviewed_by)},"reviewed_at":${JSON.stringify(j.reviewed_at)},` +
    `"result":${value(j.result)},"corrections":[${j.corrections.map(eventText).join(",")}]}\n`
)

/** Approve and reject: the same headers, answers and errors. */
const decided = <Name extends string>(
  endpoint: HttpApiEndpoint.HttpApiEndpoint<Name, "POST", { readonly id: string }>,
  description: string
) =>
  endpoint
    .middleware(ReviewAccess)
    .setHeaders(ReviewerHeaders)
    .addSuccess(DecisionBody)
    .addError(BadRequest)
    .addError(NotFound)
    .addError(ServerError)
    .addError(Unavailable)
    .annotate(OpenApi.Description, description)

/** The review write path: a job's view, corrections, approval and rejection. @since 0.1.0 */
export class JobsApi extends HttpApiGroup.make("jobs")
  .add(
    HttpApiEndpoint.get("job")`/${jobId}`
      .addSuccess(JobViewBody)
      .addError(NotFound)
      .addError(ServerError)
      .addError(Unavailable)
      .annotate(OpenApi.Description, "The job's current result and its audit trail, oldest event first")
  )
  .add(
    HttpApiEndpoint.post("correct")`/${jobId}/corrections`
      .setHeaders(ReviewerHeaders)
      .setPayload(CorrectionRequest)
      .middleware(ReviewAccess)
      .addSuccess(EventBody, { status: 201 })
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Conflict)
      .addError(ServerError)
      .addError(Unavailable)
      .annotate(
        OpenApi.Description,
        "Records one correction (contract §3) and its audit event in one transaction: the value at field_path " +
          "becomes new_value, or is removed when new_value is absent. A value the result schema does not " +
          "allow at the path is refused, 400 invalid_value naming the path and the type it must hold."
      )
  )
  .add(
    decided(
      HttpApiEndpoint.post("approve")`/${jobId}/approve`,
      "Marks the job approved by the reviewer (X-User-Id), now"
    )
  )
  .add(
    decided(
      HttpApiEndpoint.post("reject")`/${jobId}/reject`,
      "Marks the job not approved, reviewed by the reviewer (X-User-Id), now"
    )
  )
  // Every route reads (a route added later is guarded too); the writes also need a review token.
  .middleware(ReadAccess)
  .prefix("/api/v1/jobs") {}

export class Api extends HttpApi.make("ground-truth")
  .add(GroundTruthApi)
  .add(JobsApi)
  .add(HealthApi)
  .annotate(OpenApi.Title, "ground-truth")
  .annotate(OpenApi.Version, Version.version)
  .annotate(OpenApi.Description, "Training-data export of the Sprin HITL review corpus")
  // The components `canonicalJson` bodies refer to.
  .annotate(HttpApi.AdditionalSchemas, [
    Stats.Report,
    Manifest.Manifest,
    Plan.Plan,
    Eval.Report,
    Lint.Report,
    Calibration.Report,
    JobView,
    CorrectionEvent,
    Decision
  ]) {}
