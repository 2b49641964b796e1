/**
 * Where the predicted reference jobs of an evaluation fall among the splits they may have been made for
 * (§13: by letter and by job, each train, validation and test): what the warning of predictions that
 * cover too few reference jobs suggests.
 */
import type { Slot } from "../Correction.js"
import * as Split from "../Split.js"

/** A split and how many reference jobs it holds, how many of them were predicted. */
export interface Candidate {
  readonly by: Split.By
  readonly name: Split.Name
  readonly jobs: number
  readonly predicted: number
}

const BY: ReadonlyArray<Split.By> = ["letter", "job"]
const NAMES: ReadonlyArray<Split.Name> = ["train", "validation", "test"]

/** Counts, per split, the reference jobs and those predicted, with the filter's ratios and seed. */
export const make = (ratios: readonly [number, number, number], seed: string) => {
  const candidates = BY.flatMap((by) => NAMES.map((name) => ({ by, name, jobs: 0, predicted: 0 })))
  return {
    add: (jobId: string, result: Slot, predicted: boolean): void => {
      BY.forEach((by, b) => {
        const c =
          candidates[
            b * NAMES.length + NAMES.indexOf(Split.assign(Split.keyOf(by, jobId, result), ratios, seed))
          ]!
        c.jobs++
        if (predicted) c.predicted++
      })
    },
    /**
     * The split whose reference jobs the predictions cover best, when they cover at least half of them
     * and it holds at least 9 in 10 of the predictions; by letter before by job, in split order.
     */
    best: (predictions: number): Candidate | undefined => {
      let best: Candidate | undefined
      for (const c of candidates)
        if (
          c.predicted * 2 >= c.jobs &&
          c.predicted * 10 >= predictions * 9 &&
          c.predicted > 0 &&
          (best === undefined || c.predicted * best.jobs > best.predicted * c.jobs)
        )
          best = c
      return best
    }
  }
}
