/**
 * The canonical bytes of the corpus (contract §5–§6): one compact JSON object per sample, keys in the
 * contract's fixed order, nested result keys sorted by UTF-16 code units, numbers as stored, timestamps
 * in UTC with their microseconds, each line ending in `\n`.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Slot } from "./Correction.js"
import * as Json from "./Json.js"
import type { CorrectionEvent, Sample } from "./Sample.js"
import * as Timestamp from "./Timestamp.js"

const str = Json.stringifyString

const slot = (value: Slot): string => (value === undefined ? "null" : Json.stringify(value))

const nullableString = (value: string | null): string => (value === null ? "null" : str(value))

const nullableTime = (value: Timestamp.Timestamp | null): string =>
  value === null ? "null" : `"${Timestamp.format(value)}"`

const correction = (e: CorrectionEvent): string =>
  `{"field_path":${str(e.fieldPath)},"old_value":${slot(e.oldValue)},"new_value":${slot(e.newValue)},` +
  `"corrected_by":${str(e.correctedBy)},"reason":${nullableString(e.reason)},` +
  `"corrected_at":"${Timestamp.format(e.correctedAt)}"}`

/**
 * The shortest round-trip decimal of a finite double (`Number#toString`). JSON has no NaN or
 * infinity: such a stored confidence is written as `null`.
 */
const confidence = (value: number | null): string =>
  value === null || !Number.isFinite(value) ? "null" : String(value)

/**
 * One sample as its canonical line, `\n` included.
 *
 * @since 0.1.0
 */
export const line = (s: Sample): string => {
  let corrections = ""
  for (let i = 0; i < s.events.length; i++) {
    if (i > 0) corrections += ","
    corrections += correction(s.events[i])
  }
  // A job without events replays to its own result: the same object, serialized once.
  const final = slot(s.result)
  const initial = s.initialResult === s.result ? final : slot(s.initialResult)
  let flags = ""
  for (let i = 0; i < s.reviewFlags.length; i++) {
    if (i > 0) flags += ","
    flags += str(s.reviewFlags[i])
  }
  return (
    `{"job_id":"${s.id.toLowerCase()}","filename":${str(s.filename)},"source_kind":${str(s.sourceKind)},` +
    `"approved":${s.approved ? "true" : "false"},"reviewed_by":${nullableString(s.reviewedBy)},` +
    `"reviewed_at":${nullableTime(s.reviewedAt)},"created_at":"${Timestamp.format(s.createdAt)}",` +
    `"initial_result":${initial},"final_result":${final},` +
    `"corrections":[${corrections}],"review_flags":[${flags}],"confidence":${confidence(s.confidence)}}\n`
  )
}

const encoder = new TextEncoder()

/**
 * One sample as UTF-8 bytes (no BOM).
 *
 * @since 0.1.0
 */
export const encode = (s: Sample): Uint8Array => encoder.encode(line(s))

/**
 * Serialization as a service, for programs that compose it with other services.
 *
 * @since 0.1.0
 * @category services
 */
export class Jsonl extends Effect.Service<Jsonl>()("@ground-truth/core/Jsonl", {
  succeed: { line, encode }
}) {}
