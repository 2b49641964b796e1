/**
 * Canonical JSON bytes (contract §6): compact, object keys sorted by UTF-16 code units, numbers as
 * written, strings escaped as `JSON.stringify` escapes them. Written from a value, or straight from JSON
 * text in one pass without building a value: PostgreSQL hands `jsonb` over as text with its keys in its
 * own order (shortest first) and a space after each `:` and `,`, and most results are never replayed,
 * so building and then dropping a tree for each would be pure garbage.
 */
import type { ByteWriter } from "./byteWriter.js"
import { Failure, isSpace, type ScanFailure, Scanner, scanNumber, scanString } from "./lexer.js"
import { type Json, type JsonArray, type JsonNumber, type JsonObject, Raw } from "./value.js"

/**
 * Sorts keys by UTF-16 code units (JavaScript's `<` on strings), the order RFC 8785 asks for. Objects
 * are small: an insertion sort allocates nothing, where `Array#sort` allocates for every call.
 */
const sortKeys = (keys: Array<string>): void => {
  if (keys.length > 16) {
    keys.sort()
    return
  }
  for (let k = 1; k < keys.length; k++) {
    const x = keys[k]
    let j = k - 1
    for (; j >= 0 && keys[j] > x; j--) keys[j + 1] = keys[j]
    keys[j + 1] = x
  }
}

/**
 * The containers `writeValue` is inside, around the innermost one: an array, or an object's sorted
 * keys with the object in `objects`; and the index of the element or key being written. A stack
 * rather than calls, so any depth writes; shared, as `writeValue` never re-enters itself.
 */
const within: Array<JsonArray | Array<string>> = []
const objects: Array<JsonObject | undefined> = []
const at: Array<number> = []
/**
 * The sorted keys of the objects being written, one array per level of object nesting, reused: an array
 * per object written was an eighth of everything an export allocated.
 */
const keyLists: Array<Array<string>> = []

/** Where `collectKey` puts the keys of the object being written (a module function: no closure a call). */
let collecting: Array<string> = []
const collectKey = (_: Json, key: string): void => {
  collecting.push(key)
}

/** Writes a value's canonical text. */
export const writeValue = (w: ByteWriter, value: Json): void => {
  const base = within.length
  // The innermost container, kept out of the stack so the common steps need no lookup.
  let container: JsonArray | Array<string> | undefined
  let object: JsonObject | undefined
  let i = 0
  // How many objects are open: the next one's keys go in `keyLists[objectDepth]`.
  let objectDepth = 0
  let next = value
  for (;;) {
    if (next === null) w.text("null")
    else if (typeof next === "string") w.string(next)
    else if (typeof next === "boolean") w.text(next ? "true" : "false")
    else if (Array.isArray(next)) {
      w.byte(0x5b)
      if (next.length > 0) {
        if (container !== undefined) {
          within.push(container)
          objects.push(object)
          at.push(i)
        }
        container = next
        object = undefined
        i = 0
        next = next[0]
        continue
      }
      w.byte(0x5d)
    } else if (next instanceof Map) {
      const map = next as JsonObject
      w.byte(0x7b)
      if (map.size > 0) {
        let keys = keyLists[objectDepth]
        if (keys === undefined) keyLists[objectDepth] = keys = []
        // Empty unless a write threw halfway (a buffer past its limit, say).
        else keys.length = 0
        objectDepth++
        collecting = keys
        map.forEach(collectKey)
        sortKeys(keys)
        if (container !== undefined) {
          within.push(container)
          objects.push(object)
          at.push(i)
        }
        container = keys
        object = map
        i = 0
        w.string(keys[0])
        w.byte(0x3a)
        next = map.get(keys[0])!
        continue
      }
      w.byte(0x7d)
    } else if (next instanceof Raw) w.copy(next.bytes, next.start, next.end)
    else w.text((next as JsonNumber).text)
    // A value is written: its container's next element follows, or the container ends, and so on up.
    for (;;) {
      if (container === undefined) return
      if (++i < container.length) {
        w.byte(0x2c)
        if (object === undefined) next = (container as JsonArray)[i]
        else {
          const key = (container as Array<string>)[i]
          w.string(key)
          w.byte(0x3a)
          next = object.get(key)!
        }
        break
      }
      if (object === undefined) w.byte(0x5d)
      else {
        w.byte(0x7d)
        // Emptied, so that no key stays reachable after its value was written.
        ;(container as Array<string>).length = 0
        objectDepth--
      }
      if (within.length === base) container = undefined
      else {
        container = within.pop()
        object = objects.pop()
        i = at.pop()!
      }
    }
  }
}

