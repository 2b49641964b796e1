/**
 * Times contract §6 cannot write, over HTTP: the job view, the export and the report answer a JSON 500
 * whose message names the job and the column, never an empty "internal error".
 * (packages/db/test/ColumnValues.test.ts holds the whole table of values.)
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Effect, Layer } from "effect"
import { baseUrl, bytes, type ErrorBody, get, json, serve } from "./server.js"

const JOB = "c01a0000-0000-4000-8000-0000000000d4"
const RFC = "cannot be written as an RFC 3339 timestamp"

const setup = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql`
    INSERT INTO jobs (id, filename, source_kind, status, result, approved, reviewed_by, reviewed_at, created_at)
    VALUES (${JOB}::uuid, 'bc.pdf', 'pdf', 'done', '{"a": 2}', true, 'r', '0044-03-15 12:00:00+00 BC',
            '2025-06-02 00:00:00+00')`
)

const update = (column: "reviewed_at" | "corrected_at", value: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    column === "reviewed_at"
      ? sql`UPDATE jobs SET reviewed_at = ${value}::timestamptz WHERE id = ${JOB}::uuid`
      : sql`
          INSERT INTO job_corrections (id, job_id, field_path, old_value, new_value, corrected_by, corrected_at)
          OVERRIDING SYSTEM VALUE
          VALUES (7001, ${JOB}::uuid, 'a', '1', '2', 'r', ${value}::timestamptz)`
  )

for (const target of TestDatabase.targets()) {
  layer(serve(Layer.effectDiscard(setup).pipe(Layer.provideMerge(target.layer))), {
    timeout: 120_000,
    excludeTestServices: true
  })(`times that cannot be written, over HTTP on ${target.name}`, (it) => {
    it.effect(
      "the job view, the export and the report answer a JSON 500 naming the job and the column",
      () =>
        Effect.gen(function* () {
          const base = yield* baseUrl
          const expectError = (url: string, message: string) =>
            Effect.gen(function* () {
              const response = yield* get(url)
              expect(response.status).toBe(500)
              expect(response.headers.get("content-type")).toContain("application/json")
              expect(yield* json<ErrorBody>(response)).toEqual({ error: { code: "invalid_row", message } })
            })
          const bc = `job ${JOB}: cannot read reviewed_at: '0044-03-15 12:00:00+00 BC' ${RFC}: years 0001–9999 only`
          yield* expectError(`${base}/api/v1/jobs/${JOB}`, bc)
          yield* expectError(`${base}/api/v1/ground-truth/export`, bc)
          yield* expectError(`${base}/api/v1/ground-truth/report`, bc)

          yield* update("reviewed_at", "2025-06-03 00:00:00+00")
          yield* update("corrected_at", "infinity")
          const infinite = `job ${JOB}: cannot read job_corrections.corrected_at (event 7001): 'infinity' ${RFC}: it is not a finite time`
          yield* expectError(`${base}/api/v1/jobs/${JOB}`, infinite)
          yield* expectError(`${base}/api/v1/ground-truth/export`, infinite)
          // The report's charts read no event: they chart the job, and its lint section names it.
          const report = yield* get(`${base}/api/v1/ground-truth/report`)
          expect(report.status).toBe(200)
          expect((yield* bytes(report)).toString("utf8")).toContain(
            `Lint could not run: ${infinite.replaceAll("'", "&#39;")}.</p>`
          )
        }),
      120_000
    )
  })
}
