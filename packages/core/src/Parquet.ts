/**
 * Parquet: an export's samples as one Parquet file whose schema is declared, not guessed, so every reader
 * (pyarrow, DuckDB, polars, `datasets`, Spark) gets the same types: NRPs inside results stay text, times
 * are `timestamp[us, tz=UTC]`, `corrections` is a list of structs even in a file without corrections.
 *
 * The file is made from the lines the export already writes (`source(format)`): each line is parsed
 * and appended to the columns, and every `ROW_GROUP_ROWS` samples (or `ROW_GROUP_BYTES` of lines) the
 * columns go out as one row group. So memory holds one row group whatever the corpus, the bytes stream as
 * they are made (the server sends them as the export runs), and the CLI and the server, which feed the
 * same lines, write the same bytes. `JSON.parse` is exact on these lines: `hf` and the training formats
 * hold strings, booleans and a float written as its shortest round-trip text; every result stays the
 * canonical JSON text of contract §6.
 *
 * Columns (from `Features`, the `datasets` description of the format, with its times as timestamps):
 * - `jsonl` and `hf`: the sample of contract §5 as `hf` writes it: `initial_result`, `final_result`,
 *   `old_value`, `new_value` as JSON text (a result holds any JSON: keys a reviewer added, numbers past
 *   a double, a `new_value` that is a string in one event and a personnel row in the next, JSON `null`
 *   apart from a missing key; no Arrow struct holds all of that); `reviewed_at`, `created_at`,
 *   `corrected_at` as `timestamp[us, tz=UTC]`; `corrections` a list of structs; `review_flags` a list of
 *   strings; `confidence` a float64;
 * - `prompt-completion`, `messages`, `preference`: `job_id` and lists of `struct<role, content>`, the
 *   conversational columns TRL loads.
 *
 * Written by `hyparquet-writer` (pure JavaScript, no native or WebAssembly code), pages compressed with
 * GZIP (zlib, which every Parquet reader has). The file names no time and no host: the same samples
 * give the same bytes.
 *
 * @since 0.1.0
 */
import * as zlib from "node:zlib"
import { Chunk, Effect, Either, Schema, Stream } from "effect"
import { ByteWriter, ParquetWriter } from "hyparquet-writer"
import * as Features from "./Features.js"
import type { Format, Input } from "./Format.js"
import * as Timestamp from "./Timestamp.js"
import { generator } from "./Version.js"

/**
 * A line could not be written as the format's columns (a value of another type than its column's), or
 * the writer failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class ParquetError extends Schema.TaggedError<ParquetError>()("ParquetError", {
  message: Schema.String
}) {}

/** The media type of a Parquet body (IANA, 2024). @since 0.1.0 */
export const contentType = "application/vnd.apache.parquet"

/** The file name extension the CLI reads as "write Parquet". @since 0.1.0 */
export const extension = ".parquet"

/**
 * The format whose lines a Parquet file of `format` is made from: `hf` for `jsonl` (the same samples with
 * their results as JSON text, which is what a Parquet column can hold of any JSON), the format itself
 * otherwise.
 *
 * @since 0.1.0
 */
export const source = (format: Format): Exclude<Format, "jsonl"> => (format === "jsonl" ? "hf" : format)

/**
 * What a Parquet file is made from, when `parquet`: the filter with `source(format)`, whose lines become
 * its rows; else the filter itself (a file of lines). The CLI and the server both ask this.
 *
 * @since 0.1.0
 */
export const madeFrom = <F extends { readonly format: Format }>(filter: F, parquet: boolean): F =>
  parquet ? { ...filter, format: source(filter.format) } : filter

/**
 * Samples per row group: ~10 MB of `hf` lines, so a writer holds a few tens of MB whatever the corpus;
 * larger groups shrink the file by under 1% (20,000: −0.5%, 50,000: −0.6% on 50,000 demo jobs).
 *
 * @since 0.1.0
 */
export const ROW_GROUP_ROWS = 5000

/** Bytes of lines that end a row group early (results of unusual size): memory stays bounded. @since 0.1.0 */
export const ROW_GROUP_BYTES = 32 * 1024 * 1024

