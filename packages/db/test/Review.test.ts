/**
 * The review write path on real databases. Random correction sequences go through the service, then
 * the export must give back, as `initial_result`, the result each job had before its first correction
 * (and its current one as `final_result`). Fifty concurrent corrections of one job from separate
 * connections serialize: none is lost and the trail replays. Bad corrections (values the result schema
 * refuses among them) fail with their typed error and change nothing.
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { expect, layer } from "@effect/vitest"
import { Export, Filter, Json, Review } from "@ground-truth/core"
import { Effect, Either, FastCheck as fc, Layer, Redacted, Stream } from "effect"
import { TestDatabase } from "../src/index.js"

const JOBS = 40

const id = (i: number) => `9e000000-0000-4000-8000-${String(i).padStart(12, "0")}`

const value = (text: string) => Either.getOrThrow(Json.parse(text))

/** A Sprin-like result, as JSON text: a header and a few personnel rows, numbers big and small. */
const result = fc
  .record({
    perihal: fc.option(fc.string({ maxLength: 12 }), { nil: null }),
    nomor: fc.string({ maxLength: 8 }),
    rows: fc.array(
      fc.record({ nrp: fc.bigInt({ min: 0n, max: 10n ** 20n }), nama: fc.string({ maxLength: 6 }) }),
      {
        maxLength: 3
      }
    )
  })
  .map(
    (r) =>
      `{"header": {"perihal": ${JSON.stringify(r.perihal)}, "nomor_sprint": ${JSON.stringify(r.nomor)}}, ` +
      `"personel": [${r.rows.map((p) => `{"nrp": ${p.nrp}, "nama": ${JSON.stringify(p.nama)}}`).join(", ")}]}`
  )

/** One reviewer action: a path and a new value (JSON text), or none to remove it. */
const step = fc.oneof(
  fc.record({
    path: fc.constantFrom("header.perihal", "header.nomor_sprint", "header.tanggal"),
    value: fc.option(
      fc.oneof(
        fc.string({ maxLength: 10 }).map((s) => JSON.stringify(s)),
        fc.constantFrom('"2025-06-01"', "null", "7")
      ),
      { nil: undefined }
    )
  }),
  fc.record({
    path: fc
      .tuple(fc.nat(3), fc.constantFrom("nrp", "nama", "pangkat"))
      .map(([i, f]) => `personel[${i}].${f}`),
    value: fc.option(
      fc.oneof(
        fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }).map(String),
        fc.bigInt({ min: 0n, max: 10n ** 20n }).map((n) => `"0${n}"`),
        fc.constant("1.50"),
        fc.constant('"IPDA"')
      ),
      { nil: undefined }
    )
  }),
  fc.record({
    path: fc.nat(4).map((i) => `personel[${i}]`),
    value: fc.option(
      fc.constantFrom(
        '{"nama": "baru", "nrp": 123456789012345678901}',
        '{"nama": "baru", "nrp": "0123456789"}'
      ),
      { nil: undefined }
    )
  }),
  fc.record({
    path: fc.constant(""),
    value: fc.constant<string | undefined>('{"header": {"perihal": "ditulis ulang"}}')
  })
)

const cases = fc.sample(
  fc.tuple(fc.option(result, { nil: null }), fc.array(step, { minLength: 1, maxLength: 12 })),
  {
    numRuns: JOBS,
    seed: 42
  }
)

const exportAll = Effect.gen(function* () {
  const exporter = yield* Export.Export
  const filter = yield* Filter.parse([["approved_only", "false"]])
  const chunks = yield* Stream.runCollect(exporter.stream(filter))
  return Buffer.concat([...chunks]).toString("utf8")
})