/**
 * One object member on the member stack: where its bytes are in the output, where its key's text is
 * in the input, and the decoded key (an index into `keys`) when the key has escapes, else -1.
 */
const OUT_START = 0
const OUT_END = 1
const KEY_START = 2
const KEY_END = 3
const KEY_DECODED = 4
const MEMBER = 5

/** A flat object's member in `Canonicalizer.spans`: its key's quotes, and its value's start and end. */
const FLAT = 4
/** Larger objects take the general path. */
const FLAT_MEMBERS = 32

/**
 * Writes the string between the quotes at `t[start]` and `t[close]` when it has neither escapes nor
 * control characters (its characters are its text); else writes nothing and returns false.
 */
const plainString = (w: ByteWriter, t: string, start: number, close: number): boolean => {
  w.ensure(close - start + 1)
  const b = w.buf
  let p = w.pos
  for (let k = start; k < close; k++) {
    const c = t.charCodeAt(k)
    if (c === 0x5c || c < 0x20) return false
    if (c >= 0x80) {
      // Not ASCII: written by the general encoder, surrogates and all, once the rest is known plain.
      for (let j = k + 1; j < close; j++) {
        const d = t.charCodeAt(j)
        if (d === 0x5c || d < 0x20) return false
      }
      w.quoted(t, start + 1, close)
      return true
    }
    b[p++] = c
  }
  b[p++] = 0x22
  w.pos = p
  return true
}

/** UTF-16 code unit order of the keys of two flat members (offsets into `spans`). */
const compareKeys = (t: string, s: Int32Array, a: number, b: number): number => {
  let i = s[a] + 1
  let j = s[b] + 1
  const ie = s[a + 1]
  const je = s[b + 1]
  for (; i < ie && j < je; i++, j++) {
    const d = t.charCodeAt(i) - t.charCodeAt(j)
    if (d !== 0) return d
  }
  return ie - i - (je - j)
}

/**
 * One per module, reused: `canonicalize` never re-enters itself, and its stacks keep their capacity.
 * Containers are on a stack of its own, not one call per level, so any depth PostgreSQL stores writes.
 */
class Canonicalizer extends Scanner {
  /** Members of the objects being written, innermost last; `top` is the first free slot. */
  members = new Int32Array(MEMBER * 64)
  top = 0
  keys: Array<string> = []
  /**
   * The containers being written, innermost last, two slots each: an object's first slot on the member
   * stack (-1 for an array), and the length of `keys` when it opened.
   */
  open = new Int32Array(2 * 64)
  depth = 0
  /** Scratch for `sort` and `flat`: member offsets in key order. */
  order: Array<number> = []
  /** A flat object's members (`flat`): where each key's quotes and each value are in the text. */
  spans = new Int32Array(FLAT * FLAT_MEMBERS)
  /** Set by `string()`: the decoded text when the string had escapes. */
  decoded: string | undefined = undefined

