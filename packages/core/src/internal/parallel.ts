/**
 * The main side of an export on workers (see `Workers`): in the export's snapshot, it exports the
 * snapshot, cuts the export's order into ranges as it reads it (a cursor over every `rangeRows`-th job
 * of a full export, or over an increment's changed jobs), hands each range to an idle worker, and gives
 * the ranges' results back in order. Two ranges per worker are in flight, so that a worker has the next
 * one while the connection reads the first, and what waits to be written stays a few ranges.
 */
import type { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Chunk, type Context, Effect, Option, Queue, Stream } from "effect"
import type * as Cursor from "../Cursor.js"
import * as Filter from "../Filter.js"
import * as Plan from "../Plan.js"
import * as Split from "../Split.js"
import * as Workers from "../Workers.js"
import { type SplitSharding, shardOf, splitShard } from "./batches.js"
import { changedIds } from "./cursor.js"
import type { Observer } from "./observed.js"
import { filterConditions, splitCondition, splitIndex } from "./query.js"
import { readsTexts } from "./rows.js"

/** Boundaries read per FETCH of the cut. */
const CUTS_PER_FETCH = 64

/** Requests a worker holds at once: one read, one queued behind it. */
const IN_FLIGHT = 2

/**
 * A range, and the shard its lines go to: of the corpus (`split` null), or of each split of a dataset (0
 * when the export is not sharded).
 */
interface Cut {
  readonly bounds: Workers.Bounds
  readonly shard: (split: Split.Name | null) => number
}

/**
 * How a sharded export is cut: `count` shards of the `total` jobs (of the filter and its split), each
 * job's shard given by its position (`shardOf`).
 */
export interface Sharding {
  readonly count: number
  readonly total: number
}

/** A range's position in each split of a dataset: the jobs of the split before it. */
type Positions = Readonly<Record<Split.Name, number>>

/**
 * The ranges of a full export: the jobs after each `every`-th of the filter's jobs, in order, cut as the
 * cursor reaches them (the first range goes out after `every` rows, not after the whole scan). Sharded,
 * the jobs are those of the split too, and a range also ends where a shard does; of a sharded dataset
 * (`dataset` and `SplitSharding`), where a shard of any split does, each split's jobs counted as the
 * cursor passes them (a running count a split), so that a range knows the shard of each of its splits.
 */
const cuts = (
  sql: SqlClient.SqlClient,
  filter: Filter.Filter,
  every: number,
  dataset: Split.Splitting | undefined,
  sharding: Sharding | SplitSharding
): Stream.Stream<Cut, SqlError> => {
  const sharded = sharding.count > 1
  const conditions = filterConditions(sql, filter)
  // The last position of each shard but the last.
  const ends = (total: number) => Plan.ends(sharding.count, total).slice(0, -1).map(String)
  const bySplit = sharded && dataset !== undefined && "totals" in sharding ? sharding : undefined
  if (sharded && bySplit === undefined && Option.isSome(filter.split)) {
    conditions.push(splitCondition(sql, filter.split.value))
  }
  const step = sql.literal(String(every))
  const declare =
    bySplit === undefined || dataset === undefined
      ? sql`
    DECLARE export_cuts NO SCROLL CURSOR FOR
    SELECT s.created_at::text AS created_at, s.id::text AS id, s.n::text AS n FROM (
      SELECT j.created_at, j.id, row_number() OVER (ORDER BY j.created_at, j.id) AS n
      FROM jobs j WHERE ${sql.and(conditions)}
    ) s WHERE s.n % ${step} = 0${sharded && "total" in sharding ? sql` OR s.n = ANY(${ends(sharding.total)}::bigint[])` : sql``}`
      : sql`
    DECLARE export_cuts NO SCROLL CURSOR FOR
    SELECT s.created_at::text AS created_at, s.id::text AS id, s.n::text AS n,
      s.train::text AS train, s.validation::text AS validation, s.test::text AS test FROM (
      SELECT t.created_at, t.id, t.split, row_number() OVER w AS n, count(*) FILTER (WHERE t.split = 0) OVER w AS train,
        count(*) FILTER (WHERE t.split = 1) OVER w AS validation, count(*) FILTER (WHERE t.split = 2) OVER w AS test
      FROM (SELECT j.created_at, j.id, ${splitIndex(sql, dataset)} AS split FROM jobs j WHERE ${sql.and(conditions)}) t
      WINDOW w AS (ORDER BY t.created_at, t.id)
    ) s WHERE s.n % ${step} = 0
      OR (s.split = 0 AND s.train = ANY(${ends(bySplit.totals.train)}::bigint[]))
      OR (s.split = 1 AND s.validation = ANY(${ends(bySplit.totals.validation)}::bigint[]))
      OR (s.split = 2 AND s.test = ANY(${ends(bySplit.totals.test)}::bigint[]))`
  const fetch = sql<{
    readonly created_at: string
    readonly id: string
    readonly n: string
    readonly train?: string
    readonly validation?: string
    readonly test?: string
  }>`FETCH ${sql.literal(String(CUTS_PER_FETCH))} FROM export_cuts`
  // The shards of a range that starts at `position` of the export (at `positions` of each split).
  const shardsAt =
    (position: number, positions: Positions) =>
    (split: Split.Name | null): number =>
      split !== null
        ? splitShard(bySplit, split, positions[split])
        : sharded && "total" in sharding
          ? shardOf(position, sharding.count, sharding.total)
          : 0
  return Stream.unwrap(
    Effect.as(
      declare,
      Stream.suspend(() => {
        let after: typeof Workers.Key.Type | null = null
        let last = 0
        let positions: Positions = { train: 0, validation: 0, test: 0 }
        let done = false
        return Stream.repeatEffectChunkOption(
          Effect.suspend(() => {
            if (done) return Effect.fail(Option.none())
            return Effect.flatMap(Effect.mapError(fetch, Option.some), (rows) => {
              const out: Array<Cut> = []
              for (const row of rows) {
                // The window's order is the output's; a plan that gave them otherwise would cut wrong.
                const n = Number(row.n)
                if (n <= last) return Effect.dieMessage(`export cut ${n} came after ${last}`)
                const through = { createdAt: row.created_at, id: row.id }
                out.push({ bounds: { _tag: "Between", after, through }, shard: shardsAt(last, positions) })
                after = through
                last = n
                positions = {
                  train: Number(row.train ?? 0),
                  validation: Number(row.validation ?? 0),
                  test: Number(row.test ?? 0)
                }
              }
              if (rows.length < CUTS_PER_FETCH) {
                done = true
                out.push({
                  bounds: { _tag: "Between", after, through: null },
                  shard: shardsAt(last, positions)
                })
              }
              return Effect.succeed(Chunk.unsafeFromArray(out))
            })
          })
        )
      })
    )
  )
}

