/**
 * What the corpus holds: `features`, `stats`, `lint`, `calibration` and the coverage `report`.
 */
import { Command, Options } from "@effect/cli"
import { Calibration, Export, Features, Filter, Lint, ReportPage, Stats } from "@ground-truth/core"
import { Effect, Option, Stream } from "effect"
import {
  exportFlags,
  flag,
  outOption,
  outputTarget,
  parameters,
  parsedOption,
  UsageError,
  windowFlags,
  withDatabase
} from "../Flags.js"
import * as Output from "../Output.js"

export const featuresCommand = Command.make(
  "features",
  { format: exportFlags.format, input: exportFlags.input },
  (flags) =>
    Effect.gen(function* () {
      const given: Array<readonly [string, string]> = [["format", Option.getOrElse(flags.format, () => "hf")]]
      if (Option.isSome(flags.input)) given.push(["input", flags.input.value])
      const filter = yield* Filter.parse(given, { accept: ["format", "input"], label: flag })
      const features = Features.json(filter.format, Filter.output(filter).input)
      if (features === undefined) {
        return yield* new UsageError({
          message:
            "jsonl declares no features: its results are any JSON value, which Arrow re-types; " +
            "export --format hf to load the samples with datasets"
        })
      }
      yield* Effect.sync(() => process.stdout.write(features))
    })
).pipe(
  Command.withDescription(
    "Print the datasets features of a format as JSON. hf by default; for " +
      'load_dataset("json", data_files=…, features=Features.from_dict(json.load(open("features.json")))): ' +
      "every file of the format then loads with one schema, whatever its rows hold."
  )
)

export const statsCommand = Command.make("stats", windowFlags, (flags) =>
  Effect.gen(function* () {
    const window = yield* Filter.parse(parameters(flags), { accept: Filter.statsParameters, label: flag })
    const report = yield* withDatabase(
      Effect.flatMap(Stats.Stats, (stats) => stats.get(window)),
      { prepare: true }
    )
    yield* Effect.sync(() => process.stdout.write(Stats.encode(report)))
  })
).pipe(
  Command.withDescription(
    "Print coverage stats as JSON: jobs, approvals, corrections, most corrected fields (also grouped " +
      "across table rows, with rates) and readiness against the fine-tuning checklist."
  )
)

const { changedSince: _, input: __, format: ___, ...lintFlags } = exportFlags

/** What `lint` exits with when a check found something: a pipeline can stop on it (contract §13). */
const FINDINGS = 3

export const lintCommand = Command.make("lint", lintFlags, (flags) =>
  Effect.gen(function* () {
    const filter = yield* Filter.parse(parameters(flags), { accept: Filter.lintParameters, label: flag })
    const report = yield* withDatabase(Lint.run(filter), { prepare: true })
    yield* Effect.sync(() => {
      process.stdout.write(Lint.encode(report))
      if (Lint.found(report)) process.exitCode = FINDINGS
    })
  })
).pipe(
  Command.withDescription(
    "Check the corpus (the jobs an export with these filters holds, from one snapshot) and print one JSON " +
      "line: letter_conflict (copies of one letter, by its nomor_sprint, with different final results), " +
      "person_conflict (one NRP with two names), reverted (a field corrected back to what the pipeline said) " +
      "and nrp_format (an NRP not 8 or 18 digits), each a count and its first 20 examples. Exits 3 when a " +
      "check finds something (contract §13)."
  )
)

export const calibrationCommand = Command.make(
  "calibration",
  {
    targetError: Options.text("target-error").pipe(
      Options.withPseudoName("E"),
      Options.withDescription(
        "The error rate auto-approval may not exceed, at the upper end of its 95% Wilson interval: a " +
          `decimal between 0 and 1 (default ${Calibration.defaultTargetError}).`
      ),
      Options.optional
    ),
    ...lintFlags
  },
  (flags) =>
    Effect.gen(function* () {
      const filter = yield* Filter.parse(parameters(flags), { accept: Filter.lintParameters, label: flag })
      const target = Option.getOrElse(
        yield* parsedOption("--target-error", flags.targetError, Calibration.parseTarget),
        () => Calibration.defaultTargetError
      )
      const report = yield* withDatabase(
        Effect.flatMap(Export.Export, (exporter) => Calibration.run(exporter.samples(filter), target)),
        { prepare: true }
      )
      yield* Effect.sync(() => process.stdout.write(Calibration.encode(report)))
    })
).pipe(
  Command.withDescription(
    "Above which pipeline confidence could jobs be approved without a review? From the review history of " +
      "the jobs an export with these filters holds (one snapshot): a job was wrong when reviewers changed " +
      "the pipeline's answer. One JSON line: ten confidence bins (a reliability diagram), the jobs at or " +
      "above each threshold 0.50…0.99 and their error rate with its 95% Wilson upper bound, the smallest " +
      "threshold whose bound stays under --target-error (the reviews it saves), ECE and Brier (contract §14)."
  )
)

export const reportCommand = Command.make(
  "report",
  {
    out: outOption("page"),
    ...windowFlags
  },
  (flags) =>
    Effect.gen(function* () {
      const window = yield* Filter.parse(parameters(flags), { accept: Filter.statsParameters, label: flag })
      const out = Option.getOrElse(flags.out, () => "-")
      const target = out === "-" ? undefined : yield* outputTarget("--out", out)
      const [coverage, sections] = yield* withDatabase(
        Effect.zip(
          Effect.flatMap(Stats.Stats, (stats) => stats.coverage(window)),
          ReportPage.sections(window)
        ),
        { prepare: true }
      )
      const page = Stream.make(new TextEncoder().encode(ReportPage.html({ ...coverage, window }, sections)))
      yield* target === undefined ? Output.toStdout(page) : Output.toFile(target, page)
    })
).pipe(
  Command.withDescription(
    "Write the coverage report: one self-contained HTML page with charts of readiness, corrections per " +
      "field, approved samples per satuan against 50, and approvals per week, the lint of the window's " +
      "approved jobs (ground-truth lint), its examples linked to their jobs, where to fix the pipeline " +
      "(ground-truth eval without predictions: each field's errors by kind and the lever it points to), and " +
      "when a job could skip review (ground-truth calibration, in words and as a reliability diagram)."
  )
)
