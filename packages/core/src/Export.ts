/**
 * The export (contract §5–§9): the corpus for a filter as a stream of canonical JSONL bytes, read from
 * one database snapshot in `created_at, id` order through a cursor, so memory stays flat whatever the
 * corpus size. Each job is replayed and serialized as its rows arrive; a job whose audit trail does not
 * replay fails the stream with the typed error naming it.
 *
 * This module is the service; its parts live in `internal/`: `rows.ts` (a row's columns, decoding and
 * line), `batches.ts` (lines in batches, a dataset's splits), `cursor.ts` (the snapshot's time and
 * cursor, an increment's changed jobs), `observed.ts` (what a running export reports, as values) and
 * `reference.ts` (the in-memory export).
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { Fragment } from "@effect/sql/Statement"
import {
  Chunk,
  Clock,
  type Context,
  Duration,
  Effect,
  Either,
  Layer,
  Option,
  type Scope,
  Stream
} from "effect"
import type { Slot } from "./Correction.js"
import type * as Cursor from "./Cursor.js"
import * as Filter from "./Filter.js"
import { emptyShards, encode, type Part, type Shard, shardLines, splitLines } from "./internal/batches.js"
import type { ByteWriter } from "./internal/byteWriter.js"
import { changedIds, corpusRows, replayed, splitRows, take } from "./internal/cursor.js"
import { linePerJob } from "./internal/formats.js"
import type { Inspector } from "./internal/inspector.js"
import * as Observed from "./internal/observed.js"
import { onWorkers } from "./internal/parallel.js"
import { betweenConditions, filterConditions, splitCondition } from "./internal/query.js"
import { reference } from "./internal/reference.js"
import {
  decodeResult,
  decodeRow,
  type InvalidRow,
  type Row,
  readsTexts,
  rowKey,
  rowWriter,
  sampleColumns,
  writeRow
} from "./internal/rows.js"
import type * as Manifest from "./Manifest.js"
import * as Plan from "./Plan.js"
import * as Replay from "./Replay.js"
import type { Job, Sample } from "./Sample.js"
import * as Snapshot from "./Snapshot.js"
import * as Split from "./Split.js"
import * as Workers from "./Workers.js"

/** One split's bytes of a dataset export: a batch of its lines, and its shard. @since 0.1.0 */
/** One shard's bytes of a sharded export: a batch of its lines. @since 0.1.0 */
export type { Part, Shard } from "./internal/batches.js"
/** The snapshot an export read: when its transaction began, and its cursor. @since 0.1.0 */
export type { Taken } from "./internal/cursor.js"
/** What `withSnapshot`, `withManifest` and `shards` give: the stream, its snapshot and manifest. @since 0.1.0 */
export type { WithManifest, WithShards, WithSnapshot } from "./internal/observed.js"
/**
 * `InvalidRow`: a row the export cannot read, a column that does not hold what the schema of contract §1
 * promises or a value contract §6 cannot write (a BC or infinite time, a multi-dimensional
 * `review_flags`). `Row`: one row of the export query, its timestamps and JSON as text. `decodeRow`
 * reads one into a job; `rowLine` is its canonical line (decode, replay, serialize).
 *
 * @since 0.1.0
 */
export { decodeRow, InvalidRow, type Row, rowLine } from "./internal/rows.js"

/** @since 0.1.0 */
export type ExportError =
  | SqlError
  | Replay.ReplayError
  | InvalidRow
  | Cursor.StaleCursor
  | Cursor.StandbyNotReady
  | Workers.SnapshotGone
  | Workers.WorkerFailed

/**
 * A reading of the samples that names a job it cannot read (a value §6 cannot write, an audit trail that
 * does not replay) instead of failing: what the coverage report shows in place of a section, which still
 * charts the rest; the database's own failures still fail.
 *
 * @since 0.1.0
 */
