/**
 * Column values contract §6 cannot write, through the real CLI: exit 1 with one line on standard error
 * naming the job and the column, the previous `--out` untouched and no temporary file left; the
 * report fails alike on a sample time it cannot place, and charts a span of weeks up to 9999 on a
 * small page. (packages/db/test/ColumnValues.test.ts holds the whole table of values.)
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Effect } from "effect"
import { run } from "./cli.js"

const GOOD = "c01a0000-0000-4000-8000-0000000000a1"
const BAD = "c01a0000-0000-4000-8000-0000000000b2"
const previous = Buffer.from('{"previous":"corpus"}\n')

const goodLine =
  `{"job_id":"${GOOD}","filename":"good.pdf","source_kind":"pdf","approved":true,"reviewed_by":null,` +
  `"reviewed_at":null,"created_at":"2025-06-02T00:00:00Z","initial_result":{"a":2},"final_result":{"a":2},` +
  `"corrections":[],"review_flags":["a",null],"confidence":null}\n`

/** The good job (first in export order, with a NULL flag), and `BAD` with `columns` changed. */
const insert = (bad: {
  readonly created_at?: string
  readonly reviewed_at?: string
  readonly review_flags?: string
}) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`DELETE FROM jobs`
    yield* sql`
      INSERT INTO jobs (id, filename, source_kind, status, result, approved, review_flags, created_at)
      VALUES (${GOOD}::uuid, 'good.pdf', 'pdf', 'done', '{"a": 2}', true, '{a,NULL}', '2025-06-02 00:00:00+00')`
    yield* sql`
      INSERT INTO jobs (id, filename, source_kind, status, result, approved, reviewed_at, review_flags, created_at)
      VALUES (${BAD}::uuid, 'bad.pdf', 'pdf', 'done', '{"a": 2}', true, ${bad.reviewed_at ?? null}::timestamptz,
              ${bad.review_flags ?? "{}"}::text[], ${bad.created_at ?? "2025-06-03 00:00:00+00"}::timestamptz)`
  })

const event = (correctedAt: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`
      INSERT INTO job_corrections (id, job_id, field_path, old_value, new_value, corrected_by, corrected_at)
      OVERRIDING SYSTEM VALUE
      VALUES (7001, ${BAD}::uuid, 'a', '1', '2', 'r', ${correctedAt}::timestamptz)`
  )

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "gt-cli-values-"))

const YEARS = "cannot be written as an RFC 3339 timestamp: years 0001–9999 only"

const failing = [
  {
    name: "a BC created_at",
    setup: insert({ created_at: "0044-03-15 12:00:00+00 BC" }),
    message: `job ${BAD}: cannot read created_at: '0044-03-15 12:00:00+00 BC' ${YEARS}`,
    report: true
  },
  {
    name: "a reviewed_at in year 10000",
    setup: insert({ reviewed_at: "10000-01-01 00:00:00+00" }),
    message: `job ${BAD}: cannot read reviewed_at: '10000-01-01 00:00:00+00' ${YEARS}`,
    report: true
  },
  {
    name: "an infinite reviewed_at",
    setup: insert({ reviewed_at: "infinity" }),
    message: `job ${BAD}: cannot read reviewed_at: 'infinity' cannot be written as an RFC 3339 timestamp: it is not a finite time`,
    report: true
  },
  {
    name: "a BC corrected_at",
    setup: Effect.zipRight(insert({}), event("0001-12-31 23:59:59+00 BC")),
    message: `job ${BAD}: cannot read job_corrections.corrected_at (event 7001): '0001-12-31 23:59:59+00 BC' ${YEARS}`,
    report: false
  },
  {
    name: "a two-dimensional review_flags",
    setup: insert({ review_flags: "{{a,b},{c,d}}" }),
    message: `job ${BAD}: cannot read review_flags: a 2-dimensional array cannot be written as a list of flags`,
    report: false
  }
]

const oneLine = (stderr: string, message: string) => expect(stderr).toBe(`ground-truth: ${message}\n`)

for (const target of TestDatabase.targets()) {
  layer(target.layer, { timeout: 120_000 })(`column values through the CLI on ${target.name}`, (it) => {
    for (const c of failing) {
      it.effect(
        `${c.name}: export exits 1 naming job and column; the previous --out untouched, no temporary file${c.report ? "; so does the report" : ""}`,
        () =>
          Effect.gen(function* () {
            const { url } = yield* TestDatabase.TestDatabase
            yield* c.setup
            const dir = tmp()
            const out = path.join(dir, "corpus.jsonl")
            fs.writeFileSync(out, previous)
            const r = yield* run(["export", "--out", out, "--approved-only", "false"], { DATABASE_URL: url })
            expect(r.code).toBe(1)
            oneLine(r.stderr, c.message)
            expect(fs.readFileSync(out).equals(previous)).toBe(true)
            expect(fs.readdirSync(dir)).toEqual(["corpus.jsonl"])

            // The report reads only the sample time: it fails exactly when that time cannot be placed.
            const page = path.join(dir, "report.html")
            const report = yield* run(["report", "--out", page], { DATABASE_URL: url })
            if (c.report) {
              expect(report.code).toBe(1)
              oneLine(report.stderr, c.message)
              expect(fs.readdirSync(dir)).toEqual(["corpus.jsonl"])
            } else {
              expect([report.code, report.stderr]).toEqual([0, ""])
            }
          }),
        120_000
      )
    }

    it.effect(
      "a NULL flag exports as null; a job dated 9999-12-31 gives a small report, the axis broken before it",
      () =>
        Effect.gen(function* () {
          const { url } = yield* TestDatabase.TestDatabase
          yield* insert({ created_at: "9999-12-31 23:59:59.999999+00" })
          const r = yield* run(["export", "--until", "2026-01-01"], { DATABASE_URL: url })
          expect([r.code, r.stderr, r.stdout.toString("utf8")]).toEqual([0, "", goodLine])
          const report = yield* run(["report"], { DATABASE_URL: url })
          expect([report.code, report.stderr]).toEqual([0, ""])
          const html = report.stdout.toString("utf8")
          expect(html.length).toBeLessThan(100_000)
          // The weeks between are one break in the axis: two bars, each a week, not 150 of 2,774 weeks.
          expect(html.match(/class="jobs"/g)?.length).toBe(2)
          expect(html.match(/<g class="gap">/g)?.length).toBe(1)
          expect(html).toMatch(/: 41\d,\d{3} weeks without jobs, not to scale<\/title>/)
          expect(html).not.toContain("each bar")
          expect(html).toContain(">9999-12-27</text>")
        }),
      120_000
    )
  })
}
