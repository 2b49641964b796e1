import type { SqlClient } from "@effect/sql"
import type { Fragment } from "@effect/sql/Statement"
import { Either, Option } from "effect"
import type { Filter } from "../Filter.js"
import type * as Split from "../Split.js"
import * as Timestamp from "../Timestamp.js"
import { parseUtc } from "./utc.js"

/** `coalesce(reviewed_at, created_at)` in `[since, until)`, for the jobs table aliased `j`. */
export const windowConditions = (sql: SqlClient.SqlClient, filter: Pick<Filter, "since" | "until">) => {
  const out: Array<Fragment> = []
  if (Option.isSome(filter.since)) {
    out.push(
      sql`coalesce(j.reviewed_at, j.created_at) >= ${Timestamp.format(filter.since.value)}::timestamptz`
    )
  }
  if (Option.isSome(filter.until)) {
    out.push(
      sql`coalesce(j.reviewed_at, j.created_at) < ${Timestamp.format(filter.until.value)}::timestamptz`
    )
  }
  return out
}

/** The conditions of a whole export filter (contract §7), for the jobs table aliased `j`. */
export const filterConditions = (sql: SqlClient.SqlClient, filter: Filter) => {
  const out = windowConditions(sql, filter)
  if (filter.approvedOnly) out.push(sql`j.approved`)
  if (Option.isSome(filter.hasCorrections)) {
    const exists = sql`EXISTS (SELECT 1 FROM job_corrections c WHERE c.job_id = j.id)`
    out.push(filter.hasCorrections.value ? exists : sql`NOT ${exists}`)
  }
  return out
}

/**
 * Is a timestamptz expression one RFC 3339 can write (contract §6: years 0001–9999)? Not BC, not from
 * year 10000 on, not ±infinity; false for NULL.
 */
export const writable = (column: string) =>
  `${column} >= '0001-01-01 00:00:00+00' AND ${column} < '10000-01-01 00:00:00+00'`

/**
 * A timestamptz column as RFC 3339 UTC text with all six fractional digits, for `readUtc`. A time RFC
 * 3339 cannot write comes as PostgreSQL's UTC text with its era (`0044-03-15 12:00:00.000000 BC`) or
 * `infinity` instead, which `readUtc` names in its error: `to_char` alone drops the era and gives NULL
 * for the infinities. The `CASE` costs two comparisons; the fast `to_char` stays the path of every
 * writable time.
 */
export const utcText = (sql: SqlClient.SqlClient, column: string) =>
  sql.literal(
    `CASE WHEN ${writable(column)} THEN to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') ` +
      `ELSE coalesce(to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US BC'), ${column}::text) END`
  )

/** How errors name a column of one audit event: `job_corrections.corrected_at (event 17)`. */
export const eventColumn = (id: string, name: string): string => `job_corrections.${name} (event ${id})`

const ERA = /^(\d{4,})-(\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{6}) (AD|BC)$/

const RFC3339 = "cannot be written as an RFC 3339 timestamp"

/**
 * Reads what `utcText` selected: the instant, or (a string) why RFC 3339 cannot write it, quoting the
 * time as PostgreSQL writes it in UTC (`'0044-03-15 12:00:00+00 BC'`, which can be pasted into a query).
 */
export const readUtc = (text: string): Timestamp.Timestamp | string => {
  // The common shape first, without the `Either` of `Timestamp.parse` (two or three a row).
  const utc = parseUtc(text)
  if (utc !== undefined) return utc
  const t = Timestamp.parse(text)
  if (Either.isRight(t)) return t.right
  if (text === "infinity" || text === "-infinity") return `'${text}' ${RFC3339}: it is not a finite time`
  const m = ERA.exec(text)
  if (m === null) return t.left.message
  const fraction = m[3].replace(/0+$/, "")
  const shown = `${m[1]}-${m[2]}${fraction === "" ? "" : `.${fraction}`}+00${m[4] === "BC" ? " BC" : ""}`
  return `'${shown}' ${RFC3339}: years 0001–9999 only`
}

/**
 * `final_result.header.nomor_sprint` of a job (aliased `j`) when it is a string, else NULL: what
 * `Split.key` reads.
 */