export const readable = <A, R>(
  self: Effect.Effect<A, ExportError, R>
): Effect.Effect<Either.Either<A, string>, Exclude<ExportError, InvalidRow | Replay.ReplayError>, R> =>
  self.pipe(
    Effect.map(Either.right),
    Effect.catchTags({
      InvalidRow: (e) => Effect.succeed(Either.left(e.message)),
      AuditTrailMismatch: (e) => Effect.succeed(Either.left(e.message)),
      InvalidCorrectionEvent: (e) => Effect.succeed(Either.left(e.message))
    })
  )

/**
 * What `inspect` runs in one snapshot, defined below this module (`internal/inspector.ts`) so that the
 * in-memory export shares it without importing this one.
 *
 * @since 0.1.0
 */
export type { Inspector } from "./internal/inspector.js"

/** How often a held plan's transaction is looked at (`Plan.Held`). */
const WATCH_EVERY = Duration.seconds(10)

/** Rows per FETCH: about 2 MB of samples, few enough round trips to keep the database busy. */
const FETCH_SIZE = 1000

/** Rows of the first FETCH: fewer, so that the first bytes go out after milliseconds, not a batch. */
const FIRST_FETCH_SIZE = 50

/** A row of the export query as its sample: decoded, its audit trail replayed. */
const replayRow = (row: Row) => Effect.flatMap(decodeRow(row), Replay.sample)

/** The current results of the jobs named, read in the caller's snapshot. */
const resultsOf = (sql: SqlClient.SqlClient, ids: ReadonlyArray<string>) =>
  ids.length === 0
    ? Effect.succeed(new Map<string, Slot>())
    : Effect.flatMap(
        sql<{ readonly id: string; readonly result: string | null }>`
          SELECT id::text AS id, result::text AS result FROM jobs WHERE id IN ${sql.in(ids)}`,
        (found) =>
          Effect.map(
            Effect.forEach(found, (row) =>
              Effect.map(decodeResult(row.id, row.result), (value) => [row.id, value] as const)
            ),
            (entries) => new Map(entries)
          )
      )

/**
 * The service's methods, the same for every source: a corpus that reports to an observer when given
 * one, and a dataset.
 */
const methods = <E>(
  corpus: (filter: Filter.Filter, observer?: Observed.Observer) => Stream.Stream<Uint8Array, E>,
  dataset: (
    filter: Filter.Filter,
    splitting: Split.Splitting,
    shards?: number
  ) => Effect.Effect<{
    readonly stream: Stream.Stream<Part, E>
    readonly manifest: Effect.Effect<Manifest.DatasetManifest>
  }>,
  samples: (filter: Filter.Filter) => Stream.Stream<Sample, E>,
  shards: (filter: Filter.Filter, count: number, observer: Observed.Observer) => Stream.Stream<Shard, E>,
  plan: (
    filter: Filter.Filter,
    count: number,
    hold: Duration.Duration
  ) => Effect.Effect<Plan.Held, E, Scope.Scope>,
  shard: (plan: Plan.Plan, index: number) => Stream.Stream<Uint8Array, E | Plan.PlanGone | Plan.PlanInvalid>,
  inspect: <S, A>(filter: Filter.Filter, inspector: Inspector<S, A, E>) => Effect.Effect<A, E>
) => ({
  stream: (filter: Filter.Filter): Stream.Stream<Uint8Array, E> => corpus(filter),
  withSnapshot: (filter: Filter.Filter): Effect.Effect<Observed.WithSnapshot<E>> =>
    Observed.withSnapshot((observer) => corpus(filter, observer)),
  withManifest: (filter: Filter.Filter): Effect.Effect<Observed.WithManifest<E>> =>
    Observed.withManifest(filter, (observer) => corpus(filter, observer)),
  dataset,
  samples,
  shards: (filter: Filter.Filter, count: number): Effect.Effect<Observed.WithShards<E>> =>
    Option.isSome(filter.changedSince)
      ? Effect.dieMessage("a sharded export is a full export: its filter has no changed_since")
      : Observed.withShards(filter, count, (observer) => shards(filter, count, observer)),
  plan,
  shard,
  inspect
})

