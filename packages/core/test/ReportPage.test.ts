import { describe, expect, it } from "@effect/vitest"
import { Either, Option } from "effect"
import { Calibration, Eval, Filter, Json, Lint, ReportPage, Stats, Timestamp } from "../src/index.js"
import type { Job } from "../src/Sample.js"
import { sample } from "./samples.js"

const job = (id: string, satuan: string | null, approved: boolean, at: string): Job => ({
  id,
  filename: "x.pdf",
  sourceKind: "pdf",
  approved,
  reviewedBy: null,
  reviewedAt: null,
  createdAt: Timestamp.make(Date.parse(at) / 1000),
  result: undefined,
  reviewFlags: [],
  confidence: null,
  events: [],
  satuan
})

/** A lint that found nothing. */
const clean = new Lint.Report({
  jobs: 0,
  letters: 0,
  letters_with_copies: 0,
  letter_conflict: { count: 0, examples: [] },
  person_conflict: { count: 0, examples: [] },
  reverted: { count: 0, examples: [] },
  nrp_format: { count: 0, examples: [] }
})

/** The pipeline scored on no job: nothing to fix. */
const unscored = Eval.report(Eval.empty(Eval.limits, false), { lines: 0 })

/** The replayed sections with this lint, and nothing to fix. */
const withLint = (lint: Either.Either<Lint.Report, string>): ReportPage.Sections => ({
  lint,
  fix: Either.right(unscored),
  calibration: Either.right(Calibration.of([]))
})

/** The page of `jobs` over the whole database, with a clean lint. */
const pageOf = (jobs: ReadonlyArray<Job>) =>
  ReportPage.html(
    {
      report: Stats.fromJobs(jobs, Filter.defaults),
      weeks: Stats.weeksOf(jobs, Filter.defaults),
      window: { since: Option.none(), until: Option.none() }
    },
    withLint(Either.right(clean))
  )

describe("ReportPage", () => {
  const jobs = [
    job("a", '<script>alert("x")</script> & Co', true, "2025-06-04T10:00:00Z"),
    job("b", null, false, "2025-06-08T23:59:59Z"),
    job("c", "Polres Bogor", true, "2025-06-09T00:00:00Z"),
    job("d", "Polres Bogor", false, "2025-06-25T12:00:00Z")
  ]

  it("puts jobs in ISO weeks (Monday, UTC) by sample time", () => {
    expect(Stats.weeksOf(jobs, Filter.defaults)).toEqual([
      { week: "2025-06-02", jobs: 2, approved: 1 },
      { week: "2025-06-09", jobs: 1, approved: 1 },
      { week: "2025-06-23", jobs: 1, approved: 0 }
    ])
  })

  it("escapes every text it shows, and fetches nothing", () => {
    const page = pageOf(jobs)
    expect(page).not.toContain("<script")
    expect(page).toContain("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; Co")
    expect(page).not.toMatch(/\b(src|href)=/)
    expect(page.startsWith("<!DOCTYPE html>\n")).toBe(true)
    // A week without jobs is a column of zero, not a gap that time skips over.
    expect(page).toContain("<title>2025-06-16: 0 jobs</title>")
    // No corrections: that chart is a sentence instead.
    expect(page.match(/<svg /g)).toHaveLength(3)
    expect(page).toContain("No corrections in this window.")
  })
})

