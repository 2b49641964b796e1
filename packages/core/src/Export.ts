/**
 * The export (contract §5–§9): the corpus for a filter as a stream of canonical JSONL bytes, read from
 * one database snapshot in `created_at, id` order through a cursor, so memory stays flat whatever the
 * corpus size. Each job is replayed and serialized as its rows arrive; a job whose audit trail does not
 * replay fails the stream with the typed error naming it.
 *
 * @since 0.1.0
 */
import { HttpApiSchema } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Chunk, Effect, Either, Layer, Option, Schema, Stream } from "effect"
import type { Slot } from "./Correction.js"
import * as Cursor from "./Cursor.js"
import * as Filter from "./Filter.js"
import type * as Format from "./Format.js"
import { ByteWriter } from "./internal/ByteWriter.js"
import * as Formats from "./internal/formats.js"
import { ResultText } from "./internal/line.js"
import { eventColumn, filterConditions, readUtc, splitCondition, utcText } from "./internal/query.js"
import * as Json from "./Json.js"
import * as Manifest from "./Manifest.js"
import * as Replay from "./Replay.js"
import type { CorrectionEvent, Job } from "./Sample.js"
import * as Snapshot from "./Snapshot.js"
import * as Split from "./Split.js"
import * as Timestamp from "./Timestamp.js"

/**
 * A row the export cannot read: a column that does not hold what the schema of contract §1 promises,
 * or a value contract §6 cannot write (a BC or infinite time, a multi-dimensional `review_flags`). The
 * job view, the decisions and the report's weeks fail with it too.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRow extends Schema.TaggedError<InvalidRow>()(
  "InvalidRow",
  { jobId: Schema.String, column: Schema.String, detail: Schema.String },
  HttpApiSchema.annotations({ status: 500 })
) {
  override get message(): string {
    return `job ${this.jobId}: cannot read ${this.column}: ${this.detail}`
  }
}

/** @since 0.1.0 */
export type ExportError = SqlError | Replay.ReplayError | InvalidRow | Cursor.StaleCursor

/**
 * One `jobs` row as the export query returns it: timestamps and JSON as text, so that nothing passes
 * through a lossy conversion on its way in.
 *
 * @since 0.1.0
 */
export interface Row {
  readonly id: string
  readonly filename: string
  readonly source_kind: string
  readonly approved: boolean
  readonly reviewed_by: string | null
  readonly reviewed_at: string | null
  readonly created_at: string
  readonly result: string | null
  /** `text[]` as the driver reads it: `null` for a NULL element, nested arrays for more dimensions. */
  readonly review_flags: ReadonlyArray<unknown>
  readonly confidence: number | null
  /** `[[id, field_path, [old] | null, [new] | null, corrected_by, reason, corrected_at], …]` or null. */
  readonly events: string | null
  /** Of an increment's changed job: does it still match the filter? (If not, only `id` is set.) */
  readonly matched?: boolean
}

class RowFailure {
  constructor(
    readonly column: string,
    readonly detail: string
  ) {}
}

const time = (column: string, text: string): Timestamp.Timestamp | RowFailure => {
  const t = readUtc(text)
  return typeof t === "string" ? new RowFailure(column, t) : t
}

const json = (column: string, text: string): Json.Json | RowFailure => {
  const v = Json.parse(text)
  return Either.isLeft(v) ? new RowFailure(column, v.left.message) : v.right
}

/** A failure in one event's column, named only when it happens: the hot path builds no strings. */
const eventFailure = (id: string, name: string, detail: string): RowFailure =>
  new RowFailure(eventColumn(id, name), detail)

/** `[value]` is a present value, `null` an absent one (SQL NULL); anything else is not a slot. */
const isSlot = (v: Json.Json): boolean => v === null || (Array.isArray(v) && v.length === 1)

const unwrap = (v: Json.Json): Slot => (v === null ? undefined : (v as Json.JsonArray)[0])

