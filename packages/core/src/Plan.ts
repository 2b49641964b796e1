/**
 * Plans (contract §15): an export cut into shards that other processes or machines write, each on its
 * own connection, all from one snapshot. `Export.plan` exports a snapshot, cuts the export's order into
 * shards of as many jobs inside it and holds it; `Export.shard` writes one shard from a plan, in a
 * transaction that imported that snapshot. The plan is a JSON object: what `ground-truth plan` writes
 * and `GET /api/v1/ground-truth/plan` answers.
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import type { SqlError } from "@effect/sql/SqlError"
import { Duration, Effect, Either, Option, ParseResult, Schema } from "effect"
import * as Filter from "./Filter.js"
import * as Timestamp from "./Timestamp.js"
import * as Version from "./Version.js"
import type * as Workers from "./Workers.js"

/** @since 0.1.0 */
export const planVersion = "1"

/**
 * A job's place in the export's order: `created_at` as PostgreSQL writes it (with its offset, so it reads
 * back as the same instant whatever the reading session's time zone), and its id.
 *
 * @since 0.1.0
 */
export const Key = Schema.Struct({ created_at: Schema.String, id: Schema.String })

/** @since 0.1.0 */
export type Key = typeof Key.Type

/**
 * One shard of a plan: its number, its jobs (those of the filter and its split; a training format may
 * write fewer lines), and its range of the export's order: the jobs after `after` and up to `through`
 * (`null`: from the start, to the end).
 *
 * @since 0.1.0
 * @category models
 */
export class PlanShard extends Schema.Class<PlanShard>("PlanShard")({
  shard: Schema.NonNegativeInt,
  jobs: Schema.NonNegativeInt,
  after: Schema.NullOr(Key),
  through: Schema.NullOr(Key)
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export class Plan extends Schema.Class<Plan>("Plan")({
  plan_version: Schema.Literal(planVersion),
  generator: Schema.String,
  id: Schema.UUID.annotations({ description: "Names the plan: GET /export?plan=ID&shard=I" }),
  snapshot: Schema.String.pipe(Schema.pattern(/^[0-9A-F]{1,16}-[0-9A-F]{1,16}-\d{1,10}$/)).annotations({
    description: "The snapshot's identifier (pg_export_snapshot()), imported by every shard's transaction"
  }),
  transaction_snapshot: Schema.String.annotations({
    description:
      "pg_current_snapshot() in it: a shard checks it after the import, so that an identifier given again " +
      "after a server restart is never taken for this snapshot"
  }),
  snapshot_time: Schema.String.annotations({ description: "When the snapshot was taken (RFC 3339, UTC)" }),
  cursor: Schema.String.annotations({
    description: "The snapshot's cursor (contract §11): changed_since for the next increment"
  }),
  expires_at: Schema.String.annotations({
    description: "When the hold ends (RFC 3339, UTC): no shard can be written after it"
  }),
  parameters: Schema.Record({ key: Schema.String, value: Schema.String }).annotations({
    description: "The export's filter and format, as the query parameters of GET /export"
  }),
  jobs: Schema.NonNegativeInt.annotations({ description: "The jobs of the filter (and split), all shards" }),
  shards: Schema.NonEmptyArray(PlanShard)
}) {}

/**
 * A plan whose snapshot is held (`Export.plan`), for as long as the scope it was made in is open.
 * `watch` runs a statement in the holding transaction every few seconds and fails when one fails (its
 * session ended: a restart, a connection cut, a terminated backend, a standby's replay): the plan is then
 * gone. (The holding transaction turns off the session timeouts that would end an idle one.)
 *
 * @since 0.1.0
 */
export interface Held {
  readonly plan: Plan
  readonly watch: Effect.Effect<never, SqlError>
  /**
   * Why the hold may end sooner than asked, for the user to hear: a standby whose replay will end it
   * (`hot_standby_feedback` off: once the primary vacuums rows the snapshot sees, replay cancels the
   * holding session after `max_standby_streaming_delay`).
   */
  readonly warning: Option.Option<string>
}

/**
 * A plan file that is not one: not JSON, not a plan of this version, or its shards out of order.
 *
 * @since 0.1.0
 * @category errors
 */
export class PlanInvalid extends Schema.TaggedError<PlanInvalid>()("PlanInvalid", { detail: Schema.String }) {
  override get message(): string {
    return `not a ground-truth plan: ${this.detail}`
  }
}

/**
 * The plan's snapshot is no longer held: the plan was stopped, its hold ended, or the database was
 * restarted (or is another one). Nothing is written from another snapshot: plan again.
 *
 * @since 0.1.0
 * @category errors
 */
export class PlanGone extends Schema.TaggedError<PlanGone>()("PlanGone", {
  id: Schema.String,
  expiresAt: Schema.String
}) {
  override get message(): string {
    return (
      `plan ${this.id} is no longer held (it was stopped, its hold ended at ${this.expiresAt}, the ` +
      "database restarted, or a standby's replay ended it): make a new plan"
    )
  }
}

/**
 * The plan's encoded form as text: indented JSON, ending in a newline (the file `ground-truth plan`
 * writes, the body `GET /plan` answers).
 *
 * @since 0.1.0
 */
export const text = (encoded: typeof Plan.Encoded): string => `${JSON.stringify(encoded, null, 2)}\n`

/**
 * The plan as a file (`text`).
 *
 * @since 0.1.0
 */
export const encode = (plan: Plan): string => text(Schema.encodeSync(Plan)(plan))

/**
 * How long a plan is to be held, as `ground-truth plan --hold` and `GET /plan?hold=` spell it: seconds,
 * or a whole number of seconds (`90s`), minutes (`30m`), hours (`2h`) or days (`1d`); at least a second.
 *
 * @since 0.1.0
 */
export const parseHold = (given: string): Option.Option<Duration.Duration> => {
  const m = /^(\d{1,7})(s|m|h|d)?$/.exec(given)
  if (m === null) return Option.none()
  const seconds = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? "s") as "s" | "m" | "h" | "d"]
  return seconds >= 1 ? Option.some(Duration.seconds(seconds)) : Option.none()
}

