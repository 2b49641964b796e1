/**
 * Deterministic train/validation/test splits. A job's split depends on its id, the ratios and an
 * optional seed, nothing else: not on the filters, the window or what else is in the database, so a job
 * never moves between splits across incremental snapshots, and any tool can recompute it:
 *
 * ```python
 * h = int(hashlib.sha256(((seed + ":") if seed else "").encode() + job_id.encode()).hexdigest()[:8], 16)
 * # train when h * sum(ratios) < ratios[0] * 2**32, validation when < (ratios[0] + ratios[1]) * 2**32
 * ```
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { Schema } from "effect"

/** @since 0.1.0 */
export const Name = Schema.Literal("train", "validation", "test")

/** @since 0.1.0 */
export type Name = typeof Name.Type

/**
 * One split of a corpus: its name, the whole-number ratios of train, validation and test, and a seed
 * (empty: none).
 *
 * @since 0.1.0
 */
export interface Split {
  readonly name: Name
  readonly ratios: readonly [number, number, number]
  readonly seed: string
}

/** 80/10/10. @since 0.1.0 */
export const defaultRatios: readonly [number, number, number] = [80, 10, 10]

/**
 * The job's point in [0, 2^32): the first 32 bits of SHA-256 of `seed:job_id` (`job_id` alone without a
 * seed), the id in its lowercase form.
 *
 * @since 0.1.0
 */
export const point = (jobId: string, seed: string): number =>
  Number.parseInt(
    createHash("sha256")
      .update(seed === "" ? jobId.toLowerCase() : `${seed}:${jobId.toLowerCase()}`)
      .digest("hex")
      .slice(0, 8),
    16
  )

/**
 * The split a job falls in. Exact: `point × sum < bound × 2^32` stays below 2^53.
 *
 * @since 0.1.0
 */
export const assign = (jobId: string, ratios: readonly [number, number, number], seed: string): Name => {
  const scaled = point(jobId, seed) * (ratios[0] + ratios[1] + ratios[2])
  if (scaled < ratios[0] * 2 ** 32) return "train"
  if (scaled < (ratios[0] + ratios[1]) * 2 ** 32) return "validation"
  return "test"
}

/**
 * Does the job belong to the split?
 *
 * @since 0.1.0
 */
export const contains = (split: Split, jobId: string): boolean =>
  assign(jobId, split.ratios, split.seed) === split.name
