/**
 * Scoring a model against the ground truth (contract §12), beside the pipeline's own first answer.
 * Pure: prediction lines in, one JSON line out. Reading the reference jobs and the predictions is the
 * front ends' (through `Export.samples` and `index`), so that neither has to hold a file in memory:
 * `index` keeps a job id, a byte range and a digest per line, and a line is parsed again when its job
 * comes. Every step is linear in the bytes it reads, and `limits` bound each line, so that no file can
 * make scoring slow or large (a server scores on the event loop that answers its other requests).
 *
 * @since 0.1.0
 */
import { Data, Effect, Either, Option, Schema, Stream } from "effect"
import type { Slot } from "./Correction.js"
import type { Format } from "./Format.js"
import { align } from "./internal/align.js"
import * as Bootstrap from "./internal/bootstrap.js"
import * as Coverage from "./internal/coverage.js"
import { byteOrder } from "./internal/order.js"
import {
  type Indexed,
  InvalidPrediction,
  invalid,
  keySegment,
  type Limits,
  type Located,
  limits,
  type Predicted,
  type PredictionsFile,
  parseLine
} from "./internal/predictions.js"
import { quantity } from "./internal/quantity.js"
import * as Json from "./Json.js"
import type { Sample } from "./Sample.js"
import * as Split from "./Split.js"

export {
  type Indexed,
  InvalidPrediction,
  index,
  indexed,
  type Limits,
  LineChanged,
  type Located,
  limits,
  type Predicted,
  type Prediction,
  type PredictionsFile,
  parseLine,
  type Reading,
  reader
} from "./internal/predictions.js"

const isContainer = (v: Json.Json): boolean =>
  (Json.isObject(v) && v.size > 0) || (Json.isArray(v) && v.length > 0)

/** Counts of one predictor for one field: its leaves, and each leaf that is not correct in its class (§14). */
interface Counts {
  predicted: number
  correct: number
  missing: number
  extra: number
  format: number
  ocr: number
  value: number
}

const counts = (): Counts => ({ predicted: 0, correct: 0, missing: 0, extra: 0, format: 0, ocr: 0, value: 0 })

/**
 * A field of the report as a node of the tree of fields: `personel[].nrp` is the member `nrp` of the
 * items of the member `personel` of the root. Leaves are counted at their node, and a field's text is
 * only written for the report: a path per leaf (what was kept before) costs its length for every leaf,
 * so a long key above many leaves made scoring quadratic in the line.
 *
 * @since 0.1.0
 */
export interface Field {
  members: Map<string, Field> | undefined
  items: Field | undefined
  support: number
  readonly model: Counts
  readonly against: Counts
  readonly pipeline: Counts
}

/**
 * Who predicts: the model, a second model it is compared with (`--against`), the pipeline.
 *
 * @since 0.1.0
 */
export type Predictor = "model" | "against" | "pipeline"

const field = (): Field => ({
  members: undefined,
  items: undefined,
  support: 0,
  model: counts(),
  against: counts(),
  pipeline: counts()
})

/**
 * How many completions needed each rule of §12's reading beyond the whole text: `think` spans removed,
 * their `code_block`, their `braces` (an answer may need `think` and one of the others). Answers read as
 * they were, results and unparseable answers are not counted.
 *
 * @since 0.1.0
 */
export class Completions extends Schema.Class<Completions>("Completions")({
  think: Schema.Number,
  code_block: Schema.Number,
  braces: Schema.Number
}) {}

/**
 * What a second model's file (`--against`) held for the reference jobs: its lines for them, those
 * unparseable, the completions read with each rule, the jobs it matched exactly.
 *
 * @since 0.1.0
 */
export interface AgainstTally {
  readonly predictions: number
  readonly unparseable: number
  readonly completions: Completions
  readonly exact: number
  /** Fields its lines added: its own budget, as the model's `newFields` is the model's. */
  readonly newFields: number
}

/**
 * The running scores: add each reference job with its prediction (or none), then `report`.
 *
 * @since 0.1.0
 */
export interface Tally {
  /** Whether a model is scored: without predictions, the pipeline alone is (§14). */
  readonly scoresModel: boolean
  readonly jobs: number
  readonly predictions: number
  readonly unparseable: number
  /** Completions read with each rule of §12 beyond the whole text. */
  readonly completions: Completions
  readonly exactModel: number
  readonly exactPipeline: number
  /** A second model's, when one is scored beside the model (`--against`). */
  readonly against: AgainstTally | undefined
  /** The root of the tree of fields (the field `""`). */
  readonly fields: Field
  /** Fields that predictions added. */
  readonly newFields: number
  readonly limits: Limits
  /** Each job's counts, for the intervals: kept when a model is scored (not of a slice). */
  readonly resampling: ReturnType<typeof Bootstrap.make> | undefined
}

/**
 * An empty tally; with `scoresModel` false, of the pipeline alone; `resampled`: keeping each job's
 * counts for the intervals (by default when a model is scored); `against`: a second model is scored
 * beside the model. @since 0.1.0
 */
export const empty = (
  bounds: Limits = limits,
  scoresModel = true,
  {
    resampled = scoresModel,
    against = false
  }: { readonly resampled?: boolean; readonly against?: boolean } = {}
): Tally => ({
  scoresModel,
  jobs: 0,
  predictions: 0,
  unparseable: 0,
  completions: { think: 0, code_block: 0, braces: 0 },
  exactModel: 0,
  exactPipeline: 0,
  against: against
    ? {
        predictions: 0,
        unparseable: 0,
        completions: { think: 0, code_block: 0, braces: 0 },
        exact: 0,
        newFields: 0
      }
    : undefined,
  fields: field(),
  newFields: 0,
  limits: bounds,
  // The model, the pipeline, then the second model: the pipeline's intervals do not depend on it.
  resampling: resampled ? Bootstrap.make(against ? 3 : 2) : undefined
})

/**
 * Calls `visit` with the field of every leaf of `value` (a value that is not a non-empty object or
 * array, §12), adding the fields not yet in the tree; `added` is told of each, and stops the walk by
 * answering false. On a stack, not in calls: any depth.
 */