describe("the readiness chart", () => {
  it("draws each bucket against its own minimum: a bar stops at the line, its note says how many times over", () => {
    // 14,000 approved jobs over 12 units: 70 times the LoRA's 200, 14 times PP-Structure's 1,000, and
    // every unit past its 50. Against the largest ratio, the units' bar would be a 77th of the width.
    const units = Array.from({ length: 12 }, (_, i) => `Polres ${i}`)
    // Each with a personnel table, as PP-Structure counts them.
    const table = Json.object([["personel", [Json.object([["nama", "A"]])]]])
    const many = Array.from({ length: 14_000 }, (_, i) => ({
      ...job(`j${i}`, units[i % 12]!, true, "2025-06-04T10:00:00Z"),
      result: table
    }))
    const page = pageOf(many)
    const readiness = page.slice(page.indexOf('id="readiness"'), page.indexOf('id="fields"'))
    const widths = [...readiness.matchAll(/<rect [^>]*width="([\d.]+)"[^>]*class="ok"/g)].map((m) => m[1])
    // The line at 1 sits at (760 − 220 − 200) / 1.1 pixels; every bar reaches it and none goes past.
    expect(widths).toEqual(["309.1", "309.1", "309.1"])
    expect(readiness).toContain(">14,000 of 200 samples (70×)</text>")
    expect(readiness).toContain(">14,000 of 1,000 samples (14×)</text>")
    expect(readiness).toContain(">12 of 12 units</text>")
  })

  it("a bucket short of its minimum is drawn to its share, in the colour of short", () => {
    const few = [job("a", "Polres Bogor", true, "2025-06-04T10:00:00Z")]
    const page = pageOf(few)
    const readiness = page.slice(page.indexOf('id="readiness"'), page.indexOf('id="fields"'))
    // 1 of 200 is 0.005 of the line's 309.1 pixels; 1 of 1,000 a fifth of that.
    expect(readiness).toContain(`width="${(340 / 1.1 / 200).toFixed(1)}" height="22" class="short"`)
    expect(readiness).toContain(">1 of 200 samples</text>")
  })
})

describe("the lint section", () => {
  const hostile = '<img src=x onerror="alert(1)">'
  const id = (n: number) => `0000000${n}-0000-4000-8000-000000000000`
  const lint = new Lint.Report({
    jobs: 9,
    letters: 7,
    letters_with_copies: 2,
    letter_conflict: {
      count: 1,
      examples: [
        new Lint.LetterConflict({
          key: hostile,
          jobs: 30,
          job_ids: [id(1), id(2)],
          fields: ["header.perihal"]
        })
      ]
    },
    person_conflict: {
      count: 1,
      examples: [
        new Lint.PersonConflict({
          nrp: "77060001",
          name_count: 3,
          names: [
            new Lint.Name({ name: hostile, jobs: 1, job_ids: [id(3)] }),
            new Lint.Name({ name: "budi", jobs: 1, job_ids: [id(4)] })
          ]
        })
      ]
    },
    reverted: { count: 0, examples: [] },
    nrp_format: {
      count: 8,
      examples: Array.from(
        { length: 6 },
        (_, i) =>
          new Lint.NrpFormat({ job_id: id(i + 1), field_path: `personel[${i}].nrp`, value: `"${hostile}"` })
      )
    }
  })
  const page = ReportPage.html(
    {
      report: Stats.fromJobs([], Filter.defaults),
      weeks: [],
      window: { since: Option.none(), until: Option.none() }
    },
    withLint(Either.right(lint))
  )
  const section = page.slice(page.indexOf('<h2 id="lint">'), page.indexOf('<h2 id="fix">'))

  it("shows each check's count, its first five examples and how many more, every text escaped", () => {
    expect(section).toContain("9 approved jobs, 7 letters (by <code>header.nomor_sprint</code>; 2 of them")
    expect(section.match(/<tr><th><code>/g)).toHaveLength(4)
    expect(section).toContain("<code>nrp_format</code></th><td>8</td>")
    expect(section.match(/personel\[\d\]\.nrp/g)).toHaveLength(5)
    expect(section).toContain("and 3 more")
    expect(section).toContain(
      '(<a href="../jobs/00000004-0000-4000-8000-000000000000"><code>00000004</code></a>); 3 names in all'
    )
    expect(section).toContain("<code>00000002</code></a> and 28 more differ in <code>header.perihal</code>")
    expect(section).not.toContain("<img")
    expect(section).toContain("&#60;img src=x onerror=&#34;alert(1)&#34;&#62;")
  })

  it("says why when the lint could not run, escaped", () => {
    const failed = ReportPage.html(
      {
        report: Stats.fromJobs([], Filter.defaults),
        weeks: [],
        window: { since: Option.none(), until: Option.none() }
      },
      withLint(Either.left(`job x: cannot read result: ${hostile}`))
    )
    expect(failed.slice(failed.indexOf('<h2 id="lint">'), failed.indexOf('<h2 id="fix">'))).toBe(
      '<h2 id="lint">Lint of the approved jobs</h2><p class="empty">Lint could not run: job x: cannot read ' +
        "result: &#60;img src=x onerror=&#34;alert(1)&#34;&#62;.</p>"
    )
  })

  it("links each job to its view, and fetches nothing", () => {
    expect(page).not.toMatch(/\bsrc=(?!x )/)
    const links = [...section.matchAll(/href="([^"]*)"/g)].map((m) => m[1])
    expect(links.length).toBeGreaterThan(0)
    for (const link of links) expect(link).toMatch(/^\.\.\/jobs\/0000000\d-0000-4000-8000-000000000000$/)
    expect(section).toContain(`<a href="../jobs/${id(1)}"><code>00000001</code></a>`)
  })
})

