import { createHash } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { Either, Option } from "effect"
import * as Cursor from "../src/Cursor.js"
import * as Filter from "../src/Filter.js"

const at = (xmin: bigint, xmax: bigint, more: Partial<Cursor.Cursor> = {}): Cursor.Cursor => ({
  version: 2,
  xmin,
  xmax,
  lsn: 5000n,
  timeline: 1,
  database: "0123456789ab",
  files: "0a1b2c3d",
  jobs: 100n,
  events: 150n,
  old: 120n,
  ...more
})

/** A database at `cursor`, primary unless said, that counts `oldSince` events before the earlier xmin. */
const nowAt = (cursor: Cursor.Cursor, more: Partial<Cursor.Now> = {}): Cursor.Now => ({
  cursor,
  standby: false,
  replayedBefore: 0n,
  oldSince: 120n,
  ...more
})

const refused = (since: Cursor.Cursor, now: Cursor.Now) =>
  Option.map(Cursor.refusal(since, now), (e) => `${e._tag}:${e.reason}`)

describe("Cursor", () => {
  it("reads back what it writes, up to 64-bit transaction ids and WAL positions", () => {
    for (const c of [
      at(0n, 0n, { lsn: 0n, timeline: 0, jobs: 0n, events: 0n, old: 0n }),
      at(752n, 760n),
      at(2n ** 40n + 3n, 2n ** 40n + 9n, { lsn: 2n ** 40n, timeline: 7 }),
      at(2n ** 63n - 2n, 2n ** 63n - 1n, { lsn: 2n ** 64n - 1n, timeline: 2 ** 32 - 1, events: 2n ** 62n })
    ]) {
      const text = Cursor.encode(c)
      expect(text).toMatch(/^gt2\.[A-Za-z0-9._~-]+$/)
      expect(Cursor.decode(text)).toEqual(Option.some(c))
    }
  })

  it("refuses text that is not one of ours: another shape, an edited number, a wrong check", () => {
    const good = Cursor.encode(at(752n, 760n))
    const parts = good.split(".")
    const edit = (i: number, value: string) => parts.map((p, j) => (j === i ? value : p)).join(".")
    const bad = [
      "",
      "gt2",
      "gt2.1.2.abc",
      good.toUpperCase(),
      `${good} `,
      `${good}.`,
      edit(1, "751"),
      edit(2, "761"),
      edit(3, "4999"),
      edit(4, "2"),
      edit(5, "0123456789ac"),
      edit(6, "0a1b2c3e"),
      edit(7, "99"),
      edit(8, "151"),
      edit(9, "121"),
      edit(10, "00000000"),
      edit(1, `0${parts[1]}`),
      edit(1, "-1"),
      parts.slice(0, 10).join("."),
      `gt3${good.slice(3)}`
    ]
    for (const text of bad) expect(Cursor.decode(text), text).toEqual(Option.none())
    // A well-formed text whose xmin is above its xmax, an id beyond 64 bits, or more old events than
    // events, is no snapshot.
    expect(Cursor.decode(Cursor.encode(at(761n, 760n)))).toEqual(Option.none())
    expect(Cursor.decode(Cursor.encode(at(1n, 2n ** 63n)))).toEqual(Option.none())
    expect(Cursor.decode(Cursor.encode(at(1n, 2n, { old: 151n })))).toEqual(Option.none())
  })

  it("reads a cursor of the earlier version, which is stale everywhere", () => {
    // gt1.<xmin>.<xmax>.<database>.<history>.<check>, as 0.1.0 wrote them.
    const body = "gt1.752.760.0123456789ab.0a1b2c3d"
    const text = `${body}.${createHash("sha256").update(body).digest("hex").slice(0, 8)}`
    const old = Option.getOrThrow(Cursor.decode(text))
    expect(old.version).toBe(1)
    expect(Cursor.encode(old)).toBe(text)
    expect(refused(old, nowAt(at(800n, 810n)))).toEqual(Option.some("StaleCursor:version"))
    expect(Cursor.decode(`${body}.00000000`)).toEqual(Option.none())
  })

  it("answers only on its own history: database, timeline, WAL position, horizon, files", () => {
    const since = at(990n, 1000n)
    const now = at(1000n, 1010n, { lsn: 6000n })
    expect(refused(since, nowAt(now))).toEqual(Option.none())
    expect(refused(at(1000n, 1010n, { lsn: 6000n }), nowAt(now))).toEqual(Option.none())
    expect(refused(at(990n, 1000n, { database: "ba9876543210" }), nowAt(now))).toEqual(
      Option.some("StaleCursor:other_database")
    )
    // A failover or a point-in-time restore: another timeline, whichever way.
    expect(refused(since, nowAt({ ...now, timeline: 2 }))).toEqual(Option.some("StaleCursor:timeline"))
    expect(refused(at(990n, 1000n, { timeline: 3 }), nowAt({ ...now, timeline: 2 }))).toEqual(
      Option.some("StaleCursor:timeline")
    )
    // Taken on a standby that could not tell its timeline: never answered.
    expect(refused(at(990n, 1000n, { timeline: 0 }), nowAt(now))).toEqual(
      Option.some("StaleCursor:unknown_timeline")
    )
    // A primary behind the cursor (a restored backup, transactions lost in a crash): by WAL or by ids.
    expect(refused(at(990n, 1000n, { lsn: 6001n }), nowAt(now))).toEqual(Option.some("StaleCursor:behind"))
    expect(refused(at(1000n, 1011n), nowAt(now))).toEqual(Option.some("StaleCursor:behind"))
    const later = at(2n ** 31n + 500n, 2n ** 31n + 500n)
    expect(refused(at(500n, 500n), nowAt(later))).toEqual(Option.some("StaleCursor:horizon"))
    expect(refused(at(501n, 501n), nowAt(later))).toEqual(Option.none())
    expect(refused(at(990n, 1000n, { files: "ffffffff" }), nowAt(now))).toEqual(
      Option.some("StaleCursor:rewritten")
    )
  })

  it("a standby behind the cursor, or blind to its timeline, is not ready: the cursor stays good", () => {
    const since = at(990n, 1000n, { lsn: 6000n })
    const standby = (replayedBefore: bigint, more: Partial<Cursor.Cursor> = {}) =>
      nowAt(at(1000n, 1010n, { lsn: 7000n, ...more }), { standby: true, replayedBefore })
    expect(refused(since, standby(6000n))).toEqual(Option.none())
    // What it replayed after the snapshot began does not count: only what it had before.
    expect(refused(since, standby(5999n))).toEqual(Option.some("StandbyNotReady:behind"))
    expect(refused(since, standby(6000n, { xmax: 999n, xmin: 999n }))).toEqual(
      Option.some("StandbyNotReady:behind")
    )
    expect(refused(since, standby(6000n, { timeline: 0 }))).toEqual(
      Option.some("StandbyNotReady:unknown_timeline")
    )
    expect(refused(since, standby(6000n, { timeline: 2 }))).toEqual(Option.some("StaleCursor:timeline"))
  })

  it("counts deletions exactly: fewer jobs, fewer events, or fewer events from before its xmin", () => {
    const since = at(990n, 1000n)
    const now = (more: Partial<Cursor.Cursor>, oldSince = 120n) => nowAt(at(1000n, 1010n, more), { oldSince })
    // More rows since, old events intact: answered.
    expect(refused(since, now({ jobs: 130n, events: 200n, old: 190n }))).toEqual(Option.none())
    expect(refused(since, now({ jobs: 99n }))).toEqual(Option.some("StaleCursor:deleted"))
    expect(refused(since, now({ events: 149n }))).toEqual(Option.some("StaleCursor:deleted"))
    // An old event deleted (or rewritten), however many were written since.
    expect(refused(since, now({ events: 500n, old: 400n }, 119n))).toEqual(Option.some("StaleCursor:deleted"))
  })

  it("tells the user to take a full export", () => {
    const e = new Cursor.StaleCursor({ cursor: "gt2.x", reason: "horizon" })
    expect(e.message).toContain("take a full export")
    expect(e.message).toContain("gt2.x")
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
