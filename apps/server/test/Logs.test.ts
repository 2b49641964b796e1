/**
 * What the server's log holds: jobs, events, paths, codes and token digests, never a value of the corpus
 * (personnel names, NRPs, times) nor a secret sent in the query. Every kind of failure that reaches the
 * log is triggered against planted values, and the whole output is searched for them.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Effect, Layer } from "effect"
import { type ErrorBody, realSleep, serverProcess } from "./server.js"

const BEFORE = "10900000-0000-4000-8000-000000000001"
const AFTER = "10900000-0000-4000-8000-000000000002"
const BAD_TIME = "10900000-0000-4000-8000-000000000003"
const BAD_PATH = "10900000-0000-4000-8000-000000000004"
const GOOD = "10900000-0000-4000-8000-000000000005"

const REVIEW_TOKEN = "review-token-b7f3c9d1e5a2"
/** In the query, where the API takes no token: each must be redacted, whatever its spelling. */
const QUERY_SECRETS = [
  "qs-secret-1-a8d2",
  "qs-secret-2-c4e6",
  "qs-secret-3-f1b9",
  "qs-secret-4-d7a3",
  "qs-secret-5-e2c8"
]

/** Values of the corpus (names, NRPs, an unwritable time) and the secrets: none may be in the log. */
const PLANTED = [
  "Dewi",
  "Wijaya",
  "Siti",
  "Hartono",
  "Agus",
  "Budi",
  "Santoso",
  "Rina",
  "Kusuma",
  "Wulan",
  "77060001",
  "88070002",
  "0044-03-15",
  REVIEW_TOKEN,
  ...QUERY_SECRETS
]

/**
 * Jobs in their own months: a trail that does not replay on the first job of January (the export fails
 * before its first byte) and after 60 good jobs in February (after; the first batch holds 50 jobs), an
 * event time RFC 3339 cannot write in March, an event path that is not one in April, and in May a job to
 * correct.
 */