const event = (e: Json.Json): CorrectionEvent | RowFailure => {
  if (!Array.isArray(e) || e.length !== 7)
    return new RowFailure("job_corrections", "expected a 7-element array")
  const id = e[0]
  if (typeof id !== "string") return new RowFailure("job_corrections.id", "expected a string")
  const fieldPath = e[1]
  const correctedBy = e[4]
  const reason = e[5]
  const at = e[6]
  if (typeof fieldPath !== "string") return eventFailure(id, "field_path", "expected a string")
  if (!isSlot(e[2])) return eventFailure(id, "old_value", "expected null or a one-element array")
  if (!isSlot(e[3])) return eventFailure(id, "new_value", "expected null or a one-element array")
  if (typeof correctedBy !== "string") return eventFailure(id, "corrected_by", "expected a string")
  if (reason !== null && typeof reason !== "string") return eventFailure(id, "reason", "expected a string")
  if (typeof at !== "string") return eventFailure(id, "corrected_at", "expected a string")
  const correctedAt = readUtc(at)
  if (typeof correctedAt === "string") return eventFailure(id, "corrected_at", correctedAt)
  return {
    id,
    fieldPath,
    oldValue: unwrap(e[2]),
    newValue: unwrap(e[3]),
    correctedBy,
    reason,
    correctedAt
  }
}

const events = (source: string | null): ReadonlyArray<CorrectionEvent> | RowFailure => {
  if (source === null) return []
  const list = json("job_corrections", source)
  if (list instanceof RowFailure) return list
  if (!Array.isArray(list)) return new RowFailure("job_corrections", "expected an array")
  const out: Array<CorrectionEvent> = []
  for (const e of list) {
    const decoded = event(e)
    if (decoded instanceof RowFailure) return decoded
    out.push(decoded)
  }
  return out
}

const dimensions = (v: unknown): number => (Array.isArray(v) ? 1 + dimensions(v[0]) : 0)

/** The flags as a list whose elements are strings or null (SQL NULL): one dimension only. */
const flags = (value: ReadonlyArray<unknown>): ReadonlyArray<string | null> | RowFailure => {
  for (const f of value) {
    if (f !== null && typeof f !== "string") {
      return new RowFailure(
        "review_flags",
        `a ${dimensions(value)}-dimensional array cannot be written as a list of flags`
      )
    }
  }
  return value as ReadonlyArray<string | null>
}

/** Everything of a row but its result, which only a job with events needs as a value. */
const decodeFields = (row: Row): Omit<Job, "result"> | RowFailure => {
  const reviewedAt = row.reviewed_at === null ? null : time("reviewed_at", row.reviewed_at)
  const createdAt = time("created_at", row.created_at)
  const reviewFlags = flags(row.review_flags)
  const trail = events(row.events)
  for (const v of [reviewedAt, createdAt, reviewFlags, trail]) if (v instanceof RowFailure) return v
  return {
    id: row.id,
    filename: row.filename,
    sourceKind: row.source_kind,
    approved: row.approved,
    reviewedBy: row.reviewed_by,
    reviewedAt: reviewedAt as Timestamp.Timestamp | null,
    createdAt: createdAt as Timestamp.Timestamp,
    reviewFlags: reviewFlags as ReadonlyArray<string | null>,
    confidence: row.confidence,
    events: trail as ReadonlyArray<CorrectionEvent>
  }
}

const invalid = (row: Row, failure: RowFailure): InvalidRow =>
  new InvalidRow({ jobId: row.id, column: failure.column, detail: failure.detail })

/**
 * Reads one export row into a job.
 *
 * @since 0.1.0
 */
export const decodeRow = (row: Row): Either.Either<Job, InvalidRow> => {
  const fields = decodeFields(row)
  if (fields instanceof RowFailure) return Either.left(invalid(row, fields))
  const result = row.result === null ? undefined : json("result", row.result)
  if (result instanceof RowFailure) return Either.left(invalid(row, result))
  return Either.right({ ...fields, result })
}

/**
 * Appends one row's line to `w`; on failure appends nothing. The final result goes from the row's text
 * to canonical bytes directly; a value is built only to replay a job's events (about half the jobs
 * have none, and their initial result is the final one, written once).
 */
