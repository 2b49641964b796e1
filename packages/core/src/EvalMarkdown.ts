/**
 * The Markdown view of an evaluation (contract §12): the report of `Eval` as tables a reviewer reads, and
 * the lever each field's largest error class points to (`fixFirst`, which the coverage report shows too).
 *
 * @since 0.1.0
 */
import type { Completions, Errors, FieldScores, Interval, Predictor, Report, Scored, Scores } from "./Eval.js"
import { byteOrder } from "./internal/order.js"
import { quantity } from "./internal/quantity.js"

/** A count and its noun: `1 reference job`, `7,002 reference jobs`. */
const counted = (n: number, noun: string): string => `${quantity(n)} ${noun}${n === 1 ? "" : "s"}`

/** A share as a percentage with one decimal, or `–` when there is none. */
const percent = (x: number | null): string => (x === null ? "–" : `${(x * 100).toFixed(1)}%`)

/** A difference of two shares in percentage points, signed, or `–`. */
const points = (a: number | null, b: number | null): string => {
  if (a === null || b === null) return "–"
  const d = Math.round((a - b) * 1000) / 10
  return `${d > 0 ? "+" : d < 0 ? "−" : "±"}${Math.abs(d).toFixed(1)}`
}

/** `n / of` unrounded, or null when `of` is 0: what the views show and subtract. */
const share = (n: number, of: number): number | null => (of === 0 ? null : n / of)

/** A predictor's precision, recall and F1 on a field, unrounded, from the report's counts. */
const exactly = (s: Scores, support: number) => ({
  precision: share(s.correct, s.predicted),
  recall: share(s.correct, support),
  f1: s.correct === 0 ? null : share(2 * s.correct, s.predicted + support)
})

/** A predictor's micro and macro F1 over the fields, unrounded, as `overallOf` counts them. */
const overallF1 = (fields: ReadonlyArray<FieldScores>, who: Predictor) => {
  const held = fields.filter((f) => f.support > 0)
  const sum = (k: "correct" | "predicted") => fields.reduce((n, f) => n + (f[who]?.[k] ?? 0), 0)
  const support = fields.reduce((n, f) => n + f.support, 0)
  return {
    micro: sum("correct") === 0 ? null : share(2 * sum("correct"), sum("predicted") + support),
    macro:
      held.length === 0
        ? null
        : held.reduce((n, f) => n + (exactly(f[who] as Scores, f.support).f1 ?? 0), 0) / held.length
  }
}

/** A difference's 95% interval in points, `*` when it excludes 0; empty when there is none. */
const within = (i: Interval | undefined): string =>
  i === undefined ? "" : `${points(i.low, 0)} to ${points(i.high, 0)}${i.low > 0 || i.high < 0 ? " *" : ""}`

/** `|` and line breaks would break a table cell. */
const cell = (text: string): string => text.replaceAll("|", "\\|").replaceAll("\n", " ")

/** What each error class points to fixing (contract §14), in the order the classes are printed. */
const LEVERS: ReadonlyArray<readonly [keyof typeof Errors.Type, string]> = [
  ["missing", "the prompt (a field left out)"],
  ["extra", "the prompt (a field invented)"],
  ["format", "a normalizer (spacing, case, punctuation)"],
  ["ocr", "OCR post-correction (0/O, 1/I, 5/S…)"],
  ["value", "fine-tuning (a wrong value)"]
]

/**
 * The lever of a predictor's largest error class on a field (the first of equals), or none.
 *
 * @since 0.1.0
 */
export const fixFirst = (e: Errors): string | undefined => {
  let best: readonly [number, string] | undefined
  for (const [k, lever] of LEVERS) if (e[k] > (best?.[0] ?? 0)) best = [e[k], lever]
  return best?.[1]
}

/** The errors table: each field's classes for each predictor with errors, and the lever to pull first. */
const errorRows = (rows: ReadonlyArray<FieldScores>): Array<string> => [
  `| field | errors of | ${LEVERS.map(([k]) => k).join(" | ")} | fix first |`,
  `|---|---|${LEVERS.map(() => "---:|").join("")}---|`,
  ...rows.flatMap((f) =>
    (["model", "against", "pipeline"] as const).flatMap((who) => {
      const errors = f[who]?.errors
      const lever = errors === undefined ? undefined : fixFirst(errors)
      return errors === undefined || lever === undefined
        ? []
        : [`| \`${cell(f.field)}\` | ${who} | ${LEVERS.map(([k]) => errors[k]).join(" | ")} | ${lever} |`]
    })
  ),
  "",
  "missing and extra point to the prompt, format to a normalizer, ocr to OCR post-correction, value to " +
    "fine-tuning (contract §14).",
  ""
]