export const NOMOR_SPRINT = `CASE WHEN jsonb_typeof(j.result #> '{header,nomor_sprint}') = 'string' THEN j.result #>> '{header,nomor_sprint}' END`

/**
 * A job's letter key (aliased `j`; `Split.key` by letter), in SQL: its number with ASCII whitespace
 * removed (a bracket of the six characters themselves: no class a locale could widen) and upper-cased
 * under the C collation (which maps ASCII `a`–`z` alone; the database's own would fold `é` too), unless
 * nothing is left; else the id. Twice as fast as `translate` on a UTF-8 database.
 */
export const letterKey = (sql: SqlClient.SqlClient) =>
  sql`coalesce(nullif(upper(regexp_replace(${sql.literal(NOMOR_SPRINT)}, ${"[ \t\n\v\f\r]+"}, '', 'g') COLLATE "C"), ''), lower(j.id::text))`

/** `Split.key` of a job (aliased `j`), in SQL. */
const splitKey = (sql: SqlClient.SqlClient, by: Split.By) =>
  by === "job" ? sql`lower(j.id::text)` : letterKey(sql)

/**
 * The jobs (aliased `j`) of a split, in SQL: `Split.assign`'s arithmetic on the first 32 bits of
 * SHA-256 of `seed:key` (the key alone without a seed), for counting a split without reading its ids.
 */
export const splitCondition = (sql: SqlClient.SqlClient, split: Split.Split) => {
  const [train, validation] = split.ratios
  const sum = split.ratios[0] + split.ratios[1] + split.ratios[2]
  const scaled = sql`(('x' || left(encode(sha256(convert_to(${split.seed === "" ? "" : `${split.seed}:`} || ${splitKey(sql, split.by)}, 'UTF8')), 'hex'), 8))::bit(32)::bigint * ${sql.literal(String(sum))})`
  const bound = (n: number) => sql.literal(String(BigInt(n) * 2n ** 32n))
  switch (split.name) {
    case "train":
      return sql`${scaled} < ${bound(train)}`
    case "validation":
      return sql`${scaled} >= ${bound(train)} AND ${scaled} < ${bound(train + validation)}`
    case "test":
      return sql`${scaled} >= ${bound(train + validation)}`
  }
}

/**
 * The conditions of a range of the export's order: the jobs after one key (`created_at` as text, `id`)
 * and up to another, `null` meaning from the start or to the end. Bounds as values, not looked up in the
 * statement: the planner then sees a narrow range of the (created_at, id) index (with a bound it cannot
 * see, it scans the whole table for every range). The time alone too: the planner estimates a row
 * comparison's rows as a third of the table, whatever its values, and would scan all of it.
 */
export const betweenConditions = (
  sql: SqlClient.SqlClient,
  bounds: {
    readonly after: { readonly createdAt: string; readonly id: string } | null
    readonly through: { readonly createdAt: string; readonly id: string } | null
  }
) => {
  const { after, through } = bounds
  const out: Array<Fragment> = []
  if (after !== null) {
    out.push(
      sql`j.created_at >= ${after.createdAt}::timestamptz`,
      sql`(j.created_at, j.id) > (${after.createdAt}::timestamptz, ${after.id}::uuid)`
    )
  }
  if (through !== null) {
    out.push(
      sql`j.created_at <= ${through.createdAt}::timestamptz`,
      sql`(j.created_at, j.id) <= (${through.createdAt}::timestamptz, ${through.id}::uuid)`
    )
  }
  return out
}

/**
 * The split of a job (aliased `j`) of a dataset, in SQL: its index in `Split.Name.literals` (0 train, 1
 * validation, 2 test), by `splitCondition`'s arithmetic.
 */
export const splitIndex = (sql: SqlClient.SqlClient, splitting: Split.Splitting) => {
  const [train, validation] = (["train", "validation"] as const).map((name) =>
    splitCondition(sql, { ...splitting, name })
  )
  return sql`CASE WHEN ${train} THEN 0 WHEN ${validation} THEN 1 ELSE 2 END`
}
