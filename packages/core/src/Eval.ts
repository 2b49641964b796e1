/**
 * Scoring a model against the ground truth (contract §12), beside the pipeline's own first answer.
 * Pure: prediction lines in, one JSON line out. Reading the reference jobs and the predictions is the
 * front ends' (through `Export.samples` and `index`), so that neither has to hold a file in memory:
 * `index` keeps a job id and a byte range per line, and a line is parsed again when its job comes.
 *
 * @since 0.1.0
 */
import { Data, Effect, Either, Schema, Stream } from "effect"
import type { Slot } from "./Correction.js"
import * as FieldPath from "./FieldPath.js"
import type { Format } from "./Format.js"
import * as LineIndex from "./internal/lineIndex.js"
import { byteOrder } from "./internal/order.js"
import * as Json from "./Json.js"
import type { Sample } from "./Sample.js"

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
}> {
  override get message(): string {
    return `predictions line ${this.line}: ${this.detail}`
  }
}

/**
 * What a line predicts: a result (`Some` value; JSON `null` and an unreadable completion predict
 * nothing) or, for a completion that is not JSON, `unparseable`.
 *
 * @since 0.1.0
 */
export type Predicted =
  | { readonly _tag: "Result"; readonly value: Json.Json }
  | { readonly _tag: "Nothing" }
  | { readonly _tag: "Unparseable" }

/** A parsed prediction line. @since 0.1.0 */
export interface Prediction {
  readonly jobId: string
  readonly predicted: Predicted
}

const invalid = (line: number, detail: string) => Either.left(new InvalidPrediction({ line, detail }))

/** One surrounding Markdown fence: a first line starting with ``` and a last line that is ```. */
const unfence = (text: string): string => {
  const t = text.trim()
  if (!t.startsWith("```")) return t
  const first = t.indexOf("\n")
  const last = t.lastIndexOf("\n")
  if (first < 0 || last < first || t.slice(last + 1).trim() !== "```") return t
  return t.slice(first + 1, last).trim()
}

/** A model's raw answer read as JSON: a result, nothing (`null`), or unparseable. */
const completion = (text: string): Predicted =>
  Either.match(Json.parse(unfence(text)), {
    onLeft: (): Predicted => ({ _tag: "Unparseable" }),
    onRight: (value): Predicted => (value === null ? { _tag: "Nothing" } : { _tag: "Result", value })
  })

/**
 * Reads one line of a predictions file: `{"job_id": string, "result": …}` or
 * `{"job_id": string, "completion": string | [{"role":"assistant","content": string}]}` (other members
 * are ignored). `line` is 1-based, for the error.
 *
 * @since 0.1.0
 */
export const parseLine = (text: string, line: number): Either.Either<Prediction, InvalidPrediction> => {
  const parsed = Json.parse(text)
  if (Either.isLeft(parsed)) return invalid(line, `not JSON (${parsed.left.message})`)
  const o = parsed.right
  if (!Json.isObject(o)) return invalid(line, 'not an object {"job_id", "result" or "completion"}')
  const id = o.get("job_id")
  if (typeof id !== "string") return invalid(line, "job_id must be a string")
  // As the export writes it.
  const jobId = id.toLowerCase()
  const result = o.get("result")
  const answer = o.get("completion")
  if ((result === undefined) === (answer === undefined))
    return invalid(line, `job ${jobId}: exactly one of "result" and "completion" is required`)
  if (result !== undefined)
    return Either.right({
      jobId,
      predicted: result === null ? { _tag: "Nothing" } : { _tag: "Result", value: result }
    })
  if (typeof answer === "string") return Either.right({ jobId, predicted: completion(answer) })
  // TRL's conversational completion: the assistant's message.
  if (answer !== undefined && Json.isArray(answer) && answer.length > 0) {
    const m = answer[answer.length - 1]!
    if (Json.isObject(m) && m.get("role") === "assistant" && typeof m.get("content") === "string")
      return Either.right({ jobId, predicted: completion(m.get("content") as string) })
  }
  return invalid(line, `job ${jobId}: completion must be a string or [{"role":"assistant","content":"…"}]`)
}

