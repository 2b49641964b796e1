import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { FieldPath } from "../src/index.js"
import * as Arb from "./arbitraries.js"

const segments = (text: string) => Either.getOrThrow(FieldPath.parse(text)).segments

describe("parse", () => {
  it.each([
    ["", []],
    ["header.perihal", [FieldPath.key("header"), FieldPath.key("perihal")]],
    ["personel[0].nrp", [FieldPath.key("personel"), FieldPath.index(0), FieldPath.key("nrp")]],
    ["personel[3]", [FieldPath.key("personel"), FieldPath.index(3)]],
    ['header["no. urut"]', [FieldPath.key("header"), { _tag: "Key", key: "no. urut", quoted: '"no. urut"' }]],
    ["[10][0]", [FieldPath.index(10), FieldPath.index(0)]],
    ['["a\\"]b"]._x1', [{ _tag: "Key", key: 'a"]b', quoted: '"a\\"]b"' }, FieldPath.key("_x1")]],
    ['a["\\u0041"]', [FieldPath.key("a"), { _tag: "Key", key: "A", quoted: '"\\u0041"' }]]
  ] as const)("parses %j", (text, expected) => {
    expect(segments(text)).toEqual(expected)
    expect(FieldPath.print(segments(text))).toBe(text)
  })

  it.each([
    ["a..b", 2, "expected an identifier"],
    [".a", 0, "cannot start with '.'"],
    ["a.", 2, "expected an identifier"],
    ["a[01]", 2, "no leading zeros"],
    ["a[-1]", 2, "expected an index or a quoted key"],
    ["a[1", 3, "expected ']'"],
    ['a["x"', 5, "expected ']'"],
    ['a["x]', 5, "unterminated string"],
    ["a b", 1, "expected '.' or '['"],
    ["1a", 0, "expected an identifier"],
    ["a.1", 2, "expected an identifier"],
    ["a[ 1]", 2, "expected an index or a quoted key"],
    ["a['x']", 2, "expected an index or a quoted key"],
    ["a[99999999999999999999]", 2, "index is too large"],
    ["é", 0, "expected an identifier"],
    ['a["\n"]', 3, "control character"]
  ])("rejects %j at position %i", (text, position, reason) => {
    const r = FieldPath.parse(text)
    expect(Either.isLeft(r)).toBe(true)
    if (Either.isRight(r)) return
    expect(r.left._tag).toBe("InvalidFieldPath")
    expect(r.left.path).toBe(text)
    expect(r.left.position).toBe(position)
    expect(r.left.message).toContain(reason)
  })
})

const segment: fc.Arbitrary<FieldPath.Segment> = fc.oneof(
  fc.nat({ max: 1000 }).map(FieldPath.index),
  Arb.objectKey.map(FieldPath.key),
  fc.tuple(Arb.objectKey, fc.boolean()).map(([k, ascii]) => ({
    _tag: "Key" as const,
    key: k,
    quoted: ascii
      ? JSON.stringify(k).replace(
          /[^\x20-\x7e]/g,
          (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`
        )
      : JSON.stringify(k)
  }))
)

describe("round trip", () => {
  it.prop(
    "parse then print gives back the text",
    [fc.array(segment, { maxLength: 6 })],
    ([segs]) => {
      const text = FieldPath.print(segs)
      const parsed = Either.getOrThrow(FieldPath.parse(text))
      expect(FieldPath.print(parsed.segments)).toBe(text)
      expect(parsed.text).toBe(text)
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.prop(
    "print then parse gives back the segments",
    [fc.array(segment, { maxLength: 6 })],
    ([segs]) => {
      const parsed = Either.getOrThrow(FieldPath.parse(FieldPath.print(segs)))
      // Identifiers may be printed bare; what a segment addresses never changes.
      const address = (s: FieldPath.Segment) => (s._tag === "Key" ? `k:${s.key}` : `i:${s.index}`)
      expect(parsed.segments.map(address)).toEqual(segs.map(address))
    },
    { fastCheck: { numRuns: 1000 } }
  )
})

describe("group", () => {
  it.each([
    ["personel[3].nrp", "personel[].nrp"],
    ["personel[0]", "personel[]"],
    ["a[1][22].b[3]", "a[][].b[]"],
    ['header["a[1]"]', 'header["a[1]"]'],
    ['personel[2]["no. urut"]', 'personel[]["no. urut"]'],
    ["header.perihal", "header.perihal"],
    ["", ""],
    ["not a [path", "not a [path"]
  ])("%j → %j", (path, grouped) => {
    expect(FieldPath.group(path)).toBe(grouped)
  })
})
