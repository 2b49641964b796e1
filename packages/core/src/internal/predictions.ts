/**
 * A predictions file (contract §12): its limits, each line read into a prediction (a result, or a
 * completion read as §12 says), and the file indexed by job id in one pass, each line read again when
 * its job comes and checked against its digest. What `Eval` scores; re-exported there.
 */
import { Data, Effect, Either } from "effect"
import * as FieldPath from "../FieldPath.js"
import * as Json from "../Json.js"
import * as LineIndex from "./lineIndex.js"
import { quantity } from "./quantity.js"

/**
 * A predictions file that cannot be scored: a line that is not a prediction, or a job predicted twice.
 * Nothing is scored (CLI exit 2, HTTP 400).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidPrediction extends Data.TaggedError("InvalidPrediction")<{
  /** 1-based. */
  readonly line: number
  readonly detail: string
  /** Which file: the model's predictions, or the second model's (`--against`). */
  readonly file: PredictionsFile
}> {
  override get message(): string {
    return `${this.file} line ${this.line}: ${this.detail}`
  }
}

/**
 * A predictions file of an evaluation: the model's (`predictions`), or a second model's it is compared
 * with (`against`). @since 0.1.0
 */
export type PredictionsFile = "predictions" | "against"

/**
 * A line read again for scoring is not the line indexed (its digest differs): the file was changed
 * while it was being scored. Nothing is scored.
 *
 * @since 0.1.0
 * @category errors
 */
export class LineChanged extends Data.TaggedError("LineChanged")<{
  /** 1-based. */
  readonly line: number
}> {
  override get message(): string {
    return `line ${this.line} changed after it was read: the predictions were rewritten while they were being scored`
  }
}

/**
 * The bounds of a predictions file, far beyond any real prediction (a Sprin result is a few KB and three
 * levels deep, its fields are under 40 characters, its numbers under 40 digits, its job ids UUIDs) and
 * small enough that scoring stays linear in the file and its memory flat. Past one, the file is a usage
 * error naming the line (a completion past one is `unparseable`: a model's answer is not the file's
 * fault).
 *
 * @since 0.1.0
 */
export interface Limits {
  /** Bytes of a line, its newline not counted. */
  readonly lineBytes: number
  /**
   * JSON values in a line, and in a completion's answer (every scalar, array and object counts one):
   * what parsing and scoring a line cost, where a MiB of `0,0,…` is half a million values (~1 s).
   */
  readonly values: number
  /** Lines of a file: the index keeps ~80 bytes of each. */
  readonly lines: number
  /** Characters of a `job_id`. */
  readonly jobId: number
  /** Levels a result nests (`[]` and `{"a": 1}` are one). */
  readonly depth: number
  /** Characters of a number, as written. */
  readonly number: number
  /** Characters of a field (a path without its indices, §2, as the report writes it). */
  readonly field: number
  /** Fields that predictions name and no reference job or pipeline answer before them did, in all. */
  readonly newFields: number
}

/** The limits of `ground-truth eval` and `POST …/eval`. @since 0.1.0 */
export const limits: Limits = {
  lineBytes: 1024 * 1024,
  values: 20_000,
  lines: 2_000_000,
  jobId: 64,
  depth: 64,
  number: 1000,
  field: 1000,
  newFields: 10_000
}

/**
 * How a completion was read (§12): `think` when `<think>…</think>` spans were removed first; `via` where
 * its JSON was: the whole text, its first Markdown code block, or its first `{` to its last `}`.
 *
 * @since 0.1.0
 */
export interface Reading {
  readonly think: boolean
  readonly via: "text" | "code_block" | "braces"
}

/**
 * What a line predicts: a result (`Some` value; JSON `null` and an unreadable completion predict
 * nothing) or, for a completion that is not JSON, `unparseable`. A completion's result says how it was
 * read.
 *
 * @since 0.1.0
 */
export type Predicted =
  | { readonly _tag: "Result"; readonly value: Json.Json; readonly reading?: Reading }
  | { readonly _tag: "Nothing"; readonly reading?: Reading }
  | { readonly _tag: "Unparseable" }

