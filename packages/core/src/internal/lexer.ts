/**
 * Character-level scanning shared by the JSON parser and the field-path parser (both read JSON strings).
 * Functions return the end offset, or a negative number `-(position + 1)` naming the offending offset,
 * so the hot path allocates nothing on success.
 */

/** Is `c` a JSON whitespace character code? */
export const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

export const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39

const hexValue = (c: number): number => {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x57
  if (c >= 0x41 && c <= 0x46) return c - 0x37
  return -1
}

/** Where scanning a string failed, and why. */
export interface ScanFailure {
  readonly position: number
  readonly reason: string
}

/** A decoded JSON string and the offset just past its closing quote. */
export interface ScannedString {
  readonly value: string
  readonly end: number
}

/**
 * Scans the JSON string whose opening quote is at `start`. Strings without escapes are sliced, never
 * rebuilt; escapes are decoded exactly as RFC 8259 defines them.
 */
export const scanString = (text: string, start: number): ScannedString | ScanFailure => {
  let i = start + 1
  const n = text.length
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === 0x22) return { value: text.slice(start + 1, i), end: i + 1 }
    if (c === 0x5c) return decodeEscaped(text, start, i)
    if (c < 0x20) return { position: i, reason: "control character must be escaped in a string" }
    i++
  }
  return { position: n, reason: "unterminated string" }
}

const decodeEscaped = (text: string, start: number, firstEscape: number): ScannedString | ScanFailure => {
  let out = text.slice(start + 1, firstEscape)
  let i = firstEscape
  let run = i
  const n = text.length
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === 0x22) return { value: out + text.slice(run, i), end: i + 1 }
    if (c < 0x20) return { position: i, reason: "control character must be escaped in a string" }
    if (c !== 0x5c) {
      i++
      continue
    }
    out += text.slice(run, i)
    const e = text.charCodeAt(i + 1)
    switch (e) {
      case 0x22:
        out += '"'
        break
      case 0x5c:
        out += "\\"
        break
      case 0x2f:
        out += "/"
        break
      case 0x62:
        out += "\b"
        break
      case 0x66:
        out += "\f"
        break
      case 0x6e:
        out += "\n"
        break
      case 0x72:
        out += "\r"
        break
      case 0x74:
        out += "\t"
        break
      case 0x75: {
        let code = 0
        for (let k = 2; k < 6; k++) {
          const h = hexValue(text.charCodeAt(i + k))
          if (h < 0) return { position: i + k, reason: "\\u must be followed by four hex digits" }
          code = code * 16 + h
        }
        out += String.fromCharCode(code)
        i += 4
        break
      }
      default:
        return { position: i + 1, reason: "invalid escape sequence" }
    }
    i += 2
    run = i
  }
  return { position: n, reason: "unterminated string" }
}

/**
 * Scans a JSON number starting at `start` (RFC 8259 grammar). Returns the end offset or a failure.
 */
export const scanNumber = (text: string, start: number): number | ScanFailure => {
  let i = start
  if (text.charCodeAt(i) === 0x2d) i++
  const c = text.charCodeAt(i)
  if (c === 0x30) {
    i++
  } else if (c >= 0x31 && c <= 0x39) {
    i++
    while (isDigit(text.charCodeAt(i))) i++
  } else {
    return { position: i, reason: "expected a digit" }
  }
  if (text.charCodeAt(i) === 0x2e) {
    i++
    if (!isDigit(text.charCodeAt(i)))
      return { position: i, reason: "expected a digit after the decimal point" }
    while (isDigit(text.charCodeAt(i))) i++
  }
  const e = text.charCodeAt(i)
  if (e === 0x65 || e === 0x45) {
    i++
    const s = text.charCodeAt(i)
    if (s === 0x2b || s === 0x2d) i++
    if (!isDigit(text.charCodeAt(i))) return { position: i, reason: "expected a digit in the exponent" }
    while (isDigit(text.charCodeAt(i))) i++
  }
  return i
}

/** A scan that stopped, as a value: the hot paths return it rather than allocate an `Either`. */
export class Failure {
  constructor(readonly failure: ScanFailure) {}
}

/** A reading position in JSON text, shared by the parser and the canonicalizer. */
export class Scanner {
  text = ""
  i = 0

  skipSpace(): void {
    const t = this.text
    let i = this.i
    while (isSpace(t.charCodeAt(i))) i++
    this.i = i
  }

  fail(position: number, reason: string): Failure {
    return new Failure({ position, reason })
  }
}
