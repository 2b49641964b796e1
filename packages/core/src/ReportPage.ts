/**
 * The coverage report: one self-contained HTML page (inline CSS and SVG, no script, nothing fetched)
 * that shows the stats as charts: readiness against the seed's checklist, corrections per field,
 * approved samples per satuan against the per-satuan minimum, and approvals week by week; the lint of
 * the window's approved jobs (§13): each check's count and first examples, linked to their jobs (or the
 * job it could not read); and where to fix the pipeline (§14): its errors by field and class, and the
 * lever each field's largest class points to. The same stats, lint and scores give the same bytes,
 * whichever front end writes the page.
 *
 * @since 0.1.0
 */
import { Effect, Either, Option } from "effect"
import * as Calibration from "./Calibration.js"
import * as Eval from "./Eval.js"
import { fixFirst } from "./EvalMarkdown.js"
import * as Export from "./Export.js"
import type * as Filter from "./Filter.js"
import { byteOrder } from "./internal/order.js"
import * as Lint from "./Lint.js"
import type * as Replay from "./Replay.js"
import type { Coverage, Week } from "./Stats.js"
import * as Timestamp from "./Timestamp.js"

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const number = (n: number): string => n.toLocaleString("en-US")

const WIDTH = 760
const LABEL = 220
const BAR = 22

/** Horizontal bars with a label, a value and an optional threshold line; `notes` pixels for the notes. */
const bars = (
  rows: ReadonlyArray<{ readonly label: string; readonly value: number; readonly note: string }>,
  threshold?: { readonly value: number; readonly label: string },
  notes = 120
): string => {
  const max = Math.max(1, threshold?.value ?? 0, ...rows.map((r) => r.value)) * 1.1
  const scale = (v: number) => ((WIDTH - LABEL - notes) * v) / max
  const height = rows.length * (BAR + 8) + 28
  const body = rows
    .map((r, i) => {
      const y = 20 + i * (BAR + 8)
      const ok = threshold === undefined || r.value >= threshold.value
      return (
        `<text x="${LABEL - 8}" y="${y + 16}" text-anchor="end">${escapeHtml(r.label)}</text>` +
        `<rect x="${LABEL}" y="${y}" width="${scale(r.value).toFixed(1)}" height="${BAR}" class="${ok ? "ok" : "short"}"/>` +
        `<text x="${(LABEL + scale(r.value) + 6).toFixed(1)}" y="${y + 16}">${escapeHtml(r.note)}</text>`
      )
    })
    .join("")
  const line =
    threshold === undefined
      ? ""
      : `<line x1="${(LABEL + scale(threshold.value)).toFixed(1)}" x2="${(LABEL + scale(threshold.value)).toFixed(1)}" y1="12" y2="${height - 4}" class="threshold"/>` +
        `<text x="${(LABEL + scale(threshold.value) + 4).toFixed(1)}" y="12" class="threshold-label">${escapeHtml(threshold.label)}</text>`
  return `<svg viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img">${body}${line}</svg>`
}

/** At most this many weekly bars: a longer span is charted k consecutive weeks to a bar. */
const MAX_BARS = 150

const WEEK_MS = 7 * 86_400_000

/**
 * A run of weeks without jobs longer than this many weeks, and than a quarter of the span, is not drawn
 * to scale: the axis breaks there. One job far from the rest (an old job approved today, a date typed a
 * century off) would otherwise squeeze every other week into a corner. At most three runs qualify.
 */
const GAP_WEEKS = 8

interface Bar {
  readonly label: string
  /** The Monday its first week starts on. */
  readonly start: string
  /** The Monday of its last week. */
  readonly end: string
  /** Weeks without jobs drawn as a break in the axis, not to scale; 0 for a bar of jobs. */
  readonly gap: number
  jobs: number
  approved: number
}

/**
 * Every week from the first to the last, the ones without jobs as zeros (time runs evenly), but for
 * the long empty runs of `GAP_WEEKS`, each drawn as one break; `k` weeks to a bar with `k` the fewest
 * that fit `MAX_BARS`: the page stays small whatever the span (2025 to 9999 is 416,094 weeks). A bar
 * never crosses a break; the last bar of a run ends at its last week, and its label says how many it
 * holds.
 */
