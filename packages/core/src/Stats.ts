/**
 * Coverage stats (contract §8): how many jobs, approvals and corrections, and which fields reviewers
 * correct most. Over the whole database, or over the jobs whose sample time lies in `[since, until)`.
 *
 * Beyond the contract's minimum: how many letters the jobs are (§13: jobs with one letter key) and how
 * many of those have copies, the corrected fields grouped across table rows (`personel[].nrp`) with
 * their correction rate, and `readiness`, the seed document's fine-tuning checklist made computable.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Schema } from "effect"
import * as FieldPath from "./FieldPath.js"
import * as Filter from "./Filter.js"
import { byteOrder } from "./internal/order.js"
import { letterKey, readUtc, utcText, windowConditions, writable } from "./internal/query.js"
import { InvalidRow } from "./internal/rows.js"
import * as Json from "./Json.js"
import type { Job } from "./Sample.js"
import * as Snapshot from "./Snapshot.js"
import * as Split from "./Split.js"
import type * as Timestamp from "./Timestamp.js"

/** @since 0.1.0 */
export class FieldCount extends Schema.Class<FieldCount>("FieldCount")({
  field_path: Schema.String,
  count: Schema.Number
}) {}

/**
 * A field across table rows (`personel[].nrp`): its corrections, and how many per job in the window
 * (the share of jobs where it was corrected, for a field corrected at most once per job).
 *
 * @since 0.1.0
 */
export class FieldGroup extends Schema.Class<FieldGroup>("FieldGroup")({
  field_path: Schema.String,
  count: Schema.Number,
  rate: Schema.Number.annotations({ description: "count / total_jobs, to 4 decimals" })
}) {}

/** Approved samples of one satuan (`null`: unknown) against the per-satuan minimum. @since 0.1.0 */
export class SatuanRows extends Schema.Class<SatuanRows>("SatuanRows")({
  satuan: Schema.NullOr(Schema.String),
  rows: Schema.Number,
  ready: Schema.Boolean
}) {}

/** Rows toward one fine-tuning bucket of the seed's checklist. @since 0.1.0 */
export class Bucket extends Schema.Class<Bucket>("Bucket")({
  rows: Schema.Number,
  minimum: Schema.Number,
  ready: Schema.Boolean
}) {}

/**
 * The seed's checklist: approved samples toward a header-extraction LoRA (~200–500), approved samples
 * with a personnel table (a non-empty `personel`) toward a PP-Structure table fine-tune (~1,000+), and
 * approved samples per satuan (~50 each; `ready_satuan` of `named_satuan` have enough).
 *
 * @since 0.1.0
 */
export class Readiness extends Schema.Class<Readiness>("Readiness")({
  header_lora: Bucket,
  pp_structure: Bucket,
  per_satuan: Schema.Struct({
    minimum: Schema.Number,
    ready_satuan: Schema.Number,
    named_satuan: Schema.Number,
    satuan: Schema.Array(SatuanRows)
  })
}) {}

/**
 * The stats object. Its fields are declared in the order they are printed.
 *
 * @since 0.1.0
 */
export class Report extends Schema.Class<Report>("Report")({
  total_jobs: Schema.Number,
  approved_jobs: Schema.Number,
  letters: Schema.Number.annotations({
    description: "how many letters the jobs are (contract §13: jobs with one letter key form one letter)"
  }),
  letters_with_copies: Schema.Number.annotations({
    description: "the letters with two or more jobs: how much of the corpus is duplicated"
  }),
  total_corrections: Schema.Number,
  jobs_with_corrections: Schema.Number,
  top_corrected_fields: Schema.Array(FieldCount),
  top_corrected_field_groups: Schema.Array(FieldGroup),
  readiness: Readiness
}) {}

/** The checklist's minimums (seed, "When is the dataset big enough to fine-tune?"). @since 0.1.0 */
export const minimums = { headerLora: 200, ppStructure: 1000, perSatuan: 50 } as const

/** How many fields `top_corrected_fields` lists. @since 0.1.0 */
export const TOP_FIELDS = 20

/** The time window stats accept. @since 0.1.0 */
export type Window = Pick<Filter.Filter, "since" | "until">

/** Jobs and approvals of one week (Monday, UTC) by sample time. @since 0.1.0 */
export interface Week {
  readonly week: string
  readonly jobs: number
  readonly approved: number
}