const eachLeaf = (
  root: Field,
  value: Json.Json,
  visit: (f: Field) => void,
  added: () => boolean
): boolean => {
  const values: Array<Json.Json> = [value]
  const fields: Array<Field> = [root]
  while (values.length > 0) {
    const v = values.pop()!
    const f = fields.pop()!
    if (!isContainer(v)) visit(f)
    else if (Json.isArray(v)) {
      if (f.items === undefined) {
        f.items = field()
        if (!added()) return false
      }
      for (const item of v) {
        values.push(item)
        fields.push(f.items)
      }
    } else {
      f.members ??= new Map()
      for (const [k, member] of v as Json.JsonObject) {
        let m = f.members.get(k)
        if (m === undefined) {
          m = field()
          f.members.set(k, m)
          if (!added()) return false
        }
        values.push(member)
        fields.push(m)
      }
    }
  }
  return true
}

/** What a present pair of leaves is (§14): equal, or which kind of mistake. */
type LeafClass = "correct" | "format" | "ocr" | "value"

/** ASCII whitespace and punctuation, which a normalizer removes. */
const NOISE = /[\t\n\v\f\r !"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]+/g

/** A leaf's text as `format` compares it: a string's characters or a number's digits as written. */
const normalized = (v: Json.Json): string | undefined => {
  const text = typeof v === "string" ? v : v instanceof Json.JsonNumber ? v.text : undefined
  return text?.replace(NOISE, "").replace(/[a-z]+/g, (x) => x.toUpperCase())
}

/** The characters OCR confuses, a group a number: `0 O D Q`, `1 I L 7`, `2 Z`, `5 S`, `6 G`, `8 B`, `U V`. */
const CONFUSED = new Map(
  ["0ODQ", "1IL7", "2Z", "5S", "6G", "8B", "UV"].flatMap((group, n) => [...group].map((c) => [c, n] as const))
)

/** Two normalized texts of one length whose every difference is a pair of one group. */
const ocrConfusion = (a: string, b: string): boolean => {
  const x = [...a]
  const y = [...b]
  if (x.length !== y.length) return false
  return x.every((c, i) => c === y[i] || (CONFUSED.has(c) && CONFUSED.get(c) === CONFUSED.get(y[i]!)))
}

/** The class of a reference leaf and the prediction's leaf at its path. */
const classOf = (reference: Json.Json, prediction: Json.Json): LeafClass => {
  if (Json.equals(prediction, reference)) return "correct"
  const a = normalized(reference)
  const b = normalized(prediction)
  if (a === undefined || b === undefined) return "value"
  if (a === b) return "format"
  return ocrConfusion(a, b) ? "ocr" : "value"
}

/**
 * What a side-by-side walk tells: a pair of leaves and its class, a reference value with nothing at its
 * path (`missing`: all its leaves), a predicted one with nothing at its path (`extra`), and how to step
 * from a field to a member's or to an array's items.
 */
interface Visitor<F> {
  readonly pair: (field: F, leaf: LeafClass, reference: Json.Json, prediction: Json.Json) => void
  readonly missing: (field: F, value: Json.Json) => void
  readonly extra: (field: F, value: Json.Json) => void
  readonly member: (field: F, key: string) => F
  /** The field of an array's element: its index in the reference, in the prediction (either may be none). */
  readonly item: (field: F, reference: number | undefined, prediction: number | undefined) => F
}

/** Arrays of objects nested deeper than this in one another align by index: alignment recurses. */
const ALIGNED_NESTING = 64

/**
 * Two arrays of objects with more pairs of elements than this (500 rows against 500) align by index:
 * pairing by content compares every pair and costs rows² × rows, ~0.3 s here; a Sprin table of 200
 * people, the largest the limits have in mind, is 40,000 pairs.
 */
const ALIGNED_PAIRS = 250_000

const allObjects = (a: Json.JsonArray): boolean => a.every((x) => Json.isObject(x))

/**
 * Walks `reference` and `prediction` side by side (§14): objects member by member, arrays of objects by
 * content (`align`, pairing by the equal leaves of each pair, counted by this same walk), other arrays by
 * index. On a stack, not in calls, but for the pairs of an aligned array, which recurse once a level of
 * arrays of objects (at most `ALIGNED_NESTING`).
 */
const walk = <F>(
  reference: Json.Json | undefined,
  prediction: Json.Json | undefined,
  root: F,
  visitor: Visitor<F>,
  nesting = 0
): void => {
  const references: Array<Json.Json | undefined> = [reference]
  const predictions: Array<Json.Json | undefined> = [prediction]
  const fields: Array<F> = [root]
  const push = (r: Json.Json | undefined, p: Json.Json | undefined, f: F) => {
    references.push(r)
    predictions.push(p)
    fields.push(f)
  }
  while (references.length > 0) {
    const r = references.pop()
    const p = predictions.pop()
    const f = fields.pop() as F
    if (r === undefined) {
      if (p !== undefined) visitor.extra(f, p)
    } else if (p === undefined) visitor.missing(f, r)
    else if (!isContainer(r) && !isContainer(p)) visitor.pair(f, classOf(r, p), r, p)
    else if (!isContainer(r) || !isContainer(p) || Json.isArray(r) !== Json.isArray(p)) {
      visitor.missing(f, r)
      visitor.extra(f, p)
    } else if (Json.isArray(r)) {
      const q = p as Json.JsonArray
      const partners =
        nesting < ALIGNED_NESTING && r.length * q.length <= ALIGNED_PAIRS && allObjects(r) && allObjects(q)
          ? align(r.length, q.length, (i, j) => equalLeaves(r[i]!, q[j]!, nesting + 1))
          : r.map((_, i) => (i < q.length ? i : undefined))
      const paired = new Set<number>()
      partners.forEach((j, i) => {
        push(r[i], j === undefined ? undefined : q[j], visitor.item(f, i, j))
        if (j !== undefined) paired.add(j)
      })
      q.forEach((x, j) => {
        if (!paired.has(j)) push(undefined, x, visitor.item(f, undefined, j))
      })
    } else {
      const q = p as Json.JsonObject
      for (const [k, x] of r as Json.JsonObject) push(x, q.get(k), visitor.member(f, k))
      for (const [k, y] of q) if (!(r as Json.JsonObject).has(k)) push(undefined, y, visitor.member(f, k))
    }
  }
}

/** The equal leaves of two values, by `walk`'s pairing. */
const equalLeaves = (reference: Json.Json, prediction: Json.Json, nesting: number): number => {
  let n = 0
  const none = () => undefined
  walk(
    reference,
    prediction,
    undefined,
    {
      pair: (_, leaf) => void (leaf === "correct" && n++),
      missing: none,
      extra: none,
      member: none,
      item: none
    },
    nesting
  )
  return n
}

/**
 * Counts, for `which` predictor, each leaf of `reference` and of `prediction` (absent: none) in its
 * class (§14), at its field. Both values' fields are in the tree already.
 */
const classify = (
  root: Field,
  reference: Json.Json,
  prediction: Json.Json | undefined,
  which: Predictor,
  correct?: (f: Field) => void
) => {
  const always = () => true
  walk(reference, prediction, root, {
    pair: (f, leaf) => {
      f[which][leaf]++
      if (leaf === "correct") correct?.(f)
    },
    missing: (f, value) => eachLeaf(f, value, (g) => g[which].missing++, always),
    extra: (f, value) => eachLeaf(f, value, (g) => g[which].extra++, always),
    member: (f, k) => (f.members as Map<string, Field>).get(k) as Field,
    item: (f) => f.items as Field
  })
}

/** Where a walk is: the path (§2) in the reference and in the prediction, where each has the value. */
interface Where {
  readonly reference: string | undefined
  readonly prediction: string | undefined
}

const extend = (path: string | undefined, segment: (path: string) => string) =>
  path === undefined ? undefined : path + segment(path)

/** Every leaf of `value` at `path` (§12), last first: the order a walk's stack visits them in. */
const leavesOf = (value: Json.Json, path: string): Array<readonly [string, Json.Json]> => {
  const out: Array<readonly [string, Json.Json]> = []
  const pending: Array<readonly [string, Json.Json]> = [[path, value]]
  while (pending.length > 0) {
    const [at, v] = pending.pop()!
    if (!isContainer(v)) out.push([at, v])
    else if (Json.isArray(v)) v.forEach((x, i) => void pending.push([`${at}[${i}]`, x]))
    else for (const [k, x] of v as Json.JsonObject) pending.push([at + keySegment(at, k), x])
  }
  return out
}

/**
 * Each leaf of a prediction that is not correct, in its class (§14), as JSON objects in the order of the
 * reference (then the prediction's own): `path` (the reference's; of an `extra` leaf, the prediction's),
 * `predicted_path` when a row paired by content sits at another index, `class`, `expected` (but for
 * `extra`) and `predicted` (but for `missing`), values as canonical JSON.
 */
const wrongLeaves = (reference: Json.Json, prediction: Json.Json | undefined): Array<string> => {
  const out: Array<string> = []
  const entry = (cls: string, path: string, expected?: Json.Json, predicted?: Json.Json, other?: string) =>
    out.push(
      `{"path":${JSON.stringify(path)}${other === undefined || other === path ? "" : `,"predicted_path":${JSON.stringify(other)}`},` +
        `"class":"${cls}"${expected === undefined ? "" : `,"expected":${Json.stringify(expected)}`}` +
        `${predicted === undefined ? "" : `,"predicted":${Json.stringify(predicted)}`}}`
    )
  // A walk's stack visits the last first: the entries are reversed once it is done.
  const subtree = (cls: "missing" | "extra", path: string | undefined, value: Json.Json) => {
    for (const [at, leaf] of leavesOf(value, path ?? ""))
      cls === "missing" ? entry(cls, at, leaf) : entry(cls, at, undefined, leaf)
  }
  walk<Where>(
    reference,
    prediction,
    { reference: "", prediction: "" },
    {
      pair: (w, leaf, r, p) => {
        if (leaf !== "correct") entry(leaf, w.reference ?? "", r, p, w.prediction)
      },
      missing: (w, value) => subtree("missing", w.reference, value),
      extra: (w, value) => subtree("extra", w.prediction, value),
      member: (w, key) => ({
        reference: extend(w.reference, (at) => keySegment(at, key)),
        prediction: extend(w.prediction, (at) => keySegment(at, key))
      }),
      item: (w, i, j) => ({
        reference: i === undefined ? undefined : extend(w.reference, () => `[${i}]`),
        prediction: j === undefined ? undefined : extend(w.prediction, () => `[${j}]`)
      })
    }
  )
  return out.reverse()
}

/** What a job's line predicted, as a details line says it. */
const predictionOf = (predicted: Predicted | undefined): string =>
  predicted === undefined
    ? "missing"
    : predicted._tag === "Result"
      ? "result"
      : predicted._tag === "Nothing"
        ? "null"
        : "unparseable"

/**
 * A reference job's details line (`eval --details`), `\n` included: its id, what its prediction line
 * held (`result`, `null`, `unparseable`, or `missing`: no line) and the line's number (with a second
 * model, `against` says the same of its file), whether each predictor matched it exactly, and each
 * predictor's wrong leaves (`wrongLeaves`). Of the pipeline alone (`scoresModel` false), what concerns a
 * model is left out.
 *
 * @since 0.1.0
 */
export const details = (
  jobId: string,
  job: { readonly initial: Slot; readonly final: Json.Json },
  predicted: Predicted | undefined,
  line: number | undefined,
  scoresModel = true,
  against?: Against
): string => {
  const initial = job.initial === undefined || job.initial === null ? undefined : job.initial
  const resultOf = (p: Predicted | undefined) => (p?._tag === "Result" ? p.value : undefined)
  const list = (xs: ReadonlyArray<string>) => `[${xs.join(",")}]`
  const matches = (value: Json.Json | undefined) => value !== undefined && Json.equals(value, job.final)
  const [pipelineExact, pipelineErrors] = [matches(initial), list(wrongLeaves(job.final, initial))]
  if (!scoresModel)
    return `{"job_id":${JSON.stringify(jobId)},"exact_match":{"pipeline":${pipelineExact}},"errors":{"pipeline":${pipelineErrors}}}\n`
  const model = resultOf(predicted)
  const second = against === undefined ? undefined : resultOf(against.predicted)
  const read = (p: Predicted | undefined, at: number | undefined) =>
    `"prediction":"${predictionOf(p)}","line":${at ?? "null"}`
  return (
    `{"job_id":${JSON.stringify(jobId)},${read(predicted, line)},` +
    (against === undefined ? "" : `"against":{${read(against.predicted, against.line)}},`) +
    `"exact_match":{"model":${matches(model)},` +
    (against === undefined ? "" : `"against":${matches(second)},`) +
    `"pipeline":${pipelineExact}},"errors":{"model":${list(wrongLeaves(job.final, model))},` +
    (against === undefined ? "" : `"against":${list(wrongLeaves(job.final, second))},`) +
    `"pipeline":${pipelineErrors}}}\n`
  )
}

/** What a second model predicted for a job (none: no line), and on which line of its file. @since 0.1.0 */
export interface Against {
  readonly predicted: Predicted | undefined
  readonly line: number | undefined
}

/**
 * Each predictor's place in a job's counts for the intervals (`Bootstrap.Counts`): its correct leaves at
 * 1 + 2k, its predicted ones after them, its exact match at bit k. The pipeline before the second model:
 * the model − pipeline intervals are the same with one or without.
 */
const ORDER = { model: 0, pipeline: 1, against: 2 } as const
const correctAt = (who: Predictor) => 1 + 2 * ORDER[who]
const exactBit = (who: Predictor) => 1 << ORDER[who]

/**
 * Adds a reference job: its `final_result` (not null), its `initial_result` (the pipeline's answer),
 * what the model predicted for it on line `line`, if there was a line, and, when the tally scores a
 * second model, what that one predicted (`against`). Mutates and returns `tally`; fails when a
 * prediction brings the fields no reference had past the tally's limit.
 *
 * @since 0.1.0
 */
export const add = (
  tally: Tally,
  job: { readonly initial: Slot; readonly final: Json.Json },
  predicted: Predicted | undefined,
  line = 0,
  against?: Against
): Either.Either<Tally, InvalidPrediction> => {
  const t = tally as {
    -readonly [K in keyof Tally]: Tally[K]
  }
  const always = () => true
  // This job's counts by field, for the intervals: support, then each predictor's correct and predicted.
  const resampling = t.resampling
  const counts = resampling === undefined ? undefined : new Map<Field, Bootstrap.Counts>()
  const count = (x: number) =>
    counts === undefined || resampling === undefined
      ? undefined
      : (f: Field) => {
          let c = counts.get(f)
          if (c === undefined) {
            c = resampling.counts()
            counts.set(f, c)
          }
          c[x]++
        }
  const support = count(0)
  eachLeaf(
    t.fields,
    job.final,
    (f) => {
      f.support++
      support?.(f)
    },
    always
  )
  t.jobs++
  let exact = 0
  /** Counts what a line predicted (none: no line), its leaves and whether it matched; then classifies. */
  const scoreLine = (
    who: "model" | "against",
    lines: { predictions: number; unparseable: number; completions: Completions; newFields: number },
    p: Predicted | undefined,
    at: number
  ): Either.Either<boolean, InvalidPrediction> => {
    if (p !== undefined) lines.predictions++
    if (p?._tag === "Unparseable") lines.unparseable++
    else if (p?.reading !== undefined) {
      const c = lines.completions as { -readonly [K in keyof Completions]: number }
      if (p.reading.think) c.think++
      if (p.reading.via !== "text") c[p.reading.via]++
    }
    const value = p?._tag === "Result" ? p.value : undefined
    if (value !== undefined) {
      const predictedLeaf = count(correctAt(who) + 1)
      const within = eachLeaf(
        t.fields,
        value,
        (f) => {
          f[who].predicted++
          predictedLeaf?.(f)
        },
        () => ++lines.newFields <= t.limits.newFields
      )
      if (!within)
        return invalid(
          at,
          `the predictions name more than ${quantity(t.limits.newFields)} fields that no reference job has`,
          who === "model" ? "predictions" : "against"
        )
    }
    const matched = value !== undefined && Json.equals(value, job.final)
    if (matched) exact |= exactBit(who)
    if (t.scoresModel) classify(t.fields, job.final, value, who, count(correctAt(who)))
    return Either.right(matched)
  }
  const model = scoreLine("model", t, predicted, line)
  if (Either.isLeft(model)) return Either.left(model.left)
  if (model.right) t.exactModel++
  if (t.against !== undefined) {
    const second = t.against as { -readonly [K in keyof AgainstTally]: AgainstTally[K] }
    const matched = scoreLine("against", second, against?.predicted, against?.line ?? 0)
    if (Either.isLeft(matched)) return Either.left(matched.left)
    if (matched.right) second.exact++
  }
  const initial = job.initial === undefined || job.initial === null ? undefined : job.initial
  if (initial !== undefined) {
    const pipelinePredicted = count(correctAt("pipeline") + 1)
    eachLeaf(
      t.fields,
      initial,
      (f) => {
        f.pipeline.predicted++
        pipelinePredicted?.(f)
      },
      always
    )
    if (Json.equals(initial, job.final)) {
      t.exactPipeline++
      exact |= exactBit("pipeline")
    }
  }
  classify(t.fields, job.final, initial, "pipeline", count(correctAt("pipeline")))
  if (counts !== undefined) resampling?.job(exact, counts)
  return Either.right(tally)
}

/** `n / d` rounded to 4 decimals (half up), or null when `d` is 0. */
const ratio = (n: number, d: number): number | null =>
  // Half up on the exact fraction, in integers: 57/800 = 0.07125 → 0.0713, as 1/32 = 0.03125 → 0.0313.
  d === 0 ? null : Math.floor((n * 20000 + d) / (2 * d)) / 10000

/**
 * What the reference jobs can be sliced by: a job's `satuan`, its `source_kind`, or each of its review
 * flags (`review_flag`). Each slice is scored on its own, so a team sees where a model helps and where
 * it hurts.
 *
 * @since 0.1.0
 */
export const SliceBy = Schema.Literal("satuan", "source_kind", "review_flag")

/** @since 0.1.0 */
export type SliceBy = typeof SliceBy.Type

/** A `by` as given (`--by`, `by=`), or why it is none (`must be one of …`). @since 0.1.0 */
export const parseBy = (text: string): Either.Either<SliceBy, string> => {
  const by = SliceBy.literals.find((b) => b === text)
  return by === undefined
    ? Either.left(`must be one of ${SliceBy.literals.join(", ")}, not ${JSON.stringify(text.slice(0, 100))}`)
    : Either.right(by)
}

/**
 * A predictor's leaves of a field that are not correct, each in one class (§14): `missing` (a reference
 * leaf with nothing at its path), `extra` (a predicted leaf with nothing at its path), `format` (equal
 * once ASCII whitespace and punctuation are removed and letters upper-cased), `ocr` (the same length,
 * every difference a pair OCR confuses) and `value` (any other).
 *
 * @since 0.1.0
 */
export class Errors extends Schema.Class<Errors>("Errors")({
  missing: Schema.Number,
  extra: Schema.Number,
  format: Schema.Number,
  ocr: Schema.Number,
  value: Schema.Number
}) {}

/**
 * One predictor's scores on a field: `support = correct + missing + format + ocr + value` and
 * `predicted = correct + extra + format + ocr + value`.
 *
 * @since 0.1.0
 */
export class Scores extends Schema.Class<Scores>("Scores")({
  predicted: Schema.Number,
  correct: Schema.Number,
  precision: Schema.NullOr(Schema.Number),
  recall: Schema.NullOr(Schema.Number),
  f1: Schema.NullOr(Schema.Number),
  errors: Errors
}) {}

/**
 * A field (`personel[].nrp`): its reference leaves, and the model's (when one is scored), the second
 * model's (`--against`) and the pipeline's scores.
 *
 * @since 0.1.0
 */
export class FieldScores extends Schema.Class<FieldScores>("FieldScores")({
  field: Schema.String,
  support: Schema.Number,
  model: Schema.optional(Scores),
  against: Schema.optional(Scores),
  pipeline: Scores
}) {}

/**
 * Precision, recall and F1 of one predictor over many fields.
 *
 * @since 0.1.0
 */
export class Average extends Schema.Class<Average>("Average")({
  precision: Schema.NullOr(Schema.Number),
  recall: Schema.NullOr(Schema.Number),
  f1: Schema.NullOr(Schema.Number)
}) {}

/**
 * One predictor over every field: `micro` over all the leaves at once (every field's counts summed),
 * `macro` the unweighted mean of the fields the reference holds (support above 0), each field's null
 * (nothing predicted; F1 with nothing correct) counting 0, so a field a model never fills costs it.
 *
 * @since 0.1.0
 */
export class Overall extends Schema.Class<Overall>("Overall")({
  micro: Average,
  macro: Average
}) {}

/**
 * A difference (model − pipeline) and its 95% interval from the paired bootstrap.
 *
 * @since 0.1.0
 */
export class Interval extends Schema.Class<Interval>("Interval")({
  delta: Schema.Number,
  low: Schema.Number,
  high: Schema.Number
}) {}

/** The intervals of the fields' F1 differences, in the report's order of fields. */
const FieldIntervals = Schema.Array(Schema.Struct({ field: Schema.String, f1: Interval }))

/**
 * The intervals of the differences model − second model (`--against`), from the same resamples.
 *
 * @since 0.1.0
 */
export class AgainstIntervals extends Schema.Class<AgainstIntervals>("AgainstIntervals")({
  exact_match: Interval,
  micro_f1: Interval,
  fields: FieldIntervals
}) {}

/**
 * The paired bootstrap over jobs (`resamples` resamples with replacement, drawn by mulberry32 from
 * `seed`): the intervals of the differences model − pipeline in exact match, micro F1 and each field's
 * F1; with a second model, `against`: model − second model, from the same resamples.
 *
 * @since 0.1.0
 */
export class Intervals extends Schema.Class<Intervals>("Intervals")({
  resamples: Schema.Number,
  seed: Schema.Number,
  exact_match: Interval,
  micro_f1: Interval,
  fields: FieldIntervals,
  against: Schema.optional(AgainstIntervals)
}) {}

/**
 * What a second model's file (`--against`) held for the reference jobs, counted as the model's are;
 * `warning` when it covers less than half of them.
 *
 * @since 0.1.0
 */
export class AgainstCounts extends Schema.Class<AgainstCounts>("AgainstCounts")({
  predictions: Schema.Number,
  missing: Schema.Number,
  unknown: Schema.optional(Schema.Number),
  unparseable: Schema.Number,
  completions: Completions,
  warning: Schema.optional(Schema.String)
}) {}

/** The evaluation (contract §12). Its fields are declared in the order they are printed. @since 0.1.0 */
export class Report extends Schema.Class<Report>("EvalReport")({
  jobs: Schema.Number,
  predictions: Schema.optional(Schema.Number),
  missing: Schema.optional(Schema.Number),
  unknown: Schema.optional(Schema.Number),
  unparseable: Schema.optional(Schema.Number),
  completions: Schema.optional(Completions),
  against: Schema.optional(AgainstCounts),
  warning: Schema.optional(Schema.String),
  exact_match: Schema.Struct({
    model: Schema.optional(Schema.NullOr(Schema.Number)),
    against: Schema.optional(Schema.NullOr(Schema.Number)),
    pipeline: Schema.NullOr(Schema.Number)
  }),
  overall: Schema.Struct({
    model: Schema.optional(Overall),
    against: Schema.optional(Overall),
    pipeline: Overall
  }),
  intervals: Schema.optional(Intervals),
  fields: Schema.Array(FieldScores),
  slices: Schema.optional(
    Schema.Struct({
      by: SliceBy,
      values: Schema.Array(Schema.suspend((): Schema.Schema<Slice, SliceEncoded> => Slice))
    })
  )
}) {}

/** A slice's encoded form. @since 0.1.0 */
export interface SliceEncoded {
  readonly value: string | null
  readonly report: typeof Report.Encoded
}

/**
 * One slice of the reference jobs (a satuan, a source kind, a review flag; `null`: none) and its own
 * report, as the whole's but `unknown` (lines are the whole file's) and `warning`.
 *
 * @since 0.1.0
 */
export class Slice extends Schema.Class<Slice>("EvalSlice")({
  value: Schema.NullOr(Schema.String),
  report: Report
}) {}

/** A fraction in integers, for means that round exactly as `ratio` does. */
interface Fraction {
  readonly n: bigint
  readonly d: bigint
}

const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? (a < 0n ? -a : a) : gcd(b, a % b))