const writeRow = (
  w: ByteWriter,
  row: Row,
  format: Format.Format = "jsonl"
): InvalidRow | Replay.ReplayError | undefined => {
  const fields = decodeFields(row)
  if (fields instanceof RowFailure) return invalid(row, fields)
  let final: Slot | ResultText = row.result === null ? undefined : new ResultText(row.result)
  let initial: Slot | ResultText = final
  if (fields.events.length > 0) {
    let value: Slot
    if (row.result !== null) {
      const parsed = json("result", row.result)
      if (parsed instanceof RowFailure) return invalid(row, parsed)
      value = parsed
    }
    const undone = Replay.undo(row.id, value, fields.events)
    if (Either.isLeft(undone)) return undone.left
    initial = undone.right
    // Parsed once: the value is written, rather than its text read a second time.
    final = value
  }
  const failure = Formats.write(format, w, fields, initial, final)
  return failure === undefined
    ? undefined
    : invalid(row, new RowFailure("result", new Json.JsonSyntaxError(failure).message))
}

/**
 * One row to its canonical line: decode, replay, serialize.
 *
 * @since 0.1.0
 */
export const rowLine = (row: Row): Either.Either<string, InvalidRow | Replay.ReplayError> => {
  const w = new ByteWriter()
  const failure = writeRow(w, row)
  return failure === undefined ? Either.right(w.toString()) : Either.left(failure)
}

/** Rows per FETCH: about 2 MB of samples, few enough round trips to keep the database busy. */
const FETCH_SIZE = 1000

/** Rows of the first FETCH: fewer, so that the first bytes go out after milliseconds, not a batch. */
const FIRST_FETCH_SIZE = 50

/** A batch of items as one buffer of lines: one write per cursor batch rather than one per sample. */
const encodeBatch = <A, E>(
  w: ByteWriter,
  items: Chunk.Chunk<A>,
  write: (w: ByteWriter, item: A) => E | undefined
): Effect.Effect<Chunk.Chunk<Uint8Array>, E> => {
  for (const item of items) {
    const failure = write(w, item)
    if (failure !== undefined) return Effect.fail(failure)
  }
  // A batch can write nothing (a split or the preference format may leave out every job in it).
  return Effect.succeed(w.pos === 0 ? Chunk.empty() : Chunk.of(w.take()))
}

/** Lines of a stream of items, written by one writer per stream. */
const encode = <A, E, R, E2>(
  items: Stream.Stream<A, E, R>,
  write: (w: ByteWriter, item: A) => E2 | undefined
): Stream.Stream<Uint8Array, E | E2, R> =>
  Stream.suspend(() => {
    const w = new ByteWriter(64 * 1024)
    return Stream.mapChunksEffect(items, (chunk) => encodeBatch(w, chunk, write))
  })

/**
 * One split's bytes of a dataset export: a batch of its lines.
 *
 * @since 0.1.0
 */
export interface Part {
  readonly split: Split.Name
  readonly bytes: Uint8Array
}

/** How a dataset assigns its jobs to splits. */
interface Splitting {
  readonly ratios: readonly [number, number, number]
  readonly seed: string
}

/**
 * A dataset: each item written by the writer of its split, one part per split and batch, each split's
 * bytes counted; `manifest` describes them once the stream has ended.
 */
const splitInto = <A, E, R, E2>(
  filter: Filter.Filter,
  splitting: Splitting,
  items: (observer: Observer) => Stream.Stream<A, E, R>,
  idOf: (item: A) => string,
  write: (w: ByteWriter, item: A) => E2 | undefined
) =>
  Effect.sync(() => {
    let taken: Taken | undefined
    const names = Split.Name.literals
    const writers = { train: new ByteWriter(), validation: new ByteWriter(), test: new ByteWriter() }
    const counters = { train: Manifest.counter(), validation: Manifest.counter(), test: Manifest.counter() }
    const stream = Stream.mapChunksEffect(
      items({
        taken: (time, cursor) => {
          taken = { time, cursor }
        },
        removed: () => undefined
      }),
      (chunk): Effect.Effect<Chunk.Chunk<Part>, E2> => {
        for (const item of chunk) {
          const failure = write(writers[Split.assign(idOf(item), splitting.ratios, splitting.seed)], item)
          if (failure !== undefined) return Effect.fail(failure)
        }
        const parts: Array<Part> = []
        for (const name of names) {
          if (writers[name].pos === 0) continue
          const bytes = writers[name].take()
          counters[name].add(bytes)
          parts.push({ split: name, bytes })
        }
        return Effect.succeed(Chunk.unsafeFromArray(parts))
      }
    )
    const manifest = Effect.sync(() =>
      Manifest.dataset(filter, splitting, taken, {
        train: counters.train.counts(),
        validation: counters.validation.counts(),
        test: counters.test.counts()
      })
    )
    return { stream, manifest }
  })

