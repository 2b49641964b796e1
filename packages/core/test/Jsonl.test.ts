import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import type { Slot } from "../src/Correction.js"
import { Json, Jsonl, Replay, Timestamp } from "../src/index.js"
import type { CorrectionEvent, Job, Sample } from "../src/Sample.js"
import * as Arb from "./arbitraries.js"

const j = (text: string): Json.Json => Either.getOrThrow(Json.parse(text))
const t = (text: string) => Either.getOrThrow(Timestamp.parse(text))

const seedJob: Job = {
  id: "C5DA6747-1111-4222-8333-944455556666",
  filename: "sprint-042.pdf",
  sourceKind: "pdf",
  approved: true,
  reviewedBy: "reviewer-a",
  reviewedAt: t("2025-06-01T10:15:00Z"),
  createdAt: t("2025-05-28T08:02:17Z"),
  result: j(
    '{"header": {"perihal": "Penyelidikan kasus pencurian", "nomor_sprint": "Sprin/1/I/2025"}, ' +
      '"personel": [{"pangkat": "AIPDA", "nrp": "77060000"}]}'
  ),
  reviewFlags: ["llm_fallback"],
  confidence: 0.78,
  events: [
    {
      id: "1",
      fieldPath: "header.perihal",
      oldValue: null,
      newValue: "Penyelidikan kasus pencurian",
      correctedBy: "reviewer-a",
      reason: "LLM missed it",
      correctedAt: t("2025-05-30T14:00:00Z")
    }
  ]
}

// Written by hand from contract §5–§6, not produced by the code under test.
const seedLine =
  '{"job_id":"c5da6747-1111-4222-8333-944455556666","filename":"sprint-042.pdf","source_kind":"pdf",' +
  '"approved":true,"reviewed_by":"reviewer-a","reviewed_at":"2025-06-01T10:15:00Z",' +
  '"created_at":"2025-05-28T08:02:17Z",' +
  '"initial_result":{"header":{"nomor_sprint":"Sprin/1/I/2025","perihal":null},' +
  '"personel":[{"nrp":"77060000","pangkat":"AIPDA"}]},' +
  '"final_result":{"header":{"nomor_sprint":"Sprin/1/I/2025","perihal":"Penyelidikan kasus pencurian"},' +
  '"personel":[{"nrp":"77060000","pangkat":"AIPDA"}]},' +
  '"corrections":[{"field_path":"header.perihal","old_value":null,"new_value":"Penyelidikan kasus pencurian",' +
  '"corrected_by":"reviewer-a","reason":"LLM missed it","corrected_at":"2025-05-30T14:00:00Z"}],' +
  '"review_flags":["llm_fallback"],"confidence":0.78}\n'

describe("line", () => {
  it("writes the seed's example byte for byte, after replay", () => {
    const sample = Either.getOrThrow(Replay.sample(seedJob))
    expect(Jsonl.line(sample)).toBe(seedLine)
    expect(Buffer.from(Jsonl.encode(sample)).toString("hex")).toBe(
      Buffer.from(seedLine, "utf8").toString("hex")
    )
  })

  it("writes the edge cases byte for byte", () => {
    const sample: Sample = {
      id: "00000000-0000-4000-8000-00000000000a",
      filename: 'scan "7"\\\u2028😀\u0001\t.png',
      sourceKind: "image",
      approved: false,
      reviewedBy: null,
      reviewedAt: null,
      createdAt: t("2025-06-01T10:15:00.000123Z"),
      initialResult: undefined,
      result: j('{"b":1,"ab":12345678901234567890,"a_b":1.50,"_":null,"B":"Line1\\n\\u0001"}'),
      reviewFlags: [],
      confidence: 1e21,
      events: [
        {
          id: "9",
          fieldPath: "",
          oldValue: undefined,
          newValue: j('{"b":1,"ab":12345678901234567890,"a_b":1.50,"_":null,"B":"Line1\\n\\u0001"}'),
          correctedBy: "r\u00e9viewer",
          reason: null,
          correctedAt: t("2025-06-01T10:15:00.5Z")
        }
      ]
    }
    expect(Jsonl.line(sample)).toBe(
      '{"job_id":"00000000-0000-4000-8000-00000000000a","filename":"scan \\"7\\"\\\\\u2028😀\\u0001\\t.png",' +
        '"source_kind":"image","approved":false,"reviewed_by":null,"reviewed_at":null,' +
        '"created_at":"2025-06-01T10:15:00.000123Z","initial_result":null,' +
        '"final_result":{"B":"Line1\\n\\u0001","_":null,"a_b":1.50,"ab":12345678901234567890,"b":1},' +
        '"corrections":[{"field_path":"","old_value":null,' +
        '"new_value":{"B":"Line1\\n\\u0001","_":null,"a_b":1.50,"ab":12345678901234567890,"b":1},' +
        '"corrected_by":"réviewer","reason":null,"corrected_at":"2025-06-01T10:15:00.5Z"}],' +
        '"review_flags":[],"confidence":1e+21}\n'
    )
  })

  it.each([
    [0.78, "0.78"],
    [1, "1"],
    [-0, "0"],
    [0.1 + 0.2, "0.30000000000000004"],
    [5e-324, "5e-324"],
    [null, "null"],
    [Number.NaN, "null"],
    [Number.POSITIVE_INFINITY, "null"]
  ])("writes confidence %s as %s", (confidence, expected) => {
    const line = Jsonl.line({ ...Either.getOrThrow(Replay.sample(seedJob)), confidence })
    expect(line.endsWith(`,"confidence":${expected}}\n`)).toBe(true)
  })
})

