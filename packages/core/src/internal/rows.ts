/**
 * One row of the export query: the columns it selects (`sampleColumns`), how a row is read into a job
 * (`decodeRow`), and how it is written as its line in any format (`writeRow`), straight from the row's
 * text where it can. The export, the job view, the decisions and the report's weeks fail alike on a row
 * they cannot read (`InvalidRow`).
 */
import type { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Either, Schema } from "effect"
import type { Slot } from "../Correction.js"
import * as Format from "../Format.js"
import * as Json from "../Json.js"
import * as Replay from "../Replay.js"
import type { CorrectionEvent, Job } from "../Sample.js"
import * as Split from "../Split.js"
import type * as Timestamp from "../Timestamp.js"
import { ByteWriter } from "./byteWriter.js"
import * as Events from "./events.js"
import * as Formats from "./formats.js"
import type { ScanFailure } from "./lexer.js"
import { ResultText } from "./line.js"
import { eventColumn, NOMOR_SPRINT, readUtc, utcText } from "./query.js"
import * as ReplayText from "./replayText.js"

/**
 * A row the export cannot read: a column that does not hold what the schema of contract §1 promises,
 * or a value contract §6 cannot write (a BC or infinite time, a multi-dimensional `review_flags`). The
 * job view, the decisions and the report's weeks fail with it too.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRow extends Schema.TaggedError<InvalidRow>()("InvalidRow", {
  jobId: Schema.String,
  column: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `job ${this.jobId}: cannot read ${this.column}: ${this.detail}`
  }
}

/**
 * One `jobs` row as the export query returns it: timestamps and JSON as text, so that nothing passes
 * through a lossy conversion on its way in.
 *
 * @since 0.1.0
 */
export interface Row {
  readonly id: string
  readonly filename: string
  readonly source_kind: string
  /** `jobs.satuan`: not in the sample, but what eval slices by (§12). */
  readonly satuan: string | null
  readonly approved: boolean
  readonly reviewed_by: string | null
  readonly reviewed_at: string | null
  readonly created_at: string
  readonly result: string | null
  /**
   * `text[]` as the driver reads it: `null` for a NULL element, nested arrays for more dimensions; the
   * whole `null` for an empty array, which the query sends as NULL (the column is `NOT NULL`), sparing
   * the driver's array parser the half of the rows that have no flags.
   */
  readonly review_flags: ReadonlyArray<unknown> | null
  readonly confidence: number | null
  /** `[[id, field_path, [old] | null, [new] | null, corrected_by, reason, corrected_at], …]` or null. */
  readonly events: string | null
  /** Of an increment's changed job: does it still match the filter? (If not, only `id` is set.) */
  readonly matched?: boolean
  /** `job_texts.ocr_text`, when the export reads the letters' texts (`null`: none kept for the job). */
  readonly ocr_text?: string | null
  /** `final_result.header.nomor_sprint` when it is a string (`null`: it is not), for the job's split. */
  readonly nomor_sprint?: string | null
}

/** The key of a row's job for a split (see `Split.key`). */
export const rowKey = (by: Split.By, row: Row): string => Split.key(by, row.id, row.nomor_sprint)

class RowFailure {
  constructor(
    readonly column: string,
    readonly detail: string
  ) {}
}

const time = (column: string, text: string): Timestamp.Timestamp | RowFailure => {
  const t = readUtc(text)
  return typeof t === "string" ? new RowFailure(column, t) : t
}

const json = (column: string, text: string): Json.Json | RowFailure => {
  const v = Json.parse(text)
  return Either.isLeft(v) ? new RowFailure(column, v.left.message) : v.right
}

/** A failure in one event's column, named only when it happens: the hot path builds no strings. */
const eventFailure = (id: string, name: string, detail: string): RowFailure =>
  new RowFailure(eventColumn(id, name), detail)

/** `[value]` is a present value, `null` an absent one (SQL NULL); anything else is not a slot. */
const isSlot = (v: Json.Json): boolean => v === null || (Array.isArray(v) && v.length === 1)

const unwrap = (v: Json.Json): Slot => (v === null ? undefined : (v as Json.JsonArray)[0])