const plus = (x: Fraction, n: number, d: number): Fraction => {
  const num = x.n * BigInt(d) + BigInt(n) * x.d
  const den = x.d * BigInt(d)
  const g = gcd(num, den)
  return { n: num / g, d: den / g }
}

/** `x / count` rounded to 4 decimals half up, as `ratio` rounds. */
const meanOf = (x: Fraction, count: number): number =>
  Number((x.n * 20000n + x.d * BigInt(count)) / (2n * x.d * BigInt(count))) / 10000

/** A predictor's counts over every field, and the fields' support. */
const overallOf = (fields: ReadonlyArray<readonly [Counts, number]>): Overall => {
  let [correct, predicted, support, held] = [0, 0, 0, 0]
  const zero: Fraction = { n: 0n, d: 1n }
  let [precision, recall, f1] = [zero, zero, zero]
  for (const [c, s] of fields) {
    correct += c.correct
    predicted += c.predicted
    support += s
    if (s === 0) continue
    held++
    if (c.predicted > 0) precision = plus(precision, c.correct, c.predicted)
    recall = plus(recall, c.correct, s)
    if (c.correct > 0) f1 = plus(f1, 2 * c.correct, c.predicted + s)
  }
  return new Overall({
    micro: new Average({
      precision: ratio(correct, predicted),
      recall: ratio(correct, support),
      f1: correct === 0 ? null : ratio(2 * correct, predicted + support)
    }),
    macro: new Average(
      held === 0
        ? { precision: null, recall: null, f1: null }
        : { precision: meanOf(precision, held), recall: meanOf(recall, held), f1: meanOf(f1, held) }
    )
  })
}

