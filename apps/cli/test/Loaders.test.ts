/**
 * The exported files in the real clients: every format through the CLI, then `loaders.py` loads them
 * with Hugging Face `datasets` (with the features `Features.json` declares) and trains on them with
 * TRL's `SFTTrainer` and `DPOTrainer` (a tokenizer and a tiny model made offline, `tiny_model.py`). The
 * demo jobs have their letters' texts, which the training formats show the model by default. And the
 * docs/formats.md's training commands and Python, read from it between its `loaders-test` marks, run as written,
 * so that they cannot drift from what the exporter writes. On the embedded database only: the files'
 * shape does not depend on the database.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Features, type Format, Review } from "@ground-truth/core"
import { Demo, Migrations, TestDatabase } from "@ground-truth/db"
import { Effect, Layer } from "effect"
import { python, pythonMissing, readmeBlock, readmeCommands, run } from "./cli.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const script = path.join(here, "loaders.py")

const missing = pythonMissing("datasets, trl, transformers, tokenizers, torch")
if (missing !== undefined) {
  console.log(
    `Loaders test skipped: python3 cannot import datasets, trl, transformers, tokenizers and torch (${missing}); .ci/run installs them`
  )
}

/** The exports loaders.py checks: name, format and the CLI's flags. */
const exports: ReadonlyArray<readonly [string, Format.Format, ReadonlyArray<string>]> = [
  ["jsonl", "jsonl", ["--approved-only", "false"]],
  ["hf", "hf", ["--approved-only", "false"]],
  // Different content: no job with a correction, so nothing tells the type of `corrections`.
  ["hf-no-corrections", "hf", ["--has-corrections", "false"]],
  // With the letters' texts as a last column.
  ["hf-text", "hf", ["--approved-only", "false", "--input", "text"]],
  // Every job, so some have no final_result: the training formats leave them out.
  ["prompt-completion", "prompt-completion", ["--approved-only", "false"]],
  ["messages", "messages", []],
  ["preference", "preference", []]
]

/** An NRP with a leading zero: what a plain JSON load turns into a number. */
const LEADING_ZERO = "08002851"

const lines = (file: string) =>
  fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")

/** Offline, and no cache outside the test's folder: as loaders.py runs. */
const offline = (dir: string) => ({
  HF_HUB_OFFLINE: "1",
  HF_DATASETS_OFFLINE: "1",
  TRANSFORMERS_OFFLINE: "1",
  HF_HOME: path.join(dir, "hf-home"),
  TOKENIZERS_PARALLELISM: "false",
  TQDM_DISABLE: "1"
})

const target = TestDatabase.targets().find((t) => t.name === "embedded")!
const fixture = Review.Review.Default.pipe(
  Layer.provideMerge(
    Layer.effectDiscard(
      Effect.zipRight(Migrations.texts, Demo.seed({ jobs: 300, seed: 31, texts: true }))
    ).pipe(Layer.provideMerge(target.layer))
  )
)