/**
 * The timeline the database writes on: from the WAL being written (the control file's checkpoint gives
 * the new timeline only once the first checkpoint after a promotion ends, minutes later), or, on a
 * standby, which writes no WAL of its own, from its last restartpoint.
 */
const TIMELINE =
  "CASE WHEN pg_is_in_recovery() THEN (SELECT timeline_id FROM pg_control_checkpoint())::text " +
  "ELSE ('x' || substr(pg_walfile_name(pg_current_wal_insert_lsn()), 1, 8))::bit(32)::bigint::text END"

/** Formats with a line for every job that matches (the training formats leave some out). */
const linePerJob = (format: Format.Format): boolean => format === "jsonl" || format === "hf"

/** What a running export reports of its snapshot: once it is taken, then each removed id. */
interface Observer {
  readonly taken: (time: Timestamp.Timestamp, cursor: string) => void
  readonly removed: (id: string) => void
  /** Of an increment in a format with a line per job: the jobs a full export at its snapshot holds. */
  readonly counted?: (jobs: number) => void
}

/**
 * A corpus with its manifest: the stream counts and hashes its bytes as they pass; `manifest`, run
 * after the stream has ended, describes them; `taken` is the snapshot once the stream has begun.
 * `corpus` reports its snapshot to the observer.
 */
const manifested = (
  filter: Filter.Filter,
  corpus: (observer: Observer) => Stream.Stream<Uint8Array, ExportError>
) =>
  Effect.sync(() => {
    let taken: { time: Timestamp.Timestamp; cursor: string } | undefined
    const removed: Array<string> = []
    let corpusRows: number | undefined
    const { stream, finish } = Manifest.tally(
      filter,
      corpus({
        taken: (time, cursor) => {
          taken = { time, cursor }
        },
        removed: (id) => {
          removed.push(id)
        },
        counted: (jobs) => {
          corpusRows = jobs
        }
      }),
      // Job ids are lowercase UUIDs: code unit order is their byte order.
      () => (taken === undefined ? undefined : { ...taken, removed: removed.sort(), corpusRows })
    )
    return { stream, manifest: Effect.sync(finish), taken: (): Taken | undefined => taken }
  })

/**
 * The snapshot an export read, as `Export.stream`'s `onSnapshot` learns it before the first sample.
 *
 * @since 0.1.0
 */
export interface Taken {
  readonly time: Timestamp.Timestamp
  /** The cursor (see `Cursor`) an increment continues from. */
  readonly cursor: string
}

/** The columns of a sample's row but its id, for the jobs table aliased `j`. */
const sampleColumns = (sql: SqlClient.SqlClient) => sql`
  j.filename, j.source_kind, j.approved, j.reviewed_by,
  ${utcText(sql, "j.reviewed_at")} AS reviewed_at,
  ${utcText(sql, "j.created_at")} AS created_at,
  j.result::text AS result, j.review_flags, j.confidence,
  (
    SELECT json_agg(json_build_array(
      c.id::text, c.field_path,
      CASE WHEN c.old_value IS NULL THEN NULL ELSE jsonb_build_array(c.old_value) END,
      CASE WHEN c.new_value IS NULL THEN NULL ELSE jsonb_build_array(c.new_value) END,
      c.corrected_by, c.reason, ${utcText(sql, "c.corrected_at")}
    ) ORDER BY c.corrected_at, c.id)::text
    FROM job_corrections c WHERE c.job_id = j.id
  ) AS events`

/**
 * The ids of the jobs changed after `since`, as seen from the snapshot `now` (see `Cursor`): a `jobs`
 * row or an event written by a transaction whose id is at or above `since.xmin`. Rows keep the 32-bit
 * `xmin`; its distance back from `now.xmax` (modulo 2^32) gives the 64-bit id, exactly for every row
 * written within 2^32 transactions (`Cursor.staleness` refuses older cursors). Both tables are read
 * whole, but only these columns: no JSON is read or replayed for the jobs that did not change.
 */