const scores = (c: Counts, support: number) =>
  new Scores({
    predicted: c.predicted,
    correct: c.correct,
    precision: ratio(c.correct, c.predicted),
    recall: ratio(c.correct, support),
    // 2PR / (P + R) = 2·correct / (predicted + support); null when P or R is, or both are 0.
    f1: c.correct === 0 ? null : ratio(2 * c.correct, c.predicted + support),
    errors: new Errors({ missing: c.missing, extra: c.extra, format: c.format, ocr: c.ocr, value: c.value })
  })

/** Every field of the tree with a count above 0, with its text (§2, indices left out). */
const fieldsOf = (root: Field): Array<readonly [string, Field]> => {
  const out: Array<readonly [string, Field]> = []
  const pending: Array<readonly [string, Field]> = [["", root]]
  while (pending.length > 0) {
    const [text, f] = pending.pop()!
    if (f.support + f.model.predicted + f.against.predicted + f.pipeline.predicted > 0) out.push([text, f])
    if (f.items !== undefined) pending.push([`${text}[]`, f.items])
    if (f.members !== undefined) for (const [k, m] of f.members) pending.push([text + keySegment(text, k), m])
  }
  return out
}

/**
 * What the files held: `lines` of each (the model's, the second model's), so that `unknown` (lines for
 * jobs outside the reference) is the lines less the predictions; the warnings `run` gives of files that
 * cover less than half of the reference jobs.
 *
 * @since 0.1.0
 */
