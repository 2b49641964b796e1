import type { SqlClient } from "@effect/sql"
import type { Fragment } from "@effect/sql/Statement"
import { Option } from "effect"
import type { Filter } from "../Filter.js"
import * as Timestamp from "../Timestamp.js"

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

/** A timestamptz column as RFC 3339 UTC text with all six fractional digits, for `Timestamp.parse`. */
export const utcText = (sql: SqlClient.SqlClient, column: string) =>
  sql.literal(`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`)