const bucketed = (weeks: ReadonlyArray<Week>): { readonly bars: ReadonlyArray<Bar>; readonly k: number } => {
  const start = Date.parse(`${weeks[0].week}T00:00:00Z`)
  const index = (w: Week) => Math.round((Date.parse(`${w.week}T00:00:00Z`) - start) / WEEK_MS)
  const span = index(weeks[weeks.length - 1]) + 1
  const monday = (i: number) => new Date(start + i * WEEK_MS).toISOString().slice(0, 10)
  // The runs drawn to scale, [first, last] week indices, between the breaks.
  const runs: Array<[number, number]> = [[0, 0]]
  for (let i = 1; i < weeks.length; i++) {
    const [previous, next] = [index(weeks[i - 1]), index(weeks[i])]
    const empty = next - previous - 1
    if (empty > GAP_WEEKS && empty * 4 > span) runs.push([next, next])
    else runs[runs.length - 1][1] = next
  }
  const shown = runs.reduce((n, [first, last]) => n + last - first + 1, 0)
  const k = Math.ceil(shown / MAX_BARS)
  const bars: Array<Bar> = []
  const at = new Map<number, Bar>()
  runs.forEach(([first, last], r) => {
    if (r > 0) {
      const [from, to] = [runs[r - 1][1] + 1, first - 1]
      bars.push({ label: "", start: monday(from), end: monday(to), gap: to - from + 1, jobs: 0, approved: 0 })
    }
    for (let b = first; b <= last; b += k) {
      const end = Math.min(b + k - 1, last)
      const label = b === end ? monday(b) : `${monday(b)} to ${monday(end)} (${number(end - b + 1)} weeks)`
      const bar: Bar = { label, start: monday(b), end: monday(end), gap: 0, jobs: 0, approved: 0 }
      bars.push(bar)
      at.set(b, bar)
    }
  })
  let r = 0
  for (const w of weeks) {
    const i = index(w)
    while (r + 1 < runs.length && runs[r + 1][0] <= i) r++
    const first = runs[r][0]
    const bar = at.get(first + Math.floor((i - first) / k) * k)!
    bar.jobs += w.jobs
    bar.approved += w.approved
  }
  return { bars, k }
}