export interface Held {
  readonly lines: number
  readonly warning?: string
  readonly against?: { readonly lines: number; readonly warning?: string }
}

const optional = <K extends string, A>(key: K, value: A | undefined): { [P in K]?: A } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: A }

/**
 * The report of a tally, of files that held `held`. Fields in byte order, those with a count above 0.
 * Of the pipeline alone, what concerns a model is left out: the prediction counts, its exact match, its
 * scores. Of a slice, `unknown` is left out: lines are the whole file's (`held` undefined).
 *
 * @since 0.1.0
 */
export const report = (tally: Tally, held?: Held): Report => {
  const fields = fieldsOf(tally.fields).sort(([a], [b]) => byteOrder(a, b))
  const pipeline = ratio(tally.exactPipeline, tally.jobs)
  const overall = (which: Predictor) => overallOf(fields.map(([, f]) => [f[which], f.support]))
  const second = tally.against
  return tally.scoresModel
    ? new Report({
        jobs: tally.jobs,
        predictions: tally.predictions,
        missing: tally.jobs - tally.predictions,
        ...optional("unknown", held === undefined ? undefined : held.lines - tally.predictions),
        unparseable: tally.unparseable,
        completions: new Completions(tally.completions),
        ...optional(
          "against",
          second === undefined
            ? undefined
            : new AgainstCounts({
                predictions: second.predictions,
                missing: tally.jobs - second.predictions,
                ...optional(
                  "unknown",
                  held?.against === undefined ? undefined : held.against.lines - second.predictions
                ),
                unparseable: second.unparseable,
                completions: new Completions(second.completions),
                ...optional("warning", held?.against?.warning)
              })
        ),
        ...optional("warning", held?.warning),
        exact_match: {
          model: ratio(tally.exactModel, tally.jobs),
          ...optional("against", second === undefined ? undefined : ratio(second.exact, tally.jobs)),
          pipeline
        },
        overall: {
          model: overall("model"),
          ...optional("against", second === undefined ? undefined : overall("against")),
          pipeline: overall("pipeline")
        },
        fields: fields.map(
          ([name, c]) =>
            new FieldScores({
              field: name,
              support: c.support,
              model: scores(c.model, c.support),
              ...optional("against", second === undefined ? undefined : scores(c.against, c.support)),
              pipeline: scores(c.pipeline, c.support)
            })
        )
      })
    : new Report({
        jobs: tally.jobs,
        exact_match: { pipeline },
        overall: { pipeline: overall("pipeline") },
        fields: fields.map(
          ([name, c]) =>
            new FieldScores({ field: name, support: c.support, pipeline: scores(c.pipeline, c.support) })
        )
      })
}

