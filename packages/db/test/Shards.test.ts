/**
 * A sharded export (contract §15) through core's export on every test database, with one reader and (on
 * PostgreSQL) with workers: for every golden case, 2 and 3 shards concatenated are the golden bytes, the
 * shards' jobs differ by one at most, and the manifest describes the whole and each file.
 */
import { createHash } from "node:crypto"
import { expect, layer } from "@effect/vitest"
import { Export, Filter, type Manifest } from "@ground-truth/core"
import { Golden } from "@ground-truth/golden"
import { Chunk, Effect, Layer, Redacted, Stream } from "effect"
import { ExportWorkers, TestDatabase } from "../src/index.js"

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex")

/** Every golden case cut into `count` shards: the shards' bytes, in order, and the manifest. */
const shardsOfEveryCase = (count: number) =>
  Effect.forEach(
    Golden.exportCases,
    (c) =>
      Effect.gen(function* () {
        const filter = yield* Filter.parse(c.params)
        const exporter = yield* Export.Export
        const { stream, manifest } = yield* exporter.shards(filter, count)
        const parts = Chunk.toReadonlyArray(yield* Stream.runCollect(stream))
        const files = Array.from({ length: count }, (_, i) =>
          Buffer.concat(parts.filter((p) => p.shard === i).map((p) => p.bytes))
        )
        // After an empty part for each shard (every shard gets its file), the lines come in order: shard
        // numbers never go back.
        const order = parts
          .filter((p) => p.bytes.length > 0)
          .map((p) => p.shard)
          .filter((s, i, all) => i === 0 || s !== all[i - 1])
        return { c, files, order, manifest: yield* manifest }
      }),
    { concurrency: 2 }
  )

const check = (count: number, results: Effect.Effect.Success<ReturnType<typeof shardsOfEveryCase>>) => {
  let split = 0
  for (const { c, files, order, manifest } of results) {
    const expected = Golden.expectedExport(c)
    const whole = Buffer.concat(files)
    expect(whole.toString("utf8"), c.name).toBe(expected.toString("utf8"))
    expect(order, c.name).toEqual([...order].sort((a, b) => a - b))
    expect(new Set(order).size, c.name).toBe(order.length)
    expect(manifest.rows, c.name).toBe(c.jobs.length)
    expect([manifest.bytes, manifest.sha256], c.name).toEqual([expected.length, sha256(expected)])
    expect(manifest.files, c.name).toEqual(
      files.map((f, i) => ({
        path: `part-${String(i).padStart(5, "0")}-of-${String(count).padStart(5, "0")}.jsonl`,
        rows: f.toString("utf8").split("\n").length - 1,
        bytes: f.length,
        sha256: sha256(f)
      }))
    )
    // A line a job (the training formats leave some jobs out): the shards' lines differ by one at most.
    if (c.format === "jsonl" || c.format === "hf") {
      const rows = (manifest.files ?? []).map((f: Manifest.ShardFile) => f.rows)
      expect(Math.max(...rows) - Math.min(...rows), c.name).toBeLessThanOrEqual(1)
      if (c.jobs.length >= count) split++
    }
  }
  // Most cases have a job in every shard: the cuts are not all at one end.
  expect(split).toBeGreaterThan(15)
}

for (const target of TestDatabase.targets()) {
  const fixture = Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer))
  layer(fixture, { timeout: 300_000, excludeTestServices: true })(`shards on ${target.name}`, (it) => {
    for (const count of [2, 3]) {
      it.effect(`every golden case in ${count} shards: concatenated, the golden bytes`, () =>
        Effect.gen(function* () {
          check(count, yield* Effect.provide(shardsOfEveryCase(count), Export.Export.Default))
        })
      )
    }
    if (target.name === "postgres") {
      it.effect(
        "every golden case in 3 shards with 2 workers and two-job ranges (a shard ends inside some)",
        () =>
          Effect.gen(function* () {
            const db = yield* TestDatabase.TestDatabase
            const exporter = Export.Export.Default.pipe(
              Layer.provide(ExportWorkers.layer({ url: Redacted.make(db.url), size: 2, rangeRows: 2 }))
            )
            check(3, yield* Effect.provide(shardsOfEveryCase(3), exporter))
          })
      )
    }
  })
}