/** A leaf of a result: its path (§2), its field (the path without indices) and its value. */
interface Leaf {
  readonly path: string
  readonly field: string
  readonly value: Json.Json
}

const isContainer = (v: Json.Json): boolean =>
  (Json.isObject(v) && v.size > 0) || (Json.isArray(v) && v.length > 0)

/** A key as a path writes it after `path` (§2): `.key`, `key` first, or `["…"]`. */
const keySegment = (path: string, key: string): string =>
  FieldPath.isIdentifier(key) ? (path === "" ? key : `.${key}`) : `[${JSON.stringify(key)}]`

/**
 * Every value of `result` that is not a non-empty object or array, at its path. Kept on a stack, not in
 * calls, and each path is its parent's text plus one segment (V8 joins strings without copying them until
 * one is read): linear in the size of the value, at any depth.
 *
 * @since 0.1.0
 */
export const leaves = (result: Json.Json): Array<Leaf> => {
  const out: Array<Leaf> = []
  const pending: Array<readonly [string, string, Json.Json]> = [["", "", result]]
  while (pending.length > 0) {
    const [path, field, value] = pending.pop()!
    if (!isContainer(value)) out.push({ path, field, value })
    else if (Json.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) pending.push([`${path}[${i}]`, `${field}[]`, value[i]!])
    } else {
      const entries = [...(value as Json.JsonObject)]
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, v] = entries[i]!
        pending.push([path + keySegment(path, key), field + keySegment(field, key), v])
      }
    }
  }
  return out
}

/** Counts of one predictor for one field. */
interface Counts {
  predicted: number
  correct: number
}

interface FieldCounts {
  support: number
  model: Counts
  pipeline: Counts
}

/**
 * The running scores: add each reference job with its prediction (or none), then `report`.
 *
 * @since 0.1.0
 */
export interface Tally {
  readonly jobs: number
  readonly predictions: number
  readonly unparseable: number
  readonly exactModel: number
  readonly exactPipeline: number
  readonly fields: ReadonlyMap<string, FieldCounts>
}

/** An empty tally. @since 0.1.0 */
export const empty = (): Tally => ({
  jobs: 0,
  predictions: 0,
  unparseable: 0,
  exactModel: 0,
  exactPipeline: 0,
  fields: new Map()
})

const countsOf = (fields: Map<string, FieldCounts>, field: string): FieldCounts => {
  let c = fields.get(field)
  if (c === undefined) {
    c = { support: 0, model: { predicted: 0, correct: 0 }, pipeline: { predicted: 0, correct: 0 } }
    fields.set(field, c)
  }
  return c
}

/** One predictor's leaves against the reference's: predicted and correct per field. */
const compare = (
  fields: Map<string, FieldCounts>,
  reference: ReadonlyArray<Leaf>,
  prediction: Json.Json | undefined,
  which: "model" | "pipeline"
): void => {
  if (prediction === undefined) return
  const predicted = new Map<string, Json.Json>()
  for (const leaf of leaves(prediction)) {
    predicted.set(leaf.path, leaf.value)
    countsOf(fields, leaf.field)[which].predicted++
  }
  for (const leaf of reference) {
    const p = predicted.get(leaf.path)
    if (p !== undefined && Json.equals(p, leaf.value)) countsOf(fields, leaf.field)[which].correct++
  }
}

/**
 * Adds a reference job: its `final_result` (not null), its `initial_result` (the pipeline's answer) and
 * what the model predicted for it, if there was a line. Mutates and returns `tally`.
 *
 * @since 0.1.0
 */
