/**
 * Plans over HTTP (contract §15): `GET /plan` holds a snapshot and answers the plan; `GET
 * /export?plan=ID&shard=I` streams its shards, concatenated the golden bytes, also after writes to the
 * database; the server holds at most `GROUND_TRUTH_PLANS` (one more is a 429 with `Retry-After`, never
 * a wait), each for its hold; a shard in Parquet is the Parquet file of its lines; a stopped or expired
 * plan's shard is a 410 `plan_gone`; what does not apply
 * is a 400 naming the parameter; on the embedded database a plan is a 501.
 */
import * as zlib from "node:zlib"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Parquet } from "@ground-truth/core"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Cause, Chunk, Effect, Exit, Layer, Stream } from "effect"
import { baseUrl, bytes, type ErrorBody, get, json, raw, realSleep, serve, serverProcess } from "./server.js"

interface PlanBody {
  readonly id: string
  readonly cursor: string
  readonly jobs: number
  readonly expires_at: string
  readonly shards: ReadonlyArray<{ readonly shard: number; readonly jobs: number }>
}

const api = (base: string) => `${base}/api/v1/ground-truth`

/** A plan of `count` shards for `query`, answered 200. */
const plan = (base: string, count: number, query = "", hold = "") =>
  Effect.gen(function* () {
    const r = yield* get(
      `${api(base)}/plan?shards=${count}${query === "" ? "" : `&${query}`}${hold === "" ? "" : `&hold=${hold}`}`
    )
    expect(r.status).toBe(200)
    return yield* json<PlanBody>(r)
  })

/** Every shard of a plan, downloaded at once, each with its cursor header. */
const shards = (base: string, p: PlanBody) =>
  Effect.forEach(
    p.shards,
    (s) =>
      Effect.gen(function* () {
        const r = yield* get(`${api(base)}/export?plan=${p.id}&shard=${s.shard}`)
        expect(r.status).toBe(200)
        expect(r.headers.get("ground-truth-cursor")).toBe(p.cursor)
        return yield* bytes(r)
      }),
    { concurrency: "unbounded" }
  )

const postgres = TestDatabase.targets().find((t) => t.name === "postgres")

