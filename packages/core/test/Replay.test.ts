import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import type { Slot } from "../src/Correction.js"
import { Json, Replay } from "../src/index.js"
import type { CorrectionEvent } from "../src/Sample.js"
import * as Arb from "./arbitraries.js"

const RUNS = { fastCheck: { numRuns: 1000 } }

const j = (text: string): Json.Json => Either.getOrThrow(Json.parse(text))

const event = (
  id: number,
  fieldPath: string,
  oldValue: string | undefined,
  newValue: string | undefined
): CorrectionEvent => ({
  id: String(id),
  fieldPath,
  oldValue: oldValue === undefined ? undefined : j(oldValue),
  newValue: newValue === undefined ? undefined : j(newValue),
  correctedBy: "reviewer-a",
  reason: null,
  correctedAt: { seconds: 1_748_772_900 + id, micros: 0 }
})

const snapshot = (events: ReadonlyArray<CorrectionEvent>) =>
  events.map((e) => [
    e.oldValue === undefined ? undefined : Arb.deepCopy(e.oldValue),
    e.newValue === undefined ? undefined : Arb.deepCopy(e.newValue)
  ])

describe("replay properties", () => {
  it.prop(
    "replay(final, events) = initial",
    [Arb.result, fc.array(Arb.step, { maxLength: 8 })],
    ([initial, steps]) => {
      const { events, final } = Arb.buildTrail(initial, steps)
      const before = snapshot(events)
      const replayed = Replay.undo("job", final, events)
      expect(replayed).toEqual(Either.right(initial))
      // No event's values were touched by replaying the others.
      expect(snapshot(events)).toEqual(before)
    },
    RUNS
  )

  it.prop(
    "forward(initial, events) = final",
    [Arb.result, fc.array(Arb.step, { maxLength: 8 })],
    ([initial, steps]) => {
      const { events, final } = Arb.buildTrail(initial, steps)
      expect(Replay.redo("job", initial, events)).toEqual(Either.right(final))
    },
    RUNS
  )

  it.prop(
    "forward(replay(final)) = final",
    [Arb.result, fc.array(Arb.step, { maxLength: 8 })],
    ([initial, steps]) => {
      const { events, final } = Arb.buildTrail(initial, steps)
      const replayed = Either.getOrThrow(Replay.undo("job", final, events))
      expect(Replay.redo("job", replayed, events)).toEqual(Either.right(final))
    },
    RUNS
  )
})

describe("replay examples", () => {
  it("undoes the seed's example: a perihal the LLM missed", () => {
    const final = j('{"header":{"nomor_sprint":"Sprin/1/I/2025","perihal":"Penyelidikan kasus pencurian"}}')
    const events = [event(1, "header.perihal", "null", '"Penyelidikan kasus pencurian"')]
    expect(Replay.undo("job", final, events)).toEqual(
      Either.right(j('{"header":{"nomor_sprint":"Sprin/1/I/2025","perihal":null}}'))
    )
  })

  it("re-inserts removed array rows and removes inserted ones, shifting indices", () => {
    // Pipeline: [A, B, C]. Reviewer removed B (index 1), inserted X at 0, then fixed X's nrp.
    const final = j('{"personel":[{"nama":"X","nrp":"2"},{"nama":"A"},{"nama":"C"}]}')
    const events = [
      event(1, "personel[1]", '{"nama":"B"}', undefined),
      event(2, "personel[0]", undefined, '{"nama":"X","nrp":"1"}'),
      event(3, "personel[0].nrp", '"1"', '"2"')
    ]
    expect(Replay.undo("job", final, events)).toEqual(
      Either.right(j('{"personel":[{"nama":"A"},{"nama":"B"},{"nama":"C"}]}'))
    )
  })

  it("distinguishes an absent key (SQL NULL) from JSON null", () => {
    const final = j('{"a":null,"b":1}')
    // a was inserted with value null; b was changed from null.
    const events = [event(1, "a", undefined, "null"), event(2, "b", "null", "1")]
    expect(Replay.undo("job", final, events)).toEqual(Either.right(j('{"b":null}')))
  })

  it("replays root insert (a reviewer typing a whole result) and root removal", () => {
    expect(Replay.undo("job", j('{"header":{}}'), [event(1, "", undefined, '{"header":{}}')])).toEqual(
      Either.right(undefined)
    )
    expect(Replay.undo("job", undefined, [event(1, "", '{"x":1}', undefined)])).toEqual(
      Either.right(j('{"x":1}'))
    )
  })

  it("compares numbers by exact decimal value", () => {
    // 1.5 in the result satisfies an event whose new value was written 1.50
    expect(Replay.undo("job", j('{"n":1.5}'), [event(1, "n", "2", "1.50")])).toEqual(
      Either.right(j('{"n":2}'))
    )
    // but 12345678901234567000 is not 12345678901234567890
    const r = Replay.undo("job", j('{"n":12345678901234567000}'), [
      event(1, "n", "1", "12345678901234567890")
    ])
    expect(Either.isLeft(r) && r.left._tag === "AuditTrailMismatch" && r.left.reason).toBe("value_differs")
  })

  it("undoes an element appended at the end of an array", () => {
    expect(Replay.undo("job", j("[1,2,3]"), [event(1, "[2]", undefined, "3")])).toEqual(
      Either.right(j("[1,2]"))
    )
  })
})

