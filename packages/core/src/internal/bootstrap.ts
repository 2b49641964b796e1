/**
 * A paired bootstrap over jobs (docs/evaluation.md, "Intervals"): each reference job's counts on each field, for the
 * model and each predictor it is compared with (the pipeline; a second model), are kept as the scoring
 * goes; `intervals` then draws `RESAMPLES` resamples of the jobs with replacement, from one seeded
 * generator, and gives the 95% percentile interval of each difference (model − the other): exact match,
 * micro F1, each field's F1. Every predictor is scored on the same resampled jobs, so the intervals are
 * of the difference itself, not of two scores; and the draws do not depend on how many predictors there
 * are, so a second model leaves the pipeline's intervals as they were.
 */
import { Effect } from "effect"
import { mulberry32 } from "../Random.js"

/** How many resamples, and the seed of their generator. */
export const RESAMPLES = 1000
export const SEED = 1

/**
 * A field's counts for one job: its support, then each predictor's correct and predicted leaves (the
 * model's first): `1 + 2 × predictors` numbers.
 */
export type Counts = Array<number>

/** A difference and its interval. */
export interface Interval {
  readonly delta: number
  readonly low: number
  readonly high: number
}

/** F1 from counts, 0 when nothing is right (as the macro average counts a null). */
const f1 = (correct: number, predicted: number, support: number): number =>
  correct === 0 ? 0 : (2 * correct) / (predicted + support)

/** The intervals of the model against one other predictor. */
export interface Versus {
  readonly exact: Interval
  readonly micro: Interval
  readonly fields: ReadonlyArray<Interval>
}

/**
 * Each job's counts, by field (keys: the fields' objects), kept compactly as the scoring goes, for the
 * model and `predictors - 1` others.
 */
export const make = (predictors = 2) => {
  const width = 1 + 2 * predictors
  const ids = new Map<object, number>()
  const exact: Array<number> = []
  const starts: Array<number> = [0]
  let entries = new Int32Array(1 << 12)
  let used = 0
  return {
    /** A new job's counts on a field: all 0. */
    counts: (): Counts => new Array<number>(width).fill(0),
    /** A job's exact matches (bit k: predictor k's) and its counts on the fields it touches. */
    job: (exactBits: number, counts: ReadonlyMap<object, Counts>): void => {
      exact.push(exactBits)
      if (used + counts.size * (width + 1) > entries.length) {
        const grown = new Int32Array(Math.max(entries.length * 2, used + counts.size * (width + 1)))
        grown.set(entries.subarray(0, used))
        entries = grown
      }
      for (const [field, c] of counts) {
        let id = ids.get(field)
        if (id === undefined) {
          id = ids.size
          ids.set(field, id)
        }
        entries[used++] = id
        for (const n of c) entries[used++] = n
      }
      starts.push(used)
    },
    /**
     * The intervals of the differences of the model with each other predictor (in their order), `fields`
     * in the order given (a field no job touched: its difference and interval 0). Yields between
     * resamples: a server answers others meanwhile.
     */
    intervals: (fields: ReadonlyArray<object>) =>
      Effect.gen(function* () {
        const jobs = exact.length
        const F = ids.size
        const column = fields.map((f) => ids.get(f))
        const sums = new Float64Array(F * width)
        const others = predictors - 1
        /**
         * Every difference of one sample of jobs, given as how many times each job is in it (`times`):
         * exact, micro F1, each field's. Counted a job at a time, not a draw at a time: the same sums, and
         * a job drawn twice is read once.
         */
        const differences = (
          times: (j: number) => number,
          into: Float64Array,
          at: number,
          stride: number
        ) => {
          sums.fill(0)
          const matched = new Array<number>(predictors).fill(0)
          for (let j = 0; j < jobs; j++) {
            const m = times(j)
            if (m === 0) continue
            for (let k = 0; k < predictors; k++) matched[k]! += m * ((exact[j]! >> k) & 1)
            for (let e = starts[j]!; e < starts[j + 1]!; e += width + 1) {
              const base = entries[e]! * width
              for (let x = 0; x < width; x++) sums[base + x] += m * entries[e + 1 + x]!
            }
          }
          const total = new Array<number>(width).fill(0)
          for (let f = 0; f < F; f++) for (let x = 0; x < width; x++) total[x]! += sums[f * width + x]!
          // Predictor k's F1 from counts `c` at `base` (its correct at 1 + 2k, predicted at 2 + 2k).
          const f1Of = (c: ArrayLike<number>, base: number, k: number) =>
            f1(c[base + 1 + 2 * k]!, c[base + 2 + 2 * k]!, c[base]!)
          for (let o = 0; o < others; o++) {
            const at0 = at + o * (2 + column.length) * stride
            into[at0] = (matched[0]! - matched[o + 1]!) / jobs
            into[at0 + stride] = f1Of(total, 0, 0) - f1Of(total, 0, o + 1)
            column.forEach((f, i) => {
              into[at0 + (2 + i) * stride] =
                f === undefined ? 0 : f1Of(sums, f * width, 0) - f1Of(sums, f * width, o + 1)
            })
          }
        }
        const statistics = others * (2 + fields.length)
        const observed = new Float64Array(statistics)
        differences(() => 1, observed, 0, 1)
        // One row of RESAMPLES differences a statistic.
        const resampled = new Float64Array(statistics * RESAMPLES)
        const next = mulberry32(SEED)
        const times = new Int32Array(jobs)
        for (let b = 0; b < RESAMPLES; b++) {
          // The resample's jobs, drawn in order: the k-th is floor(next() × jobs).
          times.fill(0)
          for (let k = 0; k < jobs; k++) times[Math.floor(next() * jobs)]!++
          differences((j) => times[j]!, resampled, b, RESAMPLES)
          if (b % 10 === 9) yield* Effect.yieldNow()
        }
        // The 26th smallest and the 26th largest of 1,000: 25 resamples outside on each side.
        const [lowAt, highAt] = [Math.floor(0.025 * RESAMPLES), Math.ceil(0.975 * RESAMPLES) - 1]
        const interval = (s: number): Interval => {
          const row = resampled.subarray(s * RESAMPLES, (s + 1) * RESAMPLES).sort()
          return { delta: observed[s]!, low: row[lowAt]!, high: row[highAt]! }
        }
        return Array.from({ length: others }, (_, o): Versus => {
          const first = o * (2 + fields.length)
          return {
            exact: interval(first),
            micro: interval(first + 1),
            fields: fields.map((_, i) => interval(first + 2 + i))
          }
        })
      })
  }
}
