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
import { carry, daysFromCivil, daysInMonth, microsOf, parseUtc, writeUtc } from "./internal/utc.js"

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
