/**
 * Confidence calibration (contract §14): above which pipeline `confidence` could jobs be approved
 * without a review, at what error rate, saving how many reviews? Read from the review history itself:
 * a job was `wrong` when reviewers changed the pipeline's answer (`initial_result` is not deep-equal to
 * `final_result`). Pure: samples in, one JSON line out, as `Eval` is; the front ends read the samples
 * (`Export.samples`) in one snapshot.
 *
 * @since 0.1.0
 */
import { Effect, Either, Schema, Stream } from "effect"
import * as Json from "./Json.js"
import type { Sample } from "./Sample.js"

/** The error rate a recommendation must stay under, at the upper end of its 95% interval. @since 0.1.0 */
export const defaultTargetError = 0.02

/** z of a two-sided 95% interval. */
const Z = 1.959964

/**
 * `target_error` as given (`0.02`): a decimal strictly between 0 and 1, or why not.
 *
 * @since 0.1.0
 */
export const parseTarget = (text: string): Either.Either<number, string> => {
  const value = /^0?\.\d{1,12}$/.test(text) ? Number(text) : Number.NaN
  return value > 0 && value < 1
    ? Either.right(value)
    : Either.left(
        `must be a decimal between 0 and 1, both excluded (0.02: a 2% error rate), not ${JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text)}`
      )
}

/** One bin of the reliability diagram, `[from, to)` (the last one includes 1.0). @since 0.1.0 */
export class Bin extends Schema.Class<Bin>("CalibrationBin")({
  from: Schema.Number,
  to: Schema.Number,
  jobs: Schema.Number,
  wrong: Schema.Number,
  error_rate: Schema.NullOr(Schema.Number),
  mean_confidence: Schema.NullOr(Schema.Number),
  wilson_high: Schema.NullOr(Schema.Number)
}) {}

/** What auto-approving every job at or above `threshold` would have done. @since 0.1.0 */
export class Threshold extends Schema.Class<Threshold>("CalibrationThreshold")({
  threshold: Schema.Number,
  auto_approved: Schema.Number,
  share: Schema.NullOr(Schema.Number),
  wrong: Schema.Number,
  error_rate: Schema.NullOr(Schema.Number),
  wilson_high: Schema.NullOr(Schema.Number)
}) {}

/** The smallest threshold whose error rate stays under the target, at the upper end of its interval. @since 0.1.0 */
export class Recommended extends Schema.Class<Recommended>("CalibrationRecommended")({
  threshold: Schema.Number,
  share: Schema.Number,
  error_rate: Schema.Number
}) {}

/** The calibration. Its fields are declared in the order they are printed. @since 0.1.0 */
export class Report extends Schema.Class<Report>("CalibrationReport")({
  jobs: Schema.Number.annotations({
    description: "samples with a finite confidence in [0,1] and a final_result: the population"
  }),
  excluded: Schema.Number.annotations({ description: "the other samples" }),
  target_error: Schema.Number,
  bins: Schema.Array(Bin),
  thresholds: Schema.Array(Threshold),
  recommended: Schema.NullOr(Recommended),
  ece: Schema.NullOr(Schema.Number),
  brier: Schema.NullOr(Schema.Number)
}) {}

/** `n / d` rounded half up to 4 decimals on the exact fraction, or null when `d` is 0. */
const ratio = (n: number, d: number): number | null =>
  d === 0 ? null : Math.floor((n * 20000 + d) / (2 * d)) / 10000

const round4 = (x: number): number => Math.round(x * 10000) / 10000

/** The upper end of the 95% Wilson score interval of `wrong` out of `n`; null when `n` is 0. */
const wilsonHigh = (wrong: number, n: number): number | null => {
  if (n === 0) return null
  const p = wrong / n
  const z2 = Z * Z
  return (p + z2 / (2 * n) + Z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n)
}

/** What one sample tells: its confidence and whether reviewers changed the pipeline's answer. */
interface Point {
  readonly confidence: number
  readonly wrong: boolean
}

/** A sample's point, or none when it is outside the population. */
const pointOf = (sample: Sample): Point | undefined => {
  const c = sample.confidence
  if (c === null || !Number.isFinite(c) || c < 0 || c > 1) return undefined
  if (sample.result === undefined || sample.result === null) return undefined
  const initial = sample.initialResult
  return { confidence: c, wrong: initial === undefined || !Json.equals(initial, sample.result) }
}

/**
 * The running counts: per bin (jobs, wrong, sum of confidence), per threshold the jobs whose highest
 * threshold reached it is (summed from the top in `report`: a job is counted once, not at each
 * threshold), Brier.
 */
interface Tally {
  excluded: number
  readonly bins: Array<{ jobs: number; wrong: number; confidence: number }>
  readonly highest: Array<{ jobs: number; wrong: number }>
  squares: number
  jobs: number
}

/** The thresholds: 0.50, 0.51, …, 0.99, as hundredths. */
const HUNDREDTHS = Array.from({ length: 50 }, (_, i) => 50 + i)

const empty = (): Tally => ({
  excluded: 0,
  bins: Array.from({ length: 10 }, () => ({ jobs: 0, wrong: 0, confidence: 0 })),
  highest: HUNDREDTHS.map(() => ({ jobs: 0, wrong: 0 })),
  squares: 0,
  jobs: 0
})

/**
 * How many of the bounds `first/per`, `(first + 1)/per`, …, `last/per` a confidence reaches, each the
 * double its decimal text reads as (`57 / 100` is `0.57`; `0.57 * 100` would be 56.99999999999999): from
 * the estimate `c × per`, corrected a step at a time.
 */
