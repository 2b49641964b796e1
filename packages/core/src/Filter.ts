/**
 * Export and stats parameters: the filters of contract §7, plus an export's format and split, parsed
 * from string parameters. The HTTP query string and the CLI flags go through this one parser, so they
 * accept and reject exactly the same input.
 *
 * @since 0.1.0
 */
import { Either, Option, Schema } from "effect"
import * as Cursor from "./Cursor.js"
import * as Format from "./Format.js"
import type { Job } from "./Sample.js"
import * as Split from "./Split.js"
import * as Timestamp from "./Timestamp.js"

/**
 * Which samples an export (or stats call) covers.
 *
 * - `approvedOnly`: only jobs with `approved = true` (default `true`);
 * - `hasCorrections`: some: at least one event (`true`) or none (`false`); none: either;
 * - `since`/`until`: the sample time `coalesce(reviewed_at, created_at)` lies in `[since, until)`;
 * - `split`: some: only the jobs of that split (see `Split`: by letter unless `split_by=job`);
 * - `changedSince`: some: only the jobs changed after that cursor's snapshot (contract §11, see
 *   `Cursor`); an export names the ones that changed and no longer match in its manifest's `removed`;
 *
 * and how an export writes them: `format` (default `jsonl`) and `input`, what the model reads (none:
 * the format's default, `Format.defaultInput`).
 *
 * @since 0.1.0
 */
export interface Filter {
  readonly approvedOnly: boolean
  readonly hasCorrections: Option.Option<boolean>
  readonly since: Option.Option<Timestamp.Timestamp>
  readonly until: Option.Option<Timestamp.Timestamp>
  readonly split: Option.Option<Split.Split>
  readonly changedSince: Option.Option<Cursor.Cursor>
  readonly format: Format.Format
  readonly input: Option.Option<Format.Input>
}

/** The filter with every parameter at its default. @since 0.1.0 */
export const defaults: Filter = {
  approvedOnly: true,
  hasCorrections: Option.none(),
  since: Option.none(),
  until: Option.none(),
  split: Option.none(),
  changedSince: Option.none(),
  format: "jsonl",
  input: Option.none()
}

/** @since 0.1.0 */
export const Parameter = Schema.Literal(
  "approved_only",
  "has_corrections",
  "since",
  "until",
  "format",
  "input",
  "split",
  "split_ratios",
  "split_seed",
  "split_by",
  "changed_since"
)

/** @since 0.1.0 */
export type Parameter = typeof Parameter.Type

/** The parameters an export takes. @since 0.1.0 */
export const exportParameters: ReadonlyArray<Parameter> = Parameter.literals

/**
 * The parameters evaluation takes: an export's, but an increment's cursor (§12 scores a whole corpus) and
 * the input (it scores results, whatever a model read). @since 0.1.0
 */
export const evalParameters: ReadonlyArray<Parameter> = Parameter.literals.filter(
  (p) => p !== "changed_since" && p !== "input"
)

/** The parameters a plan takes: a full export's, without an increment's cursor. @since 0.1.0 */
export const planParameters: ReadonlyArray<Parameter> = Parameter.literals.filter(
  (p) => p !== "changed_since"
)

/**
 * The parameters lint takes (§13): the jobs an export selects, whatever it writes of them (no format or
 * input) and whole (no increment's cursor). @since 0.1.0
 */
export const lintParameters: ReadonlyArray<Parameter> = Parameter.literals.filter(
  (p) => p !== "changed_since" && p !== "input" && p !== "format"
)

/** The parameters stats take: the time window only. @since 0.1.0 */
export const statsParameters: ReadonlyArray<Parameter> = ["since", "until"]

/** @since 0.1.0 */
export const ErrorCode = Schema.Literal(
  "unknown_parameter",
  "repeated_parameter",
  "invalid_boolean",
  "invalid_timestamp",
  "invalid_range",
  "invalid_format",
  "invalid_input",
  "invalid_split",
  "invalid_cursor"
)