/**
 * A scoring: its report, and what the report's rounded figures came from that a view needs to compute
 * differences exactly (the jobs each predictor matched exactly).
 *
 * @since 0.1.0
 */
export interface Scored {
  readonly report: Report
  readonly exact: Exact
  /** Of each slice (`report.slices.values`, in order), its exact-match counts. */
  readonly slices?: ReadonlyArray<Exact>
}

/** The jobs each predictor matched exactly (`against`: the second model's, when one is scored). @since 0.1.0 */
export interface Exact {
  readonly model: number
  readonly pipeline: number
  readonly against?: number
}

const exactOf = (tally: Tally): Exact => ({
  model: tally.exactModel,
  pipeline: tally.exactPipeline,
  ...optional("against", tally.against?.exact)
})

/** A tally's report, of files that held `held`, and its exact-match counts. @since 0.1.0 */
export const scored = (tally: Tally, held?: Held): Scored => ({
  report: report(tally, held),
  exact: exactOf(tally)
})

/**
 * What to say of predictions that cover less than half of the reference jobs (a model scored on the
 * wrong jobs scores as predicting nothing on the rest): how many they cover and, when the filters name
 * no split, the split they were made for (`best`), or that lines were for jobs the filters leave out.
 */
const warningOf = (
  tally: Tally,
  file: PredictionsFile,
  predictions: number,
  lines: number,
  best: Coverage.Candidate | undefined,
  filtered: boolean
): string | undefined => {
  if (!tally.scoresModel || predictions * 2 >= tally.jobs) return undefined
  const unknown = lines - predictions
  const share = `${((predictions / tally.jobs) * 100).toFixed(1)}%`
  const whose = file === "against" ? "the second model's predictions (against)" : "the predictions"
  const covered = `${whose} cover ${quantity(predictions)} of ${quantity(tally.jobs)} reference jobs (${share})`
  if (best !== undefined) {
    const split = `split=${best.name}${best.by === "job" ? " with split_by=job" : ""}`
    const flags = `--split ${best.name}${best.by === "job" ? " --split-by job" : ""}`
    return `${covered}, ${quantity(best.predicted)} of the ${quantity(best.jobs)} in ${split}: score them with those filters (CLI: ${flags})`
  }
  if (unknown > 0)
    return (
      `${covered}; ${quantity(unknown)} ${unknown === 1 ? "line is for a job" : "lines are for jobs"} these ` +
      `filters leave out: were the predictions made with other filters${filtered ? " (another split, or split_by)" : ""}?`
    )
  return `${covered}: the others score as predicting nothing`
}

