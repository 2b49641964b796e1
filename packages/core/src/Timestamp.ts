/**
 * Instants with PostgreSQL's microsecond resolution, read from and written as RFC 3339 text.
 *
 * A JavaScript `Date` keeps milliseconds only, so `2025-06-01T10:15:00.000123Z` would print as
 * `…00.000Z` and keyset paging through it would lose or repeat rows. Here an instant is whole UTC epoch
 * seconds plus microseconds, and the calendar arithmetic is done on integers.
 *
 * @since 0.1.0
 */
import { Data, Either, Order as O } from "effect"
import { ByteWriter } from "./internal/byteWriter.js"
import { daysFromCivil, daysInMonth, writeUtc } from "./internal/utc.js"

/**
 * An instant: `seconds` since 1970-01-01T00:00:00Z (UTC, no leap seconds) plus `micros` (0–999,999).
 *
 * @since 0.1.0
 */
export interface Timestamp {
  readonly seconds: number
  readonly micros: number
}

/**
 * Text that is not an RFC 3339 timestamp or `YYYY-MM-DD` date.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidTimestamp extends Data.TaggedError("InvalidTimestamp")<{
  readonly text: string
  readonly reason: string
}> {
  override get message(): string {
    return `${JSON.stringify(this.text)} is not a valid timestamp: ${this.reason}`
  }
}

/** @since 0.1.0 */
export const make = (seconds: number, micros = 0): Timestamp => ({ seconds, micros })

/** Chronological order. @since 0.1.0 */
export const Order: O.Order<Timestamp> = O.combine(
  O.mapInput(O.number, (t: Timestamp) => t.seconds),
  O.mapInput(O.number, (t: Timestamp) => t.micros)
)

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/

/**
 * Parses an RFC 3339 timestamp with an offset or `Z` (`2025-06-01T10:15:00.5+07:00`), or a date
 * `YYYY-MM-DD` meaning its midnight UTC. A fraction finer than a microsecond rounds up to the next
 * microsecond: for PostgreSQL's microsecond times, `t >= x` and `t < x` then mean exactly what they did.
 * Leap seconds (`:60`) are rejected, as PostgreSQL cannot store them either.
 *
 * @since 0.1.0
 */
export const parse = (text: string): Either.Either<Timestamp, InvalidTimestamp> => {
  const utc = parseUtc(text)
  if (utc !== undefined) return Either.right(utc)
  const fail = (reason: string) => Either.left(new InvalidTimestamp({ text, reason }))
  const date = DATE.exec(text)
  const m = date ?? DATE_TIME.exec(text)
  if (m === null) {
    return fail(
      "expected an RFC 3339 timestamp with an offset or Z (2025-06-01T10:15:00Z) or a date (2025-06-01)"
    )
  }
  const year = Number(m[1])
  const month = Number(m[2])
  const day = Number(m[3])
  if (month < 1 || month > 12) return fail("the month must be 01–12")
  if (day < 1 || day > daysInMonth(year, month)) return fail(`the day must be 01–${daysInMonth(year, month)}`)
  let seconds = daysFromCivil(year, month, day) * 86400
  if (date !== null) return Either.right({ seconds, micros: 0 })
  const hour = Number(m[4])
  const minute = Number(m[5])
  const second = Number(m[6])
  if (hour > 23) return fail("the hour must be 00–23")
  if (minute > 59) return fail("the minute must be 00–59")
  if (second > 59) return fail("the second must be 00–59")
  seconds += hour * 3600 + minute * 60 + second
  if (m[9] !== undefined) {
    const offsetHours = Number(m[10])
    const offsetMinutes = Number(m[11])
    if (offsetHours > 23 || offsetMinutes > 59) return fail("the offset must be within ±23:59")
    const offset = (offsetHours * 60 + offsetMinutes) * 60
    seconds += m[9] === "+" ? -offset : offset
  }
  const fraction = m[7] ?? ""
  return Either.right(carry(seconds, microsOf(fraction, 0, fraction.length)))
}

/** The microseconds of the fraction digits `text[start, end)`; a finer remainder rounds up. */
const microsOf = (text: string, start: number, end: number): number => {
  let micros = 0
  for (let i = start; i < start + 6; i++) micros = micros * 10 + (i < end ? text.charCodeAt(i) - 0x30 : 0)
  for (let i = start + 6; i < end; i++) if (text.charCodeAt(i) !== 0x30) return micros + 1
  return micros
}

/** Rounding up may reach the next second. */
const carry = (seconds: number, micros: number): Timestamp =>
  micros === 1_000_000 ? { seconds: seconds + 1, micros: 0 } : { seconds, micros }

/** The number written by the `n` digits at `text[start]`, or -1 if they are not all digits. */
const digits = (text: string, start: number, n: number): number => {
  let v = 0
  for (let i = start; i < start + n; i++) {
    const d = text.charCodeAt(i) - 0x30
    if (d < 0 || d > 9) return -1
    v = v * 10 + d
  }
  return v
}

/**
 * The common shape `YYYY-MM-DDTHH:MM:SS[.f…]Z` (PostgreSQL's UTC text, two or three per exported row)
 * read without a regular expression. `undefined` for anything else, out-of-range fields included:
 * `parse` then takes the general path, which says what is wrong.
 */
const parseUtc = (text: string): Timestamp | undefined => {
  const n = text.length
  if (n < 20 || (text.charCodeAt(n - 1) | 0x20) !== 0x7a) return undefined
  const sep = text.charCodeAt(10)
  if (
    text.charCodeAt(4) !== 0x2d ||
    text.charCodeAt(7) !== 0x2d ||
    (sep !== 0x54 && sep !== 0x74 && sep !== 0x20) ||
    text.charCodeAt(13) !== 0x3a ||
    text.charCodeAt(16) !== 0x3a
  ) {
    return undefined
  }
  const year = digits(text, 0, 4)
  const month = digits(text, 5, 2)
  const day = digits(text, 8, 2)
  const hour = digits(text, 11, 2)
  const minute = digits(text, 14, 2)
  const second = digits(text, 17, 2)
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined
  if (n > 20) {
    if (n === 21 || text.charCodeAt(19) !== 0x2e || digits(text, 20, n - 21) < 0) return undefined
  }
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
  return carry(seconds, n > 20 ? microsOf(text, 20, n - 1) : 0)
}

const scratch = new ByteWriter(64)

/**
 * The canonical text of contract §6: UTC, `Z`, and a fraction only when it is non-zero, with trailing
 * zeros removed (`2025-06-01T10:15:00Z`, `…00.5Z`, `…00.000123Z`).
 *
 * @since 0.1.0
 */
export const format = (t: Timestamp): string => {
  scratch.pos = 0
  writeUtc(scratch, t)
  return scratch.toString()
}
