/**
 * The chain law of contract §11 on a corpus's lines: a full export, followed by increments applied in
 * order (each replaces lines by `job_id`, then drops its `removed` ids), holds exactly the lines of a
 * full export at the last increment's snapshot. `sync` and `merge` apply it with this module.
 *
 * An increment comes as a `/changes` body: the export's lines, then one last line, its manifest, whose
 * `rows`, `bytes` and `sha256` describe the lines before it and whose `changed_since` names the cursor
 * it continues from. The corpus streams through the merge (it can be gigabytes); increments are held
 * in memory.
 *
 * The merged lines keep a full export's order: `created_at`, then `job_id`. Both are strings in the
 * lines, but `created_at` is not written in an order-preserving form: contract §6 writes a fraction
 * only when it is non-zero, without trailing zeros, so the whole second `…:00Z` comes after `…:00.5Z`
 * in string order (`.` sorts before `Z`) and before it in time; a year past 9999 would take five digits.
 * So `created_at` is compared as an instant. `job_id` is a lowercase hyphenated UUID, whose string order
 * is PostgreSQL's `uuid` order (bytes, most significant first). Only the `jsonl` and `hf` lines carry
 * the two; the training formats carry `job_id` but no `created_at`, and cannot be merged.
 *
 * @since 0.1.0
 */
import { Filter, type Format, type Manifest, Timestamp } from "@ground-truth/core"
import * as Protocol from "@ground-truth/protocol/Changes"
import * as Parameters from "@ground-truth/protocol/Parameters"
import { Data, Effect, Either, Option, Stream } from "effect"

/**
 * The corpus's format has no `created_at` in its lines (exit status 2): the training formats.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnsupportedFormat extends Data.TaggedError("UnsupportedFormat")<{ readonly format: string }> {
  override get message(): string {
    return (
      `sync and merge need --format jsonl or hf: ${this.format} lines carry no created_at to place a new ` +
      `job by; keep a jsonl or hf corpus current, and take ${this.format} as a full export`
    )
  }
}

/**
 * What is asked does not continue the corpus: an increment from another cursor, other filters, format
 * or split (exit status 2).
 *
 * @since 0.1.0
 * @category errors
 */
export class ChainMismatch extends Data.TaggedError("ChainMismatch")<{ readonly message: string }> {}

/**
 * The corpus cannot be continued: it does not match its manifest, or the manifest is not one (exit
 * status 1). Only a full export helps.
 *
 * @since 0.1.0
 * @category errors
 */
export class CorpusError extends Data.TaggedError("CorpusError")<{ readonly message: string }> {}

/**
 * A line that is not a sample of a full export: no `job_id` or `created_at`, or out of order.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidLine extends Data.TaggedError("InvalidLine")<{
  readonly source: string
  readonly line: number
  readonly detail: string
}> {
  override get message(): string {
    return `${this.source}, line ${this.line}: ${this.detail}`
  }
}

/** The formats whose lines carry `job_id` and `created_at`. @since 0.1.0 */
export const mergeable: ReadonlyArray<Format.Format> = ["jsonl", "hf"]

/** @since 0.1.0 */
export const supported = (format: Format.Format): Effect.Effect<void, UnsupportedFormat> =>
  mergeable.includes(format) ? Effect.void : Effect.fail(new UnsupportedFormat({ format }))

// ---------------------------------------------------------------------------------------------------
// Lines
// ---------------------------------------------------------------------------------------------------

/**
 * Where a sample goes in a full export.
 *
 * @since 0.1.0
 */
export interface Key {
  readonly jobId: string
  readonly createdAt: Timestamp.Timestamp
}

/**
 * One sample's line, `\n` included, with its key.
 *
 * @since 0.1.0
 */
export interface Line extends Key {
  readonly bytes: Uint8Array
}

/** A full export's order: `created_at` as an instant, then `job_id`. @since 0.1.0 */
export const compare = (a: Key, b: Key): number =>
  Timestamp.Order(a.createdAt, b.createdAt) || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0)

const NL = 0x0a
const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const OPEN = 0x7b

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const utf8 = new TextDecoder()