/**
 * A window's coverage, what the coverage report (`ReportPage.html`) shows: the stats report, its weeks,
 * and the window they cover.
 *
 * @since 0.1.0
 */
export interface Coverage {
  readonly report: Report
  readonly weeks: ReadonlyArray<Week>
  readonly window: Window
}

/**
 * The stats as one line of compact JSON, `\n` included: the same bytes on every path.
 *
 * @since 0.1.0
 */
export const encode = (s: Report): string => {
  const bucket = (b: Bucket) => `{"rows":${b.rows},"minimum":${b.minimum},"ready":${b.ready}}`
  const r = s.readiness
  return (
    `{"total_jobs":${s.total_jobs},"approved_jobs":${s.approved_jobs},"letters":${s.letters},` +
    `"letters_with_copies":${s.letters_with_copies},"total_corrections":${s.total_corrections},` +
    `"jobs_with_corrections":${s.jobs_with_corrections},"top_corrected_fields":[` +
    s.top_corrected_fields
      .map((f) => `{"field_path":${JSON.stringify(f.field_path)},"count":${f.count}}`)
      .join(",") +
    '],"top_corrected_field_groups":[' +
    s.top_corrected_field_groups
      .map((f) => `{"field_path":${JSON.stringify(f.field_path)},"count":${f.count},"rate":${f.rate}}`)
      .join(",") +
    `],"readiness":{"header_lora":${bucket(r.header_lora)},"pp_structure":${bucket(r.pp_structure)},` +
    `"per_satuan":{"minimum":${r.per_satuan.minimum},"ready_satuan":${r.per_satuan.ready_satuan},` +
    `"named_satuan":${r.per_satuan.named_satuan},"satuan":[` +
    r.per_satuan.satuan
      .map((x) => `{"satuan":${JSON.stringify(x.satuan)},"rows":${x.rows},"ready":${x.ready}}`)
      .join(",") +
    "]}}}\n"
  )
}

/** The first `TOP_FIELDS` of `counts`, by count descending, then field path in byte order. */
const top = (counts: ReadonlyMap<string, number>) =>
  Array.from(counts)
    .sort(([a, m], [b, n]) => n - m || byteOrder(a, b))
    .slice(0, TOP_FIELDS)

/**
 * What the database counts, in the window: jobs, approvals and approved samples with a personnel table
 * (a non-empty `personel` array) per satuan; corrections per path.
 */
interface Counts {
  readonly satuan: ReadonlyArray<{
    readonly satuan: string | null
    readonly jobs: number
    readonly approved: number
    readonly tables: number
  }>
  readonly jobsWithCorrections: number
  readonly fields: ReadonlyMap<string, number>
  readonly letters: number
  readonly lettersWithCopies: number
}

/** The report from the counts: totals, top fields, their groups and the readiness checklist. */
const report = (counts: Counts): Report => {
  const total = counts.satuan.reduce((n, s) => n + s.jobs, 0)
  const approved = counts.satuan.reduce((n, s) => n + s.approved, 0)
  const tables = counts.satuan.reduce((n, s) => n + s.tables, 0)
  const groups = new Map<string, number>()
  for (const [path, n] of counts.fields) {
    const group = FieldPath.group(path)
    groups.set(group, (groups.get(group) ?? 0) + n)
  }
  const bucket = (rows: number, minimum: number) => new Bucket({ rows, minimum, ready: rows >= minimum })
  const satuan = counts.satuan
    .map(
      (s) => new SatuanRows({ satuan: s.satuan, rows: s.approved, ready: s.approved >= minimums.perSatuan })
    )
    // The unknown satuan last among equals: it is no unit to tune for.
    .sort(
      (a, b) =>
        b.rows - a.rows || (a.satuan === null ? 1 : b.satuan === null ? -1 : byteOrder(a.satuan, b.satuan))
    )
  const named = satuan.filter((s) => s.satuan !== null)
  return new Report({
    total_jobs: total,
    approved_jobs: approved,
    letters: counts.letters,
    letters_with_copies: counts.lettersWithCopies,
    total_corrections: Array.from(counts.fields.values()).reduce((a, b) => a + b, 0),
    jobs_with_corrections: counts.jobsWithCorrections,
    top_corrected_fields: top(counts.fields).map(
      ([field_path, count]) => new FieldCount({ field_path, count })
    ),
    top_corrected_field_groups: top(groups).map(
      ([field_path, count]) =>
        new FieldGroup({ field_path, count, rate: Math.round((count / total) * 10_000) / 10_000 })
    ),
    readiness: new Readiness({
      header_lora: bucket(approved, minimums.headerLora),
      pp_structure: bucket(tables, minimums.ppStructure),
      per_satuan: {
        minimum: minimums.perSatuan,
        ready_satuan: named.filter((s) => s.ready).length,
        named_satuan: named.length,
        satuan
      }
    })
  })
}

