/**
 * A lossless JSON value model.
 *
 * PostgreSQL's `jsonb` numbers are arbitrary-precision decimals; `JSON.parse` would turn
 * `12345678901234567890` into `12345678901234567000` and `1.50` into `1.5`. Here a number keeps the exact
 * text it was written with, objects are `ReadonlyMap`s (any key, including `__proto__`, is plain data),
 * and absence is `undefined` while JSON `null` is `null`.
 *
 * Values are immutable: nothing in core mutates a value it was given, so values can be shared between a
 * result and the events that touched it without one ever changing the other.
 *
 * @since 0.1.0
 */
import { Data, Either } from "effect"
import { ByteWriter } from "./internal/byteWriter.js"
import { writeValue } from "./internal/canonical.js"
import { Failure, scanNumber } from "./internal/lexer.js"
import { overBudget, run } from "./internal/parser.js"
import { type Json, type JsonArray, JsonNumber, type JsonObject } from "./internal/value.js"

/**
 * The value types: `Json` and its `JsonNumber`, `JsonArray` and `JsonObject`, defined below this module
 * (`internal/value.ts`) so that the canonical writer shares them without importing the parser.
 *
 * @since 0.1.0
 */
export { type Json, type JsonArray, JsonNumber, type JsonObject } from "./internal/value.js"

/**
 * Text that is not valid JSON.
 *
 * @since 0.1.0
 * @category errors
 */
export class JsonSyntaxError extends Data.TaggedError("JsonSyntaxError")<{
  readonly position: number
  readonly reason: string
}> {
  override get message(): string {
    return `invalid JSON at position ${this.position}: ${this.reason}`
  }
}

/**
 * JSON text holding more values than `parseWithin` was allowed to read.
 *
 * @since 0.1.0
 * @category errors
 */
export class JsonTooLarge extends Data.TaggedError("JsonTooLarge")<{
  /** The bound: how many values the text may hold. */
  readonly values: number
}> {
  override get message(): string {
    return `more than ${this.values.toLocaleString("en-US")} JSON values`
  }
}

/** @since 0.1.0 */
export const isObject = (value: Json): value is JsonObject => value instanceof Map

/** @since 0.1.0 */
export const isArray = (value: Json): value is JsonArray => Array.isArray(value)

/**
 * Builds a number from its decimal text; fails if the text is not a JSON number.
 *
 * @since 0.1.0
 */
export const number = (text: string): Either.Either<JsonNumber, JsonSyntaxError> => {
  const end = scanNumber(text, 0)
  if (typeof end !== "number") return Either.left(new JsonSyntaxError(end))
  if (end !== text.length)
    return Either.left(new JsonSyntaxError({ position: end, reason: "trailing characters" }))
  return Either.right(new JsonNumber(text))
}

/**
 * Builds an object from entries (a later duplicate key wins, as in PostgreSQL's `jsonb`).
 *
 * @since 0.1.0
 */
export const object = (entries: Iterable<readonly [string, Json]>): JsonObject => new Map(entries)

// ---------------------------------------------------------------------------------------------------------
// parsing
// ---------------------------------------------------------------------------------------------------------

/**
 * Parses JSON text (such as PostgreSQL's `jsonb` output) without any lossy number conversion, however
 * deep it nests.
 *
 * @since 0.1.0
 */
export const parse = (text: string): Either.Either<Json, JsonSyntaxError> => {
  const v = run(text, Number.POSITIVE_INFINITY)
  return v instanceof Failure ? Either.left(new JsonSyntaxError(v.failure)) : Either.right(v)
}

/**
 * Parses JSON text as `parse` does, holding at most `values` values (every scalar, array and object
 * counts one): text from a client, whose work and memory are bounded by its count of values rather than
 * its bytes (a MiB of `0,0,…` is half a million values). Stops at the first value past the bound.
 *
 * @since 0.1.0
 */
export const parseWithin = (
  text: string,
  values: number
): Either.Either<Json, JsonSyntaxError | JsonTooLarge> => {
  const v = run(text, values)
  if (v === overBudget) return Either.left(new JsonTooLarge({ values }))
  return v instanceof Failure ? Either.left(new JsonSyntaxError(v.failure)) : Either.right(v)
}

// ---------------------------------------------------------------------------------------------------------
// equality
// ---------------------------------------------------------------------------------------------------------

/**
 * Compares `a` and `b` but for their elements or members, which it pushes on `pending` in pairs to be
 * compared in turn.
 */
const shallowEquals = (a: Json, b: Json, pending: Array<Json>): boolean => {
  if (a === b) return true
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false
  if (a instanceof JsonNumber)
    return b instanceof JsonNumber && (a.text === b.text || a.decimalKey === b.decimalKey)
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) pending.push(a[i], b[i])
    return true
  }
  if (!(a instanceof Map) || !(b instanceof Map) || a.size !== b.size) return false
  for (const [k, v] of a) {
    const w = b.get(k)
    if (w === undefined) return false
    pending.push(v, w)
  }
  return true
}

/**
 * Deep equality of contract §3: objects as unordered key sets, arrays element by element, strings
 * exactly, numbers by exact decimal value. The pairs still to compare are kept on a stack, not in
 * calls, so any depth compares.
 *
 * @since 0.1.0
 */
export const equals = (a: Json, b: Json): boolean => {
  const pending: Array<Json> = [a, b]
  while (pending.length > 0) {
    const y = pending.pop()!
    if (!shallowEquals(pending.pop()!, y, pending)) return false
  }
  return true
}

/**
 * How many containers deep a value nests: 0 for a scalar, 1 for `[]` or `{"a": 1}`, 2 for `[[1]]`.
 *
 * @since 0.1.0
 */
export const depth = (value: Json): number => {
  // Values still to look at and their depths, on stacks rather than in calls: any depth measures.
  const pending: Array<Json> = [value]
  const depths: Array<number> = [0]
  let deepest = 0
  while (pending.length > 0) {
    const v = pending.pop()!
    const d = depths.pop()!
    if (v === null || typeof v !== "object" || v instanceof JsonNumber) continue
    if (d + 1 > deepest) deepest = d + 1
    for (const child of Array.isArray(v) ? v : (v as JsonObject).values()) {
      pending.push(child)
      depths.push(d + 1)
    }
  }
  return deepest
}

// ---------------------------------------------------------------------------------------------------------
// canonical text
// ---------------------------------------------------------------------------------------------------------

/**
 * Canonical compact JSON text (contract §6): object keys sorted by UTF-16 code units (RFC 8785), numbers
 * exactly as written, strings escaped exactly as `JSON.stringify` escapes them (only `"`, `\` and
 * characters below U+0020; U+2028 and emoji as themselves), no whitespace.
 *
 * @since 0.1.0
 */
export const stringify = (value: Json): string => {
  const w = new ByteWriter()
  writeValue(w, value)
  return w.toString()
}
