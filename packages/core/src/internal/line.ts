/**
 * The canonical line of one sample, written straight into bytes (contract §5–§6). `Jsonl` writes
 * samples with it, and the export writes rows with it, their final results still as text.
 */
import type { Slot } from "../Correction.js"
import type { Job } from "../Sample.js"
import type * as Timestamp from "../Timestamp.js"
import { ByteWriter } from "./byteWriter.js"
import { canonicalize, writeValue } from "./canonical.js"
import type { ScanFailure } from "./lexer.js"
import { writeUtc } from "./utc.js"

/**
 * A result still in its JSON text, as the database hands it over: written canonical without ever
 * being parsed into a value.
 */
export class ResultText {
  constructor(readonly text: string) {}
}

const time = (w: ByteWriter, t: Timestamp.Timestamp): void => {
  w.byte(0x22)
  writeUtc(w, t)
  w.byte(0x22)
}

const nullable = <A>(w: ByteWriter, value: A | null, write: (w: ByteWriter, value: A) => void): void =>
  value === null ? w.text("null") : write(w, value)

const string = (w: ByteWriter, s: string): void => w.string(s)

const result = (w: ByteWriter, value: Slot | ResultText): ScanFailure | undefined => {
  if (value instanceof ResultText) return canonicalize(w, value.text)
  if (value === undefined) w.text("null")
  else writeValue(w, value)
  return undefined
}

const scratch = new ByteWriter()

/** A result's canonical JSON text (`null` for none), or why its text does not parse. */
export const canonicalText = (value: Slot | ResultText): string | ScanFailure => {
  scratch.pos = 0
  return result(scratch, value) ?? scratch.toString()
}

/** A result as a JSON string of its canonical text; none (absent or JSON `null`) stays `null`. */
const encodedResult = (w: ByteWriter, value: Slot | ResultText): ScanFailure | undefined => {
  const text = canonicalText(value)
  if (typeof text !== "string") return text
  if (text === "null") w.text("null")
  else w.string(text)
  return undefined
}

/**
 * One sample's canonical line, `\n` included, appended to `w`. A result given as text can fail to
 * parse: then nothing is appended and the failure is returned. When `initial` and `final` are the same
 * (a job without events) it is written once and its bytes copied.
 *
 * `encoded` writes the `hf` form instead: results and event values as JSON strings of their canonical
 * text, and `confidence` always with a fraction or exponent, so that each column has one Arrow type.
 * `text`, when given, is the letter's OCR text (`null`: none kept), written last as `ocr_text`.
 */
export const write = (
  w: ByteWriter,
  job: Omit<Job, "result">,
  initial: Slot | ResultText,
  final: Slot | ResultText,
  encoded = false,
  text?: string | null
): ScanFailure | undefined => {
  const value = encoded ? encodedResult : result
  const start = w.pos
  w.text('{"job_id":')
  w.string(job.id.toLowerCase())
  w.text(',"filename":')
  w.string(job.filename)
  w.text(',"source_kind":')
  w.string(job.sourceKind)
  w.text(job.approved ? ',"approved":true,"reviewed_by":' : ',"approved":false,"reviewed_by":')
  nullable(w, job.reviewedBy, string)
  w.text(',"reviewed_at":')
  nullable(w, job.reviewedAt, time)
  w.text(',"created_at":')
  time(w, job.createdAt)
  w.text(',"initial_result":')
  const initialStart = w.pos
  let failure = value(w, initial)
  const initialEnd = w.pos
  if (failure === undefined) {
    w.text(',"final_result":')
    if (final === initial) w.repeat(initialStart, initialEnd)
    else failure = value(w, final)
  }
  if (failure !== undefined) {
    w.pos = start
    return failure
  }
  w.text(',"corrections":[')
  for (let i = 0; i < job.events.length; i++) {
    const e = job.events[i]
    w.text(i === 0 ? '{"field_path":' : ',{"field_path":')
    w.string(e.fieldPath)
    w.text(',"old_value":')
    value(w, e.oldValue)
    w.text(',"new_value":')
    value(w, e.newValue)
    w.text(',"corrected_by":')
    w.string(e.correctedBy)
    w.text(',"reason":')
    nullable(w, e.reason, string)
    w.text(',"corrected_at":')
    time(w, e.correctedAt)
    w.byte(0x7d)
  }
  w.text('],"review_flags":[')
  for (let i = 0; i < job.reviewFlags.length; i++) {
    if (i > 0) w.byte(0x2c)
    nullable(w, job.reviewFlags[i], string)
  }
  w.text('],"confidence":')
  // The shortest round-trip decimal of a finite double (`Number#toString`). JSON has no NaN or
  // infinity: such a stored confidence is written as `null`.
  const c = job.confidence
  if (c === null || !Number.isFinite(c)) w.text("null")
  else {
    const decimal = String(c)
    // `1` would make Arrow guess an integer column where `0.78` makes it a float one.
    w.text(encoded && /^-?\d+$/.test(decimal) ? `${decimal}.0` : decimal)
  }
  if (text !== undefined) {
    w.text(',"ocr_text":')
    nullable(w, text, string)
  }
  w.text("}\n")
  return undefined
}
