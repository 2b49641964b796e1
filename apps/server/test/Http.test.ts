/** Contract §7's client errors over HTTP, health, and the API documents. */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Version } from "@ground-truth/core"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Effect, Layer } from "effect"
import { baseUrl, type ErrorBody, get, json, raw, serve } from "./server.js"

const [embedded] = TestDatabase.targets()

layer(serve(embedded.layer), { timeout: 60_000 })("HTTP", (it) => {
  const cases: ReadonlyArray<readonly [string, string, string, string]> = [
    ["export", "approved=true", "unknown_parameter", "approved"],
    ["export", "approved_only=yes", "invalid_boolean", "approved_only"],
    ["export", "approved_only=", "invalid_boolean", "approved_only"],
    ["export", "approved_only", "invalid_boolean", "approved_only"],
    ["export", "has_corrections=TRUE", "invalid_boolean", "has_corrections"],
    ["export", "since=2025-06-01&since=2025-07-01", "repeated_parameter", "since"],
    ["export", "since=2025-13-01", "invalid_timestamp", "since"],
    ["export", "until=2025-06-01T10:00:00", "invalid_timestamp", "until"],
    ["export", "since=2025-06-02&until=2025-06-01", "invalid_range", "since"],
    ["export", "since=2025-06-01%27%3B%20DROP%20TABLE%20jobs%3B--", "invalid_timestamp", "since"],
    ["stats", "approved_only=true", "unknown_parameter", "approved_only"],
    ["stats", "until=yesterday", "invalid_timestamp", "until"]
  ]
  for (const [endpoint, query, code, parameter] of cases) {
    it.effect(`${endpoint}?${query} is a 400 ${code}`, () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const response = yield* get(`${base}/api/v1/ground-truth/${endpoint}?${query}`)
        expect(response.status).toBe(400)
        expect(response.headers.get("content-type")).toBe("application/json")
        const body = yield* json<ErrorBody>(response)
        expect(Object.keys(body)).toEqual(["error"])
        expect(body.error.code).toBe(code)
        expect(body.error.parameter).toBe(parameter)
        expect(typeof body.error.message).toBe("string")
        expect(body.error.message).toContain(parameter)
      })
    )
  }

  it.effect("an empty export is an empty 200 body", () =>
    Effect.gen(function* () {
      const base = yield* baseUrl
      const response = yield* get(`${base}/api/v1/ground-truth/export`)
      expect(response.status).toBe(200)
      expect(yield* Effect.promise(() => response.text())).toBe("")
    })
  )

  it.effect("healthz answers", () =>
    Effect.gen(function* () {
      const base = yield* baseUrl
      const response = yield* get(`${base}/healthz`)
      expect(response.status).toBe(200)
      expect(yield* json(response)).toEqual({ status: "ok", database: "embedded" })
    })
  )

  it.effect("serves the OpenAPI document and Swagger UI", () =>
    Effect.gen(function* () {
      const base = yield* baseUrl
      const spec = yield* Effect.flatMap(
        get(`${base}/openapi.json`),
        json<{ paths: Record<string, { get: { parameters: ReadonlyArray<{ name: string }> } }> }>
      )
      expect((spec as unknown as { info: { version: string } }).info.version).toBe(Version.version)
      expect(Object.keys(spec.paths).sort()).toEqual([
        "/api/v1/ground-truth/calibration",
        "/api/v1/ground-truth/changes",
        "/api/v1/ground-truth/eval",
        "/api/v1/ground-truth/export",
        "/api/v1/ground-truth/lint",
        "/api/v1/ground-truth/manifest",
        "/api/v1/ground-truth/plan",
        "/api/v1/ground-truth/plan/{id}",
        "/api/v1/ground-truth/report",
        "/api/v1/ground-truth/stats",
        "/api/v1/jobs/{id}",
        "/api/v1/jobs/{id}/approve",
        "/api/v1/jobs/{id}/corrections",
        "/api/v1/jobs/{id}/reject",
        "/healthz"
      ])
      const names = spec.paths["/api/v1/ground-truth/export"].get.parameters.map(
        (p: { name: string }) => p.name
      )
      expect(names.sort()).toEqual([
        "approved_only",
        "changed_since",
        "format",
        "has_corrections",
        "input",
        "plan",
        "shard",
        "since",
        "split",
        "split_by",
        "split_ratios",
        "split_seed",
        "until"
      ])
      // Evaluation takes predictions as NDJSON, or two models' as the parts of a multipart body.
      const evalBody = (
        spec as unknown as {
          paths: Record<string, { post: { requestBody: { content: Record<string, { schema: unknown }> } } }>
        }
      ).paths["/api/v1/ground-truth/eval"].post.requestBody.content
      expect(Object.keys(evalBody).sort()).toEqual(["application/x-ndjson", "multipart/form-data"])
      expect(evalBody["multipart/form-data"]!.schema).toMatchObject({
        type: "object",
        required: ["predictions"],
        properties: { predictions: { format: "binary" }, against: { format: "binary" } }
      })
      const docs = yield* get(`${base}/docs`)
      expect(docs.status).toBe(200)
      expect(yield* Effect.promise(() => docs.text())).toContain("swagger-ui")
    })
  )
})

// 120 jobs without events (in the preference format: no line each), then one whose trail cannot replay.
const silentThenBroken = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    INSERT INTO jobs (id, filename, source_kind, status, result, approved, created_at)
    SELECT ('10000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid, 'quiet.pdf', 'pdf', 'done',
           '{"header": {}}', true, '2024-01-01'::timestamptz + n * interval '1 minute'
    FROM generate_series(1, 120) n`
  yield* Golden.insertTampered("eeeeeeee-0000-4000-8000-00000000000e", "2025-01-01 00:00:00+00")
})

layer(serve(Layer.effectDiscard(silentThenBroken).pipe(Layer.provideMerge(embedded.layer))), {
  timeout: 60_000
})("batches that write nothing", (it) => {
  it.effect("a failure after them, before the first byte, is still a JSON error", () =>
    Effect.gen(function* () {
      const base = yield* baseUrl
      const response = yield* get(`${base}/api/v1/ground-truth/export?format=preference`)
      expect(response.status).toBe(500)
      expect((yield* json<ErrorBody>(response)).error.code).toBe("audit_trail_mismatch")
    })
  )
  it.effect("a client that accepts gzip gets that error plain", () =>
    Effect.gen(function* () {
      const base = yield* baseUrl
      const response = yield* raw(`${base}/api/v1/ground-truth/export?format=preference`, {
        "accept-encoding": "gzip"
      })
      expect(response.status).toBe(500)
      expect(response.headers["content-encoding"]).toBe(undefined)
      expect(JSON.parse(response.body.toString("utf8")).error.code).toBe("audit_trail_mismatch")
    })
  )
})
