/**
 * The review write path: recording a reviewer's correction (contract §3 forward, the exact inverse of
 * replay) together with its audit event, and approving or rejecting a job. Every audit trail the
 * export replays was written by this logic or one equivalent to it; `plan` is the pure forward step,
 * shared with the demo data generator.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Either, Schema } from "effect"
import * as Correction from "./Correction.js"
import * as FieldPath from "./FieldPath.js"
import { eventColumn, readUtc, utcText } from "./internal/query.js"
import { InvalidRow } from "./internal/rows.js"
import * as Json from "./Json.js"
import * as ResultSchema from "./ResultSchema.js"
import * as Snapshot from "./Snapshot.js"
import type * as Timestamp from "./Timestamp.js"

/**
 * No job has this id.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownJob extends Schema.TaggedError<UnknownJob>()("UnknownJob", { jobId: Schema.String }) {
  override get message(): string {
    return `no job has the id ${JSON.stringify(this.jobId)}`
  }
}

/**
 * The field path does not follow the grammar of contract §2.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidPath extends Schema.TaggedError<InvalidPath>()("InvalidPath", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `invalid field path ${JSON.stringify(this.path)}: ${this.detail}`
  }
}

/**
 * The correction cannot apply to the job's current result: the parent of the path is
 * missing or of the wrong kind, or an index is beyond the end of its array.
 *
 * @since 0.1.0
 * @category errors
 */
export class PreconditionFailed extends Schema.TaggedError<PreconditionFailed>()("PreconditionFailed", {
  path: Schema.String,
  reason: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `cannot correct ${JSON.stringify(this.path)}: ${this.detail}`
  }
}

/**
 * The path already holds the new value, or neither holds nor should hold one: an event
 * that changes nothing would make the trail say what did not happen.
 *
 * @since 0.1.0
 * @category errors
 */
export class NoChange extends Schema.TaggedError<NoChange>()("NoChange", { path: Schema.String }) {
  override get message(): string {
    return `${JSON.stringify(this.path)} already ${this.path === "" ? "is" : "holds"} that value`
  }
}

/**
 * A value PostgreSQL cannot store as sent: a string with U+0000 or an unpaired surrogate
 * (jsonb and text refuse the first and would silently replace the second), a number beyond
 * `numeric`'s range, or a result nested deeper than the database can store.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidValue extends Schema.TaggedError<InvalidValue>()("InvalidValue", {
  field: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.field} cannot be stored: ${this.detail}`
  }
}

/** @since 0.1.0 */
export type CorrectionError =
  | UnknownJob
  | InvalidPath
  | PreconditionFailed
  | NoChange
  | InvalidValue
  | ResultSchema.SchemaViolation
  | InvalidRow

/** Why a string cannot be stored as it is, if it cannot. */
const unstorableString = (s: string): string | undefined => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0) return "it contains U+0000"
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) i++
      else return "it contains an unpaired surrogate"
    } else if (c >= 0xdc00 && c <= 0xdfff) return "it contains an unpaired surrogate"
  }
  return undefined
}

/**
 * Why a value cannot be stored exactly, if it cannot: its strings (keys too) and numbers. The values
 * still to look at are on a stack, not in calls, so any depth is checked.
 */
const unstorable = (value: Json.Json): string | undefined => {
  const pending: Array<Json.Json> = [value]
  while (pending.length > 0) {
    const v = pending.pop()!
    if (typeof v === "string") {
      const why = unstorableString(v)
      if (why !== undefined) return why
    } else if (v instanceof Json.JsonNumber) {
      // numeric holds up to 131072 digits before the point and 16383 after; exponents far beyond that
      // (1e-20000) overflow. A bound on the exponent keeps the check cheap and exact enough.
      const exponent = /[eE]([+-]?\d+)$/.exec(v.text)
      if (exponent !== null && Math.abs(Number(exponent[1])) > 16_000) return "the number is out of range"
    } else if (Json.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) pending.push(v[i])
    } else if (Json.isObject(v)) {
      for (const [k, x] of v) {
        const why = unstorableString(k)
        if (why !== undefined) return why
        pending.push(x)
      }
    }
  }
  return undefined
}

/** SQLSTATE of PostgreSQL's "stack depth limit exceeded", which a jsonb nested too deep raises. */
const STACK_DEPTH_LIMIT_EXCEEDED = "54001"