export const add = (
  tally: Tally,
  job: { readonly initial: Slot; readonly final: Json.Json },
  predicted: Predicted | undefined
): Tally => {
  const t = tally as {
    -readonly [K in keyof Tally]: Tally[K]
  }
  const fields = t.fields as Map<string, FieldCounts>
  const reference = leaves(job.final)
  for (const leaf of reference) countsOf(fields, leaf.field).support++
  t.jobs++
  if (predicted !== undefined) t.predictions++
  if (predicted?._tag === "Unparseable") t.unparseable++
  const model = predicted?._tag === "Result" ? predicted.value : undefined
  const initial = job.initial === undefined || job.initial === null ? undefined : job.initial
  compare(fields, reference, model, "model")
  compare(fields, reference, initial, "pipeline")
  if (model !== undefined && Json.equals(model, job.final)) t.exactModel++
  if (initial !== undefined && Json.equals(initial, job.final)) t.exactPipeline++
  return tally
}

/** `n / d` rounded to 4 decimals (half up), or null when `d` is 0. */
const ratio = (n: number, d: number): number | null =>
  // Half up on the exact fraction, in integers: 57/800 = 0.07125 → 0.0713, as 1/32 = 0.03125 → 0.0313.
  d === 0 ? null : Math.floor((n * 20000 + d) / (2 * d)) / 10000

/** One predictor's scores on a field. @since 0.1.0 */
export class Scores extends Schema.Class<Scores>("Scores")({
  predicted: Schema.Number,
  correct: Schema.Number,
  precision: Schema.NullOr(Schema.Number),
  recall: Schema.NullOr(Schema.Number)
}) {}

/** A field (`personel[].nrp`): its reference leaves, and the model's and the pipeline's scores. @since 0.1.0 */
export class FieldScores extends Schema.Class<FieldScores>("FieldScores")({
  field: Schema.String,
  support: Schema.Number,
  model: Scores,
  pipeline: Scores
}) {}

/** The evaluation (contract §12). Its fields are declared in the order they are printed. @since 0.1.0 */
export class Report extends Schema.Class<Report>("EvalReport")({
  jobs: Schema.Number,
  predictions: Schema.Number,
  missing: Schema.Number,
  unknown: Schema.Number,
  unparseable: Schema.Number,
  exact_match: Schema.Struct({ model: Schema.NullOr(Schema.Number), pipeline: Schema.NullOr(Schema.Number) }),
  fields: Schema.Array(FieldScores)
}) {}

const scores = (c: Counts, support: number) =>
  new Scores({
    predicted: c.predicted,
    correct: c.correct,
    precision: ratio(c.correct, c.predicted),
    recall: ratio(c.correct, support)
  })

/**
 * The report of a tally: `lines` is how many prediction lines the file held, so `unknown` (lines for
 * jobs outside the reference) is `lines - predictions`. Fields in byte order, those with a count above 0.
 *
 * @since 0.1.0
 */
export const report = (tally: Tally, lines: number): Report =>
  new Report({
    jobs: tally.jobs,
    predictions: tally.predictions,
    missing: tally.jobs - tally.predictions,
    unknown: lines - tally.predictions,
    unparseable: tally.unparseable,
    exact_match: {
      model: ratio(tally.exactModel, tally.jobs),
      pipeline: ratio(tally.exactPipeline, tally.jobs)
    },
    fields: [...tally.fields.entries()]
      .filter(([, c]) => c.support + c.model.predicted + c.pipeline.predicted > 0)
      .sort(([a], [b]) => byteOrder(a, b))
      .map(
        ([field, c]) =>
          new FieldScores({
            field,
            support: c.support,
            model: scores(c.model, c.support),
            pipeline: scores(c.pipeline, c.support)
          })
      )
  })

/**
 * The report as one JSON line, `\n` included: the same bytes from the CLI and over HTTP. Takes the
 * report's encoded form too (plain objects in the declared order).
 *
 * @since 0.1.0
 */
export const encode = (r: typeof Report.Encoded): string => `${JSON.stringify(r)}\n`

/** The longest prediction line read: far beyond any result, short of holding a file in memory. */
export const MAX_LINE = 64 * 1024 * 1024

