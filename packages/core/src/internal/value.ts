/**
 * The JSON value types, below both the parser (`Json.ts`) and the canonical writer (`canonical.ts`),
 * which share them; `Json` re-exports them as its public API.
 */

/**
 * A JSON number kept as the decimal text it was written with, e.g. `1.50` or `12345678901234567890`.
 *
 * @since 0.1.0
 */
export class JsonNumber {
  #key: string | undefined
  constructor(readonly text: string) {}

  /** The exact decimal value, normalized so that equal values have equal keys (`1.50` and `15e-1`). */
  get decimalKey(): string {
    if (this.#key === undefined) this.#key = decimalKey(this.text)
    return this.#key
  }
}

/** @since 0.1.0 */
export interface JsonArray extends ReadonlyArray<Json> {}

/** @since 0.1.0 */
export interface JsonObject extends ReadonlyMap<string, Json> {}

/**
 * A JSON value. `undefined` is never a `Json`: it stands for "absent" where a slot may be empty.
 *
 * @since 0.1.0
 */
export type Json = null | boolean | string | JsonNumber | JsonArray | JsonObject

/** The digits `0`-`9`. */
const isDigitAt = (text: string, i: number): boolean => {
  const c = text.charCodeAt(i)
  return c >= 0x30 && c <= 0x39
}

/**
 * Normalizes decimal text to `[-]digits e exponent` with no leading or trailing zeros in `digits`, so two
 * texts denote the same value exactly when their keys are equal. Linear in the text: the written
 * exponent, however long, is never converted to a number (`BigInt` of a million digits takes ~0.4 s,
 * of 20 million ~20 s); only its last digits change, by the fraction's length and the trailing zeros.
 */
const decimalKey = (text: string): string => {
  let i = 0
  const negative = text.charCodeAt(0) === 0x2d
  if (negative) i++
  let j = i
  while (isDigitAt(text, j)) j++
  let digits = text.slice(i, j)
  let fraction = 0
  if (text.charCodeAt(j) === 0x2e) {
    const f = j + 1
    j = f
    while (isDigitAt(text, j)) j++
    digits += text.slice(f, j)
    fraction = j - f
  }
  let lead = 0
  while (lead < digits.length && digits.charCodeAt(lead) === 0x30) lead++
  let trail = digits.length
  while (trail > lead && digits.charCodeAt(trail - 1) === 0x30) trail--
  if (lead === trail) return "0"
  // The value is digits[lead, trail) × 10^(exponent − fraction + the trailing zeros).
  const exponent = j < text.length ? text.slice(j + 1) : "0"
  return `${negative ? "-" : ""}${digits.slice(lead, trail)}e${shift(exponent, digits.length - trail - fraction)}`
}

/** Digits of the exponent's magnitude that plain arithmetic adds exactly (with |delta| < 2^30). */
const EXACT = 15
const LOW = 10 ** EXACT

/**
 * `written` (an exponent: an optional sign and digits) plus `delta` (|delta| < 2^30: a string's length
 * bounds it), as canonical integer text (`BigInt`'s: no `+`, no leading zeros, `0`).
 */
const shift = (written: string, delta: number): string => {
  let k = 0
  const sign = written.charCodeAt(0)
  const negative = sign === 0x2d
  if (negative || sign === 0x2b) k++
  while (k < written.length - 1 && written.charCodeAt(k) === 0x30) k++
  const magnitude = written.slice(k)
  if (magnitude.length <= EXACT) return String((negative ? -Number(magnitude) : Number(magnitude)) + delta)
  // |exponent| ≥ 10^15 > |delta|: the sign stays, and only the last 15 digits change, with at most a
  // carry or a borrow of one into the digits before them.
  const cut = magnitude.length - EXACT
  let low = Number(magnitude.slice(cut)) + (negative ? -delta : delta)
  let high = magnitude.slice(0, cut)
  if (low >= LOW || low < 0) {
    const carry = low >= LOW ? 1 : -1
    low -= carry * LOW
    high = carry === 1 ? increment(high) : decrement(high)
  }
  const text = `${high}${String(low).padStart(EXACT, "0")}`
  let z = 0
  while (z < text.length - 1 && text.charCodeAt(z) === 0x30) z++
  return `${negative ? "-" : ""}${text.slice(z)}`
}

/** Decimal digits plus one: the trailing 9s become 0s. */
const increment = (digits: string): string => {
  let n = digits.length
  while (n > 0 && digits.charCodeAt(n - 1) === 0x39) n--
  const rest = "0".repeat(digits.length - n)
  return n === 0
    ? `1${rest}`
    : `${digits.slice(0, n - 1)}${String.fromCharCode(digits.charCodeAt(n - 1) + 1)}${rest}`
}

/** Decimal digits (not all zeros) minus one: the trailing 0s become 9s (a leading zero may be left). */
const decrement = (digits: string): string => {
  let n = digits.length
  while (digits.charCodeAt(n - 1) === 0x30) n--
  return `${digits.slice(0, n - 1)}${String.fromCharCode(digits.charCodeAt(n - 1) - 1)}${"9".repeat(digits.length - n)}`
}

/**
 * A JSON value still as canonical bytes, `bytes[start, end)`, never parsed: what replay on a result's
 * bytes (`replayText.ts`) leaves wherever no event reaches. Not part of the public `Json`: only the
 * canonical writer reads it, and copies it.
 */
export class Raw {
  constructor(
    readonly bytes: Uint8Array,
    readonly start: number,
    readonly end: number
  ) {}
}
