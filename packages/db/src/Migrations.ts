/**
 * The schema of contract §1, applied with the `@effect/sql` migrator. The HITL service may already own
 * these tables: every statement is `IF NOT EXISTS`, so an existing database keeps its tables and rows,
 * and running the migrations twice changes nothing.
 *
 * @since 0.1.0
 */
import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { Effect } from "effect"

const createTables = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS jobs (
      id            uuid PRIMARY KEY,
      filename      text NOT NULL,
      source_kind   text NOT NULL,
      satuan        text,
      status        text NOT NULL,
      result        jsonb,
      approved      boolean NOT NULL DEFAULT false,
      reviewed_by   text,
      reviewed_at   timestamptz,
      review_flags  text[] NOT NULL DEFAULT '{}',
      confidence    double precision,
      created_at    timestamptz NOT NULL DEFAULT now(),
      updated_at    timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`
    CREATE TABLE IF NOT EXISTS job_corrections (
      id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      job_id        uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
      field_path    text NOT NULL,
      old_value     jsonb,
      new_value     jsonb,
      corrected_by  text NOT NULL,
      reason        text,
      corrected_at  timestamptz NOT NULL DEFAULT now()
    )`
})

// The export walks jobs in (created_at, id) order and reads each job's events in (corrected_at, id)
// order; windows filter on the sample time.
const exportIndexes = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX IF NOT EXISTS jobs_created_at_id_idx ON jobs (created_at, id)`
  yield* sql`CREATE INDEX IF NOT EXISTS jobs_sample_time_idx ON jobs ((coalesce(reviewed_at, created_at)))`
  yield* sql`CREATE INDEX IF NOT EXISTS job_corrections_job_id_idx ON job_corrections (job_id, corrected_at, id)`
})

// Stats count jobs and approvals per sample-time window: with `approved` in the index that is an
// index-only scan (~0.1 s at 1M jobs) instead of a scan of the whole table with its results (~0.7 s).
const statsIndex = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE INDEX IF NOT EXISTS jobs_sample_time_approved_idx
    ON jobs ((coalesce(reviewed_at, created_at))) INCLUDE (approved)`
  yield* sql`DROP INDEX IF EXISTS jobs_sample_time_idx`
})

// Readiness counts approved jobs per satuan in the same window: `satuan` joins the window's index. (The
// PP-Structure count also reads each approved job's result, so that query is no longer index-only.)
const satuanIndex = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE INDEX IF NOT EXISTS jobs_sample_time_stats_idx
    ON jobs ((coalesce(reviewed_at, created_at))) INCLUDE (approved, satuan)`
  yield* sql`DROP INDEX IF EXISTS jobs_sample_time_approved_idx`
})

/** @since 0.1.0 */
export const loader = Migrator.fromRecord({
  "1_create_tables": createTables,
  "2_export_indexes": exportIndexes,
  "3_stats_index": statsIndex,
  "4_satuan_index": satuanIndex
})

/**
 * Creates the optional table of the letters' OCR texts when absent (`migrate --texts`; `seed-demo`): an
 * extension of the two tables of contract §1 that the HITL service may keep, one row per job it OCRed.
 * Not a migration: a database without texts never gets the table, and the export reads texts only
 * where it exists. The upstream service writes a job's text with its job (or updates it); deleting a
 * text alone is not a change an increment sees, so a text is removed by deleting or updating its job.
 *
 * @since 0.1.0
 */
export const texts = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS job_texts (
      job_id    uuid PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
      ocr_text  text NOT NULL
    )`
})

/** The table that records applied migrations, named so it cannot collide with the HITL service's own. */
export const table = "ground_truth_migrations"

/**
 * Applies the migrations not applied yet; returns the ones it applied.
 *
 * @since 0.1.0
 */
export const run = Migrator.make({})({ loader, table })