/** A parsed prediction line. @since 0.1.0 */
export interface Prediction {
  readonly jobId: string
  readonly predicted: Predicted
}

export const invalid = (line: number, detail: string, file: PredictionsFile = "predictions") =>
  Either.left(new InvalidPrediction({ line, detail, file }))

/** A reasoning model's thoughts, which §12 removes before reading the answer. */
const THINK = /<think>[\s\S]*?<\/think>/g

/** The first Markdown code block: the lines after one starting with ``` up to the next line of ```. */
const firstCodeBlock = (text: string): string | undefined => {
  const lines = text.split("\n")
  const open = lines.findIndex((l) => l.startsWith("```"))
  if (open < 0) return undefined
  for (let i = open + 1; i < lines.length; i++)
    if (lines[i]!.trim() === "```") return lines.slice(open + 1, i).join("\n")
  return undefined
}

/** The text from the first `{` to the last `}`. */
const braces = (text: string): string | undefined => {
  const first = text.indexOf("{")
  const last = text.lastIndexOf("}")
  return first >= 0 && last > first ? text.slice(first, last + 1) : undefined
}

/** A key as a path writes it after `path` (§2): `.key`, `key` first, or `["…"]`. */
export const keySegment = (path: string, key: string): string =>
  FieldPath.isIdentifier(key) ? (path === "" ? key : `.${key}`) : `[${JSON.stringify(key)}]`

/**
 * Why `result` is past `bounds` (its depth, a number's length, a field's length), or `undefined`. On a
 * stack, not in calls; each field's length is its parent's plus one segment, never its text.
 */
const exceeds = (result: Json.Json, bounds: Limits): string | undefined => {
  const values: Array<Json.Json> = [result]
  const depths: Array<number> = [0]
  const lengths: Array<number> = [0]
  while (values.length > 0) {
    const value = values.pop()!
    const depth = depths.pop()!
    const length = lengths.pop()!
    if (length > bounds.field) return `has a field longer than ${quantity(bounds.field)} characters`
    if (value instanceof Json.JsonNumber) {
      if (value.text.length > bounds.number)
        return `holds a number longer than ${quantity(bounds.number)} characters`
    } else if (Json.isArray(value) || Json.isObject(value)) {
      if (depth === bounds.depth) return `nests deeper than ${quantity(bounds.depth)} levels`
      if (Json.isArray(value))
        for (const v of value) {
          values.push(v)
          depths.push(depth + 1)
          lengths.push(length + 2)
        }
      else
        for (const [k, v] of value) {
          values.push(v)
          depths.push(depth + 1)
          // The length of `keySegment`, without building the segment.
          lengths.push(
            length +
              (FieldPath.isIdentifier(k) ? k.length + (length === 0 ? 0 : 1) : JSON.stringify(k).length + 2)
          )
        }
    }
  }
  return undefined
}

/**
 * A model's raw answer read as a chatty model writes it (§12): every `<think>…</think>` span removed and
 * the rest trimmed, then the first of these that is JSON: the whole text, its first code block, its first
 * `{` to its last `}`. A result, nothing (`null`), or unparseable (none is JSON, or the one that is lies
 * past `bounds`). Every answer that one surrounding fence read before reads the same.
 */
const completion = (text: string, bounds: Limits): Predicted => {
  const thoughtless = text.replace(THINK, "")
  const rest = thoughtless.trim()
  const think = thoughtless.length !== text.length
  const candidates = [
    ["text", rest],
    ["code_block", firstCodeBlock(rest)],
    ["braces", braces(rest)]
  ] as const
  for (const [via, candidate] of candidates) {
    if (candidate === undefined) continue
    const parsed = Json.parseWithin(candidate, bounds.values)
    if (Either.isLeft(parsed)) continue
    const value = parsed.right
    const reading: Reading = { think, via }
    return value === null
      ? { _tag: "Nothing", reading }
      : exceeds(value, bounds) === undefined
        ? { _tag: "Result", value, reading }
        : { _tag: "Unparseable" }
  }
  return { _tag: "Unparseable" }
}

