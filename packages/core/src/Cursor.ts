/**
 * Cursors (contract §11): the name of the database snapshot an export read, from which a later export
 * takes only what changed.
 *
 * A cursor holds the snapshot's `xmin` and `xmax` (64-bit transaction ids, `xid8`). Every transaction the
 * snapshot could not see has an id at or above its `xmin`: those in flight at the cut are listed between
 * `xmin` and `xmax`, later ones start at `xmax`. So "changed after the cursor" is "written by a
 * transaction whose id is at or above `xmin`". That keeps a few jobs whose transaction committed just
 * before the cut (ids between `xmin` and `xmax`, not in flight): their lines are the same bytes again.
 * Asking the snapshot itself (`pg_visible_in_snapshot`) would be exact for top-level transactions but
 * wrong for a savepoint's, whose subtransaction id the snapshot does not list: a review written under a
 * savepoint and committed after the cut would look visible and be lost.
 *
 * Transaction ids only mean something on one history of one database, so a cursor also names where it
 * was taken: the database (its cluster's `system_identifier` and its oid), the timeline and the WAL
 * position. A failover, a promotion or a point-in-time restore starts a new timeline (transaction ids
 * after the fork mean other transactions there); a database behind the cursor's WAL position was
 * restored from a backup or lost transactions in a crash, unless it is a standby that has not replayed
 * that far yet (`StandbyNotReady`: retry, or ask the primary).
 *
 * A deleted row leaves nothing to read, so no increment can name it. The cursor counts what deleting
 * changes, exactly (no statistics, which lag, are lost in a crash and stay zero on a standby): the rows
 * of `jobs` and of `job_corrections`, and the events older than `xmin`. At a later snapshot, fewer jobs
 * or events than the cursor counted, or fewer events from before its `xmin`, mean rows were deleted (an
 * event rewritten in place counts too: the audit trail is append-only). Deleting an old event is found
 * however many rows were written since; deleting a job, or an event written while an older
 * transaction was still running at the cut, is found here when the table shrank, and always by the count
 * a chain adds up to (`corpus_rows`, which `sync` and `merge` check). The tables' files are named too:
 * a `TRUNCATE` or a rewrite gives a table a new one.
 *
 * Text: `gt2.<xmin>.<xmax>.<lsn>.<timeline>.<database>.<files>.<jobs>.<events>.<old>.<check>`, URL-safe;
 * `check` is 8 hex digits of SHA-256 over the rest, so a cursor mistyped or edited by hand is refused
 * rather than answered for another snapshot. Cursors of earlier versions (`gt1`, whose deletion check
 * was statistical) are read, and are stale: a full export starts a new chain.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { Option, Schema } from "effect"

/**
 * A snapshot, as a cursor names it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Cursor {
  /** 2 today; 1 for a cursor of an earlier version, which no database answers for any more. */
  readonly version: 1 | 2
  /** The oldest transaction still running at the cut (or `xmax`, when none was). */
  readonly xmin: bigint
  /** The first transaction id not yet assigned at the cut. */
  readonly xmax: bigint
  /**
   * The WAL position every commit the snapshot saw lies before: the WAL written (a primary) or replayed
   * (a standby) when it was taken.
   */
  readonly lsn: bigint
  /** The timeline written (a primary) or replayed (a standby); 0 when a standby could not tell. */
  readonly timeline: number
  /** 12 hex digits naming the database: its cluster's system identifier and its oid. */
  readonly database: string
  /** 8 hex digits over the two tables' file nodes (of a version 1 cursor: its history tag). */
  readonly files: string
  /** Rows of `jobs` in the snapshot. */
  readonly jobs: bigint
  /** Rows of `job_corrections` in the snapshot. */
  readonly events: bigint
  /** Rows of `job_corrections` written before `xmin`. */
  readonly old: bigint
}

const PREFIX = "gt2"

const check = (body: string): string => createHash("sha256").update(body).digest("hex").slice(0, 8)

/**
 * The tag of a database: its cluster's `system_identifier` (random per `initdb`, shared by physical
 * replicas, which share the transaction ids) and the database's oid.
 *
 * @since 0.1.0
 */
export const databaseTag = (systemIdentifier: string, databaseOid: string): string =>
  createHash("sha256").update(`${systemIdentifier}/${databaseOid}`).digest("hex").slice(0, 12)