/** What the views compare the model with: the second model when there is one, else the pipeline. */
const baselineOf = (r: Report): "against" | "pipeline" => (r.against === undefined ? "pipeline" : "against")

/**
 * The slices as one table (value, jobs, exact match and micro F1 side by side: the model's and its
 * baseline's, the second model's when there is one, else the pipeline's), or nothing: each row from the
 * slice's counts.
 */
const sliceRows = (r: Report, exact: Scored["slices"]): Array<string> => {
  if (r.slices === undefined || exact === undefined) return []
  const model = r.predictions !== undefined
  const base = baselineOf(r)
  const label = (v: string | null) => (v === null ? "(none)" : `\`${cell(v)}\``)
  return [
    `## By ${r.slices.by}`,
    "",
    model
      ? `| value | jobs | model exact | ${base} exact | Δ | model micro F1 | ${base} micro F1 | Δ |`
      : "| value | jobs | exact match | micro F1 |",
    model ? "|---|---:|---:|---:|---:|---:|---:|---:|" : "|---|---:|---:|---:|",
    ...r.slices.values.map((slice, i) => {
      const s = slice.report
      const p = share(exact[i]![base] ?? 0, s.jobs)
      const pf = overallF1(s.fields, base).micro
      if (!model) return `| ${label(slice.value)} | ${quantity(s.jobs)} | ${percent(p)} | ${percent(pf)} |`
      const m = share(exact[i]!.model, s.jobs)
      const mf = overallF1(s.fields, "model").micro
      return (
        `| ${label(slice.value)} | ${quantity(s.jobs)} | ${percent(m)} | ${percent(p)} | ${points(m, p)} | ` +
        `${percent(mf)} | ${percent(pf)} | ${points(mf, pf)} |`
      )
    }),
    ""
  ]
}

/** What a file of predictions held, in words: `7,002 predicted, 0 missing, 3 unparseable`. */
const heldOf = (c: {
  readonly predictions?: number | undefined
  readonly missing?: number | undefined
  readonly unparseable?: number | undefined
}) =>
  `${quantity(c.predictions ?? 0)} predicted, ${quantity(c.missing ?? 0)} missing, ${quantity(c.unparseable ?? 0)} unparseable`

/** The completions read with each rule beyond the whole text, in words; empty when none needed one. */
const readingOf = (read: Completions | undefined): string =>
  read === undefined || read.think + read.code_block + read.braces === 0
    ? ""
    : ` Completions read after removing a \`<think>\` span: ${read.think}; from their first code block: ` +
      `${read.code_block}; from their first \`{\` to their last \`}\`: ${read.braces}.`

/**
 * The report for a person: the counts, exact match, micro and macro F1, and one row per field with the
 * model and the pipeline (with a second model, the two models, the pipeline kept in a column of the
 * first table) side by side and the model's gain in points, every figure and difference
 * computed from the counts (a difference of rounded figures can disagree with the figures shown); then,
 * for each field and predictor with errors, its leaves in each class and the lever its largest class
 * points to. Worst first: fields by the model's
 * recall (of the pipeline alone, by its recall), lowest first (fields no reference holds last), then by
 * name.
 *
 * @since 0.1.0
 */