/**
 * PostgreSQL parses jsonb recursively and gives up past its stack (`max_stack_depth`): then the value is
 * what cannot be stored, not the database that failed. Told by SQLSTATE, whatever the message's language.
 */
const tooDeepForDatabase = (e: SqlError): Effect.Effect<never, SqlError | InvalidValue> =>
  (e.cause as { readonly code?: unknown } | undefined)?.code === STACK_DEPTH_LIMIT_EXCEEDED
    ? Effect.fail(
        new InvalidValue({ field: "new_value", detail: "it nests deeper than the database can store" })
      )
    : Effect.fail(e)

/**
 * How deep a result or value the review service stores on the embedded database (PGlite). PGlite runs
 * PostgreSQL as WebAssembly on Node's stack, which its recursive jsonb code overflows from about 6,300
 * levels (measured with PGlite 0.5.14 and Node 20's default stack: the insert, or the export's
 * `jsonb_build_array`, returns no row and no error, and the instance then hangs) long before
 * `max_stack_depth` would raise an error. A real PostgreSQL server says itself what it cannot store.
 *
 * @since 0.1.0
 */
export const EMBEDDED_MAX_DEPTH = 5_000

/** On the embedded database, why a planned correction is too deep to store, if it is. */
const tooDeepForEmbedded = (planned: Planned): InvalidValue | undefined => {
  for (const [field, value] of [
    ["new_value", planned.result],
    ["field_path", planned.oldValue]
  ] as const) {
    const levels = value === undefined ? 0 : Json.depth(value)
    if (levels > EMBEDDED_MAX_DEPTH) {
      return new InvalidValue({
        field,
        detail:
          `${field === "new_value" ? "the result would nest" : "the value at the path nests"} ${levels} levels ` +
          `deep; the embedded database stores at most ${EMBEDDED_MAX_DEPTH}`
      })
    }
  }
  return undefined
}

/**
 * Checks what a correction would store, before any statement runs.
 *
 * @since 0.1.0
 */
export const checkStorable = (fields: {
  readonly fieldPath: string
  readonly newValue: Correction.Slot
  readonly reviewer: string
  readonly reason: string | null
}): InvalidValue | undefined => {
  const checks: ReadonlyArray<readonly [string, string | undefined]> = [
    ["field_path", unstorableString(fields.fieldPath)],
    ["new_value", fields.newValue === undefined ? undefined : unstorable(fields.newValue)],
    ["the reviewer", unstorableString(fields.reviewer)],
    ["reason", fields.reason === null ? undefined : unstorableString(fields.reason)]
  ]
  for (const [field, why] of checks) if (why !== undefined) return new InvalidValue({ field, detail: why })
  return undefined
}

/** A correction planned against a result: the result after it, and the path's value before. */
export interface Planned {
  readonly oldValue: Correction.Slot
  readonly result: Correction.Slot
}

/**
 * The forward step of contract §3, without a database: parses `path`, reads its current value and
 * applies the correction to `result`, then checks the new value against the result schema
 * (`ResultSchema.check`). A correction that cannot apply is refused for that first: whether a value fits
 * a path is asked only of a path that takes one. `insert` inserts before an existing array element
 * rather than replacing it (the old value is then absent).
 *
 * @since 0.1.0
 */
export const plan = (
  result: Correction.Slot,
  path: string,
  newValue: Correction.Slot,
  options: { readonly insert?: boolean } = {}
): Either.Either<Planned, InvalidPath | PreconditionFailed | NoChange | ResultSchema.SchemaViolation> => {
  const parsed = FieldPath.parse(path)
  if (Either.isLeft(parsed)) return Either.left(new InvalidPath({ path, detail: parsed.left.message }))
  const oldValue = options.insert === true ? undefined : Correction.read(result, parsed.right)
  const change = Correction.fromValues(parsed.right, oldValue, newValue)
  if (
    change === undefined ||
    (oldValue !== undefined && newValue !== undefined && Json.equals(oldValue, newValue))
  ) {
    return Either.left(new NoChange({ path }))
  }
  const next = Correction.apply(result, change)
  if (Either.isLeft(next))
    return Either.left(new PreconditionFailed({ path, reason: next.left.reason, detail: next.left.detail }))
  const violation = ResultSchema.check(parsed.right, oldValue, newValue)
  return violation === undefined ? Either.right({ oldValue, result: next.right }) : Either.left(violation)
}

