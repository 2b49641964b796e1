/**
 * Calendar arithmetic on integers (proleptic Gregorian, H. Hinnant's algorithms) and the canonical text
 * of an instant (contract §6) written straight into bytes: every exported row carries two or three
 * times, so they are written without building a string.
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