export const markdown = ({ report: r, exact: counts, slices }: Scored): string => {
  const recall = (f: FieldScores) => (f.model ?? f.pipeline).recall ?? Number.POSITIVE_INFINITY
  const rows = [...r.fields].sort((a, b) => recall(a) - recall(b) || byteOrder(a.field, b.field))
  const title = [
    "# Evaluation against the ground truth",
    "",
    ...(r.warning === undefined ? [] : [`> **Warning:** ${r.warning}.`, ""])
  ]
  const pipelineExact = share(counts.pipeline, r.jobs)
  const pipelineF1 = overallF1(r.fields, "pipeline")
  if (r.predictions === undefined)
    return [
      ...title,
      `${counted(r.jobs, "reference job")}, scored against the pipeline's first answers alone (no predictions).`,
      "",
      `| | pipeline |`,
      "|---|---:|",
      `| exact match | ${percent(pipelineExact)} |`,
      `| micro F1 | ${percent(pipelineF1.micro)} |`,
      `| macro F1 | ${percent(pipelineF1.macro)} |`,
      "",
      "| field | support | recall | precision | f1 |",
      "|---|---:|---:|---:|---:|",
      ...rows.map((f) => {
        const p = exactly(f.pipeline, f.support)
        return `| \`${cell(f.field)}\` | ${quantity(f.support)} | ${percent(p.recall)} | ${percent(p.precision)} | ${percent(p.f1)} |`
      }),
      "",
      ...sliceRows(r, slices),
      ...errorRows(rows)
    ].join("\n")
  const exact = share(counts.model, r.jobs)
  const modelF1 = overallF1(r.fields, "model")
  // The model is compared with a second model when there is one (its Δ and intervals), else the pipeline.
  const second = r.against
  const base = baselineOf(r)
  const baseExact = share(counts[base] ?? 0, r.jobs)
  const baseF1 = overallF1(r.fields, base)
  const intervals = second === undefined ? r.intervals : r.intervals?.against
  const pipelineColumn = (x: string, pad = " ") => (second === undefined ? "" : `${pad}${x}${pad}|`)
  return [
    ...title,
    ...(second?.warning === undefined ? [] : [`> **Warning:** ${second.warning}.`, ""]),
    `${counted(r.jobs, "reference job")}; ${heldOf(r)}; ${counted(r.unknown ?? 0, "line")} for other jobs ignored.` +
      readingOf(r.completions) +
      (second === undefined
        ? ""
        : ` Against (the second model): ${heldOf(second)}; ${counted(second.unknown ?? 0, "line")} for other ` +
          `jobs ignored.${readingOf(second.completions)}`),
    "",
    `| | model | ${base} | Δ | 95% interval of Δ |${pipelineColumn("pipeline")}`,
    `|---|---:|---:|---:|---|${pipelineColumn("---:", "")}`,
    `| exact match | ${percent(exact)} | ${percent(baseExact)} | ${points(exact, baseExact)} | ` +
      `${within(intervals?.exact_match)} |${pipelineColumn(percent(pipelineExact))}`,
    `| micro F1 | ${percent(modelF1.micro)} | ${percent(baseF1.micro)} | ` +
      `${points(modelF1.micro, baseF1.micro)} | ${within(intervals?.micro_f1)} |${pipelineColumn(percent(pipelineF1.micro))}`,
    `| macro F1 | ${percent(modelF1.macro)} | ${percent(baseF1.macro)} | ${points(modelF1.macro, baseF1.macro)} | |` +
      pipelineColumn(percent(pipelineF1.macro)),
    "",
    `| field | support | model recall | ${base} recall | Δ recall | model precision | ${base} precision | Δ precision | Δ f1, 95% interval |`,
    "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ...rows.map((f) => {
      const [m, p] = [exactly(f.model as Scores, f.support), exactly(f[base] as Scores, f.support)]
      const f1 = intervals?.fields.find((x) => x.field === f.field)?.f1
      return (
        `| \`${cell(f.field)}\` | ${quantity(f.support)} | ${percent(m.recall)} | ${percent(p.recall)} | ` +
        `${points(m.recall, p.recall)} | ${percent(m.precision)} | ${percent(p.precision)} | ` +
        `${points(m.precision, p.precision)} | ` +
        `${f1 === undefined ? "" : `${points(m.f1 ?? 0, p.f1 ?? 0)} (${within(f1)})`} |`
      )
    }),
    "",
    ...(r.intervals === undefined
      ? []
      : [
          `Intervals: a paired bootstrap over the ${counted(r.jobs, "job")} (${quantity(r.intervals.resamples)} ` +
            `resamples, seed ${r.intervals.seed}); * marks a difference whose 95% interval excludes 0.` +
            (second === undefined ? "" : " Δ is the model's score less the second model's (against)."),
          ""
        ]),
    ...sliceRows(r, slices),
    ...errorRows(rows)
  ].join("\n")
}