/** Weekly columns: all jobs behind, approved in front; a long run without jobs as a break. */
const columns = (weeks: ReadonlyArray<Week>): string => {
  if (weeks.length === 0) return '<p class="empty">No jobs in this window.</p>'
  const { bars, k } = bucketed(weeks)
  const height = 220
  const base = height - 30
  const max = bars.reduce((m, b) => Math.max(m, b.jobs), 1)
  const step = (WIDTH - 60) / bars.length
  const h = (v: number) => ((height - 50) * v) / max
  const body = bars
    .map((b, i) => {
      const x = 50 + i * step
      const width = Math.max(1, step - 2).toFixed(1)
      if (b.gap > 0) {
        const mid = x + step / 2
        const text = `${b.start} to ${b.end}: ${number(b.gap)} weeks without jobs, not to scale`
        return (
          `<g class="gap"><title>${escapeHtml(text)}</title>` +
          `<line x1="${(mid - 5).toFixed(1)}" x2="${(mid - 1).toFixed(1)}" y1="${base + 6}" y2="${base - 6}" class="axis"/>` +
          `<line x1="${(mid + 1).toFixed(1)}" x2="${(mid + 5).toFixed(1)}" y1="${base + 6}" y2="${base - 6}" class="axis"/>` +
          `<text x="${mid.toFixed(1)}" y="${base - 12}" text-anchor="middle" class="gap-label">${number(b.gap)} weeks</text></g>`
        )
      }
      return (
        `<rect x="${x.toFixed(1)}" y="${(base - h(b.jobs)).toFixed(1)}" width="${width}" height="${h(b.jobs).toFixed(1)}" class="jobs"><title>${escapeHtml(`${b.label}: ${jobs(b.jobs)}`)}</title></rect>` +
        `<rect x="${x.toFixed(1)}" y="${(base - h(b.approved)).toFixed(1)}" width="${width}" height="${h(b.approved).toFixed(1)}" class="ok"><title>${escapeHtml(`${b.label}: ${number(b.approved)} approved`)}</title></rect>`
      )
    })
    .join("")
  // Dates under the first bar, the last (its last week), the first after each break, and between them
  // as many of four evenly spaced ones as keep a fifth of the axis apart: a time axis.
  const first = 0
  const last = bars.length - 1
  const ticks = [first, last, ...bars.flatMap((b, i) => (b.gap > 0 ? [i + 1] : []))]
  for (const t of [1, 2, 3].map((t) => Math.round((t * last) / 4)))
    if (bars[t]!.gap === 0 && ticks.every((u) => Math.abs(u - t) * 5 >= bars.length)) ticks.push(t)
  const axis = [...new Set(ticks)]
    .sort((a, b) => a - b)
    .map((i) => {
      const x = 50 + i * step + Math.max(1, step - 2) / 2
      const anchor = i === first ? "start" : i === last ? "end" : "middle"
      const at = i === first ? 50 : i === last ? WIDTH - 10 : x
      return `<text x="${at.toFixed(1)}" y="${height - 10}" text-anchor="${anchor}">${escapeHtml(i === last ? bars[i]!.end : bars[i]!.start)}</text>`
    })
    .join("")
  const legend =
    `<rect x="60" y="6" width="12" height="12" class="jobs key"/><text x="78" y="16">jobs created</text>` +
    `<rect x="170" y="6" width="12" height="12" class="ok key"/><text x="188" y="16">of them approved</text>`
  return (
    `<svg viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img">${body}` +
    `<line x1="50" x2="${WIDTH - 10}" y1="${base}" y2="${base}" class="axis"/>` +
    axis +
    `<text x="44" y="${base - h(max) + 4}" text-anchor="end">${number(max)}</text>` +
    `<text x="44" y="${height - 26}" text-anchor="end">0</text>` +
    legend +
    (k > 1 ? `<text x="${WIDTH - 10}" y="16" text-anchor="end">each bar: ${number(k)} weeks</text>` : "") +
    "</svg>"
  )
}

/** How many of a check's examples the page shows (`ground-truth lint` prints up to `Lint.EXAMPLES`). */
const SHOWN = 5

/** A job, linked to its view (`GET /api/v1/jobs/{id}`, relative to the report's own address). */
const jobLink = (id: string): string =>
  `<a href="../jobs/${encodeURIComponent(id)}"><code>${escapeHtml(id.slice(0, 8))}</code></a>`

const jobLinks = (ids: ReadonlyArray<string>): string => ids.map(jobLink).join(", ")

const code = (text: string): string => `<code>${escapeHtml(text)}</code>`

/** ` and N more`, when a finding names fewer of its jobs than it has. */
const more = (jobs: number, shown: ReadonlyArray<string>): string =>
  jobs > shown.length ? ` and ${number(jobs - shown.length)} more` : ""

