/**
 * The SQL side of `Cursor`: the identity of the snapshot an export runs in (its time and cursor, and
 * whether the database can answer for an increment's cursor at it), the jobs changed since a cursor,
 * and the lines a full export at the snapshot holds. Every statement runs in the export's snapshot
 * transaction (`Snapshot`).
 */
import type { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Option } from "effect"
import * as Cursor from "../Cursor.js"
import type * as Filter from "../Filter.js"
import type * as Timestamp from "../Timestamp.js"
import { filterConditions, readUtc, splitCondition, utcText } from "./query.js"
import { InvalidRow } from "./rows.js"

/**
 * The snapshot an export read: when its transaction began, and its cursor.
 *
 * @since 0.1.0
 */
export interface Taken {
  readonly time: Timestamp.Timestamp
  /** The cursor (see `Cursor`) an increment continues from. */
  readonly cursor: string
}

/**
 * The timeline the database writes on: from the WAL being written (the control file's checkpoint gives
 * the new timeline only once the first checkpoint after a promotion ends, minutes later), or, on a
 * standby, which writes no WAL of its own, from its last restartpoint.
 */
const TIMELINE =
  "CASE WHEN pg_is_in_recovery() THEN (SELECT timeline_id FROM pg_control_checkpoint())::text " +
  "ELSE ('x' || substr(pg_walfile_name(pg_current_wal_insert_lsn()), 1, 8))::bit(32)::bigint::text END"

/** `xmin:xmax:xip,…` (`pg_current_snapshot()`) with the database's tags, as a cursor. */
const readCursor = (snapshot: string, database: string, history: string): Cursor.Cursor => {
  const [xmin, xmax] = snapshot.split(":")
  return { xmin: BigInt(xmin), xmax: BigInt(xmax), database, history }
}

/**
 * The current snapshot's time and cursor (`now`, to compute an increment from); fails with
 * `StaleCursor` when the database cannot answer for `changedSince` at it.
 */
export const take = (
  sql: SqlClient.SqlClient,
  changedSince: Option.Option<Cursor.Cursor>
): Effect.Effect<Taken & { readonly now: Cursor.Cursor }, SqlError | InvalidRow | Cursor.StaleCursor> =>
  sql<{
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
    Effect.flatMap(
      ([row]): Effect.Effect<Taken & { readonly now: Cursor.Cursor }, InvalidRow | Cursor.StaleCursor> => {
        const time = readUtc(row.now)
        if (typeof time === "string") {
          return Effect.fail(new InvalidRow({ jobId: "", column: "now()", detail: time }))
        }
        const now = readCursor(
          row.snapshot,
          Cursor.databaseTag(row.system, row.timeline, row.database),
          Cursor.historyTag(row.deletions, row.files)
        )
        if (Option.isSome(changedSince)) {
          const stale = Cursor.staleness(changedSince.value, now)
          if (Option.isSome(stale)) {
            return Effect.fail(
              new Cursor.StaleCursor({ cursor: Cursor.encode(changedSince.value), reason: stale.value })
            )
          }
        }
        return Effect.succeed({ time, cursor: Cursor.encode(now), now })
      }
    )
  )

/**
 * The ids of the jobs changed after `since`, as seen from the snapshot `now` (see `Cursor`): a `jobs`
 * row or an event written by a transaction whose id is at or above `since.xmin`. Rows keep the 32-bit
 * `xmin`; its distance back from `now.xmax` (modulo 2^32) gives the 64-bit id, exactly for every row
 * written within 2^32 transactions (`Cursor.staleness` refuses older cursors). Both tables are read
 * whole, but only these columns: no JSON is read or replayed for the jobs that did not change.
 */
export const changedIds = (sql: SqlClient.SqlClient, since: Cursor.Cursor, now: Cursor.Cursor) => {
  const low = now.xmax % 2n ** 32n
  const distance = now.xmax - since.xmin
  const recent = (alias: string) =>
    sql.literal(`((${low} - ${alias}.xmin::text::bigint + 4294967296) % 4294967296) <= ${distance}`)
  return sql`SELECT j.id FROM jobs j WHERE ${recent("j")}
    UNION SELECT c.job_id FROM job_corrections c WHERE ${recent("c")}`
}

/**
 * The lines a full export with `filter` (its split included, its `changedSince` ignored) holds at the
 * snapshot, in a format with a line per job: what a chain of increments must add up to. A deleted job,
 * which no increment can name, shows as a corpus with more lines than this (`sync` checks it).
 */
export const corpusRows = (
  sql: SqlClient.SqlClient,
  filter: Filter.Filter
): Effect.Effect<number, SqlError> => {
  const conditions = [
    ...filterConditions(sql, filter),
    ...Option.toArray(Option.map(filter.split, (split) => splitCondition(sql, split)))
  ]
  return Effect.map(
    sql<{ readonly n: string }>`SELECT count(*)::text AS n FROM jobs j WHERE ${sql.and(conditions)}`,
    ([row]) => Number(row.n)
  )
}