/**
 * The tag of the two tables' files (`jobs`, then `job_corrections`).
 *
 * @since 0.1.0
 */
export const filesTag = (files: string): string =>
  createHash("sha256").update(files).digest("hex").slice(0, 8)

/**
 * The end of the last WAL record a primary inserted, from its insert position (what
 * `pg_current_wal_insert_lsn()` answers), the WAL page size and the segment size: past a page boundary,
 * the insert position points after the next page's header (40 bytes at the start of a segment, else
 * 24), where no record ends; a standby that has replayed everything stops at the boundary.
 *
 * @since 0.1.0
 */
export const recordEnd = (insert: bigint, pageSize: bigint, segmentSize: bigint): bigint =>
  insert % segmentSize === 40n ? insert - 40n : insert % pageSize === 24n ? insert - 24n : insert

/** @since 0.1.0 */
export const encode = (c: Cursor): string => {
  const body =
    c.version === 1
      ? `gt1.${c.xmin}.${c.xmax}.${c.database}.${c.files}`
      : `${PREFIX}.${c.xmin}.${c.xmax}.${c.lsn}.${c.timeline}.${c.database}.${c.files}.${c.jobs}.${c.events}.${c.old}`
  return `${body}.${check(body)}`
}

const N = "(0|[1-9]\\d{0,18})"
const SHAPE = new RegExp(
  `^gt2\\.${N}\\.${N}\\.(0|[1-9]\\d{0,19})\\.(0|[1-9]\\d{0,9})\\.([0-9a-f]{12})\\.([0-9a-f]{8})\\.${N}\\.${N}\\.${N}\\.([0-9a-f]{8})$`
)
const SHAPE_1 = /^gt1\.(0|[1-9]\d{0,18})\.(0|[1-9]\d{0,18})\.([0-9a-f]{12})\.([0-9a-f]{8})\.([0-9a-f]{8})$/

const LIMIT = 2n ** 63n

/**
 * Reads a cursor: `None` for text that is not one of ours (another shape, a wrong check, `xmin` above
 * `xmax`, an id beyond 64 bits, fewer events than old ones).
 *
 * @since 0.1.0
 */
export const decode = (text: string): Option.Option<Cursor> => {
  const m = SHAPE.exec(text)
  if (m !== null) {
    if (check(text.slice(0, text.length - 9)) !== m[10]) return Option.none()
    const [xmin, xmax, lsn, jobs, events, old] = [m[1], m[2], m[3], m[7], m[8], m[9]].map(BigInt)
    const timeline = Number(m[4])
    return xmin <= xmax && xmax < LIMIT && lsn < 2n ** 64n && timeline < 2 ** 32 && old <= events
      ? Option.some({ version: 2, xmin, xmax, lsn, timeline, database: m[5], files: m[6], jobs, events, old })
      : Option.none()
  }
  const v1 = SHAPE_1.exec(text)
  if (v1 === null || check(text.slice(0, text.length - 9)) !== v1[5]) return Option.none()
  const xmin = BigInt(v1[1])
  const xmax = BigInt(v1[2])
  return xmin <= xmax && xmax < LIMIT
    ? Option.some({
        version: 1,
        xmin,
        xmax,
        lsn: 0n,
        timeline: 0,
        database: v1[3],
        files: v1[4],
        jobs: 0n,
        events: 0n,
        old: 0n
      })
    : Option.none()
}

/**
 * PostgreSQL keeps 32-bit transaction ids on rows and freezes rows older than about 2^31 transactions,
 * so a cursor further back than this cannot tell a row written after it from a frozen one.
 *
 * @since 0.1.0
 */
export const HORIZON = 2n ** 31n

/**
 * Why a database cannot answer for a cursor.
 *
 * @since 0.1.0
 */
export const Staleness = Schema.Literal(
  "version",
  "other_database",
  "timeline",
  "unknown_timeline",
  "behind",
  "horizon",
  "rewritten",
  "deleted"
)

/** @since 0.1.0 */
export type Staleness = typeof Staleness.Type

