/**
 * Values nested thousands of levels deep (issue 13): PostgreSQL stores jsonb about 13,000–14,500
 * levels deep, so every function on the byte path must take any depth without running out of call
 * stack. Each case is checked against text built independently, by repeating strings: arrays and
 * objects alternate, and every object's keys need sorting (`"b"` holds the next level, `"aa"` a
 * number), as PostgreSQL prints them (shortest key first, a space after `:` and `,`).
 */
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as Correction from "../src/Correction.js"
import { Export, FieldPath, Json, Jsonl, Replay, Review } from "../src/index.js"
import { ByteWriter } from "../src/internal/byteWriter.js"
import { canonicalize } from "../src/internal/canonical.js"
import type { CorrectionEvent, Job } from "../src/Sample.js"

const DEPTHS = [5_000, 14_000, 100_000] as const
const TIMEOUT = 60_000

/** `levels` containers (an even number), the innermost holding `leaf`, as canonical text. */
const canonical = (levels: number, leaf: string) =>
  `[true,{"aa":0,"b":`.repeat(levels / 2) + leaf + `}]`.repeat(levels / 2)

/** The same value as PostgreSQL prints it: keys shortest first, spaces after `:` and `,`. */
const pg = (levels: number, leaf: string) =>
  `[true, {"b": `.repeat(levels / 2) + leaf + `, "aa": 0}]`.repeat(levels / 2)

/** Arrays only, `levels` deep, around `leaf`. */
const arrays = (levels: number, leaf = "") => "[".repeat(levels) + leaf + "]".repeat(levels)

/** The field path of the innermost leaf: `[1].b[1].b…`. */
const leafPath = (levels: number) => "[1].b".repeat(levels / 2)

const parse = (text: string) => Either.getOrThrow(Json.parse(text))
const path = (text: string) => Either.getOrThrow(FieldPath.parse(text))

const canonicalized = (text: string) => {
  const w = new ByteWriter()
  const failure = canonicalize(w, text)
  return failure === undefined ? w.toString() : failure
}