/** The lint section: a row per check, its count and its first examples. */
const lintTable = (lint: Lint.Report): string => {
  const row = <A>(
    name: string,
    what: string,
    check: { readonly count: number; readonly examples: ReadonlyArray<A> },
    example: (a: A) => string
  ) => {
    const shown = check.examples.slice(0, SHOWN).map((e) => `<li>${example(e)}</li>`)
    const more =
      check.count > shown.length
        ? `<li class="empty">and ${number(check.count - shown.length)} more</li>`
        : ""
    return (
      `<tr><th>${code(name)}</th><td>${number(check.count)}</td><td>${what}` +
      (shown.length > 0 ? `<ul>${shown.join("")}${more}</ul>` : "") +
      "</td></tr>"
    )
  }
  return (
    `<p>${number(lint.jobs)} approved jobs, ${number(lint.letters)} letters (by <code>header.nomor_sprint</code>; ` +
    `${number(lint.letters_with_copies)} of them with two or more jobs): ` +
    "what <code>ground-truth lint</code> finds with this window (it lists up to 20 examples of each).</p>" +
    "<table><tr><th>check</th><th>count</th><th>first examples</th></tr>" +
    row(
      "letter_conflict",
      "letters whose copies have different answers",
      lint.letter_conflict,
      (e) =>
        `${code(e.key)}: ${jobLinks(e.job_ids)}` +
        more(e.jobs, e.job_ids) +
        ` differ in ${e.fields.map(code).join(", ")}`
    ) +
    row(
      "person_conflict",
      "NRPs with two or more names",
      lint.person_conflict,
      (e) =>
        `${code(e.nrp)}: ${e.names.map((n) => `${escapeHtml(n.name)} (${jobLinks(n.job_ids)}${more(n.jobs, n.job_ids)})`).join("; ")}` +
        (e.name_count > e.names.length ? `; ${number(e.name_count)} names in all` : "")
    ) +
    row(
      "reverted",
      "fields corrected back to what the pipeline said",
      lint.reverted,
      (e) => `${jobLink(e.job_id)} ${code(e.field_path)} (${number(e.events)} corrections)`
    ) +
    row(
      "nrp_format",
      "NRPs that are not 8 or 18 digits",
      lint.nrp_format,
      (e) => `${jobLink(e.job_id)} ${code(e.field_path)} = ${code(e.value)}`
    ) +
    "</table>"
  )
}

/** How many fields the "where to fix" section lists, most errors first. */
const FIX_FIELDS = 20

/** The "where to fix" section: the pipeline's errors by field and class (§14), most first. */
const fixTable = (scored: Eval.Report): string => {
  const total = (f: Eval.FieldScores) => Object.values(f.pipeline.errors).reduce((a, b) => a + b, 0)
  const failing = scored.fields
    .filter((f) => total(f) > 0)
    .sort((a, b) => total(b) - total(a) || byteOrder(a.field, b.field))
  const intro =
    `<p>The pipeline's first answers against the ${number(scored.jobs)} approved answers of this window ` +
    "(<code>ground-truth eval</code> without predictions): each field's leaves that are not right, by kind, " +
    "and what the largest kind points to fixing.</p>"
  if (failing.length === 0)
    return `${intro}<p class="empty">The pipeline's answers match every approved answer here.</p>`
  const classes = ["missing", "extra", "format", "ocr", "value"] as const
  const rows = failing
    .slice(0, FIX_FIELDS)
    .map(
      (f) =>
        `<tr><th>${code(f.field === "" ? "(whole result)" : f.field)}</th><td>${number(f.support)}</td>` +
        `<td>${f.pipeline.recall === null ? "–" : `${(f.pipeline.recall * 100).toFixed(1)}%`}</td>` +
        classes.map((k) => `<td>${number(f.pipeline.errors[k])}</td>`).join("") +
        `<td>${escapeHtml(fixFirst(f.pipeline.errors) ?? "")}</td></tr>`
    )
  return (
    intro +
    "<table><tr><th>field</th><th>support</th><th>recall</th>" +
    classes.map((k) => `<th>${k}</th>`).join("") +
    "<th>fix first</th></tr>" +
    rows.join("") +
    "</table>" +
    (failing.length > FIX_FIELDS
      ? `<p class="empty">And ${number(failing.length - FIX_FIELDS)} more fields with errors.</p>`
      : "")
  )
}

/** How many times over: `70×`, `1.5×`. */
const ratio = (x: number): string =>
  `${x >= 10 ? number(Math.floor(x)) : (Math.floor(x * 10) / 10).toString()}×`

const percent = (x: number): string => `${(x * 100).toFixed(1)}%`

const jobs = (n: number): string => `${number(n)} job${n === 1 ? "" : "s"}`