const event = (e: Json.Json): CorrectionEvent | RowFailure => {
  if (!Array.isArray(e) || e.length !== 7)
    return new RowFailure("job_corrections", "expected a 7-element array")
  const id = e[0]
  if (typeof id !== "string") return new RowFailure("job_corrections.id", "expected a string")
  const fieldPath = e[1]
  const correctedBy = e[4]
  const reason = e[5]
  const at = e[6]
  if (typeof fieldPath !== "string") return eventFailure(id, "field_path", "expected a string")
  if (!isSlot(e[2])) return eventFailure(id, "old_value", "expected null or a one-element array")
  if (!isSlot(e[3])) return eventFailure(id, "new_value", "expected null or a one-element array")
  if (typeof correctedBy !== "string") return eventFailure(id, "corrected_by", "expected a string")
  if (reason !== null && typeof reason !== "string") return eventFailure(id, "reason", "expected a string")
  if (typeof at !== "string") return eventFailure(id, "corrected_at", "expected a string")
  const correctedAt = readUtc(at)
  if (typeof correctedAt === "string") return eventFailure(id, "corrected_at", correctedAt)
  return {
    id,
    fieldPath,
    oldValue: unwrap(e[2]),
    newValue: unwrap(e[3]),
    correctedBy,
    reason,
    correctedAt
  }
}

const events = (source: string | null): ReadonlyArray<CorrectionEvent> | RowFailure => {
  if (source === null) return []
  const read = Events.read(source)
  if (read !== undefined) return read
  const list = json("job_corrections", source)
  if (list instanceof RowFailure) return list
  if (!Array.isArray(list)) return new RowFailure("job_corrections", "expected an array")
  const out: Array<CorrectionEvent> = []
  for (const e of list) {
    const decoded = event(e)
    if (decoded instanceof RowFailure) return decoded
    out.push(decoded)
  }
  return out
}

const dimensions = (v: unknown): number => (Array.isArray(v) ? 1 + dimensions(v[0]) : 0)

const noFlags: ReadonlyArray<string | null> = []

/** The flags as a list whose elements are strings or null (SQL NULL): one dimension only. */
const flags = (value: ReadonlyArray<unknown> | null): ReadonlyArray<string | null> | RowFailure => {
  if (value === null) return noFlags
  for (const f of value) {
    if (f !== null && typeof f !== "string") {
      return new RowFailure(
        "review_flags",
        `a ${dimensions(value)}-dimensional array cannot be written as a list of flags`
      )
    }
  }
  return value as ReadonlyArray<string | null>
}

/** Everything of a row but its result, which only a job with events needs as a value. */
const decodeFields = (row: Row): Omit<Job, "result"> | RowFailure => {
  const reviewedAt = row.reviewed_at === null ? null : time("reviewed_at", row.reviewed_at)
  const createdAt = time("created_at", row.created_at)
  const reviewFlags = flags(row.review_flags)
  const trail = events(row.events)
  for (const v of [reviewedAt, createdAt, reviewFlags, trail]) if (v instanceof RowFailure) return v
  return {
    id: row.id,
    filename: row.filename,
    sourceKind: row.source_kind,
    satuan: row.satuan,
    approved: row.approved,
    reviewedBy: row.reviewed_by,
    reviewedAt: reviewedAt as Timestamp.Timestamp | null,
    createdAt: createdAt as Timestamp.Timestamp,
    reviewFlags: reviewFlags as ReadonlyArray<string | null>,
    confidence: row.confidence,
    events: trail as ReadonlyArray<CorrectionEvent>
  }
}

const invalid = (row: Row, failure: RowFailure): InvalidRow =>
  new InvalidRow({ jobId: row.id, column: failure.column, detail: failure.detail })

/** A job's `result` column (its text; SQL NULL: absent) as a value, or why it cannot be read. */
export const decodeResult = (jobId: string, text: string | null): Either.Either<Slot, InvalidRow> => {
  const result = text === null ? undefined : json("result", text)
  return result instanceof RowFailure
    ? Either.left(new InvalidRow({ jobId, column: result.column, detail: result.detail }))
    : Either.right(result)
}

/**
 * Reads one export row into a job.
 *
 * @since 0.1.0
 */
export const decodeRow = (row: Row): Either.Either<Job, InvalidRow> => {
  const fields = decodeFields(row)
  if (fields instanceof RowFailure) return Either.left(invalid(row, fields))
  return Either.map(decodeResult(row.id, row.result), (result) => ({ ...fields, result }))
}

const CONTRACT: Formats.Output = { format: "jsonl", input: "pipeline" }

/**
 * Appends one row's line to `w`; on failure appends nothing. The final result goes from the row's text
 * to canonical bytes directly. About half the jobs have no events: their initial result is the final
 * one, written once. The others are replayed on those bytes (`replayText.ts`), parsed only where their
 * events reach; where that gives up, on the parsed result, which says what is wrong.
 */