const changedIds = (sql: SqlClient.SqlClient, since: Cursor.Cursor, now: Cursor.Cursor) => {
  const low = now.xmax % 2n ** 32n
  const distance = now.xmax - since.xmin
  const recent = (alias: string) =>
    sql.literal(`((${low} - ${alias}.xmin::text::bigint + 4294967296) % 4294967296) <= ${distance}`)
  return sql`SELECT j.id FROM jobs j WHERE ${recent("j")}
    UNION SELECT c.job_id FROM job_corrections c WHERE ${recent("c")}`
}

/** `xmin:xmax:xip,…` (`pg_current_snapshot()`) with the database's tags, as a cursor. */
const readCursor = (snapshot: string, database: string, history: string): Cursor.Cursor => {
  const [xmin, xmax] = snapshot.split(":")
  return { xmin: BigInt(xmin), xmax: BigInt(xmax), database, history }
}

/**
 * The export service: `stream(filter)` is the corpus as UTF-8 bytes, one buffer per batch of samples
 * (`onSnapshot` learns its snapshot before the first); `withManifest(filter)` is the same corpus and,
 * once it has been run to its end, its manifest. With `filter.changedSince`, the corpus is the
 * increment of contract §11 and the manifest lists what it removes. `dataset(filter, splitting)` is
 * the corpus cut into its train, validation and test splits, from one snapshot, and its manifest.
 *
 * @since 0.1.0
 * @category services
 */