/**
 * Reads one line of a predictions file: `{"job_id": string, "result": …}` or
 * `{"job_id": string, "completion": string | [{"role":"assistant","content": string}]}` (other members
 * are ignored), within `bounds`. `line` is 1-based, for the error, which names `file`.
 *
 * @since 0.1.0
 */
export const parseLine = (
  text: string,
  line: number,
  bounds: Limits = limits,
  file: PredictionsFile = "predictions"
): Either.Either<Prediction, InvalidPrediction> => {
  const refused = (detail: string) => invalid(line, detail, file)
  const parsed = Json.parseWithin(text, bounds.values)
  if (Either.isLeft(parsed))
    return refused(
      parsed.left._tag === "JsonTooLarge"
        ? `holds more than ${quantity(bounds.values)} JSON values`
        : `not JSON (${parsed.left.message})`
    )
  const o = parsed.right
  if (!Json.isObject(o)) return refused('not an object {"job_id", "result" or "completion"}')
  const id = o.get("job_id")
  if (typeof id !== "string") return refused("job_id must be a string")
  if (id.length > bounds.jobId) return refused(`job_id is longer than ${quantity(bounds.jobId)} characters`)
  // As the export writes it.
  const jobId = id.toLowerCase()
  const result = o.get("result")
  const answer = o.get("completion")
  if ((result === undefined) === (answer === undefined))
    return refused(`job ${jobId}: exactly one of "result" and "completion" is required`)
  if (result !== undefined) {
    const past = exceeds(result, bounds)
    if (past !== undefined) return refused(`job ${jobId}: the result ${past}`)
    return Either.right({
      jobId,
      predicted: result === null ? { _tag: "Nothing" } : { _tag: "Result", value: result }
    })
  }
  if (typeof answer === "string") return Either.right({ jobId, predicted: completion(answer, bounds) })
  // TRL's conversational completion: the assistant's message.
  if (answer !== undefined && Json.isArray(answer) && answer.length > 0) {
    const m = answer[answer.length - 1]!
    if (Json.isObject(m) && m.get("role") === "assistant" && typeof m.get("content") === "string")
      return Either.right({ jobId, predicted: completion(m.get("content") as string, bounds) })
  }
  return refused(`job ${jobId}: completion must be a string or [{"role":"assistant","content":"…"}]`)
}

/** Where a job's line is in the predictions: its number (1-based), bytes and digest. @since 0.1.0 */
export type Located = LineIndex.Located

/**
 * An indexed predictions file: how many lines it held, the line of a job id (lowercase), and the limits
 * it was read within. @since 0.1.0
 */
export interface Indexed {
  readonly lines: number
  readonly find: (jobId: string) => Located | undefined
  readonly limits: Limits
}

/**
 * Indexes a predictions file as its bytes pass, a chunk at a time: each line is read (and checked) once,
 * then only its job id, byte range and digest are kept (compactly: ~80 bytes a line). Fails on the first
 * bad line, the first line that repeats a job, or bytes that are not UTF-8, whichever comes first, as a
 * reader going line by line would; and past `bounds`. A last line without `\n` counts; empty lines are
 * not allowed. Errors name `file`.
 *
 * @since 0.1.0
 */