/**
 * The query a full export reads through its cursor (not an increment's): its rows, in order, for the
 * filter's jobs (a split is chosen afterwards, by id). Public so that `pnpm bench` can stream it to a
 * client that discards it: the feed's own cost, the ceiling of every export, printed beside COPY's.
 *
 * @since 0.1.0
 */
export const feedQuery = (
  sql: SqlClient.SqlClient,
  filter: Filter.Filter,
  more: ReadonlyArray<Fragment> = [],
  texts = false
) => sql`
  SELECT j.id::text AS id, ${sampleColumns(sql, texts)}
  FROM jobs j
  WHERE ${sql.and([...filterConditions(sql, filter), ...more])}
  ORDER BY j.created_at, j.id`

/**
 * The export service. With `filter.changedSince`, the corpus is the increment of contract §11.
 *
 * - `stream(filter)`: the corpus as UTF-8 bytes, one buffer per batch of samples.
 * - `withSnapshot(filter)`: the same stream and `taken`, its snapshot (time and cursor) as an effect:
 *   `Some` once the first bytes (or the end) have come.
 *   `const { stream, taken } = yield* exporter.withSnapshot(filter)`.
 * - `withManifest(filter)`: the same stream, `taken`, and `manifest`, run once the stream has ended:
 *   what the stream was (rows, bytes, SHA-256), and of an increment what it removes.
 * - `dataset(filter, splitting, shards?)`: the corpus cut into its train, validation and test splits, from
 *   one snapshot, and its manifest; with `shards`, each split cut into that many shards of as many of its
 *   jobs (contract §15), each part naming its shard, every shard of a split with lines getting a part.
 * - `shards(filter, count)`: a full export cut into `count` files of as many jobs (contract §15), from one
 *   snapshot: the stream of each shard's batches, in order (concatenated they are `stream(filter)`'s
 *   bytes), and the manifest of the whole with a file per shard.
 * - `samples(filter)`: the jobs the filter selects (the split included), replayed, in export order, from
 *   one snapshot: what evaluation scores against (`Eval`). Every job, whatever the format writes.
 * - `inspect(filter, inspector)`: those samples folded by `inspector`, which then reads the results of
 *   the jobs it names, all in one snapshot: a report that quotes a few jobs (`Lint`).
 *
 * Each is a description: the snapshot is taken when the stream runs, and `taken` and `manifest` read
 * what its run reported.
 *
 * @since 0.1.0
 * @category services
 */