describe("replay failures", () => {
  const failure = (result: Slot, events: ReadonlyArray<CorrectionEvent>) => {
    const r = Replay.undo("c5da6747-0000-4000-8000-000000000001", result, events)
    if (Either.isRight(r)) throw new Error("expected a failure")
    return r.left
  }

  it.each([
    ["value_differs", '{"a":2}', event(7, "a", "0", "1"), "1", "2"],
    ["path_absent", '{"b":1}', event(7, "a", "0", "1"), "1", null],
    ["path_absent (parent missing)", '{"b":1}', event(7, "a.x", "0", "1"), "1", null],
    ["path_absent (index on an object)", '{"a":{}}', event(7, "a[0]", "0", "1"), "1", null],
    ["path_absent (inserted value gone)", "[1]", event(7, "[1]", undefined, "5"), "5", null],
    ["path_present (removed value still there)", '{"a":1}', event(7, "a", "1", undefined), null, "1"],
    ["path_present (removed root still there)", "{}", event(7, "", "{}", undefined), null, "{}"],
    ["parent_absent", "{}", event(7, "a.b", "1", undefined), null, null],
    ["parent_mismatch (key under an array)", '{"a":[]}', event(7, "a.b", "1", undefined), null, null],
    ["parent_mismatch (index under a string)", '{"a":"s"}', event(7, "a[0]", "1", undefined), null, null],
    ["index_out_of_range", '{"a":[1]}', event(7, "a[3]", "1", undefined), null, null]
  ] as const)("%s is an AuditTrailMismatch naming job, event, path, expected and actual", (label, result, e, expected, actual) => {
    const error = failure(j(result), [e])
    expect(error._tag).toBe("AuditTrailMismatch")
    if (error._tag !== "AuditTrailMismatch") return
    expect(error.reason).toBe(label.split(" ")[0])
    expect(error.jobId).toBe("c5da6747-0000-4000-8000-000000000001")
    expect(error.eventId).toBe("7")
    expect(error.fieldPath).toBe(e.fieldPath)
    expect(error.expected).toBe(expected)
    expect(error.actual).toBe(actual)
    expect(error.message).toContain("c5da6747-0000-4000-8000-000000000001")
  })

  it("keeps the values whole in the error and names only their kind and size in its message", () => {
    const smile = String.fromCodePoint(0x1f600)
    const big = `"${"x".repeat(300)}${smile}${"y".repeat(10_000)}"`
    const other = `${big.slice(0, -1)}z"`
    const error = failure(j(`{"a":${big}}`), [event(7, "a", "1", other)])
    if (error._tag !== "AuditTrailMismatch") return expect.fail(error.message)
    expect(error.expected).toBe(other)
    expect(error.actual).toBe(big)
    // A character is a code point: the smile is one.
    expect(error.message).toBe(
      'audit trail of job c5da6747-0000-4000-8000-000000000001 does not explain its result at event 7 ("a"): ' +
        "the value at the path differs from the expected one; expected a string of 10302 characters, " +
        "found a string of 10301 characters"
    )
  })

  it.each([
    [
      '"Dewi Wijaya"',
      '"Siti Hartono"',
      "expected a string of 12 characters, found a string of 11 characters"
    ],
    ["77060001", "77060002", "expected a number of 8 characters, found a number of 8 characters"],
    [
      '{"nama":"Dewi Wijaya","nrp":"77060001"}',
      '["Siti Hartono"]',
      "expected an array of 1 element, found an object of 2 members"
    ],
    ["true", "null", "expected null, found a boolean"]
  ])("a message holds no value: the result holds %s, the event expected %s", (found, expected, shapes) => {
    const error = failure(j(`{"p":${found}}`), [event(7, "p", "0", expected)])
    expect(error._tag).toBe("AuditTrailMismatch")
    expect(error.message).toBe(
      'audit trail of job c5da6747-0000-4000-8000-000000000001 does not explain its result at event 7 ("p"): ' +
        `the value at the path differs from the expected one; ${shapes}`
    )
    for (const planted of ["Dewi", "Wijaya", "Siti", "Hartono", "7706000"])
      expect(error.message).not.toContain(planted)
  })

  it("stops at the newest event that does not fit, not an older one", () => {
    const error = failure(j('{"a":3}'), [event(1, "a", "1", "2"), event(2, "a", "2", "9")])
    expect(error._tag === "AuditTrailMismatch" && error.eventId).toBe("2")
  })

  it("reports an event whose both values are absent", () => {
    const error = failure(j("{}"), [event(4, "a", undefined, undefined)])
    expect(error._tag).toBe("InvalidCorrectionEvent")
    expect(error.message).toBe(
      'job c5da6747-0000-4000-8000-000000000001, event 4 ("a") is invalid: both old_value and new_value are absent'
    )
  })

  it.each([
    "a..b",
    ".a",
    "a[01]",
    "a[-1]",
    "a[x]",
    'a["x"',
    "a b",
    "1a"
  ])("reports an invalid path %j with the job and event", (path) => {
    const error = failure(j("{}"), [event(5, path, "1", "2")])
    expect(error._tag).toBe("InvalidCorrectionEvent")
    if (error._tag !== "InvalidCorrectionEvent") return
    expect([error.jobId, error.eventId, error.fieldPath]).toEqual([
      "c5da6747-0000-4000-8000-000000000001",
      "5",
      path
    ])
    expect(error.detail).toContain("invalid field path")
  })
})