const nullableText = fc.option(Arb.text, { nil: null })
const nullableTime = fc.option(Arb.timestamp, { nil: null })
const slot: fc.Arbitrary<Slot> = fc.option(Arb.json, { nil: undefined })

const event: fc.Arbitrary<CorrectionEvent> = fc.record({
  id: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }).map(String),
  fieldPath: Arb.text,
  oldValue: slot,
  newValue: slot,
  correctedBy: Arb.text,
  reason: nullableText,
  correctedAt: Arb.timestamp
})

const sample: fc.Arbitrary<Sample> = fc.record({
  id: fc.uuid(),
  filename: Arb.text,
  sourceKind: Arb.text,
  approved: fc.boolean(),
  reviewedBy: nullableText,
  reviewedAt: nullableTime,
  createdAt: Arb.timestamp,
  initialResult: Arb.result,
  result: Arb.result,
  reviewFlags: fc.array(Arb.text, { maxLength: 3 }),
  confidence: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: null }),
  events: fc.array(event, { maxLength: 3 })
})

const plainSlot = (v: Slot) => (v === undefined ? null : Arb.toPlain(v))

describe("line properties", () => {
  it.prop(
    "JSON.parse of the line gives the sample's structure, keys in the contract's order",
    [sample],
    ([s]) => {
      const line = Jsonl.line(s)
      expect(line.endsWith("}\n")).toBe(true)
      expect(line.indexOf("\n")).toBe(line.length - 1)
      const parsed = JSON.parse(line)
      expect(Object.keys(parsed)).toEqual([
        "job_id",
        "filename",
        "source_kind",
        "approved",
        "reviewed_by",
        "reviewed_at",
        "created_at",
        "initial_result",
        "final_result",
        "corrections",
        "review_flags",
        "confidence"
      ])
      const time = (x: Timestamp.Timestamp | null) => (x === null ? null : Timestamp.format(x))
      expect(parsed).toEqual({
        job_id: s.id.toLowerCase(),
        filename: s.filename,
        source_kind: s.sourceKind,
        approved: s.approved,
        reviewed_by: s.reviewedBy,
        reviewed_at: time(s.reviewedAt),
        created_at: time(s.createdAt),
        initial_result: plainSlot(s.initialResult),
        final_result: plainSlot(s.result),
        corrections: s.events.map((e) => ({
          field_path: e.fieldPath,
          old_value: plainSlot(e.oldValue),
          new_value: plainSlot(e.newValue),
          corrected_by: e.correctedBy,
          reason: e.reason,
          corrected_at: time(e.correctedAt)
        })),
        review_flags: s.reviewFlags,
        confidence: s.confidence === null ? null : s.confidence + 0
      })
      for (const c of parsed.corrections) {
        expect(Object.keys(c)).toEqual([
          "field_path",
          "old_value",
          "new_value",
          "corrected_by",
          "reason",
          "corrected_at"
        ])
      }
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.prop(
    "has no whitespace outside strings",
    [sample],
    ([s]) => {
      const outside = Jsonl.line(s).replace(/"(?:[^"\\]|\\.)*"/g, '""')
      expect(outside.slice(0, -1)).not.toMatch(/\s/)
    },
    { fastCheck: { numRuns: 1000 } }
  )
})
