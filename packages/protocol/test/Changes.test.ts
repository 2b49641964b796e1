import { createHash } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { Filter, Manifest, Timestamp } from "@ground-truth/core"
import { Chunk, Effect, Either, FastCheck as fc, Option, Stream } from "effect"
import * as Changes from "../src/Changes.js"

const filterOf = (params: ReadonlyArray<readonly [string, string]>): Filter.Filter =>
  Either.getOrThrow(Filter.parse(params))

const taken: Manifest.Snapshot = {
  time: Either.getOrThrow(Timestamp.parse("2026-06-01T08:00:00Z")),
  cursor: "gt2.cursor-of-the-test",
  removed: [],
  corpusRows: undefined
}

/** The counts of `lines`, computed here rather than with core's counter. */
const countsOf = (lines: ReadonlyArray<string>): Manifest.Counts => {
  const text = lines.join("")
  return {
    rows: lines.length,
    bytes: Buffer.byteLength(text),
    sha256: createHash("sha256").update(text).digest("hex")
  }
}

const manifestOf = (lines: ReadonlyArray<string>, params: ReadonlyArray<readonly [string, string]> = []) =>
  Manifest.describe(filterOf(params), countsOf(lines), taken)

const collect = (stream: Stream.Stream<Uint8Array>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat([...Chunk.toReadonlyArray(chunks)]))

/** `bytes` cut at the given points (any order, any repeats) into chunks. */
const cut = (bytes: Uint8Array, points: ReadonlyArray<number>): Array<Uint8Array> => {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Array<Uint8Array> = []
  let start = 0
  for (const p of [...at, bytes.length]) {
    out.push(bytes.subarray(start, p))
    start = p
  }
  return out
}

const line = fc.string({ unit: "binary" }).map((s) => `${JSON.stringify({ s })}\n`)

describe("the /changes body", () => {
  it.effect.prop(
    "is the lines, then the manifest: read whole or streamed in any chunks, the same lines and manifest",
    [fc.array(line, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 })],
    ([lines, points]) =>
      Effect.gen(function* () {
        const manifest = manifestOf(lines)
        const body = yield* collect(
          Changes.body(Stream.fromIterable(lines.map((l) => Buffer.from(l))), Effect.succeed(manifest))
        )
        expect(body.toString()).toBe(lines.join("") + JSON.stringify(manifest) + "\n")

        const parsed = Either.getOrThrow(Changes.parse("body", body))
        expect(Buffer.from(parsed.lines).toString()).toBe(lines.join(""))
        expect(parsed.manifest).toEqual(manifest)

        const split = Changes.withoutLastLine(Stream.fromIterable(cut(body, points)))
        const counted = Changes.tally(split.stream)
        expect((yield* collect(counted.stream)).toString()).toBe(lines.join(""))
        expect(split.last()).toBe(JSON.stringify(manifest))
        expect(Changes.matches(manifest, counted.counts())).toBe(true)
      })
  )

  it("a body that is not whole says what is wrong with it", () => {
    const lines = ['{"a":1}\n', '{"a":2}\n']
    const manifest = manifestOf(lines)
    const whole = Buffer.from(lines.join("") + Manifest.encode(manifest))
    const detail = (body: Uint8Array) =>
      Either.match(Changes.parse("saved.jsonl", body), {
        onLeft: (e) => e.message,
        onRight: () => "read"
      })
    expect(detail(whole)).toBe("read")
    expect(detail(new Uint8Array(0))).toBe(
      "incomplete increment from saved.jsonl: it is empty; fetch it again"
    )
    expect(detail(whole.subarray(0, whole.length - 1))).toMatch(
      /: it does not end with a newline \(a cut download\?\)/
    )
    expect(detail(whole.subarray(0, lines[0].length))).toMatch(
      /: its last line is not a manifest \(.*\), where its manifest should be/
    )
    const tampered = Buffer.from(lines[0] + '{"a":3}\n' + Manifest.encode(manifest))
    expect(detail(tampered)).toMatch(
      /: its lines \(2 rows, 16 bytes, sha256 \w+\) are not those its manifest describes/
    )
  })
})

describe("the law an increment keeps", () => {
  const params: ReadonlyArray<ReadonlyArray<readonly [string, string]>> = [
    [],
    [["format", "hf"]],
    [
      ["approved_only", "false"],
      ["has_corrections", "true"]
    ],
    [
      ["since", "2025-01-01"],
      ["until", "2025-07-01T10:00:00+07:00"]
    ],
    [
      ["format", "messages"],
      ["input", "text"]
    ],
    [
      ["split", "test"],
      ["split_ratios", "70,15,15"],
      ["split_seed", "s1"],
      ["split_by", "job"]
    ]
  ]

  it("a manifest's parameters ask for the filter it was exported with", () => {
    for (const p of params) {
      const m = manifestOf([], p)
      const asked = filterOf(Changes.parameters(m))
      expect(Changes.describeFilter(asked)).toEqual(Changes.describeManifest(m))
      expect(Changes.describeFilter(asked)).toEqual(Changes.describeFilter(filterOf(p)))
    }
  })

  it("an increment continues a corpus exported with the same parameters, from its cursor", () => {
    const corpus = manifestOf([])
    const from = (cursor: string | null, p: ReadonlyArray<readonly [string, string]> = []) =>
      Manifest.Manifest.make({ ...manifestOf([], p), changed_since: cursor })
    expect(Changes.breaks(corpus, from(corpus.cursor))).toEqual(Option.none())
    // A full export replaces the corpus, whatever its cursor.
    expect(Changes.breaks(corpus, from(null))).toEqual(Option.none())
    expect(Changes.breaks(corpus, from("gt2.another"))).toEqual(
      Option.some({ _tag: "Cursor", from: "gt2.another" })
    )
    expect(
      Changes.breaks(
        corpus,
        from(corpus.cursor, [
          ["format", "hf"],
          ["has_corrections", "false"]
        ])
      )
    ).toEqual(Option.some({ _tag: "Parameters", differ: ["has_corrections", "format"] }))
  })
})
