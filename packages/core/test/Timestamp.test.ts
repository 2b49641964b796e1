import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { Timestamp } from "../src/index.js"
import * as Arb from "./arbitraries.js"

const canonical = (text: string) => Timestamp.format(Either.getOrThrow(Timestamp.parse(text)))

describe("parse and format", () => {
  it.each([
    ["2025-06-01T10:15:00Z", "2025-06-01T10:15:00Z"],
    ["2025-06-01T10:15:00.500000Z", "2025-06-01T10:15:00.5Z"],
    ["2025-06-01T10:15:00.5Z", "2025-06-01T10:15:00.5Z"],
    ["2025-06-01T10:15:00.000123Z", "2025-06-01T10:15:00.000123Z"],
    ["2025-06-01T10:15:00.000000Z", "2025-06-01T10:15:00Z"],
    ["2025-06-01t10:15:00z", "2025-06-01T10:15:00Z"],
    ["2025-06-01 10:15:00Z", "2025-06-01T10:15:00Z"],
    ["2025-06-01T17:15:00+07:00", "2025-06-01T10:15:00Z"],
    ["2025-06-01T02:00:00-09:30", "2025-06-01T11:30:00Z"],
    ["2025-01-01T03:00:00.25+05:00", "2024-12-31T22:00:00.25Z"],
    ["2025-06-01", "2025-06-01T00:00:00Z"],
    ["2024-02-29", "2024-02-29T00:00:00Z"],
    ["2000-02-29T23:59:59.999999Z", "2000-02-29T23:59:59.999999Z"],
    ["1969-12-31T23:59:59.9Z", "1969-12-31T23:59:59.9Z"],
    ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"],
    // finer than a microsecond rounds up, so [since, until) keeps its meaning at PostgreSQL's resolution
    ["2025-06-01T10:15:00.0000001Z", "2025-06-01T10:15:00.000001Z"],
    ["2025-06-01T10:15:00.1234560000Z", "2025-06-01T10:15:00.123456Z"],
    ["2025-12-31T23:59:59.9999991Z", "2026-01-01T00:00:00Z"]
  ])("%s is %s", (input, expected) => {
    expect(canonical(input)).toBe(expected)
  })

  it.each([
    ["2025-06-01T10:15:00", "expected an RFC 3339"],
    ["2025-13-01", "the month must be 01–12"],
    ["2023-02-29", "the day must be 01–28"],
    ["1900-02-29", "the day must be 01–28"],
    ["2025-04-31T00:00:00Z", "the day must be 01–30"],
    ["2025-06-01T24:00:00Z", "the hour must be 00–23"],
    ["2025-06-01T10:60:00Z", "the minute must be 00–59"],
    ["2016-12-31T23:59:60Z", "the second must be 00–59"],
    ["2025-06-01T10:15:00+24:00", "the offset must be within ±23:59"],
    ["2025-06-01T10:15:00.Z", "expected an RFC 3339"],
    ["2025-6-1", "expected an RFC 3339"],
    ["yesterday", "expected an RFC 3339"],
    ["1748772900", "expected an RFC 3339"],
    ["2025-06-01T10:15:00+0700", "expected an RFC 3339"],
    [" 2025-06-01", "expected an RFC 3339"],
    ["２０２５-06-01", "expected an RFC 3339"]
  ])("rejects %j", (input, reason) => {
    const r = Timestamp.parse(input)
    expect(Either.isLeft(r) && r.left.reason).toContain(reason)
  })

  it.prop(
    "format then parse is the identity",
    [Arb.timestamp],
    ([t]) => {
      expect(Timestamp.parse(Timestamp.format(t))).toEqual(Either.right(t))
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.prop(
    "agrees with Date on the calendar (years 1–9999)",
    [Arb.timestamp],
    ([t]) => {
      const iso = new Date(t.seconds * 1000).toISOString()
      expect(Timestamp.format(t).slice(0, 19)).toBe(iso.slice(0, 19))
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.prop(
    "writes the fraction as its six digits without trailing zeros, none for zero",
    [Arb.timestamp],
    ([t]) => {
      const fraction = t.micros === 0 ? "" : `.${String(t.micros).padStart(6, "0").replace(/0+$/, "")}`
      expect(Timestamp.format(t).slice(19)).toBe(`${fraction}Z`)
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.prop(
    "orders like the microsecond count",
    [Arb.timestamp, Arb.timestamp],
    ([a, b]) => {
      const micros = (t: Timestamp.Timestamp) => BigInt(t.seconds) * 1_000_000n + BigInt(t.micros)
      const expected = micros(a) < micros(b) ? -1 : micros(a) > micros(b) ? 1 : 0
      expect(Timestamp.Order(a, b)).toBe(expected)
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it("parses offsets to the same instant as Date does", () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date("1900-01-01T00:00:00Z"),
          max: new Date("2100-01-01T00:00:00Z"),
          noInvalidDate: true
        }),
        fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
        (d, offsetMinutes) => {
          const local = new Date(d.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 23)
          const sign = offsetMinutes < 0 ? "-" : "+"
          const abs = Math.abs(offsetMinutes)
          const text = `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`
          const t = Either.getOrThrow(Timestamp.parse(text))
          expect(t.seconds * 1000 + t.micros / 1000).toBe(d.getTime())
        }
      ),
      { numRuns: 1000 }
    )
  })
})
