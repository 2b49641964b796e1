/**
 * The result schema: what a reviewer's correction may write where, so that every column of an export
 * keeps one JSON type (a Hugging Face `datasets` loader infers a column's type from its values: one
 * NRP written as a number turned a whole `personel[].nrp` column into integers, `'08002851'` into
 * `8002851`).
 *
 * A result is an object; its `header` an object of strings (`nomor_sprint`, `perihal`, `satuan`, and
 * `tanggal`, a date `YYYY-MM-DD`); its `personel` an array of objects of strings (`pangkat`, `nama`,
 * `jabatan`, and `nrp`, a string of ASCII digits). A known string field may also be `null`, which is
 * what the pipeline writes for a field it could not read; the containers (`header`, `personel`, a
 * row, the result itself) may not.
 *
 * The rules a correction is checked by, after its path is known to apply (contract §3):
 * - a removal is always taken: the schema says what a field holds, not that it is there;
 * - at a path the schema knows, the new value must fit it as a whole: a root result typed in by a
 *   reviewer or an inserted row is checked field by field (every known field inside it). The value it
 *   replaces does not count, so a field the pipeline or an earlier write left of the wrong type (an NRP
 *   stored as a number) can be repaired;
 * - at a path the schema does not know (a header key such as `"no. urut"`, a top-level key, anything
 *   inside one), a value may not change its JSON type: a string stays a string, a number a number, an
 *   object an object, an array an array, a boolean a boolean; `null` may replace any of them and be
 *   replaced by anything, as the pipeline writes `null` for what it did not find;
 * - a new key the schema does not know takes any value: the schema makes no promise about fields it
 *   does not describe, and refusing them would stop reviewers from recording what a letter holds
 *   beyond it. Members the schema does not know inside a checked whole value are free alike.
 *
 * Messages name the path and the expected type, and describe the value by its kind and size only
 * (`a number of 8 characters`), never the value itself: an NRP is personal data.
 *
 * @since 0.1.0
 */
import { Either, Schema } from "effect"
import * as Correction from "./Correction.js"
import * as FieldPath from "./FieldPath.js"
import * as Json from "./Json.js"
import * as Timestamp from "./Timestamp.js"

/**
 * What a known leaf holds, `null` always allowed: any string, a string of ASCII digits, or a date.
 *
 * @since 0.1.0
 * @category models
 */
export type Text = "string" | "digits" | "date"

/**
 * A node of the schema: a nullable string leaf, an object with known members (others free), or an
 * array of one kind of element.
 *
 * @since 0.1.0
 * @category models
 */
export type Node =
  | { readonly _tag: "Leaf"; readonly text: Text }
  | { readonly _tag: "Struct"; readonly fields: ReadonlyMap<string, Node> }
  | { readonly _tag: "List"; readonly element: Node }

const leaf = (text: Text): Node => ({ _tag: "Leaf", text })
const struct = (...fields: ReadonlyArray<readonly [string, Node]>): Node => ({
  _tag: "Struct",
  fields: new Map(fields)
})
const list = (element: Node): Node => ({ _tag: "List", element })

/**
 * The schema of a Sprin result, as the pipeline writes it and the demo generator builds it.
 *
 * @since 0.1.0
 */
export const result: Node = struct(
  [
    "header",
    struct(
      ["nomor_sprint", leaf("string")],
      ["perihal", leaf("string")],
      ["tanggal", leaf("date")],
      ["satuan", leaf("string")]
    )
  ],
  [
    "personel",
    list(
      struct(
        ["pangkat", leaf("string")],
        ["nrp", leaf("digits")],
        ["nama", leaf("string")],
        ["jabatan", leaf("string")]
      )
    )
  ]
)

/**
 * A correction would write a value the schema does not allow at its path. `path` names the field (inside
 * a whole value, the field within it), `expected` what it must hold, `found` the kind and size of what
 * was sent.
 *
 * @since 0.1.0
 * @category errors
 */