/** Index just past the JSON string that starts at `i`, or -1. */
const skipString = (b: Uint8Array, i: number, end: number): number => {
  if (b[i] !== QUOTE) return -1
  for (let j = i + 1; j < end; j++) {
    if (b[j] === BACKSLASH) j++
    else if (b[j] === QUOTE) return j + 1
  }
  return -1
}

/** Index just past the `null`, `true` or `false` at `i`. */
const skipWord = (b: Uint8Array, i: number, end: number): number => {
  let j = i
  while (j < end && b[j] >= 0x61 && b[j] <= 0x7a) j++
  return j
}

/**
 * The key of the line `b[start, end)` (without its `\n`), or why it has none. Reads the top-level
 * members up to `job_id` and `created_at` only (in a sample they come before any nested value), so the
 * results are never parsed.
 *
 * @since 0.1.0
 */
export const keyOf = (b: Uint8Array, start: number, end: number): Key | string => {
  if (b[start] !== OPEN) return "not a JSON object"
  let jobId: string | undefined
  let createdAt: string | undefined
  let i = start + 1
  while (jobId === undefined || createdAt === undefined) {
    const nameEnd = skipString(b, i, end)
    if (nameEnd < 0 || b[nameEnd] !== COLON) return "no job_id and created_at at the start of the line"
    const name = utf8.decode(b.subarray(i + 1, nameEnd - 1))
    const value = nameEnd + 1
    const valueEnd = b[value] === QUOTE ? skipString(b, value, end) : skipWord(b, value, end)
    if (valueEnd <= value) return "no job_id and created_at at the start of the line"
    if (name === "job_id" || name === "created_at") {
      if (b[value] !== QUOTE) return `${name} is not a string`
      const text = utf8.decode(b.subarray(value + 1, valueEnd - 1))
      if (name === "job_id") jobId = text
      else createdAt = text
    }
    if (jobId !== undefined && createdAt !== undefined) break
    if (b[valueEnd] !== COMMA) return "no job_id and created_at at the start of the line"
    i = valueEnd + 1
  }
  if (!UUID.test(jobId)) return `job_id ${JSON.stringify(jobId)} is not a lowercase UUID`
  const time = Timestamp.parse(createdAt)
  if (Either.isLeft(time)) return `created_at: ${time.left.message}`
  return { jobId, createdAt: time.right }
}

/**
 * The lines of `body`, which holds whole lines, each with its key.
 *
 * @since 0.1.0
 */
export const lines = (source: string, body: Uint8Array): Either.Either<Array<Line>, InvalidLine> => {
  const out: Array<Line> = []
  let start = 0
  for (let nl = body.indexOf(NL); nl >= 0; nl = body.indexOf(NL, start)) {
    const key = keyOf(body, start, nl)
    if (typeof key === "string") {
      return Either.left(new InvalidLine({ source, line: out.length + 1, detail: key }))
    }
    out.push({ ...key, bytes: body.subarray(start, nl + 1) })
    start = nl + 1
  }
  return start === body.length
    ? Either.right(out)
    : Either.left(new InvalidLine({ source, line: out.length + 1, detail: "the last line has no newline" }))
}

// ---------------------------------------------------------------------------------------------------
// Manifests and /changes bodies
// ---------------------------------------------------------------------------------------------------

/**
 * An increment or a full export, as a `/changes` body gives it.
 *
 * @since 0.1.0
 */
export interface Changes {
  readonly source: string
  readonly manifest: Manifest.Manifest
  readonly lines: ReadonlyArray<Line>
}

/**
 * Reads a whole `/changes` body (see the protocol's `Changes.parse`), each of its lines with its key.
 *
 * @since 0.1.0
 */
export const parseChanges = (
  source: string,
  body: Uint8Array
): Either.Either<Changes, Protocol.IncompleteChanges | InvalidLine> =>
  Either.flatMap(Protocol.parse(source, body), ({ manifest, lines: part }) =>
    Either.map(lines(source, part), (ls) => ({ source, manifest, lines: ls }))
  )

// ---------------------------------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------------------------------

