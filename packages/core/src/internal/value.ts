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

/**
 * Normalizes decimal text to `[-]digits e exponent` with no leading or trailing zeros in `digits`, so two
 * texts denote the same value exactly when their keys are equal. The exponent is a BigInt so that no
 * written exponent, however long, loses precision.
 */
const decimalKey = (text: string): string => {
  let i = 0
  const negative = text.charCodeAt(0) === 0x2d
  if (negative) i++
  let digits = ""
  let exponent = 0n
  let j = i
  while (j < text.length && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x39) j++
  digits = text.slice(i, j)
  if (text.charCodeAt(j) === 0x2e) {
    const f = j + 1
    j = f
    while (j < text.length && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x39) j++
    digits += text.slice(f, j)
    exponent -= BigInt(j - f)
  }
  if (j < text.length) exponent += BigInt(text.slice(j + 1))
  let lead = 0
  while (lead < digits.length && digits.charCodeAt(lead) === 0x30) lead++
  let trail = digits.length
  while (trail > lead && digits.charCodeAt(trail - 1) === 0x30) trail--
  if (lead === trail) return "0"
  exponent += BigInt(digits.length - trail)
  return `${negative ? "-" : ""}${digits.slice(lead, trail)}e${exponent}`
}
