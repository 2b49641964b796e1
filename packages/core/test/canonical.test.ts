/**
 * The byte-level writers of the export's hot path, against independent references: native
 * `JSON.stringify` + `TextEncoder` for strings, a plain recursive model for canonical values, and the
 * value-building path (`decodeRow` → `Replay.sample` → `Jsonl.line`) for whole rows.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { Export, Json, Jsonl, Replay, Timestamp } from "../src/index.js"
import { ByteWriter } from "../src/internal/byteWriter.js"
import { canonicalize, writeValue } from "../src/internal/canonical.js"
import * as Arb from "./arbitraries.js"

const utf8 = (s: string) => new TextEncoder().encode(s)
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const written = (write: (w: ByteWriter) => unknown) => {
  const w = new ByteWriter(8)
  write(w)
  return w.buf.subarray(0, w.pos)
}

/** The canonical text of contract §6, built with nothing but native JSON and a sort. */
const reference = (v: Json.Json): string => {
  if (v instanceof Json.JsonNumber) return v.text
  if (Array.isArray(v)) return `[${v.map(reference).join(",")}]`
  if (v instanceof Map) {
    const keys = [...v.keys()].sort()
    return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(v.get(k))}`).join(",")}}`
  }
  return JSON.stringify(v)
}

/** Unicode-heavy strings: astral characters, lone surrogates of both halves, controls, quotes. */
const wild = fc.oneof(
  Arb.text,
  fc.string({ unit: "binary" }),
  fc
    .array(
      fc.constantFrom("\ud800", "\udfff", "\ud83d\ude00", "é", "\u0000", "\u001f", '"', "\\", "\u2028", "a"),
      {
        maxLength: 10
      }
    )
    .map((parts) => parts.join(""))
)

/**
 * Another rendering of `v` with the same meaning: random whitespace, members in any order with
 * sometimes an earlier duplicate that the later one overrides, characters sometimes escaped.
 */
const rendering = (v: Json.Json): fc.Arbitrary<string> => {
  const space = fc.constantFrom("", " ", "\n", "\t ", "\r\n  ")
  const string = (s: string) =>
    fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((escaped) => {
      let out = '"'
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i)
        if (c === 0x2f && escaped[i]) out += "\\/"
        else if (escaped[i] || c < 0x20 || c === 0x22 || c === 0x5c)
          out += `\\u${c.toString(16).padStart(4, "0")}`
        else out += s[i]
      }
      return `${out}"`
    })
  if (typeof v === "string") return string(v)
  if (v === null || typeof v === "boolean" || v instanceof Json.JsonNumber) return fc.constant(reference(v))
  if (Array.isArray(v)) {
    return fc
      .tuple(
        fc.tuple(...v.map(rendering)),
        fc.array(space, { minLength: v.length * 2 + 2, maxLength: v.length * 2 + 2 })
      )
      .map(
        ([items, gaps]) =>
          `[${gaps[0]}${items.map((x, i) => `${gaps[2 * i + 1]}${x}${gaps[2 * i + 2]}`).join(",")}]`
      )
  }
  const entries = [...(v as Json.JsonObject)]
  return fc
    .tuple(
      fc.tuple(
        ...entries.map(([k, x]) => fc.tuple(string(k), rendering(x), space, fc.option(Arb.json, { freq: 4 })))
      ),
      fc.shuffledSubarray(
        entries.map((_, i) => i),
        { minLength: entries.length, maxLength: entries.length }
      )
    )
    .map(([members, order]) => {
      const parts: Array<string> = []
      for (const i of order) {
        const [key, value, gap, earlier] = members[i]
        // An earlier member with the same key is overridden by the later one.
        if (earlier !== null) parts.push(`${key}:${reference(earlier)}`)
        parts.push(`${gap}${key}${gap}:${gap}${value}`)
      }
      return `{${parts.join(",")}}`
    })
}

describe("ByteWriter", () => {
  it("writes strings exactly as JSON.stringify and TextEncoder do", () => {
    fc.assert(
      fc.property(wild, (s) => {
        expect(hex(written((w) => w.string(s)))).toBe(hex(utf8(JSON.stringify(s))))
        expect(hex(written((w) => w.text(s)))).toBe(hex(utf8(s)))
      }),
      { numRuns: 1000 }
    )
  })

  it("keeps earlier bytes when it grows, and take() starts over", () => {
    const w = new ByteWriter(4)
    w.text("abc")
    w.string("dé😀")
    w.repeat(0, 3)
    const first = w.take()
    expect(new TextDecoder().decode(first)).toBe('abc"dé😀"abc')
    expect(w.pos).toBe(0)
    w.text("x")
    expect(new TextDecoder().decode(first)).toBe('abc"dé😀"abc')
  })
})

