/**
 * A paired bootstrap over jobs (README, "Intervals"): each reference job's counts on each field, for the
 * model and the pipeline, are kept as the scoring goes; `intervals` then draws `RESAMPLES` resamples of
 * the jobs with replacement, from one seeded generator, and gives the 95% percentile interval of each
 * difference (model − pipeline): exact match, micro F1, each field's F1. Both predictors are scored on
 * the same resampled jobs, so the intervals are of the difference itself, not of two scores.
 */
import { Effect } from "effect"
import { mulberry32 } from "../Random.js"

/** How many resamples, and the seed of their generator. */
export const RESAMPLES = 1000
export const SEED = 1

/** A field's counts for one job: support, the model's correct and predicted, the pipeline's. */
export type Counts = [
  support: number,
  modelCorrect: number,
  modelPredicted: number,
  pipelineCorrect: number,
  pipelinePredicted: number
]

/** A difference and its interval. */
export interface Interval {
  readonly delta: number
  readonly low: number
  readonly high: number
}

/** F1 from counts, 0 when nothing is right (as the macro average counts a null). */
const f1 = (correct: number, predicted: number, support: number): number =>
  correct === 0 ? 0 : (2 * correct) / (predicted + support)

/** Each job's counts, by field (keys: the fields' objects), kept compactly as the scoring goes. */
export const make = () => {
  const ids = new Map<object, number>()
  const exact: Array<number> = []
  const starts: Array<number> = [0]
  let entries = new Int32Array(1 << 12)
  let used = 0
  return {
    /** A job's exact matches and its counts on the fields it touches. */
    job: (modelExact: boolean, pipelineExact: boolean, counts: ReadonlyMap<object, Counts>): void => {
      exact.push((modelExact ? 1 : 0) | (pipelineExact ? 2 : 0))
      if (used + counts.size * 6 > entries.length) {
        const grown = new Int32Array(Math.max(entries.length * 2, used + counts.size * 6))
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
     * The intervals of the differences, `fields` in the order given (a field no job touched: its
     * difference and interval 0). Yields between resamples: a server answers others meanwhile.
     */
    intervals: (fields: ReadonlyArray<object>) =>
      Effect.gen(function* () {
        const jobs = exact.length
        const F = ids.size
        const column = fields.map((f) => ids.get(f))
        const sums = new Float64Array(F * 5)
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
          let [model, pipeline] = [0, 0]
          for (let j = 0; j < jobs; j++) {
            const m = times(j)
            if (m === 0) continue
            model += m * (exact[j]! & 1)
            pipeline += m * ((exact[j]! >> 1) & 1)
            for (let e = starts[j]!; e < starts[j + 1]!; e += 6) {
              const base = entries[e]! * 5
              for (let x = 0; x < 5; x++) sums[base + x] += m * entries[e + 1 + x]!
            }
          }
          const total = [0, 0, 0, 0, 0]
          for (let f = 0; f < F; f++) for (let x = 0; x < 5; x++) total[x]! += sums[f * 5 + x]!
          into[at] = (model - pipeline) / jobs
          into[at + stride] = f1(total[1]!, total[2]!, total[0]!) - f1(total[3]!, total[4]!, total[0]!)
          column.forEach((f, i) => {
            into[at + (2 + i) * stride] =
              f === undefined
                ? 0
                : f1(sums[f * 5 + 1]!, sums[f * 5 + 2]!, sums[f * 5]!) -
                  f1(sums[f * 5 + 3]!, sums[f * 5 + 4]!, sums[f * 5]!)
          })
        }
        const statistics = 2 + fields.length
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
        return {
          exact: interval(0),
          micro: interval(1),
          fields: fields.map((_, i) => interval(2 + i))
        }
      })
  }
}