layer(fixture, { timeout: 600_000 })(`real loaders on ${target.name}`, (it) => {
  it.effect.skipIf(missing !== undefined)(
    "datasets loads every format (hf with its declared features), TRL's SFT and DPO train on them",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const review = yield* Review.Review
        const db = yield* TestDatabase.TestDatabase
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-loaders-"))

        // One reviewer correction to an NRP with a leading zero, through the review service.
        const [job] = yield* sql<{ readonly id: string }>`
          SELECT id::text AS id FROM jobs
          WHERE approved AND jsonb_typeof(result->'personel') = 'array' AND jsonb_array_length(result->'personel') > 0
          ORDER BY id LIMIT 1`
        yield* review.correct(job.id, "personel[0].nrp", LEADING_ZERO, "reviewer-a", "NRP misread")

        const files: Record<string, { format: Format.Format; path: string; rows: number }> = {}
        yield* Effect.forEach(
          exports,
          ([name, format, flags]) =>
            Effect.gen(function* () {
              const out = path.join(dir, `${name}.jsonl`)
              const r = yield* run(["export", "--format", format, "--out", out, ...flags], {
                DATABASE_URL: db.url
              })
              expect(r.stderr, name).toBe("")
              expect(r.code, name).toBe(0)
              files[name] = { format, path: out, rows: lines(out).length }
            }),
          { concurrency: 2 }
        )

        // The counts the files must have, from the full hf export (its results are canonical text).
        const all = lines(files.hf.path).map(
          (l) =>
            JSON.parse(l) as {
              job_id: string
              approved: boolean
              initial_result: string | null
              final_result: string | null
              corrections: ReadonlyArray<unknown>
            }
        )
        // A job with something to learn and something to read: every demo job the pipeline read has its
        // text; those it could not read (and a reviewer typed in) have neither text nor pipeline result.
        const texts = new Map(
          lines(files["hf-text"].path).map((l) => {
            const { job_id, ocr_text } = JSON.parse(l) as { job_id: string; ocr_text: string | null }
            return [job_id, ocr_text] as const
          })
        )
        const learnable = all.filter(
          (s) => s.final_result !== null && (s.initial_result !== null || texts.get(s.job_id) !== null)
        )
        expect(all.length).toBe(300)
        expect(files.jsonl.rows).toBe(300)
        expect(files["hf-text"].rows).toBe(300)
        expect([...texts.values()].filter((t) => t !== null).length).toBeGreaterThan(250)
        expect(files["prompt-completion"].rows).toBe(learnable.length)
        expect(learnable.length).toBeLessThan(all.filter((s) => s.final_result !== null).length)
        expect(files.messages.rows).toBe(learnable.filter((s) => s.approved).length)
        expect(files.preference.rows).toBe(
          learnable.filter((s) => s.approved && s.final_result !== s.initial_result).length
        )
        expect(files["hf-no-corrections"].rows).toBe(
          all.filter((s) => s.approved && s.corrections.length === 0).length
        )
        for (const [name, file] of Object.entries(files)) expect(file.rows, name).toBeGreaterThan(50)

        const features: Record<string, string> = {}
        for (const format of ["hf", "prompt-completion", "messages", "preference"] as const) {
          const file = path.join(dir, `${format}.features.json`)
          fs.writeFileSync(file, Features.json(format)!)
          features[format] = file
        }
        features["hf-text"] = path.join(dir, "hf-text.features.json")
        fs.writeFileSync(features["hf-text"], Features.json("hf", "text")!)
        expect(Features.json("jsonl")).toBeUndefined()

        const spec = path.join(dir, "spec.json")
        fs.writeFileSync(
          spec,
          JSON.stringify({
            exports: files,
            features,
            mixed: ["hf-no-corrections", "hf"],
            leading_zero: { job_id: job.id, field_path: "personel[0].nrp", value: LEADING_ZERO }
          })
        )
        const started = Date.now()
        const r = yield* python([script, spec])
        console.log(`${r.output.trimEnd()}\n(loaders.py: ${((Date.now() - started) / 1000).toFixed(1)} s)`)
        expect(r.code, r.output).toBe(0)
        expect(r.output).toMatch(/^loaders: \d+ checks ok, 0 failing/m)
        fs.rmSync(dir, { recursive: true, force: true })
      }),
    600_000
  )

  it.effect.skipIf(missing !== undefined)(
    "the docs' training commands and Python run as written, in a folder of their own",
    () =>
      Effect.gen(function* () {
        const db = yield* TestDatabase.TestDatabase
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-readme-"))
        yield* readmeCommands("loaders-test: commands", dir, { DATABASE_URL: db.url }, offline(dir))
        fs.writeFileSync(path.join(dir, "readme.py"), readmeBlock("loaders-test: python"))
        const started = Date.now()
        const r = yield* python(["readme.py"], dir, { ...offline(dir), MODEL: "tiny-model", MAX_STEPS: "2" })
        console.log(`the docs' Python: exit ${r.code} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
        expect(r.code, r.output).toBe(0)
        fs.rmSync(dir, { recursive: true, force: true })
      }),
    600_000
  )
})
