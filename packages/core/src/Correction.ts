/**
 * What one correction event does to a result (contract §3), forward.
 *
 * A correction is a replace, an insert or a remove at a field path. Its inverse is again a correction
 * (replace back, remove what was inserted, insert what was removed), so replay (§4) is this same forward
 * step applied to inverses, and the checks of replay are exactly the preconditions here.
 *
 * Results are never mutated: `apply` copies the containers along the path and shares everything else.
 *
 * @since 0.1.0
 */
import { Data, Either } from "effect"
import type { FieldPath, Segment } from "./FieldPath.js"
import * as Json from "./Json.js"

/** @since 0.1.0 */
export interface Replace {
  readonly _tag: "Replace"
  readonly path: FieldPath
  readonly oldValue: Json.Json
  readonly newValue: Json.Json
}

/** @since 0.1.0 */
export interface Insert {
  readonly _tag: "Insert"
  readonly path: FieldPath
  readonly newValue: Json.Json
}

/** @since 0.1.0 */
export interface Remove {
  readonly _tag: "Remove"
  readonly path: FieldPath
  readonly oldValue: Json.Json
}

/** @since 0.1.0 */
export type Correction = Replace | Insert | Remove

/**
 * A result or a value that may be absent (`undefined`), as opposed to JSON `null`.
 *
 * @since 0.1.0
 */
export type Slot = Json.Json | undefined

/**
 * The correction an event describes, from its old and new values (absent = `undefined`). `undefined`
 * when both are absent: such an event is invalid.
 *
 * @since 0.1.0
 */
export const fromValues = (path: FieldPath, oldValue: Slot, newValue: Slot): Correction | undefined => {
  if (oldValue !== undefined) {
    return newValue !== undefined
      ? { _tag: "Replace", path, oldValue, newValue }
      : { _tag: "Remove", path, oldValue }
  }
  return newValue !== undefined ? { _tag: "Insert", path, newValue } : undefined
}

/** The correction that undoes `c`. @since 0.1.0 */
export const inverse = (c: Correction): Correction => {
  switch (c._tag) {
    case "Replace":
      return { _tag: "Replace", path: c.path, oldValue: c.newValue, newValue: c.oldValue }
    case "Insert":
      return { _tag: "Remove", path: c.path, oldValue: c.newValue }
    case "Remove":
      return { _tag: "Insert", path: c.path, newValue: c.oldValue }
  }
}

/**
 * Why a correction cannot apply to a result:
 * - `value_differs`: the value at the path is not the expected one;
 * - `path_absent`: a value was expected at the path and there is none;
 * - `path_present`: an insert found the path already taken;
 * - `parent_absent`: an insert found no container where the path's parent should be;
 * - `parent_mismatch`: the parent is not the kind of container the last segment needs (a key on an
 *   array or a scalar, an index on an object or a scalar);
 * - `index_out_of_range`: an insert's index is beyond the end of the array.
 *
 * @since 0.1.0
 */
export type Reason =
  | "value_differs"
  | "path_absent"
  | "path_present"
  | "parent_absent"
  | "parent_mismatch"
  | "index_out_of_range"

/**
 * A correction does not apply to a result: its precondition does not hold. `expected` is what the path
 * had to hold (absent for an insert), `actual` what it holds. (The review service's own error for this,
 * across the boundary, is `Review.PreconditionFailed`.)
 *
 * @since 0.1.0
 * @category errors
 */
export class NotApplicable extends Data.TaggedError("NotApplicable")<{
  readonly reason: Reason
  readonly path: string
  readonly expected: Slot
  readonly actual: Slot
  readonly detail: string
}> {
  override get message(): string {
    return this.detail
  }
}

/**
 * A value's JSON type in words (`a string`, `an object`, `null`).
 *
 * @since 0.1.0
 */