const decodePlan = Schema.decodeUnknownEither(Schema.parseJson(Plan))

/**
 * A plan read back from its JSON text, its shards numbered 0 to N−1 in order.
 *
 * @since 0.1.0
 */
export const decode = (text: string): Either.Either<Plan, PlanInvalid> =>
  Either.flatMap(
    Either.mapLeft(decodePlan(text), (e) => {
      const [first] = ParseResult.ArrayFormatter.formatErrorSync(e)
      const at = first.path.length === 0 ? "" : `${first.path.join(".")}: `
      return new PlanInvalid({ detail: `${at}${first.message}` })
    }),
    (plan) => {
      const misplaced = plan.shards.findIndex((s, i) => s.shard !== i)
      return misplaced === -1
        ? Either.right(plan)
        : Either.left(
            new PlanInvalid({ detail: `shard ${misplaced} is numbered ${plan.shards[misplaced].shard}` })
          )
    }
  )

/**
 * The plan's filter, as its parameters parse (a plan written by hand may name a bad one).
 *
 * @since 0.1.0
 */
export const filter = (plan: Plan): Effect.Effect<Filter.Filter, PlanInvalid> =>
  Effect.mapError(
    Filter.parse(Object.entries(plan.parameters)),
    (e) => new PlanInvalid({ detail: `its parameters: ${e.message}` })
  ).pipe(
    Effect.filterOrFail(
      (f) => Option.isNone(f.changedSince),
      () => new PlanInvalid({ detail: "its parameters name changed_since: a plan cuts a full export" })
    )
  )

/**
 * A shard's range as a worker's bounds.
 *
 * @since 0.1.0
 */
export const bounds = (shard: PlanShard): Extract<Workers.Bounds, { readonly _tag: "Between" }> => {
  const key = (k: Key | null) => (k === null ? null : { createdAt: k.created_at, id: k.id })
  return { _tag: "Between", after: key(shard.after), through: key(shard.through) }
}

/**
 * The most shards an export may be cut into (`--shards`, a plan's): a file each, in one folder.
 *
 * @since 0.1.0
 */
export const MAX_SHARDS = 9999

/**
 * The ends of `count` shards of `total` jobs, as positions in the export's order (1 is the first job):
 * shard s holds the jobs after `ends[s - 1]` (0 for the first) up to `ends[s]`, `ceil((s + 1) * total /
 * count)`; the last ends with the export.
 *
 * @since 0.1.0
 */
export const ends = (count: number, total: number): ReadonlyArray<number> =>
  Array.from({ length: count }, (_, s) => Math.ceil(((s + 1) * total) / count))

/**
 * A new plan of `count` shards of the `total` jobs a snapshot holds for `filter`, each shard's range
 * given by the keys of the jobs at its ends (`keyAt`, asked of positions from 1 to `total`).
 *
 * @since 0.1.0
 */
export const make = (input: {
  readonly snapshot: string
  readonly transactionSnapshot: string
  readonly time: Timestamp.Timestamp
  readonly cursor: string
  readonly filter: Filter.Filter
  readonly count: number
  readonly total: number
  readonly keyAt: (position: number) => Key
  readonly expiresAt: Date
}): Plan => {
  const at = ends(input.count, input.total)
  // With no jobs every end is 0: each shard is the whole snapshot's jobs of the filter, none.
  const key = (position: number) => (position === 0 ? null : input.keyAt(position))
  const shards = at.map(
    (end, s) =>
      new PlanShard({
        shard: s,
        jobs: end - (s === 0 ? 0 : at[s - 1]),
        after: s === 0 ? null : key(at[s - 1]),
        through: s === at.length - 1 ? null : key(end)
      })
  )
  return new Plan({
    plan_version: planVersion,
    generator: Version.generator,
    id: randomUUID(),
    snapshot: input.snapshot,
    transaction_snapshot: input.transactionSnapshot,
    snapshot_time: Timestamp.format(input.time),
    cursor: input.cursor,
    expires_at: input.expiresAt.toISOString(),
    parameters: Object.fromEntries(Filter.parameters(input.filter)),
    jobs: input.total,
    shards: shards as [PlanShard, ...Array<PlanShard>]
  })
}