const why: Record<Staleness, string> = {
  version: "it was taken by an earlier version of ground-truth, whose check for deleted rows was statistical",
  other_database: "it was taken on another database",
  timeline:
    "the database is on another timeline than the one the cursor was taken on (a failover, a promotion or a " +
    "point-in-time restore since), where transaction ids mean other transactions",
  unknown_timeline:
    "it was taken on a standby that could not tell which timeline it replayed (its role lacks " +
    "pg_read_all_stats, or no WAL receiver was running)",
  behind:
    "the database is behind the cursor's snapshot: it was restored from a backup, or lost transactions in a " +
    "crash, since",
  horizon: "it is older than PostgreSQL's transaction-id horizon (2^31 transactions)",
  rewritten: "jobs or job_corrections was truncated or rewritten since",
  deleted:
    "rows were deleted from jobs or job_corrections since (or an event was rewritten), and an increment " +
    "cannot name deleted jobs"
}

/**
 * The database cannot answer for a cursor: it was taken on another database or another history of this
 * one, so long ago that the transaction ids have gone round, or rows were deleted since. Only a full
 * export helps.
 *
 * @since 0.1.0
 * @category errors
 */
export class StaleCursor extends Schema.TaggedError<StaleCursor>()("StaleCursor", {
  cursor: Schema.String,
  reason: Staleness
}) {
  override get message(): string {
    return `the cursor ${this.cursor} cannot be answered: ${why[this.reason]}; take a full export and continue from its cursor`
  }
}

/**
 * A standby cannot answer for a cursor yet: it has not replayed the WAL the cursor's snapshot saw
 * (`behind`), or it cannot tell which timeline it replays (`unknown_timeline`: its role lacks
 * `pg_read_all_stats`, or no WAL receiver runs), so it cannot tell whether the cursor is on its history.
 * The cursor is fine: retry later, or ask the primary.
 *
 * @since 0.1.0
 * @category errors
 */
export class StandbyNotReady extends Schema.TaggedError<StandbyNotReady>()("StandbyNotReady", {
  cursor: Schema.String,
  reason: Schema.Literal("behind", "unknown_timeline")
}) {
  override get message(): string {
    return this.reason === "behind"
      ? `the standby has not yet replayed the snapshot of the cursor ${this.cursor}: an increment now would ` +
          "miss what it saw; retry later, or ask the primary"
      : `the standby cannot tell which timeline it replays (grant pg_read_all_stats to the exporter's role, ` +
          `or check that its WAL receiver runs), so it cannot tell whether the cursor ${this.cursor} is on its ` +
          "history; ask the primary, or retry later"
  }
}

/**
 * The database at a snapshot, as an increment's check needs it: its cursor; whether it is a standby and,
 * if so, the WAL it had replayed before the snapshot was taken (a lower bound of what the snapshot
 * holds); and the events it counts as written before the earlier cursor's `xmin`.
 *
 * @since 0.1.0
 */
export interface Now {
  readonly cursor: Cursor
  readonly standby: boolean
  readonly replayedBefore: bigint
  readonly oldSince: bigint
}

/**
 * Why the database at `now` cannot answer for `since`, if it cannot: a stale cursor (only a full export
 * helps) or a standby that is not ready (retrying, or asking the primary, helps).
 *
 * @since 0.1.0
 */
export const refusal = (since: Cursor, now: Now): Option.Option<StaleCursor | StandbyNotReady> => {
  const cursor = encode(since)
  const stale = (reason: Staleness) => Option.some(new StaleCursor({ cursor, reason }))
  const notReady = (reason: StandbyNotReady["reason"]) => Option.some(new StandbyNotReady({ cursor, reason }))
  const at = now.cursor
  if (since.version !== 2) return stale("version")
  if (since.database !== at.database) return stale("other_database")
  if (since.timeline === 0) return stale("unknown_timeline")
  if (now.standby && at.timeline === 0) return notReady("unknown_timeline")
  if (since.timeline !== at.timeline) return stale("timeline")
  // A standby catches up; a primary behind a cursor of its own history went back in time.
  if (
    now.standby
      ? now.replayedBefore < since.lsn || at.xmax < since.xmax
      : at.lsn < since.lsn || at.xmax < since.xmax
  ) {
    return now.standby ? notReady("behind") : stale("behind")
  }
  if (at.xmax - since.xmin >= HORIZON) return stale("horizon")
  if (since.files !== at.files) return stale("rewritten")
  if (at.jobs < since.jobs || at.events < since.events || now.oldSince !== since.old) return stale("deleted")
  return Option.none()
}
