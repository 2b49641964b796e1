/**
 * The JSON parser behind `Json.parse` (and a reader of a value inside a larger text, `valueAt`): no lossy
 * number conversion, any depth.
 */
import { Failure, isDigit, Scanner, scanNumber, scanString } from "./lexer.js"
import { type Json, JsonNumber } from "./value.js"

/**
 * A parser with its own stack of open containers rather than one call per level: PostgreSQL stores
 * jsonb some 14,000 levels deep, deeper than recursion could go. One per module, reused: `parse` never
 * re-enters itself, and the stacks keep their capacity.
 */
class Parser extends Scanner {
  /** How many more values the text may hold: `parseWithin`'s bound, counted down as they start. */
  budget = Number.POSITIVE_INFINITY
  /** The containers being filled around the innermost one, innermost last. */
  open: Array<Array<Json> | Map<string, Json>> = []
  /** For each object on `open`, the key its next value goes under ("" for an array). */
  keys: Array<string> = []

  value(): Json | Failure {
    const t = this.text
    // The innermost container being filled, kept out of `open` so the common steps need no lookup.
    let top: Array<Json> | Map<string, Json> | undefined
    let inArray = false
    let key = ""
    for (;;) {
      this.skipSpace()
      const start = this.i
      if (--this.budget < 0) return overBudget
      const c = t.charCodeAt(start)
      let v: Json | Failure
      switch (c) {
        case 0x22:
          v = this.string()
          break
        case 0x5b:
          this.i++
          this.skipSpace()
          if (t.charCodeAt(this.i) === 0x5d) {
            this.i++
            v = []
            break
          }
          if (top !== undefined) {
            this.open.push(top)
            this.keys.push(key)
          }
          top = []
          inArray = true
          continue
        case 0x7b: {
          this.i++
          this.skipSpace()
          if (t.charCodeAt(this.i) === 0x7d) {
            this.i++
            v = new Map()
            break
          }
          const k = this.key()
          if (k instanceof Failure) return k
          if (top !== undefined) {
            this.open.push(top)
            this.keys.push(key)
          }
          top = new Map()
          inArray = false
          key = k
          continue
        }
        case 0x74:
          v = this.literal("true", true)
          break
        case 0x66:
          v = this.literal("false", false)
          break
        case 0x6e:
          v = this.literal("null", null)
          break
        default: {
          if (Number.isNaN(c)) return this.fail(start, "unexpected end of input")
          if (c !== 0x2d && !isDigit(c)) return this.fail(start, "expected a JSON value")
          const end = scanNumber(t, start)
          if (typeof end !== "number") return new Failure(end)
          this.i = end
          v = new JsonNumber(t.slice(start, end))
        }
      }
      if (v instanceof Failure) return v
      // A value is complete: it goes into its container, which may be complete too, and so on up.
      for (;;) {
        if (top === undefined) return v
        if (inArray) (top as Array<Json>).push(v)
        else (top as Map<string, Json>).set(key, v)
        this.skipSpace()
        const d = t.charCodeAt(this.i++)
        if (d === 0x2c) {
          if (!inArray) {
            const k = this.key()
            if (k instanceof Failure) return k
            key = k
          }
          break
        }
        if (d !== (inArray ? 0x5d : 0x7d))
          return this.fail(this.i - 1, inArray ? "expected ',' or ']'" : "expected ',' or '}'")
        v = top
        top = this.open.pop()
        key = this.keys.pop() ?? ""
        inArray = Array.isArray(top)
      }
    }
  }

  /** An object member's key and the `:` after it. */
  key(): string | Failure {
    const t = this.text
    this.skipSpace()
    if (t.charCodeAt(this.i) !== 0x22) return this.fail(this.i, "expected a string key")
    const k = this.string()
    if (k instanceof Failure) return k
    this.skipSpace()
    if (t.charCodeAt(this.i) !== 0x3a) return this.fail(this.i, "expected ':'")
    this.i++
    return k
  }

  /** The string whose opening quote is at `i`: sliced when it has no escapes, else decoded. */
  string(): string | Failure {
    const t = this.text
    const start = this.i
    const close = t.indexOf('"', start + 1)
    if (close > 0) {
      let k = start + 1
      for (; k < close; k++) {
        const c = t.charCodeAt(k)
        if (c === 0x5c || c < 0x20) break
      }
      if (k === close) {
        this.i = close + 1
        return t.slice(start + 1, close)
      }
    }
    const s = scanString(t, start)
    if ("reason" in s) return new Failure(s)
    this.i = s.end
    return s.value
  }

  literal(word: string, value: Json): Json | Failure {
    if (!this.text.startsWith(word, this.i)) return this.fail(this.i, "expected a JSON value")
    this.i += word.length
    return value
  }
}

const parser = new Parser()

/** The parse stopped at the value past its bound (`parseWithin`). */
export const overBudget = new Failure({ position: 0, reason: "more values than allowed" })

/** Where the last value parsed ended. */
let end = 0

/**
 * Parses `text` from `start` (spaces before the value allowed): the value, or where and why it failed;
 * with `whole`, nothing but spaces may follow it. At most `values` values (`overBudget` past them).
 */
const parseFrom = (text: string, start: number, values: number, whole: boolean): Json | Failure => {
  const p = parser
  // Empty already, unless an earlier call threw (a Map past its size limit, say) halfway.
  p.open.length = 0
  p.keys.length = 0
  p.text = text
  p.i = start
  p.budget = values
  let v = p.value()
  if (whole && !(v instanceof Failure)) {
    p.skipSpace()
    if (p.i !== text.length) v = p.fail(p.i, "trailing characters")
  }
  end = p.i
  // The parser keeps nothing of this text alive, nor leaves anything for the next call.
  p.text = ""
  p.open.length = 0
  p.keys.length = 0
  return v
}

/** The whole of `text` as one value, at most `values` of them (`Json.parse`, `Json.parseWithin`). */
export const run = (text: string, values: number): Json | Failure => parseFrom(text, 0, values, true)

/**
 * The value at `text[start]` (spaces before it allowed), the text after it not looked at, and where it
 * ends (`valueEnd`): for a reader of a larger text that knows its shape (`internal/events.ts`).
 */
export const valueAt = (text: string, start: number): Json | Failure =>
  parseFrom(text, start, Number.POSITIVE_INFINITY, false)

/** Where the value `valueAt` parsed last ended. */
export const valueEnd = (): number => end