/** One recorded audit event. @since 0.1.0 */
export interface Event {
  readonly id: string
  readonly jobId: string
  readonly fieldPath: string
  readonly oldValue: Correction.Slot
  readonly newValue: Correction.Slot
  readonly correctedBy: string
  readonly reason: string | null
  readonly correctedAt: Timestamp.Timestamp
}

/** A job's review state after an approval or a rejection. @since 0.1.0 */
export interface Decision {
  readonly jobId: string
  readonly approved: boolean
  readonly reviewedBy: string
  readonly reviewedAt: Timestamp.Timestamp
}

/** A job as a reviewer sees it: its current result and its audit trail, oldest first. @since 0.1.0 */
export interface JobView {
  readonly jobId: string
  readonly filename: string
  readonly approved: boolean
  readonly reviewedBy: string | null
  readonly reviewedAt: Timestamp.Timestamp | null
  readonly result: Correction.Slot
  readonly corrections: ReadonlyArray<Event>
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The database's own text of a value: `undefined` (absent) is SQL NULL. */
const jsonb = (value: Correction.Slot): string | null => (value === undefined ? null : Json.stringify(value))

/** PostgreSQL's text of a jsonb value always parses: a failure here is a defect, not an input error. */
const parsed = (text: string | null): Effect.Effect<Correction.Slot> =>
  text === null ? Effect.succeed(undefined) : Effect.orDie(Json.parse(text))

/** The UTC text `utcText` selects; a time RFC 3339 cannot write (BC, ±infinity…) is `InvalidRow`. */
const time = (
  jobId: string,
  column: string,
  text: string
): Effect.Effect<Timestamp.Timestamp, InvalidRow> => {
  const t = readUtc(text)
  return typeof t === "string" ? Effect.fail(new InvalidRow({ jobId, column, detail: t })) : Effect.succeed(t)
}

interface EventRow {
  readonly id: string
  readonly job_id: string
  readonly field_path: string
  readonly old_value: string | null
  readonly new_value: string | null
  readonly corrected_by: string
  readonly reason: string | null
  readonly corrected_at: string
}

const event = (row: EventRow): Effect.Effect<Event, InvalidRow> =>
  Effect.all({
    id: Effect.succeed(row.id),
    jobId: Effect.succeed(row.job_id),
    fieldPath: Effect.succeed(row.field_path),
    oldValue: parsed(row.old_value),
    newValue: parsed(row.new_value),
    correctedBy: Effect.succeed(row.corrected_by),
    reason: Effect.succeed(row.reason),
    correctedAt: time(row.job_id, eventColumn(row.id, "corrected_at"), row.corrected_at)
  })

/**
 * The review service over `SqlClient`.
 *
 * - `correct` locks the job's row, reads the current value at the path, applies §3 to `jobs.result`
 *   (refusing a value the result schema does not allow there: `ResultSchema.SchemaViolation`), sets
 *   `updated_at`, and inserts the event with the old and new values, all in one transaction:
 *   concurrent corrections of one job serialize on the lock, each against the result the previous one
 *   left. `corrected_at` is the clock at the insert (not the transaction's start), so the trail's
 *   order (`corrected_at`, then `id`) is the order the corrections were applied in.
 * - `approve` / `reject` set `approved`, `reviewed_by` and `reviewed_at`.
 * - `job` is the current result and its trail, from one snapshot.
 *
 * @since 0.1.0
 * @category services
 */
export class Review extends Effect.Service<Review>()("@ground-truth/core/Review", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const snapshot = yield* Snapshot.make
    // An event as the service returns it, in the insert's RETURNING and in the job view alike.
    const eventColumns = sql`
      id::text AS id, job_id::text AS job_id, field_path, old_value::text AS old_value,
      new_value::text AS new_value, corrected_by, reason, ${utcText(sql, "corrected_at")} AS corrected_at`
    const known = (jobId: string) =>
      UUID.test(jobId) ? Effect.succeed(jobId.toLowerCase()) : Effect.fail(new UnknownJob({ jobId }))

    const correct = (
      jobId: string,
      fieldPath: string,
      newValue: Correction.Slot,
      reviewer: string,
      reason: string | null
    ): Effect.Effect<Event, CorrectionError | SqlError> =>
      Effect.flatMap(known(jobId), (id): Effect.Effect<Event, CorrectionError | SqlError> => {
        const bad = checkStorable({ fieldPath, newValue, reviewer, reason })
        if (bad !== undefined) return Effect.fail(bad)
        return sql.withTransaction(
          Effect.gen(function* () {
            // PGlite names itself in version(): it needs `EMBEDDED_MAX_DEPTH`, which this row is read for.
            const rows = yield* sql<{ readonly result: string | null; readonly embedded: boolean }>`
              SELECT result::text AS result, version() LIKE '%PGlite%' AS embedded
              FROM jobs WHERE id = ${id}::uuid FOR UPDATE`
            if (rows.length === 0) return yield* new UnknownJob({ jobId })
            const step = plan(yield* parsed(rows[0].result), fieldPath, newValue)
            if (Either.isLeft(step)) return yield* step.left
            if (rows[0].embedded) {
              const bad = tooDeepForEmbedded(step.right)
              if (bad !== undefined) return yield* bad
            }
            yield* sql`
              UPDATE jobs SET result = ${jsonb(step.right.result)}::jsonb, updated_at = now()
              WHERE id = ${id}::uuid`
            const [row] = yield* sql<EventRow>`
              INSERT INTO job_corrections (job_id, field_path, old_value, new_value, corrected_by, reason, corrected_at)
              VALUES (${id}::uuid, ${fieldPath}, ${jsonb(step.right.oldValue)}::jsonb, ${jsonb(newValue)}::jsonb,
                      ${reviewer}, ${reason}, clock_timestamp())
              RETURNING ${eventColumns}`
            return yield* event(row)
          }).pipe(Effect.catchTag("SqlError", tooDeepForDatabase))
        )
      })

    const decide =
      (approved: boolean) =>
      (jobId: string, reviewer: string): Effect.Effect<Decision, UnknownJob | InvalidRow | SqlError> =>
        Effect.flatMap(known(jobId), (id) =>
          // In a transaction: a decision whose time cannot be read back is undone, not half reported.
          Effect.flatMap(
            sql<{ readonly reviewed_at: string }>`
              UPDATE jobs SET approved = ${approved}, reviewed_by = ${reviewer}, reviewed_at = now(), updated_at = now()
              WHERE id = ${id}::uuid
              RETURNING ${utcText(sql, "reviewed_at")} AS reviewed_at`,
            (rows): Effect.Effect<Decision, UnknownJob | InvalidRow> =>
              rows.length === 0
                ? Effect.fail(new UnknownJob({ jobId }))
                : Effect.map(time(id, "reviewed_at", rows[0].reviewed_at), (reviewedAt) => ({
                    jobId: id,
                    approved,
                    reviewedBy: reviewer,
                    reviewedAt
                  }))
          ).pipe(sql.withTransaction)
        )

    const job = (jobId: string): Effect.Effect<JobView, UnknownJob | InvalidRow | SqlError> =>
      Effect.flatMap(known(jobId), (id) =>
        Effect.gen(function* () {
          const rows = yield* sql<{
            readonly filename: string
            readonly approved: boolean
            readonly reviewed_by: string | null
            readonly reviewed_at: string | null
            readonly result: string | null
          }>`
            SELECT filename, approved, reviewed_by, ${utcText(sql, "reviewed_at")} AS reviewed_at,
                   result::text AS result
            FROM jobs WHERE id = ${id}::uuid`
          if (rows.length === 0) return yield* new UnknownJob({ jobId })
          const events = yield* sql<EventRow>`
            SELECT ${eventColumns}
            FROM job_corrections WHERE job_id = ${id}::uuid ORDER BY corrected_at, id`
          const j = rows[0]
          return {
            jobId: id,
            filename: j.filename,
            approved: j.approved,
            reviewedBy: j.reviewed_by,
            reviewedAt: j.reviewed_at === null ? null : yield* time(id, "reviewed_at", j.reviewed_at),
            result: yield* parsed(j.result),
            corrections: yield* Effect.forEach(events, event)
          }
        }).pipe(snapshot.effect)
      )

    return { correct, approve: decide(true), reject: decide(false), job }
  })
}) {}