describe("the weekly chart bounds itself", () => {
  const report = Stats.fromJobs([], Filter.defaults)
  const window = { since: Option.none(), until: Option.none() }
  const page = (weeks: ReadonlyArray<Stats.Week>) =>
    ReportPage.html({ report, weeks, window }, withLint(Either.right(clean)))
  const bars = (html: string) => html.match(/class="jobs"/g)?.length ?? 0
  const breaks = (html: string) => html.match(/<g class="gap">/g)?.length ?? 0
  /** The Monday `n` weeks after `from`. */
  const monday = (from: string, n: number) =>
    new Date(Date.parse(`${from}T00:00:00Z`) + n * 7 * 86_400_000).toISOString().slice(0, 10)
  /** A job in every `every`-th of `span` weeks from `from`, and in the last. */
  const spread = (from: string, span: number, every: number): Array<Stats.Week> => [
    ...Array.from({ length: Math.ceil((span - 1) / every) }, (_, i) => ({
      week: monday(from, i * every),
      jobs: 1,
      approved: 0
    })),
    { week: monday(from, span - 1), jobs: 1, approved: 1 }
  ]

  it("a long span with jobs throughout: k weeks to a bar, at most 150 bars, a small page", () => {
    // 1,000 weeks, a job every third: k = 7, 143 bars, the last of 6 weeks (994 to 999).
    const html = page(spread("2025-06-02", 1000, 3))
    expect(bars(html)).toBe(143)
    expect(breaks(html)).toBe(0)
    expect(html).toContain(`<title>2025-06-02 to ${monday("2025-06-02", 6)} (7 weeks): 3 jobs</title>`)
    expect(html).toContain(
      `<title>${monday("2025-06-02", 994)} to ${monday("2025-06-02", 999)} (6 weeks): 2 jobs</title>`
    )
    expect(html).toContain(">each bar: 7 weeks</text>")
    expect(html).toContain(`>${monday("2025-06-02", 999)}</text>`)
    expect(html.length).toBeLessThan(100_000)
  })

  it("a span of 150 weeks keeps one bar per week, titled by its Monday", () => {
    const html = page(spread("2025-06-02", 150, 2))
    expect(bars(html)).toBe(150)
    expect(html).toContain("<title>2025-06-02: 1 job</title>")
    expect(html).toContain(`<title>${monday("2025-06-02", 149)}: 1 job</title>`)
    expect(html).not.toContain("each bar")
  })

  it("the widest span PostgreSQL's weeks can have (0001-01-01 to 9999-12-27), jobs throughout: 150 bars", () => {
    const span =
      (Date.parse("9999-12-27T00:00:00Z") - Date.parse("0001-01-01T00:00:00Z")) / (7 * 86_400_000) + 1
    const html = page(spread("0001-01-01", span, 1000))
    expect(bars(html)).toBe(150)
    expect(breaks(html)).toBe(0)
    expect(html.length).toBeLessThan(100_000)
    expect(html).toContain(`>each bar: ${Math.ceil(span / 150).toLocaleString("en-US")} weeks</text>`)
    expect(html).toContain(">9999-12-27</text>")
  })

  it("one approval long after the rest breaks the axis instead of squeezing the rest into a corner", () => {
    // 26 weeks of jobs in 2025, then one job approved on 2026-12-07: 74 weeks without jobs between.
    const html = page([...spread("2025-01-06", 26, 1), { week: "2026-12-07", jobs: 1, approved: 1 }])
    expect(bars(html)).toBe(27)
    expect(breaks(html)).toBe(1)
    expect(html).toContain("<title>2025-07-07 to 2026-11-30: 74 weeks without jobs, not to scale</title>")
    // Each of the 27 bars and the break gets a 28th of the axis, not a 101st.
    expect(html).toContain(`width="${((760 - 60) / 28 - 2).toFixed(1)}" height=`)
    for (const tick of ["2025-01-06", "2026-12-07"]) expect(html).toContain(`>${tick}</text>`)
    expect(html).not.toContain("each bar")
  })

  it("a run without jobs of 8 weeks or less, or of a quarter of the span or less, is drawn to scale", () => {
    const short = page([
      ...spread("2025-01-06", 4, 1),
      { week: monday("2025-01-06", 12), jobs: 1, approved: 0 }
    ])
    expect([bars(short), breaks(short)]).toEqual([13, 0])
    const quarter = page([...spread("2025-01-06", 40, 1), ...spread(monday("2025-01-06", 60), 40, 1)])
    expect([bars(quarter), breaks(quarter)]).toEqual([100, 0])
  })

  it("only the emptiest of the span breaks, whatever it holds: two weeks 9,998 years apart are two bars", () => {
    const span =
      (Date.parse("9999-12-27T00:00:00Z") - Date.parse("0001-01-01T00:00:00Z")) / (7 * 86_400_000) + 1
    const html = page([
      { week: "0001-01-01", jobs: 1, approved: 1 },
      { week: "9999-12-27", jobs: 1, approved: 0 }
    ])
    expect([bars(html), breaks(html)]).toEqual([2, 1])
    expect(html).toContain(
      `<title>0001-01-08 to 9999-12-20: ${(span - 2).toLocaleString("en-US")} weeks without jobs, not to scale</title>`
    )
    expect(html.length).toBeLessThan(100_000)
  })
})