type Element = ConstructorParameters<typeof ParquetWriter>[0]["schema"][number]

const string: Element = {
  name: "",
  type: "BYTE_ARRAY",
  converted_type: "UTF8",
  logical_type: { type: "STRING" },
  repetition_type: "OPTIONAL"
}

/** A leaf, or a group with its children after it (Parquet's depth-first schema list). */
const elements = (name: string, f: Features.Feature): Array<Element> => {
  switch (f._tag) {
    case "Value":
      if (f.dtype === Features.INSTANT) {
        return [
          {
            name,
            type: "INT64",
            converted_type: "TIMESTAMP_MICROS",
            logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MICROS" },
            repetition_type: "OPTIONAL"
          }
        ]
      }
      return [
        f.dtype === "string"
          ? { ...string, name }
          : { name, type: f.dtype === "bool" ? "BOOLEAN" : "DOUBLE", repetition_type: "OPTIONAL" }
      ]
    case "List":
      // The three-level list of the Parquet spec (`name` > `list` > `element`), as Arrow writes it.
      return [
        {
          name,
          repetition_type: "OPTIONAL",
          converted_type: "LIST",
          logical_type: { type: "LIST" },
          num_children: 1
        },
        { name: "list", repetition_type: "REPEATED", num_children: 1 },
        ...elements("element", f.feature)
      ]
    case "Struct":
      return [
        { name, repetition_type: "OPTIONAL", num_children: f.fields.length },
        ...f.fields.flatMap(([n, g]) => elements(n, g))
      ]
  }
}

/** Why a value does not fit its column, or the value as the writer takes it. */
type Fitted = Either.Either<unknown, string>

/** `value` (parsed from a line) as the column `name` of feature `f` takes it: times as microseconds. */
const columnValue = (name: string, f: Features.Feature, value: unknown): Fitted => {
  if (value === null || value === undefined) return Either.right(null)
  const wrong = Either.left(`${name} holds ${Array.isArray(value) ? "an array" : typeof value}`)
  switch (f._tag) {
    case "Value":
      if (f.dtype === "string") return typeof value === "string" ? Either.right(value) : wrong
      if (f.dtype === Features.INSTANT) {
        if (typeof value !== "string") return wrong
        // Named, not quoted: a message may reach a log, which holds no value of the corpus.
        return Either.match(Timestamp.parse(value), {
          onLeft: () => Either.left(`${name} is not an RFC 3339 time`),
          onRight: (t) => Either.right(BigInt(t.seconds) * 1_000_000n + BigInt(t.micros))
        })
      }
      return typeof value === (f.dtype === "bool" ? "boolean" : "number") ? Either.right(value) : wrong
    case "List": {
      if (!Array.isArray(value)) return wrong
      const out: Array<unknown> = []
      for (const item of value) {
        const e = columnValue(name, f.feature, item)
        if (Either.isLeft(e)) return e
        out.push(e.right)
      }
      return Either.right(out)
    }
    case "Struct": {
      if (typeof value !== "object" || Array.isArray(value)) return wrong
      const out: Record<string, unknown> = {}
      for (const [n, g] of f.fields) {
        const e = columnValue(n, g, (value as Record<string, unknown>)[n])
        if (Either.isLeft(e)) return e
        out[n] = e.right
      }
      return Either.right(out)
    }
  }
}

/**
 * The Parquet schema of `format` (its source's columns, times as timestamps), as `hyparquet-writer` takes
 * it. Every column is nullable, as Arrow's and `datasets`' own are.
 *
 * @since 0.1.0
 */
export const schema = (format: Format, input?: Input): ReadonlyArray<Element> => {
  const columns = Features.of(source(format), input) ?? []
  return [
    { name: "root", num_children: columns.length },
    ...columns.flatMap(([name, f]) => elements(name, f))
  ]
}

/**
 * One Parquet file being written: `write` takes lines of `source(format)` (a batch may end inside a line)
 * and gives the bytes of the row groups they completed (often none); `end` gives the rest and the
 * footer. A file without samples is a valid Parquet file of no rows.
 *
 * @since 0.1.0
 */