for (const target of TestDatabase.targets()) {
  layer(Layer.mergeAll(Review.Review.Default, Export.Export.Default).pipe(Layer.provideMerge(target.layer)), {
    timeout: 240_000,
    excludeTestServices: true
  })(`the review service on ${target.name}`, (it) => {
    it.effect("random correction sequences replay to the result before the first correction", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const review = yield* Review.Review
        const before = new Map<string, string | null>()
        // The model: core's pure forward step over in-memory results, step for step with the database.
        const model = new Map<string, Json.Json | undefined>()
        let recorded = 0
        let refused = 0
        for (const [i, [initial, steps]] of cases.entries()) {
          yield* sql`
            INSERT INTO jobs (id, filename, source_kind, status, result, created_at)
            VALUES (${id(i)}::uuid, ${`review-${i}.pdf`}, 'pdf', 'done', ${initial}::jsonb,
                    ${`2025-03-01T00:00:${String(i % 60).padStart(2, "0")}Z`}::timestamptz + ${`${i} minutes`}::interval)`
          before.set(id(i), initial)
          let current = initial === null ? undefined : value(initial)
          for (const s of steps) {
            const newValue = s.value === undefined ? undefined : value(s.value)
            const expected = Review.plan(current, s.path, newValue)
            const r = yield* Effect.either(review.correct(id(i), s.path, newValue, "reviewer-prop", null))
            // Accepted or refused exactly when the model says so, with the model's reason.
            expect(Either.isRight(r) ? "recorded" : r.left._tag).toBe(
              Either.isRight(expected) ? "recorded" : expected.left._tag
            )
            if (Either.isRight(expected)) {
              current = expected.right.result
              recorded++
            } else refused++
          }
          model.set(id(i), current)
        }
        expect(recorded).toBeGreaterThan(JOBS)
        const lines = (yield* exportAll).split("\n").slice(0, -1)
        expect(lines).toHaveLength(JOBS)
        for (const line of lines) {
          const sample = Either.getOrThrow(Json.parse(line)) as Json.JsonObject
          const job = sample.get("job_id") as string
          const was = before.get(job)!
          // Absent and JSON null both print as null.
          const expected = was === null ? null : value(was)
          expect(Json.equals(sample.get("initial_result")!, expected), job).toBe(true)
          expect(Json.equals(sample.get("final_result")!, model.get(job) ?? null), job).toBe(true)
        }
        console.log(
          `${target.name}: ${JOBS} random sequences, ${recorded} corrections recorded, ${refused} refused; every initial_result is the result before the first`
        )
      })
    )

    it.scoped(
      "50 concurrent corrections of one field from separate connections serialize; none is lost",
      () =>
        Effect.gen(function* () {
          const { url } = yield* TestDatabase.TestDatabase
          const sql = yield* SqlClient.SqlClient
          const job = id(900)
          yield* sql`
          INSERT INTO jobs (id, filename, source_kind, status, result, created_at)
          VALUES (${job}::uuid, 'concurrent.pdf', 'pdf', 'done', '{"header": {}}', '2025-04-01T00:00:00Z')`
          // A pool of its own: 20 connections, so corrections really run side by side.
          const wide = yield* PgClient.make({ url: Redacted.make(url), maxConnections: 20 }).pipe(
            Effect.provide(Reactivity.layer)
          )
          const service = yield* Review.Review.pipe(
            Effect.provide(
              Review.Review.Default.pipe(Layer.provide(Layer.succeed(SqlClient.SqlClient, wide)))
            )
          )
          // Fifty reviewers set the same field to fifty different values at once.
          yield* Effect.all(
            Array.from({ length: 50 }, (_, n) =>
              service.correct(job, "header.perihal", `koreksi ${n}`, `reviewer-${n % 7}`, "concurrent")
            ),
            { concurrency: "unbounded" }
          )
          const view = yield* service.job(job)
          expect(view.corrections).toHaveLength(50)
          // Each event saw what the previous one left: one chain, never two events from the same old
          // value (which is what a lost update looks like).
          const text = (v: Json.Json | undefined) => (v === undefined ? "absent" : Json.stringify(v))
          view.corrections.forEach((e, i) => {
            expect(text(e.oldValue)).toBe(i === 0 ? "absent" : text(view.corrections[i - 1].newValue))
          })
          expect(new Set(view.corrections.map((e) => text(e.newValue))).size).toBe(50)
          expect(text(view.result)).toBe(`{"header":{"perihal":${text(view.corrections[49].newValue)}}}`)
          const line = (yield* exportAll).split("\n").find((l) => l.includes(job))!
          expect(line).toContain('"initial_result":{"header":{}}')
          console.log(
            `${target.name}: 50 concurrent corrections of one field on 20 connections: one chain of 50 events, the trail replays`
          )
        })
    )

    it.effect("bad corrections fail with their typed error and change nothing", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const review = yield* Review.Review
        const job = id(901)
        yield* sql`
          INSERT INTO jobs (id, filename, source_kind, status, result, created_at)
          VALUES (${job}::uuid, 'bad.pdf', 'pdf', 'done', '{"header": {"perihal": "A"}, "personel": []}', '2025-04-02T00:00:00Z')`
        const state = sql<{ readonly s: string }>`
          SELECT (SELECT string_agg(result::text || updated_at::text, '|' ORDER BY id) FROM jobs) ||
                 coalesce((SELECT string_agg(id::text, ',') FROM job_corrections), '') AS s`
        const [{ s: before }] = yield* state
        const attempts: ReadonlyArray<readonly [string, Effect.Effect<unknown, { readonly _tag: string }>]> =
          [
            [
              "UnknownJob",
              review.correct("9e000000-0000-4000-8000-999999999999", "a", value("1"), "r", null)
            ],
            ["UnknownJob", review.correct("not-a-uuid'; DROP TABLE jobs; --", "a", value("1"), "r", null)],
            ["InvalidPath", review.correct(job, "header..perihal", value("1"), "r", null)],
            ["InvalidPath", review.correct(job, "personel[-1]", value("1"), "r", null)],
            ["PreconditionFailed", review.correct(job, "lampiran.nomor", value("1"), "r", null)],
            ["PreconditionFailed", review.correct(job, "personel[3]", value("{}"), "r", null)],
            ["PreconditionFailed", review.correct(job, "header.perihal.x", value("1"), "r", null)],
            ["NoChange", review.correct(job, "header.perihal", value('"A"'), "r", null)],
            ["NoChange", review.correct(job, "header.tanggal", undefined, "r", null)],
            ["SchemaViolation", review.correct(job, "header.perihal", value("1"), "r", null)],
            ["SchemaViolation", review.correct(job, "personel[0]", value('{"nrp": 77060001}'), "r", null)],
            ["SchemaViolation", review.correct(job, "", value("[]"), "r", null)],
            ["UnknownJob", review.approve("9e000000-0000-4000-8000-999999999999", "r")]
          ]
        for (const [tag, attempt] of attempts) {
          const r = yield* Effect.either(attempt)
          expect(Either.isLeft(r) ? r.left._tag : "succeeded").toBe(tag)
        }
        const [{ s: after }] = yield* state
        expect(after).toBe(before)
      })
    )

    it.effect("approve and reject set approved, reviewed_by and reviewed_at", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const review = yield* Review.Review
        const job = id(902)
        yield* sql`
          INSERT INTO jobs (id, filename, source_kind, status, result, created_at)
          VALUES (${job}::uuid, 'ok.pdf', 'pdf', 'done', NULL, '2025-04-03T00:00:00Z')`
        const approved = yield* review.approve(job.toUpperCase(), "kasat")
        expect(approved).toMatchObject({ jobId: job, approved: true, reviewedBy: "kasat" })
        const [row] = yield* sql<{ approved: boolean; reviewed_by: string; reviewed: boolean }>`
          SELECT approved, reviewed_by, reviewed_at IS NOT NULL AS reviewed FROM jobs WHERE id = ${job}::uuid`
        expect(row).toEqual({ approved: true, reviewed_by: "kasat", reviewed: true })
        const rejected = yield* review.reject(job, "kapolres")
        expect(rejected).toMatchObject({ approved: false, reviewedBy: "kapolres" })
        expect((yield* review.job(job)).approved).toBe(false)
      })
    )
  })
}
