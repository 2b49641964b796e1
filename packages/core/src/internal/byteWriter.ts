/**
 * A growable UTF-8 byte buffer. The export writes each batch of samples straight into bytes: building
 * every line as a concatenated JS string and then encoding it cost more than half of an export's time,
 * most of it in the garbage collector.
 */

const decoder = new TextDecoder()

/** Lowercase hex digit of the low four bits of `n`, as a character code. */
const hex = (n: number): number => {
  const d = n & 15
  return d < 10 ? 0x30 + d : 0x57 + d
}

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff

/** A surrogate pair as the 4 UTF-8 bytes of its code point, at `b[p]`; returns the next offset. */
const pair = (b: Uint8Array, p: number, high: number, low: number): number => {
  const cp = 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)
  b[p++] = 0xf0 | (cp >> 18)
  b[p++] = 0x80 | ((cp >> 12) & 63)
  b[p++] = 0x80 | ((cp >> 6) & 63)
  b[p++] = 0x80 | (cp & 63)
  return p
}

/**
 * One non-ASCII code unit that is not half of a pair, at `b[p]`; returns the next offset. A lone
 * surrogate has no UTF-8 form: `\udxxx` inside a JSON string (`inString`, as `JSON.stringify` writes
 * it), U+FFFD elsewhere (as `TextEncoder` does).
 */
const single = (b: Uint8Array, p: number, c: number, inString: boolean): number => {
  if (c < 0x800) {
    b[p++] = 0xc0 | (c >> 6)
    b[p++] = 0x80 | (c & 63)
  } else if (c < 0xd800 || c > 0xdfff) {
    b[p++] = 0xe0 | (c >> 12)
    b[p++] = 0x80 | ((c >> 6) & 63)
    b[p++] = 0x80 | (c & 63)
  } else if (inString) {
    b[p++] = 0x5c
    b[p++] = 0x75
    b[p++] = hex(c >> 12)
    b[p++] = hex(c >> 8)
    b[p++] = hex(c >> 4)
    b[p++] = hex(c)
  } else {
    b[p++] = 0xef
    b[p++] = 0xbf
    b[p++] = 0xbd
  }
  return p
}

export class ByteWriter {
  buf: Uint8Array
  pos = 0

  constructor(readonly capacity = 4096) {
    this.buf = new Uint8Array(capacity)
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n))
      next.set(this.buf.subarray(0, this.pos))
      this.buf = next
    }
  }

  byte(b: number): void {
    this.ensure(1)
    this.buf[this.pos++] = b
  }

  /** Text written as it is (UTF-8), no quotes, no escapes: syntax, digits, timestamps. */
  text(s: string, start = 0, end = s.length): void {
    this.ensure(end - start)
    const b = this.buf
    let p = this.pos
    for (let i = start; i < end; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x80) {
        this.pos = p
        this.utf8(s, i, end)
        return
      }
      b[p++] = c
    }
    this.pos = p
  }

  private utf8(s: string, start: number, end: number): void {
    this.ensure((end - start) * 3)
    const b = this.buf
    let p = this.pos
    for (let i = start; i < end; i++) {
      const c = s.charCodeAt(i)
      if (c < 0x80) b[p++] = c
      else if (isHigh(c) && i + 1 < end && isLow(s.charCodeAt(i + 1))) p = pair(b, p, c, s.charCodeAt(++i))
      else p = single(b, p, c, false)
    }
    this.pos = p
  }

  /** `s` as a canonical JSON string (contract §6), quotes included. */
  string(s: string): void {
    this.quoted(s, 0, s.length)
  }

  /**
   * `s[start, end)` as a canonical JSON string: only `"`, `\` and characters below U+0020 escaped (short
   * forms where JSON has them, else lowercase `\u00xx`), a lone surrogate as `\udxxx`, everything else
   * as itself: byte for byte what `JSON.stringify` gives, encoded as UTF-8.
   */
  quoted(s: string, start: number, end: number): void {
    this.ensure((end - start) * 6 + 2)
    const b = this.buf
    let p = this.pos
    b[p++] = 0x22
    for (let i = start; i < end; i++) {
      const c = s.charCodeAt(i)
      if (c < 0x80) {
        if (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
          b[p++] = c
          continue
        }
        b[p++] = 0x5c
        switch (c) {
          case 0x22:
          case 0x5c:
            b[p++] = c
            break
          case 0x08:
            b[p++] = 0x62
            break
          case 0x0c:
            b[p++] = 0x66
            break
          case 0x0a:
            b[p++] = 0x6e
            break
          case 0x0d:
            b[p++] = 0x72
            break
          case 0x09:
            b[p++] = 0x74
            break
          default:
            b[p++] = 0x75
            b[p++] = 0x30
            b[p++] = 0x30
            b[p++] = hex(c >> 4)
            b[p++] = hex(c)
        }
      } else if (isHigh(c) && i + 1 < end && isLow(s.charCodeAt(i + 1))) {
        p = pair(b, p, c, s.charCodeAt(++i))
      } else {
        p = single(b, p, c, true)
      }
    }
    b[p++] = 0x22
    this.pos = p
  }

  /** Appends a copy of bytes already written, `[start, end)`. */
  repeat(start: number, end: number): void {
    this.ensure(end - start)
    this.buf.copyWithin(this.pos, start, end)
    this.pos += end - start
  }

  /** Appends a copy of `bytes[start, end)` (of another buffer). */
  copy(bytes: Uint8Array, start: number, end: number): void {
    this.ensure(end - start)
    const b = this.buf
    let p = this.pos
    // Most spans are short, and a loop beats the call into `set` for them.
    if (end - start > 64) {
      b.set(bytes.subarray(start, end), p)
      p += end - start
    } else for (let i = start; i < end; i++) b[p++] = bytes[i]
    this.pos = p
  }

  /** The bytes written so far; the writer starts over on a fresh buffer about as large. */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.pos)
    this.buf = new Uint8Array(Math.max(this.capacity, this.pos + (this.pos >> 3)))
    this.pos = 0
    return out
  }

  /** The bytes written so far as a string; the writer keeps them. */
  toString(): string {
    return decoder.decode(this.buf.subarray(0, this.pos))
  }
}