if (postgres !== undefined) {
  layer(serve(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(postgres.layer))), {
    timeout: 300_000,
    excludeTestServices: true
  })("plans over HTTP on postgres", (it) => {
    it.effect("every golden case planned in 2 and in 3 shards, downloaded at once: the golden bytes", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        for (const [c, count] of Golden.exportCases.flatMap((c) => [[c, 2] as const, [c, 3] as const])) {
          const p = yield* plan(base, count, Golden.query(c.params))
          const jobs = p.shards.map((s) => s.jobs)
          expect(
            jobs.reduce((a, b) => a + b, 0),
            c.name
          ).toBe(p.jobs)
          expect(Math.max(...jobs) - Math.min(...jobs), c.name).toBeLessThanOrEqual(1)
          const files = yield* shards(base, p)
          expect(Buffer.concat(files).toString("utf8"), c.name).toBe(
            Golden.expectedExport(c).toString("utf8")
          )
          expect((yield* get(`${api(base)}/plan/${p.id}`, { method: "DELETE" })).status).toBe(204)
        }
      })
    )

    it.effect("a plan's shards in Parquet (Accept): each the Parquet file of the same shard's hf lines", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const hf = yield* plan(base, 2, "approved_only=false&format=hf")
        const lines = yield* shards(base, hf)
        expect((yield* get(`${api(base)}/plan/${hf.id}`, { method: "DELETE" })).status).toBe(204)
        const p = yield* plan(base, 2, "approved_only=false")
        for (const s of p.shards) {
          const r = yield* get(`${api(base)}/export?plan=${p.id}&shard=${s.shard}`, {
            headers: { accept: "application/vnd.apache.parquet" }
          })
          expect(r.status).toBe(200)
          expect(r.headers.get("content-type")).toBe("application/vnd.apache.parquet")
          const expected = yield* Stream.make(new Uint8Array(lines[s.shard] ?? Buffer.alloc(0))).pipe(
            Parquet.encode("hf"),
            Stream.runCollect
          )
          expect((yield* bytes(r)).equals(Buffer.concat(Chunk.toArray(expected))), `shard ${s.shard}`).toBe(
            true
          )
        }
        expect(lines.every((l) => l.length > 0)).toBe(true)
        expect((yield* get(`${api(base)}/plan/${p.id}`, { method: "DELETE" })).status).toBe(204)
      })
    )

    it.effect("a shard gzipped, a stopped plan's shard, and what does not apply", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const c = Golden.exportCases.find((c) => c.name === "approved_only=false window=none")!
        const p = yield* plan(base, 2, "approved_only=false")
        const gz = yield* raw(`${api(base)}/export?plan=${p.id}&shard=1`, { "accept-encoding": "gzip" })
        expect(gz.headers["content-encoding"]).toBe("gzip")
        const second = zlib.gunzipSync(gz.body)
        const first = yield* bytes(yield* get(`${api(base)}/export?plan=${p.id}&shard=0`))
        expect(Buffer.concat([first, second]).equals(Golden.expectedExport(c))).toBe(true)
        const refused: ReadonlyArray<readonly [string, number, string, string]> = [
          [`export?plan=${p.id}&shard=2`, 400, "invalid_shard", "shard"],
          [`export?plan=${p.id}&shard=-1`, 400, "invalid_shard", "shard"],
          [`export?plan=${p.id}`, 400, "invalid_shard", "shard"],
          [`export?shard=0`, 400, "invalid_shard", "plan"],
          [`export?plan=${p.id}&shard=0&format=hf`, 400, "unknown_parameter", "format"],
          [`export?plan=${p.id}&shard=0&shard=1`, 400, "repeated_parameter", "shard"],
          [`export?plan=nope&shard=0`, 410, "plan_gone", ""],
          ["plan", 400, "invalid_shards", "shards"],
          ["plan?shards=10000", 400, "invalid_shards", "shards"],
          ["plan?shards=2&hold=2h", 400, "invalid_hold", "hold"],
          ["plan?shards=2&hold=0", 400, "invalid_hold", "hold"],
          ["plan?shards=2&changed_since=x", 400, "unknown_parameter", "changed_since"],
          ["plan?shards=2&format=sft", 400, "invalid_format", "format"],
          ["plan?shards=2&input=ocr", 400, "invalid_input", "input"]
        ]
        for (const [path, status, code, parameter] of refused) {
          const r = yield* get(`${api(base)}/${path}`)
          expect(r.status, path).toBe(status)
          const body = yield* json<ErrorBody>(r)
          expect(body.error.code, path).toBe(code)
          if (parameter !== "") expect(body.error.parameter, path).toBe(parameter)
        }
        expect((yield* get(`${api(base)}/plan/${p.id}`, { method: "DELETE" })).status).toBe(204)
        const gone = yield* get(`${api(base)}/export?plan=${p.id}&shard=0`)
        expect(gone.status).toBe(410)
        expect((yield* json<ErrorBody>(gone)).error.code).toBe("plan_gone")
        const again = yield* get(`${api(base)}/plan/${p.id}`, { method: "DELETE" })
        expect(again.status).toBe(410)
      })
    )
  })

  layer(serve(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(postgres.layer))), {
    timeout: 300_000,
    excludeTestServices: true
  })("a plan over HTTP, written after", (it) => {
    it.effect("shards downloaded after writes are the plan's snapshot", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const sql = yield* SqlClient.SqlClient
        const c = Golden.exportCases.find((c) => c.name === "approved_only=false window=none")!
        const p = yield* plan(base, 3, "approved_only=false")
        yield* sql`DELETE FROM jobs WHERE id IN (SELECT id FROM jobs ORDER BY created_at, id LIMIT 2)`
        yield* sql`UPDATE jobs SET approved = NOT approved, reviewed_by = 'after the plan'`
        const now = yield* bytes(yield* get(`${api(base)}/export?approved_only=false`))
        expect(now.equals(Golden.expectedExport(c))).toBe(false)
        expect(Buffer.concat(yield* shards(base, p)).toString("utf8")).toBe(
          Golden.expectedExport(c).toString("utf8")
        )
      })
    )
  })

  layer(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(postgres.layer)), {
    timeout: 300_000,
    excludeTestServices: true
  })("the bound on held plans", (it) => {
    it.scoped("one plan too many is a 429 with Retry-After; a stop or a hold's end makes room", () =>
      Effect.gen(function* () {
        const db = yield* TestDatabase.TestDatabase
        const server = yield* serverProcess(db.url, [], {
          GROUND_TRUTH_PLANS: "1",
          GROUND_TRUTH_DB_POOL: "5",
          GROUND_TRUTH_PLAN_HOLD_MAX: "2 minutes"
        })
        const first = yield* plan(server.base, 2, "", "120")
        const refused = yield* get(`${api(server.base)}/plan?shards=2`)
        expect(refused.status).toBe(429)
        const retry = Number(refused.headers.get("retry-after"))
        expect(retry).toBeGreaterThan(100)
        expect(retry).toBeLessThanOrEqual(120)
        expect((yield* json<ErrorBody>(refused)).error.code).toBe("too_many_plans")
        expect((yield* get(`${api(server.base)}/plan/${first.id}`, { method: "DELETE" })).status).toBe(204)
        // A hold of a second: gone by itself, and room again.
        const brief = yield* plan(server.base, 2, "", "1")
        let status = 200
        for (let i = 0; i < 100 && status === 200; i++) {
          yield* realSleep(100)
          status = (yield* get(`${api(server.base)}/export?plan=${brief.id}&shard=0`)).status
        }
        expect(status).toBe(410)
        // Without a hold, 10 minutes, or GROUND_TRUTH_PLAN_HOLD_MAX when that is less.
        const asked = Date.now()
        const unsaid = yield* plan(server.base, 2)
        const held = Date.parse(unsaid.expires_at) - asked
        expect(held).toBeGreaterThan(110_000)
        expect(held).toBeLessThanOrEqual(121_000)
        expect(server.output()).toContain('"why":"its hold ended"')
      })
    )

    it.scoped("more plans than the pool can hold stop the server with one line", () =>
      Effect.gen(function* () {
        const db = yield* TestDatabase.TestDatabase
        const exit = yield* Effect.exit(
          serverProcess(db.url, [], { GROUND_TRUTH_PLANS: "3", GROUND_TRUTH_DB_POOL: "5" })
        )
        expect(Exit.isFailure(exit)).toBe(true)
        const said = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
        const lines = said.split("\n").filter((l) => l.startsWith("Error: server exited with 1: {"))
        expect(lines).toHaveLength(1)
        expect(lines[0]).toContain("GROUND_TRUTH_PLANS: 3 plans held take 3 of the 3 connections for reads")
      })
    )
  })
}

for (const target of TestDatabase.targets().filter((t) => t.name === "embedded")) {
  layer(serve(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer))), {
    timeout: 300_000,
    excludeTestServices: true
  })("plans over HTTP on the embedded database", (it) => {
    it.effect("are a 501: the database serves one session", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const r = yield* get(`${api(base)}/plan?shards=2`)
        expect(r.status).toBe(501)
        expect((yield* json<ErrorBody>(r)).error.code).toBe("plans_unsupported")
      })
    )
  })
}