/** `--name value`, or `no --name`. @since 0.1.0 */
export const flagText = (name: Protocol.Kept, value: string | null): string =>
  value === null
    ? `no ${Parameters.flag(name)}`
    : `${Parameters.flag(name)} ${/^[\w.:,+-]+$/.test(value) ? value : JSON.stringify(value)}`

/**
 * The filter a manifest's corpus was exported with, continued from its cursor: what the increment that
 * continues it asks for.
 *
 * @since 0.1.0
 */
export const filterAfter = (name: string, m: Manifest.Manifest): Either.Either<Filter.Filter, CorpusError> =>
  Either.mapLeft(
    Filter.parse([...Protocol.parameters(m), ["changed_since", m.cursor]]),
    (e) => new CorpusError({ message: `${name} cannot be continued: ${e.message}` })
  )

/** `--format hf, --split train` for the parameters `names` of `d`. @since 0.1.0 */
export const showParameters = (d: Protocol.Described, names: ReadonlyArray<Protocol.Kept>): string =>
  names.map((name) => flagText(name, d[name])).join(", ")

/**
 * Does the body `changes` continue the corpus whose manifest is `corpus`: an increment from its cursor
 * (or a full export), with the same parameters?
 *
 * @since 0.1.0
 */
export const continues = (
  corpus: { readonly name: string; readonly manifest: Manifest.Manifest },
  changes: { readonly source: string; readonly manifest: Manifest.Manifest }
): Either.Either<void, ChainMismatch> =>
  Option.match(Protocol.breaks(corpus.manifest, changes.manifest), {
    onNone: () => Either.void,
    onSome: (broken) =>
      Either.left(
        new ChainMismatch({
          message:
            broken._tag === "Parameters"
              ? `${changes.source} was exported with ${showParameters(Protocol.describeManifest(changes.manifest), broken.differ)}, ` +
                `${corpus.name} with ${showParameters(Protocol.describeManifest(corpus.manifest), broken.differ)}: ` +
                "an increment continues a corpus with the same filters, format and split"
              : `${changes.source} continues from ${broken.from}, ${corpus.name} is at ${corpus.manifest.cursor}: ` +
                "apply the increments in order, each from the cursor the one before it reached"
        })
      )
  })

/**
 * A merged corpus whose line count is not the one the database counted at the increment's snapshot:
 * it holds jobs deleted since (or whose id changed), which no increment can name (exit status 2).
 *
 * @since 0.1.0
 * @category errors
 */
export class CountMismatch extends Data.TaggedError("CountMismatch")<{
  readonly corpus: string
  readonly merged: number
  readonly counted: number
  readonly cursor: string
}> {
  override get message(): string {
    return (
      `${this.corpus} would hold ${this.merged} samples where the database counts ${this.counted} at ` +
      `${this.cursor}: jobs were deleted (or their ids changed) since it was exported, which no increment ` +
      "can name; take a full export"
    )
  }
}

/**
 * Checks a merged corpus's line count against the count the last increment's manifest carries.
 *
 * @since 0.1.0
 */
export const checkCount = (corpus: string, last: Manifest.Manifest, counts: Protocol.Counts) =>
  last.corpus_rows === null || last.corpus_rows === counts.rows
    ? Effect.void
    : Effect.fail(
        new CountMismatch({ corpus, merged: counts.rows, counted: last.corpus_rows, cursor: last.cursor })
      )

// ---------------------------------------------------------------------------------------------------
// Applying increments
// ---------------------------------------------------------------------------------------------------

/**
 * Increments folded into one: the lines they leave (sorted in a full export's order), the ids whose
 * lines in the corpus give way (replaced or removed), and those of them that have no line left.
 *
 * @since 0.1.0
 */
export interface Increment {
  readonly lines: ReadonlyArray<Line>
  readonly replaced: ReadonlySet<string>
  readonly removed: ReadonlySet<string>
}

/**
 * Folds increments, in order, into one: each replaces lines by `job_id`, then drops its `removed` ids.
 *
 * @since 0.1.0
 */