describe("the where-to-fix section", () => {
  const j = (text: string) => Either.getOrThrow(Json.parse(text))
  const hostile = '<b onclick="x">'
  // The pipeline's first answers against the approved ones: an OCR swap twice, a spacing variant, a
  // field left out, an invented one.
  const scored = [
    ['{"nrp":"80123456","nama":"BUDI"}', '{"nrp":"8O123456","nama":" budi "}'],
    ['{"nrp":"77060001"}', '{"nrp":"77O6OOO1","extra":1}'],
    [`{${JSON.stringify(hostile)}:"a","nrp":"1"}`, '{"nrp":"1"}']
  ].reduce(
    (tally, [final, initial]) =>
      Either.getOrThrow(Eval.add(tally, { initial: j(initial!), final: j(final!) }, undefined)),
    Eval.empty(Eval.limits, false)
  )
  const report = Eval.report(scored, { lines: 0 })
  const page = (fix: Either.Either<Eval.Report, string>) =>
    ReportPage.html(
      {
        report: Stats.fromJobs([], Filter.defaults),
        weeks: [],
        window: { since: Option.none(), until: Option.none() }
      },
      { lint: Either.right(clean), fix, calibration: Either.right(Calibration.of([])) }
    )
  const section = page(Either.right(report)).slice(page(Either.right(report)).indexOf('<h2 id="fix">'))

  it("lists the fields with errors, most first, each class and the lever the largest points to, escaped", () => {
    const rows = [...section.matchAll(/<tr><th><code>(.*?)<\/code><\/th>(.*?)<\/tr>/g)].map((m) => [
      m[1],
      m[2]
    ])
    expect(rows).toEqual([
      [
        "nrp",
        "<td>3</td><td>33.3%</td><td>0</td><td>0</td><td>0</td><td>2</td><td>0</td><td>OCR post-correction (0/O, 1/I, 5/S…)</td>"
      ],
      [
        // A key that is no identifier, as a path writes it (§2): quoted.
        "[&#34;&#60;b onclick=\\&#34;x\\&#34;&#62;&#34;]",
        "<td>1</td><td>0.0%</td><td>1</td><td>0</td><td>0</td><td>0</td><td>0</td><td>the prompt (a field left out)</td>"
      ],
      [
        "extra",
        "<td>0</td><td>–</td><td>0</td><td>1</td><td>0</td><td>0</td><td>0</td><td>the prompt (a field invented)</td>"
      ],
      [
        "nama",
        "<td>1</td><td>0.0%</td><td>0</td><td>0</td><td>1</td><td>0</td><td>0</td><td>a normalizer (spacing, case, punctuation)</td>"
      ]
    ])
    expect(section).toContain("against the 3 approved answers of this window")
    expect(section).not.toContain("<b ")
  })

  it("says so when nothing is wrong, and why when the pipeline could not be scored", () => {
    expect(page(Either.right(unscored))).toContain("The pipeline's answers match every approved answer here.")
    expect(page(Either.left(`job x: ${hostile}`))).toContain(
      '<p class="empty">The pipeline could not be scored: job x: &#60;b onclick=&#34;x&#34;&#62;.</p>'
    )
  })
})

