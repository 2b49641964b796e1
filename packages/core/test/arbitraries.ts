/**
 * Random data for the property tests, and a small independent model of contract §3 (plain mutable
 * copies) that produces valid event sequences and their expected final results without using the code
 * under test.
 */
import { FastCheck as fc } from "effect"
import type { Slot } from "../src/Correction.js"
import { FieldPath, Json } from "../src/index.js"
import type { CorrectionEvent } from "../src/Sample.js"
import type { Timestamp } from "../src/Timestamp.js"

/** Decimal texts as PostgreSQL prints jsonb numbers, including the lossy-in-JS ones. */
export const numberText: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc
    .tuple(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), fc.stringMatching(/^[0-9]{1,8}$/))
    .map(([i, f]) => `${i}.${f}`),
  fc.constantFrom("0", "-0", "1.50", "12345678901234567890", "0.000001", "1e2", "2.5E-3")
)

/** Strings with the awkward characters: controls, quotes, backslashes, U+2028, astral emoji. */
export const text: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 8 }),
  fc.constantFrom("", "Line1\n\u0001", '"q"\\', "\u2028\u2029", "😀 Sprin/1/I/2025", "AIPDA", "\u007f\u0000")
)

/** Object keys: identifiers, keys that need quoting, and keys that are special to JavaScript objects. */
export const objectKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("header", "perihal", "nrp", "a_b", "_", "B", "b", "ab", "no. urut", "", "__proto__", "0"),
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,6}$/),
  text
)

const jsonArbitraries = fc.letrec<{ json: Json.Json; array: Json.Json; object: Json.Json }>((tie) => ({
  json: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    text,
    numberText.map((t) => new Json.JsonNumber(t)),
    tie("array"),
    tie("object")
  ),
  array: fc.array(tie("json"), { maxLength: 4 }),
  object: fc
    .uniqueArray(fc.tuple(objectKey, tie("json")), { maxLength: 5, selector: ([k]) => k })
    .map((entries) => new Map(entries))
}))

export const json: fc.Arbitrary<Json.Json> = jsonArbitraries.json

const scalar: fc.Arbitrary<Json.Json> = fc.oneof(
  fc.constant(null),
  text,
  numberText.map((t) => new Json.JsonNumber(t))
)

/** A result shaped like the pipeline's: a header object and a personnel table. */
export const sprinResult: fc.Arbitrary<Json.Json> = fc
  .record({
    header: fc.record({ nomor_sprint: scalar, perihal: scalar, tanggal: scalar, "no. urut": scalar }),
    personel: fc.array(fc.record({ pangkat: scalar, nrp: scalar, nama: scalar, jabatan: scalar }), {
      maxLength: 4
    })
  })
  .map(({ header, personel }) =>
    Json.object([
      ["header", Json.object(Object.entries(header))],
      ["personel", personel.map((p) => Json.object(Object.entries(p)))]
    ])
  )

/** Results as the pipeline writes them: usually Sprin-shaped, sometimes anything, sometimes absent. */
export const result: fc.Arbitrary<Slot> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: sprinResult },
  { weight: 2, arbitrary: jsonArbitraries.object },
  { weight: 1, arbitrary: json }
)

export const timestamp: fc.Arbitrary<Timestamp> = fc.record({
  seconds: fc.integer({ min: -62135596800, max: 253402300799 }),
  micros: fc.integer({ min: 0, max: 999999 })
})

// -------------------------------------------------------------------------------------------------------
// An independent model of the forward semantics: plain deep copies and in-place mutation.
// -------------------------------------------------------------------------------------------------------

export const deepCopy = (v: Json.Json): Json.Json => {
  if (Array.isArray(v)) return v.map(deepCopy)
  if (v instanceof Map) return new Map(Array.from(v, ([k, x]) => [k, deepCopy(x)] as const))
  return v
}

interface Place {
  readonly segments: ReadonlyArray<FieldPath.Segment>
  readonly value: Json.Json
}

const places = (v: Json.Json, prefix: ReadonlyArray<FieldPath.Segment>, out: Array<Place>): Array<Place> => {
  out.push({ segments: prefix, value: v })
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) places(v[i], [...prefix, FieldPath.index(i)], out)
  } else if (v instanceof Map) for (const [k, x] of v) places(x, [...prefix, FieldPath.key(k)], out)
  return out
}

/** One random step: which kind, which place, which new value and key. */
export interface Step {
  readonly kind: number
  readonly pick: number
  readonly value: Json.Json
  readonly key: string
  readonly quote: boolean
}

export const step: fc.Arbitrary<Step> = fc.record({
  kind: fc.nat(),
  pick: fc.nat(),
  value: json,
  key: objectKey,
  quote: fc.boolean()
})