/** Is a job in the window (approved or not)? */
const inside =
  (window: Window) =>
  (job: Job): boolean =>
    Filter.matches({ ...Filter.defaults, ...window, approvedOnly: false }, job)

/**
 * Stats of in-memory jobs: the reference meaning of contract §8.
 *
 * @since 0.1.0
 */
export const fromJobs = (jobs: ReadonlyArray<Job>, window: Window): Report => {
  const inWindow = jobs.filter(inside(window))
  const satuan = new Map<
    string | null,
    { satuan: string | null; jobs: number; approved: number; tables: number }
  >()
  const fields = new Map<string, number>()
  const letters = new Map<string, number>()
  for (const job of inWindow) {
    const key = Split.keyOf("letter", job.id, job.result)
    letters.set(key, (letters.get(key) ?? 0) + 1)
    const name = job.satuan ?? null
    const s = satuan.get(name) ?? { satuan: name, jobs: 0, approved: 0, tables: 0 }
    s.jobs++
    if (job.approved) s.approved++
    const personel =
      job.result !== undefined && Json.isObject(job.result) ? job.result.get("personel") : undefined
    if (job.approved && personel !== undefined && Json.isArray(personel) && personel.length > 0) s.tables++
    satuan.set(name, s)
    for (const e of job.events) fields.set(e.fieldPath, (fields.get(e.fieldPath) ?? 0) + 1)
  }
  return report({
    satuan: Array.from(satuan.values()),
    jobsWithCorrections: inWindow.filter((job) => job.events.length > 0).length,
    fields,
    letters: letters.size,
    lettersWithCopies: Array.from(letters.values()).filter((n) => n > 1).length
  })
}

/** Monday (UTC) of the week a time falls in, as `YYYY-MM-DD` (PostgreSQL's `date_trunc('week')`). */
const monday = (t: Timestamp.Timestamp): string => {
  const day = new Date(t.seconds * 1000)
  day.setUTCHours(0, 0, 0, 0)
  day.setUTCDate(day.getUTCDate() - ((day.getUTCDay() + 6) % 7))
  return day.toISOString().slice(0, 10)
}

/**
 * Jobs and approvals per week of in-memory jobs, by sample time: the reference of the service's weeks.
 *
 * @since 0.1.0
 */
export const weeksOf = (jobs: ReadonlyArray<Job>, window: Window): ReadonlyArray<Week> => {
  const weeks = new Map<string, { week: string; jobs: number; approved: number }>()
  for (const job of jobs.filter(inside(window))) {
    const week = monday(job.reviewedAt ?? job.createdAt)
    const w = weeks.get(week) ?? { week, jobs: 0, approved: 0 }
    w.jobs++
    if (job.approved) w.approved++
    weeks.set(week, w)
  }
  return Array.from(weeks.values()).sort((a, b) => (a.week < b.week ? -1 : 1))
}

/** A job's sample time (contract §7), for the jobs table aliased `j`. */
const SAMPLE_TIME = "coalesce(j.reviewed_at, j.created_at)"

/**
 * The stats service: `get` is the report, `coverage` the report and its weeks from one snapshot (what
 * the coverage page shows).
 *
 * @since 0.1.0
 * @category services
 */