/** Where a job's line is in the predictions: its number (1-based) and bytes. @since 0.1.0 */
export type Located = LineIndex.Located

/** An indexed predictions file: how many lines it held, and the line of a job id (lowercase). @since 0.1.0 */
export interface Indexed {
  readonly lines: number
  readonly find: (jobId: string) => Located | undefined
}

/**
 * Indexes a predictions file as its bytes pass, a chunk at a time: each line is read (and checked) once,
 * then only its job id and byte range are kept (compactly: ~60 bytes a line). Fails on the first bad
 * line, a job given twice (found once the ids are sorted, but named as a reader going line by line would
 * name it: the first line that repeats a job), or bytes that are not UTF-8. A last line without `\n`
 * counts; empty lines are not allowed.
 *
 * @since 0.1.0
 */
export const index = () => {
  const lines = new LineIndex.LineIndex()
  const decoder = new TextDecoder("utf-8", { fatal: true })
  let carry: Array<Uint8Array> = []
  let carryBytes = 0
  let offset = 0
  /** A bad line: unless a job repeated before it, which a line-by-line reader would have stopped at. */
  const fail = (line: number, detail: string) => {
    const twice = lines.repeated()
    return twice === undefined ? invalid(line, detail) : duplicate(twice)
  }
  const duplicate = (twice: { readonly key: string; readonly line: number; readonly also: number }) =>
    invalid(twice.line, `job ${twice.key} is predicted twice (also line ${twice.also})`)
  const take = (bytes: Uint8Array, start: number): Either.Either<void, InvalidPrediction> => {
    const line = lines.lines + 1
    if (bytes.length === 0) return fail(line, "an empty line")
    let text: string
    try {
      text = decoder.decode(bytes)
    } catch (e) {
      return fail(line, e instanceof TypeError ? "not UTF-8" : "cannot be read as text")
    }
    const parsed = parseLine(text, line)
    if (Either.isLeft(parsed)) return fail(line, parsed.left.detail)
    lines.add(parsed.right.jobId, start, start + bytes.length)
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
        if (carryBytes > MAX_LINE)
          return fail(lines.lines + 1, `longer than ${MAX_LINE / 1024 / 1024} MiB (a prediction is one line)`)
      }
      return Either.void
    },
    /** The end of the file: the index, once no job is predicted twice. */
    end: (): Either.Either<Indexed, InvalidPrediction> => {
      if (carryBytes > 0) {
        const start = offset - carryBytes
        const taken = take(lineOf(new Uint8Array(0)), start)
        if (Either.isLeft(taken)) return Either.left(taken.left)
      }
      const twice = lines.repeated()
      if (twice !== undefined) return duplicate(twice)
      return Either.right({ lines: lines.lines, find: (jobId: string) => lines.find(jobId) })
    }
  }
}

/** How much of a predictions file is read at a time while indexing. */
const CHUNK = 1 << 20

/**
 * A predictions file read through `read(position, length)` (a file the front end opened: the CLI's
 * argument, the server's spooled body): indexed in one pass of 1 MiB reads, then each line read again
 * when its job comes. What `run` takes.
 *
 * @since 0.1.0
 */
export const indexed = <E>(read: (position: number, length: number) => Effect.Effect<Uint8Array, E>) =>
  Effect.gen(function* () {
    const lines = index()
    for (let position = 0; ; ) {
      const chunk = yield* read(position, CHUNK)
      if (chunk.length === 0) break
      position += chunk.length
      yield* lines.push(chunk)
    }
    const { find, lines: count } = yield* lines.end()
    // A read may give fewer bytes than asked for: a line is read to its end.
    const line = (at: Located) =>
      Effect.gen(function* () {
        const parts: Array<Uint8Array> = []
        for (let got = 0; got < at.end - at.start; ) {
          const part = yield* read(at.start + got, at.end - at.start - got)
          if (part.length === 0) break
          parts.push(part)
          got += part.length
        }
        return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
      })
    return { find, lines: count, read: line }
  })

