/**
 * Core's export and stats services against the golden fixture, on every test database: the bytes must
 * equal the hand-written ones. (The CLI and the server run the same cases through their own front ends.)
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Export, Filter, Stats } from "@ground-truth/core"
import { Golden } from "@ground-truth/golden"
import { Effect, Layer, Stream } from "effect"
import { TestDatabase } from "../src/index.js"

const collect = <E, R>(stream: Stream.Stream<Uint8Array, E, R>) =>
  Stream.runFold(stream, Buffer.alloc(0), (acc, chunk) => Buffer.concat([acc, chunk]))

describe("the fixture", () => {
  it("has 55 distinct export cases: 24 filter combinations, 8 of the formats, 14 splits (7 by letter, 7 by job), 9 inputs", () => {
    expect(Golden.exportCases).toHaveLength(55)
    expect(new Set(Golden.exportCases.map((c) => Golden.query(c.params))).size).toBe(55)
    const count = (key: string) => Golden.exportCases.filter((c) => c.params.some(([k]) => k === key)).length
    expect([count("format"), count("split"), count("split_by"), count("input")]).toEqual([18, 15, 7, 9])
  })
})

for (const target of TestDatabase.targets()) {
  const services = Layer.mergeAll(Export.Export.Default, Stats.Stats.Default).pipe(
    Layer.provideMerge(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer)))
  )
  layer(services, { timeout: 120_000 })(`golden on ${target.name}`, (it) => {
    for (const c of Golden.exportCases) {
      it.effect(`export ${c.name}`, () =>
        Effect.gen(function* () {
          const filter = yield* Filter.parse(c.params)
          const exporter = yield* Export.Export
          const bytes = yield* collect(exporter.stream(filter))
          const expected = Golden.expectedExport(c)
          expect(bytes.toString("utf8")).toBe(expected.toString("utf8"))
          expect(bytes.equals(expected)).toBe(true)
        })
      )
    }
    for (const c of Golden.statsCases) {
      it.effect(`stats ${c.name}`, () =>
        Effect.gen(function* () {
          const window = yield* Filter.parse(c.params, { accept: Filter.statsParameters })
          const stats = yield* Stats.Stats
          expect(Stats.encode(yield* stats.get(window))).toBe(Golden.expectedStats(c).toString("utf8"))
        })
      )
    }
  })
}