/**
 * The ranges of an increment: its changed jobs that still match, `every` at a time, in the export's
 * order; those that no longer match (they come last) are told to the observer as removed.
 */
const changes = (
  sql: SqlClient.SqlClient,
  filter: Filter.Filter,
  since: Cursor.Cursor,
  every: number,
  observer: Observer | undefined,
  texts: boolean
): Stream.Stream<Cut, SqlError> => {
  const declare = sql`
    DECLARE export_changes NO SCROLL CURSOR FOR
    WITH changed (id) AS (${changedIds(sql, since, texts)})
    SELECT ch.id::text AS id, j.id IS NOT NULL AS matched
    FROM changed ch
    LEFT JOIN LATERAL (SELECT j.id, j.created_at FROM jobs j WHERE j.id = ch.id AND ${sql.and(filterConditions(sql, filter))} LIMIT 1) j ON true
    ORDER BY j.created_at, j.id, ch.id`
  const fetch = sql<{
    readonly id: string
    readonly matched: boolean
  }>`FETCH ${sql.literal(String(every))} FROM export_changes`
  const removable = (id: string) => Option.isNone(filter.split) || Split.mayHaveHeld(filter.split.value, id)
  return Stream.unwrap(
    Effect.as(
      declare,
      Stream.repeatEffectChunkOption(
        Effect.flatMap(Effect.mapError(fetch, Option.some), (rows) => {
          if (rows.length === 0) return Effect.fail(Option.none())
          const ids: Array<string> = []
          for (const row of rows) {
            if (row.matched) ids.push(row.id)
            else if (removable(row.id)) observer?.removed(row.id)
          }
          return Effect.succeed(
            ids.length === 0
              ? Chunk.empty<Cut>()
              : Chunk.of<Cut>({ bounds: { _tag: "Ids", ids }, shard: () => 0 })
          )
        })
      )
    )
  )
}

/**
 * The results of the export's ranges, in order, each with its shard, read by the workers from the
 * current transaction's snapshot (which must have begun: `taken` runs first). Of a dataset (`dataset`),
 * each result holds a part per split. Sharded (`sharding`, a full export), no range crosses a shard's end
 * (of a dataset, `SplitSharding`: a shard's end of any split); `shard` gives the shard of each part.
 */
export const onWorkers = (
  sql: SqlClient.SqlClient,
  workers: Context.Tag.Service<typeof Workers.Workers>,
  filter: Filter.Filter,
  dataset: Split.Splitting | undefined,
  observer: Observer | undefined,
  sharding: Sharding | SplitSharding = { count: 1, total: 0 }
): Stream.Stream<
  { readonly shard: (split: Split.Name | null) => number; readonly result: Workers.RangeResult },
  SqlError | Workers.RangeError | Workers.SnapshotGone | Workers.WorkerFailed
> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const [{ snapshot }] = yield* sql<{
        readonly snapshot: string
      }>`SELECT pg_export_snapshot() AS snapshot`
      const readers = yield* workers.start(snapshot)
      // Decided once, in the snapshot the workers imported: they read the texts exactly when it would.
      const texts = yield* readsTexts(sql, Filter.output(filter))
      const idle = yield* Queue.unbounded<Workers.Reader>()
      for (let i = 0; i < IN_FLIGHT; i++) yield* Queue.offerAll(idle, readers)
      const parameters = Filter.parameters(filter)
      const read = ({ bounds, shard }: Cut) =>
        Effect.acquireUseRelease(
          Queue.take(idle),
          (reader) =>
            Effect.map(
              reader(new Workers.Range({ parameters, dataset: dataset ?? null, bounds, texts })),
              (result) => ({
                shard,
                result
              })
            ),
          (reader) => Queue.offer(idle, reader)
        )
      const ranges = Option.match(filter.changedSince, {
        onNone: () => cuts(sql, filter, workers.rangeRows, dataset, sharding),
        onSome: (since) => changes(sql, filter, since, workers.rangeRows, observer, texts)
      })
      // A range's failure is told when its turn comes: the export fails on the first range in its order
      // that fails, naming the job a single reader would have stopped at, whichever worker failed first.
      return Stream.mapEffect(ranges, (cut) => Effect.either(read(cut)), {
        concurrency: readers.length * IN_FLIGHT
      }).pipe(Stream.mapEffect((result) => result))
    })
  )
