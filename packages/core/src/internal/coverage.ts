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

/**
 * Counts, per split, the reference jobs and those each of `files` predictions files predicted, with the
 * filter's ratios and seed: the splits are assigned once a job, whatever the files.
 */
export const make = (ratios: readonly [number, number, number], seed: string, files = 1) => {
  const candidates = BY.flatMap((by) =>
    NAMES.map((name) => ({ by, name, jobs: 0, predicted: new Array<number>(files).fill(0) }))
  )
  return {
    /** A reference job, and whether each file predicted it. */
    add: (jobId: string, result: Slot, predicted: ReadonlyArray<boolean>): void => {
      BY.forEach((by, b) => {
        const c =
          candidates[
            b * NAMES.length + NAMES.indexOf(Split.assign(Split.keyOf(by, jobId, result), ratios, seed))
          ]!
        c.jobs++
        predicted.forEach((p, f) => {
          if (p) c.predicted[f]!++
        })
      })
    },
    /**
     * The split whose reference jobs file `file`'s `predictions` cover best, when they cover at least
     * half of them and it holds at least 9 in 10 of the predictions; by letter before by job, in split
     * order.
     */
    best: (predictions: number, file = 0): Candidate | undefined => {
      let best: Candidate | undefined
      for (const { by, name, jobs, predicted } of candidates) {
        const c = { by, name, jobs, predicted: predicted[file]! }
        if (
          c.predicted * 2 >= c.jobs &&
          c.predicted * 10 >= predictions * 9 &&
          c.predicted > 0 &&
          (best === undefined || c.predicted * best.jobs > best.predicted * c.jobs)
        )
          best = c
      }
      return best
    }
  }
}
