/**
 * A sharded export (contract §15) through core's export on every test database, with one reader and (on
 * PostgreSQL) with workers: for every golden case, 2 and 3 shards concatenated are the golden bytes, the
 * shards' jobs differ by one at most, and the manifest describes the whole and each file. A dataset cut
 * into shards: each split's shards concatenated are that split of the dataset, cut by the split's own jobs.
 */
import { createHash } from "node:crypto"
import { expect, layer } from "@effect/vitest"
import { Export, Filter, type Manifest, Split } from "@ground-truth/core"
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

/** How the golden datasets split: ratios that leave validation and test a few jobs each. */
const splitting = { by: "letter", ratios: [60, 25, 15], seed: "s" } as const

/**
 * Every golden case without a split of its own as a dataset, unsharded and in `count` shards a split:
 * each split's bytes, each shard's, and the sharded manifest.
 */
const datasetsOfEveryCase = (count: number) =>
  Effect.forEach(
    Golden.exportCases.filter((c) => !c.params.some(([name]) => name === "split")),
    (c) =>
      Effect.gen(function* () {
        const filter = yield* Filter.parse(c.params)
        const exporter = yield* Export.Export
        const whole = yield* exporter.dataset(filter, splitting)
        const wholeParts = Chunk.toReadonlyArray(yield* Stream.runCollect(whole.stream))
        const sharded = yield* exporter.dataset(filter, splitting, count)
        const parts = Chunk.toReadonlyArray(yield* Stream.runCollect(sharded.stream))
        const splits = Split.Name.literals.map((split) => ({
          split,
          whole: Buffer.concat(wholeParts.filter((p) => p.split === split).map((p) => p.bytes)),
          shards: Array.from({ length: count }, (_, i) =>
            Buffer.concat(parts.filter((p) => p.split === split && p.shard === i).map((p) => p.bytes))
          )
        }))
        return { c, splits, manifest: yield* sharded.manifest }
      }),
    { concurrency: 2 }
  )

const checkDatasets = (
  count: number,
  results: Effect.Effect.Success<ReturnType<typeof datasetsOfEveryCase>>
) => {
  let cut = 0
  for (const { c, splits, manifest } of results) {
    const files: Array<Omit<Manifest.SplitFile, never>> = []
    for (const { split, whole, shards } of splits) {
      expect(Buffer.concat(shards).toString("utf8"), `${c.name} ${split}`).toBe(whole.toString("utf8"))
      if (whole.length === 0) continue
      files.push(
        ...shards.map((f, i) => ({
          split,
          path: `${split}-${String(i).padStart(5, "0")}-of-${String(count).padStart(5, "0")}.jsonl`,
          rows: f.toString("utf8").split("\n").length - 1,
          bytes: f.length,
          sha256: sha256(f)
        }))
      )
      // A line a job: each split's shards differ by one line at most.
      if (c.format === "jsonl" || c.format === "hf") {
        const rows = files.filter((f) => f.split === split).map((f) => f.rows)
        expect(Math.max(...rows) - Math.min(...rows), `${c.name} ${split}`).toBeLessThanOrEqual(1)
        if (Math.min(...rows) > 0) cut++
      }
    }
    expect(manifest.files, c.name).toEqual(files)
    expect(manifest.empty_splits, c.name).toEqual(
      splits.filter((s) => s.whole.length === 0).map((s) => s.split)
    )
  }
  // Many splits have a job in every shard: the cuts are not all at one end.
  expect(cut).toBeGreaterThan(10)
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
    it.effect(
      "every golden case as a dataset in 3 shards a split: each split's shards, concatenated, the split",
      () =>
        Effect.gen(function* () {
          checkDatasets(3, yield* Effect.provide(datasetsOfEveryCase(3), Export.Export.Default))
        })
    )
    if (target.name === "postgres") {
      /** The export on 2 workers of two-job ranges, so that shard ends fall inside ranges. */
      const twoWorkers = Effect.map(TestDatabase.TestDatabase, (db) =>
        Export.Export.Default.pipe(
          Layer.provide(ExportWorkers.layer({ url: Redacted.make(db.url), size: 2, rangeRows: 2 }))
        )
      )
      it.effect(
        "every golden case as a dataset in 3 shards with 2 workers and two-job ranges (shards of each split end inside some)",
        () =>
          Effect.gen(function* () {
            checkDatasets(3, yield* Effect.provide(datasetsOfEveryCase(3), yield* twoWorkers))
          })
      )
      it.effect(
        "every golden case in 3 shards with 2 workers and two-job ranges (a shard ends inside some)",
        () =>
          Effect.gen(function* () {
            check(3, yield* Effect.provide(shardsOfEveryCase(3), yield* twoWorkers))
          })
      )
    }
  })
}
