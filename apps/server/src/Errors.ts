/**
 * Core's errors as the API's: which error class (and so which status, declared once in the protocol's `Api.ts`) and
 * which `code` each becomes. Exhaustive by `_tag`: a new core error is a type error here until it has
 * its answer.
 *
 * @since 0.1.0
 */
import type { SqlError } from "@effect/sql/SqlError"
import type { Export, Parquet, Plan, Review } from "@ground-truth/core"
import { Database, SqlFailure } from "@ground-truth/db"
import { BadRequest, Conflict, Gone, NotFound, ServerError, Unavailable } from "@ground-truth/protocol/Api"
import type { CompressionError } from "./Compression.js"

/**
 * Reading the database failed: 503 when it cannot be reached or a lock was held past
 * `GROUND_TRUTH_LOCK_TIMEOUT`, else 500.
 *
 * @since 0.1.0
 */
export const databaseFailure = (e: SqlError | Export.InvalidRow): ServerError | Unavailable => {
  if (e._tag === "InvalidRow") return new ServerError({ error: { code: "invalid_row", message: e.message } })
  switch (SqlFailure.classify(e)) {
    case "unavailable":
      return new Unavailable({
        error: { code: "database_unavailable", message: Database.describeSqlError(e) }
      })
    case "lock_timeout":
      return new Unavailable({
        error: {
          code: "lock_timeout",
          message:
            "another session of the database held a lock the read needs for longer than GROUND_TRUTH_LOCK_TIMEOUT: " +
            "try again once it is done"
        }
      })
    default:
      return new ServerError({ error: { code: "database_error", message: Database.describeSqlError(e) } })
  }
}

/** An export that fails before the first byte of its body. @since 0.1.0 */
export const exportFailure = (
  e: Export.ExportError | Plan.PlanGone | CompressionError | Parquet.ParquetError
): ServerError | Unavailable | Gone => {
  switch (e._tag) {
    case "SqlError":
    case "InvalidRow":
      return databaseFailure(e)
    case "AuditTrailMismatch":
      return new ServerError({ error: { code: "audit_trail_mismatch", message: e.message } })
    case "InvalidCorrectionEvent":
      return new ServerError({ error: { code: "invalid_correction_event", message: e.message } })
    case "StaleCursor":
      return new Gone({ error: { code: "stale_cursor", message: e.message } })
    case "StandbyNotReady":
      return new Unavailable({ error: { code: "standby_not_ready", message: e.message } })
    case "WorkerFailed":
      return new ServerError({ error: { code: "worker_failed", message: e.message } })
    case "SnapshotGone":
      return new Gone({ error: { code: "snapshot_gone", message: e.message } })
    case "PlanGone":
      return new Gone({ error: { code: "plan_gone", message: e.message } })
    case "CompressionError":
      return new ServerError({ error: { code: "compression_failed", message: e.message } })
    case "ParquetError":
      return new ServerError({ error: { code: "parquet_failed", message: e.message } })
  }
}

/**
 * What the log says of an export that failed: the `code` of its answer and where it failed (job, event,
 * field path, column), never its message, which may show a value (an unwritable time) and goes only to the
 * client that asked. The database's and gzip's own words are kept: they describe the server, not the data.
 *
 * @since 0.1.0
 */
export const logFields = (
  e: Export.ExportError | Plan.PlanGone | CompressionError | Parquet.ParquetError
): Record<string, string> => {
  const error = exportFailure(e).error.code
  switch (e._tag) {
    case "AuditTrailMismatch":
      return { error, job_id: e.jobId, event_id: e.eventId, field_path: e.fieldPath, reason: e.reason }
    case "InvalidCorrectionEvent":
      return { error, job_id: e.jobId, event_id: e.eventId, field_path: e.fieldPath }
    case "InvalidRow":
      return { error, job_id: e.jobId, column: e.column }
    case "StaleCursor":
    case "StandbyNotReady":
      return { error, reason: e.reason }
    case "SqlError":
      return { error, detail: Database.describeSqlError(e) }
    case "WorkerFailed":
    case "SnapshotGone":
    case "CompressionError":
    // Its message names a line and a column, never a value.
    case "ParquetError":
      return { error, detail: e.message }
    case "PlanGone":
      return { error, plan_id: e.id }
  }
}

/** What each review failure becomes. */
interface ReviewAnswers {
  readonly UnknownJob: NotFound
  readonly InvalidPath: BadRequest
  readonly InvalidValue: BadRequest
  readonly SchemaViolation: BadRequest
  readonly PreconditionFailed: Conflict
  readonly NoChange: Conflict
  readonly InvalidRow: ServerError
  readonly SqlError: ServerError | Unavailable
}

const reviewAnswer = (e: Review.CorrectionError | SqlError): ReviewAnswers[keyof ReviewAnswers] => {
  switch (e._tag) {
    case "UnknownJob":
      return new NotFound({ error: { code: "unknown_job", message: e.message } })
    case "InvalidPath":
      return new BadRequest({ error: { code: "invalid_path", message: e.message, parameter: "field_path" } })
    case "InvalidValue":
      return new BadRequest({ error: { code: "invalid_value", message: e.message, parameter: e.field } })
    case "SchemaViolation":
      return new BadRequest({ error: { code: "invalid_value", message: e.message, parameter: "new_value" } })
    case "PreconditionFailed":
      return new Conflict({ error: { code: "precondition_failed", message: e.message } })
    case "NoChange":
      return new Conflict({ error: { code: "no_change", message: e.message } })
    case "InvalidRow":
    case "SqlError":
      return databaseFailure(e)
  }
}

/**
 * A review failure: the client's mistake (400, 404, 409), or the database's. Typed by what can fail, so
 * an endpoint declares exactly the errors its operation has.
 *
 * @since 0.1.0
 */
export const reviewFailure = <E extends Review.CorrectionError | SqlError>(e: E): ReviewAnswers[E["_tag"]] =>
  reviewAnswer(e) as ReviewAnswers[E["_tag"]]
