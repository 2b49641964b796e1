/**
 * Field paths (contract §2): where in a result a correction applies.
 *
 * ```
 * path   := "" | first rest*
 * first  := ident | quoted | index
 * rest   := "." ident | quoted | index
 * ident  := [A-Za-z_][A-Za-z0-9_]*
 * quoted := "[" JSON-string "]"
 * index  := "[" ("0" | [1-9][0-9]*) "]"
 * ```
 *
 * A parsed path remembers how each quoted key was written, so `print(parse(text))` gives back `text`
 * exactly, whatever escapes it used.
 *
 * @since 0.1.0
 */
import { Either, Schema } from "effect"
import { isDigit, scanString } from "./internal/lexer.js"

/**
 * An object key. `quoted` is the JSON string exactly as written between the brackets, when the key was
 * written in bracket form.
 *
 * @since 0.1.0
 */
export interface Key {
  readonly _tag: "Key"
  readonly key: string
  readonly quoted?: string
}

/** @since 0.1.0 */
export interface Index {
  readonly _tag: "Index"
  readonly index: number
}

/** @since 0.1.0 */
export type Segment = Key | Index

/**
 * A parsed field path: its text as written and its segments. The root (`""`) has no segments.
 *
 * @since 0.1.0
 */
export interface FieldPath {
  readonly text: string
  readonly segments: ReadonlyArray<Segment>
}

/**
 * A field path that does not follow the grammar of contract §2.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidFieldPath extends Schema.TaggedError<InvalidFieldPath>()("InvalidFieldPath", {
  path: Schema.String,
  position: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid field path ${JSON.stringify(this.path)} at position ${this.position}: ${this.reason}`
  }
}

/** @since 0.1.0 */
export const key = (name: string): Key => ({ _tag: "Key", key: name })

/** @since 0.1.0 */
export const index = (i: number): Index => ({ _tag: "Index", index: i })

/** The whole result. @since 0.1.0 */
export const root: FieldPath = { text: "", segments: [] }

const isIdentStart = (c: number) => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f
const isIdentPart = (c: number) => isIdentStart(c) || isDigit(c)

/** @since 0.1.0 */
export const isIdentifier = (s: string): boolean => {
  if (s.length === 0 || !isIdentStart(s.charCodeAt(0))) return false
  for (let i = 1; i < s.length; i++) if (!isIdentPart(s.charCodeAt(i))) return false
  return true
}

/**
 * Paths parsed lately, by their text: an export reads the same few paths in job after job
 * (`personel[0].nama`). Parsed paths are immutable, so they are shared; the memo is bounded.
 */
const memo = new Map<string, Either.Either<FieldPath, InvalidFieldPath>>()
const MEMO_ENTRIES = 1024
const MEMO_LENGTH = 128

/**
 * Parses a field path. Indices beyond `Number.MAX_SAFE_INTEGER` are rejected: no array can hold them.
 *
 * @since 0.1.0
 */
export const parse = (text: string): Either.Either<FieldPath, InvalidFieldPath> => {
  const known = memo.get(text)
  if (known !== undefined) return known
  const parsed = parseText(text)
  if (text.length <= MEMO_LENGTH) {
    if (memo.size >= MEMO_ENTRIES) memo.clear()
    memo.set(text, parsed)
  }
  return parsed
}

const parseText = (text: string): Either.Either<FieldPath, InvalidFieldPath> => {
  const segments: Array<Segment> = []
  const fail = (position: number, reason: string) =>
    Either.left(new InvalidFieldPath({ path: text, position, reason }))
  const n = text.length
  let i = 0
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === 0x5b) {
      const d = text.charCodeAt(i + 1)
      if (d === 0x22) {
        const s = scanString(text, i + 1)
        if ("reason" in s) return fail(s.position, s.reason)
        if (text.charCodeAt(s.end) !== 0x5d) return fail(s.end, "expected ']' after the quoted key")
        segments.push({ _tag: "Key", key: s.value, quoted: text.slice(i + 1, s.end) })
        i = s.end + 1
      } else if (isDigit(d)) {
        let j = i + 1
        while (isDigit(text.charCodeAt(j))) j++
        if (d === 0x30 && j > i + 2) return fail(i + 1, "an index has no leading zeros")
        if (text.charCodeAt(j) !== 0x5d) return fail(j, "expected ']' after the index")
        const value = Number(text.slice(i + 1, j))
        if (!Number.isSafeInteger(value)) return fail(i + 1, "index is too large")
        segments.push({ _tag: "Index", index: value })
        i = j + 1
      } else {
        return fail(i + 1, "expected an index or a quoted key after '['")
      }
      continue
    }
    let start = i
    if (c === 0x2e) {
      if (segments.length === 0) return fail(i, "a path cannot start with '.'")
      start = i + 1
    } else if (segments.length > 0) {
      return fail(i, "expected '.' or '['")
    }
    if (!isIdentStart(text.charCodeAt(start))) return fail(start, "expected an identifier")
    let j = start + 1
    while (isIdentPart(text.charCodeAt(j))) j++
    segments.push({ _tag: "Key", key: text.slice(start, j) })
    i = j
  }
  return Either.right({ text, segments })
}

/**
 * Prints segments as a path. Keys keep their bracket form when they were written in one; other keys
 * are printed as identifiers when they can be, and quoted otherwise.
 *
 * @since 0.1.0
 */
export const print = (
  segments: ReadonlyArray<Segment>,
  options: { readonly indices?: boolean } = {}
): string => {
  let out = ""
  for (const s of segments) {
    if (s._tag === "Index") out += options.indices === false ? "[]" : `[${s.index}]`
    else if (s.quoted !== undefined) out += `[${s.quoted}]`
    else if (isIdentifier(s.key)) out += out.length === 0 ? s.key : `.${s.key}`
    else out += `[${JSON.stringify(s.key)}]`
  }
  return out
}

/**
 * The path with every array index left out (`personel[3].nrp` → `personel[].nrp`): the field it names
 * in any row of a table. A text that is not a valid path is returned as it is.
 *
 * @since 0.1.0
 */
export const group = (text: string): string =>
  Either.match(parse(text), {
    onLeft: () => text,
    onRight: (path) =>
      path.segments.some((s) => s._tag === "Index") ? print(path.segments, { indices: false }) : text
  })

/** @since 0.1.0 */
export const fromSegments = (segments: ReadonlyArray<Segment>): FieldPath => ({
  text: print(segments),
  segments
})