export const combine = (increments: ReadonlyArray<Changes>): Increment => {
  const byId = new Map<string, Line>()
  const removed = new Set<string>()
  for (const increment of increments) {
    for (const line of increment.lines) {
      byId.set(line.jobId, line)
      removed.delete(line.jobId)
    }
    for (const id of increment.manifest.removed) {
      byId.delete(id)
      removed.add(id)
    }
  }
  return {
    lines: [...byId.values()].sort(compare),
    replaced: new Set([...byId.keys(), ...removed]),
    removed
  }
}

/**
 * What applying an increment did: samples in the new corpus, lines the increment brought, lines of
 * the corpus it removed.
 *
 * @since 0.1.0
 */
export interface Applied {
  readonly samples: number
  readonly changed: number
  readonly removed: number
}

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/**
 * The corpus `corpus` (a full export's lines, as bytes in chunks of any size) with `increment`
 * applied, streamed: each output chunk is one buffer. Fails if a line of the corpus is not a sample or
 * not in a full export's order. `applied`, once the stream has ended, says what it did.
 *
 * @since 0.1.0
 */
export const apply = <E, R>(
  source: string,
  corpus: Stream.Stream<Uint8Array, E, R>,
  increment: Increment
): { readonly stream: Stream.Stream<Uint8Array, E | InvalidLine, R>; readonly applied: () => Applied } => {
  let samples = 0
  let removed = 0
  const stream = Stream.suspend(() => {
    samples = 0
    removed = 0
    let rest: Uint8Array = new Uint8Array(0)
    let next = 0
    let previous: Key | undefined
    let line = 0
    let out: Array<Uint8Array> = []
    /** The increment's lines before `key` (all that are left, without one). */
    const place = (key: Key | undefined) => {
      const pending = increment.lines
      while (next < pending.length && (key === undefined || compare(pending[next], key) < 0)) {
        out.push(pending[next++].bytes)
        samples++
      }
    }
    const take = (b: Uint8Array, start: number, end: number): InvalidLine | undefined => {
      line++
      const key = keyOf(b, start, end)
      if (typeof key === "string") return new InvalidLine({ source, line, detail: key })
      if (previous !== undefined && compare(previous, key) >= 0) {
        return new InvalidLine({
          source,
          line,
          detail: "it does not come after the line before it in created_at, job_id order: not a full export"
        })
      }
      previous = key
      place(key)
      if (increment.replaced.has(key.jobId)) {
        if (increment.removed.has(key.jobId)) removed++
      } else {
        out.push(b.subarray(start, end + 1))
        samples++
      }
      return undefined
    }
    const flush = (): Array<Uint8Array> => {
      const chunk = out.length === 1 ? out[0] : Buffer.concat(out)
      out = []
      return chunk.length === 0 ? [] : [chunk]
    }
    const chunk = (b: Uint8Array): Effect.Effect<Array<Uint8Array>, InvalidLine> => {
      let start = 0
      if (rest.length > 0) {
        const nl = b.indexOf(NL)
        if (nl < 0) {
          rest = concat(rest, b)
          return Effect.succeed([])
        }
        const first = concat(rest, b.subarray(0, nl + 1))
        rest = new Uint8Array(0)
        const failure = take(first, 0, first.length - 1)
        if (failure !== undefined) return Effect.fail(failure)
        start = nl + 1
      }
      for (let nl = b.indexOf(NL, start); nl >= 0; nl = b.indexOf(NL, start)) {
        const failure = take(b, start, nl)
        if (failure !== undefined) return Effect.fail(failure)
        start = nl + 1
      }
      if (start < b.length) rest = b.slice(start)
      return Effect.sync(flush)
    }
    const end = Effect.suspend(() => {
      if (rest.length > 0) {
        return Effect.fail(
          new InvalidLine({ source, line: line + 1, detail: "the last line has no newline" })
        )
      }
      place(undefined)
      return Effect.sync(flush)
    })
    return Stream.concat(
      Stream.mapConcatEffect(corpus, chunk),
      Stream.flatMap(Stream.fromEffect(end), Stream.fromIterable)
    )
  })
  return { stream, applied: () => ({ samples, changed: increment.lines.length, removed }) }
}