  value(w: ByteWriter): Failure | undefined {
    const t = this.text
    for (;;) {
      this.skipSpace()
      const start = this.i
      const c = t.charCodeAt(start)
      let f: Failure | undefined
      switch (c) {
        case 0x22:
          f = this.string(w)
          break
        case 0x5b:
        case 0x7b: {
          if (c === 0x7b && this.flat(w)) break
          const close = c + 2 // "]" and "}" come two code points after "[" and "{"
          this.i++
          w.byte(c)
          this.skipSpace()
          if (t.charCodeAt(this.i) === close) {
            this.i++
            w.byte(close)
            break
          }
          this.enter(c === 0x7b ? this.top : -1)
          if (c === 0x7b) {
            f = this.member(w)
            if (f !== undefined) return f
          }
          continue
        }
        case 0x74:
          f = this.literal(w, "true")
          break
        case 0x66:
          f = this.literal(w, "false")
          break
        case 0x6e:
          f = this.literal(w, "null")
          break
        default: {
          if (Number.isNaN(c)) return this.fail(start, "unexpected end of input")
          if (c !== 0x2d && !(c >= 0x30 && c <= 0x39)) return this.fail(start, "expected a JSON value")
          const end = scanNumber(t, start)
          if (typeof end !== "number") return new Failure(end)
          w.text(t, start, end)
          this.i = end
        }
      }
      if (f !== undefined) return f
      // A value is written: a ',' and the next one follow, or its container ends, and so on up.
      for (;;) {
        if (this.depth === 0) return undefined
        const frame = 2 * (this.depth - 1)
        const base = this.open[frame]
        // The member's bytes end here (the stack may have grown, and moved, while they were written).
        if (base >= 0) this.members[this.top - MEMBER + OUT_END] = w.pos
        this.skipSpace()
        const d = t.charCodeAt(this.i++)
        if (d === 0x2c) {
          w.byte(0x2c)
          if (base >= 0) {
            f = this.member(w)
            if (f !== undefined) return f
          }
          break
        }
        if (base < 0) {
          if (d !== 0x5d) return this.fail(this.i - 1, "expected ',' or ']'")
          w.byte(0x5d)
        } else {
          if (d !== 0x7d) return this.fail(this.i - 1, "expected ',' or '}'")
          // Members are written in the order they come, then moved into key order if not in it.
          this.sort(w, base)
          this.top = base
          this.keys.length = this.open[frame + 1]
          w.byte(0x7d)
        }
        this.depth--
      }
    }
  }

  /**
   * An object whose members are all plain (keys and strings without escapes or control characters,
   * numbers, literals), the common shape (a header, a row of the table), written in one go: its members
   * found first, then written in key order straight from the text, rather than written as they come and
   * moved. Anything else (a container inside, an escape, a duplicate key, a syntax error) leaves the
   * writer and the position as they were and returns false, for the general path to write or to say
   * what is wrong.
   */
  flat(w: ByteWriter): boolean {
    const t = this.text
    const s = this.spans
    let n = 0
    let i = this.i + 1
    for (;;) {
      while (isSpace(t.charCodeAt(i))) i++
      if (t.charCodeAt(i) !== 0x22 || n === FLAT_MEMBERS) return false
      // Up to the next quote: an escaped one ends the string too early, and then the syntax around it
      // or the backslash before it, found as it is written, sends the object to the general path.
      const keyEnd = t.indexOf('"', i + 1)
      if (keyEnd < 0) return false
      let k = keyEnd + 1
      while (isSpace(t.charCodeAt(k))) k++
      if (t.charCodeAt(k) !== 0x3a) return false
      k++
      while (isSpace(t.charCodeAt(k))) k++
      const v = t.charCodeAt(k)
      let end: number
      if (v === 0x22) {
        end = t.indexOf('"', k + 1)
        if (end < 0) return false
        end++
      } else if (v === 0x74 || v === 0x66 || v === 0x6e) {
        const word = v === 0x74 ? "true" : v === 0x66 ? "false" : "null"
        if (!t.startsWith(word, k)) return false
        end = k + word.length
      } else {
        const e = scanNumber(t, k)
        if (typeof e !== "number") return false
        end = e
      }
      const m = FLAT * n++
      s[m] = i
      s[m + 1] = keyEnd
      s[m + 2] = k
      s[m + 3] = end
      i = end
      while (isSpace(t.charCodeAt(i))) i++
      const d = t.charCodeAt(i++)
      if (d === 0x7d) break
      if (d !== 0x2c) return false
    }
    // Insertion sort of the members by key (UTF-16 code units): objects are small.
    const order = this.order
    while (order.length < n) order.push(0)
    for (let a = 0; a < n; a++) {
      const x = FLAT * a
      let b = a - 1
      for (; b >= 0; b--) {
        const d = compareKeys(t, s, order[b], x)
        if (d === 0) return false
        if (d < 0) break
        order[b + 1] = order[b]
      }
      order[b + 1] = x
    }
    const from = w.pos
    w.byte(0x7b)
    for (let a = 0; a < n; a++) {
      const m = order[a]
      if (a > 0) w.byte(0x2c)
      let plain = plainString(w, t, s[m], s[m + 1])
      w.byte(0x3a)
      if (t.charCodeAt(s[m + 2]) === 0x22) plain &&= plainString(w, t, s[m + 2], s[m + 3] - 1)
      else w.text(t, s[m + 2], s[m + 3])
      if (!plain) {
        w.pos = from
        return false
      }
    }
    w.byte(0x7d)
    this.i = i
    return true
  }