const printPath = (segments: ReadonlyArray<FieldPath.Segment>, quote: boolean): string =>
  FieldPath.print(
    segments.map((s) => (s._tag === "Key" && quote ? { ...s, quoted: JSON.stringify(s.key) } : s))
  )

/**
 * Turns random steps into a valid event sequence from `initial`, mutating a private deep copy the plain
 * way. Returns the events (chronological) and the expected final result.
 */
export const buildTrail = (
  initial: Slot,
  steps: ReadonlyArray<Step>
): { readonly events: Array<CorrectionEvent>; readonly final: Slot } => {
  let state: Slot = initial === undefined ? undefined : deepCopy(initial)
  const events: Array<CorrectionEvent> = []
  const record = (segments: ReadonlyArray<FieldPath.Segment>, s: Step, oldValue: Slot, newValue: Slot) =>
    events.push({
      id: String(events.length + 1),
      fieldPath: printPath(segments, s.quote),
      // Events hold their own copies, as rows read from the database do.
      oldValue: oldValue === undefined ? undefined : deepCopy(oldValue),
      newValue: newValue === undefined ? undefined : deepCopy(newValue),
      correctedBy: "reviewer-a",
      reason: null,
      correctedAt: { seconds: 1_700_000_000 + events.length, micros: 0 }
    })
  const containerAt = (segments: ReadonlyArray<FieldPath.Segment>): Json.Json => {
    let node = state as Json.Json
    for (const seg of segments) {
      node =
        seg._tag === "Key"
          ? (node as Map<string, Json.Json>).get(seg.key)!
          : (node as Array<Json.Json>)[seg.index]
    }
    return node
  }
  for (const s of steps) {
    if (state === undefined) {
      record([], s, undefined, s.value)
      state = deepCopy(s.value)
      continue
    }
    const all = places(state, [], [])
    // The root is a rare target in real trails; pick it about one time in ten.
    const target = all.length > 1 && s.pick % 10 !== 0 ? all[1 + (s.pick % (all.length - 1))] : all[0]
    const segs = target.segments
    const parentSegs = segs.slice(0, -1)
    const last = segs[segs.length - 1]
    switch (s.kind % 3) {
      case 0: {
        // replace
        record(segs, s, target.value, s.value)
        if (last === undefined) state = deepCopy(s.value)
        else if (last._tag === "Key")
          (containerAt(parentSegs) as Map<string, Json.Json>).set(last.key, deepCopy(s.value))
        else (containerAt(parentSegs) as Array<Json.Json>)[last.index] = deepCopy(s.value)
        break
      }
      case 1: {
        // remove
        record(segs, s, target.value, undefined)
        if (last === undefined) state = undefined
        else if (last._tag === "Key") (containerAt(parentSegs) as Map<string, Json.Json>).delete(last.key)
        else (containerAt(parentSegs) as Array<Json.Json>).splice(last.index, 1)
        break
      }
      default: {
        // insert into a container (the place itself), if it is one
        const c = target.value
        if (c instanceof Map) {
          if (c.has(s.key)) break
          record([...segs, FieldPath.key(s.key)], s, undefined, s.value)
          ;(c as Map<string, Json.Json>).set(s.key, deepCopy(s.value))
        } else if (Array.isArray(c)) {
          const i = s.pick % (c.length + 1)
          record([...segs, FieldPath.index(i)], s, undefined, s.value)
          ;(c as Array<Json.Json>).splice(i, 0, deepCopy(s.value))
        }
      }
    }
  }
  return { events, final: state }
}

/** Plain JavaScript of a value, as `JSON.parse` would give it (numbers through `Number`). */
export const toPlain = (v: Json.Json): unknown => {
  if (v instanceof Json.JsonNumber) return Number(v.text)
  if (Array.isArray(v)) return v.map(toPlain)
  if (v instanceof Map) {
    const o: Record<string, unknown> = {}
    // defineProperty keeps "__proto__" an ordinary key, as JSON.parse does.
    for (const [k, x] of v)
      Object.defineProperty(o, k, { value: toPlain(x), enumerable: true, writable: true, configurable: true })
    return o
  }
  return v
}

/**
 * PostgreSQL's `jsonb` text of a value: keys shortest first (then by bytes; ASCII keys here sort the same
 * by code units), a space after each `:` and `,`, each key once. What the export reads.
 */
export const jsonbText = (v: Json.Json): string => {
  if (Array.isArray(v)) return `[${v.map(jsonbText).join(", ")}]`
  if (v instanceof Map) {
    const keys = [...v.keys()].sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0))
    return `{${keys.map((k) => `${JSON.stringify(k)}: ${jsonbText(v.get(k)!)}`).join(", ")}}`
  }
  return Json.stringify(v)
}