export class SchemaViolation extends Schema.TaggedError<SchemaViolation>()("SchemaViolation", {
  path: Schema.String,
  expected: Schema.String,
  found: Schema.String
}) {
  override get message(): string {
    return `${this.path === "" ? "the result" : this.path} must be ${this.expected}, not ${this.found}`
  }
}

/** The node of the schema at a path, or undefined where the schema does not know it. */
const nodeAt = (segments: ReadonlyArray<FieldPath.Segment>): Node | undefined => {
  let node: Node | undefined = result
  for (const s of segments) {
    if (node?._tag === "Struct" && s._tag === "Key") node = node.fields.get(s.key)
    else if (node?._tag === "List" && s._tag === "Index") node = node.element
    else return undefined
  }
  return node
}

const DATE = /^\d{4}-\d{2}-\d{2}$/

const expectedText: Record<Text, string> = {
  string: "a string or null",
  digits: "a string of ASCII digits or null",
  date: "a date YYYY-MM-DD or null"
}

/** Why a string does not fit a leaf, if it does not: what it is instead, by kind and size. */
const misfit = (text: Text, s: string): string | undefined => {
  switch (text) {
    case "string":
      return undefined
    case "digits":
      return /^[0-9]+$/.test(s)
        ? undefined
        : s === ""
          ? "an empty string"
          : `${Correction.shape(s)}, not all digits`
    case "date":
      if (!DATE.test(s)) return `${Correction.shape(s)} in another form`
      // Timestamp.parse knows the calendar: no 2025-02-30.
      return Either.isRight(Timestamp.parse(s)) ? undefined : "a day the calendar does not have"
  }
}

/**
 * Checks a value against a node, and every known field inside it. The schema is four levels deep at
 * most, and members it does not know are not entered, so the walk never follows the value deeper.
 */
const conform = (
  node: Node,
  segments: ReadonlyArray<FieldPath.Segment>,
  value: Json.Json
): SchemaViolation | undefined => {
  const violation = (expected: string, found: string) =>
    new SchemaViolation({ path: FieldPath.print(segments), expected, found })
  switch (node._tag) {
    case "Leaf": {
      if (value === null) return undefined
      if (typeof value !== "string") return violation(expectedText[node.text], Correction.shape(value))
      const why = misfit(node.text, value)
      return why === undefined ? undefined : violation(expectedText[node.text], why)
    }
    case "Struct": {
      if (!Json.isObject(value)) return violation("an object", Correction.shape(value))
      for (const [key, field] of node.fields) {
        const member = value.get(key)
        if (member === undefined) continue
        const bad = conform(field, [...segments, FieldPath.key(key)], member)
        if (bad !== undefined) return bad
      }
      return undefined
    }
    case "List": {
      if (!Json.isArray(value)) return violation("an array", Correction.shape(value))
      for (let i = 0; i < value.length; i++) {
        const bad = conform(node.element, [...segments, FieldPath.index(i)], value[i])
        if (bad !== undefined) return bad
      }
      return undefined
    }
  }
}

/**
 * Checks a correction of the value at `path` from `oldValue` to `newValue` (either absent: `undefined`)
 * against the schema and the rule that a field keeps its JSON type (see the module's description).
 *
 * @since 0.1.0
 */
export const check = (
  path: FieldPath.FieldPath,
  oldValue: Correction.Slot,
  newValue: Correction.Slot
): SchemaViolation | undefined => {
  if (newValue === undefined) return undefined
  const node = nodeAt(path.segments)
  if (node !== undefined) return conform(node, path.segments, newValue)
  if (
    oldValue === undefined ||
    oldValue === null ||
    newValue === null ||
    Correction.describe(oldValue) === Correction.describe(newValue)
  )
    return undefined
  return new SchemaViolation({
    path: path.text,
    expected: `${Correction.describe(oldValue)} or null, as the value it replaces`,
    found: Correction.shape(newValue)
  })
}