describe("the calibration section", () => {
  const j = (text: string) => Either.getOrThrow(Json.parse(text))
  const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`
  // 400 jobs at 0.99 the reviewers left alone, 100 at 0.6 of which they corrected half.
  const history = [
    ...Array.from({ length: 400 }, (_, i) => sample(id(i), j('{"a":1}'), j('{"a":1}'), 0.99)),
    ...Array.from({ length: 100 }, (_, i) => sample(id(400 + i), j(`{"a":${i % 2}}`), j('{"a":1}'), 0.6))
  ]
  const page = (calibration: Either.Either<Calibration.Report, string>) => {
    const html = ReportPage.html(
      {
        report: Stats.fromJobs([], Filter.defaults),
        weeks: [],
        window: { since: Option.none(), until: Option.none() }
      },
      { lint: Either.right(clean), fix: Either.right(unscored), calibration }
    )
    return html.slice(html.indexOf('<h2 id="calibration">'))
  }

  it("says in words which threshold would have skipped how many reviews, and draws each bin's share right", () => {
    const section = page(Either.right(Calibration.of(history)))
    expect(section).toContain(
      "Auto-approving confidence ≥ 0.61 would have skipped 80.0% of reviews (400 jobs); 0 of those needed a " +
        "correction (0.0%; 95% upper bound 0.9%, under the 2.0% target)."
    )
    expect(section).toContain(">0.6–0.7</text>")
    expect(section).toContain("50.0% right · mean confidence 0.60 · 100 jobs")
    expect(section).toContain("100.0% right · mean confidence 0.99 · 400 jobs")
  })

  it("says when no threshold qualifies, when nothing has a confidence, and why it could not run", () => {
    expect(page(Either.right(Calibration.of(history.slice(300))))).toContain(
      "No confidence threshold keeps the error rate&#39;s 95% upper bound under 2.0%"
    )
    expect(page(Either.right(Calibration.of([])))).toContain(
      "No approved job in this window has a confidence"
    )
    expect(page(Either.left("job x: <b>"))).toContain(
      "The confidence could not be calibrated: job x: &#60;b&#62;."
    )
  })
})
