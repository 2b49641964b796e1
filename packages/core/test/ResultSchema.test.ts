/**
 * The result schema through the review service's forward step (`Review.plan`): every kind of type change
 * refused with a message naming the path and the expected type, every legal correction taken; then
 * properties against a small independent model of the rules, over Sprin-shaped results with random
 * leaves, random new values, whole rows and whole results.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import type { Slot } from "../src/Correction.js"
import { Correction, FieldPath, Json, Review } from "../src/index.js"
import * as Arb from "./arbitraries.js"

const RUNS = { fastCheck: { numRuns: 1000 } }

const j = (text: string): Json.Json => Either.getOrThrow(Json.parse(text))

/** A pipeline result: an NRP with a leading zero, one stored as a number, and fields the schema does not know. */
const RESULT =
  '{"header": {"nomor_sprint": "Sprin/1/I/2025", "perihal": null, "tanggal": "2025-01-31", "no. urut": "7"},' +
  ' "personel": [{"pangkat": "AIPDA", "nrp": "08002851", "nama": "Budi Santoso"}, {"nrp": 77060001}],' +
  ' "skor": 2, "lampiran": ["a"], "flag": true, "kosong": null}'

/** `Review.plan` on `RESULT` (or `result`): the error's message, or "taken". */
const outcome = (path: string, value: string | undefined, result: string | null = RESULT): string =>
  Either.match(
    Review.plan(result === null ? undefined : j(result), path, value === undefined ? undefined : j(value)),
    { onLeft: (e) => `${e._tag}: ${e.message}`, onRight: () => "taken" }
  )

