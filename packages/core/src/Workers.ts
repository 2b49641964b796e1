/**
 * One snapshot, many workers (contract §15): an export cut into ranges of its order, each range read and
 * written by a worker on a connection of its own that imported the export's snapshot
 * (`pg_export_snapshot()` / `SET TRANSACTION SNAPSHOT`, as `pg_dump -j` does), the ranges' bytes put
 * back in the export's order.
 *
 * - `Workers`: the service a front end provides to export with more than one worker. The database layer
 *   implements it (threads, each with its own connection); without it an export reads on its own
 *   connection, as it always did.
 * - `Open` and `Range`: what a worker is asked, as schemas, since the requests cross a thread: import a
 *   snapshot, then read ranges of it. `imported` and `range` are what a worker does with them, given a
 *   `SqlClient`; the worker's entry point (in the database package) only wires them to its connection.
 *
 * @since 0.1.0
 */
import * as Transferable from "@effect/platform/Transferable"
import * as SqlClient from "@effect/sql/SqlClient"
import type { Connection } from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import { Context, Effect, Option, Schema, type Scope } from "effect"
import * as Filter from "./Filter.js"
import { ByteWriter } from "./internal/byteWriter.js"
import { betweenConditions, filterConditions } from "./internal/query.js"
import { InvalidRow, type Row, rowKey, sampleColumns, writeRow } from "./internal/rows.js"
import { importSnapshot, readOnly } from "./internal/transaction.js"
import * as Replay from "./Replay.js"
import * as Split from "./Split.js"

/**
 * A worker's statement failed: the database's error, as it crosses the thread (`sqlError` rebuilds it,
 * so that it is told and classified as any other).
 *
 * @since 0.1.0
 * @category errors
 */
export class SqlFailed extends Schema.TaggedError<SqlFailed>()("SqlFailed", {
  message: Schema.String,
  cause: Schema.String,
  code: Schema.NullOr(Schema.String)
}) {}

/** @since 0.1.0 */
export const sqlFailed = (e: SqlError): SqlFailed => {
  const cause = e.cause as { readonly message?: unknown; readonly code?: unknown } | undefined
  return new SqlFailed({
    message: e.message,
    cause: typeof cause?.message === "string" ? cause.message : "",
    code: typeof cause?.code === "string" ? cause.code : null
  })
}

/** The database's error a worker met, as the `SqlError` it was. @since 0.1.0 */
export const sqlError = (e: SqlFailed): SqlError =>
  new SqlError({
    message: e.message,
    cause:
      e.cause === "" ? undefined : Object.assign(new Error(e.cause), e.code === null ? {} : { code: e.code })
  })

/**
 * The snapshot a worker was to import is no longer held: the transaction that exported it has ended
 * (its export stopped, or its plan was stopped or expired). Nothing is read from another snapshot.
 *
 * @since 0.1.0
 * @category errors
 */
export class SnapshotGone extends Schema.TaggedError<SnapshotGone>()("SnapshotGone", {
  snapshot: Schema.String
}) {
  override get message(): string {
    return `the snapshot ${this.snapshot} is no longer held by the session that exported it`
  }
}

/**
 * A worker stopped before it answered (it crashed, or could not start): the export fails with it.
 *
 * @since 0.1.0
 * @category errors
 */
export class WorkerFailed extends Schema.TaggedError<WorkerFailed>()("WorkerFailed", {
  detail: Schema.String
}) {
  override get message(): string {
    return `an export worker failed: ${this.detail}`
  }
}

/**
 * A job's place in the export's order: its `created_at` as PostgreSQL writes it (`created_at::text`,
 * which reads back exactly, eras and infinities included, in a session with the same settings: every
 * connection of one URL) and its id.
 *
 * @since 0.1.0
 */
export const Key = Schema.Struct({ createdAt: Schema.String, id: Schema.String })

/**
 * Which rows a range holds, in the export's order: those after one key and up to another (`null`: from
 * the start, to the end), of the filter's jobs; or the jobs of a list (an increment's changed jobs, cut
 * by the main connection, which found them).
 *
 * @since 0.1.0
 */
