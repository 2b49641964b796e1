import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc, Option } from "effect"
import { Cursor, Filter, Format, Split, Timestamp } from "../src/index.js"
import type { Job } from "../src/Sample.js"
import * as Arb from "./arbitraries.js"

const t = (text: string) => Either.getOrThrow(Timestamp.parse(text))
const ok = (params: Iterable<readonly [string, string]>, options?: Filter.ParseOptions) =>
  Either.getOrThrow(Filter.parse(params, options))
const error = (params: ReadonlyArray<readonly [string, string]>, options?: Filter.ParseOptions) => {
  const r = Filter.parse(params, options)
  if (Either.isRight(r)) throw new Error("expected an InvalidParameter")
  return r.left
}

describe("parse", () => {
  it("defaults to approved samples only, everything else open", () => {
    expect(ok([])).toEqual({
      approvedOnly: true,
      hasCorrections: Option.none(),
      since: Option.none(),
      until: Option.none(),
      split: Option.none(),
      changedSince: Option.none(),
      format: "jsonl",
      input: Option.none()
    })
  })

  it("reads an input, and resolves the format's default when none is given", () => {
    expect(Filter.output(ok([]))).toEqual({ format: "jsonl", input: "pipeline" })
    expect(Filter.output(ok([["format", "hf"]]))).toEqual({ format: "hf", input: "pipeline" })
    for (const format of ["prompt-completion", "messages", "preference"]) {
      expect(Filter.output(ok([["format", format]]))).toEqual({ format, input: "both" })
      expect(
        Filter.output(
          ok([
            ["format", format],
            ["input", "pipeline"]
          ])
        )
      ).toEqual({ format, input: "pipeline" })
    }
    expect(Filter.output(ok([["input", "text"]]))).toEqual({ format: "jsonl", input: "text" })
  })

  it("reads a format and a split with its ratios, seed and what it hashes", () => {
    expect(ok([["format", "prompt-completion"]]).format).toBe("prompt-completion")
    expect(ok([["split", "test"]]).split).toEqual(
      Option.some({ name: "test", by: "letter", ratios: [80, 10, 10], seed: "" })
    )
    expect(
      ok([
        ["split_seed", "s 1"],
        ["split_by", "job"],
        ["split_ratios", " 7,0,3"],
        ["split", "validation"]
      ]).split
    ).toEqual(Option.some({ name: "validation", by: "job", ratios: [7, 0, 3], seed: "s 1" }))
  })

  it.each([
    ["true", true],
    ["1", true],
    ["false", false],
    ["0", false]
  ])("reads the boolean %j as %s", (value, expected) => {
    expect(ok([["approved_only", value]]).approvedOnly).toBe(expected)
    expect(ok([["has_corrections", value]]).hasCorrections).toEqual(Option.some(expected))
  })

  it("reads a window from timestamps and dates", () => {
    const f = ok(new URLSearchParams("since=2025-06-01&until=2025-06-01T17%3A00%3A00%2B07%3A00"))
    expect(f.since).toEqual(Option.some(t("2025-06-01T00:00:00Z")))
    expect(f.until).toEqual(Option.some(t("2025-06-01T10:00:00Z")))
    expect(
      Option.isSome(
        ok([
          ["since", "2025-06-01"],
          ["until", "2025-06-01"]
        ]).since
      )
    ).toBe(true)
  })

  it.each([
    [
      [["approved", "true"]],
      "unknown_parameter",
      "approved",
      'unknown parameter "approved"; known: approved_only, has_corrections, since, until, format, input, split, split_ratios, split_seed, split_by, changed_since'
    ],
    [[["Since", "2025-01-01"]], "unknown_parameter", "Since", 'unknown parameter "Since"'],
    [
      [
        ["since", "2025-01-01"],
        ["since", "2025-02-01"]
      ],
      "repeated_parameter",
      "since",
      "since is given more than once"
    ],
    [
      [
        ["approved_only", "true"],
        ["approved_only", "true"]
      ],
      "repeated_parameter",
      "approved_only",
      "approved_only is given more than once"
    ],
    [
      [["approved_only", "yes"]],
      "invalid_boolean",
      "approved_only",
      'approved_only must be true, false, 1 or 0, not "yes"'
    ],
    [
      [["has_corrections", ""]],
      "invalid_boolean",
      "has_corrections",
      'has_corrections must be true, false, 1 or 0, not ""'
    ],
    [[["has_corrections", "TRUE"]], "invalid_boolean", "has_corrections", 'not "TRUE"'],
    [
      [["since", "2025-13-01"]],
      "invalid_timestamp",
      "since",
      'since "2025-13-01" is not a valid time: the month must be 01–12'
    ],
    [
      [["until", "2025-06-01T10:00:00"]],
      "invalid_timestamp",
      "until",
      'until "2025-06-01T10:00:00" is not a valid time: expected an RFC 3339 timestamp with an offset or Z'
    ],
    [
      [
        ["since", "2025-06-02"],
        ["until", "2025-06-01T23:59:59.999999Z"]
      ],
      "invalid_range",
      "since",
      "since (2025-06-02T00:00:00Z) is later than until (2025-06-01T23:59:59.999999Z)"
    ],
    [
      [["format", "JSONL"]],
      "invalid_format",
      "format",
      'format must be one of jsonl, prompt-completion, messages, preference, hf, not "JSONL"'
    ],
    [[["input", "ocr"]], "invalid_input", "input", 'input must be one of both, text, pipeline, not "ocr"'],
    [[["split", "dev"]], "invalid_split", "split", 'split must be train, validation or test, not "dev"'],
    [
      [
        ["split", "train"],
        ["split_ratios", "0.8,0.1,0.1"]
      ],
      "invalid_split",
      "split_ratios",
      'split_ratios must be three whole numbers 0–1000 for train, validation and test, not all 0 (like 80,10,10), not "0.8,0.1,0.1"'
    ],
    [
      [
        ["split", "train"],
        ["split_ratios", "0,0,0"]
      ],
      "invalid_split",
      "split_ratios",
      "not all 0"
    ],
    [
      [
        ["split", "train"],
        ["split_ratios", "80,20"]
      ],
      "invalid_split",
      "split_ratios",
      'not "80,20"'
    ],
    [
      [
        ["split", "train"],
        ["split_ratios", "1001,0,0"]
      ],
      "invalid_split",
      "split_ratios",
      'not "1001,0,0"'
    ],
    [[["split_ratios", "80,10,10"]], "invalid_split", "split_ratios", "split_ratios applies only with split"],
    [[["split_seed", "x"]], "invalid_split", "split_seed", "split_seed applies only with split"],
    [[["split_by", "job"]], "invalid_split", "split_by", "split_by applies only with split"],
    [
      [
        ["split", "train"],
        ["split_by", "Letter"]
      ],
      "invalid_split",
      "split_by",
      'split_by must be letter (every copy of a letter in one split) or job, not "Letter"'
    ],
    [
      [
        ["split", "train"],
        ["split_seed", "x".repeat(257)]
      ],
      "invalid_split",
      "split_seed",
      "at most 256 characters"
    ]
  ] as const)("rejects %j with %s", (params, code, parameter, message) => {
    const e = error(params)
    expect(e._tag).toBe("InvalidParameter")
    expect(e.code).toBe(code)
    expect(e.parameter).toBe(parameter)
    expect(e.message).toContain(message)
  })

  it("accepts only the window for stats", () => {
    expect(ok([["since", "2025-01-01"]], { accept: Filter.statsParameters }).since).toEqual(
      Option.some(t("2025-01-01"))
    )
    const e = error([["approved_only", "true"]], { accept: Filter.statsParameters })
    expect([e.code, e.message]).toEqual([
      "unknown_parameter",
      'unknown parameter "approved_only"; known: since, until'
    ])
  })

  it("names parameters the way the caller spells them", () => {
    const label = (name: string) => `--${name.replaceAll("_", "-")}`
    expect(error([["approved_only", "maybe"]], { label }).message).toBe(
      '--approved-only must be true, false, 1 or 0, not "maybe"'
    )
  })

  it("shortens a huge value in the message", () => {
    const e = error([["since", "9".repeat(100_000)]])
    // The first 200 characters are quoted, then an ellipsis: enough to name a whole gt2 cursor
    expect(e.message).toContain(`"${"9".repeat(200)}…"`)
    expect(e.message).not.toContain("9".repeat(201))
    expect(e.message.length).toBeLessThan(400)
  })
})

