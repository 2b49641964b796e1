/**
 * The scorer of contracts §12 and §14 against an independent model: leaves found by plain recursion over
 * plain values and compared by string keys, rows paired by brute force (`pairing.ts`), never through
 * `Eval`'s own leaves, equality or pairing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Option, Stream } from "effect"
import { Eval, EvalMarkdown, Json, Split } from "../src/index.js"
import type { Sample } from "../src/Sample.js"
import { sprinResult } from "./arbitraries.js"
import { brute } from "./pairing.js"
import { sample } from "./samples.js"

/**
 * A number as its exact decimal value (§3: `1.50` equals `1.5`, `12345678901234567890` does not equal
 * `12345678901234567000`): the digits without leading or trailing zeros, and the power of ten after them.
 */
class Decimal {
  readonly key: string
  constructor(readonly text: string) {
    const [, sign, whole, fraction = "", exponent = "0"] = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(
      text
    )!
    const digits = (whole + fraction).replace(/^0+/, "")
    const significant = digits.replace(/0+$/, "")
    const power = BigInt(exponent) - BigInt(fraction.length) + BigInt(digits.length - significant.length)
    this.key = significant === "" ? "0" : `${sign}${significant}e${power}`
  }
}

/** path → value text of every leaf (a number's exact decimal value), by plain recursion. */
const plainLeaves = (v: unknown, path = "", out = new Map<string, string>()): Map<string, string> => {
  if (v instanceof Decimal) out.set(path, `number ${v.key}`)
  else if (Array.isArray(v) && v.length > 0) {
    for (let i = 0; i < v.length; i++) plainLeaves(v[i], `${path}[${i}]`, out)
  } else if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0)
    for (const [k, x] of Object.entries(v))
      plainLeaves(
        x,
        /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)
          ? path === ""
            ? k
            : `${path}.${k}`
          : `${path}[${JSON.stringify(k)}]`,
        out
      )
  else out.set(path, JSON.stringify(v))
  return out
}
const fieldOf = (path: string) => path.replace(/\[\d+\]/g, "[]")

type Kind = "correct" | "missing" | "extra" | "format" | "ocr" | "value"

const isNode = (v: unknown): v is Record<string, unknown> | Array<unknown> =>
  (Array.isArray(v) && v.length > 0) ||
  (v !== null && typeof v === "object" && !(v instanceof Decimal) && Object.keys(v).length > 0)
const text = (v: unknown) => (v instanceof Decimal ? `number ${v.key}` : JSON.stringify(v))
const PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ \t\n\u000b\f\r"
const normal = (v: unknown): string | undefined => {
  const s = typeof v === "string" ? v : v instanceof Decimal ? v.text : undefined
  if (s === undefined) return undefined
  return [...s]
    .filter((c) => !PUNCTUATION.includes(c))
    .map((c) => (c >= "a" && c <= "z" ? c.toUpperCase() : c))
    .join("")
}
const GROUPS = ["0ODQ", "1IL7", "2Z", "5S", "6G", "8B", "UV"]
const leafKind = (r: unknown, p: unknown): Kind => {
  if (text(r) === text(p)) return "correct"
  const [a, b] = [normal(r), normal(p)]
  if (a === undefined || b === undefined) return "value"
  if (a === b) return "format"
  const [x, y] = [[...a], [...b]]
  return x.length === y.length &&
    x.every((c, i) => c === y[i] || GROUPS.some((g) => g.includes(c) && g.includes(y[i]!)))
    ? "ocr"
    : "value"
}

/** Every (field, kind) of a reference value against a prediction, by plain recursion (§14). */
const kinds = (r: unknown, p: unknown, path: string, out: Array<readonly [string, Kind]>) => {
  const all = (v: unknown, kind: Kind) => {
    for (const leaf of plainLeaves(v, path).keys()) out.push([fieldOf(leaf), kind])
  }
  if (r === undefined) return all(p, "extra")
  if (p === undefined) return all(r, "missing")
  if (!isNode(r) && !isNode(p)) return void out.push([fieldOf(path), leafKind(r, p)])
  if (!isNode(r) || !isNode(p) || Array.isArray(r) !== Array.isArray(p)) {
    all(r, "missing")
    return all(p, "extra")
  }
  if (Array.isArray(r)) {
    const q = p as Array<unknown>
    const objects = (a: Array<unknown>) =>
      a.every((x) => x !== null && typeof x === "object" && !Array.isArray(x) && !(x instanceof Decimal))
    const pairs =
      objects(r) && objects(q)
        ? brute(
            r.length,
            q.length,
            r.map((x) => q.map((y) => count(x, y)))
          )
        : r.map((_, i) => (i < q.length ? i : undefined))
    r.forEach((x, i) => {
      kinds(x, pairs[i] === undefined ? undefined : q[pairs[i]!], `${path}[${i}]`, out)
    })
    q.forEach((y, j) => {
      if (!pairs.includes(j)) kinds(undefined, y, `${path}[${j}]`, out)
    })
    return
  }
  const q = p as Record<string, unknown>
  const member = (k: string) =>
    /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? (path === "" ? k : `${path}.${k}`) : `${path}[${JSON.stringify(k)}]`
  for (const [k, x] of Object.entries(r)) kinds(x, Object.hasOwn(q, k) ? q[k] : undefined, member(k), out)
  for (const [k, y] of Object.entries(q)) if (!Object.hasOwn(r, k)) kinds(undefined, y, member(k), out)
}

/** Equal leaves of two values, as the pairing counts them. */
const count = (r: unknown, p: unknown): number => {
  const out: Array<readonly [string, Kind]> = []
  kinds(r, p, "", out)
  return out.filter(([, k]) => k === "correct").length
}

/** A field's expected counts: its support, and a predictor's leaves by kind. */
type Expected = Record<"support" | "predicted" | Kind, number>

const zero = (): Expected => ({
  support: 0,
  predicted: 0,
  correct: 0,
  missing: 0,
  extra: 0,
  format: 0,
  ocr: 0,
  value: 0
})

/** The expected counts of each field over (reference, prediction) pairs (no prediction: undefined). */
const expected = (pairs: ReadonlyArray<readonly [unknown, unknown | undefined]>) => {
  const fields = new Map<string, Expected>()
  const at = (f: string) => {
    const c = fields.get(f) ?? zero()
    fields.set(f, c)
    return c
  }
  for (const [reference, prediction] of pairs) {
    for (const p of plainLeaves(reference).keys()) at(fieldOf(p)).support++
    if (prediction !== undefined) for (const p of plainLeaves(prediction).keys()) at(fieldOf(p)).predicted++
    const out: Array<readonly [string, Kind]> = []
    kinds(reference, prediction, "", out)
    for (const [f, k] of out) at(f)[k]++
  }
  return fields
}

/** Plain JavaScript objects and arrays, with each number a `Decimal`: compared as §3's equality does. */
const plain = (v: Json.Json): unknown =>
  v instanceof Json.JsonNumber
    ? new Decimal(v.text)
    : Array.isArray(v)
      ? v.map(plain)
      : Json.isObject(v)
        ? Object.fromEntries([...v].map(([k, x]) => [k, plain(x)]))
        : v

