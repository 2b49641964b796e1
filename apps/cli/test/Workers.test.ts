/**
 * `export --workers N` (contract §15) through the CLI: on PostgreSQL every golden case gives the golden
 * bytes with 2 workers and with 3 (ranges of one row, so every boundary is crossed), a dataset folder is the
 * same as with one worker, and an export that fails leaves no file and says what one worker says; on the
 * embedded database the workers fall back to one, with a notice; a count that means nothing is a usage
 * error.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { expect, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Effect, Layer } from "effect"
import { run } from "./cli.js"

/** Ranges of one row: the golden corpora are a dozen jobs. */
const RANGES = { GROUND_TRUTH_WORKER_RANGE_ROWS: "1" }

for (const target of TestDatabase.targets()) {
  const fixture = Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer))
  layer(fixture, { timeout: 300_000 })(`export --workers on ${target.name}`, (it) => {
    const env = Effect.map(TestDatabase.TestDatabase, (db) => ({ DATABASE_URL: db.url, ...RANGES }))

    it.effect(
      "every golden case gives the golden bytes with --workers 2 and with --workers 3",
      () =>
        Effect.gen(function* () {
          const e = yield* env
          // The embedded database serves one connection at a time: its runs wait for each other, and each
          // says it reads with one worker; a few cases show it.
          const embedded = target.name === "embedded"
          const cases = embedded
            ? Golden.exportCases.slice(0, 2).map((c, i) => ({ c, workers: i % 2 === 0 ? "2" : "3" }))
            : Golden.exportCases.flatMap((c) => [
                { c, workers: "2" },
                { c, workers: "3" }
              ])
          const results = yield* Effect.forEach(
            cases,
            ({ c, workers }) =>
              Effect.map(run(["export", "--workers", workers, ...Golden.flags(c.params)], e), (r) => ({
                c,
                workers,
                r
              })),
            { concurrency: embedded ? 1 : 3 }
          )
          for (const { c, workers, r } of results) {
            const name = `${c.name} --workers ${workers}`
            expect(r.stderr, name).toBe(
              embedded
                ? `ground-truth: the embedded database serves one connection at a time: exporting with 1 worker, not ${workers}\n`
                : ""
            )
            expect(r.code, name).toBe(0)
            expect(r.stdout.toString("utf8"), name).toBe(Golden.expectedExport(c).toString("utf8"))
          }
        }),
      300_000
    )

    it.effect("a dataset folder is the same with --workers 3 as with one", () =>
      Effect.gen(function* () {
        const e = yield* env
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "gt-workers-"))
        const flags = ["--approved-only", "false", "--split-ratios", "60,20,20"]
        const one = yield* run(["export", "--dataset", path.join(root, "one"), ...flags], e)
        const three = yield* run(
          ["export", "--workers", "3", "--dataset", path.join(root, "three"), ...flags],
          e
        )
        expect([one.code, three.code]).toEqual([0, 0])
        const files = fs.readdirSync(path.join(root, "one")).sort()
        expect(fs.readdirSync(path.join(root, "three")).sort()).toEqual(files)
        expect(files).toEqual(expect.arrayContaining(["train.jsonl", "validation.jsonl", "test.jsonl"]))
        for (const file of files.filter((f) => f.endsWith(".jsonl"))) {
          expect(
            fs
              .readFileSync(path.join(root, "three", file))
              .equals(fs.readFileSync(path.join(root, "one", file))),
            file
          ).toBe(true)
        }
        const manifest = (dir: string) => {
          const {
            snapshot_time: _time,
            cursor: _cursor,
            ...rest
          } = JSON.parse(fs.readFileSync(path.join(root, dir, "manifest.json"), "utf8"))
          return rest
        }
        expect(manifest("three")).toEqual(manifest("one"))
      })
    )

    it.effect("--workers takes a whole number from 1 to 64 or auto; anything else is a usage error", () =>
      Effect.gen(function* () {
        const e = yield* env
        for (const given of ["0", "65", "-1", "2.5", "two", ""]) {
          const r = yield* run(["export", "--workers", given], e)
          expect(r.code, given).toBe(2)
          expect(r.stderr, given).toBe(
            `ground-truth: --workers must be a whole number from 1 to 64 or auto, not ${JSON.stringify(given)}\n`
          )
          expect(r.stdout.length, given).toBe(0)
        }
        const auto = yield* run(
          ["export", "--workers", "auto", ...Golden.flags(Golden.exportCases[0].params)],
          e
        )
        expect(auto.code).toBe(0)
        expect(auto.stdout.toString("utf8")).toBe(
          Golden.expectedExport(Golden.exportCases[0]).toString("utf8")
        )
      })
    )
  })

  layer(fixture, { timeout: 120_000 })(`a failing export with --workers on ${target.name}`, (it) => {
    it.effect("exits as one worker does, with the same line, and leaves no file", () =>
      Effect.gen(function* () {
        const db = yield* TestDatabase.TestDatabase
        yield* Golden.insertTampered("00000000-0000-4000-8000-0000000000aa", "2025-06-04T00:00:00Z")
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-workers-"))
        const e = { DATABASE_URL: db.url, ...RANGES }
        const one = yield* run(["export", "--out", path.join(dir, "one.jsonl")], e)
        const two = yield* run(["export", "--workers", "2", "--out", path.join(dir, "two.jsonl")], e)
        expect(one.code).toBe(1)
        expect(one.stderr).toMatch(/^ground-truth: [^\n]*00000000-0000-4000-8000-0000000000aa[^\n]*\n$/)
        expect(two.code).toBe(1)
        expect(two.stderr.split("\n").filter((l) => !l.includes("embedded database serves one"))).toEqual(
          one.stderr.split("\n")
        )
        expect(fs.readdirSync(dir)).toEqual([])
      })
    )
  })
}