export const describe = (value: Json.Json): string =>
  value === null
    ? "null"
    : typeof value === "string"
      ? "a string"
      : typeof value === "boolean"
        ? "a boolean"
        : value instanceof Json.JsonNumber
          ? "a number"
          : Array.isArray(value)
            ? "an array"
            : "an object"

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`

/**
 * What a value is without what it holds: its kind and size (`a string of 11 characters`, `an object of 4
 * members`, `absent`), for messages that must not show personal data.
 *
 * @since 0.1.0
 */
export const shape = (value: Slot): string => {
  if (value === undefined) return "absent"
  const kind = describe(value)
  if (typeof value === "string") return `${kind} of ${count([...value].length, "character")}`
  if (value instanceof Json.JsonNumber) return `${kind} of ${count(value.text.length, "character")}`
  if (Json.isArray(value)) return `${kind} of ${count(value.length, "element")}`
  if (Json.isObject(value)) return `${kind} of ${count(value.size, "member")}`
  return kind
}

const notApplicable = (c: Correction, reason: Reason, actual: Slot, detail: string) =>
  new NotApplicable({
    reason,
    path: c.path.text,
    expected: c._tag === "Insert" ? undefined : c.oldValue,
    actual,
    detail
  })

const fail = (c: Correction, reason: Reason, actual: Slot, detail: string) =>
  Either.left(notApplicable(c, reason, actual, detail))

/**
 * The check every kind of correction makes on the value at its path itself. (Here rather than a closure
 * in `apply`: replay calls it for every event of every job.)
 */
const check = (c: Correction, actual: Slot): NotApplicable | undefined => {
  if (c._tag === "Insert") {
    return actual === undefined
      ? undefined
      : notApplicable(c, "path_present", actual, "the path already holds a value")
  }
  if (actual === undefined) return notApplicable(c, "path_absent", actual, "the path holds no value")
  return Json.equals(actual, c.oldValue)
    ? undefined
    : notApplicable(c, "value_differs", actual, "the value at the path differs from the expected one")
}

/**
 * Applies a correction to a result, checking its precondition first.
 *
 * @since 0.1.0
 */
export const apply = (result: Slot, c: Correction): Either.Either<Slot, NotApplicable> => {
  const segments = c.path.segments
  if (segments.length === 0) {
    const bad = check(c, result)
    if (bad !== undefined) return Either.left(bad)
    return Either.right(c._tag === "Remove" ? undefined : c.newValue)
  }

  // Walk down to the parent, remembering the containers so they can be rebuilt on the way back.
  const last = segments.length - 1
  const containers: Array<Json.Json> = []
  let node: Slot = result
  for (let depth = 0; depth < last && node !== undefined; depth++) {
    containers.push(node)
    node = child(node, segments[depth])
  }
  if (node === undefined) {
    return c._tag === "Insert"
      ? fail(c, "parent_absent", undefined, "the parent of the path does not exist")
      : fail(c, "path_absent", undefined, "the path holds no value")
  }

  const seg = segments[last]
  let updated: Json.Json
  if (seg._tag === "Key") {
    if (!Json.isObject(node)) {
      return c._tag === "Insert"
        ? fail(c, "parent_mismatch", undefined, `the parent is ${describe(node)}, not an object`)
        : fail(c, "path_absent", undefined, "the path holds no value")
    }
    const bad = check(c, node.get(seg.key))
    if (bad !== undefined) return Either.left(bad)
    const copy = copyOf(node)
    if (c._tag === "Remove") copy.delete(seg.key)
    else copy.set(seg.key, c.newValue)
    updated = copy
  } else {
    if (!Json.isArray(node)) {
      return c._tag === "Insert"
        ? fail(c, "parent_mismatch", undefined, `the parent is ${describe(node)}, not an array`)
        : fail(c, "path_absent", undefined, "the path holds no value")
    }
    const i = seg.index
    if (c._tag === "Insert" && i > node.length) {
      return fail(
        c,
        "index_out_of_range",
        undefined,
        `index ${i} is beyond the array's length ${node.length}`
      )
    }
    // An array insert shifts later elements instead of needing a free slot.
    const bad = check(c, c._tag === "Insert" ? undefined : node[i])
    if (bad !== undefined) return Either.left(bad)
    const copy = node.slice()
    if (c._tag === "Remove") copy.splice(i, 1)
    else if (c._tag === "Insert") copy.splice(i, 0, c.newValue)
    else copy[i] = c.newValue
    updated = copy
  }

  for (let depth = last - 1; depth >= 0; depth--)
    updated = withChild(containers[depth], segments[depth], updated)
  return Either.right(updated)
}

/**
 * The value at a path of a result, or `undefined` when the path holds none.
 *
 * @since 0.1.0
 */
export const read = (result: Slot, path: FieldPath): Slot => {
  let node = result
  for (const seg of path.segments) {
    if (node === undefined) return undefined
    node = child(node, seg)
  }
  return node
}

const child = (node: Json.Json, seg: Segment): Slot => {
  if (seg._tag === "Key") return Json.isObject(node) ? node.get(seg.key) : undefined
  return Json.isArray(node) ? node[seg.index] : undefined
}

const withChild = (node: Json.Json, seg: Segment, value: Json.Json): Json.Json => {
  if (seg._tag === "Key") {
    const copy = copyOf(node as Json.JsonObject)
    copy.set(seg.key, value)
    return copy
  }
  const copy = (node as Json.JsonArray).slice()
  copy[seg.index] = value
  return copy
}

/** A copy of an object to change: `new Map(map)` takes twice as long, through the iterable protocol. */
const copyOf = (map: Json.JsonObject): Map<string, Json.Json> => {
  const copy = new Map<string, Json.Json>()
  for (const [k, v] of map) copy.set(k, v)
  return copy
}
