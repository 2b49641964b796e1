/**
 * A job's events as the export query aggregates them (`sampleColumns`: PostgreSQL's `json` text of
 * `[[id, field_path, [old] | null, [new] | null, corrected_by, reason, corrected_at], …]`), read straight
 * into events: only the values are parsed, never the arrays around them, a tenth of everything an export
 * allocated. Text of any other shape, or with anything wrong in it, is left to the general reading
 * (`undefined`), which parses it whole and says what is wrong.
 */
import type { Slot } from "../Correction.js"
import type { CorrectionEvent } from "../Sample.js"
import { Failure, isSpace, scanString } from "./lexer.js"
import { valueAt, valueEnd } from "./parser.js"
import { parseUtc } from "./utc.js"

/** The text being read, and where the reading is in it (one reading at a time: it never re-enters). */
let at = 0
let text = ""

const space = (): void => {
  while (isSpace(text.charCodeAt(at))) at++
}

/** The character `c` (after spaces), and the spaces after it. */
const expect = (c: number): boolean => {
  space()
  if (text.charCodeAt(at) !== c) return false
  at++
  space()
  return true
}

/** A JSON string, or `undefined`. */
const string = (): string | undefined => {
  if (text.charCodeAt(at) !== 0x22) return undefined
  const s = scanString(text, at)
  if ("reason" in s) return undefined
  at = s.end
  return s.value
}

const NULL = "null"

/** Is a `null` where the reading is? It is then read. */
const readNull = (): boolean => {
  if (!text.startsWith(NULL, at)) return false
  at += NULL.length
  return true
}

const failed: unique symbol = Symbol("failed")

/** `null` (absent) or `[value]` (present); `failed` for anything else. */
const slot = (): Slot | typeof failed => {
  if (readNull()) return undefined
  if (text.charCodeAt(at) !== 0x5b) return failed
  const v = valueAt(text, at + 1)
  if (v instanceof Failure) return failed
  at = valueEnd()
  return expect(0x5d) ? v : failed
}

/** One `[id, field_path, …]`, the reading just inside its `[`. */
const event = (): CorrectionEvent | undefined => {
  const id = string()
  if (id === undefined || !expect(0x2c)) return undefined
  const fieldPath = string()
  if (fieldPath === undefined || !expect(0x2c)) return undefined
  const oldValue = slot()
  if (oldValue === failed || !expect(0x2c)) return undefined
  const newValue = slot()
  if (newValue === failed || !expect(0x2c)) return undefined
  const correctedBy = string()
  if (correctedBy === undefined || !expect(0x2c)) return undefined
  const reason = readNull() ? null : string()
  if (reason === undefined || !expect(0x2c)) return undefined
  const time = string()
  // Another shape of time (or none RFC 3339 can write) is for the general reading to name.
  const correctedAt = time === undefined ? undefined : parseUtc(time)
  if (correctedAt === undefined || !expect(0x5d)) return undefined
  return { id, fieldPath, oldValue, newValue, correctedBy, reason, correctedAt }
}

/** The events of `source`, or `undefined` for the general reading. */
export const read = (source: string): Array<CorrectionEvent> | undefined => {
  text = source
  at = 0
  const out: Array<CorrectionEvent> = []
  let ok = expect(0x5b)
  while (ok) {
    const e = expect(0x5b) ? event() : undefined
    if (e === undefined) {
      ok = false
      break
    }
    out.push(e)
    space()
    const c = text.charCodeAt(at++)
    if (c === 0x5d) {
      space()
      ok = at === text.length
      break
    }
    ok = c === 0x2c
  }
  text = ""
  return ok ? out : undefined
}