describe("canonical bytes", () => {
  it("writeValue gives the reference text", () => {
    fc.assert(
      fc.property(Arb.json, (v) => {
        expect(hex(written((w) => writeValue(w, v)))).toBe(hex(utf8(reference(v))))
      }),
      { numRuns: 1000 }
    )
  })

  it("canonicalize of any rendering gives the same bytes as the value, without building it", () => {
    fc.assert(
      fc.property(
        Arb.json.chain((v) => fc.tuple(fc.constant(v), rendering(v))),
        ([v, text]) => {
          expect(Json.equals(Either.getOrThrow(Json.parse(text)), v)).toBe(true)
          expect(hex(written((w) => expect(canonicalize(w, text)).toBeUndefined()))).toBe(
            hex(utf8(reference(v)))
          )
        }
      ),
      { numRuns: 1000 }
    )
  })

  it("canonicalize of PostgreSQL's text (each key once, shortest first) gives the value's bytes", () => {
    // The export's input: objects of plain members, written in one go, and objects holding containers.
    fc.assert(
      fc.property(fc.oneof(Arb.json, Arb.sprinResult), (v) => {
        expect(hex(written((w) => expect(canonicalize(w, Arb.jsonbText(v))).toBeUndefined()))).toBe(
          hex(utf8(reference(v)))
        )
      }),
      { numRuns: 1000 }
    )
  })

  it("sorts keys by UTF-16 code units, not code points or bytes", () => {
    // U+FF61 sorts after U+D83D (the first half of 😀) in UTF-16, before it in UTF-8.
    const text = '{"\uff61": 1, "😀": 2, "b": 3, "aa": 4, "a": 5}'
    expect(new TextDecoder().decode(written((w) => canonicalize(w, text)))).toBe(
      '{"a":5,"aa":4,"b":3,"😀":2,"\uff61":1}'
    )
  })

  it("fails where and as the parser fails, and writes nothing", () => {
    const broken = fc.oneof(
      fc.string(),
      Arb.json
        .chain(rendering)
        .chain((t) =>
          fc
            .tuple(
              fc.nat({ max: t.length }),
              fc.nat({ max: 3 }),
              fc.constantFrom("", ",", "}", "]", '"', "\\", ":", "x", "\u0001")
            )
            .map(([at, drop, insert]) => t.slice(0, at) + insert + t.slice(at + drop))
        )
    )
    fc.assert(
      fc.property(broken, (text) => {
        const w = new ByteWriter(8)
        w.text("kept")
        const failure = canonicalize(w, text)
        const parsed = Json.parse(text)
        if (Either.isRight(parsed)) {
          expect(failure).toBeUndefined()
        } else {
          expect(failure).toEqual({ position: parsed.left.position, reason: parsed.left.reason })
          expect(new TextDecoder().decode(w.buf.subarray(0, w.pos))).toBe("kept")
        }
      }),
      { numRuns: 2000 }
    )
  })
})

describe("rows to lines", () => {
  /** A row as the export query hands it over: jsonb text in PostgreSQL's spacing and key order. */
  const row = fc
    .tuple(Arb.result, fc.array(Arb.step, { maxLength: 4 }))
    .map(([initial, steps]) => Arb.buildTrail(initial, steps))
    .chain((trail) =>
      fc.record({
        trail: fc.constant(trail),
        finalText: trail.final === undefined ? fc.constant(null) : rendering(trail.final),
        filename: Arb.text,
        reviewFlags: fc.array(Arb.text, { maxLength: 2 }),
        confidence: fc.option(fc.double(), { nil: null }),
        createdAt: Arb.timestamp,
        reviewedAt: fc.option(Arb.timestamp, { nil: null })
      })
    )

  const slot = (v: Json.Json | undefined) => (v === undefined ? "null" : `[${reference(v)}]`)

  it("rowLine gives the line of decode, replay and serialize", () => {
    fc.assert(
      fc.property(row, ({ trail, finalText, filename, reviewFlags, confidence, createdAt, reviewedAt }) => {
        const events = trail.events.map(
          (e) =>
            `[${JSON.stringify(e.id)},${JSON.stringify(e.fieldPath)},${slot(e.oldValue)},${slot(e.newValue)},` +
            `${JSON.stringify(e.correctedBy)},${JSON.stringify(e.reason)},"${Timestamp.format(e.correctedAt)}"]`
        )
        const r: Export.Row = {
          id: "0AB1C2D3-0000-4000-8000-00000000000A",
          filename,
          source_kind: "pdf",
          satuan: null,
          approved: true,
          reviewed_by: "rina",
          reviewed_at: reviewedAt === null ? null : Timestamp.format(reviewedAt),
          created_at: Timestamp.format(createdAt),
          result: finalText,
          review_flags: reviewFlags,
          confidence,
          events: events.length === 0 ? null : `[${events.join(", ")}]`
        }
        const expected = Either.flatMap(Export.decodeRow(r), (job) =>
          Either.map(Replay.sample(job), Jsonl.line)
        )
        expect(Either.isRight(expected)).toBe(true)
        expect(Export.rowLine(r)).toEqual(expected)
      }),
      { numRuns: 500 }
    )
  })
})