/** Prediction lines (bytes) indexed as the front ends index a file, read 7 bytes at a time. */
const given = (lines: string, file: Eval.PredictionsFile = "predictions") => {
  const bytes = new TextEncoder().encode(lines)
  return Eval.indexed(
    (position, length) =>
      Effect.succeed(bytes.subarray(position, Math.min(bytes.length, position + Math.min(length, 7)))),
    Eval.limits,
    file
  )
}

/** Scores prediction lines against samples (and a second model's, `against`), as the front ends do. */
const scoredWith = (samples: ReadonlyArray<Sample>, lines: string, against?: string) =>
  Effect.gen(function* () {
    const predictions = yield* given(lines)
    const options = against === undefined ? {} : { against: yield* given(against, "against") }
    return yield* Eval.run("jsonl", Stream.fromIterable(samples), predictions, options)
  })

const score = (samples: ReadonlyArray<Sample>, lines: string) =>
  Effect.map(scoredWith(samples, lines), (s) => s.report)

/** `n / d` (d > 0) rounded half up to 4 decimals, in exact rational arithmetic: the report's rounding. */
const rounded = (n: bigint, d: bigint): number => {
  const scaled = n * 10000n
  const q = scaled / d
  return Number(2n * (scaled - q * d) >= d ? q + 1n : q) / 10000
}

/** The mean of fractions `[n, d]` rounded half up, exactly: Σ n/d over a common denominator. */
const mean = (fractions: ReadonlyArray<readonly [number, number]>): number => {
  const common = fractions.reduce((p, [, d]) => p * BigInt(d), 1n)
  const sum = fractions.reduce((p, [n, d]) => p + (BigInt(n) * common) / BigInt(d), 0n)
  return rounded(sum, common * BigInt(fractions.length))
}

/**
 * The paired bootstrap as the README documents it, from each job's counts (the independent model's):
 * 1,000 resamples of the jobs with replacement, the k-th job of a resample `floor(u × jobs)` for the next
 * `u` of mulberry32 seeded with 1; each difference (model − pipeline) of exact match, micro F1 and each
 * field's F1 (0 with nothing right); the 26th smallest and largest of each, rounded to 4 decimals.
 */
const bootstrap = (
  perJob: ReadonlyArray<{
    model: boolean
    pipeline: boolean
    fields: ReadonlyMap<string, Expected>
    pipelineFields: ReadonlyMap<string, Expected>
  }>,
  names: ReadonlyArray<string>
) => {
  let a = 1
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const f1 = (c: number, p: number, s: number) => (c === 0 ? 0 : (2 * c) / (p + s))
  const differences = (sample: ReadonlyArray<number>) => {
    const sum = (name: string | undefined, k: "support" | "predicted" | "correct", pipeline: boolean) =>
      sample.reduce((n, j) => {
        const counts = pipeline ? perJob[j]!.pipelineFields : perJob[j]!.fields
        return (
          n +
          (name === undefined ? [...counts.values()] : [counts.get(name)]).reduce(
            (m, c) => m + (c?.[k] ?? 0),
            0
          )
        )
      }, 0)
    const delta = (name?: string) =>
      f1(sum(name, "correct", false), sum(name, "predicted", false), sum(name, "support", false)) -
      f1(sum(name, "correct", true), sum(name, "predicted", true), sum(name, "support", true))
    const exact = sample.reduce((n, j) => n + Number(perJob[j]!.model) - Number(perJob[j]!.pipeline), 0)
    return [exact / sample.length, delta(), ...names.map((name) => delta(name))]
  }
  const all = perJob.map((_, j) => j)
  const observed = differences(all)
  const resampled = Array.from({ length: 1000 }, () =>
    differences(all.map(() => Math.floor(next() * all.length)))
  )
  const round = (x: number) => Math.round(x * 10000) / 10000 + 0
  const interval = (s: number) => {
    const sorted = resampled.map((d) => d[s]!).sort((x, y) => x - y)
    return new Eval.Interval({
      delta: round(observed[s]!),
      low: round(sorted[25]!),
      high: round(sorted[974]!)
    })
  }
  return new Eval.Intervals({
    resamples: 1000,
    seed: 1,
    exact_match: interval(0),
    micro_f1: interval(1),
    fields: names.map((field, i) => ({ field, f1: interval(2 + i) }))
  })
}

/** Micro and macro precision, recall and F1 of one predictor, as contract §12 and the README define them. */
const averages = (counts: ReadonlyMap<string, { support: number; predicted: number; correct: number }>) => {
  const all = [...counts.values()].filter((c) => c.support + c.predicted > 0)
  const [support, predicted, correct] = ["support", "predicted", "correct"].map((k) =>
    all.reduce((n, c) => n + c[k as "support"], 0)
  ) as [number, number, number]
  const held = all.filter((c) => c.support > 0)
  return new Eval.Overall({
    micro: new Eval.Average({
      precision: predicted === 0 ? null : rounded(BigInt(correct), BigInt(predicted)),
      recall: support === 0 ? null : rounded(BigInt(correct), BigInt(support)),
      f1: correct === 0 ? null : rounded(BigInt(2 * correct), BigInt(predicted + support))
    }),
    macro: new Eval.Average(
      held.length === 0
        ? { precision: null, recall: null, f1: null }
        : {
            // A null (nothing predicted, or nothing right for F1) counts 0.
            precision: mean(held.map((c) => (c.predicted === 0 ? [0, 1] : [c.correct, c.predicted]))),
            recall: mean(held.map((c) => [c.correct, c.support])),
            f1: mean(held.map((c) => (c.correct === 0 ? [0, 1] : [2 * c.correct, c.predicted + c.support])))
          }
    )
  })
}

