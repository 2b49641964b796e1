/**
 * Calendar arithmetic on integers (proleptic Gregorian, H. Hinnant's algorithms), the canonical text
 * of an instant (contract §6) written straight into bytes, and PostgreSQL's UTC text read without a
 * regular expression or an `Either`: every exported row carries two or three times.
 */
import type { ByteWriter } from "./byteWriter.js"

/** An instant as `Timestamp` holds it (declared here too, so that this module imports none above it). */
interface Instant {
  readonly seconds: number
  readonly micros: number
}

/** Days since 1970-01-01 of a date (`days_from_civil`). */
export const daysFromCivil = (year: number, month: number, day: number): number => {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

export const daysInMonth = (year: number, month: number): number =>
  month === 2
    ? (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
      ? 29
      : 28
    : month === 4 || month === 6 || month === 9 || month === 11
      ? 30
      : 31

/** `n` (0–99) as two digits. */
const two = (b: Uint8Array, p: number, n: number): void => {
  b[p] = 0x30 + Math.floor(n / 10)
  b[p + 1] = 0x30 + (n % 10)
}

/**
 * `t` as `YYYY-MM-DDTHH:MM:SS[.f…]Z`, UTC, the fraction only when non-zero and without trailing zeros
 * (`2025-06-01T10:15:00Z`, `…00.5Z`, `…00.000123Z`); a year beyond 0–9999 (which no canonical line
 * holds) as its decimal digits.
 */
export const writeUtc = (w: ByteWriter, t: Instant): void => {
  const days = Math.floor(t.seconds / 86400)
  const secondOfDay = t.seconds - days * 86400
  // civil_from_days
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365
  )
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0)
  if (year < 0 || year > 9999) w.text(String(year).padStart(4, "0"))
  else {
    w.ensure(4)
    two(w.buf, w.pos, Math.floor(year / 100))
    two(w.buf, w.pos + 2, year % 100)
    w.pos += 4
  }
  w.ensure(23)
  const b = w.buf
  let p = w.pos
  b[p] = 0x2d
  two(b, p + 1, month)
  b[p + 3] = 0x2d
  two(b, p + 4, day)
  b[p + 6] = 0x54
  two(b, p + 7, Math.floor(secondOfDay / 3600))
  b[p + 9] = 0x3a
  two(b, p + 10, Math.floor((secondOfDay % 3600) / 60))
  b[p + 12] = 0x3a
  two(b, p + 13, secondOfDay % 60)
  p += 15
  let micros = t.micros
  if (micros !== 0) {
    b[p] = 0x2e
    let digits = 6
    while (micros % 10 === 0) {
      micros /= 10
      digits--
    }
    for (let i = digits; i > 0; i--) {
      b[p + i] = 0x30 + (micros % 10)
      micros = Math.floor(micros / 10)
    }
    p += digits + 1
  }
  b[p] = 0x5a
  w.pos = p + 1
}

/** The microseconds of the fraction digits `text[start, end)`; a finer remainder rounds up. */
export const microsOf = (text: string, start: number, end: number): number => {
  let micros = 0
  for (let i = start; i < start + 6; i++) micros = micros * 10 + (i < end ? text.charCodeAt(i) - 0x30 : 0)
  for (let i = start + 6; i < end; i++) if (text.charCodeAt(i) !== 0x30) return micros + 1
  return micros
}

/** Rounding up may reach the next second. */
export const carry = (seconds: number, micros: number): Instant =>
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
 * `Timestamp.parse` then takes the general path, which says what is wrong.
 */
export const parseUtc = (text: string): Instant | undefined => {
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