  literal(w: ByteWriter, word: string): Failure | undefined {
    if (!this.text.startsWith(word, this.i)) return this.fail(this.i, "expected a JSON value")
    this.i += word.length
    w.text(word)
    return undefined
  }

  /** Opens a container: an object's first member slot, or -1 for an array. */
  enter(base: number): void {
    const at = 2 * this.depth
    if (at + 2 > this.open.length) {
      const bigger = new Int32Array(this.open.length * 2)
      bigger.set(this.open)
      this.open = bigger
    }
    this.open[at] = base
    this.open[at + 1] = this.keys.length
    this.depth++
  }

  /** An object member's key and `:`, written, and its slot on the member stack. */
  member(w: ByteWriter): Failure | undefined {
    const t = this.text
    this.skipSpace()
    if (t.charCodeAt(this.i) !== 0x22) return this.fail(this.i, "expected a string key")
    const outStart = w.pos
    const keyStart = this.i + 1
    const k = this.string(w)
    if (k !== undefined) return k
    let decoded = -1
    if (this.decoded !== undefined) {
      decoded = this.keys.length
      this.keys.push(this.decoded)
    }
    const member = this.push()
    const m = this.members
    m[member + OUT_START] = outStart
    m[member + KEY_START] = keyStart
    m[member + KEY_END] = this.i - 1
    m[member + KEY_DECODED] = decoded
    this.skipSpace()
    if (t.charCodeAt(this.i) !== 0x3a) return this.fail(this.i, "expected ':'")
    this.i++
    w.byte(0x3a)
    return undefined
  }

  /**
   * A string: copied when it has no escapes (PostgreSQL's escapes are canonical already, but text from
   * elsewhere may differ), else decoded and written again.
   */
  string(w: ByteWriter): Failure | undefined {
    const t = this.text
    const start = this.i
    const close = t.indexOf('"', start + 1)
    if (close > 0 && plainString(w, t, start, close)) {
      this.i = close + 1
      this.decoded = undefined
      return undefined
    }
    // Escapes (PostgreSQL's are canonical already, but text from elsewhere may differ), or an error:
    // decoded, and written again.
    const s = scanString(t, start)
    if ("reason" in s) return new Failure(s)
    w.string(s.value)
    this.i = s.end
    this.decoded = s.value
    return undefined
  }

  /** A new member slot on the stack; returns its offset. */
  push(): number {
    const at = this.top
    if (at + MEMBER > this.members.length) {
      const bigger = new Int32Array(this.members.length * 2)
      bigger.set(this.members)
      this.members = bigger
    }
    this.top = at + MEMBER
    return at
  }