const job = (time: Timestamp.Timestamp, reviewed: boolean, approved: boolean, events: number): Job => ({
  id: "00000000-0000-4000-8000-000000000000",
  filename: "f.pdf",
  sourceKind: "pdf",
  approved,
  reviewedBy: null,
  reviewedAt: reviewed ? time : null,
  createdAt: reviewed ? Timestamp.make(0) : time,
  result: undefined,
  reviewFlags: [],
  confidence: null,
  events: Array.from({ length: events }, (_, i) => ({
    id: String(i),
    fieldPath: "",
    oldValue: null,
    newValue: null,
    correctedBy: "r",
    reason: null,
    correctedAt: time
  }))
})

describe("matches", () => {
  it("applies approved_only and has_corrections", () => {
    const time = t("2025-06-01")
    expect(Filter.matches(Filter.defaults, job(time, false, false, 0))).toBe(false)
    expect(Filter.matches(ok([["approved_only", "0"]]), job(time, false, false, 0))).toBe(true)
    expect(Filter.matches(ok([["has_corrections", "1"]]), job(time, false, true, 2))).toBe(true)
    expect(Filter.matches(ok([["has_corrections", "1"]]), job(time, false, true, 0))).toBe(false)
    expect(Filter.matches(ok([["has_corrections", "0"]]), job(time, false, true, 0))).toBe(true)
  })

  it("uses reviewed_at when there is one, created_at otherwise", () => {
    const window = ok([
      ["since", "2025-06-01"],
      ["until", "2025-06-02"]
    ])
    expect(Filter.matches(window, job(t("2025-06-01T12:00:00Z"), true, true, 0))).toBe(true)
    expect(Filter.matches(window, job(t("2025-06-01T12:00:00Z"), false, true, 0))).toBe(true)
    expect(Filter.matches(window, job(t("2025-06-02"), true, true, 0))).toBe(false)
    expect(Filter.matches(window, job(t("2025-06-01"), true, true, 0))).toBe(true)
  })

  it.prop(
    "consecutive windows [a,b), [b,c) partition [a,c)",
    [
      fc.uniqueArray(Arb.timestamp, { minLength: 3, maxLength: 3, selector: Timestamp.format }),
      Arb.timestamp,
      fc.boolean()
    ],
    ([bounds, time, reviewed]) => {
      const [a, b, c] = [...bounds].sort(Timestamp.Order).map(Timestamp.format)
      const w = (since: string, until: string) =>
        ok([
          ["since", since],
          ["until", until],
          ["approved_only", "false"]
        ])
      const j = job(time, reviewed, false, 1)
      const inFirst = Filter.matches(w(a, b), j)
      const inSecond = Filter.matches(w(b, c), j)
      expect(inFirst && inSecond).toBe(false)
      expect(inFirst || inSecond).toBe(Filter.matches(w(a, c), j))
    },
    { fastCheck: { numRuns: 1000 } }
  )
})