export class Export extends Effect.Service<Export>()("@ground-truth/core/Export", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const snapshot = yield* Snapshot.make
    const workers = Option.filter(yield* Effect.serviceOption(Workers.Workers), (w) => w.size > 1)
    /** The snapshot's time and cursor, when someone asks; an increment's check that the database can
     * answer for its cursor. */
    const taken = (
      filter: Filter.Filter,
      replayedBefore: bigint | undefined,
      observer: Observed.Observer | undefined
    ): Effect.Effect<void, SqlError | InvalidRow | Cursor.StaleCursor | Cursor.StandbyNotReady> =>
      observer === undefined && Option.isNone(filter.changedSince)
        ? Effect.void
        : Effect.map(take(sql, filter.changedSince, replayedBefore), ({ time, cursor }) =>
            observer?.taken({ time, cursor })
          )
    /** Of an increment in a format with a line per job, what the chain must add up to, in the same snapshot. */
    const counted = (
      filter: Filter.Filter,
      observer: Observed.Observer | undefined
    ): Stream.Stream<never, SqlError> => {
      const count = observer?.counted
      return count === undefined || Option.isNone(filter.changedSince) || !linePerJob(filter.format)
        ? Stream.empty
        : Stream.execute(Effect.map(corpusRows(sql, filter), count))
    }
    /**
     * A stream in one snapshot; an increment first reads, before its snapshot begins, what a standby had
     * replayed (`replayed`).
     */
    const inSnapshot = <A, E>(
      filter: Filter.Filter,
      body: (replayedBefore: bigint | undefined) => Stream.Stream<A, E, SqlClient.TransactionConnection>
    ): Stream.Stream<A, E | SqlError> =>
      Option.isNone(filter.changedSince)
        ? snapshot.stream(body(undefined))
        : Stream.unwrap(Effect.map(replayed(sql), (before) => snapshot.stream(body(before))))
    /** The rows (of an increment: also the changed jobs that no longer match, `matched` false). */
    const rows = (
      filter: Filter.Filter,
      replayedBefore: bigint | undefined,
      observer?: Observed.Observer,
      range: ReadonlyArray<Fragment> = []
    ): Stream.Stream<Row, SqlError | InvalidRow | Cursor.StaleCursor | Cursor.StandbyNotReady> => {
      const conditions = filterConditions(sql, filter)
      // A server-side cursor, declared in the snapshot transaction and fetched in batches: memory stays
      // bounded, the planner picks a fast-start plan (the (created_at, id) index) for a cursor, and a
      // failed FETCH is an ordinary statement error. (pg-cursor's close() never returns after an
      // error, which would hang a failed export.)
      const declare = Effect.flatMap(readsTexts(sql, Filter.output(filter)), (texts) =>
        Option.isSome(filter.changedSince)
          ? // The changed jobs, each with its row when it still matches: those that do not come last. The
            // row is looked up by id (`LIMIT 1` keeps the planner from turning the lookups into a hash
            // join, which reads the whole table again: 3.3 s instead of 0.9 s at 1M jobs).
            sql`
              DECLARE export_samples NO SCROLL CURSOR FOR
              WITH changed (id) AS (${changedIds(sql, filter.changedSince.value, texts)})
              SELECT ch.id::text AS id, j.id IS NOT NULL AS matched, ${sampleColumns(sql, texts)}
              FROM changed ch
              LEFT JOIN LATERAL (SELECT * FROM jobs j WHERE j.id = ch.id AND ${sql.and(conditions)} LIMIT 1) j ON true
              ORDER BY j.created_at, j.id, ch.id`
          : sql`DECLARE export_samples NO SCROLL CURSOR FOR ${feedQuery(sql, filter, range, texts)}`
      )
      // A statement the consumer no longer waits for is cancelled, or runs to its end (see `Snapshot`);
      // the stream stops right after it and the snapshot rolls back.
      const fetch = (size: number) =>
        sql<Row>`FETCH ${sql.literal(String(size))} FROM export_samples`.pipe(
          Effect.mapError(Option.some),
          Effect.flatMap((batch) =>
            batch.length === 0 ? Effect.fail(Option.none()) : Effect.succeed(Chunk.unsafeFromArray(batch))
          )
        )
      return Stream.unwrap(
        Effect.map(Effect.zipRight(taken(filter, replayedBefore, observer), declare), () => {
          let size = FIRST_FETCH_SIZE
          const fetched = Stream.repeatEffectChunkOption(
            Effect.suspend(() => {
              const n = size
              size = FETCH_SIZE
              return fetch(n)
            })
          )
          return Stream.concat(fetched, counted(filter, observer))
        })
      )
    }
    /**
     * Of the filter's jobs, those of its split. Of an increment split by letter, a changed job now in
     * another split stays, as one that no longer matches: a corrected number may have moved it out of
     * this one (`Split.movable`), so the increment names it as removed.
     */
    const ofSplit = <E>(filter: Filter.Filter, all: Stream.Stream<Row, E>) =>
      Option.match(filter.split, {
        onNone: () => all,
        onSome: (split) => {
          const inSplit = (row: Row) => Split.contains(split, rowKey(split.by, row))
          return Option.isSome(filter.changedSince) && Split.movable(split)
            ? Stream.map(all, (row) =>
                row.matched === false || inSplit(row) ? row : { ...row, matched: false }
              )
            : Stream.filter(all, inSplit)
        }
      })
    /**
     * The rows in one snapshot (of the filter's split, when `split`), the next FETCH running while a
     * batch is replayed and serialized: the database and the main thread work at the same time instead
     * of taking turns. A job's split depends on its row alone (its id, or its number), so it is decided
     * here rather than in SQL.
     */
    const snapshotRows = (filter: Filter.Filter, split: boolean, observer?: Observed.Observer) =>
      inSnapshot(filter, (replayedBefore) => {
        const all = rows(filter, replayedBefore, observer)
        return split ? ofSplit(filter, all) : all
      }).pipe(Stream.bufferChunks({ capacity: 1 }))
    /**
     * The ranges' results of an export on workers (see `Workers`), in order, from one snapshot that each
     * worker imported; of a dataset, a part per split in each.
     */
    const ranged = (
      w: Context.Tag.Service<typeof Workers.Workers>,
      filter: Filter.Filter,
      dataset: Split.Splitting | undefined,
      observer: Observed.Observer | undefined
    ) =>
      inSnapshot(filter, (replayedBefore) =>
        Stream.unwrap(
          Effect.as(
            taken(filter, replayedBefore, observer),
            Stream.concat(
              Stream.tap(onWorkers(sql, w, filter, dataset, observer), ({ result }) =>
                Effect.sync(() => {
                  for (const id of result.removed) observer?.removed(id)
                })
              ),
              counted(filter, observer)
            )
          )
        )
      )
    /**
     * A plan of `count` shards (contract §15) in a snapshot held until the scope closes: exported, its
     * time and cursor taken, its jobs counted and the keys at the shards' ends read, all inside it.
     */
    const plan = (
      filter: Filter.Filter,
      count: number,
      hold: Duration.Duration
    ): Effect.Effect<Plan.Held, ExportError, Scope.Scope> =>
      Option.isSome(filter.changedSince)
        ? Effect.dieMessage("a plan cuts a full export: its filter has no changed_since")
        : snapshot.held(
            Effect.gen(function* () {
              const [exported] = yield* sql<{
                readonly snapshot: string
                readonly transaction_snapshot: string
              }>`SELECT pg_export_snapshot() AS snapshot, pg_current_snapshot()::text AS transaction_snapshot`
              const { time, cursor } = yield* take(sql, Option.none(), undefined)
              const total = yield* corpusRows(sql, filter)
              const inner = Plan.ends(count, total).filter((end) => end > 0)
              const conditions = filterConditions(sql, filter)
              if (Option.isSome(filter.split)) conditions.push(splitCondition(sql, filter.split.value))
              const keys = new Map<number, Plan.Key>()
              if (inner.length > 0) {
                const found = yield* sql<{
                  readonly n: string
                  readonly created_at: string
                  readonly id: string
                }>`
                  SELECT s.n::text AS n, s.created_at::text AS created_at, s.id::text AS id FROM (
                    SELECT j.created_at, j.id, row_number() OVER (ORDER BY j.created_at, j.id) AS n
                    FROM jobs j WHERE ${sql.and(conditions)}
                  ) s WHERE s.n = ANY(${inner.map(String)}::bigint[])`
                for (const row of found) keys.set(Number(row.n), { created_at: row.created_at, id: row.id })
              }
              const now = yield* Clock.currentTimeMillis
              // Counted in the same snapshot: every end is there.
              const missing = inner.find((end) => !keys.has(end))
              if (missing !== undefined) {
                return yield* Effect.dieMessage(
                  `no job at position ${missing} of ${total} in the plan's snapshot`
                )
              }
              const plan = Plan.make({
                snapshot: exported.snapshot,
                transactionSnapshot: exported.transaction_snapshot,
                time,
                cursor,
                filter,
                count,
                total,
                keyAt: (position) => keys.get(position) as Plan.Key,
                expiresAt: new Date(now + Duration.toMillis(hold))
              })
              const transaction = yield* SqlClient.TransactionConnection
              const watch = sql`SELECT 1`.pipe(
                Effect.provideService(SqlClient.TransactionConnection, transaction),
                Effect.zipRight(Effect.sleep(WATCH_EVERY)),
                Effect.forever
              )
              // The hold is idle between the watch's statements: no session timeout may end it.
              yield* sql`SELECT set_config('idle_in_transaction_session_timeout', '0', true),
                CASE WHEN current_setting('server_version_num')::int >= 170000
                  THEN set_config('transaction_timeout', '0', true) END`
              const [replica] = yield* sql<{
                readonly standby: boolean
                readonly feedback: string
                readonly delay: string
              }>`SELECT pg_is_in_recovery() AS standby, current_setting('hot_standby_feedback') AS feedback,
                  current_setting('max_standby_streaming_delay') AS delay`
              const warning =
                replica.standby && replica.feedback !== "on"
                  ? Option.some(
                      "the plan is held on a standby with hot_standby_feedback off: once the primary vacuums rows " +
                        `its snapshot sees, replay ends the plan within max_standby_streaming_delay (${replica.delay}); ` +
                        "set hot_standby_feedback = on on the standby for plans that last"
                    )
                  : Option.none()
              return { plan, watch, warning }
            })
          )
    /**
     * Shard `index` of a plan, in a transaction that imported its snapshot (checked to be that snapshot,
     * not one that got the same identifier after a restart): the lines a full export holds in its range.
     */
    const shard = (
      held: Plan.Plan,
      index: number
    ): Stream.Stream<Uint8Array, ExportError | Plan.PlanGone | Plan.PlanInvalid> => {
      const gone = new Plan.PlanGone({ id: held.id, expiresAt: held.expires_at })
      const range = held.shards[index]
      if (range === undefined) return Stream.dieMessage(`plan ${held.id} has no shard ${index}`)
      return Stream.unwrap(
        Effect.map(Plan.filter(held), (filter) => {
          const body = Stream.unwrap(
            Effect.map(
              sql<{ readonly current: string }>`SELECT pg_current_snapshot()::text AS current`,
              ([{ current }]): Stream.Stream<Row, ExportError | Plan.PlanGone> =>
                current === held.transaction_snapshot
                  ? ofSplit(
                      filter,
                      rows(filter, undefined, undefined, betweenConditions(sql, Plan.bounds(range)))
                    )
                  : Stream.fail(gone)
            )
          )
          return encode(
            snapshot.imported(held.snapshot, body).pipe(
              Stream.catchTag("SnapshotGone", () => Stream.fail(gone)),
              Stream.bufferChunks({ capacity: 1 })
            ),
            rowWriter(Filter.output(filter))
          )
        })
      )
    }
    /**
     * A stream in one snapshot whose jobs are counted first (`count`, in the snapshot): a sharded export,
     * whose cut depends on how many jobs there are.
     */
    const countedFirst = <T, A>(
      filter: Filter.Filter,
      observer: Observed.Observer,
      count: Effect.Effect<T, SqlError>,
      body: (counts: T) => Stream.Stream<A, ExportError, SqlClient.TransactionConnection>
    ): Stream.Stream<A, ExportError> =>
      inSnapshot(filter, () =>
        Stream.unwrap(Effect.map(Effect.zipRight(taken(filter, undefined, observer), count), body))
      )
    /**
     * A full export cut into `count` shards of as many jobs (of the filter and its split) within one:
     * counted in the snapshot, then each row (or each range, on workers: no range crosses a shard's end)
     * goes to the shard its position gives.
     */
    const sharded = (
      filter: Filter.Filter,
      count: number,
      observer: Observed.Observer
    ): Stream.Stream<Shard, ExportError> =>
      countedFirst(filter, observer, corpusRows(sql, filter), (total): Stream.Stream<Shard, ExportError> => {
        if (Option.isSome(workers)) {
          const ranges = onWorkers(sql, workers.value, filter, undefined, undefined, { count, total })
          return Stream.concat(
            emptyShards(count),
            Stream.mapConcat(ranges, ({ shard, result }) =>
              result.parts.map((part) => ({ shard: shard(null), bytes: part.bytes }))
            )
          )
        }
        return shardLines(
          ofSplit(filter, rows(filter, undefined)).pipe(Stream.bufferChunks({ capacity: 1 })),
          count,
          total,
          rowWriter(Filter.output(filter))
        )
      })
    /** A range's parts of a dataset, each with its split and shard. */
    const datasetParts = ({
      shard,
      result
    }: {
      readonly shard: (split: Split.Name | null) => number
      readonly result: Workers.RangeResult
    }) =>
      result.parts.flatMap((part) =>
        part.split === null ? [] : [{ split: part.split, shard: shard(part.split), bytes: part.bytes }]
      )
    /**
     * A dataset, each split cut into `count` shards of as many of its jobs: the splits counted in the
     * snapshot, then each row goes to its split's shard (on workers, no range crosses a shard's end of any
     * split, each range's parts to the shard of their split).
     */
    const datasetSharded = (
      filter: Filter.Filter,
      splitting: Split.Splitting,
      count: number,
      observer: Observed.Observer
    ): Stream.Stream<Part, ExportError> =>
      countedFirst(
        filter,
        observer,
        splitRows(sql, filter, splitting),
        (totals): Stream.Stream<Part, ExportError> =>
          Option.isSome(workers)
            ? Stream.mapConcat(
                onWorkers(sql, workers.value, filter, splitting, undefined, { count, totals }),
                datasetParts
              )
            : splitLines(
                rows(filter, undefined).pipe(Stream.bufferChunks({ capacity: 1 })),
                splitting,
                (row: Row) => rowKey(splitting.by, row),
                rowWriter(Filter.output(filter)),
                { count, totals }
              )
      )
    const corpus = (
      filter: Filter.Filter,
      observer?: Observed.Observer
    ): Stream.Stream<Uint8Array, ExportError> => {
      if (Option.isSome(workers)) {
        return Stream.mapConcat(ranged(workers.value, filter, undefined, observer), (result) =>
          result.result.parts.map((part) => part.bytes)
        )
      }
      const increment = Option.isSome(filter.changedSince)
      // An increment removes a changed job without a line: it no longer matches, or (preference) its
      // results became equal.
      const output = Filter.output(filter)
      const write = increment
        ? (w: ByteWriter, row: Row) => {
            if (row.matched === false) {
              observer?.removed(row.id)
              return undefined
            }
            const before = w.pos
            const failure = writeRow(w, row, output)
            if (failure === undefined && w.pos === before) observer?.removed(row.id)
            return failure
          }
        : rowWriter(output)
      return encode(snapshotRows(filter, true, observer), write)
    }
    return methods<ExportError>(
      corpus,
      (filter, splitting, shards) =>
        Observed.splitInto(filter, splitting, shards, (observer) =>
          shards !== undefined
            ? datasetSharded(filter, splitting, shards, observer)
            : Option.isSome(workers)
              ? Stream.mapConcat(ranged(workers.value, filter, splitting, observer), datasetParts)
              : splitLines(
                  snapshotRows(filter, false, observer),
                  splitting,
                  (row: Row) => rowKey(splitting.by, row),
                  rowWriter(Filter.output(filter))
                )
        ),
      (filter) => Stream.mapEffect(snapshotRows(filter, true), replayRow),
      sharded,
      plan,
      shard,
      (filter, inspector) =>
        Effect.map(
          Stream.runCollect(
            inSnapshot(filter, (replayedBefore) =>
              Stream.fromEffect(
                Effect.flatMap(
                  Stream.runFold(
                    Stream.mapEffect(ofSplit(filter, rows(filter, replayedBefore)), replayRow),
                    inspector.initial(),
                    inspector.step
                  ),
                  (state) => inspector.finish(state, (ids) => resultsOf(sql, ids))
                )
              )
            )
          ),
          Chunk.unsafeHead
        )
    )
  })
}) {
  /**
   * An in-memory export over the given jobs: the reference meaning of the contract, for tests and for
   * programs that have no database.
   */
  static readonly layerTest = (jobs: ReadonlyArray<Job>): Layer.Layer<Export> => {
    const { corpus, dataset, samples, shards, plan, shard, inspect } = reference(jobs)
    return Layer.succeed(
      Export,
      Export.make(methods<ExportError>(corpus, dataset, samples, shards, plan, shard, inspect))
    )
  }
}
