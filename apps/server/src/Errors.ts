/**
 * Error responses: `{"error":{code, message, parameter?}}` with the status its class declares in
 * `Api.ts` (the one place statuses are written). The handlers build their responses themselves
 * (`handleRaw`), so they answer errors through here too.
 *
 * @since 0.1.0
 */
import { HttpApiSchema, HttpServerResponse } from "@effect/platform"
import type { SqlError } from "@effect/sql/SqlError"
import type { Export, Review } from "@ground-truth/core"
import { Database } from "@ground-truth/db"
import { Effect, type Schema } from "effect"
import { BadRequest, Conflict, Gone, NotFound, ServerError, Unavailable } from "./Api.js"
import type { CompressionError } from "./Compression.js"

/** An error as its response, with the status its class declares. @since 0.1.0 */
export const errorResponse = (e: BadRequest | NotFound | Conflict | Gone | ServerError | Unavailable) =>
  Effect.succeed(
    HttpServerResponse.unsafeJson(
      { error: e.error },
      // An instance of a Schema.Class: its constructor is the schema that carries the status.
      { status: HttpApiSchema.getStatusError(e.constructor as unknown as Schema.Schema.All) }
    )
  )

/** Connection failures (no server, refused, terminated) make the database unavailable; others are errors. */
const isConnectionFailure = (e: SqlError): boolean => {
  const cause = e.cause as { readonly code?: unknown; readonly message?: unknown } | undefined
  const code = typeof cause?.code === "string" ? cause.code : ""
  return (
    code.startsWith("08") ||
    code === "57P01" ||
    code === "ECONNREFUSED" ||
    code === "ECONNRESET" ||
    e.message.includes("connect") ||
    e.message.includes("Connection")
  )
}

/** A failure before the first byte of a body: an HTTP error response instead. */
export const failure = (
  e: Export.ExportError | SqlError | CompressionError
): ServerError | Unavailable | Gone => {
  switch (e._tag) {
    case "SqlError":
      return isConnectionFailure(e)
        ? new Unavailable({ error: { code: "database_unavailable", message: Database.describeSqlError(e) } })
        : new ServerError({ error: { code: "database_error", message: Database.describeSqlError(e) } })
    case "AuditTrailMismatch":
      return new ServerError({ error: { code: "audit_trail_mismatch", message: e.message } })
    case "InvalidCorrectionEvent":
      return new ServerError({ error: { code: "invalid_correction_event", message: e.message } })
    case "InvalidRow":
      return new ServerError({ error: { code: "invalid_row", message: e.message } })
    case "StaleCursor":
      return new Gone({ error: { code: "stale_cursor", message: e.message } })
    case "CompressionError":
      return new ServerError({ error: { code: "compression_failed", message: e.message } })
  }
}

/** A review failure: the client's mistake (400, 404, 409), or the database's. @since 0.1.0 */
export const reviewFailure = (
  e: Review.CorrectionError | SqlError
): BadRequest | NotFound | Conflict | Gone | ServerError | Unavailable => {
  switch (e._tag) {
    case "UnknownJob":
      return new NotFound({ error: { code: "unknown_job", message: e.message } })
    case "InvalidPath":
      return new BadRequest({ error: { code: "invalid_path", message: e.message, parameter: "field_path" } })
    case "InvalidValue":
      return new BadRequest({ error: { code: "invalid_value", message: e.message, parameter: e.field } })
    case "PreconditionFailed":
      return new Conflict({ error: { code: "precondition_failed", message: e.message } })
    case "NoChange":
      return new Conflict({ error: { code: "no_change", message: e.message } })
    case "SqlError":
    case "InvalidRow":
      return failure(e)
  }
}