describe.each(DEPTHS)("%i levels", (levels) => {
  const leaf = '"x\\u00e9\\n"'
  const expected = canonical(levels, '"xé\\n"')

  it("parse and stringify give the canonical text back", { timeout: TIMEOUT }, () => {
    expect(Json.stringify(parse(pg(levels, leaf)))).toBe(expected)
    expect(Json.stringify(parse(expected))).toBe(expected)
    expect(Json.stringify(parse(arrays(levels)))).toBe(arrays(levels))
  })

  it("canonicalize writes the canonical bytes straight from the text", { timeout: TIMEOUT }, () => {
    expect(canonicalized(pg(levels, leaf))).toBe(expected)
    expect(canonicalized(`  ${arrays(levels, "1.50")} `)).toBe(arrays(levels, "1.50"))
    // A syntax error at the bottom is reported where it is, and nothing is left written.
    const broken = pg(levels, "tru")
    const w = new ByteWriter()
    w.text("kept")
    expect(canonicalize(w, broken)).toEqual({ position: levels * 6.5, reason: "expected a JSON value" })
    expect(w.toString()).toBe("kept")
  })

  it("depth counts every level", { timeout: TIMEOUT }, () => {
    expect(Json.depth(parse(pg(levels, leaf)))).toBe(levels)
    expect(Json.depth(parse(`[1, ${arrays(levels, "{}")}, {"k": []}]`))).toBe(levels + 2)
    expect([Json.depth(parse("1")), Json.depth(parse("[]")), Json.depth(parse('{"a": [1]}'))]).toEqual([
      0, 1, 2
    ])
  })

  it("equals compares down to the innermost leaf", { timeout: TIMEOUT }, () => {
    expect(Json.equals(parse(pg(levels, "1.50")), parse(canonical(levels, "15e-1")))).toBe(true)
    expect(Json.equals(parse(pg(levels, "1.50")), parse(canonical(levels, "1.51")))).toBe(false)
    expect(Json.equals(parse(canonical(levels, "[]")), parse(canonical(levels, "{}")))).toBe(false)
    expect(Json.equals(parse(arrays(levels)), parse(arrays(levels - 1)))).toBe(false)
  })

  it("Correction.apply replaces, inserts and removes at the bottom", { timeout: TIMEOUT }, () => {
    const result = parse(pg(levels, leaf))
    const half = levels / 2
    const apply = (c: Correction.Correction) =>
      Json.stringify(Either.getOrThrow(Correction.apply(result, c))!)
    const at = path(leafPath(levels))
    expect(apply({ _tag: "Replace", path: at, oldValue: parse(leaf), newValue: parse("1.50") })).toBe(
      canonical(levels, "1.50")
    )
    expect(
      apply({ _tag: "Insert", path: path(`${"[1].b".repeat(half - 1)}[1].c`), newValue: parse('"new"') })
    ).toBe(`[true,{"aa":0,"b":`.repeat(half) + '"xé\\n","c":"new"}]' + "}]".repeat(half - 1))
    expect(apply({ _tag: "Remove", path: at, oldValue: parse(leaf) })).toBe(
      `[true,{"aa":0,"b":`.repeat(half - 1) + '[true,{"aa":0}]' + "}]".repeat(half - 1)
    )
    // A precondition that fails at the bottom names what it found.
    const wrong = Correction.apply(result, { _tag: "Replace", path: at, oldValue: "y", newValue: "z" })
    expect(Either.isLeft(wrong) && wrong.left.reason).toBe("value_differs")
  })

  /**
   * A trail of two events: the innermost leaf replaced, then the whole result replaced by arrays
   * `levels` deep. Replay undoes both; the line holds every deep value exactly.
   */
  const trail = () => {
    const initial = canonical(levels, '"leaf"')
    const middle = canonical(levels, "1.50")
    const final = arrays(levels, "null")
    const at = (s: number) => ({ seconds: 1_748_772_900 + s, micros: 0 })
    const events: ReadonlyArray<CorrectionEvent> = [
      {
        id: "1",
        fieldPath: leafPath(levels),
        oldValue: "leaf",
        newValue: parse("1.50"),
        correctedBy: "r",
        reason: null,
        correctedAt: at(1)
      },
      {
        id: "2",
        fieldPath: "",
        oldValue: parse(pg(levels, "1.50")),
        newValue: parse(final),
        correctedBy: "r",
        reason: "deep",
        correctedAt: at(2)
      }
    ]
    const job: Job = {
      id: "c5da6747-1111-4222-8333-944455556666",
      filename: "deep.pdf",
      sourceKind: "pdf",
      approved: true,
      reviewedBy: null,
      reviewedAt: null,
      createdAt: at(0),
      result: parse(final),
      reviewFlags: [],
      confidence: null,
      events
    }
    const line =
      `{"job_id":"${job.id}","filename":"deep.pdf","source_kind":"pdf","approved":true,"reviewed_by":null,` +
      `"reviewed_at":null,"created_at":"2025-06-01T10:15:00Z","initial_result":${initial},"final_result":${final},` +
      `"corrections":[{"field_path":"${leafPath(levels)}","old_value":"leaf","new_value":1.50,"corrected_by":"r",` +
      `"reason":null,"corrected_at":"2025-06-01T10:15:01Z"},{"field_path":"","old_value":${middle},` +
      `"new_value":${final},"corrected_by":"r","reason":"deep","corrected_at":"2025-06-01T10:15:02Z"}],` +
      `"review_flags":[],"confidence":null}\n`
    return { job, initial, final, line }
  }

  it("Replay undoes and redoes the trail, and the line holds every value", { timeout: TIMEOUT }, () => {
    const { job, initial, final, line } = trail()
    const undone = Either.getOrThrow(Replay.undo(job.id, job.result, job.events))
    expect(Json.stringify(undone!)).toBe(initial)
    expect(Json.stringify(Either.getOrThrow(Replay.redo(job.id, undone, job.events))!)).toBe(final)
    expect(Jsonl.line(Either.getOrThrow(Replay.sample(job)))).toBe(line)
    // A result the trail does not explain: the error carries both deep values as text.
    const changed = Replay.undo(job.id, parse(arrays(levels, "0")), job.events)
    const mismatch = Either.isLeft(changed) && changed.left._tag === "AuditTrailMismatch" && changed.left
    expect(mismatch && [mismatch.expected, mismatch.actual]).toEqual([final, arrays(levels, "0")])
  })

  it("Export.rowLine reads the row's text and writes the same line", { timeout: TIMEOUT }, () => {
    const { job, line } = trail()
    const row: Export.Row = {
      id: job.id,
      filename: job.filename,
      source_kind: job.sourceKind,
      satuan: null,
      approved: true,
      reviewed_by: null,
      reviewed_at: null,
      created_at: "2025-06-01T10:15:00Z",
      result: arrays(levels, "null"),
      review_flags: [],
      confidence: null,
      // As the export query aggregates them: each value wrapped in a one-element array.
      events:
        `[["1", "${leafPath(levels)}", ["leaf"], [1.50], "r", null, "2025-06-01T10:15:01Z"], ` +
        `["2", "", [${pg(levels, "1.50")}], [${arrays(levels, "null")}], "r", "deep", "2025-06-01T10:15:02Z"]]`
    }
    expect(Either.getOrThrow(Export.rowLine(row))).toBe(line)
    // Without events, the result goes from text to bytes without a value.
    expect(Either.getOrThrow(Export.rowLine({ ...row, result: pg(levels, leaf), events: null }))).toContain(
      `"initial_result":${expected},"final_result":${expected},"corrections":[]`
    )
  })

  it("Review checks and encodes deep values", { timeout: TIMEOUT }, () => {
    const fields = { fieldPath: leafPath(levels), reviewer: "r", reason: null }
    expect(Review.checkStorable({ ...fields, newValue: parse(pg(levels, leaf)) })).toBeUndefined()
    expect(Review.checkStorable({ ...fields, newValue: parse(pg(levels, '"\\u0000"')) })).toMatchObject({
      field: "new_value",
      detail: "it contains U+0000"
    })
    expect(Review.checkStorable({ ...fields, newValue: parse(pg(levels, "1e-99999")) })).toMatchObject({
      field: "new_value",
      detail: "the number is out of range"
    })
    const { job, initial, final } = trail()
    const event: Review.Event = { ...job.events[1], jobId: job.id }
    expect([Json.stringify(event.oldValue!), Json.stringify(event.newValue!)]).toEqual([
      canonical(levels, "1.50"),
      final
    ])
    expect(Json.stringify(parse(initial))).toBe(initial)
  })
})

describe("text far deeper than any database stores", () => {
  it(
    "a million unclosed '[' is a syntax error at its end, not a stack overflow",
    { timeout: TIMEOUT },
    () => {
      const text = "[".repeat(1_000_000)
      const parsed = Json.parse(text)
      expect(Either.isLeft(parsed) && [parsed.left.position, parsed.left.reason]).toEqual([
        1_000_000,
        "unexpected end of input"
      ])
      expect(canonicalized(text)).toEqual({ position: 1_000_000, reason: "unexpected end of input" })
    }
  )

  it("a million levels parse, compare and print", { timeout: TIMEOUT }, () => {
    const text = arrays(1_000_000, '{"k":[1]}')
    const value = parse(text)
    expect(Json.stringify(value)).toBe(text)
    expect(canonicalized(text)).toBe(text)
    expect(Json.equals(value, parse(text))).toBe(true)
    expect(Review.checkStorable({ fieldPath: "", newValue: value, reviewer: "r", reason: null })).toBe(
      undefined
    )
  })
})
