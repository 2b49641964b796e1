/**
 * The shared golden suite over real HTTP: every filter combination and every stats case, on every test
 * database; the body bytes must equal the hand-written ones, which the CLI's tests check too.
 */
import { createHash } from "node:crypto"
import { gunzipSync } from "node:zlib"
import { expect, layer } from "@effect/vitest"
import { Version } from "@ground-truth/core"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Effect, Layer } from "effect"
import { baseUrl, bytes, get, json, raw, serve } from "./server.js"

for (const target of TestDatabase.targets()) {
  layer(serve(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer))), { timeout: 120_000 })(
    `HTTP golden on ${target.name}`,
    (it) => {
      for (const c of Golden.exportCases) {
        it.effect(`export ${c.name}`, () =>
          Effect.gen(function* () {
            const base = yield* baseUrl
            const response = yield* get(`${base}/api/v1/ground-truth/export?${Golden.query(c.params)}`, {
              headers: { "accept-encoding": "identity" }
            })
            expect(response.status).toBe(200)
            expect(response.headers.get("content-type")).toBe("application/x-ndjson")
            expect(response.headers.get("content-encoding")).toBe(null)
            const disposition = response.headers.get("content-disposition") ?? ""
            const date = /ground-truth-(\d{4}-\d{2}-\d{2})/.exec(disposition)?.[1] ?? "no date"
            expect(disposition).toBe(`attachment; filename="${Golden.fileName(c, date)}"`)
            const body = yield* bytes(response)
            expect(body.toString("utf8")).toBe(Golden.expectedExport(c).toString("utf8"))
            expect(body.equals(Golden.expectedExport(c))).toBe(true)
          })
        )
      }
      // Parquet, asked for by Accept: the bytes the CLI writes to --out X.parquet (its golden test).
      for (const c of Golden.exportCases) {
        it.effect(`export ${c.name}, Parquet`, () =>
          Effect.gen(function* () {
            const base = yield* baseUrl
            const response = yield* get(`${base}/api/v1/ground-truth/export?${Golden.query(c.params)}`, {
              headers: { accept: "application/vnd.apache.parquet", "accept-encoding": "gzip" }
            })
            expect(response.status).toBe(200)
            expect(response.headers.get("content-type")).toBe("application/vnd.apache.parquet")
            expect(response.headers.get("content-encoding")).toBe(null)
            const disposition = response.headers.get("content-disposition") ?? ""
            expect(disposition).toMatch(/^attachment; filename="ground-truth-[-\w]+\.parquet"$/)
            expect((yield* bytes(response)).equals(yield* Golden.expectedParquet(c))).toBe(true)
          })
        )
      }
      // What a browser, curl --compressed, Python's requests or Node's fetch ask for.
      for (const c of Golden.exportCases) {
        it.effect(`export ${c.name}, gzip`, () =>
          Effect.gen(function* () {
            const base = yield* baseUrl
            const response = yield* raw(`${base}/api/v1/ground-truth/export?${Golden.query(c.params)}`, {
              "accept-encoding": "gzip, deflate, br"
            })
            expect(response.status).toBe(200)
            // The body depends on both: Accept asks for Parquet, Accept-Encoding for gzip.
            expect(response.headers.vary).toBe("accept, accept-encoding")
            const expected = Golden.expectedExport(c)
            if (expected.length === 0) {
              expect(response.body.length).toBe(0)
              return
            }
            expect(response.headers["content-encoding"]).toBe("gzip")
            expect(response.body.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(true)
            expect(gunzipSync(response.body).equals(expected)).toBe(true)
          })
        )
      }
      for (const c of Golden.exportCases) {
        it.effect(`manifest ${c.name}`, () =>
          Effect.gen(function* () {
            const base = yield* baseUrl
            const response = yield* get(`${base}/api/v1/ground-truth/manifest?${Golden.query(c.params)}`)
            expect(response.status).toBe(200)
            expect(response.headers.get("content-type")).toBe("application/json")
            const expected = Golden.expectedExport(c)
            expect(yield* json(response)).toMatchObject({
              contract_version: "1",
              generator: Version.generator,
              format: c.format,
              rows: c.jobs.length,
              bytes: expected.length,
              sha256: createHash("sha256").update(expected).digest("hex")
            })
          })
        )
      }
      for (const c of Golden.reportCases) {
        it.effect(`report ${c.name}`, () =>
          Effect.gen(function* () {
            const base = yield* baseUrl
            const response = yield* get(`${base}/api/v1/ground-truth/report?${Golden.query(c.params)}`)
            expect(response.status).toBe(200)
            expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8")
            expect((yield* bytes(response)).toString("utf8")).toBe(Golden.expectedReport(c).toString("utf8"))
          })
        )
      }
      for (const c of Golden.statsCases) {
        it.effect(`stats ${c.name}`, () =>
          Effect.gen(function* () {
            const base = yield* baseUrl
            const response = yield* get(`${base}/api/v1/ground-truth/stats?${Golden.query(c.params)}`)
            expect(response.status).toBe(200)
            expect(response.headers.get("content-type")).toBe("application/json")
            expect((yield* bytes(response)).equals(Golden.expectedStats(c))).toBe(true)
          })
        )
      }
    }
  )
}
