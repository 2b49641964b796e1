/**
 * Coverage stats (contract §8): how many jobs, approvals and corrections, and which fields reviewers
 * correct most. Over the whole database, or over the jobs whose sample time lies in `[since, until)`.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Layer, Schema } from "effect"
import * as Filter from "./Filter.js"
import { windowConditions } from "./internal/query.js"
import type { Job } from "./Sample.js"
import * as Snapshot from "./Snapshot.js"

/** @since 0.1.0 */
export class FieldCount extends Schema.Class<FieldCount>("FieldCount")({
  field_path: Schema.String,
  count: Schema.Number
}) {}

/**
 * The stats object. Its fields are declared in the order they are printed.
 *
 * @since 0.1.0
 */
export class Report extends Schema.Class<Report>("Report")({
  total_jobs: Schema.Number,
  approved_jobs: Schema.Number,
  total_corrections: Schema.Number,
  jobs_with_corrections: Schema.Number,
  top_corrected_fields: Schema.Array(FieldCount)
}) {}

/** How many fields `top_corrected_fields` lists. @since 0.1.0 */
export const TOP_FIELDS = 20

/** The time window stats accept. @since 0.1.0 */
export type Window = Pick<Filter.Filter, "since" | "until">

/**
 * The stats as one line of compact JSON, `\n` included: the same bytes on every path.
 *
 * @since 0.1.0
 */
export const encode = (s: Report): string =>
  `{"total_jobs":${s.total_jobs},"approved_jobs":${s.approved_jobs},"total_corrections":${s.total_corrections},` +
  `"jobs_with_corrections":${s.jobs_with_corrections},"top_corrected_fields":[` +
  s.top_corrected_fields
    .map((f) => `{"field_path":${JSON.stringify(f.field_path)},"count":${f.count}}`)
    .join(",") +
  "]}\n"

/** Byte order of UTF-8 strings (PostgreSQL's `COLLATE "C"`), which is code point order. */
const byteOrder = (a: string, b: string): number => {
  const x = Buffer.from(a, "utf8")
  const y = Buffer.from(b, "utf8")
  return Buffer.compare(x, y)
}

/**
 * Stats of in-memory jobs: the reference meaning of contract §8.
 *
 * @since 0.1.0
 */
export const fromJobs = (jobs: ReadonlyArray<Job>, window: Window): Report => {
  const inWindow = jobs.filter((job) =>
    Filter.matches({ ...Filter.defaults, ...window, approvedOnly: false }, job)
  )
  const counts = new Map<string, number>()
  for (const job of inWindow)
    for (const e of job.events) counts.set(e.fieldPath, (counts.get(e.fieldPath) ?? 0) + 1)
  const top = Array.from(counts, ([field_path, count]) => new FieldCount({ field_path, count }))
    .sort((a, b) => b.count - a.count || byteOrder(a.field_path, b.field_path))
    .slice(0, TOP_FIELDS)
  return new Report({
    total_jobs: inWindow.length,
    approved_jobs: inWindow.filter((job) => job.approved).length,
    total_corrections: inWindow.reduce((n, job) => n + job.events.length, 0),
    jobs_with_corrections: inWindow.filter((job) => job.events.length > 0).length,
    top_corrected_fields: top
  })
}

/**
 * The stats service.
 *
 * @since 0.1.0
 * @category services
 */
export class Stats extends Effect.Service<Stats>()("@ground-truth/core/Stats", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const get = (window: Window): Effect.Effect<Report, SqlError> => {
      const conditions = windowConditions(sql, window)
      // Without a window the corrections need no join: each count is one scan of one index.
      const corrections =
        conditions.length === 0
          ? sql`job_corrections c`
          : sql`job_corrections c JOIN jobs j ON j.id = c.job_id WHERE ${sql.and(conditions)}`
      return Effect.gen(function* () {
        const [jobs] = yield* sql<{ total: string; approved: string }>`
          SELECT count(*)::text AS total, count(*) FILTER (WHERE j.approved)::text AS approved
          FROM jobs j WHERE ${sql.and(conditions)}`
        const [withCorrections] = yield* sql<{ jobs: string }>`
          SELECT count(*)::text AS jobs FROM (SELECT DISTINCT c.job_id FROM ${corrections}) s`
        // The total over every field comes with the top ones: one pass instead of two.
        const top = yield* sql<{ field_path: string; count: string; total: string }>`
          SELECT c.field_path, count(*)::text AS count, (sum(count(*)) OVER ())::text AS total
          FROM ${corrections}
          GROUP BY c.field_path
          ORDER BY count(*) DESC, c.field_path COLLATE "C"
          LIMIT ${TOP_FIELDS}`
        return new Report({
          total_jobs: Number(jobs.total),
          approved_jobs: Number(jobs.approved),
          total_corrections: top.length === 0 ? 0 : Number(top[0].total),
          jobs_with_corrections: Number(withCorrections.jobs),
          top_corrected_fields: top.map(
            (r) => new FieldCount({ field_path: r.field_path, count: Number(r.count) })
          )
        })
      }).pipe(Snapshot.effect, Effect.provideService(SqlClient.SqlClient, sql))
    }
    return { get }
  })
}) {
  /** Stats over in-memory jobs, for tests and programs without a database. */
  static readonly layerTest = (jobs: ReadonlyArray<Job>): Layer.Layer<Stats> =>
    Layer.succeed(Stats, Stats.make({ get: (window) => Effect.succeed(fromJobs(jobs, window)) }))
}