export const index = (bounds: Limits = limits, file: PredictionsFile = "predictions") => {
  const lines = new LineIndex.LineIndex()
  const decoder = new TextDecoder("utf-8", { fatal: true })
  let carry: Array<Uint8Array> = []
  let carryBytes = 0
  let offset = 0
  const tooLong = (line: number) =>
    invalid(line, `longer than ${quantity(bounds.lineBytes, "bytes")} (a prediction is one line)`, file)
  const take = (bytes: Uint8Array, start: number): Either.Either<void, InvalidPrediction> => {
    const line = lines.lines + 1
    if (line > bounds.lines) return invalid(line, `more than ${quantity(bounds.lines)} lines`, file)
    if (bytes.length === 0) return invalid(line, "an empty line", file)
    if (bytes.length > bounds.lineBytes) return tooLong(line)
    let text: string
    try {
      text = decoder.decode(bytes)
    } catch (e) {
      return invalid(line, e instanceof TypeError ? "not UTF-8" : "cannot be read as text", file)
    }
    const parsed = parseLine(text, line, bounds, file)
    if (Either.isLeft(parsed)) return Either.left(parsed.left)
    const also = lines.add(parsed.right.jobId, start, start + bytes.length, LineIndex.digest(bytes))
    if (also !== undefined)
      return invalid(line, `job ${parsed.right.jobId} is predicted twice (also line ${also})`, file)
    return Either.void
  }
  const lineOf = (tail: Uint8Array): Uint8Array => {
    if (carry.length === 0) return tail
    const whole = Buffer.concat([...carry, tail])
    carry = []
    carryBytes = 0
    return whole
  }
  return {
    /** Takes the next bytes of the file (they may be reused once this returns). */
    push: (chunk: Uint8Array): Either.Either<void, InvalidPrediction> => {
      let from = 0
      for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, from)) {
        const start = offset - carryBytes
        const taken = take(lineOf(chunk.subarray(from, nl)), start)
        if (Either.isLeft(taken)) return taken
        offset += nl - from + 1
        from = nl + 1
      }
      if (from < chunk.length) {
        // A copy: `Buffer#slice` would share the caller's bytes.
        carry.push(new Uint8Array(chunk.subarray(from)))
        carryBytes += chunk.length - from
        offset += chunk.length - from
        // A line is parsed whole: one without an end in sight would hold the file in memory.
        if (carryBytes > bounds.lineBytes) return tooLong(lines.lines + 1)
      }
      return Either.void
    },
    /** The end of the file: the index. */
    end: (): Either.Either<Indexed, InvalidPrediction> => {
      if (carryBytes > 0) {
        const start = offset - carryBytes
        const taken = take(lineOf(new Uint8Array(0)), start)
        if (Either.isLeft(taken)) return Either.left(taken.left)
      }
      return Either.right({ lines: lines.lines, find: (jobId: string) => lines.find(jobId), limits: bounds })
    }
  }
}

/** How much of a predictions file is read at a time while indexing. */
const CHUNK = 1 << 20

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i])

/**
 * An indexed file whose lines are read again through `read(position, length)`, each checked against
 * its digest: a file rewritten meanwhile fails with `LineChanged`, never scores another line. What `run`
 * takes.
 *
 * @since 0.1.0
 */
export const reader = <E>(
  indexed: Indexed,
  read: (position: number, length: number) => Effect.Effect<Uint8Array, E>
) => ({
  ...indexed,
  // A read may give fewer bytes than asked for: a line is read to its end.
  read: (at: Located) =>
    Effect.gen(function* () {
      const parts: Array<Uint8Array> = []
      for (let got = 0; got < at.end - at.start; ) {
        const part = yield* read(at.start + got, at.end - at.start - got)
        if (part.length === 0) break
        parts.push(part)
        got += part.length
      }
      const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
      if (!sameBytes(LineIndex.digest(bytes), at.digest)) return yield* new LineChanged({ line: at.line })
      return bytes
    })
})

/**
 * A predictions file read through `read(position, length)` (a file the front end opened: the CLI's
 * argument), indexed in one pass of 1 MiB reads, then read again by `reader`. What `run` takes. Errors
 * name `file`.
 *
 * @since 0.1.0
 */
export const indexed = <E>(
  read: (position: number, length: number) => Effect.Effect<Uint8Array, E>,
  bounds: Limits = limits,
  file: PredictionsFile = "predictions"
) =>
  Effect.gen(function* () {
    const lines = index(bounds, file)
    for (let position = 0; ; ) {
      const chunk = yield* read(position, CHUNK)
      if (chunk.length === 0) break
      position += chunk.length
      yield* lines.push(chunk)
    }
    return reader(yield* lines.end(), read)
  })