const reached = (c: number, first: number, last: number, per: number): number => {
  let n = Math.min(last - first + 1, Math.max(0, Math.floor(c * per) - first + 1))
  while (n > 0 && c < (first + n - 1) / per) n--
  while (n <= last - first && c >= (first + n) / per) n++
  return n
}

const add = (t: Tally, sample: Sample): Tally => {
  const p = pointOf(sample)
  if (p === undefined) {
    t.excluded++
    return t
  }
  t.jobs++
  const bin = t.bins[reached(p.confidence, 1, 9, 10)]!
  bin.jobs++
  bin.confidence += p.confidence
  if (p.wrong) bin.wrong++
  const thresholds = reached(p.confidence, 50, 99, 100)
  if (thresholds > 0) {
    const top = t.highest[thresholds - 1]!
    top.jobs++
    if (p.wrong) top.wrong++
  }
  const right = p.wrong ? 0 : 1
  t.squares += (p.confidence - right) ** 2
  return t
}

/** The report of a tally, with the target error rate. */
const report = (t: Tally, target: number): Report => {
  // The jobs at or above each threshold: those whose highest threshold reached is it or a later one.
  const above = [...t.highest]
  for (let i = above.length - 2; i >= 0; i--) {
    above[i] = { jobs: above[i]!.jobs + above[i + 1]!.jobs, wrong: above[i]!.wrong + above[i + 1]!.wrong }
  }
  const thresholds = HUNDREDTHS.map((h, i) => {
    const { jobs, wrong } = above[i]!
    const high = wilsonHigh(wrong, jobs)
    return {
      row: new Threshold({
        threshold: h / 100,
        auto_approved: jobs,
        share: ratio(jobs, t.jobs),
        wrong,
        error_rate: ratio(wrong, jobs),
        wilson_high: high === null ? null : round4(high)
      }),
      high
    }
  })
  const first = thresholds.find(({ row, high }) => row.auto_approved > 0 && high !== null && high <= target)
  let ece = 0
  for (const b of t.bins) {
    if (b.jobs > 0) ece += (b.jobs / t.jobs) * Math.abs(b.confidence / b.jobs - (1 - b.wrong / b.jobs))
  }
  return new Report({
    jobs: t.jobs,
    excluded: t.excluded,
    target_error: target,
    bins: t.bins.map((b, i) => {
      const high = wilsonHigh(b.wrong, b.jobs)
      return new Bin({
        from: i / 10,
        to: (i + 1) / 10,
        jobs: b.jobs,
        wrong: b.wrong,
        error_rate: ratio(b.wrong, b.jobs),
        mean_confidence: b.jobs === 0 ? null : round4(b.confidence / b.jobs),
        wilson_high: high === null ? null : round4(high)
      })
    }),
    thresholds: thresholds.map(({ row }) => row),
    recommended:
      first === undefined
        ? null
        : new Recommended({
            threshold: first.row.threshold,
            share: first.row.share as number,
            error_rate: first.row.error_rate as number
          }),
    ece: t.jobs === 0 ? null : round4(ece),
    brier: t.jobs === 0 ? null : round4(t.squares / t.jobs)
  })
}

/**
 * The calibration of in-memory samples: the reference of `run`.
 *
 * @since 0.1.0
 */
export const of = (samples: Iterable<Sample>, target = defaultTargetError): Report => {
  let t = empty()
  for (const s of samples) t = add(t, s)
  return report(t, target)
}

/**
 * The calibration of the samples as they stream past: memory holds the counts, not the samples.
 *
 * @since 0.1.0
 */
export const run = <E, R>(
  samples: Stream.Stream<Sample, E, R>,
  target = defaultTargetError
): Effect.Effect<Report, E, R> => Effect.map(Stream.runFold(samples, empty(), add), (t) => report(t, target))

/** A threshold or a bin's bound with its two decimals: `0.50`. */
const two = (x: number): string => x.toFixed(2)

/**
 * The report as one JSON line, `\n` included: the same bytes from the CLI and over HTTP; thresholds and
 * bounds with two decimals.
 *
 * @since 0.1.0
 */
export const encode = (r: typeof Report.Encoded): string => {
  const n = (x: number | null) => (x === null ? "null" : JSON.stringify(x))
  const bins = r.bins.map(
    (b) =>
      `{"from":${two(b.from)},"to":${two(b.to)},"jobs":${b.jobs},"wrong":${b.wrong},"error_rate":${n(b.error_rate)},` +
      `"mean_confidence":${n(b.mean_confidence)},"wilson_high":${n(b.wilson_high)}}`
  )
  const thresholds = r.thresholds.map(
    (t) =>
      `{"threshold":${two(t.threshold)},"auto_approved":${t.auto_approved},"share":${n(t.share)},"wrong":${t.wrong},` +
      `"error_rate":${n(t.error_rate)},"wilson_high":${n(t.wilson_high)}}`
  )
  const recommended =
    r.recommended === null
      ? "null"
      : `{"threshold":${two(r.recommended.threshold)},"share":${n(r.recommended.share)},"error_rate":${n(r.recommended.error_rate)}}`
  return (
    `{"jobs":${r.jobs},"excluded":${r.excluded},"target_error":${n(r.target_error)},"bins":[${bins.join(",")}],` +
    `"thresholds":[${thresholds.join(",")}],"recommended":${recommended},"ece":${n(r.ece)},"brier":${n(r.brier)}}\n`
  )
}