describe("parameters", () => {
  it.prop(
    "parse reads back every filter it spells (what a worker is sent)",
    [
      fc.record({
        approvedOnly: fc.boolean(),
        hasCorrections: fc.option(fc.boolean(), { nil: undefined }),
        times: fc.uniqueArray(Arb.timestamp, { minLength: 2, maxLength: 2, selector: Timestamp.format }),
        window: fc.constantFrom("none", "since", "until", "both"),
        format: fc.constantFrom(...Format.formats),
        input: fc.option(fc.constantFrom(...Format.Input.literals), { nil: undefined }),
        split: fc.option(
          fc.record({
            name: fc.constantFrom(...Split.Name.literals),
            by: fc.constantFrom(...Split.By.literals),
            ratios: fc.tuple(
              fc.integer({ min: 0, max: 1000 }),
              fc.integer({ min: 0, max: 1000 }),
              fc.integer({ min: 1, max: 1000 })
            ),
            seed: fc.string({ maxLength: 20 })
          }),
          { nil: undefined }
        )
      })
    ],
    ([r]) => {
      const [since, until] = [...r.times].sort(Timestamp.Order)
      const filter: Filter.Filter = {
        approvedOnly: r.approvedOnly,
        hasCorrections: Option.fromNullable(r.hasCorrections),
        since: r.window === "since" || r.window === "both" ? Option.some(since) : Option.none(),
        until: r.window === "until" || r.window === "both" ? Option.some(until) : Option.none(),
        split: Option.fromNullable(r.split),
        changedSince: Option.none(),
        format: r.format,
        input: Option.fromNullable(r.input)
      }
      expect(ok(Filter.parameters(filter))).toEqual(filter)
    },
    { fastCheck: { numRuns: 500 } }
  )

  it("spells an increment's cursor so that it reads back as the same cursor", () => {
    const cursor: Cursor.Cursor = {
      version: 2,
      xmin: 752n,
      xmax: 760n,
      lsn: 123456n,
      timeline: 1,
      database: "0123456789ab",
      files: "0a1b2c3d",
      jobs: 10n,
      events: 20n,
      old: 5n
    }
    const given = ok([
      ["changed_since", Cursor.encode(cursor)],
      ["format", "preference"]
    ])
    expect(ok(Filter.parameters(given))).toEqual(given)
    expect(Option.map(ok(Filter.parameters(given)).changedSince, Cursor.encode)).toEqual(
      Option.some(Cursor.encode(cursor))
    )
  })
})