const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`
const line = (jobId: string, result: Json.Json) =>
  `{"job_id":"${jobId}","result":${Json.stringify(result)}}\n`

/**
 * A reference's leaves disturbed as models and OCR do: spacing and case (`format`), a letter for a digit
 * (`ocr`), another value, a row dropped, invented or moved. `dice` decides each, in turn.
 */
const disturbed = (value: Json.Json, dice: ReadonlyArray<number>): Json.Json => {
  let k = 0
  const roll = () => dice[k++ % dice.length]!
  const go = (v: Json.Json): Json.Json => {
    if (typeof v === "string") {
      switch (roll() % 5) {
        case 0:
          return ` ${v.toLowerCase()}.`
        case 1:
          return v.replace(/O/g, "0").replace(/I/g, "1").replace(/S/g, "5")
        case 2:
          return `${v}x`
        default:
          return v
      }
    }
    if (Json.isArray(v)) {
      const rows = v.map(go)
      switch (roll() % 4) {
        case 0:
          return rows.length > 1 ? [...rows.slice(1), rows[0]!] : rows
        case 1:
          return [Json.object([["nama", "HANTU"]]), ...rows]
        case 2:
          return rows.slice(0, -1)
        default:
          return rows
      }
    }
    if (Json.isObject(v)) return Json.object([...v].map(([key, x]) => [key, go(x)] as const))
    return v
  }
  return go(value)
}

const jobs = fc.array(
  fc
    .tuple(
      sprinResult,
      sprinResult,
      sprinResult,
      fc.boolean(),
      fc.array(fc.nat(99), { minLength: 1, maxLength: 9 })
    )
    .map(
      // Half the model's predictions are the reference disturbed: every class and row pairing comes up.
      ([initial, final, other, given, dice]): readonly [Json.Json, Json.Json, Json.Json, boolean] => [
        dice[0]! % 3 === 0 ? disturbed(final, dice) : initial,
        final,
        dice[0]! % 2 === 0 ? disturbed(final, dice.slice(1).concat(dice)) : other,
        given
      ]
    ),
  { minLength: 1, maxLength: 12 }
)

describe("Eval", () => {
  it.effect("a perfect prediction scores 1 everywhere", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(jobs, async (js) => {
          const samples = js.map(([initial, final], i) => sample(id(i), initial, final))
          const lines = samples.map((s) => line(s.id, s.result as Json.Json)).join("")
          const r = await Effect.runPromise(score(samples, lines))
          expect(r.exact_match.model).toBe(1)
          for (const f of r.fields) {
            expect(f.model!.recall).toBe(f.support > 0 ? 1 : null)
            expect(f.model!.precision).toBe(f.model!.predicted > 0 ? 1 : null)
          }
        }),
        { numRuns: 60 }
      )
    )
  )

  it.effect("every count equals the independent model's, for the model and the pipeline", () => {
    // How often each class came up, over all runs: the property saw every one.
    const seen = { missing: 0, extra: 0, format: 0, ocr: 0, value: 0 }
    return Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(jobs, async (all) => {
          // One line at least: a file of none scores the pipeline alone (the test below).
          const js = all.map((j, i) => (i === 0 ? ([j[0], j[1], j[2], true] as const) : j))
          const samples = js.map(([initial, final], i) => sample(id(i), initial, final))
          const lines = js
            .flatMap(([, , predicted, given], i) => (given ? [line(id(i), predicted)] : []))
            .join("")
          const r = await Effect.runPromise(score(samples, lines))
          const model = expected(
            js.map(([, final, predicted, given]) => [plain(final), given ? plain(predicted) : undefined])
          )
          const pipeline = expected(js.map(([initial, final]) => [plain(final), plain(initial)]))
          const given = js.filter(([, , , g]) => g)
          expect(r.jobs).toBe(js.length)
          expect(r.predictions).toBe(given.length)
          expect(r.missing).toBe(js.length - given.length)
          expect(r.unknown).toBe(0)
          const none = zero()
          for (const f of r.fields) {
            const m = model.get(f.field) ?? none
            const p = pipeline.get(f.field) ?? none
            expect(f.support).toBe(m.support)
            for (const [scores, e] of [
              [f.model!, m],
              [f.pipeline, p]
            ] as const) {
              const { missing, extra, format, ocr, value } = e
              expect({ predicted: scores.predicted, correct: scores.correct, ...scores.errors }).toEqual({
                predicted: e.predicted,
                correct: e.correct,
                missing,
                extra,
                format,
                ocr,
                value
              })
              // The classes add up (§14).
              expect(f.support).toBe(scores.correct + missing + format + ocr + value)
              expect(scores.predicted).toBe(scores.correct + extra + format + ocr + value)
              for (const k of Object.keys(seen) as Array<keyof typeof seen>) seen[k] += scores.errors[k]
            }
            expect(f.model!.recall).toBe(
              m.support === 0 ? null : Math.round((m.correct / m.support) * 1e4) / 1e4
            )
          }
          const listed = new Set(r.fields.map((f) => f.field))
          for (const [f, c] of model) if (c.support + c.predicted > 0) expect(listed.has(f)).toBe(true)
          const exact = js.filter(
            ([, final, predicted, g]) => g && Json.stringify(final) === Json.stringify(predicted)
          )
          expect(r.exact_match.model).toBe(Math.round((exact.length / js.length) * 1e4) / 1e4)
          // Each job's details list every wrong leaf once, in its class: as many as the counts say.
          const inDetails = { model: zero(), pipeline: zero() }
          js.forEach(([initial, final, predicted, g], i) => {
            const line = JSON.parse(
              Eval.details(
                id(i),
                { initial, final },
                g ? { _tag: "Result", value: predicted } : undefined,
                g ? i + 1 : undefined
              )
            )
            for (const who of ["model", "pipeline"] as const)
              for (const e of line.errors[who]) inDetails[who][e.class as "missing"]++
          })
          for (const [who, counts] of [
            ["model", model],
            ["pipeline", pipeline]
          ] as const)
            for (const k of ["missing", "extra", "format", "ocr", "value"] as const)
              expect([who, k, inDetails[who][k]]).toEqual([
                who,
                k,
                [...counts.values()].reduce((n, c) => n + c[k], 0)
              ])
          // The intervals: the documented resamples, drawn and summed here from each job's own counts.
          expect(r.intervals).toEqual(
            bootstrap(
              js.map(([initial, final, predicted, g]) => ({
                model: g && Json.stringify(final) === Json.stringify(predicted),
                pipeline: Json.stringify(final) === Json.stringify(initial),
                fields: expected([[plain(final), g ? plain(predicted) : undefined]]),
                pipelineFields: expected([[plain(final), plain(initial)]])
              })),
              r.fields.map((f) => f.field)
            )
          )
          // Micro over every leaf, macro over the reference's fields, from the independent counts.
          for (const [who, counts] of [
            ["model", model],
            ["pipeline", pipeline]
          ] as const)
            expect(r.overall[who]).toEqual(averages(counts))
        }),
        { numRuns: 80 }
      )
    ).pipe(
      Effect.map(() =>
        expect(
          Object.values(seen).every((n) => n > 0),
          JSON.stringify(seen)
        ).toBe(true)
      )
    )
  })

  it.effect(
    "a second model (against) scores as it would alone, and the model as without it; the intervals of " +
      "model − against are the documented resamples of their counts",
    () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            jobs,
            fc.array(
              fc.tuple(fc.nat(99), fc.array(fc.nat(99), { minLength: 1, maxLength: 9 }), fc.boolean()),
              {
                minLength: 12,
                maxLength: 12
              }
            ),
            async (all, seconds) => {
              const js = all.map((j, i) => (i === 0 ? ([j[0], j[1], j[2], true] as const) : j))
              const samples = js.map(([initial, final], i) => sample(id(i), initial, final))
              // The second model: right, the reference disturbed, or the pipeline's answer; or no line.
              const against = js.map(([initial, final], i) => {
                const [kind, dice, given] = seconds[i]!
                return given
                  ? kind % 3 === 0
                    ? final
                    : kind % 3 === 1
                      ? disturbed(final, dice)
                      : initial
                  : undefined
              })
              const lines = js.flatMap(([, , p, g], i) => (g ? [line(id(i), p)] : [])).join("")
              const againstLines =
                against.flatMap((p, i) => (p === undefined ? [] : [line(id(i), p)])).join("") +
                line(id(99), js[0]![1])
              const both = await Effect.runPromise(scoredWith(samples, lines, againstLines))
              const r = JSON.parse(Eval.encode(both.report))
              const alone = JSON.parse(Eval.encode(await Effect.runPromise(score(samples, lines))))
              const second = JSON.parse(Eval.encode(await Effect.runPromise(score(samples, againstLines))))
              // The second model's counts, exact match, overall and fields, as scored alone as the model.
              expect(r.against).toEqual({
                predictions: second.predictions,
                missing: second.missing,
                unknown: 1,
                unparseable: second.unparseable,
                completions: second.completions,
                ...(second.warning === undefined
                  ? {}
                  : {
                      warning: second.warning.replace(
                        "the predictions",
                        "the second model's predictions (against)"
                      )
                    })
              })
              expect(r.exact_match.against).toBe(second.exact_match.model)
              expect(r.overall.against).toEqual(second.overall.model)
              const nothing = { predicted: 0, correct: 0, precision: null, recall: null, f1: null }
              for (const f of r.fields) {
                const s = second.fields.find((x: { field: string }) => x.field === f.field)
                expect([f.field, f.against]).toEqual([
                  f.field,
                  s?.model ?? {
                    ...nothing,
                    recall: f.support === 0 ? null : 0,
                    errors: { missing: f.support, extra: 0, format: 0, ocr: 0, value: 0 }
                  }
                ])
              }
              // The model and the pipeline, as without a second model: the fields only it predicted aside.
              const held = (f: {
                support: number
                model: { predicted: number }
                pipeline: { predicted: number }
              }) => f.support + f.model.predicted + f.pipeline.predicted > 0
              const kept = new Set(r.fields.filter(held).map((f: { field: string }) => f.field))
              const { against: _a, ...rest } = r
              expect({
                ...rest,
                exact_match: { model: r.exact_match.model, pipeline: r.exact_match.pipeline },
                overall: { model: r.overall.model, pipeline: r.overall.pipeline },
                intervals: {
                  ...r.intervals,
                  against: undefined,
                  fields: r.intervals.fields.filter((f: { field: string }) => kept.has(f.field))
                },
                fields: r.fields.filter(held).map(({ against: _, ...f }: { against: unknown }) => f)
              }).toEqual({ ...alone, intervals: { ...alone.intervals, against: undefined } })
              // model − against: the documented resamples, drawn and summed here from each job's counts.
              const intervals = bootstrap(
                js.map(([, final, predicted, g], i) => ({
                  model: g && Json.stringify(final) === Json.stringify(predicted),
                  pipeline: against[i] !== undefined && Json.stringify(final) === Json.stringify(against[i]!),
                  fields: expected([[plain(final), g ? plain(predicted) : undefined]]),
                  pipelineFields: expected([
                    [plain(final), against[i] === undefined ? undefined : plain(against[i]!)]
                  ])
                })),
                r.fields.map((f: { field: string }) => f.field)
              )
              expect(both.report.intervals?.against).toEqual(
                new Eval.AgainstIntervals({
                  exact_match: intervals.exact_match,
                  micro_f1: intervals.micro_f1,
                  fields: intervals.fields
                })
              )
              // Each job's details list the second model's wrong leaves as its counts say.
              const inDetails = zero()
              js.forEach(([initial, final, predicted, g], i) => {
                const details = JSON.parse(
                  Eval.details(
                    id(i),
                    { initial, final },
                    g ? { _tag: "Result", value: predicted } : undefined,
                    g ? i + 1 : undefined,
                    true,
                    {
                      predicted:
                        against[i] === undefined ? undefined : { _tag: "Result", value: against[i]! },
                      line: against[i] === undefined ? undefined : i + 1
                    }
                  )
                )
                expect(details.against.prediction).toBe(against[i] === undefined ? "missing" : "result")
                expect(details.exact_match.against).toBe(
                  against[i] !== undefined && Json.stringify(final) === Json.stringify(against[i]!)
                )
                for (const e of details.errors.against) inDetails[e.class as "missing"]++
              })
              const independent = expected(
                js.map(([, final], i) => [
                  plain(final),
                  against[i] === undefined ? undefined : plain(against[i]!)
                ])
              )
              for (const k of ["missing", "extra", "format", "ocr", "value"] as const)
                expect([k, inDetails[k]]).toEqual([
                  k,
                  [...independent.values()].reduce((n, c) => n + c[k], 0)
                ])
            }
          ),
          { numRuns: 60 }
        )
      )
  )

  it.effect("a bad line of the second model's file is named as its own: against line N", () =>
    Effect.gen(function* () {
      const bad = yield* Effect.flip(given(`${line(id(0), "x")}not json\n`, "against"))
      expect([bad.file, bad.line]).toEqual(["against", 2])
      expect(bad.message).toMatch(/^against line 2: not JSON/)
      const samples = [sample(id(0), "x", Json.object([["a", "1"]]))]
      const wide = Json.object(Array.from({ length: 3 }, (_, i) => [`f${i}`, "v"] as const))
      const tight = { ...Eval.limits, newFields: 2 }
      const tally = Eval.empty(tight, true, { against: true })
      // Each file has its own budget: two new fields of the model's leave the second model its two.
      const two = (prefix: string) => Json.object([0, 1].map((k) => [`${prefix}${k}`, "v"] as const))
      const within = Eval.add(
        Eval.empty(tight, true, { against: true }),
        { initial: "x", final: samples[0]!.result as Json.Json },
        { _tag: "Result", value: two("m") },
        3,
        { predicted: { _tag: "Result", value: two("a") }, line: 4 }
      )
      expect(Either.isRight(within)).toBe(true)
      const past = Eval.add(tally, { initial: "x", final: samples[0]!.result as Json.Json }, undefined, 0, {
        predicted: { _tag: "Result", value: wide },
        line: 7
      })
      expect(Either.isLeft(past) && past.left.message).toBe(
        "against line 7: the predictions name more than 2 fields that no reference job has"
      )
    })
  )

  it.effect(
    "a prediction whose personnel rows are permuted scores as the reference itself: 1 everywhere",
    () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            sprinResult.chain((final) => {
              const rows = (final as Json.JsonObject).get("personel") as Json.JsonArray
              return fc.tuple(fc.constant(final), fc.shuffledSubarray([...rows], { minLength: rows.length }))
            }),
            async ([final, rows]) => {
              const permuted = Json.object(
                [...(final as Json.JsonObject)].map(([k, v]) => [k, k === "personel" ? rows : v] as const)
              )
              const r = await Effect.runPromise(score([sample(id(0), final, final)], line(id(0), permuted)))
              for (const f of r.fields) {
                expect(f.model!.correct, f.field).toBe(f.support)
                expect(f.model!.predicted, f.field).toBe(f.support)
                expect(
                  Object.values(f.model!.errors).every((n) => n === 0),
                  f.field
                ).toBe(true)
              }
            }
          ),
          { numRuns: 200 }
        )
      )
  )

  it.effect(
    "without predictions (none, or a file of no line) the pipeline is scored alone: the same scores, no model",
    () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(jobs, async (js) => {
            const samples = js.map(([initial, final], i) => sample(id(i), initial, final))
            const withModel = await Effect.runPromise(score(samples, line(id(0), js[0]![2])))
            const alone = await Effect.runPromise(Eval.run("jsonl", Stream.fromIterable(samples), undefined))
            const none = alone.report
            const empty = await Effect.runPromise(score(samples, ""))
            expect(Eval.encode(empty)).toBe(Eval.encode(none))
            const encoded = JSON.parse(Eval.encode(none))
            expect(Object.keys(encoded)).toEqual(["jobs", "exact_match", "overall", "fields"])
            expect(Object.keys(encoded.overall)).toEqual(["pipeline"])
            expect(Object.keys(encoded.exact_match)).toEqual(["pipeline"])
            expect(none.exact_match.pipeline).toBe(withModel.exact_match.pipeline)
            expect(none.fields.map((f) => [f.field, f.support, f.model, f.pipeline])).toEqual(
              withModel.fields
                .filter((f) => f.support + f.pipeline.predicted > 0)
                .map((f) => [f.field, f.support, undefined, f.pipeline])
            )
            expect(EvalMarkdown.markdown(alone)).toContain(
              "scored against the pipeline's first answers alone"
            )
          }),
          { numRuns: 60 }
        )
      )
  )

  it.effect("permuting the prediction lines changes nothing", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          jobs.chain((js) =>
            fc.tuple(
              fc.constant(js),
              fc.shuffledSubarray(
                js.map((_, i) => i),
                { minLength: js.length }
              )
            )
          ),
          async ([js, order]) => {
            const samples = js.map(([initial, final], i) => sample(id(i), initial, final))
            const lines = (is: ReadonlyArray<number>) => is.map((i) => line(id(i), js[i][2])).join("")
            const a = await Effect.runPromise(score(samples, lines(js.map((_, i) => i))))
            const b = await Effect.runPromise(score(samples, lines(order)))
            expect(Eval.encode(b)).toBe(Eval.encode(a))
          }
        ),
        { numRuns: 40 }
      )
    )
  )

  it("the pipeline scores what the audit trail implies: a field never corrected has recall 1", () => {
    fc.assert(
      fc.property(sprinResult, fc.string(), (initial, perihal) => {
        // One reviewer correction, to header.perihal: the pipeline got every other leaf right.
        const header = new Map((initial as Json.JsonObject).get("header") as Json.JsonObject)
        header.set("perihal", perihal)
        const final = new Map(initial as Json.JsonObject).set("header", header)
        const tally = Either.getOrThrow(Eval.add(Eval.empty(), { initial, final }, undefined))
        for (const f of Eval.report(tally, { lines: 0 }).fields) {
          if (f.field !== "header.perihal") expect([f.field, f.pipeline.recall]).toEqual([f.field, 1])
        }
      }),
      { numRuns: 100 }
    )
  })

  it("reads completions as a chatty model writes them (§12), saying which rule each needed", () => {
    const p = (completion: unknown) =>
      Either.getOrThrow(Eval.parseLine(JSON.stringify({ job_id: "a", completion }), 1)).predicted
    const one = Json.object([["a", new Json.JsonNumber("1")]])
    const read = (think: boolean, via: Eval.Reading["via"]) => ({
      _tag: "Result",
      value: one,
      reading: { think, via }
    })
    expect(p('```json\n{"a": 1}\n```')).toEqual(read(false, "code_block"))
    expect(p([{ role: "assistant", content: ' {"a":1} ' }])).toEqual(read(false, "text"))
    // Prose around the JSON: from the first { to the last }.
    expect(p('I think {"a":1}')).toEqual(read(false, "braces"))
    expect(p('Sure! {"a":1} Anything else?')).toEqual(read(false, "braces"))
    // Every <think> span goes first, whatever it holds (braces, fences); then the rules as before.
    expect(p('<think>maybe {"a":2}</think>\n{"a":1}')).toEqual(read(true, "text"))
    expect(p('<think>a</think>Here:\n```\n{"a":1}\n```\n<think>```{"b":3}```</think>')).toEqual(
      read(true, "code_block")
    )
    // The first code block only: when it is not JSON, the braces of the whole text are tried.
    expect(p('```\nnot json\n```\n```json\n{"a":1}\n```')).toEqual(read(false, "braces"))
    expect(p("```\nnot json\n```")).toEqual({ _tag: "Unparseable" })
    expect(p('```text\nplan\n```\nanswer: {"a":1}')).toEqual(read(false, "braces"))
    // A block that never closes is no block.
    expect(p('```json\n{"a":1}')).toEqual(read(false, "braces"))
    // An unclosed <think> is not a span: it stays, and the braces after it are read.
    expect(p('<think>still thinking {"a":1}')).toEqual(read(false, "braces"))
    expect(p("I cannot read this scan.")).toEqual({ _tag: "Unparseable" })
    expect(p("<think>{}</think>")).toEqual({ _tag: "Unparseable" })
    expect(p("null")).toEqual({ _tag: "Nothing", reading: { think: false, via: "text" } })
    expect(Either.getOrThrow(Eval.parseLine('{"job_id":"a","result":null}', 1)).predicted).toEqual({
      _tag: "Nothing"
    })
    // What one surrounding fence read before reads the same: any JSON, any info string, any spacing.
    fc.assert(
      fc.property(
        fc.json(),
        fc.stringMatching(/^[a-z]{0,8}$/),
        fc.constantFrom("", " ", "\n", "\t \n"),
        (json, info, pad) => {
          const got = p(`${pad}\`\`\`${info}\n${json}\n\`\`\`${pad}`)
          const want = Either.getOrThrow(Json.parse(json))
          if (want === null) expect(got._tag).toBe("Nothing")
          else
            expect(got).toEqual({ _tag: "Result", value: want, reading: { think: false, via: "code_block" } })
        }
      ),
      { numRuns: 200 }
    )
    expect(Either.getOrThrow(Eval.parseLine('{"job_id":"ABC","result":1}', 1)).jobId).toBe("abc")
    for (const [text, detail] of [
      ["[1]", "not an object"],
      ['{"result":1}', "job_id must be a string"],
      ['{"job_id":"a"}', "exactly one"],
      ['{"job_id":"a","result":1,"completion":"1"}', "exactly one"],
      ['{"job_id":"a","completion":1}', "completion must be"],
      ["{", "not JSON"]
    ] as const) {
      const e = Eval.parseLine(text, 7)
      expect(Either.isLeft(e) && e.left.message.startsWith("predictions line 7: ")).toBe(true)
      expect(Either.isLeft(e) && e.left.message).toContain(detail)
    }
  })

  it("index: byte ranges across chunk borders, a last line without newline, duplicates and non-UTF-8 named", () => {
    const text = '{"job_id":"a","result":1}\n{"job_id":"é","result":[2]}\n{"job_id":"c","result":3}'
    const bytes = new TextEncoder().encode(text)
    for (const size of [1, 2, 5, 64]) {
      const ix = Eval.index()
      for (let i = 0; i < bytes.length; i += size) Either.getOrThrow(ix.push(bytes.subarray(i, i + size)))
      const { find, lines } = Either.getOrThrow(ix.end())
      expect(lines).toBe(3)
      const decoded = ["a", "é", "c", "b", "", "ab"].map((job) => {
        const at = find(job)
        return at === undefined
          ? [job]
          : [job, at.line, new TextDecoder().decode(bytes.subarray(at.start, at.end))]
      })
      expect(decoded).toEqual([
        ...text.split("\n").map((l, i) => [JSON.parse(l).job_id, i + 1, l]),
        ["b"],
        [""],
        ["ab"]
      ])
    }
    // Named as a reader going line by line names them: the first line that repeats a job, even when a
    // later line is bad too.
    const dup = Eval.index()
    const twice = dup.push(
      new TextEncoder().encode(
        '{"job_id":"b","result":1}\n{"job_id":"a","result":1}\n{"job_id":"b","result":0}\n{"job_id":"A","result":2}\n'
      )
    )
    expect(Either.isLeft(twice) && twice.left.message).toBe(
      "predictions line 3: job b is predicted twice (also line 1)"
    )
    const thenBad = Eval.index()
    const pushed = thenBad.push(
      new TextEncoder().encode('{"job_id":"a","result":1}\n{"job_id":"a","result":2}\n{"job_id":3}\n')
    )
    expect(Either.isLeft(pushed) && pushed.left.message).toBe(
      "predictions line 2: job a is predicted twice (also line 1)"
    )
    const bad = Eval.index()
    const latin = bad.push(Uint8Array.from([0x7b, 0xff, 0x7d, 0x0a]))
    expect(Either.isLeft(latin) && latin.left.message).toBe("predictions line 1: not UTF-8")
  })

  it.effect(
    "markdown: model and pipeline side by side, worst fields first, the difference in points and its interval, the errors and their levers",
    () =>
      Effect.gen(function* () {
        const n = (text: string) => new Json.JsonNumber(text)
        const initial = Json.object([
          ["a", n("1")],
          ["b", n("3")]
        ])
        const final = Json.object([
          ["a", n("1")],
          ["b", n("2")]
        ])
        const bytes = new TextEncoder().encode(`{"job_id":"${id(0)}","result":{"b":2.0,"a":0}}\n`)
        const predictions = yield* Eval.indexed((position, length) =>
          Effect.succeed(bytes.subarray(position, position + length))
        )
        const scored = yield* Eval.run(
          "jsonl",
          Stream.fromIterable([sample(id(0), initial, final)]),
          predictions
        )
        expect(EvalMarkdown.markdown(scored)).toBe(
          [
            "# Evaluation against the ground truth",
            "",
            "1 reference job; 1 predicted, 0 missing, 0 unparseable; 0 lines for other jobs ignored.",
            "",
            "| | model | pipeline | Δ | 95% interval of Δ |",
            "|---|---:|---:|---:|---|",
            // One job: every resample is that job, so each interval is its difference alone.
            "| exact match | 0.0% | 0.0% | ±0.0 | ±0.0 to ±0.0 |",
            // Each is right on one field of two: 2·1 / (2 + 2) over the leaves, (0 + 1) / 2 over the fields.
            "| micro F1 | 50.0% | 50.0% | ±0.0 | ±0.0 to ±0.0 |",
            "| macro F1 | 50.0% | 50.0% | ±0.0 | |",
            "",
            "| field | support | model recall | pipeline recall | Δ recall | model precision | pipeline precision | Δ precision | Δ f1, 95% interval |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|",
            // A difference whose interval excludes 0 is marked.
            "| `a` | 1 | 0.0% | 100.0% | −100.0 | 0.0% | 100.0% | −100.0 | −100.0 (−100.0 to −100.0 *) |",
            "| `b` | 1 | 100.0% | 0.0% | +100.0 | 100.0% | 0.0% | +100.0 | +100.0 (+100.0 to +100.0 *) |",
            "",
            "Intervals: a paired bootstrap over the 1 job (1,000 resamples, seed 1); * marks a difference whose 95% " +
              "interval excludes 0.",
            "",
            "| field | errors of | missing | extra | format | ocr | value | fix first |",
            "|---|---|---:|---:|---:|---:|---:|---|",
            "| `a` | model | 0 | 0 | 0 | 0 | 1 | fine-tuning (a wrong value) |",
            "| `b` | pipeline | 0 | 0 | 0 | 0 | 1 | fine-tuning (a wrong value) |",
            "",
            "missing and extra point to the prompt, format to a normalizer, ocr to OCR post-correction, value to " +
              "fine-tuning (contract §14).",
            ""
          ].join("\n")
        )
      })
  )

  it("fields at any depth: a reference 200,000 arrays deep and its prediction score one field", () => {
    let value: Json.Json = new Json.JsonNumber("1")
    for (let i = 0; i < 200_000; i++) value = [value]
    const tally = Either.getOrThrow(
      Eval.add(Eval.empty(), { initial: null, final: value }, { _tag: "Result", value }, 1)
    )
    const [field, ...more] = Eval.report(tally, { lines: 1 }).fields
    expect(more).toHaveLength(0)
    expect(field?.field).toBe("[]".repeat(200_000))
    expect([field?.support, field?.model?.correct]).toEqual([1, 1])
  })

  it("ratios round half up on the exact fraction", () => {
    const tally = (correct: number, of: number) => {
      const t = Eval.empty()
      for (let i = 0; i < of; i++) {
        const v = Json.object([["a", new Json.JsonNumber(String(i < correct ? 1 : 2))]])
        Either.getOrThrow(
          Eval.add(t, { initial: v, final: Json.object([["a", new Json.JsonNumber("1")]]) }, undefined)
        )
      }
      return Eval.report(t, { lines: 0 }).fields[0]!.pipeline.recall
    }
    expect(tally(57, 800)).toBe(0.0713)
    expect(tally(1, 32)).toBe(0.0313)
    expect(tally(2, 3)).toBe(0.6667)
    expect(tally(1, 3)).toBe(0.3333)
  })

  it("a line longer than the limit is refused before it is held whole", () => {
    const ix = Eval.index()
    const chunk = new Uint8Array(64 * 1024).fill(0x20)
    let result: Either.Either<void, Eval.InvalidPrediction> = Either.void
    let pushed = 0
    for (; pushed <= Eval.limits.lineBytes && Either.isRight(result); pushed += chunk.length)
      result = ix.push(chunk)
    expect(Either.isLeft(result) && result.left.message).toBe(
      "predictions line 1: longer than 1 MiB (a prediction is one line)"
    )
    expect(pushed).toBe(Eval.limits.lineBytes + chunk.length)
  })

  describe("limits", () => {
    const refused = (lines: string, bounds: Eval.Limits = Eval.limits) => {
      const ix = Eval.index(bounds)
      const r = Either.flatMap(ix.push(new TextEncoder().encode(lines)), () => ix.end())
      return Either.isLeft(r) ? r.left.message : "accepted"
    }
    const nested = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`
    const key = (length: number) => "k".repeat(length)
    const ok = '{"job_id":"a","result":1}\n'

    it("each bound holds at its value and refuses one past it, naming the line and the job", () => {
      const { depth, number, field, jobId } = Eval.limits
      const cases: ReadonlyArray<readonly [string, string, string]> = [
        [nested(depth), nested(depth + 1), `the result nests deeper than ${depth} levels`],
        [
          `1${"0".repeat(number - 1)}`,
          `1${"0".repeat(number)}`,
          "the result holds a number longer than 1,000 characters"
        ],
        [
          `-0.${"5".repeat(number - 3)}`,
          `-0.${"5".repeat(number - 2)}`,
          "the result holds a number longer than 1,000 characters"
        ],
        [
          `{"${key(field)}":1}`,
          `{"${key(field + 1)}":1}`,
          "the result has a field longer than 1,000 characters"
        ],
        // `[]` is two characters of a field, `.k` two, `["k k"]` the quoted key and brackets.
        [
          `[{"${key(field - 3)}":1}]`,
          `[{"${key(field - 2)}":1}]`,
          "the result has a field longer than 1,000 characters"
        ],
        [
          `{"${key(field - 6)} k":{}}`,
          `{"${key(field - 5)} k":{}}`,
          "the result has a field longer than 1,000 characters"
        ]
      ]
      for (const [within, past, message] of cases) {
        expect(refused(`${ok}{"job_id":"b","result":${within}}\n`)).toBe("accepted")
        expect(refused(`${ok}{"job_id":"b","result":${past}}\n`)).toBe(
          `predictions line 2: job b: ${message}`
        )
      }
      // The line object, its job_id and the array are three values.
      const zeros = (n: number) => Array.from({ length: n }, () => "0").join(",")
      expect(refused(`${ok}{"job_id":"b","result":[${zeros(Eval.limits.values - 3)}]}\n`)).toBe("accepted")
      expect(refused(`${ok}{"job_id":"b","result":[${zeros(Eval.limits.values - 2)}]}\n`)).toBe(
        "predictions line 2: holds more than 20,000 JSON values"
      )
      expect(refused(`{"job_id":"${key(jobId)}","result":1}`)).toBe("accepted")
      expect(refused(`${ok}{"job_id":"${key(jobId + 1)}","result":1}`)).toBe(
        "predictions line 2: job_id is longer than 64 characters"
      )
      expect(refused(`${ok}${ok.replace('"a"', '"b"')}`, { ...Eval.limits, lines: 1 })).toBe(
        "predictions line 2: more than 1 lines"
      )
      const line = `{"job_id":"b","result":"${"x".repeat(100)}"}`
      expect(refused(`${line}\n`, { ...Eval.limits, lineBytes: line.length })).toBe("accepted")
      expect(refused(`${ok}${line}\n`, { ...Eval.limits, lineBytes: line.length - 1 })).toBe(
        `predictions line 2: longer than ${line.length - 1} bytes (a prediction is one line)`
      )
    })

    it("a completion past a bound is unparseable: the model's answer, not the file, is at fault", () => {
      const p = (content: string) =>
        Either.getOrThrow(Eval.parseLine(JSON.stringify({ job_id: "a", completion: content }), 1)).predicted
          ._tag
      expect(p(nested(Eval.limits.depth))).toBe("Result")
      expect(p(nested(Eval.limits.depth + 1))).toBe("Unparseable")
      expect(p(`{"n": 1e${"9".repeat(Eval.limits.number)}}`)).toBe("Unparseable")
      expect(p(`[${Array.from({ length: Eval.limits.values - 1 }, () => "0").join(",")}]`)).toBe("Result")
      expect(p(`[${Array.from({ length: Eval.limits.values }, () => "0").join(",")}]`)).toBe("Unparseable")
      expect(p(`{"${key(Eval.limits.field + 1)}": 1}`)).toBe("Unparseable")
    })

    it.effect(
      "the fields predictions add that no reference had are bounded over the whole file, naming the line",
      () =>
        Effect.gen(function* () {
          const final = Json.object([["a", new Json.JsonNumber("1")]])
          const samples = [0, 1, 2].map((i) => sample(id(i), null, final))
          const bytes = new TextEncoder().encode(
            [
              `{"job_id":"${id(0)}","result":{"a":1,"b":1,"c":1}}`,
              `{"job_id":"${id(1)}","result":{"a":{"x":1},"b":2}}`,
              `{"job_id":"${id(2)}","result":{"d":[1]}}`,
              ""
            ].join("\n")
          )
          const read = (position: number, length: number) =>
            Effect.succeed(bytes.subarray(position, position + length))
          const scored = (newFields: number) =>
            Effect.flatMap(Eval.indexed(read, { ...Eval.limits, newFields }), (predictions) =>
              Eval.run("jsonl", Stream.fromIterable(samples), predictions)
            ).pipe(Effect.either)
          // b, c; then a.x; then d, d[]: five in all.
          expect(Either.isRight(yield* scored(5))).toBe(true)
          const past = yield* scored(4)
          expect(Either.isLeft(past) && past.left.message).toBe(
            "predictions line 3: the predictions name more than 4 fields that no reference job has"
          )
          const early = yield* scored(2)
          expect(Either.isLeft(early) && early.left.message).toBe(
            "predictions line 2: the predictions name more than 2 fields that no reference job has"
          )
        })
    )

    it("290,000 leaves under a 990-character key are scored in one pass (a path per leaf: 290 M characters)", () => {
      // Past a line's values, but a reference from the database may be as large: the tally's own cost.
      const name = key(990)
      const leaves = Array.from({ length: 290_000 }, () => "0").join(",")
      const value = Either.getOrThrow(Json.parse(`{"${name}":[${leaves}]}`))
      const final = Json.object([[name, [new Json.JsonNumber("0")]]])
      const tally = Either.getOrThrow(
        Eval.add(Eval.empty(), { initial: value, final }, { _tag: "Result", value })
      )
      expect(
        Eval.report(tally, { lines: 1 }).fields.map((f) => [
          f.field,
          f.support,
          f.model!.predicted,
          f.model!.correct,
          f.pipeline.predicted
        ])
      ).toEqual([[`${name}[]`, 1, 290_000, 1, 290_000]])
    })
  })

  describe("a line read again is the line indexed", () => {
    const first = `{"job_id":"${id(0)}","result":{"a":1}}\n{"job_id":"${id(1)}","result":{"a":1}}\n`
    const final = Json.object([["a", new Json.JsonNumber("1")]])
    const samples = [sample(id(0), null, final), sample(id(1), null, final)]
    /** Scores a file whose bytes are `before` while it is indexed and `after` once it is. */
    const rewritten = (before: string, after: string) =>
      Effect.gen(function* () {
        let bytes = new TextEncoder().encode(before)
        const read = (position: number, length: number) =>
          Effect.succeed(bytes.subarray(position, position + length))
        const predictions = yield* Eval.indexed(read)
        bytes = new TextEncoder().encode(after)
        return yield* Eval.run("jsonl", Stream.fromIterable(samples), predictions).pipe(Effect.either)
      })

    it.effect(
      "a file rewritten in place fails naming the first line read that changed; nothing is scored",
      () =>
        Effect.gen(function* () {
          // The same length, another value; then another job at the same place; then a shorter file.
          for (const [after, line] of [
            [first.replace('"a":1}}\n{', '"a":2}}\n{'), 1],
            [first.replace(id(1), id(2)), 2],
            [first.slice(0, first.length - 10), 2]
          ] as const) {
            const r = yield* rewritten(first, after)
            expect(Either.isLeft(r) && r.left).toEqual(new Eval.LineChanged({ line }))
            expect(Either.isLeft(r) && r.left.message).toBe(
              `line ${line} changed after it was read: the predictions were rewritten while they were being scored`
            )
          }
          // The same bytes written again change nothing.
          const same = yield* rewritten(first, first)
          expect(Either.isRight(same) && same.right.report.exact_match.model).toBe(1)
        })
    )
  })

  it.effect(
    "slices: each value its own tally, flags each, none as null; past MAX_SLICES, nothing is scored",
    () =>
      Effect.gen(function* () {
        const one = Json.object([["a", new Json.JsonNumber("1")]])
        const flagged = (i: number, flags: ReadonlyArray<string | null>, satuan: string | null) => ({
          ...sample(id(i), one, one),
          reviewFlags: flags,
          satuan
        })
        const samples = [
          flagged(0, ["x", "y", "x"], "A"),
          flagged(1, [], null),
          flagged(2, [null], "A"),
          flagged(3, ["y"], "B")
        ]
        const sliced = (by: Eval.SliceBy) =>
          Effect.map(Eval.run("jsonl", Stream.fromIterable(samples), undefined, { by }), (s) =>
            s.report.slices?.values.map((v) => [v.value, v.report.jobs])
          )
        // A NULL flag is no flag; a flag given twice counts its job once.
        expect(yield* sliced("review_flag")).toEqual([
          [null, 2],
          ["x", 1],
          ["y", 2]
        ])
        expect(yield* sliced("satuan")).toEqual([
          [null, 1],
          ["A", 2],
          ["B", 1]
        ])
        expect(yield* sliced("source_kind")).toEqual([["pdf", 4]])
        const many = Array.from({ length: Eval.MAX_SLICES + 1 }, (_, i) => flagged(i, [], `unit ${i}`))
        const past = yield* Effect.either(
          Eval.run<never, never, never>("jsonl", Stream.fromIterable(many), undefined, { by: "satuan" })
        )
        expect(Either.isLeft(past) && past.left.message).toBe(
          "the reference jobs hold more than 1,000 values of satuan: too many to score a slice each"
        )
        const fits = yield* Eval.run("jsonl", Stream.fromIterable(many.slice(1)), undefined, { by: "satuan" })
        expect(fits.report.slices?.values).toHaveLength(Eval.MAX_SLICES)
        expect(Eval.parseBy("nrp")).toEqual(
          Either.left('must be one of satuan, source_kind, review_flag, not "nrp"')
        )
      })
  )

  describe("predictions that cover less than half of the reference jobs", () => {
    // 200 letters, each its own number; two jobs of one letter share it (the split by letter keeps them
    // together, the split by job may not).
    const letterOf = (i: number) => `Sprin/${Math.floor(i / 2)}/I/2025`
    const final = (i: number) => Json.object([["header", Json.object([["nomor_sprint", letterOf(i)]])]])
    const samples = Array.from({ length: 400 }, (_, i) => sample(id(i), final(i), final(i)))
    const inSplit = (by: Split.By, name: Split.Name) =>
      samples.flatMap((x, i) =>
        Split.assign(Split.keyOf(by, x.id, x.result), Split.defaultRatios, "") === name ? [i] : []
      )
    const lines = (is: ReadonlyArray<number>, extra = "") =>
      is.map((i) => line(id(i), final(i))).join("") + extra
    const run = (text: string, split = Option.none<Split.Split>()) =>
      Effect.gen(function* () {
        const bytes = new TextEncoder().encode(text)
        const predictions = yield* Eval.indexed((position, length) =>
          Effect.succeed(bytes.subarray(position, position + length))
        )
        return (yield* Eval.run("jsonl", Stream.fromIterable(samples), predictions, { split })).report
      })

    it.effect("name the split they were made for, by letter or by job, and the flags to score them", () =>
      Effect.gen(function* () {
        const test = inSplit("letter", "test")
        const r = yield* run(lines(test))
        expect(test.length).toBeGreaterThan(10)
        const share = ((test.length / 400) * 100).toFixed(1)
        expect(r.warning).toBe(
          `the predictions cover ${test.length} of 400 reference jobs (${share}%), ${test.length} of the ` +
            `${test.length} in split=test: score them with those filters (CLI: --split test)`
        )
        const byJob = inSplit("job", "validation")
        const j = yield* run(lines(byJob))
        expect(j.warning).toContain(
          `, ${byJob.length} of the ${byJob.length} in split=validation with split_by=job: score them with ` +
            "those filters (CLI: --split validation --split-by job)"
        )
      })
    )

    it.effect("else say how many lines the filters leave out, or that the rest predict nothing", () =>
      Effect.gen(function* () {
        const few = [0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144]
        const unknown = line("ffffffff-0000-4000-8000-000000000000", new Json.JsonNumber("1"))
        const r = yield* run(lines(few, unknown))
        expect(r.warning).toBe(
          "the predictions cover 12 of 400 reference jobs (3.0%); 1 line is for a job these filters leave " +
            "out: were the predictions made with other filters?"
        )
        const none = yield* run(lines(few))
        expect(none.warning).toBe(
          "the predictions cover 12 of 400 reference jobs (3.0%): the others score as predicting nothing"
        )
        // With a split among the filters, none is suggested: the lines left out may be another split's.
        const given = Option.some({ ...Split.defaultSplitting, name: "test" as const })
        const split = yield* run(lines(inSplit("letter", "test"), unknown), given)
        expect(split.warning).toContain(
          "were the predictions made with other filters (another split, or split_by)?"
        )
        // Half or more: nothing to say.
        const half = yield* run(lines(Array.from({ length: 200 }, (_, i) => i * 2)))
        expect(half.warning).toBeUndefined()
        expect(Object.keys(JSON.parse(Eval.encode(half)))).not.toContain("warning")
      })
    )
  })

  it.prop(
    "the index finds each job's line, case aside, and no other; the first repeat is named",
    [
      fc.uniqueArray(fc.string({ minLength: 0, maxLength: 12 }), {
        minLength: 1,
        maxLength: 300,
        selector: (s) => s.toLowerCase()
      }),
      fc.nat()
    ],
    ([ids, pick]) => {
      const ix = Eval.index()
      const text = ids.map((j) => JSON.stringify({ job_id: j, result: 1 })).join("\n")
      const bytes = new TextEncoder().encode(text)
      Either.getOrThrow(ix.push(bytes))
      const { find, lines } = Either.getOrThrow(ix.end())
      expect(lines).toBe(ids.length)
      ids.forEach((j, i) => {
        const at = find(j.toLowerCase())
        expect(
          at === undefined ? undefined : [at.line, new TextDecoder().decode(bytes.subarray(at.start, at.end))]
        ).toEqual([i + 1, JSON.stringify({ job_id: j, result: 1 })])
      })
      expect(find(`${ids[0]!.toLowerCase()}\u0000`)).toBe(undefined)
      const again = ids[pick % ids.length]!
      const twice = Eval.index()
      const r = twice.push(
        new TextEncoder().encode(`${text}\n${JSON.stringify({ job_id: again.toUpperCase(), result: 2 })}\n`)
      )
      expect(Either.isLeft(r) && r.left.message).toBe(
        `predictions line ${ids.length + 1}: job ${again.toLowerCase()} is predicted twice (also line ${(pick % ids.length) + 1})`
      )
    }
  )
})