/** The calibration section: the recommendation in words, then the reliability of each bin as bars. */
const calibrationSection = (c: Calibration.Report): string => {
  const target = percent(c.target_error)
  const recommended = c.recommended
  const at =
    recommended === null ? undefined : c.thresholds.find((t) => t.threshold === recommended.threshold)
  const words =
    c.jobs === 0
      ? "No approved job in this window has a confidence to calibrate."
      : recommended === null || at === undefined
        ? `No confidence threshold keeps the error rate's 95% upper bound under ${target}: every job still ` +
          `needs its review (${jobs(c.jobs)} with a confidence, ${number(c.excluded)} without).`
        : `Auto-approving confidence ≥ ${recommended.threshold.toFixed(2)} would have skipped ` +
          `${percent(recommended.share)} of reviews (${jobs(at.auto_approved)}); ${number(at.wrong)} of ` +
          `those needed a correction (${percent(recommended.error_rate)}; 95% upper bound ` +
          `${percent(at.wilson_high ?? 0)}, under the ${target} target).`
  const reliability = bars(
    c.bins
      .filter((b) => b.jobs > 0)
      .map((b) => ({
        label: `${b.from.toFixed(1)}–${b.to.toFixed(1)}`,
        value: 1 - (b.error_rate ?? 0),
        note: `${percent(1 - (b.error_rate ?? 0))} right · mean confidence ${(b.mean_confidence ?? 0).toFixed(2)} · ${jobs(b.jobs)}`
      }))
  )
  return (
    `<p>${escapeHtml(words)}</p>` +
    (c.jobs === 0
      ? ""
      : "<p>The share of each confidence bin's jobs the reviewers left as the pipeline answered: a calibrated " +
        `pipeline's bars grow with its confidence (<code>ground-truth calibration</code>; ECE ${c.ece}, Brier ${c.brier}).</p>` +
        reliability)
  )
}

const STYLE =
  "body{font:14px/1.4 system-ui,sans-serif;margin:2rem auto;max-width:800px;color:#222}" +
  "h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}svg text{font-size:12px;fill:#222}" +
  ".ok{fill:#2e7d32}.short{fill:#e0a000}.jobs{fill:#c8d6e5}.threshold{stroke:#c62828;stroke-width:2;stroke-dasharray:4 3}" +
  ".threshold-label{fill:#c62828}table{border-collapse:collapse}td,th{padding:2px 12px 2px 0;text-align:left}" +
  ".empty{color:#777}.axis{stroke:#888;stroke-width:1}.gap-label{fill:#777;font-size:11px}"

/**
 * The page's sections that replay the window's approved jobs: the lint (§13), the pipeline's scores and
 * its confidence's calibration (§14), each in a snapshot of its own, or the job it could not read.
 *
 * @since 0.1.0
 */
export interface Sections {
  readonly lint: Either.Either<Lint.Report, string>
  readonly fix: Either.Either<Eval.Report, string>
  readonly calibration: Either.Either<Calibration.Report, string>
}

/**
 * Reads the sections of a window (its stats parameters: the approved jobs by default).
 *
 * @since 0.1.0
 */
export const sections = (
  window: Filter.Filter
): Effect.Effect<
  Sections,
  Exclude<Export.ExportError, Export.InvalidRow | Replay.ReplayError>,
  Export.Export
> =>
  Effect.all({
    lint: Lint.forReport(window),
    fix: Export.readable(
      Effect.flatMap(Export.Export, (x) =>
        Effect.map(Eval.pipeline(window.format, x.samples(window)), (s) => s.report)
      )
    ),
    calibration: Export.readable(Effect.flatMap(Export.Export, (x) => Calibration.run(x.samples(window))))
  })

/**
 * The page.
 *
 * @since 0.1.0
 */