export class Stats extends Effect.Service<Stats>()("@ground-truth/core/Stats", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const snapshot = yield* Snapshot.make
    /** The report's statements, to run inside a snapshot. */
    const counted = (window: Window): Effect.Effect<Report, SqlError> => {
      const conditions = windowConditions(sql, window)
      // Without a window the corrections need no join: each count is one scan of one index.
      const corrections =
        conditions.length === 0
          ? sql`job_corrections c`
          : sql`job_corrections c JOIN jobs j ON j.id = c.job_id WHERE ${sql.and(conditions)}`
      return Effect.gen(function* () {
        const satuan = yield* sql<{ satuan: string | null; jobs: string; approved: string; tables: string }>`
          SELECT j.satuan, count(*)::text AS jobs, count(*) FILTER (WHERE j.approved)::text AS approved,
                 count(*) FILTER (
                   WHERE j.approved AND jsonb_typeof(j.result -> 'personel') = 'array'
                     AND jsonb_array_length(j.result -> 'personel') > 0
                 )::text AS tables
          FROM jobs j WHERE ${sql.and(conditions)}
          GROUP BY j.satuan`
        const [withCorrections] = yield* sql<{ jobs: string }>`
          SELECT count(*)::text AS jobs FROM (SELECT DISTINCT c.job_id FROM ${corrections}) s`
        // Every path (a few hundred at most): the top ones, their groups and the total come from it.
        const fields = yield* sql<{ field_path: string; count: string }>`
          SELECT c.field_path, count(*)::text AS count FROM ${corrections} GROUP BY c.field_path`
        // The one statement that reads every job's result (its number): ~0.3 s at 100,000 jobs.
        const [letters] = yield* sql<{ letters: string; copies: string }>`
          SELECT count(*)::text AS letters, count(*) FILTER (WHERE s.n > 1)::text AS copies
          FROM (SELECT ${letterKey(sql)} AS k, count(*) AS n FROM jobs j WHERE ${sql.and(conditions)} GROUP BY 1) s`
        return report({
          satuan: satuan.map((s) => ({
            satuan: s.satuan,
            jobs: Number(s.jobs),
            approved: Number(s.approved),
            tables: Number(s.tables)
          })),
          jobsWithCorrections: Number(withCorrections.jobs),
          letters: Number(letters.letters),
          lettersWithCopies: Number(letters.copies),
          fields: new Map(fields.map((f) => [f.field_path, Number(f.count)]))
        })
      })
    }
    const weekly = (window: Window): Effect.Effect<ReadonlyArray<Week>, SqlError | InvalidRow> =>
      Effect.flatMap(
        // A sample time beyond RFC 3339 (BC, year 10000 on, ±infinity) has no week here (NULL, sorted
        // last); to_char would drop a BC time's era and mislabel it.
        sql<{ week: string | null; jobs: string; approved: string }>`
          SELECT CASE WHEN ${sql.literal(writable(SAMPLE_TIME))}
                   THEN to_char(date_trunc('week', ${sql.literal(SAMPLE_TIME)} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')
                 END AS week,
                 count(*)::text AS jobs, count(*) FILTER (WHERE j.approved)::text AS approved
          FROM jobs j WHERE ${sql.and(windowConditions(sql, window))}
          GROUP BY 1 ORDER BY 1`,
        (rows) =>
          rows.length > 0 && rows[rows.length - 1].week === null
            ? unplaceable(window)
            : Effect.succeed(
                rows.map((r) => ({
                  week: r.week as string,
                  jobs: Number(r.jobs),
                  approved: Number(r.approved)
                }))
              )
      )
    /** The first job (in export order) whose sample time has no week, as the export would name it. */
    const unplaceable = (window: Window) =>
      Effect.flatMap(
        sql<{ id: string; reviewed: boolean; time: string }>`
          SELECT j.id::text AS id, j.reviewed_at IS NOT NULL AS reviewed, ${utcText(sql, SAMPLE_TIME)} AS time
          FROM jobs j
          WHERE ${sql.and([...windowConditions(sql, window), sql.literal(`NOT (${writable(SAMPLE_TIME)})`)])}
          ORDER BY j.created_at, j.id LIMIT 1`,
        ([row]) => {
          const time = readUtc(row.time)
          return Effect.fail(
            new InvalidRow({
              jobId: row.id,
              column: row.reviewed ? "reviewed_at" : "created_at",
              detail: typeof time === "string" ? time : row.time
            })
          )
        }
      )
    const inSnapshot = <A, E>(effect: Effect.Effect<A, E>) => snapshot.effect(effect)
    return {
      get: (window: Window) => inSnapshot(counted(window)),
      coverage: (window: Window) => inSnapshot(Effect.all({ report: counted(window), weeks: weekly(window) }))
    }
  })
}) {}