/**
 * The report as one JSON line, `\n` included: the same bytes from the CLI and over HTTP. Takes the
 * report's encoded form too (plain objects in the declared order).
 *
 * @since 0.1.0
 */
export const encode = (r: typeof Report.Encoded): string => `${JSON.stringify(r)}\n`

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

/** Indexed predictions whose lines are read again: what `run` and `detailed` take. @since 0.1.0 */
export type Given<E2> = Indexed & { readonly read: (at: Located) => Effect.Effect<Uint8Array, E2> }

/** At most this many slices: each is a tally of its own. @since 0.1.0 */
export const MAX_SLICES = 1000

/**
 * More slice values than `MAX_SLICES` (a column of ids, not of units): nothing is scored.
 *
 * @since 0.1.0
 * @category errors
 */
export class TooManySlices extends Data.TaggedError("TooManySlices")<{ readonly by: SliceBy }> {
  override get message(): string {
    return `the reference jobs hold more than ${quantity(MAX_SLICES)} values of ${this.by}: too many to score a slice each`
  }
}

/**
 * The slices a sample is in: its satuan (`null`: none), its source kind, or each of its review flags
 * (`null`: none; a NULL flag counts as none).
 */
const slicesOf = (by: SliceBy, sample: Sample): ReadonlyArray<string | null> =>
  by === "satuan"
    ? [sample.satuan ?? null]
    : by === "source_kind"
      ? [sample.sourceKind]
      : sample.reviewFlags.length === 0
        ? [null]
        : [...new Set(sample.reviewFlags)]

/**
 * How `run` and `detailed` score: the filters' split (for the warning), what to slice by, and a second
 * model's predictions to compare the model with (`--against`). @since 0.1.0
 */
export interface Options<E2 = never> {
  readonly split?: Option.Option<Split.Split>
  readonly by?: SliceBy
  readonly against?: Given<E2>
}

/** Rounded to 4 decimals, as JavaScript's `Math.round` rounds (halves up). */
const round4 = (x: number): number => Math.round(x * 10000) / 10000 + 0

/**
 * A scoring with the intervals of its differences, when the tally kept each job's counts and has jobs:
 * the fields in the report's order; with a second model, its own beside the pipeline's.
 */
const withIntervals = (tally: Tally, whole: Scored): Effect.Effect<Scored> =>
  tally.resampling === undefined || tally.jobs === 0
    ? Effect.succeed(whole)
    : Effect.map(
        tally.resampling.intervals(
          fieldsOf(tally.fields)
            .sort(([a], [b]) => byteOrder(a, b))
            .map(([, f]) => f)
        ),
        ([pipeline, against]) => {
          const interval = (i: Bootstrap.Interval) =>
            new Interval({ delta: round4(i.delta), low: round4(i.low), high: round4(i.high) })
          const versus = (found: Bootstrap.Versus) => ({
            exact_match: interval(found.exact),
            micro_f1: interval(found.micro),
            fields: whole.report.fields.map((f, i) => ({ field: f.field, f1: interval(found.fields[i]!) }))
          })
          const intervals = new Intervals({
            resamples: Bootstrap.RESAMPLES,
            seed: Bootstrap.SEED,
            ...versus(pipeline!),
            ...optional("against", against === undefined ? undefined : new AgainstIntervals(versus(against)))
          })
          return { ...whole, report: new Report({ ...whole.report, intervals }) }
        }
      )

/** What a file predicts for a job: its line's prediction and number, or none (no line). */
const lineFor = <E2>(
  given: Given<E2> | undefined,
  jobId: string,
  file: PredictionsFile,
  decode: (bytes: Uint8Array) => string
): Effect.Effect<Against, E2 | InvalidPrediction> => {
  const at = given?.find(jobId)
  if (given === undefined || at === undefined)
    return Effect.succeed({ predicted: undefined, line: undefined })
  return Effect.flatMap(given.read(at), (bytes) =>
    Effect.map(parseLine(decode(bytes), at.line, given.limits, file), (p) => ({
      predicted: p.predicted,
      line: at.line
    }))
  )
}