const fixture = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    INSERT INTO jobs (id, filename, source_kind, status, result, approved, created_at) VALUES
      (${BEFORE}::uuid, 'a.pdf', 'pdf', 'done', '{"personel": [{"nama": "Dewi Wijaya", "nrp": "77060001"}]}', true, '2024-01-10 00:00:00+00'),
      (${AFTER}::uuid, 'b.pdf', 'pdf', 'done', '{"personel": [{"nama": "Rina Kusuma", "nrp": "88070002"}]}', true, '2024-02-20 00:00:00+00'),
      (${BAD_TIME}::uuid, 'c.pdf', 'pdf', 'done', '{"personel": [{"nama": "Dewi Wijaya"}]}', true, '2024-03-10 00:00:00+00'),
      (${BAD_PATH}::uuid, 'd.pdf', 'pdf', 'done', '{"personel": [{"nama": "Dewi Wijaya"}]}', true, '2024-04-10 00:00:00+00'),
      (${GOOD}::uuid, 'e.pdf', 'pdf', 'done', '{"header": {"perihal": "Dewi Wijaya"}, "personel": [{"nama": "Siti Hartono"}]}', true, '2024-05-10 00:00:00+00')`
  yield* sql`
    INSERT INTO jobs (id, filename, source_kind, status, result, approved, created_at)
    SELECT ('10900000-0000-4000-8000-1' || lpad(n::text, 11, '0'))::uuid, 'ok.pdf', 'pdf', 'done',
           '{"personel": [{"nama": "Budi Santoso", "nrp": "77060001"}]}', true,
           '2024-02-01 00:00:00+00'::timestamptz + n * interval '1 minute'
    FROM generate_series(1, 60) n`
  yield* sql`
    INSERT INTO job_corrections (id, job_id, field_path, old_value, new_value, corrected_by, corrected_at)
    OVERRIDING SYSTEM VALUE VALUES
      (9001, ${BEFORE}::uuid, 'personel[0].nama', '"Agus Hidayat"', '"Siti Hartono"', 'Wulan Sari', '2024-01-10 01:00:00+00'),
      (9002, ${AFTER}::uuid, 'personel[0].nama', '"Agus Hidayat"', '"Wulan Sari"', 'Siti Hartono', '2024-02-20 01:00:00+00'),
      (9003, ${BAD_TIME}::uuid, 'personel[0].nama', '"Agus Hidayat"', '"Dewi Wijaya"', 'Siti Hartono', '0044-03-15 12:00:00+00 BC'),
      (9004, ${BAD_PATH}::uuid, 'personel[0]..nama', '"Agus Hidayat"', '"Dewi Wijaya"', 'Siti Hartono', '2024-04-10 01:00:00+00')`
})

/** A log entry: its message and annotations. */
interface Entry {
  readonly message: string
  readonly annotations: Record<string, unknown>
}

for (const target of TestDatabase.targets()) {
  layer(Layer.effectDiscard(fixture).pipe(Layer.provideMerge(target.layer)), {
    timeout: 120_000,
    excludeTestServices: true
  })(`the server's log on ${target.name}`, (it) => {
    it.scoped(
      "names jobs, events, paths and codes; holds no value of the corpus and no secret of the query",
      () =>
        Effect.gen(function* () {
          const { url } = yield* TestDatabase.TestDatabase
          const server = yield* serverProcess(url, [], { GROUND_TRUTH_REVIEW_TOKENS: REVIEW_TOKEN })
          const send = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
            Effect.promise(async () => {
              try {
                const response = await fetch(`${server.base}${path}`, {
                  method,
                  headers: { authorization: `Bearer ${REVIEW_TOKEN}`, ...headers },
                  ...(body === undefined ? {} : { body })
                })
                return { status: response.status, text: await response.text() }
              } catch {
                // The export cut mid-way: the reset may come before the client has read the status.
                return { status: 0, text: "" }
              }
            })
          const errorOf = (text: string) => (JSON.parse(text) as ErrorBody).error

          // The replay errors, before the first byte and after it.
          const before = yield* send("GET", "/api/v1/ground-truth/export?since=2024-01-01&until=2024-02-01")
          expect(before.status).toBe(500)
          const evaluated = yield* send(
            "POST",
            "/api/v1/ground-truth/eval?since=2024-01-01&until=2024-02-01",
            `{"job_id":"${BEFORE}","result":{"personel":[{"nama":"Dewi Wijaya"}]}}\n`
          )
          expect(evaluated.status).toBe(500)
          const after = yield* send("GET", "/api/v1/ground-truth/export?since=2024-02-01&until=2024-03-01")
          expect(after.text).toBe("")
          // Invalid rows and events: the answer may quote the unwritable time, the log may not.
          const badTime = yield* send("GET", "/api/v1/ground-truth/export?since=2024-03-01&until=2024-04-01")
          expect(errorOf(badTime.text).code).toBe("invalid_row")
          expect((yield* send("GET", `/api/v1/jobs/${BAD_TIME}`)).status).toBe(500)
          const badPath = yield* send("GET", "/api/v1/ground-truth/export?since=2024-04-01&until=2024-05-01")
          expect(errorOf(badPath.text).code).toBe("invalid_correction_event")
          // Secrets in the query, in the spellings the parser takes for one name and others.
          const query =
            `since=2024-01-01&access_token=${QUERY_SECRETS[0]}&%61ccess_token=${QUERY_SECRETS[1]}` +
            `&ACCESS_TOKEN=${QUERY_SECRETS[2]}&api_key=${QUERY_SECRETS[3]}&Since=${QUERY_SECRETS[4]}`
          expect((yield* send("GET", `/api/v1/ground-truth/stats?${query}`)).status).toBe(400)
          // Review writes refused, with values and a reviewer's name in them; then a job's view.
          const correct = (body: string) =>
            Effect.map(
              send("POST", `/api/v1/jobs/${GOOD}/corrections`, body, {
                "x-user-id": "Dewi Wijaya",
                "content-type": "application/json"
              }),
              (r) => errorOf(r.text).code
            )
          expect(yield* correct('{"field_path":"header.perihal","new_value":"Siti\\u0000Hartono"}')).toBe(
            "invalid_value"
          )
          expect(yield* correct('{"field_path":"header.perihal","new_value":"Dewi Wijaya"}')).toBe(
            "no_change"
          )
          expect(yield* correct('{"field_path":"personel[5].nama","new_value":"Budi Santoso"}')).toBe(
            "precondition_failed"
          )
          expect(yield* correct('{"field_path":"personel[0]..nama","new_value":"Budi Santoso"}')).toBe(
            "invalid_path"
          )
          expect(yield* correct('{"field_path":"header.perihal","nrp":"77060001"}')).toBe("invalid_body")
          expect((yield* send("GET", `/api/v1/jobs/${GOOD}`)).status).toBe(200)

          const requests = 13
          const entries = () =>
            server
              .output()
              .trimEnd()
              .split("\n")
              .map((line) => JSON.parse(line) as Entry)
          const logged = () => entries().filter((e) => e.message.startsWith("request"))
          for (let i = 0; i < 100 && logged().length < requests; i++) yield* realSleep(100)
          expect(logged()).toHaveLength(requests)

          const output = server.output()
          expect(PLANTED.filter((value) => output.includes(value))).toEqual([])

          // What the log does say.
          const failures = entries().filter((e) => e.message.startsWith("export "))
          expect(failures.map((e) => [e.message, e.annotations])).toEqual([
            [
              "export failed before streaming",
              {
                error: "audit_trail_mismatch",
                job_id: BEFORE,
                event_id: "9001",
                field_path: "personel[0].nama",
                reason: "value_differs"
              }
            ],
            [
              "export aborted after streaming began",
              {
                error: "audit_trail_mismatch",
                job_id: AFTER,
                event_id: "9002",
                field_path: "personel[0].nama",
                reason: "value_differs"
              }
            ],
            [
              "export failed before streaming",
              { error: "invalid_row", job_id: BAD_TIME, column: "job_corrections.corrected_at (event 9003)" }
            ],
            [
              "export failed before streaming",
              {
                error: "invalid_correction_event",
                job_id: BAD_PATH,
                event_id: "9004",
                field_path: "personel[0]..nama"
              }
            ]
          ])
          // The answers to the client name the job, the event and the path, and hold no value either.
          for (const answer of [before, evaluated]) {
            const error = errorOf(answer.text)
            expect(error.code).toBe("audit_trail_mismatch")
            expect(error.message).toBe(
              `audit trail of job ${BEFORE} does not explain its result at event 9001 ("personel[0].nama"): ` +
                "the value at the path differs from the expected one; expected a string of 12 characters, " +
                "found a string of 11 characters"
            )
          }
          const cut = logged().find((e) => e.message === "request failed")
          expect(cut?.annotations).toMatchObject({ outcome: "failed", cause: "AuditTrailMismatch" })
          const stats = logged().find((e) => e.annotations.path === "/api/v1/ground-truth/stats")
          expect(stats?.annotations.query).toBe(
            "?since=2024-01-01&access_token=[redacted]&%61ccess_token=[redacted]" +
              "&ACCESS_TOKEN=[redacted]&api_key=[redacted]&Since=[redacted]"
          )
        }),
      120_000
    )
  })
}
