import { SqlClient } from "@effect/sql"
import { describe, expect, layer } from "@effect/vitest"
import { Export, Filter } from "@ground-truth/core"
import { Golden } from "@ground-truth/golden"
import { Effect, Layer, Stream } from "effect"
import { Migrations, TestDatabase } from "../src/index.js"

// The HITL service's own DDL, verbatim from contract §1, as a database that predates this project has it.
const contractDdl = `
create table jobs (
  id            uuid primary key,
  filename      text not null,
  source_kind   text not null,
  satuan        text,
  status        text not null,
  result        jsonb,
  approved      boolean not null default false,
  reviewed_by   text,
  reviewed_at   timestamptz,
  review_flags  text[] not null default '{}',
  confidence    double precision,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now()
);
create table job_corrections (
  id            bigint generated always as identity primary key,
  job_id        uuid not null references jobs(id) on delete cascade,
  field_path    text not null,
  old_value     jsonb,
  new_value     jsonb,
  corrected_by  text not null,
  reason        text,
  corrected_at  timestamptz not null default now()
);`

const snapshot = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const jobs = yield* sql`SELECT to_jsonb(j)::text AS row FROM jobs j ORDER BY id`
  const events = yield* sql`SELECT to_jsonb(c)::text AS row FROM job_corrections c ORDER BY id`
  return [jobs, events]
})

describe("migrations", () => {
  for (const target of TestDatabase.targets({ migrate: false })) {
    layer(Layer.merge(target.layer, Export.Export.Default.pipe(Layer.provide(target.layer))), {
      timeout: 60_000
    })(target.name, (it) => {
      it.effect("leave an existing database's tables and rows intact, add indexes, and are idempotent", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* sql.unsafe(contractDdl)
          yield* Golden.load
          const before = yield* snapshot

          const applied = yield* Migrations.run
          expect(applied.map(([id, name]) => `${id}_${name}`)).toEqual([
            "1_create_tables",
            "2_export_indexes",
            "3_stats_index",
            "4_satuan_index"
          ])
          expect(yield* snapshot).toEqual(before)
          expect(yield* Migrations.run).toEqual([])

          const indexes = yield* sql<{ indexname: string }>`
              SELECT indexname FROM pg_indexes WHERE tablename IN ('jobs', 'job_corrections') ORDER BY indexname`
          expect(indexes.map((r) => r.indexname)).toEqual(
            expect.arrayContaining([
              "job_corrections_job_id_idx",
              "jobs_created_at_id_idx",
              "jobs_sample_time_stats_idx"
            ])
          )
          expect(indexes.map((r) => r.indexname)).not.toContain("jobs_sample_time_idx")
          expect(indexes.map((r) => r.indexname)).not.toContain("jobs_sample_time_approved_idx")

          // The export works on the pre-existing data.
          const exporter = yield* Export.Export
          const filter = yield* Filter.parse([["approved_only", "false"]])
          const bytes = yield* Stream.runFold(
            exporter.stream(filter),
            "",
            (s, b) => s + Buffer.from(b).toString("utf8")
          )
          const all = Golden.exportCases.find((c) => c.name === "approved_only=false window=none")!
          expect(bytes).toBe(Golden.expectedExport(all).toString("utf8"))

          // The letters' texts are optional: the migrations never create their table (the golden fixture
          // did); migrate --texts does, and leaves one that is there as it is.
          const table = Effect.map(
            sql<{ readonly t: string | null }>`SELECT to_regclass('job_texts')::text AS t`,
            ([row]) => row.t
          )
          const texts = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM job_texts`
          expect(texts[0].n).toBeGreaterThan(0)
          yield* Migrations.texts
          expect(yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM job_texts`).toEqual(texts)
          yield* sql`DROP TABLE job_texts`
          expect(yield* Migrations.run).toEqual([])
          expect(yield* table).toBeNull()
          yield* Migrations.texts
          expect(yield* table).toBe("job_texts")
        })
      )
    })
  }
})

/** What the schema is: every column, default, constraint and index of the public schema, and the migrations applied. */
const schema = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const columns = yield* sql`
    SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity
    FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, column_name`
  const constraints = yield* sql`
    SELECT conrelid::regclass::text AS rel, conname, pg_get_constraintdef(oid) AS def
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY rel, conname`
  const indexes = yield* sql`
    SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname`
  const applied = yield* sql`SELECT migration_id, name FROM ${sql(Migrations.table)} ORDER BY migration_id`
  return { columns, constraints, indexes, applied }
})

describe("embedded test databases", () => {
  // Made twice: the first may be the one the template is made from, the second is then its copy.
  const fresh = Layer.effectDiscard(Migrations.run).pipe(
    Layer.provideMerge(TestDatabase.embedded({ migrate: false }))
  )
  layer(Layer.merge(fresh, Layer.effectDiscard(Effect.scoped(Layer.build(TestDatabase.embedded())))), {
    timeout: 60_000
  })("a copy of the migrated template", (it) => {
    it.effect("has the schema the migrations give a new database, and no rows", () =>
      Effect.gen(function* () {
        const made = yield* schema
        const copied = yield* Effect.scoped(
          Effect.flatMap(Layer.build(TestDatabase.embedded()), (context) =>
            Effect.provide(
              Effect.gen(function* () {
                const sql = yield* SqlClient.SqlClient
                const [{ n }] = yield* sql<{ readonly n: number }>`
                  SELECT ((SELECT count(*) FROM jobs) + (SELECT count(*) FROM job_corrections))::int AS n`
                return { ...(yield* schema), rows: n }
              }),
              context
            )
          )
        )
        expect(made.indexes.length).toBeGreaterThan(3)
        expect(copied).toEqual({ ...made, rows: 0 })
      })
    )
  })
})