export const Bounds = Schema.Union(
  Schema.TaggedStruct("Between", { after: Schema.NullOr(Key), through: Schema.NullOr(Key) }),
  Schema.TaggedStruct("Ids", { ids: Schema.Array(Schema.String) })
)

/** @since 0.1.0 */
export type Bounds = typeof Bounds.Type

/** How a dataset assigns its jobs to splits (see `Split.assign`). */
const Splitting = Schema.Struct({
  by: Split.By,
  ratios: Schema.Tuple(Schema.Number, Schema.Number, Schema.Number),
  seed: Schema.String
})

/** A range's bytes of one output: the corpus (`split` null), or one split of a dataset. */
const Part = Schema.Struct({ split: Schema.NullOr(Split.Name), bytes: Transferable.Uint8Array })

/**
 * A range's lines: a part per output that has some, and of an increment the jobs it read that write no
 * line (the preference format's jobs whose results became equal).
 *
 * @since 0.1.0
 */
export const RangeResult = Schema.Struct({ parts: Schema.Array(Part), removed: Schema.Array(Schema.String) })

/** @since 0.1.0 */
export type RangeResult = typeof RangeResult.Type

/**
 * Import a snapshot: the worker connects and begins a read-only `REPEATABLE READ` transaction on it,
 * kept until `Close` (or until the worker stops).
 *
 * @since 0.1.0
 */
export class Open extends Schema.TaggedRequest<Open>()("Open", {
  failure: Schema.Union(SnapshotGone, SqlFailed),
  success: Schema.Void,
  payload: { snapshot: Schema.String }
}) {}

/**
 * Read and write one range: the export's filter and format as its parameters (`Filter.parameters`),
 * of a dataset its splitting, whose parts are then one per split, and whether to read the letters'
 * texts (the export decided it in the snapshot: `job_texts` is optional).
 *
 * @since 0.1.0
 */
export class Range extends Schema.TaggedRequest<Range>()("Range", {
  failure: Schema.Union(InvalidRow, Replay.AuditTrailMismatch, Replay.InvalidCorrectionEvent, SqlFailed),
  success: RangeResult,
  payload: {
    parameters: Schema.Array(Schema.Tuple(Schema.String, Schema.String)),
    dataset: Schema.NullOr(Splitting),
    bounds: Bounds,
    texts: Schema.Boolean
  }
}) {}

/**
 * End the snapshot `Open` began: its transaction ended, its connection closed. The worker then waits
 * for another export's `Open`.
 *
 * @since 0.1.0
 */
export class Close extends Schema.TaggedRequest<Close>()("Close", {
  failure: Schema.Never,
  success: Schema.Void,
  payload: {}
}) {}

/** Everything a worker is asked. @since 0.1.0 */
export const Request = Schema.Union(Open, Range, Close)

/** @since 0.1.0 */
export type RangeError = InvalidRow | Replay.ReplayError | SqlError

/**
 * A worker that imported the export's snapshot: reads the ranges it is asked, in the order asked; a
 * database error comes back as the `SqlError` it was (`sqlError`).
 */
export type Reader = (range: Range) => Effect.Effect<RangeResult, RangeError | WorkerFailed>

/**
 * Workers for exports. `size`: how many an export runs (one means none: the export reads on its own
 * connection). `rangeRows`: the rows of a range, small enough that the ranges read ahead of the one
 * being written stay a few megabytes, large enough that a range is more rows than statements.
 * `start(snapshot)`: `size` readers that imported the snapshot, their snapshot ended when the scope
 * closes.
 *
 * @since 0.1.0
 * @category services
 */
export class Workers extends Context.Tag("@ground-truth/core/Workers")<
  Workers,
  {
    readonly size: number
    readonly rangeRows: number
    readonly start: (
      snapshot: string
    ) => Effect.Effect<ReadonlyArray<Reader>, SqlError | SnapshotGone | WorkerFailed, Scope.Scope>
  }
>() {}

