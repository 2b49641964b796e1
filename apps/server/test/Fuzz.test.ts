/**
 * Hostile query strings: random and malicious names and values, odd encodings, repeats, SQL fragments,
 * long values. The server must never answer 5xx: a query the filter parser accepts gets 200 with the
 * corpus, any other the §7 400 JSON naming the same code and parameter; and the database is untouched.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Filter } from "@ground-truth/core"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Effect, Either, FastCheck as fc, Layer } from "effect"
import { baseUrl, bytes, type ErrorBody, get, serve } from "./server.js"

const RUNS = 400

const name = fc.oneof(
  fc.constantFrom(
    "approved_only",
    "has_corrections",
    "since",
    "until",
    "approved",
    "",
    "since[]",
    "__proto__",
    "constructor",
    "APPROVED_ONLY",
    "since\u0000",
    "until;DROP TABLE jobs"
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 6 })
)

const value = fc.oneof(
  fc.constantFrom(...Golden.hostileValues),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  // Long, within the 64 KB the server reads (five of them, percent-encoded, stay below it).
  fc.string({ minLength: 1000, maxLength: 3000 })
)

/** Bytes percent-encoded: lone surrogates become U+FFFD on the way, as in any UTF-8 URL. */
const encode = (s: string) =>
  Array.from(new TextEncoder().encode(s), (b) =>
    /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b))
      ? String.fromCharCode(b)
      : `%${b.toString(16).padStart(2, "0")}`
  ).join("")

const query = fc
  .tuple(
    fc.array(fc.tuple(name, value), { maxLength: 5 }),
    fc.constantFrom("", "&", "&&", "&%ZZ=%E0%A4", "&since", "&=x", "&approved_only=true&approved_only=true")
  )
  .map(([pairs, raw]) => pairs.map(([k, v]) => `${encode(k)}=${encode(v)}`).join("&") + raw)

/** Every row of both tables, as text: equal before and after means nothing was written. */
const fingerprint = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    sql<{ jobs: string; corrections: string; tables: string }>`
    SELECT
      (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM jobs t) AS jobs,
      (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM job_corrections t) AS corrections,
      (SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public') AS tables`
)

for (const target of TestDatabase.targets()) {
  layer(serve(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer))), { timeout: 300_000 })(
    `hostile query strings on ${target.name}`,
    (it) => {
      it.effect(`${RUNS} random queries per endpoint: 200 or the §7 400, never 5xx, database untouched`, () =>
        Effect.gen(function* () {
          const base = yield* baseUrl
          const before = yield* fingerprint
          const statuses = new Map<number, number>()
          const cases = fc.sample(query, { numRuns: RUNS, seed: 20261125 })
          for (const [endpoint, accept] of [
            ["export", Filter.exportParameters],
            ["stats", Filter.statsParameters]
          ] as const) {
            for (const qs of cases) {
              const response = yield* get(`${base}/api/v1/ground-truth/${endpoint}?${qs}`)
              statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
              const body = yield* bytes(response)
              const expected = Filter.parse(Array.from(new URLSearchParams(qs)), { accept })
              if (Either.isRight(expected)) {
                expect(response.status, qs).toBe(200)
                if (endpoint === "export")
                  expect(body.length === 0 || body[body.length - 1] === 0x0a).toBe(true)
              } else {
                expect(response.status, qs).toBe(400)
                const error = (JSON.parse(body.toString("utf8")) as ErrorBody).error
                expect(error.code).toBe(expected.left.code)
                expect(error.parameter).toBe(expected.left.parameter)
              }
            }
          }
          expect(yield* fingerprint).toEqual(before)
          console.log(
            `fuzz on ${target.name}: ${2 * RUNS} hostile queries, statuses ${JSON.stringify(Object.fromEntries(statuses))}, ` +
              "database unchanged"
          )
        })
      )
    }
  )
}
