/**
 * Parquet in the real readers: the CLI writes the sample and the training formats as Parquet files, then
 * `parquet_readers.py` reads them (and two Parquet dataset folders, one in shards, with
 * `datasets.load_dataset(DIR)`) with pyarrow, DuckDB, polars and `datasets` and checks the declared
 * types (times `timestamp[us, tz=UTC]`, corrections a list of structs, results as text) and the values
 * of the `hf` lines. On the embedded database only: the files' shape does not depend on the database
 * (the golden suites compare the bytes on both).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Review } from "@ground-truth/core"
import { Demo, TestDatabase } from "@ground-truth/db"
import { Effect, Layer } from "effect"
import { python, pythonMissing, run } from "./cli.js"

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "parquet_readers.py")

const missing = pythonMissing("pyarrow, duckdb, polars, datasets")
if (missing !== undefined) {
  console.log(
    `Parquet readers test skipped: python3 cannot import pyarrow, duckdb, polars and datasets (${missing}); .ci/run installs them`
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

layer(fixture, { timeout: 600_000 })(`Parquet readers on ${target.name}`, (it) => {
  it.effect.skipIf(missing !== undefined)(
    "pyarrow, DuckDB, polars and datasets read the declared types and the values of the lines",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const review = yield* Review.Review
        const db = yield* TestDatabase.TestDatabase
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-parquet-"))
        const [job] = yield* sql<{ readonly id: string }>`
          SELECT id::text AS id FROM jobs
          WHERE jsonb_typeof(result->'personel') = 'array' AND jsonb_array_length(result->'personel') > 0
          ORDER BY id LIMIT 1`
        yield* review.correct(job.id, "personel[0].nrp", LEADING_ZERO, "reviewer-a", "NRP misread")

        const files = {
          jsonl: ["--format", "hf", "--approved-only", "false", "--out", "hf.jsonl"],
          sample: ["--approved-only", "false", "--out", "sample.parquet"],
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
        const spec = JSON.stringify({
          sample: { parquet: at("sample.parquet"), jsonl: at("hf.jsonl") },
          no_corrections: at("none.parquet"),
          training: Object.fromEntries(
            (["prompt-completion", "messages", "preference"] as const).map((f) => [f, at(`${f}.parquet`)])
          ),
          leading_zero: { job_id: job.id, value: LEADING_ZERO },
          datasets: [at("dataset"), at("dataset-shards")]
        })
        const r = yield* python([script, spec])
        console.log(r.output.trimEnd())
        expect(r.code, r.output).toBe(0)
        expect(r.output).toMatch(/^parquet readers: 9 checks ok, 0 failing/m)
        fs.rmSync(dir, { recursive: true, force: true })
      }),
    600_000
  )
})