export const html = (coverage: Coverage, { calibration, fix, lint }: Sections): string => {
  const { report, weeks } = coverage
  const r = report.readiness
  const [since, until] = [coverage.window.since, coverage.window.until].map(Option.map(Timestamp.format))
  const window =
    Option.isNone(since) && Option.isNone(until)
      ? "the whole database"
      : `samples from ${escapeHtml(Option.getOrElse(since, () => "the start"))} until ` +
        escapeHtml(Option.getOrElse(until, () => "now"))
  // Each bucket against its own minimum, the line at 1 "ready": a reader asks how far each is from it,
  // not how it compares with the others, so a bar stops at the line (70 times the samples needed would
  // shrink the rest to slivers) and its note says how far past it it is.
  const share = (have: number, need: number, note: string) => ({
    value: Math.min(1, have / need),
    note: have > need && need > 0 ? `${note} (${ratio(have / need)})` : note
  })
  const readiness = bars(
    [
      {
        label: "Header LoRA",
        ...share(
          r.header_lora.rows,
          r.header_lora.minimum,
          `${number(r.header_lora.rows)} of ${number(r.header_lora.minimum)} samples`
        )
      },
      {
        label: "PP-Structure table",
        ...share(
          r.pp_structure.rows,
          r.pp_structure.minimum,
          `${number(r.pp_structure.rows)} of ${number(r.pp_structure.minimum)} samples`
        )
      },
      {
        label: `Satuan with ${r.per_satuan.minimum}+`,
        value: r.per_satuan.ready_satuan / Math.max(1, r.per_satuan.named_satuan),
        note: `${r.per_satuan.ready_satuan} of ${r.per_satuan.named_satuan} units`
      }
    ],
    { value: 1, label: "ready" },
    // Room for "70,043 of 1,000 samples (70×)" past a full bar.
    200
  )
  const fields = report.top_corrected_field_groups.length
    ? bars(
        report.top_corrected_field_groups.map((f) => ({
          label: f.field_path === "" ? "(whole result)" : f.field_path,
          value: f.count,
          note: `${number(f.count)} · ${(f.rate * 100).toFixed(1)}% of jobs`
        }))
      )
    : '<p class="empty">No corrections in this window.</p>'
  // Samples without a satuan are no unit: not measured against the minimum, counted apart.
  const named = r.per_satuan.satuan.filter((s) => s.satuan !== null)
  const unnamed = r.per_satuan.satuan.find((s) => s.satuan === null)
  const satuan =
    (named.length
      ? bars(
          named.map((s) => ({ label: s.satuan ?? "", value: s.rows, note: number(s.rows) })),
          { value: r.per_satuan.minimum, label: `${r.per_satuan.minimum} per satuan` }
        )
      : '<p class="empty">No approved samples of a named satuan in this window.</p>') +
    (unnamed === undefined
      ? ""
      : `<p class="unnamed">And ${number(unnamed.rows)} approved samples without a satuan (not a unit: not counted against the minimum).</p>`)
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>ground-truth coverage</title><style>${STYLE}</style></head><body>` +
    `<h1>ground-truth coverage</h1><p>Over ${window}.</p>` +
    `<table><tr><th>Jobs</th><td>${number(report.total_jobs)}</td></tr>` +
    `<tr><th>Approved</th><td>${number(report.approved_jobs)}</td></tr>` +
    `<tr><th>Corrections</th><td>${number(report.total_corrections)}</td></tr>` +
    `<tr><th>Jobs with corrections</th><td>${number(report.jobs_with_corrections)}</td></tr></table>` +
    `<h2 id="readiness">Readiness to fine-tune (share of each minimum)</h2>${readiness}` +
    `<h2 id="fields">Corrections per field (table rows together)</h2>${fields}` +
    `<h2 id="satuan">Approved samples per satuan</h2>${satuan}` +
    `<h2 id="weeks">Jobs and approvals per week</h2>${columns(weeks)}` +
    `<h2 id="lint">Lint of the approved jobs</h2>` +
    Either.match(lint, {
      onLeft: (why) => `<p class="empty">Lint could not run: ${escapeHtml(why)}.</p>`,
      onRight: lintTable
    }) +
    `<h2 id="fix">Where to fix: the pipeline's errors</h2>` +
    Either.match(fix, {
      onLeft: (why) => `<p class="empty">The pipeline could not be scored: ${escapeHtml(why)}.</p>`,
      onRight: fixTable
    }) +
    `<h2 id="calibration">When a job could skip review: the pipeline's confidence</h2>` +
    Either.match(calibration, {
      onLeft: (why) => `<p class="empty">The confidence could not be calibrated: ${escapeHtml(why)}.</p>`,
      onRight: calibrationSection
    }) +
    "</body></html>\n"
  )
}