/**
 * The reference samples scored one by one into a tally of their own (and their slices' tallies), each
 * emitting its details line (with `detail`; else nothing); `done` is the scoring once the stream has
 * run, once.
 */
const scoring = <E, E2, R>(
  format: Format,
  samples: Stream.Stream<Sample, E, R>,
  given: Given<E2> | undefined,
  { by, split = Option.none(), against }: Options<E2>,
  detail: boolean
) => {
  const decoder = new TextDecoder()
  const decode = (bytes: Uint8Array) => decoder.decode(bytes)
  const predictions = given === undefined || given.lines === 0 ? undefined : given
  const bounds = given?.limits ?? limits
  // A second model is compared with the model even when one of the two files is empty: it was asked for.
  const scoresModel = predictions !== undefined || against !== undefined
  const tally = empty(bounds, scoresModel, { against: against !== undefined })
  const slices = new Map<string | null, Tally>()
  // Without a split among the filters, where each file's predictions fall among the splits, for the warning.
  const splits =
    !scoresModel || Option.isSome(split)
      ? undefined
      : Coverage.make(Split.defaultRatios, Split.defaultSplitting.seed, against === undefined ? 1 : 2)
  const step = (
    sample: Sample,
    model: Against,
    second: Against | undefined
  ): Effect.Effect<string, InvalidPrediction | TooManySlices> =>
    Effect.gen(function* () {
      const job = { initial: sample.initialResult, final: sample.result as Json.Json }
      yield* add(tally, job, model.predicted, model.line, second)
      if (by !== undefined)
        for (const value of slicesOf(by, sample)) {
          let slice = slices.get(value)
          if (slice === undefined) {
            if (slices.size === MAX_SLICES) return yield* new TooManySlices({ by })
            slice = empty(bounds, tally.scoresModel, { resampled: false, against: against !== undefined })
            slices.set(value, slice)
          }
          yield* add(slice, job, model.predicted, model.line, second)
        }
      return detail ? details(sample.id, job, model.predicted, model.line, tally.scoresModel, second) : ""
    })
  const lines = samples.pipe(
    Stream.filter((sample) => isReference(format, sample)),
    Stream.mapEffect((sample) =>
      Effect.gen(function* () {
        const id = sample.id.toLowerCase()
        const model = yield* lineFor(predictions, id, "predictions", decode)
        const second = against === undefined ? undefined : yield* lineFor(against, id, "against", decode)
        splits?.add(
          sample.id,
          sample.result,
          second === undefined
            ? [model.line !== undefined]
            : [model.line !== undefined, second.line !== undefined]
        )
        return yield* step(sample, model, second)
      })
    )
  )
  const done = Effect.gen(function* () {
    const n = predictions?.lines ?? 0
    const second = tally.against
    // A file's lines, and its warning: of the split its predictions were made for (Coverage's file).
    const fileHeld = (file: PredictionsFile, predicted: number, lines: number, coverage: number) => ({
      lines,
      ...optional(
        "warning",
        warningOf(tally, file, predicted, lines, splits?.best(predicted, coverage), Option.isSome(split))
      )
    })
    const held: Held = {
      ...fileHeld("predictions", tally.predictions, n, 0),
      ...optional(
        "against",
        against === undefined || second === undefined
          ? undefined
          : fileHeld("against", second.predictions, against.lines, 1)
      )
    }
    const whole = yield* withIntervals(tally, scored(tally, held))
    if (by === undefined) return whole
    // Slices in byte order of their values, none (null) first; `unknown` is the whole's alone.
    const values = [...slices.keys()].sort((a, b) =>
      a === null ? (b === null ? 0 : -1) : b === null ? 1 : byteOrder(a, b)
    )
    const sliced = values.map((value) => new Slice({ value, report: report(slices.get(value)!) }))
    return {
      ...whole,
      report: new Report({ ...whole.report, slices: { by, values: sliced } }),
      slices: values.map((value) => exactOf(slices.get(value)!))
    } satisfies Scored
  })
  return { lines, done }
}

/**
 * Scores indexed predictions against the reference samples, in one pass over them: a job's line is read
 * (`read`) and parsed when its sample comes, so memory holds one prediction at a time. Without
 * predictions (none given, or a file of no line: an empty body), the pipeline alone (§14). `split` is
 * the filters' own: without one, predictions that cover less than half of the reference jobs are told
 * the split they were made for, when one fits. With `by`, each slice is scored too (`slices`). With
 * `against`, a second model's predictions are scored beside the model's, with the intervals of the
 * differences between the two.
 *
 * @since 0.1.0
 */
export const run = <E, E2, R>(
  format: Format,
  samples: Stream.Stream<Sample, E, R>,
  given: Given<E2> | undefined,
  options: Options<E2> = {}
): Effect.Effect<Scored, E | E2 | InvalidPrediction | TooManySlices, R> =>
  Effect.suspend(() => {
    const { lines, done } = scoring(format, samples, given, options, false)
    return Effect.zipRight(Stream.runDrain(lines), done)
  })

/**
 * `run`, with each reference job's details line (`details`) in export order as the scoring goes: `lines`
 * (run it once, to its end), then `scored`, the scoring of the same pass.
 *
 * @since 0.1.0
 */
export const detailed = <E, E2, R>(
  format: Format,
  samples: Stream.Stream<Sample, E, R>,
  given: Given<E2> | undefined,
  options: Options<E2> = {}
): {
  readonly lines: Stream.Stream<string, E | E2 | InvalidPrediction | TooManySlices, R>
  readonly scored: Effect.Effect<Scored>
} => {
  const { lines, done } = scoring(format, samples, given, options, true)
  return { lines, scored: done }
}

/**
 * Scores the pipeline's first answers alone against the reference samples (§14): `run` without
 * predictions.
 *
 * @since 0.1.0
 */
export const pipeline = <E, R>(
  format: Format,
  samples: Stream.Stream<Sample, E, R>
): Effect.Effect<Scored, E, R> =>
  run<E, never, R>(format, samples, undefined).pipe(
    // Only predictions can bring fields past the limit, and only slices can be too many.
    Effect.catchIf(
      (e): e is InvalidPrediction | TooManySlices =>
        e instanceof InvalidPrediction || e instanceof TooManySlices,
      (e) => Effect.die(e)
    )
  )