export class Export extends Effect.Service<Export>()("@ground-truth/core/Export", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    /** The rows (of an increment: also the changed jobs that no longer match, `matched` false). */
    const rows = (
      filter: Filter.Filter,
      observer?: Observer
    ): Stream.Stream<Row, SqlError | InvalidRow | Cursor.StaleCursor> => {
      const conditions = filterConditions(sql, filter)
      // A server-side cursor, declared in the snapshot transaction and fetched in batches: memory stays
      // bounded, the planner picks a fast-start plan (the (created_at, id) index) for a cursor, and a
      // failed FETCH is an ordinary statement error. (pg-cursor's close() never returns after an
      // error, which would hang a failed export.)
      const declare = (now: Cursor.Cursor | undefined) =>
        Option.isSome(filter.changedSince) && now !== undefined
          ? // The changed jobs, each with its row when it still matches: those that do not come last. The
            // row is looked up by id (`LIMIT 1` keeps the planner from turning the lookups into a hash
            // join, which reads the whole table again: 3.3 s instead of 0.9 s at 1M jobs).
            sql`
              DECLARE export_samples NO SCROLL CURSOR FOR
              WITH changed (id) AS (${changedIds(sql, filter.changedSince.value, now)})
              SELECT ch.id::text AS id, j.id IS NOT NULL AS matched, ${sampleColumns(sql)}
              FROM changed ch
              LEFT JOIN LATERAL (SELECT * FROM jobs j WHERE j.id = ch.id AND ${sql.and(conditions)} LIMIT 1) j ON true
              ORDER BY j.created_at, j.id, ch.id`
          : sql`
              DECLARE export_samples NO SCROLL CURSOR FOR
              SELECT j.id::text AS id, ${sampleColumns(sql)}
              FROM jobs j
              WHERE ${sql.and(conditions)}
              ORDER BY j.created_at, j.id`
      // Each statement runs to its end even when the consumer goes away: interrupting a running query
      // would make the driver cancel it through another pooled connection, which a busy pool may not
      // have to give. A batch is short; the stream stops right after it and the snapshot rolls back.
      const fetch = (size: number) =>
        sql<Row>`FETCH ${sql.literal(String(size))} FROM export_samples`.pipe(
          Effect.uninterruptible,
          Effect.mapError(Option.some),
          Effect.flatMap((batch) =>
            batch.length === 0 ? Effect.fail(Option.none()) : Effect.succeed(Chunk.unsafeFromArray(batch))
          )
        )
      // The snapshot's time and cursor, when someone asks or an increment needs them.
      const snapshot: Effect.Effect<Cursor.Cursor | undefined, SqlError | InvalidRow | Cursor.StaleCursor> =
        observer === undefined && Option.isNone(filter.changedSince)
          ? Effect.succeed(undefined)
          : sql<{
              readonly now: string
              readonly snapshot: string
              readonly system: string
              readonly timeline: string
              readonly database: string
              readonly deletions: string
              readonly files: string
            }>`
              SELECT ${utcText(sql, "now()")} AS now, pg_current_snapshot()::text AS snapshot,
                (SELECT system_identifier::text FROM pg_control_system()) AS system,
                ${sql.literal(TIMELINE)} AS timeline,
                (SELECT oid::text FROM pg_database WHERE datname = current_database()) AS database,
                (SELECT coalesce(sum(n_tup_del), 0)::text FROM pg_stat_all_tables
                  WHERE relid IN ('jobs'::regclass, 'job_corrections'::regclass))
                  || '/' || coalesce((SELECT stats_reset::text FROM pg_stat_database
                                      WHERE datname = current_database()), '') AS deletions,
                pg_relation_filenode('jobs')::text || '/' || pg_relation_filenode('job_corrections')::text AS files`.pipe(
              Effect.flatMap(([row]): Effect.Effect<Cursor.Cursor, InvalidRow | Cursor.StaleCursor> => {
                const time = readUtc(row.now)
                if (typeof time === "string") {
                  return Effect.fail(new InvalidRow({ jobId: "", column: "now()", detail: time }))
                }
                const now = readCursor(
                  row.snapshot,
                  Cursor.databaseTag(row.system, row.timeline, row.database),
                  Cursor.historyTag(row.deletions, row.files)
                )
                if (Option.isSome(filter.changedSince)) {
                  const stale = Cursor.staleness(filter.changedSince.value, now)
                  if (Option.isSome(stale)) {
                    return Effect.fail(
                      new Cursor.StaleCursor({
                        cursor: Cursor.encode(filter.changedSince.value),
                        reason: stale.value
                      })
                    )
                  }
                }
                observer?.taken(time, Cursor.encode(now))
                return Effect.succeed(now)
              })
            )
      return Stream.unwrap(
        Effect.map(
          Effect.flatMap(snapshot, (now) => Effect.uninterruptible(declare(now))),
          () => {
            let size = FIRST_FETCH_SIZE
            const fetched = Stream.repeatEffectChunkOption(
              Effect.suspend(() => {
                const n = size
                size = FETCH_SIZE
                return fetch(n)
              })
            )
            const counted = observer?.counted
            if (counted === undefined || Option.isNone(filter.changedSince) || !linePerJob(filter.format)) {
              return fetched
            }
            // What the chain must add up to, in the same snapshot: a deleted job, which no increment can
            // name, shows as a corpus with more lines than this (`sync` checks it).
            const conditions = [
              ...filterConditions(sql, filter),
              ...Option.toArray(Option.map(filter.split, (split) => splitCondition(sql, split)))
            ]
            return Stream.concat(
              fetched,
              Stream.execute(
                Effect.map(
                  sql<{
                    readonly n: string
                  }>`SELECT count(*)::text AS n FROM jobs j WHERE ${sql.and(conditions)}`,
                  ([row]) => counted(Number(row.n))
                )
              )
            )
          }
        )
      )
    }
    const corpus = (filter: Filter.Filter, observer?: Observer): Stream.Stream<Uint8Array, ExportError> => {
      const increment = Option.isSome(filter.changedSince)
      // An increment removes a changed job without a line: it no longer matches, or (preference) its
      // results became equal.
      const write = increment
        ? (w: ByteWriter, row: Row) => {
            if (row.matched === false) {
              observer?.removed(row.id)
              return undefined
            }
            const before = w.pos
            const failure = writeRow(w, row, filter.format)
            if (failure === undefined && w.pos === before) observer?.removed(row.id)
            return failure
          }
        : (w: ByteWriter, row: Row) => writeRow(w, row, filter.format)
      return Snapshot.stream(
        Option.match(filter.split, {
          onNone: () => rows(filter, observer),
          // A job's split depends on its id alone, so it is decided here rather than in SQL; a job of
          // another split never matched, so an increment does not name it either.
          onSome: (split) => Stream.filter(rows(filter, observer), (row) => Split.contains(split, row.id))
        })
      ).pipe(
        // The next FETCH runs while this batch is replayed and serialized: the database and the
        // main thread work at the same time instead of taking turns.
        Stream.bufferChunks({ capacity: 1 }),
        (rows) => encode(rows, write),
        Stream.provideService(SqlClient.SqlClient, sql)
      )
    }
    return {
      stream: (filter: Filter.Filter, onSnapshot?: (taken: Taken) => void) =>
        corpus(
          filter,
          onSnapshot === undefined
            ? undefined
            : { taken: (time, cursor) => onSnapshot({ time, cursor }), removed: () => undefined }
        ),
      withManifest: (filter: Filter.Filter) => manifested(filter, (observer) => corpus(filter, observer)),
      dataset: (filter: Filter.Filter, splitting: Splitting) =>
        splitInto(
          filter,
          splitting,
          (observer) =>
            Snapshot.stream(rows(filter, observer)).pipe(
              Stream.bufferChunks({ capacity: 1 }),
              Stream.provideService(SqlClient.SqlClient, sql)
            ),
          (row: Row) => row.id,
          (w, row) => writeRow(w, row, filter.format)
        )
    }
  })
}) {
  /**
   * An in-memory export over the given jobs: the reference meaning of the contract, for tests and for
   * programs that have no database.
   */
  static readonly layerTest = (jobs: ReadonlyArray<Job>): Layer.Layer<Export> => {
    // The jobs given are the snapshot, taken when a stream starts. It has no transaction ids, so an
    // increment counts every job as changed: its lines are the full export's, and it removes every
    // job of the split without a line.
    const cursor = Cursor.encode({ xmin: 0n, xmax: 0n, database: "000000000000", history: "00000000" })
    /** The snapshot is taken: the jobs that match, in export order. */
    const selected = (filter: Filter.Filter, observer?: Observer): ReadonlyArray<Job> => {
      const now = Date.now()
      observer?.taken(Timestamp.make(Math.floor(now / 1000), (now % 1000) * 1000), cursor)
      return jobs
        .filter((job) => Filter.matches(filter, job))
        .sort((a, b) => Timestamp.Order(a.createdAt, b.createdAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    }
    const writeJob =
      (filter: Filter.Filter) =>
      (w: ByteWriter, job: Job): Replay.ReplayError | undefined => {
        const sample = Replay.sample(job)
        if (Either.isLeft(sample)) return sample.left
        Formats.write(filter.format, w, job, sample.right.initialResult, job.result)
        return undefined
      }
    const corpus = (filter: Filter.Filter, observer?: Observer) =>
      Stream.suspend(() => {
        const written = new Set<string>()
        const write = writeJob(filter)
        const chosen = selected(filter, observer)
        if (Option.isSome(filter.changedSince) && linePerJob(filter.format))
          observer?.counted?.(chosen.length)
        return encode(Stream.fromIterable(chosen), (w, job: Job) => {
          const before = w.pos
          const failure = write(w, job)
          if (w.pos > before) written.add(job.id)
          return failure
        }).pipe(
          Stream.ensuring(
            Effect.sync(() => {
              if (Option.isNone(filter.changedSince)) return
              for (const job of jobs) {
                const inSplit = Option.isNone(filter.split) || Split.contains(filter.split.value, job.id)
                if (inSplit && !written.has(job.id)) observer?.removed(job.id)
              }
            })
          )
        )
      })
    return Layer.succeed(
      Export,
      Export.make({
        stream: (filter, onSnapshot) =>
          corpus(
            filter,
            onSnapshot === undefined
              ? undefined
              : { taken: (time, cursor) => onSnapshot({ time, cursor }), removed: () => undefined }
          ),
        withManifest: (filter) => manifested(filter, (observer) => corpus(filter, observer)),
        dataset: (filter, splitting) =>
          splitInto(
            filter,
            splitting,
            (observer) => Stream.suspend(() => Stream.fromIterable(selected(filter, observer))),
            (job: Job) => job.id,
            writeJob(filter)
          )
      })
    )
  }
}
