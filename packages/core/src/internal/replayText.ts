/**
 * Replay (contract §4) of a result given as JSON text, without its tree. The final result is written
 * canonical once (as a job without events is); replay then parses those bytes only along the paths its
 * events reach, one container at a time, and leaves the rest as spans of them (`Raw`) that the canonical
 * writer copies. The tree of maps and arrays a replayed result was parsed into, copied along each path,
 * written twice and dropped, was most of what an export allocated.
 *
 * It succeeds exactly when `Replay.undo` of the parsed result succeeds, with a value of the same
 * canonical bytes; where it cannot go on (text that is not JSON, an event that does not apply) it gives
 * up (`failed`), and the caller replays the parsed result, whose error is the one to report.
 */
import * as Correction from "../Correction.js"
import type * as FieldPath from "../FieldPath.js"
import * as Json from "../Json.js"
import * as Replay from "../Replay.js"
import type { CorrectionEvent } from "../Sample.js"
import { ByteWriter } from "./byteWriter.js"
import { canonicalize } from "./canonical.js"
import { Raw } from "./value.js"

/** Replay on the text gave up: the caller replays the parsed result instead. */
export const failed: unique symbol = Symbol("failed")

/** A replayed job's two results; spans in them point into a buffer the next call reuses. */
export interface Replayed {
  readonly initial: Correction.Slot
  readonly final: Correction.Slot
}

const decoder = new TextDecoder()

/** Where the string whose opening quote is at `b[i]` ends, past its closing quote. */
const stringEnd = (b: Uint8Array, i: number): number => {
  let j = i + 1
  for (;;) {
    const c = b[j]
    if (c === 0x22) return j + 1
    j += c === 0x5c ? 2 : 1
  }
}

/** Where the canonical value at `b[i]` ends: no spaces, every string and bracket closed. */
const skip = (b: Uint8Array, i: number): number => {
  let depth = 0
  for (;;) {
    const c = b[i]
    if (c === 0x22) {
      i = stringEnd(b, i)
      if (depth === 0) return i
      continue
    }
    if (c === 0x5b || c === 0x7b) depth++
    else if (c === 0x5d || c === 0x7d) {
      if (--depth === 0) return i + 1
    } else if (depth === 0) {
      // A number or a literal: up to what follows it in its container, or the end of the buffer.
      while (i < b.length && b[i] !== 0x2c && b[i] !== 0x5d && b[i] !== 0x7d) i++
      return i
    }
    i++
  }
}

/** The text of canonical bytes: valid UTF-8, every lone surrogate escaped. */
const text = (b: Uint8Array, start: number, end: number): string => decoder.decode(b.subarray(start, end))

/** The value a span spells, wholly parsed (canonical bytes are JSON: `failed` only from a broken writer). */
const full = (r: Raw): Json.Json | typeof failed => {
  const v = Json.parse(text(r.bytes, r.start, r.end))
  return v._tag === "Right" ? v.right : failed
}

/** The keys decoded lately, quotes included, and their texts: results share a few keys, job after job. */
const keyBytes: Array<Uint8Array> = []
const keyTexts: Array<string> = []
const KEYS = 32

const same = (known: Uint8Array, b: Uint8Array, start: number, end: number): boolean => {
  if (known.length !== end - start) return false
  for (let i = 0; i < known.length; i++) if (known[i] !== b[start + i]) return false
  return true
}

/** The object key whose quotes are at `b[start]` and `b[end - 1]`. */
const key = (b: Uint8Array, start: number, end: number): string => {
  for (let k = 0; k < keyBytes.length; k++) if (same(keyBytes[k], b, start, end)) return keyTexts[k]
  let decoded = text(b, start + 1, end - 1)
  if (decoded.includes("\\")) decoded = JSON.parse(text(b, start, end)) as string
  if (keyBytes.length === KEYS) keyBytes.length = keyTexts.length = 0
  keyBytes.push(b.slice(start, end))
  keyTexts.push(decoded)
  return decoded
}