export interface Writer {
  readonly write: (bytes: Uint8Array) => Effect.Effect<Chunk.Chunk<Uint8Array>, ParquetError>
  readonly end: Effect.Effect<Chunk.Chunk<Uint8Array>, ParquetError>
}

/**
 * A new Parquet file of `format`, with `input` (its `ocr_text` column in `jsonl` and `hf` with the text).
 *
 * @since 0.1.0
 */
export const writer = (format: Format, input?: Input): Effect.Effect<Writer> =>
  Effect.sync(() => {
    const columns = Features.of(source(format), input) ?? []
    const out = new ByteWriter()
    const file = new ParquetWriter({
      writer: out,
      schema: [...schema(format, input)],
      codec: "GZIP",
      // zlib's default level: −45% against Snappy (the library's own codec) in less CPU.
      compressors: { GZIP: (input) => zlib.gzipSync(input) },
      createdBy: generator
    })
    const decoder = new TextDecoder("utf-8", { fatal: true })
    let data: Array<Array<unknown>> = columns.map(() => [])
    let rows = 0
    let lineBytes = 0
    let line = 0
    let rest: Uint8Array = new Uint8Array(0)
    /** What the writer holds, handed over: the next row group reuses its buffer. */
    const taken = (): Chunk.Chunk<Uint8Array> => {
      const bytes = out.getBytes().slice()
      out.index = 0
      return bytes.length === 0 ? Chunk.empty() : Chunk.of(bytes)
    }
    const group = () => {
      if (rows > 0) {
        file.write({
          columnData: columns.map(([name], i) => ({ name, data: data[i] ?? [] })),
          rowGroupSize: rows
        })
      }
      data = columns.map(() => [])
      rows = 0
      lineBytes = 0
    }
    /** Appends one line's sample; why it does not fit, if it does not. */
    const add = (text: string): string | undefined => {
      line++
      const parsed: Record<string, unknown> = JSON.parse(text)
      const values: Array<unknown> = []
      for (const [name, f] of columns) {
        const value = columnValue(name, f, parsed[name])
        if (Either.isLeft(value)) return `line ${line}: ${value.left}`
        values.push(value.right)
      }
      values.forEach((value, i) => {
        data[i]?.push(value)
      })
      rows++
      lineBytes += text.length
      if (rows >= ROW_GROUP_ROWS || lineBytes >= ROW_GROUP_BYTES) group()
      return undefined
    }
    /**
     * Runs a step and hands over what it wrote. `JSON.parse` and hyparquet-writer throw: their failures,
     * and a step's own, become this module's typed error.
     */
    const attempt = (step: () => string | undefined) =>
      Effect.try({ try: step, catch: (e) => (e instanceof Error ? e.message : String(e)) }).pipe(
        Effect.flatMap((failed) => (failed === undefined ? Effect.sync(taken) : Effect.fail(failed))),
        Effect.mapError((why) => new ParquetError({ message: `cannot write Parquet: ${why}` }))
      )
    return {
      write: (bytes) =>
        attempt(() => {
          const end = bytes.lastIndexOf(0x0a)
          if (end < 0) {
            rest = concat(rest, bytes)
            return undefined
          }
          const text = decoder.decode(concat(rest, bytes.subarray(0, end)))
          rest = bytes.slice(end + 1)
          // A JSON line holds no raw newline: its strings escape them.
          for (const one of text.split("\n")) {
            const failed = add(one)
            if (failed !== undefined) return failed
          }
          return undefined
        }),
      end: attempt(() => {
        if (rest.length > 0) return `line ${line + 1} does not end with a newline`
        group()
        file.finish()
        return undefined
      })
    } satisfies Writer
  })

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  if (a.length === 0) return b
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/**
 * The Parquet file of the lines `stream` gives (lines of `source(format)`), streamed a row group at a
 * time: nothing comes out before the first row group is complete (or the lines end).
 *
 * @since 0.1.0
 */
export const encode =
  (format: Format, input?: Input) =>
  <E, R>(stream: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array, E | ParquetError, R> =>
    Stream.unwrap(
      Effect.map(writer(format, input), (w) =>
        stream.pipe(
          Stream.mapEffect(w.write),
          Stream.concat(Stream.fromEffect(w.end)),
          Stream.flattenIterables
        )
      )
    )
