/**
 * Deeply nested values over HTTP (issue 13): a correction 5,000 levels deep is recorded, shown and
 * exported exactly; a body the database could not store, or no JSON at all however deep it opens, is
 * a 400 with a JSON error, never a 500 or an empty answer.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Effect } from "effect"
import { baseUrl, type ErrorBody, get, json, serve } from "./server.js"

const LEVELS = 5_000

/**
 * `LEVELS` containers, objects whose keys need sorting and arrays, as a client might send them; an object
 * at the root, as the result schema wants a result.
 */
const sent = `{"b": [`.repeat(LEVELS / 2) + '"leaf"' + `], "aa": 0}`.repeat(LEVELS / 2)
const canonical = `{"aa":0,"b":[`.repeat(LEVELS / 2) + '"leaf"' + `]}`.repeat(LEVELS / 2)

const correct = (url: string, body: string) =>
  get(url, { method: "POST", headers: { "content-type": "application/json", "x-user-id": "r" }, body })

const text = (response: Response) => Effect.promise(() => response.text())

for (const target of TestDatabase.targets()) {
  layer(serve(target.layer), { timeout: 120_000, excludeTestServices: true })(
    `deep values over HTTP on ${target.name}`,
    (it) => {
      it.effect(`a correction ${LEVELS} levels deep is recorded, shown and exported exactly`, () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const base = yield* baseUrl
          const job = "d1000000-0000-4000-8000-000000000001"
          yield* sql`
            INSERT INTO jobs (id, filename, source_kind, status, result, created_at)
            VALUES (${job}::uuid, 'deep.pdf', 'pdf', 'done', NULL, '2025-08-01T00:00:00Z')`
          const created = yield* correct(
            `${base}/api/v1/jobs/${job}/corrections`,
            `{"field_path": "", "new_value": ${sent}, "reason": "deep"}`
          )
          expect(created.status).toBe(201)
          const event = (yield* text(created)).slice(0, -1)
          expect(
            event.startsWith(`{"event_id":"`) &&
              event.includes(
                `"job_id":"${job}","field_path":"","old_value":null,"new_value":${canonical},"corrected_by":"r","reason":"deep","corrected_at":"`
              )
          ).toBe(true)

          const view = yield* get(`${base}/api/v1/jobs/${job}`)
          expect(view.status).toBe(200)
          const shown = yield* text(view)
          expect(
            shown ===
              `{"job_id":"${job}","filename":"deep.pdf","approved":false,"reviewed_by":null,"reviewed_at":null,` +
                `"result":${canonical},"corrections":[${event}]}\n`
          ).toBe(true)

          const exported = yield* get(
            `${base}/api/v1/ground-truth/export?approved_only=false&since=2025-08-01&until=2025-08-02`
          )
          expect(exported.status).toBe(200)
          const line = yield* text(exported)
          const correctedAt = /"corrected_at":"([^"]+)"/.exec(event)![1]
          expect(
            line ===
              `{"job_id":"${job}","filename":"deep.pdf","source_kind":"pdf","approved":false,"reviewed_by":null,` +
                `"reviewed_at":null,"created_at":"2025-08-01T00:00:00Z","initial_result":null,"final_result":${canonical},` +
                `"corrections":[{"field_path":"","old_value":null,"new_value":${canonical},"corrected_by":"r",` +
                `"reason":"deep","corrected_at":"${correctedAt}"}],"review_flags":[],"confidence":null}\n`
          ).toBe(true)
        })
      )

      it.effect("what cannot be parsed or stored is a 400 with a JSON error", () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const base = yield* baseUrl
          const job = "d1000000-0000-4000-8000-000000000002"
          yield* sql`
            INSERT INTO jobs (id, filename, source_kind, status, result, created_at)
            VALUES (${job}::uuid, 'shallow.pdf', 'pdf', 'done', '{}', '2025-08-02T00:00:00Z')`
          const url = `${base}/api/v1/jobs/${job}/corrections`
          // A million '[' and nothing else; then a correction 400,000 levels deep, well-formed and
          // under the 1 MiB limit, that no database stores.
          const deep = 400_000
          const cases = [
            ["[".repeat(1_000_000), "invalid_body"],
            [`{"field_path":"a","new_value":${"[".repeat(deep)}${"]".repeat(deep)}}`, "invalid_value"]
          ] as const
          for (const [body, code] of cases) {
            const response = yield* correct(url, body)
            expect(response.status).toBe(400)
            expect(response.headers.get("content-type")).toBe("application/json")
            expect((yield* json<ErrorBody>(response)).error.code).toBe(code)
          }
          const [{ n }] = yield* sql<{ readonly n: number }>`
            SELECT count(*)::int AS n FROM job_corrections WHERE job_id = ${job}::uuid`
          expect(n).toBe(0)
        })
      )
    }
  )
}