/**
 * Whether a sample is a reference job: it has a `final_result`, and the format would write it (in
 * `preference`, only jobs whose results differ).
 *
 * @since 0.1.0
 */
export const isReference = (format: Format, sample: Sample): boolean =>
  sample.result !== undefined &&
  sample.result !== null &&
  !(
    format === "preference" &&
    sample.initialResult !== undefined &&
    Json.equals(sample.initialResult, sample.result)
  )

/**
 * Scores indexed predictions against the reference samples, in one pass over them: a job's line is read
 * (`read`) and parsed when its sample comes, so memory holds one prediction at a time. The report's line.
 *
 * @since 0.1.0
 */
export const run = <E, E2, R>(
  format: Format,
  samples: Stream.Stream<Sample, E, R>,
  predictions: Indexed & {
    readonly read: (at: Located) => Effect.Effect<Uint8Array, E2>
  }
): Effect.Effect<Report, E | E2 | InvalidPrediction, R> => {
  const decoder = new TextDecoder()
  return Stream.runFoldEffect(samples, empty(), (tally, sample) => {
    if (!isReference(format, sample)) return Effect.succeed(tally)
    const job = { initial: sample.initialResult, final: sample.result as Json.Json }
    const at = predictions.find(sample.id.toLowerCase())
    if (at === undefined) return Effect.succeed(add(tally, job, undefined))
    return Effect.flatMap(predictions.read(at), (bytes) =>
      Effect.map(parseLine(decoder.decode(bytes), at.line), (p) => add(tally, job, p.predicted))
    )
  }).pipe(Effect.map((tally) => report(tally, predictions.lines)))
}

/** A share as a percentage with one decimal, or `–` when there is none. */
const percent = (x: number | null): string => (x === null ? "–" : `${(x * 100).toFixed(1)}%`)

/** A difference of two shares in percentage points, signed, or `–`. */
const points = (a: number | null, b: number | null): string => {
  if (a === null || b === null) return "–"
  const d = Math.round((a - b) * 1000) / 10
  return `${d > 0 ? "+" : d < 0 ? "−" : "±"}${Math.abs(d).toFixed(1)}`
}

/** `|` and line breaks would break a table cell. */
const cell = (text: string): string => text.replaceAll("|", "\\|").replaceAll("\n", " ")

/**
 * The report for a person: the counts, exact match, and one row per field with the model and the
 * pipeline side by side and the model's gain in points. Worst first: fields by the model's recall, lowest
 * first (fields no reference holds last), then by name.
 *
 * @since 0.1.0
 */
export const markdown = (r: Report): string => {
  const rows = [...r.fields].sort((a, b) => {
    const x = a.model.recall ?? Number.POSITIVE_INFINITY
    const y = b.model.recall ?? Number.POSITIVE_INFINITY
    return x - y || byteOrder(a.field, b.field)
  })
  return [
    "# Evaluation against the ground truth",
    "",
    `${r.jobs} reference jobs; ${r.predictions} predicted, ${r.missing} missing, ${r.unparseable} unparseable; ` +
      `${r.unknown} lines for other jobs ignored.`,
    "",
    "| | model | pipeline | Δ |",
    "|---|---:|---:|---:|",
    `| exact match | ${percent(r.exact_match.model)} | ${percent(r.exact_match.pipeline)} | ${points(r.exact_match.model, r.exact_match.pipeline)} |`,
    "",
    "| field | support | model recall | pipeline recall | Δ recall | model precision | pipeline precision | Δ precision |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (f) =>
        `| \`${cell(f.field)}\` | ${f.support} | ${percent(f.model.recall)} | ${percent(f.pipeline.recall)} | ` +
        `${points(f.model.recall, f.pipeline.recall)} | ${percent(f.model.precision)} | ` +
        `${percent(f.pipeline.precision)} | ${points(f.model.precision, f.pipeline.precision)} |`
    ),
    ""
  ].join("\n")
}