/**
 * A client error in the filter parameters, the caller's to mend. `parameter` names the parameter as it
 * was given (for an unknown one) or by its canonical name.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidParameter extends Schema.TaggedError<InvalidParameter>()("InvalidParameter", {
  code: ErrorCode,
  parameter: Schema.String,
  message: Schema.String
}) {}

/** @since 0.1.0 */
export interface ParseOptions {
  /** The parameters accepted; others are unknown. Default: every export parameter. */
  readonly accept?: ReadonlyArray<Parameter>
  /** How a parameter is named in messages: the CLI says `--since` where HTTP says `since`. */
  readonly label?: (name: string) => string
}

const isParameter = Schema.is(Parameter)
const isFormat = Schema.is(Format.Format)
const isInput = Schema.is(Format.Input)
const isSplitName = Schema.is(Split.Name)
const isSplitBy = Schema.is(Split.By)

/** `80,10,10`: three whole numbers 0–1000, not all zero. */
const parseRatios = (value: string): readonly [number, number, number] | undefined => {
  const parts = value.split(",")
  if (parts.length !== 3 || !parts.every((p) => /^\d{1,4}$/.test(p.trim()))) return undefined
  const [a, b, c] = parts.map((p) => Number(p.trim()))
  return a <= 1000 && b <= 1000 && c <= 1000 && a + b + c > 0 ? [a, b, c] : undefined
}

const shown = (value: string): string =>
  JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value)

const parseBoolean = (value: string): boolean | undefined => {
  switch (value) {
    case "true":
    case "1":
      return true
    case "false":
    case "0":
      return false
    default:
      return undefined
  }
}

/**
 * Parses parameters given as name/value pairs, in the order given (a URL query's entries, or the CLI's
 * flags). Rejects unknown and repeated names, booleans other than `true`/`false`/`1`/`0`, times that
 * are not RFC 3339 timestamps with an offset or `YYYY-MM-DD` dates, and `since` later than `until`.
 *
 * @since 0.1.0
 */
export const parse = (
  params: Iterable<readonly [string, string]>,
  options: ParseOptions = {}
): Either.Either<Filter, InvalidParameter> => {
  const accept = options.accept ?? exportParameters
  const label = options.label ?? ((name: string) => name)
  const fail = (code: typeof ErrorCode.Type, parameter: string, message: string) =>
    Either.left(new InvalidParameter({ code, parameter, message }))
  const seen = new Set<string>()
  let filter = defaults
  let splitName: Split.Name | undefined
  let { by, ratios, seed } = Split.defaultSplitting
  for (const [name, value] of params) {
    if (!isParameter(name) || !accept.includes(name)) {
      const known = accept.map(label).join(", ")
      return fail("unknown_parameter", name, `unknown parameter ${shown(label(name))}; known: ${known}`)
    }
    if (seen.has(name)) return fail("repeated_parameter", name, `${label(name)} is given more than once`)
    seen.add(name)
    switch (name) {
      case "approved_only":
      case "has_corrections": {
        const b = parseBoolean(value)
        if (b === undefined) {
          return fail(
            "invalid_boolean",
            name,
            `${label(name)} must be true, false, 1 or 0, not ${shown(value)}`
          )
        }
        filter =
          name === "approved_only"
            ? { ...filter, approvedOnly: b }
            : { ...filter, hasCorrections: Option.some(b) }
        break
      }
      case "since":
      case "until": {
        const t = Timestamp.parse(value)
        if (Either.isLeft(t)) {
          return fail(
            "invalid_timestamp",
            name,
            `${label(name)} ${shown(value)} is not a valid time: ${t.left.reason}`
          )
        }
        filter = { ...filter, [name]: Option.some(t.right) }
        break
      }
      case "format": {
        if (!isFormat(value)) {
          return fail(
            "invalid_format",
            name,
            `${label(name)} must be one of ${Format.formats.join(", ")}, not ${shown(value)}`
          )
        }
        filter = { ...filter, format: value }
        break
      }
      case "input": {
        if (!isInput(value)) {
          return fail(
            "invalid_input",
            name,
            `${label(name)} must be one of ${Format.Input.literals.join(", ")}, not ${shown(value)}`
          )
        }
        filter = { ...filter, input: Option.some(value) }
        break
      }
      case "split": {
        if (!isSplitName(value)) {
          return fail(
            "invalid_split",
            name,
            `${label(name)} must be train, validation or test, not ${shown(value)}`
          )
        }
        splitName = value
        break
      }
      case "split_ratios": {
        const parsed = parseRatios(value)
        if (parsed === undefined) {
          return fail(
            "invalid_split",
            name,
            `${label(name)} must be three whole numbers 0–1000 for train, validation and test, not all 0 ` +
              `(like 80,10,10), not ${shown(value)}`
          )
        }
        ratios = parsed
        break
      }
      case "changed_since": {
        const cursor = Cursor.decode(value)
        if (Option.isNone(cursor)) {
          return fail(
            "invalid_cursor",
            name,
            `${label(name)} must be the cursor of an earlier export's manifest (or its Ground-Truth-Cursor ` +
              `header), not ${shown(value)}`
          )
        }
        filter = { ...filter, changedSince: cursor }
        break
      }
      case "split_seed": {
        if (value.length > 256) {
          return fail("invalid_split", name, `${label(name)} must be at most 256 characters`)
        }
        seed = value
        break
      }
      case "split_by": {
        if (!isSplitBy(value)) {
          return fail(
            "invalid_split",
            name,
            `${label(name)} must be letter (every copy of a letter in one split) or job, not ${shown(value)}`
          )
        }
        by = value
        break
      }
    }
  }
  if (splitName !== undefined) {
    filter = { ...filter, split: Option.some({ name: splitName, by, ratios, seed }) }
  } else {
    for (const name of ["split_ratios", "split_seed", "split_by"] as const) {
      if (seen.has(name)) {
        return fail("invalid_split", name, `${label(name)} applies only with ${label("split")}`)
      }
    }
  }
  if (Option.isSome(filter.since) && Option.isSome(filter.until)) {
    if (Timestamp.Order(filter.since.value, filter.until.value) > 0) {
      return fail(
        "invalid_range",
        "since",
        `${label("since")} (${Timestamp.format(filter.since.value)}) is later than ` +
          `${label("until")} (${Timestamp.format(filter.until.value)})`
      )
    }
  }
  return Either.right(filter)
}

