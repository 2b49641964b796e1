/**
 * `eval`: a model's predictions scored against the ground truth (contract §12).
 */
import * as fs from "node:fs"
import { Command, Options } from "@effect/cli"
import { Eval, EvalMarkdown, Export, Filter } from "@ground-truth/core"
import { Effect, Option, Stream } from "effect"
import {
  exportFlags,
  flag,
  outputTarget,
  parameters,
  parsedOption,
  resolvePath,
  UsageError,
  withDatabase
} from "../Flags.js"
import * as Output from "../Output.js"
import * as Predictions from "../Predictions.js"

const { changedSince: _, input: __, ...evalFilterFlags } = exportFlags

export const evalCommand = Command.make(
  "eval",
  {
    predictions: Options.text("predictions").pipe(
      Options.withPseudoName("FILE"),
      Options.withDescription(
        'A JSONL file, one line per job: {"job_id": …, "result": {…}} or {"job_id": …, "completion": "…"} ' +
          '(a model\'s raw answer, or TRL\'s [{"role":"assistant","content":"…"}], read as a chatty model writes ' +
          "it: <think> spans removed, then the whole text, its first ``` code block, or its first { to its last }). " +
          "Without it (or with an empty file), the pipeline's first answers are scored alone: where the " +
          "pipeline fails, and what kind of fix each field needs."
      ),
      Options.optional
    ),
    against: Options.text("against").pipe(
      Options.withPseudoName("FILE"),
      Options.withDescription(
        "A second model's predictions, in the same form, scored on the same jobs beside the first (and the " +
          "pipeline): the line gains against {predictions, missing, unknown, unparseable, completions}, an " +
          "against score beside model and pipeline everywhere, and intervals.against, the 95% intervals of " +
          "model − against from the same paired resamples. --markdown then compares the two models. Needs " +
          "--predictions."
      ),
      Options.optional
    ),
    markdown: Options.boolean("markdown").pipe(
      Options.withDescription(
        "Print a Markdown table for people instead of the JSON line: model and pipeline (with --against, the " +
          "two models) side by side per field, worst fields first, with the difference in points."
      )
    ),
    by: Options.text("by").pipe(
      Options.withPseudoName("satuan|source_kind|review_flag"),
      Options.withDescription(
        "Also score each slice of the reference jobs on its own: by satuan, source_kind or review_flag (each " +
          "flag of a job; none: null). The line gains slices {by, values: [{value, report}]}, and --markdown a " +
          "table of the slices: where the model helps, and where it hurts."
      ),
      Options.optional
    ),
    details: Options.text("details").pipe(
      Options.withPseudoName("FILE"),
      Options.withDescription(
        "Also write one JSON line per reference job to FILE, in export order, from the same snapshot: its " +
          "prediction (result, null, unparseable or missing) and line, whether the model and the pipeline " +
          "matched it exactly, and each wrong leaf with its path, class, expected and predicted values: the " +
          "letters a model gets wrong, to read or to grep. Written whole or not at all."
      ),
      Options.optional
    ),
    ...evalFilterFlags
  },
  (flags) =>
    Effect.gen(function* () {
      const filter = yield* Filter.parse(parameters(flags), { accept: Filter.evalParameters, label: flag })
      const detailsFile = Option.isNone(flags.details)
        ? undefined
        : yield* outputTarget("--details", flags.details.value)
      if (Option.isSome(flags.against) && Option.isNone(flags.predictions))
        return yield* new UsageError({
          message: "--against compares a second model with the first: give the first with --predictions"
        })
      if (detailsFile !== undefined)
        for (const [which, given] of [
          ["predictions", flags.predictions],
          ["--against", flags.against]
        ] as const) {
          if (Option.isNone(given)) continue
          // Replacing the predictions with their details would lose them.
          const read = Effect.option(Effect.try(() => fs.realpathSync(resolvePath(given.value))))
          if (Option.contains(yield* read, detailsFile.file))
            return yield* new UsageError({
              message: `--details ${detailsFile.name} is the ${which} file: name a file of its own`
            })
        }
      const by = yield* parsedOption("--by", flags.by, Eval.parseBy)
      const score = <E2>(
        exporter: Export.Export,
        predictions: Eval.Given<E2> | undefined,
        against: Eval.Given<E2> | undefined
      ) => {
        const options: Eval.Options<E2> = {
          split: filter.split,
          ...Option.match(by, { onNone: () => ({}), onSome: (slice) => ({ by: slice }) }),
          ...(against === undefined ? {} : { against })
        }
        if (detailsFile === undefined)
          return Eval.run(filter.format, exporter.samples(filter), predictions, options)
        const { lines, scored } = Eval.detailed(filter.format, exporter.samples(filter), predictions, options)
        const encoder = new TextEncoder()
        return Effect.zipRight(
          Output.toFile(
            detailsFile,
            Stream.map(lines, (line) => encoder.encode(line))
          ),
          scored
        )
      }
      const opened = (file: Option.Option<string>, which: Eval.PredictionsFile) =>
        Option.match(file, {
          onNone: () => Effect.succeed(undefined),
          onSome: (name) => Predictions.open(resolvePath(name), which)
        })
      const scored = yield* Effect.scoped(
        Effect.gen(function* () {
          const predictions = yield* opened(flags.predictions, "predictions")
          const against = yield* opened(flags.against, "against")
          return yield* withDatabase(
            Effect.flatMap(Export.Export, (exporter) => score(exporter, predictions, against)),
            { prepare: true }
          )
        })
      )
      const warnings = [scored.report.warning, scored.report.against?.warning]
      yield* Effect.sync(() => {
        for (const warning of warnings)
          if (warning !== undefined) process.stderr.write(`ground-truth: warning: ${warning}\n`)
        process.stdout.write(flags.markdown ? EvalMarkdown.markdown(scored) : Eval.encode(scored.report))
      })
    })
).pipe(
  Command.withDescription(
    "Score a model's predictions against the ground truth. The reference is the jobs an export with the " +
      "same filters holds, from one snapshot; each field is scored beside the pipeline's first answer: one " +
      "JSON line with precision, recall, f1 and error classes per field (missing, extra, format, ocr, value: " +
      "the prompt, a normalizer, OCR post-correction or fine-tuning) and exact match (contracts §12, §14). " +
      "With --against, a second model beside the first. Without --predictions, the pipeline alone."
  )
)