describe("corrections the schema refuses", () => {
  it.each([
    // string → number, at known fields: the README's old example among them.
    [
      "personel[0].nrp",
      "77060001",
      "personel[0].nrp must be a string of ASCII digits or null, not a number of 8 characters"
    ],
    ["header.perihal", "12", "header.perihal must be a string or null, not a number of 2 characters"],
    // string → object, string → array, string → boolean.
    [
      "header.nomor_sprint",
      '{"a": "b"}',
      "header.nomor_sprint must be a string or null, not an object of 1 member"
    ],
    ["personel[0].nama", '["Budi"]', "personel[0].nama must be a string or null, not an array of 1 element"],
    ["personel[0].pangkat", "true", "personel[0].pangkat must be a string or null, not a boolean"],
    // array → string, object → array, containers → null.
    ["personel", '"none"', "personel must be an array, not a string of 4 characters"],
    ["header", "[]", "header must be an object, not an array of 0 elements"],
    ["header", "null", "header must be an object, not null"],
    ["personel[1]", '"row"', "personel[1] must be an object, not a string of 3 characters"],
    // A date in another form, or one the calendar does not have.
    [
      "header.tanggal",
      '"31/01/2025"',
      "header.tanggal must be a date YYYY-MM-DD or null, not a string of 10 characters in another form"
    ],
    [
      "header.tanggal",
      '"2025-1-31"',
      "header.tanggal must be a date YYYY-MM-DD or null, not a string of 9 characters in another form"
    ],
    [
      "header.tanggal",
      '"2025-01-31T00:00:00Z"',
      "header.tanggal must be a date YYYY-MM-DD or null, not a string of 20 characters in another form"
    ],
    [
      "header.tanggal",
      '"2025-02-29"',
      "header.tanggal must be a date YYYY-MM-DD or null, not a day the calendar does not have"
    ],
    [
      "header.tanggal",
      '"2025-13-01"',
      "header.tanggal must be a date YYYY-MM-DD or null, not a day the calendar does not have"
    ],
    [
      "header.tanggal",
      "20250131",
      "header.tanggal must be a date YYYY-MM-DD or null, not a number of 8 characters"
    ],
    // An NRP with other characters than ASCII digits, or none.
    [
      "personel[0].nrp",
      '"08OO2851"',
      "personel[0].nrp must be a string of ASCII digits or null, not a string of 8 characters, not all digits"
    ],
    [
      "personel[0].nrp",
      '" 08002851"',
      "personel[0].nrp must be a string of ASCII digits or null, not a string of 9 characters, not all digits"
    ],
    [
      "personel[0].nrp",
      '"\\u0668\\u0660"',
      "personel[0].nrp must be a string of ASCII digits or null, not a string of 2 characters, not all digits"
    ],
    [
      "personel[0].nrp",
      '"8e7"',
      "personel[0].nrp must be a string of ASCII digits or null, not a string of 3 characters, not all digits"
    ],
    [
      "personel[0].nrp",
      '""',
      "personel[0].nrp must be a string of ASCII digits or null, not an empty string"
    ],
    // Fields the schema does not know keep their JSON type: number → string where a field is numeric, …
    ["skor", '"2"', "skor must be a number or null, as the value it replaces, not a string of 1 character"],
    [
      'header["no. urut"]',
      "7",
      'header["no. urut"] must be a string or null, as the value it replaces, not a number of 1 character'
    ],
    [
      "lampiran",
      '{"a": 1}',
      "lampiran must be an array or null, as the value it replaces, not an object of 1 member"
    ],
    [
      "lampiran[0]",
      "[]",
      "lampiran[0] must be a string or null, as the value it replaces, not an array of 0 elements"
    ],
    [
      "flag",
      '"yes"',
      "flag must be a boolean or null, as the value it replaces, not a string of 3 characters"
    ],
    // Whole values: every known field inside them, named by its own path.
    [
      "personel[2]",
      '{"nama": "Siti", "nrp": 8002851}',
      "personel[2].nrp must be a string of ASCII digits or null, not a number of 7 characters"
    ],
    [
      "personel[0]",
      '{"pangkat": ["AIPDA"]}',
      "personel[0].pangkat must be a string or null, not an array of 1 element"
    ],
    [
      "personel",
      '[{"nrp": "1"}, {"nrp": "x"}]',
      "personel[1].nrp must be a string of ASCII digits or null, not a string of 1 character, not all digits"
    ],
    [
      "header",
      '{"tanggal": "1 Januari 2025"}',
      "header.tanggal must be a date YYYY-MM-DD or null, not a string of 14 characters in another form"
    ],
    [
      "",
      '{"header": {"perihal": 1}}',
      "header.perihal must be a string or null, not a number of 1 character"
    ],
    ["", '{"personel": {"0": {"nrp": "1"}}}', "personel must be an array, not an object of 1 member"],
    ["", "[]", "the result must be an object, not an array of 0 elements"],
    ["", '"Sprin"', "the result must be an object, not a string of 5 characters"],
    ["", "null", "the result must be an object, not null"]
  ])("%s := %s", (path, value, message) => {
    // The root cases also apply to a job without a result (OCR failed).
    expect(outcome(path, value)).toBe(`SchemaViolation: ${message}`)
    if (path === "") expect(outcome(path, value, null)).toBe(`SchemaViolation: ${message}`)
  })

  it("a correction that cannot apply is refused for that, before its value is looked at", () => {
    expect(outcome("personel[9].nrp", "1")).toMatch(/^PreconditionFailed/)
    expect(outcome("personel[5]", '"row"')).toMatch(/^PreconditionFailed/)
    expect(outcome("header.perihal", "null")).toMatch(/^NoChange/)
    expect(outcome("header..perihal", "1")).toMatch(/^InvalidPath/)
  })
})

