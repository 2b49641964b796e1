/**
 * Typed loading in the real readers (issue 30): the commands and Python of docs/formats.md, run as written, load
 * the sample as Parquet and as `hf` lines in pyarrow, pandas, polars, DuckDB, `datasets` and Ray, and
 * `readers.py` checks that each of the twelve gives the declared types (times `timestamp[us, tz=UTC]`,
 * corrections a list of structs, results as text) and every value of the `hf` lines, an NRP written with
 * a leading zero among them. It also reads the training formats, two Parquet dataset folders (one in
 * shards, with `datasets.load_dataset(DIR)`) and every file its Parquet commands write. On the embedded database only: the files' shape does not
 * depend on the database (the golden suites compare the bytes on both).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Review } from "@ground-truth/core"
import { Demo, TestDatabase } from "@ground-truth/db"
import { Effect, Layer } from "effect"
import { here, python, pythonMissing, readmeBlock, readmeCommands, run } from "./cli.js"

const missing = pythonMissing("pyarrow, pandas, duckdb, polars, datasets, ray.data")
if (missing !== undefined) {
  console.log(
    `Readers test skipped: python3 cannot import pyarrow, pandas, duckdb, polars, datasets and ray.data (${missing}); .ci/run installs them`
  )
}

/** An NRP with a leading zero: what a plain JSON load turns into a number. */
const LEADING_ZERO = "08002851"

const target = TestDatabase.targets().find((t) => t.name === "embedded")!
const fixture = Review.Review.Default.pipe(
  Layer.provideMerge(
    Layer.effectDiscard(Demo.seed({ jobs: 300, seed: 31 })).pipe(Layer.provideMerge(target.layer))
  )
)

layer(fixture, { timeout: 600_000 })(`the readers on ${target.name}`, (it) => {
  it.effect.skipIf(missing !== undefined)(
    "pyarrow, pandas, polars, DuckDB, datasets and Ray read the declared types and the values of the lines",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const review = yield* Review.Review
        const db = yield* TestDatabase.TestDatabase
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-readers-"))
        const [job] = yield* sql<{ readonly id: string }>`
          SELECT id::text AS id FROM jobs
          WHERE jsonb_typeof(result->'personel') = 'array' AND jsonb_array_length(result->'personel') > 0
          ORDER BY id LIMIT 1`
        yield* review.correct(job.id, "personel[0].nrp", LEADING_ZERO, "reviewer-a", "NRP misread")
        yield* readmeCommands("readers-test: commands", dir, { DATABASE_URL: db.url })
        const parquetDir = path.join(dir, "readme-parquet")
        fs.mkdirSync(parquetDir)
        yield* readmeCommands("readers-test: parquet", parquetDir, { DATABASE_URL: db.url })

        const files = {
          none: ["--has-corrections", "false", "--out", "none.parquet"],
          "prompt-completion": ["--format", "prompt-completion", "--out", "prompt-completion.parquet"],
          messages: ["--format", "messages", "--out", "messages.parquet"],
          preference: ["--format", "preference", "--out", "preference.parquet"],
          dataset: ["--dataset", "dataset", "--parquet", "--approved-only", "false"],
          "dataset-shards": [
            "--dataset",
            "dataset-shards",
            "--parquet",
            "--shards",
            "3",
            "--format",
            "messages"
          ]
        }
        yield* Effect.forEach(
          Object.entries(files),
          ([name, flags]) =>
            Effect.gen(function* () {
              const r = yield* run(
                [
                  "export",
                  ...flags.map((f) => (f.includes(".") || f.startsWith("dataset") ? path.join(dir, f) : f))
                ],
                { DATABASE_URL: db.url }
              )
              // A dataset folder's one line: its splits.
              expect(
                r.stderr.split("\n").filter((l) => l !== "" && !l.startsWith(dir)),
                name
              ).toEqual([])
              expect(r.code, name).toBe(0)
            }),
          { concurrency: 2 }
        )
        const at = (name: string) => path.join(dir, name)
        fs.writeFileSync(at("readme.py"), readmeBlock("readers-test: python"))
        const spec = JSON.stringify({
          dir,
          readme: at("readme.py"),
          no_corrections: at("none.parquet"),
          training: Object.fromEntries(
            (["prompt-completion", "messages", "preference"] as const).map((f) => [f, at(`${f}.parquet`)])
          ),
          leading_zero: { job_id: job.id, value: LEADING_ZERO },
          datasets: [at("dataset"), at("dataset-shards"), path.join(parquetDir, "sprin-pq")],
          readme_parquet: parquetDir
        })
        const r = yield* python([path.join(here, "readers.py"), spec])
        console.log(r.output.trimEnd())
        expect(r.code, r.output).toBe(0)
        expect(r.output).toMatch(/^readers: 20 checks ok, 0 failing/m)
        fs.rmSync(dir, { recursive: true, force: true })
      }),
    600_000
  )
})
