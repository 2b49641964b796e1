/**
 * Replay (contract §4): rebuilding the pipeline's original output by undoing a job's audit trail,
 * newest event first, and the forward direction that re-applies it.
 *
 * Every undo first checks that the result is in the state the event left it in. When it is not, the
 * audit trail does not explain the current result, and replay fails with `AuditTrailMismatch` rather
 * than guess.
 *
 * @since 0.1.0
 */
import { Either, Schema } from "effect"
import * as Correction from "./Correction.js"
import * as FieldPath from "./FieldPath.js"
import * as Json from "./Json.js"
import type { CorrectionEvent, Job, Sample } from "./Sample.js"

const JsonText = Schema.NullOr(Schema.String).annotations({
  description: "canonical JSON text of the value, or null when the path is absent"
})

/**
 * The audit trail does not explain the job's result: an event's check failed. The values stay whole in
 * `expected` and `actual`, for a program that embeds core; the message, which the CLI prints, the HTTP
 * API answers and a log may carry, names the job, the event and the path and shows only what kind of
 * value each is and its size: the values are personal data (names, NRPs), and a digest of an 8-digit NRP
 * would be the NRP by another name (there are only 10^8 to try).
 *
 * @since 0.1.0
 * @category errors
 */
export class AuditTrailMismatch extends Schema.TaggedError<AuditTrailMismatch>()("AuditTrailMismatch", {
  jobId: Schema.String,
  eventId: Schema.String,
  fieldPath: Schema.String,
  reason: Schema.String,
  expected: JsonText,
  actual: JsonText,
  detail: Schema.String
}) {
  override get message(): string {
    const shape = (text: string | null) =>
      text === null
        ? Correction.shape(undefined)
        : Either.match(Json.parse(text), {
            // Not from `step` (which writes canonical JSON), but decoded from elsewhere.
            onLeft: () => `${text.length} characters that are not JSON`,
            onRight: Correction.shape
          })
    return (
      `audit trail of job ${this.jobId} does not explain its result at event ${this.eventId} ` +
      `(${JSON.stringify(this.fieldPath)}): ${this.detail}; expected ${shape(this.expected)}, found ${shape(this.actual)}`
    )
  }
}

/**
 * An event that cannot mean anything: its path is invalid, or both its values are absent.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidCorrectionEvent extends Schema.TaggedError<InvalidCorrectionEvent>()(
  "InvalidCorrectionEvent",
  {
    jobId: Schema.String,
    eventId: Schema.String,
    fieldPath: Schema.String,
    detail: Schema.String
  }
) {
  override get message(): string {
    return `job ${this.jobId}, event ${this.eventId} (${JSON.stringify(this.fieldPath)}) is invalid: ${this.detail}`
  }
}

/** @since 0.1.0 */
export type ReplayError = AuditTrailMismatch | InvalidCorrectionEvent

const show = (value: Correction.Slot): string | null => (value === undefined ? null : Json.stringify(value))

/**
 * The correction an event describes, or why it describes none.
 *
 * @since 0.1.0
 */
export const correctionOf = (
  jobId: string,
  event: CorrectionEvent
): Either.Either<Correction.Correction, InvalidCorrectionEvent> => {
  const invalid = (detail: string) =>
    Either.left(new InvalidCorrectionEvent({ jobId, eventId: event.id, fieldPath: event.fieldPath, detail }))
  const path = FieldPath.parse(event.fieldPath)
  if (Either.isLeft(path)) return invalid(path.left.message)
  const c = Correction.fromValues(path.right, event.oldValue, event.newValue)
  return c === undefined ? invalid("both old_value and new_value are absent") : Either.right(c)
}

const step = (
  jobId: string,
  result: Correction.Slot,
  event: CorrectionEvent,
  undo: boolean
): Either.Either<Correction.Slot, ReplayError> => {
  const c = correctionOf(jobId, event)
  if (Either.isLeft(c)) return Either.left(c.left)
  const applied = Correction.apply(result, undo ? Correction.inverse(c.right) : c.right)
  if (Either.isRight(applied)) return Either.right(applied.right)
  const f = applied.left
  return Either.left(
    new AuditTrailMismatch({
      jobId,
      eventId: event.id,
      fieldPath: event.fieldPath,
      reason: f.reason,
      expected: show(f.expected),
      actual: show(f.actual),
      detail: f.detail
    })
  )
}

/** Applies each event (undo: its inverse) to the result in turn, stopping at the first failure. */
const fold = (
  jobId: string,
  result: Correction.Slot,
  events: ReadonlyArray<CorrectionEvent>,
  undo: boolean
): Either.Either<Correction.Slot, ReplayError> => {
  let r = result
  for (let k = 0; k < events.length; k++) {
    const next = step(jobId, r, events[undo ? events.length - 1 - k : k], undo)
    if (Either.isLeft(next)) return next
    r = next.right
  }
  return Either.right(r)
}

/**
 * Undoes `events` (chronological order) on `result`, newest first, giving the result before the first.
 *
 * @since 0.1.0
 */
export const undo = (
  jobId: string,
  result: Correction.Slot,
  events: ReadonlyArray<CorrectionEvent>
): Either.Either<Correction.Slot, ReplayError> => fold(jobId, result, events, true)

/**
 * Applies `events` (chronological order) to `result`, oldest first. `redo(undo(r, es), es)` is `r`.
 *
 * @since 0.1.0
 */
export const redo = (
  jobId: string,
  result: Correction.Slot,
  events: ReadonlyArray<CorrectionEvent>
): Either.Either<Correction.Slot, ReplayError> => fold(jobId, result, events, false)

/**
 * A job's sample: the job with `initialResult` rebuilt from its current result and its events.
 *
 * @since 0.1.0
 */
export const sample = (job: Job): Either.Either<Sample, ReplayError> =>
  Either.map(undo(job.id, job.result, job.events), (initialResult) => ({ ...job, initialResult }))