describe("corrections the schema takes", () => {
  it.each([
    // Strings where strings belong, dates and NRPs in their form (leading zeros kept: they are text).
    ["personel[0].nrp", '"08002852"'],
    ["personel[0].nrp", '"198001012005011001"'],
    ["header.perihal", '"Penyelidikan"'],
    ["header.tanggal", '"2024-02-29"'],
    ["header.satuan", '"Polres Bogor"'],
    // null where a string field is, and a string where null was.
    ["header.nomor_sprint", "null"],
    ["header.tanggal", "null"],
    ["personel[0].nrp", "null"],
    ["personel[0].nama", "null"],
    // A field of the wrong type repaired: the NRP stored as a number becomes a string.
    ["personel[1].nrp", '"77060001"'],
    // Removals, of fields, rows, containers and the whole result.
    ["personel[0].nrp", undefined],
    ["personel[1]", undefined],
    ["header.tanggal", undefined],
    ["header", undefined],
    ["", undefined],
    // Whole rows inserted and replaced, with fields the schema does not know; an empty row.
    [
      "personel[2]",
      '{"pangkat": "BRIPDA", "nrp": "99010011", "nama": "Siti", "jabatan": null, "catatan": 1}'
    ],
    ["personel[0]", "{}"],
    ["personel", "[]"],
    ["header", '{"nomor_sprint": "Sprin/2/I/2025", "tanggal": "2025-01-01", "lampiran": [1, 2]}'],
    // Fields the schema does not know: the same type, null either way, and new keys of any type.
    ["skor", "1.50"],
    ["skor", "null"],
    ["kosong", '{"a": [1]}'],
    ['header["no. urut"]', '"8"'],
    ["lampiran", '["a", "b"]'],
    ["lampiran[1]", "3"],
    ["flag", "false"],
    ["baru", "12345678901234567890"],
    ["header.catatan", '{"x": true}'],
    ["personel[0].catatan", "[1]"]
  ])("%s := %s", (path, value) => {
    expect(outcome(path, value)).toBe("taken")
  })

  it("a whole result typed in for a job whose OCR failed, and one that replaces another", () => {
    const letter =
      '{"header": {"nomor_sprint": "Sprin/3/II/2025", "perihal": "Patroli", "tanggal": "2025-02-28", "satuan": null},' +
      ' "personel": [{"pangkat": "IPDA", "nrp": "00000001", "nama": "A", "jabatan": "Kapolsek"}], "extra": 1}'
    expect(outcome("", letter, null)).toBe("taken")
    expect(outcome("", letter)).toBe("taken")
    expect(outcome("", "{}", null)).toBe("taken")
    // A row inserted before an existing one (the demo's restored row) is checked as a row.
    const inserted = Review.plan(j(RESULT), "personel[0]", j('{"nrp": "12"}'), { insert: true })
    expect(Either.isRight(inserted)).toBe(true)
    const refused = Review.plan(j(RESULT), "personel[0]", j('{"nrp": 12}'), { insert: true })
    expect(Either.isLeft(refused) && refused.left.message).toBe(
      "personel[0].nrp must be a string of ASCII digits or null, not a number of 2 characters"
    )
  })
})

// -------------------------------------------------------------------------------------------------------
// Properties, against an independent model of the rules.
// -------------------------------------------------------------------------------------------------------

type Rule = "string" | "digits" | "date"

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** The model: whether a value fits a known leaf. */
const fits = (rule: Rule, v: Json.Json): boolean => {
  if (v === null) return true
  if (typeof v !== "string") return false
  if (rule === "string") return true
  if (rule === "digits") return v.length > 0 && [...v].every((c) => c >= "0" && c <= "9")
  const m = /^(\d\d\d\d)-(\d\d)-(\d\d)$/.exec(v)
  if (m === null) return false
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
  return mo >= 1 && mo <= 12 && d >= 1 && d <= (mo === 2 && leap ? 29 : DAYS[mo - 1])
}

const HEADER: ReadonlyArray<readonly [string, Rule]> = [
  ["nomor_sprint", "string"],
  ["perihal", "string"],
  ["tanggal", "date"],
  ["satuan", "string"]
]
const ROW: ReadonlyArray<readonly [string, Rule]> = [
  ["pangkat", "string"],
  ["nrp", "digits"],
  ["nama", "string"],
  ["jabatan", "string"]
]

/** The model: whether an object fits a set of known members (others are free). */
const fitsObject = (members: ReadonlyArray<readonly [string, Rule]>, v: Json.Json): boolean =>
  Json.isObject(v) && members.every(([k, rule]) => !v.has(k) || fits(rule, v.get(k)!))

const fitsResult = (v: Json.Json): boolean =>
  Json.isObject(v) &&
  (!v.has("header") || fitsObject(HEADER, v.get("header")!)) &&
  (!v.has("personel") ||
    (Json.isArray(v.get("personel")!) &&
      (v.get("personel") as Json.JsonArray).every((row) => fitsObject(ROW, row))))

/** Values for known leaves: anything, digit strings, dates possible and impossible, null. */
const leafValue: fc.Arbitrary<Json.Json> = fc.oneof(
  Arb.json,
  fc.stringMatching(/^[0-9]{0,18}$/),
  fc.stringMatching(/^[0-9O ]{1,9}$/),
  fc.stringMatching(/^\d{4}-[01]\d-[0-3]\d$/),
  fc
    .date({ min: new Date("1900-01-01"), max: new Date("2100-12-31"), noInvalidDate: true })
    .map((d) => d.toISOString().slice(0, 10)),
  fc.constant(null)
)