  /** UTF-16 code unit order of the keys of members `a` and `b` (offsets into the member stack). */
  compare(a: number, b: number): number {
    const m = this.members
    if (m[a + KEY_DECODED] < 0 && m[b + KEY_DECODED] < 0) {
      const t = this.text
      let i = m[a + KEY_START]
      let j = m[b + KEY_START]
      const ie = m[a + KEY_END]
      const je = m[b + KEY_END]
      for (; i < ie && j < je; i++, j++) {
        const d = t.charCodeAt(i) - t.charCodeAt(j)
        if (d !== 0) return d
      }
      return ie - i - (je - j)
    }
    const x = this.key(a)
    const y = this.key(b)
    return x < y ? -1 : x > y ? 1 : 0
  }

  key(member: number): string {
    const m = this.members
    const d = m[member + KEY_DECODED]
    return d >= 0 ? this.keys[d] : this.text.slice(m[member + KEY_START], m[member + KEY_END])
  }

  /**
   * Moves the members from `base` on into key order, keeping only the last of equal keys (a later
   * duplicate wins, as in `jsonb`). The members' bytes are copied past the end of the buffer and back.
   */
  sort(w: ByteWriter, base: number): void {
    const count = (this.top - base) / MEMBER
    if (count < 2) return
    const order = this.order
    while (order.length < count) order.push(0)
    for (let k = 0; k < count; k++) order[k] = base + k * MEMBER
    let moved = false
    let duplicate = false
    if (count <= 16) {
      // Insertion sort: objects are small, and it is stable: among equal keys the later stays last.
      for (let k = 1; k < count; k++) {
        const x = order[k]
        let j = k - 1
        for (; j >= 0; j--) {
          const d = this.compare(order[j], x)
          if (d < 0) break
          if (d === 0) {
            duplicate = true
            break
          }
          order[j + 1] = order[j]
          moved = true
        }
        order[j + 1] = x
      }
    } else {
      const sorted = order.slice(0, count).sort((a, b) => this.compare(a, b))
      for (let k = 0; k < count; k++) {
        if (order[k] !== sorted[k]) moved = true
        if (k > 0 && this.compare(sorted[k - 1], sorted[k]) === 0) duplicate = true
        order[k] = sorted[k]
      }
    }
    if (!moved && !duplicate) return
    const m = this.members
    const first = m[base + OUT_START]
    const end = w.pos
    w.ensure(end - first)
    const b = w.buf
    b.copyWithin(end, first, end)
    let p = first
    for (let k = 0; k < count; k++) {
      const member = order[k]
      if (duplicate && k + 1 < count && this.compare(member, order[k + 1]) === 0) continue
      if (p > first) b[p++] = 0x2c
      const from = end + m[member + OUT_START] - first
      const length = m[member + OUT_END] - m[member + OUT_START]
      // Most members are short, and a loop beats the call into copyWithin for them.
      if (length > 64) {
        b.copyWithin(p, from, from + length)
        p += length
      } else {
        for (let k = from; k < from + length; k++) b[p++] = b[k]
      }
    }
    w.pos = p
  }
}

const shared = new Canonicalizer()

/**
 * Writes the canonical text of the JSON text `text`: the bytes of `writeValue(parse(text))`, without
 * the value. On a syntax error, returns where and why, with the writer's position left where it was.
 */
export const canonicalize = (w: ByteWriter, text: string): ScanFailure | undefined => {
  const start = w.pos
  const c = shared
  c.text = text
  c.i = 0
  c.top = 0
  c.depth = 0
  c.keys.length = 0
  let f = c.value(w)
  if (f === undefined) {
    c.skipSpace()
    if (c.i !== text.length) f = c.fail(c.i, "trailing characters")
  }
  c.text = ""
  if (f === undefined) return undefined
  w.pos = start
  return f.failure
}
