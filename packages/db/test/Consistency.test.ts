/**
 * Contract §9 under load: exports run while another connection keeps recording audited corrections
 * (the result updated and its event inserted in one transaction). Every export must succeed, hold every
 * job once, and replay exactly: an export that saw a result without its event, or an event without its
 * result, would fail with an audit-trail mismatch.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Export, Filter } from "@ground-truth/core"
import { Effect, Fiber, Layer, Ref, Stream } from "effect"
import { Demo, TestDatabase } from "../src/index.js"

const JOBS = 3000
const EXPORTS = 8
const WRITERS = 2

/** One reviewer correction: a new `header.perihal`, with its audit event, in one transaction. */
const correctOnce = (n: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const value = `koreksi serentak ${n}`
    yield* sql.withTransaction(
      Effect.gen(function* () {
        const [target] = yield* sql<{ id: string; old: string }>`
          SELECT id::text AS id, (result #> '{header,perihal}')::text AS old FROM jobs
          WHERE result #> '{header,perihal}' IS NOT NULL
          ORDER BY random() LIMIT 1 FOR UPDATE`
        yield* sql`
          UPDATE jobs SET result = jsonb_set(result, '{header,perihal}', to_jsonb(${value}::text)),
                          updated_at = now()
          WHERE id = ${target.id}::uuid`
        // Between the two statements the result is ahead of its trail: only a snapshot hides that.
        yield* Effect.sleep("1 millis")
        yield* sql`
          INSERT INTO job_corrections (job_id, field_path, old_value, new_value, corrected_by, corrected_at)
          VALUES (${target.id}::uuid, 'header.perihal', ${target.old}::jsonb, to_jsonb(${value}::text),
                  'reviewer-concurrent', clock_timestamp())`
      })
    )
  })

for (const target of TestDatabase.targets()) {
  layer(Layer.merge(target.layer, Export.Export.Default.pipe(Layer.provide(target.layer))), {
    timeout: 240_000,
    // Real time: the writer's pause must not wait on a test clock.
    excludeTestServices: true
  })(`snapshot consistency on ${target.name}`, (it) => {
    it.effect(
      "exports during concurrent audited corrections all succeed, complete and replaying",
      () =>
        Effect.gen(function* () {
          yield* Demo.seed({ jobs: JOBS, seed: 11 })
          const exporter = yield* Export.Export
          const filter = yield* Filter.parse([["approved_only", "false"]])
          const writes = yield* Ref.make(0)
          const writer = (id: number) =>
            Effect.iterate(0, {
              while: () => true,
              body: (n) =>
                Effect.as(
                  Effect.zipRight(
                    correctOnce(id * 1_000_000 + n),
                    Ref.update(writes, (w) => w + 1)
                  ),
                  n + 1
                )
            })
          const writers = yield* Effect.fork(
            Effect.all(
              Array.from({ length: WRITERS }, (_, i) => writer(i)),
              { concurrency: "unbounded" }
            )
          )

          const bodies: Array<string> = []
          const during: Array<number> = []
          for (let i = 0; i < EXPORTS; i++) {
            const before = yield* Ref.get(writes)
            const body = yield* Stream.runFold(
              exporter.stream(filter),
              "",
              (s, b) => s + Buffer.from(b).toString()
            )
            during.push((yield* Ref.get(writes)) - before)
            bodies.push(body)
          }
          yield* Fiber.interrupt(writers)

          const total = yield* Ref.get(writes)
          const distinct = new Set(bodies).size
          console.log(
            `${target.name}: ${EXPORTS} exports of ${JOBS} jobs, ${total} audited corrections committed ` +
              `meanwhile by ${WRITERS} writers (${during.join(", ")} during each export), ${distinct} distinct corpora`
          )
          for (const body of bodies) {
            const lines = body.split("\n")
            expect(lines.pop()).toBe("")
            expect(lines.length).toBe(JOBS)
            expect(new Set(lines.map((l) => JSON.parse(l).job_id)).size).toBe(JOBS)
          }
          // The writer really ran alongside: the corpora moved on between exports.
          expect(total).toBeGreaterThan(EXPORTS)
          expect(distinct).toBeGreaterThan(1)
          if (target.name === "postgres") expect(during.filter((d) => d > 0).length).toBeGreaterThan(0)
        }),
      240_000
    )
  })
}