/**
 * The worker's side of `Open`: a connection of the pool, in a read-only `REPEATABLE READ` transaction
 * on `snapshot`, for the scope (ended when it closes). The snapshot must be set before the
 * transaction's first query, hence the statements one by one.
 *
 * @since 0.1.0
 */
export const imported = (
  snapshot: string
): Effect.Effect<Connection, SnapshotGone | SqlFailed, SqlClient.SqlClient | Scope.Scope> =>
  Effect.uninterruptible(
    Effect.gen(function* () {
      const conn = yield* readOnly
      if (Option.isNone(yield* importSnapshot(conn, snapshot))) return yield* new SnapshotGone({ snapshot })
      // A range is a few thousand rows read in the (created_at, id) index's order: no JIT, no parallel
      // plan (the workers are), and no bitmap scan, which would sort what the index gives in order; keys
      // as ISO text, as the main connection writes them.
      yield* conn.executeUnprepared(
        "SELECT set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true), set_config('enable_bitmapscan', 'off', true), set_config('DateStyle', 'ISO', true)",
        [],
        undefined
      )
      return conn
    })
  ).pipe(Effect.mapError((e) => (e._tag === "SnapshotGone" ? e : sqlFailed(e))))

/** The range's rows, in the export's order. */
const rangeRows = (sql: SqlClient.SqlClient, filter: Filter.Filter, bounds: Bounds, texts: boolean) => {
  if (bounds._tag === "Ids") {
    return sql<Row>`
      SELECT j.id::text AS id, ${sampleColumns(sql, texts)}
      FROM jobs j WHERE j.id = ANY(${bounds.ids}::uuid[])
      ORDER BY j.created_at, j.id`
  }
  const conditions = [...filterConditions(sql, filter), ...betweenConditions(sql, bounds)]
  return sql<Row>`
    SELECT j.id::text AS id, ${sampleColumns(sql, texts)}
    FROM jobs j WHERE ${sql.and(conditions)}
    ORDER BY j.created_at, j.id`
}

/**
 * The worker's side of `Range`: the range's rows read in the imported snapshot (the `SqlClient`'s
 * transaction connection), written as the export writes them: a job of another split left out, an
 * increment's job that writes nothing named in `removed` (by letter, one of another split too: it may
 * have left this one); of a dataset, each job into its split's part.
 *
 * @since 0.1.0
 */
export const range = (
  request: Range
): Effect.Effect<RangeResult, InvalidRow | Replay.ReplayError | SqlFailed, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // Parameters a front end parsed before, spelled by `Filter.parameters`: they parse.
    const filter = yield* Effect.orDie(Filter.parse(request.parameters))
    const rows = yield* rangeRows(sql, filter, request.bounds, request.texts)
    const output = Filter.output(filter)
    const { dataset } = request
    if (dataset !== null) {
      const writers = { train: new ByteWriter(), validation: new ByteWriter(), test: new ByteWriter() }
      for (const row of rows) {
        const split = Split.assign(rowKey(dataset.by, row), dataset.ratios, dataset.seed)
        const failure = writeRow(writers[split], row, output)
        if (failure !== undefined) return yield* Effect.fail(failure)
      }
      const parts = Split.Name.literals
        .filter((name) => writers[name].pos > 0)
        .map((name) => ({ split: name, bytes: writers[name].take() }))
      return { parts, removed: [] }
    }
    const w = new ByteWriter(64 * 1024)
    const removed: Array<string> = []
    const increment = Option.isSome(filter.changedSince)
    const split = Option.getOrUndefined(filter.split)
    for (const row of rows) {
      if (split !== undefined && !Split.contains(split, rowKey(split.by, row))) {
        // By letter, a changed job now in another split may have left this one.
        if (increment && Split.movable(split)) removed.push(row.id)
        continue
      }
      const before = w.pos
      const failure = writeRow(w, row, output)
      if (failure !== undefined) return yield* Effect.fail(failure)
      if (increment && w.pos === before) removed.push(row.id)
    }
    return { parts: w.pos === 0 ? [] : [{ split: null, bytes: w.take() }], removed }
  }).pipe(Effect.mapError((e) => (e._tag === "SqlError" ? sqlFailed(e) : e)))