/** A span parsed one level: an object's members or an array's elements as spans; a scalar wholly. */
const open = (r: Raw): Json.Json | typeof failed => {
  const b = r.bytes
  const c = b[r.start]
  if (c !== 0x7b && c !== 0x5b) return full(r)
  const members = c === 0x7b ? new Map<string, Json.Json>() : undefined
  const elements: Array<Json.Json> = []
  let i = r.start + 1
  if (b[i] !== c + 2) {
    for (;;) {
      let k = ""
      if (members !== undefined) {
        const e = stringEnd(b, i)
        k = key(b, i, e)
        i = e + 1
      }
      const end = skip(b, i)
      const span = new Raw(b, i, end) as unknown as Json.Json
      if (members === undefined) elements.push(span)
      else members.set(k, span)
      if (b[end] !== 0x2c) break
      i = end + 1
    }
  }
  return members ?? elements
}

/** `v` with every span in it parsed: what equality and a replaced value's check compare. */
const deep = (v: Correction.Slot): Correction.Slot | typeof failed => {
  if (v instanceof Raw) return full(v)
  // The containers still to look through: ours (opened here, or copied by `Correction.apply`), so
  // their spans are replaced in place by the values they spell.
  const pending: Array<Json.Json> = v === undefined ? [] : [v]
  while (pending.length > 0) {
    const node = pending.pop()!
    if (Array.isArray(node)) {
      const a = node as Array<Json.Json>
      for (let k = 0; k < a.length; k++) {
        const child = a[k]
        if (!(child instanceof Raw)) pending.push(child)
        else {
          const parsed = full(child)
          if (parsed === failed) return failed
          a[k] = parsed
        }
      }
    } else if (node instanceof Map) {
      const m = node as Map<string, Json.Json>
      for (const [k, child] of m) {
        if (!(child instanceof Raw)) pending.push(child)
        else {
          const parsed = full(child)
          if (parsed === failed) return failed
          m.set(k, parsed)
        }
      }
    }
  }
  return v
}

/**
 * `result` with the containers along `segments` parsed one level each and the value at its end wholly,
 * as far as the path leads: all that `Correction.apply` looks at. The containers passed through are ours,
 * so their spans are replaced in place; the value stays the same.
 */
const reach = (
  result: Correction.Slot,
  segments: ReadonlyArray<FieldPath.Segment>
): Correction.Slot | typeof failed => {
  if (segments.length === 0) return deep(result)
  const top = result instanceof Raw ? open(result) : result
  const last = segments.length - 1
  let node: Correction.Slot | typeof failed = top
  for (let d = 0; d <= last && node !== undefined && node !== failed; d++) {
    const seg = segments[d]
    const isMap = node instanceof Map
    if (seg._tag === "Key" ? !isMap : !Array.isArray(node)) break
    const child: Correction.Slot = isMap
      ? (node as Json.JsonObject).get((seg as FieldPath.Key).key)
      : (node as Json.JsonArray)[(seg as FieldPath.Index).index]
    const parsed = d === last ? deep(child) : child instanceof Raw ? open(child) : child
    if (parsed === failed) return failed
    if (parsed !== child) {
      if (isMap) (node as Map<string, Json.Json>).set((seg as FieldPath.Key).key, parsed as Json.Json)
      else (node as Array<Json.Json>)[(seg as FieldPath.Index).index] = parsed as Json.Json
    }
    node = parsed
  }
  return top
}

/** Where the final result is written canonical; replaced after an outsized one, so as not to keep it. */
let canonical = new ByteWriter(64 * 1024)
const KEEP = 1 << 20

/**
 * `Replay.undo` of a job's result given as its text (`null`: absent), and the final result: both as
 * values whose spans point into bytes the next call overwrites (write them first), or `failed` where
 * replay of the parsed result is needed to say what is wrong.
 */
export const undo = (
  jobId: string,
  result: string | null,
  events: ReadonlyArray<CorrectionEvent>
): Replayed | typeof failed => {
  let final: Correction.Slot
  if (result !== null) {
    if (canonical.buf.length > KEEP) canonical = new ByteWriter(64 * 1024)
    canonical.pos = 0
    if (canonicalize(canonical, result) !== undefined) return failed
    final = new Raw(canonical.buf, 0, canonical.pos) as unknown as Json.Json
  }
  let initial = final
  for (let k = events.length - 1; k >= 0; k--) {
    const c = Replay.correctionOf(jobId, events[k])
    if (c._tag === "Left") return failed
    const reached = reach(initial, c.right.path.segments)
    if (reached === failed) return failed
    const applied = Correction.apply(reached, Correction.inverse(c.right))
    if (applied._tag === "Left") return failed
    initial = applied.right
  }
  return { initial, final }
}