const object = (members: ReadonlyArray<readonly [string, Rule]>) =>
  fc
    .tuple(
      fc.subarray(members.map(([k]) => k)),
      fc.array(leafValue, { minLength: members.length, maxLength: members.length }),
      fc.option(fc.tuple(fc.constantFrom("catatan", "no. urut"), Arb.json), { nil: undefined })
    )
    .map(([keys, values, extra]) =>
      Json.object([...keys.map((k, i) => [k, values[i]] as const), ...(extra === undefined ? [] : [extra])])
    )

const row = object(ROW)
const letter: fc.Arbitrary<Json.Json> = fc
  .tuple(object(HEADER), fc.array(row, { maxLength: 4 }))
  .map(([header, personel]) =>
    Json.object([
      ["header", header],
      ["personel", personel]
    ])
  )

const violation = (r: Either.Either<Review.Planned, { readonly _tag: string }>) =>
  Either.isLeft(r) ? r.left._tag : "taken"

describe("schema properties", () => {
  it.prop(
    "a known leaf takes exactly what the model says, and then holds it",
    [Arb.sprinResult, fc.nat(), leafValue],
    ([result, pick, value]) => {
      const personel = (result as Json.JsonObject).get("personel") as Json.JsonArray
      const leaves = [
        ...HEADER.map(([k, rule]) => [`header.${k}`, rule] as const),
        ...personel.flatMap((_, i) => ROW.map(([k, rule]) => [`personel[${i}].${k}`, rule] as const))
      ]
      const [path, rule] = leaves[pick % leaves.length]
      const parsed = Either.getOrThrow(FieldPath.parse(path))
      const old = Correction.read(result, parsed)
      if (old !== undefined && Json.equals(old, value)) return
      const r = Review.plan(result, path, value)
      expect(violation(r)).toBe(fits(rule, value) ? "taken" : "SchemaViolation")
      if (Either.isRight(r)) expect(Correction.read(r.right.result, parsed)).toEqual(value)
    },
    RUNS
  )

  it.prop(
    "a field the schema does not know keeps its type; null goes either way; a new key takes anything",
    [Arb.sprinResult, Arb.json, Arb.json],
    ([result, before, after]) => {
      // The value the pipeline left at an unknown key, then a reviewer's correction of it.
      const withField = Either.getOrThrow(Review.plan(result, "header.catatan", before))
      expect(withField.oldValue).toBeUndefined()
      if (Json.equals(before, after)) return
      const kind = (v: Json.Json) =>
        v === null
          ? "null"
          : v instanceof Json.JsonNumber
            ? "number"
            : Json.isObject(v)
              ? "object"
              : Json.isArray(v)
                ? "array"
                : typeof v
      const r = Review.plan(withField.result, "header.catatan", after)
      expect(violation(r)).toBe(
        before === null || after === null || kind(before) === kind(after) ? "taken" : "SchemaViolation"
      )
    },
    RUNS
  )

  it.prop(
    "whole rows and whole results are checked field by field",
    [Arb.sprinResult, row, letter, fc.nat()],
    ([result, newRow, newResult, at]) => {
      const personel = (result as Json.JsonObject).get("personel") as Json.JsonArray
      const index = at % (personel.length + 1)
      const expected = (ok: boolean) => (ok ? "taken" : "SchemaViolation")
      expect(violation(Review.plan(result, `personel[${index}]`, newRow, { insert: true }))).toBe(
        expected(fitsObject(ROW, newRow))
      )
      const absent: Slot = undefined
      expect(violation(Review.plan(absent, "", newResult))).toBe(expected(fitsResult(newResult)))
      if (!Json.equals(result, newResult))
        expect(violation(Review.plan(result, "", newResult))).toBe(expected(fitsResult(newResult)))
    },
    RUNS
  )

  it.prop(
    "a removal is always taken",
    [Arb.sprinResult, fc.nat()],
    ([result, pick]) => {
      const personel = (result as Json.JsonObject).get("personel") as Json.JsonArray
      const paths = [
        "",
        "header",
        "personel",
        ...HEADER.map(([k]) => `header.${k}`),
        ...personel.flatMap((_, i) => [`personel[${i}]`, ...ROW.map(([k]) => `personel[${i}].${k}`)])
      ].filter((p) => Correction.read(result, Either.getOrThrow(FieldPath.parse(p))) !== undefined)
      expect(violation(Review.plan(result, paths[pick % paths.length], undefined))).toBe("taken")
    },
    RUNS
  )
})
