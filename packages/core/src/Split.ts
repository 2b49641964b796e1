/**
 * Deterministic train/validation/test splits (contract §13). A job's split depends on its key, the
 * ratios and an optional seed, nothing else: not on the filters, the window or what else is in the
 * database, so any tool can recompute it. The key is, by letter (the default), the job's letter key, so
 * that every copy of a letter (a PDF and a photo of it, a re-upload) lands in one split; by job, its id,
 * the assignment before letters:
 *
 * ```python
 * def key(job_id, nomor_sprint, by="letter"):  # nomor_sprint: final_result.header.nomor_sprint, if a str
 *     if by == "letter" and isinstance(nomor_sprint, str):
 *         k = re.sub(r"[ \t\n\v\f\r]", "", nomor_sprint).translate(str.maketrans(string.ascii_lowercase, string.ascii_uppercase))
 *         if k:
 *             return k
 *     return job_id.lower()
 * h = int(hashlib.sha256(((seed + ":") if seed else "").encode() + key.encode()).hexdigest()[:8], 16)
 * # train when h * sum(ratios) < ratios[0] * 2**32, validation when < (ratios[0] + ratios[1]) * 2**32
 * ```
 *
 * A job changes split only when its key does: by letter, when a reviewer corrected its number.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { Schema } from "effect"
import type { Slot } from "./Correction.js"
import * as Json from "./Json.js"

/** @since 0.1.0 */
export const Name = Schema.Literal("train", "validation", "test")

/** @since 0.1.0 */
export type Name = typeof Name.Type

/**
 * What a split hashes: the job's letter key (`letter`, the default) or its id (`job`).
 *
 * @since 0.1.0
 */
export const By = Schema.Literal("letter", "job")

/** @since 0.1.0 */
export type By = typeof By.Type

/** @since 0.1.0 */
export const defaultBy: By = "letter"

/**
 * How a corpus is cut into splits: what is hashed, the whole-number ratios of train, validation and
 * test, and a seed (empty: none).
 *
 * @since 0.1.0
 */
export interface Splitting {
  readonly by: By
  readonly ratios: readonly [number, number, number]
  readonly seed: string
}

/**
 * One split of a corpus: its name and how the corpus is cut.
 *
 * @since 0.1.0
 */
export interface Split extends Splitting {
  readonly name: Name
}

/** 80/10/10. @since 0.1.0 */
export const defaultRatios: readonly [number, number, number] = [80, 10, 10]

/** The splitting of a dataset or split without flags: by letter, 80/10/10, no seed. @since 0.1.0 */
export const defaultSplitting: Splitting = { by: defaultBy, ratios: defaultRatios, seed: "" }

/** ASCII whitespace: space, tab, line feed, vertical tab, form feed, carriage return. */
const SPACE = /[ \t\n\v\f\r]/g

/**
 * A letter number as its key: ASCII whitespace removed, ASCII `a`–`z` upper-cased, nothing else folded
 * (so SQL and any language compute the same).
 *
 * @since 0.1.0
 */
export const letter = (number: string): string =>
  number.replace(SPACE, "").replace(/[a-z]+/g, (s) => s.toUpperCase())

/**
 * The text a job's split hashes. By letter, its letter key: `nomor_sprint` (the string at
 * `final_result.header.nomor_sprint`, if there is one) as `letter` gives it, unless nothing is left; else,
 * and by job, the job id in its lowercase form.
 *
 * @since 0.1.0
 */
export const key = (by: By, jobId: string, nomorSprint: string | null | undefined): string => {
  if (by === "letter" && typeof nomorSprint === "string") {
    const k = letter(nomorSprint)
    if (k !== "") return k
  }
  return jobId.toLowerCase()
}

/**
 * `final_result.header.nomor_sprint` when it is a string.
 *
 * @since 0.1.0
 */
export const nomorSprint = (result: Slot): string | undefined => {
  const header = result !== undefined && Json.isObject(result) ? result.get("header") : undefined
  const number = header !== undefined && Json.isObject(header) ? header.get("nomor_sprint") : undefined
  return typeof number === "string" ? number : undefined
}

/**
 * The key of a job whose final result is `result` (see `key`).
 *
 * @since 0.1.0
 */
export const keyOf = (by: By, jobId: string, result: Slot): string => key(by, jobId, nomorSprint(result))

/**
 * A key's point in [0, 2^32): the first 32 bits of SHA-256 of `seed:key` (`key` alone without a seed).
 *
 * @since 0.1.0
 */
export const point = (key: string, seed: string): number =>
  Number.parseInt(
    createHash("sha256")
      .update(seed === "" ? key : `${seed}:${key}`)
      .digest("hex")
      .slice(0, 8),
    16
  )

/**
 * The split of a key. Exact: `point × sum < bound × 2^32` stays below 2^53.
 *
 * @since 0.1.0
 */
export const assign = (key: string, ratios: readonly [number, number, number], seed: string): Name => {
  const scaled = point(key, seed) * (ratios[0] + ratios[1] + ratios[2])
  if (scaled < ratios[0] * 2 ** 32) return "train"
  if (scaled < (ratios[0] + ratios[1]) * 2 ** 32) return "validation"
  return "test"
}

/**
 * Does the job of this key (see `key`) belong to the split?
 *
 * @since 0.1.0
 */
export const contains = (split: Split, key: string): boolean =>
  assign(key, split.ratios, split.seed) === split.name

/**
 * Could a job now outside `split` have been in it at an earlier snapshot? By letter, yes: a corrected
 * number moves a job between splits, so an increment names it as removed. By job, never.
 *
 * @since 0.1.0
 */
export const movable = (splitting: Splitting): boolean => splitting.by === "letter"

/**
 * Of an increment of `split`, may a changed job that writes no line have been in the split before, so
 * that the increment names it as removed? By job, when its id is in the split; by letter, always.
 *
 * @since 0.1.0
 */
export const mayHaveHeld = (split: Split, jobId: string): boolean =>
  movable(split) || contains(split, key("job", jobId, null))
