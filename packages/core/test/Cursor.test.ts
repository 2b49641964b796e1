import { describe, expect, it } from "@effect/vitest"
import { Either, Option } from "effect"
import * as Cursor from "../src/Cursor.js"
import * as Filter from "../src/Filter.js"

const at = (xmin: bigint, xmax: bigint, database = "0123456789ab", history = "0a1b2c3d"): Cursor.Cursor => ({
  xmin,
  xmax,
  database,
  history
})

describe("Cursor", () => {
  it("reads back what it writes, up to 64-bit transaction ids", () => {
    for (const c of [
      at(0n, 0n),
      at(752n, 760n),
      at(2n ** 40n + 3n, 2n ** 40n + 9n),
      at(2n ** 63n - 2n, 2n ** 63n - 1n)
    ]) {
      const text = Cursor.encode(c)
      expect(text).toMatch(/^[A-Za-z0-9._~-]+$/)
      expect(Cursor.decode(text)).toEqual(Option.some(c))
    }
  })

  it("refuses text that is not one of ours: another shape, an edited number, a wrong check", () => {
    const good = Cursor.encode(at(752n, 760n))
    const [prefix, xmin, xmax, db, history, check] = good.split(".")
    const bad = [
      "",
      "gt1",
      "gt1.1.2.abc",
      good.toUpperCase(),
      `${good} `,
      `${good}.`,
      [prefix, "751", xmax, db, history, check].join("."),
      [prefix, xmin, "761", db, history, check].join("."),
      [prefix, xmin, xmax, "0123456789ac", history, check].join("."),
      [prefix, xmin, xmax, db, "0a1b2c3e", check].join("."),
      [prefix, xmin, xmax, db, history, "00000000"].join("."),
      [prefix, `0${xmin}`, xmax, db, history, check].join("."),
      [prefix, "-1", xmax, db, history, check].join("."),
      [prefix, xmin, xmax, db, check].join("."),
      "gt2.752.760.0123456789ab.0a1b2c3d.00000000"
    ]
    for (const text of bad) expect(Cursor.decode(text), text).toEqual(Option.none())
    // A well-formed text whose xmin is above its xmax, or beyond 64 bits, is no snapshot.
    expect(Cursor.decode(Cursor.encode(at(761n, 760n)))).toEqual(Option.none())
    expect(Cursor.decode(Cursor.encode(at(1n, 2n ** 63n)))).toEqual(Option.none())
  })

  it("answers only for its own database, not from the future, and within 2^31 transactions", () => {
    const now = at(1000n, 1010n)
    expect(Cursor.staleness(at(990n, 1000n), now)).toEqual(Option.none())
    expect(Cursor.staleness(at(1000n, 1010n), now)).toEqual(Option.none())
    expect(Cursor.staleness(at(990n, 1000n, "ba9876543210"), now)).toEqual(Option.some("other_database"))
    expect(Cursor.staleness(at(1000n, 1011n), now)).toEqual(Option.some("other_database"))
    const later = at(2n ** 31n + 500n, 2n ** 31n + 500n)
    expect(Cursor.staleness(at(500n, 500n), later)).toEqual(Option.some("horizon"))
    expect(Cursor.staleness(at(501n, 501n), later)).toEqual(Option.none())
    // Rows deleted (or a table truncated) since: the history differs.
    expect(Cursor.staleness(at(990n, 1000n, "0123456789ab", "ffffffff"), now)).toEqual(Option.some("deleted"))
  })

  it("tells the user to take a full export", () => {
    const e = new Cursor.StaleCursor({ cursor: "gt1.x", reason: "horizon" })
    expect(e.message).toContain("take a full export")
    expect(e.message).toContain("gt1.x")
  })

  it("is the changed_since filter, refused as invalid_cursor otherwise", () => {
    const c = at(5n, 9n)
    const parsed = Filter.parse([["changed_since", Cursor.encode(c)]])
    expect(Either.map(parsed, (f) => f.changedSince)).toEqual(Either.right(Option.some(c)))
    const bad = Filter.parse([["changed_since", "2025-06-01"]], {
      label: (n) => `--${n.replaceAll("_", "-")}`
    })
    expect(Either.isLeft(bad) && bad.left.code).toBe("invalid_cursor")
    expect(Either.isLeft(bad) && bad.left.message).toBe(
      '--changed-since must be the cursor of an earlier export\'s manifest (or its Ground-Truth-Cursor header), not "2025-06-01"'
    )
    // Stats take a window only.
    const stats = Filter.parse([["changed_since", Cursor.encode(c)]], { accept: Filter.statsParameters })
    expect(Either.isLeft(stats) && stats.left.code).toBe("unknown_parameter")
  })
})
