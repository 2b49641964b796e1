/**
 * `migrate` and `seed-demo`: the schema, and demo data.
 */
import { Command, Options } from "@effect/cli"
import { SqlClient } from "@effect/sql"
import { Database, Demo, Migrations } from "@ground-truth/db"
import { Console, Effect } from "effect"
import { UsageError, withDatabase } from "../Flags.js"

export const migrateCommand = Command.make(
  "migrate",
  {
    texts: Options.boolean("texts").pipe(
      Options.withDescription(
        "Also create job_texts (job_id, ocr_text), the optional table of the letters' OCR texts that the " +
          "training formats show the model (docs/formats.md: The letter's text)."
      )
    )
  },
  ({ texts }) =>
    withDatabase(
      Effect.gen(function* () {
        const applied = yield* Migrations.run
        if (texts) yield* Migrations.texts
        const info = yield* Database.DatabaseInfo
        yield* Console.log(
          applied.length === 0
            ? `Schema of ${info.location} is up to date.`
            : `Applied to ${info.location}: ${applied.map(([id, name]) => `${id}_${name}`).join(", ")}.`
        )
      }),
      { prepare: false }
    )
).pipe(
  Command.withDescription(
    "Create the jobs and job_corrections tables and the export's indexes when absent (with --texts, job_texts too)."
  )
)

export const seedCommand = Command.make(
  "seed-demo",
  {
    jobs: Options.integer("jobs").pipe(
      Options.withPseudoName("N"),
      Options.withDefault(1000),
      Options.withDescription("How many demo jobs to add.")
    ),
    seed: Options.integer("seed").pipe(
      Options.withPseudoName("N"),
      Options.withDefault(1),
      Options.withDescription("Seed for reproducible data.")
    ),
    noTexts: Options.boolean("no-texts").pipe(
      Options.withDescription(
        "Write no OCR texts. By default each job the pipeline read gets its letter's text in job_texts " +
          "(created when absent), with the OCR's own misreads."
      )
    )
  },
  ({ jobs, seed, noTexts }) =>
    (jobs < 1 ? new UsageError({ message: `--jobs must be at least 1, not ${jobs}` }) : Effect.void).pipe(
      Effect.zipRight(
        withDatabase(
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            yield* Migrations.run
            if (!noTexts) yield* Migrations.texts
            // Continue numbering after the jobs already there, so repeated runs add rather than collide.
            const [{ count }] = yield* sql<{
              readonly count: number
            }>`SELECT count(*)::int AS count FROM jobs`
            const started = Date.now()
            const tty = process.stderr.isTTY
            const result = yield* Demo.seed({
              jobs,
              seed,
              from: count,
              texts: !noTexts,
              onProgress: (n) =>
                tty ? Effect.sync(() => process.stderr.write(`\rseeded ${n} of ${jobs} jobs`)) : Effect.void
            })
            if (tty) process.stderr.write("\n")
            const info = yield* Database.DatabaseInfo
            yield* Console.log(
              `Seeded ${result.jobs} demo jobs and ${result.events} corrections into ${info.location} ` +
                `in ${((Date.now() - started) / 1000).toFixed(1)} s.`
            )
          }),
          { prepare: false }
        )
      )
    )
).pipe(Command.withDescription("Add realistic demo jobs with pipeline mistakes and reviewer corrections."))