export const writeRow = (
  w: ByteWriter,
  row: Row,
  output: Formats.Output = CONTRACT
): InvalidRow | Replay.ReplayError | undefined => {
  const fields = decodeFields(row)
  if (fields instanceof RowFailure) return invalid(row, fields)
  const text = row.ocr_text ?? null
  if (fields.events.length > 0) {
    const replayed = ReplayText.undo(row.id, row.result, fields.events)
    return replayed !== ReplayText.failed &&
      Formats.write(output, w, fields, replayed.initial, replayed.final, text) === undefined
      ? undefined
      : replayedParsed(w, row, output, fields, text)
  }
  const final = row.result === null ? undefined : new ResultText(row.result)
  const failure = Formats.write(output, w, fields, final, final, text)
  return failure === undefined ? undefined : syntaxError(row, failure)
}

const syntaxError = (row: Row, failure: ScanFailure): InvalidRow =>
  invalid(row, new RowFailure("result", new Json.JsonSyntaxError(failure).message))

/** `writeRow` of a job with events, replayed on its parsed result: the reference, whose errors are reported. */
const replayedParsed = (
  w: ByteWriter,
  row: Row,
  output: Formats.Output,
  fields: Omit<Job, "result">,
  text: string | null
): InvalidRow | Replay.ReplayError | undefined => {
  let value: Slot
  if (row.result !== null) {
    const parsed = json("result", row.result)
    if (parsed instanceof RowFailure) return invalid(row, parsed)
    value = parsed
  }
  const undone = Replay.undo(row.id, value, fields.events)
  if (Either.isLeft(undone)) return undone.left
  const failure = Formats.write(output, w, fields, undone.right, value, text)
  return failure === undefined ? undefined : syntaxError(row, failure)
}

/** `writeRow` for one output, decided once: the export's writer of every row of a stream. */
export const rowWriter =
  (output: Formats.Output) =>
  (w: ByteWriter, row: Row): InvalidRow | Replay.ReplayError | undefined =>
    writeRow(w, row, output)

/**
 * One row to its canonical line: decode, replay, serialize.
 *
 * @since 0.1.0
 */
export const rowLine = (row: Row): Either.Either<string, InvalidRow | Replay.ReplayError> => {
  const w = new ByteWriter()
  const failure = writeRow(w, row)
  return failure === undefined ? Either.right(w.toString()) : Either.left(failure)
}

/**
 * Does an export with `output` read the letters' texts? When its input asks for them and the database
 * keeps them: `job_texts` is an optional table (docs/formats.md, "The letter's text"), looked up in the snapshot.
 */
export const readsTexts = (
  sql: SqlClient.SqlClient,
  output: Formats.Output
): Effect.Effect<boolean, SqlError> =>
  Format.readsText(output.input)
    ? Effect.map(
        sql<{ readonly kept: boolean }>`SELECT to_regclass('job_texts') IS NOT NULL AS kept`,
        ([row]) => row.kept
      )
    : Effect.succeed(false)

/**
 * The columns of a sample's row but its id, for the jobs table aliased `j`: what `Row` reads; with
 * `texts`, the job's OCR text too (see `readsTexts`).
 */
export const sampleColumns = (sql: SqlClient.SqlClient, texts = false) => sql`
  j.filename, j.source_kind, j.satuan, j.approved, j.reviewed_by,
  ${utcText(sql, "j.reviewed_at")} AS reviewed_at,
  ${utcText(sql, "j.created_at")} AS created_at,
  j.result::text AS result, ${sql.literal(NOMOR_SPRINT)} AS nomor_sprint,
  NULLIF(j.review_flags, '{}') AS review_flags, j.confidence,
  (
    SELECT json_agg(json_build_array(
      c.id::text, c.field_path,
      CASE WHEN c.old_value IS NULL THEN NULL ELSE jsonb_build_array(c.old_value) END,
      CASE WHEN c.new_value IS NULL THEN NULL ELSE jsonb_build_array(c.new_value) END,
      c.corrected_by, c.reason, ${utcText(sql, "c.corrected_at")}
    ) ORDER BY c.corrected_at, c.id)::text
    FROM job_corrections c WHERE c.job_id = j.id
  ) AS events${texts ? sql`, (SELECT t.ocr_text FROM job_texts t WHERE t.job_id = j.id) AS ocr_text` : sql``}`
