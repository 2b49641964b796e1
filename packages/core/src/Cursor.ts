/**
 * Cursors (contract §11): the name of the database snapshot an export read, from which a later export
 * takes only what changed.
 *
 * A cursor holds the snapshot's `xmin` and `xmax` (64-bit transaction ids, `xid8`) and a tag of the
 * database it was taken on. Every transaction the snapshot could not see has an id at or above its
 * `xmin`: those in flight at the cut are listed between `xmin` and `xmax`, later ones start at `xmax`.
 * So "changed after the cursor" is "written by a transaction whose id is at or above `xmin`". That
 * keeps a few jobs whose transaction committed just before the cut (ids between `xmin` and `xmax`,
 * not in flight): their lines are the same bytes again. Asking the snapshot itself
 * (`pg_visible_in_snapshot`) would be exact for top-level transactions but wrong for a savepoint's,
 * whose subtransaction id the snapshot does not list: a review written under a savepoint and committed
 * after the cut would look visible and be lost.
 *
 * A deleted row leaves nothing to read, so no increment can name it. The cursor keeps a tag of what
 * deleting changes (see `history`); an increment after a deletion it sees is refused, and asks for a
 * full export. Statistics are no proof (see `history`): the exact check is the count an increment's
 * manifest carries (`corpus_rows`), which `sync` and `merge` compare with the corpus they merge.
 *
 * Text: `gt1.<xmin>.<xmax>.<database>.<history>.<check>`, URL-safe; `check` is 8 hex digits of SHA-256
 * over the rest, so a cursor mistyped or edited by hand is refused rather than answered for another
 * snapshot.
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
  /** The oldest transaction still running at the cut (or `xmax`, when none was). */
  readonly xmin: bigint
  /** The first transaction id not yet assigned at the cut. */
  readonly xmax: bigint
  /** 12 hex digits naming the database: its cluster's system identifier, its timeline and its oid. */
  readonly database: string
  /**
   * 8 hex digits over what deleting rows changes: the deletions PostgreSQL's statistics count on the two
   * tables (`n_tup_del`) and when they were last reset, and their files (a `TRUNCATE` or a rewrite gives
   * a table a new one). Best effort: statistics lag, and are lost with a crash or the embedded
   * database's process; `sync` also checks a merged corpus against the rows the database counts.
   */
  readonly history: string
}

const PREFIX = "gt1"

const check = (body: string): string => createHash("sha256").update(body).digest("hex").slice(0, 8)

/**
 * The tag of a database: its cluster's `system_identifier` (random per `initdb`, shared by physical
 * replicas, which share the transaction ids), its timeline (a point-in-time restore, which goes back to
 * earlier transaction ids, starts a new one) and the database's oid.
 *
 * @since 0.1.0
 */
export const databaseTag = (systemIdentifier: string, timeline: string, databaseOid: string): string =>
  createHash("sha256").update(`${systemIdentifier}/${timeline}/${databaseOid}`).digest("hex").slice(0, 12)

/**
 * The history tag: the deletions counted on `jobs` and `job_corrections`, and their file nodes.
 *
 * @since 0.1.0
 */
export const historyTag = (deletions: string, files: string): string =>
  createHash("sha256").update(`${deletions}/${files}`).digest("hex").slice(0, 8)

/** @since 0.1.0 */
export const encode = (cursor: Cursor): string => {
  const body = `${PREFIX}.${cursor.xmin}.${cursor.xmax}.${cursor.database}.${cursor.history}`
  return `${body}.${check(body)}`
}

const SHAPE = /^gt1\.(0|[1-9]\d{0,18})\.(0|[1-9]\d{0,18})\.([0-9a-f]{12})\.([0-9a-f]{8})\.([0-9a-f]{8})$/

/**
 * Reads a cursor: `None` for text that is not one of ours (another shape, a wrong check, `xmin` above
 * `xmax`, an id beyond 64 bits).
 *
 * @since 0.1.0
 */
export const decode = (text: string): Option.Option<Cursor> => {
  const m = SHAPE.exec(text)
  if (m === null || check(text.slice(0, text.length - 9)) !== m[5]) return Option.none()
  const xmin = BigInt(m[1])
  const xmax = BigInt(m[2])
  return xmin <= xmax && xmax < 2n ** 63n
    ? Option.some({ xmin, xmax, database: m[3], history: m[4] })
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
export const Staleness = Schema.Literal("other_database", "horizon", "deleted")

/** @since 0.1.0 */
export type Staleness = typeof Staleness.Type

/**
 * The database cannot answer for a cursor: it was taken on another database (or before a point-in-time
 * restore, whose transaction ids went another way), so long ago that the transaction ids have gone
 * round, or rows were deleted since. Only a full export helps.
 *
 * @since 0.1.0
 * @category errors
 */
export class StaleCursor extends Schema.TaggedError<StaleCursor>()("StaleCursor", {
  cursor: Schema.String,
  reason: Staleness
}) {
  override get message(): string {
    const why =
      this.reason === "other_database"
        ? "it was taken on another database, or on this one before a point-in-time restore or a failover"
        : this.reason === "horizon"
          ? "it is older than PostgreSQL's transaction-id horizon (2^31 transactions)"
          : "rows were deleted from jobs or job_corrections since (or a table was truncated or rewritten), " +
            "and an increment cannot name deleted jobs"
    return `the cursor ${this.cursor} cannot be answered: ${why}; take a full export and continue from its cursor`
  }
}

/**
 * Why the database cannot answer for `since` at the snapshot `now` (taken on `database`), if it cannot.
 *
 * @since 0.1.0
 */
export const staleness = (since: Cursor, now: Cursor): Option.Option<Staleness> =>
  since.database !== now.database || since.xmax > now.xmax
    ? Option.some("other_database")
    : now.xmax - since.xmin >= HORIZON
      ? Option.some("horizon")
      : since.history !== now.history
        ? Option.some("deleted")
        : Option.none()