/**
 * Does a job belong to the filter's samples? The reference meaning of contract §7, for in-memory
 * corpora; the database export expresses the same conditions in SQL.
 *
 * @since 0.1.0
 */
export const matches = (filter: Filter, job: Job): boolean => {
  if (filter.approvedOnly && !job.approved) return false
  if (Option.isSome(filter.hasCorrections) && filter.hasCorrections.value !== job.events.length > 0)
    return false
  if (
    Option.isSome(filter.split) &&
    !Split.contains(filter.split.value, Split.keyOf(filter.split.value.by, job.id, job.result))
  )
    return false
  const time = job.reviewedAt ?? job.createdAt
  return (
    (Option.isNone(filter.since) || Timestamp.Order(time, filter.since.value) >= 0) &&
    (Option.isNone(filter.until) || Timestamp.Order(time, filter.until.value) < 0)
  )
}

/**
 * The parameters `parse` reads back as this filter, in its canonical spelling: what a worker or a plan
 * carries, where a `Filter` (its cursor, its times) cannot travel as it is.
 *
 * @since 0.1.0
 */
export const parameters = (filter: Filter): Array<readonly [Parameter, string]> => {
  const out: Array<readonly [Parameter, string]> = [
    ["approved_only", String(filter.approvedOnly)],
    ["format", filter.format]
  ]
  if (Option.isSome(filter.input)) out.push(["input", filter.input.value])
  if (Option.isSome(filter.hasCorrections)) out.push(["has_corrections", String(filter.hasCorrections.value)])
  if (Option.isSome(filter.since)) out.push(["since", Timestamp.format(filter.since.value)])
  if (Option.isSome(filter.until)) out.push(["until", Timestamp.format(filter.until.value)])
  if (Option.isSome(filter.split)) {
    const { name, by, ratios, seed } = filter.split.value
    out.push(["split", name], ["split_ratios", ratios.join(",")], ["split_seed", seed], ["split_by", by])
  }
  if (Option.isSome(filter.changedSince))
    out.push(["changed_since", Cursor.encode(filter.changedSince.value)])
  return out
}

/**
 * What an export with `filter` writes: its format, and its input (the format's default when none was
 * asked for).
 *
 * @since 0.1.0
 */
export const output = (filter: Filter): { readonly format: Format.Format; readonly input: Format.Input } => ({
  format: filter.format,
  input: Option.getOrElse(filter.input, () => Format.defaultInput(filter.format))
})
