/**
 * Every value PostgreSQL can hold in an exported column, one table row each: the exact bytes the export
 * writes for it, or the exact error (naming the job and the column) when contract §6 cannot write it.
 * Timestamps from PostgreSQL's minimum (4713 BC) to its maximum (294276 AD) and both infinities, in
 * `created_at`, `reviewed_at` and `job_corrections.corrected_at`; `review_flags` with NULL elements and
 * more than one dimension; `confidence` NaN, infinite, signed zero and the extremes; text with every
 * control character and astral ones. Each row also goes through the job view of the review service and
 * through the coverage stats (the report's weeks), which read the same times.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Export, Filter, Review, Stats, Timestamp } from "@ground-truth/core"
import { Effect, Either, Layer, Stream } from "effect"
import { TestDatabase } from "../src/index.js"

const JOB = "c01a0000-0000-4000-8000-0000000000c1"
const EVENT = "7001"

/** The stored row: column → SQL text (cast to the column's type), `null` for SQL NULL. */
interface Stored {
  readonly filename: string
  readonly source_kind: string
  readonly reviewed_by: string | null
  readonly reviewed_at: string | null
  readonly created_at: string
  readonly result: string
  readonly review_flags: string
  readonly confidence: string | null
}

interface StoredEvent {
  readonly field_path: string
  readonly old_value: string
  readonly new_value: string
  readonly corrected_by: string
  readonly reason: string | null
  readonly corrected_at: string
}

const stored: Stored = {
  filename: "f.pdf",
  source_kind: "pdf",
  reviewed_by: null,
  reviewed_at: null,
  created_at: "2025-01-01 00:00:00+00",
  result: '{"a": 2}',
  review_flags: "{}",
  confidence: null
}

const storedEvent: StoredEvent = {
  field_path: "a",
  old_value: "1",
  new_value: "2",
  corrected_by: "r",
  reason: null,
  corrected_at: "2025-01-02 00:00:00+00"
}

/** The exported line of the stored row, member by member, as exact bytes (contract §5 order). */
const line = {
  job_id: `"${JOB}"`,
  filename: '"f.pdf"',
  source_kind: '"pdf"',
  approved: "false",
  reviewed_by: "null",
  reviewed_at: "null",
  created_at: '"2025-01-01T00:00:00Z"',
  initial_result: '{"a":2}',
  final_result: '{"a":2}',
  corrections: "[]",
  review_flags: "[]",
  confidence: "null"
}

/** The same in the `hf` format: results as JSON strings of their canonical text. */
const hfLine: typeof line = { ...line, initial_result: '"{\\"a\\":2}"', final_result: '"{\\"a\\":2}"' }

const eventLine = {
  field_path: '"a"',
  old_value: "1",
  new_value: "2",
  corrected_by: '"r"',
  reason: "null",
  corrected_at: '"2025-01-02T00:00:00Z"'
}

interface Case {
  readonly name: string
  readonly job?: Partial<Stored>
  /** An event (one, id 7001) with these columns changed; none without. */
  readonly event?: Partial<StoredEvent>
  readonly format?: "hf"
  /** The members of the line that differ from the stored row's, as exact bytes, or the exact error. */
  readonly expected:
    | (Partial<typeof line> & { readonly event?: Partial<typeof eventLine> })
    | { readonly error: string }
  /** The week (Monday, UTC) the coverage report puts the job in; by default the stored row's. */
  readonly week?: string
  /** The job view of the review service reads this member too: it must show or refuse it alike. */
  readonly view?: "reviewed_at" | "corrected_at"
}

const expectedLine = (c: Case): string => {
  if ("error" in c.expected) return ""
  const { event, ...members } = c.expected
  const base = c.format === "hf" ? hfLine : line
  const withEvent =
    c.event === undefined
      ? base
      : {
          ...base,
          initial_result: c.format === "hf" ? '"{\\"a\\":1}"' : '{"a":1}',
          corrections: `[{${Object.entries({ ...eventLine, ...event })
            .map(([k, v]) => `"${k}":${v}`)
            .join(",")}}]`
        }
  return `{${Object.entries({ ...withEvent, ...members })
    .map(([k, v]) => `"${k}":${v}`)
    .join(",")}}\n`
}

// --- timestamps -------------------------------------------------------------------------------------

const YEARS = "years 0001–9999 only"
const INFINITE = "it is not a finite time"

/** A stored time (SQL text) and what it exports as: a timestamp and its week, or the error's detail. */
type Time =
  | { readonly stored: string; readonly exported: string; readonly week: string }
  | { readonly stored: string; readonly error: string }

const ok = (stored: string, exported: string, week: string): Time => ({ stored, exported, week })
const bad = (stored: string, shown: string, why = YEARS): Time => ({
  stored,
  error: `${shown} cannot be written as an RFC 3339 timestamp: ${why}`
})

const TIMES: ReadonlyArray<Time> = [
  ok("0001-01-01 00:00:00+00", '"0001-01-01T00:00:00Z"', "0001-01-01"),
  ok("0001-01-01 00:30:00+00:30", '"0001-01-01T00:00:00Z"', "0001-01-01"),
  ok("9999-12-31 23:59:59.999999+00", '"9999-12-31T23:59:59.999999Z"', "9999-12-27"),
  ok("9999-12-31 23:59:59.999999-00:00", '"9999-12-31T23:59:59.999999Z"', "9999-12-27"),
  ok("2025-06-01 10:15:00.000123+07", '"2025-06-01T03:15:00.000123Z"', "2025-05-26"),
  ok("2025-06-01 10:15:00.5-03:30", '"2025-06-01T13:45:00.5Z"', "2025-05-26"),
  ok("2025-06-01 10:15:00.120000+00", '"2025-06-01T10:15:00.12Z"', "2025-05-26"),
  ok("1969-12-31 23:59:59.999999+00", '"1969-12-31T23:59:59.999999Z"', "1969-12-29"),
  ok("2024-02-29 12:00:00+00", '"2024-02-29T12:00:00Z"', "2024-02-26"),
  bad("0044-03-15 12:00:00+00 BC", "'0044-03-15 12:00:00+00 BC'"),
  bad("0001-12-31 23:59:59.999999+00 BC", "'0001-12-31 23:59:59.999999+00 BC'"),
  // AD as written, but 1 BC in UTC.
  bad("0001-01-01 00:30:00+01", "'0001-12-31 23:30:00+00 BC'"),
  bad("4713-01-01 00:00:00+00 BC", "'4713-01-01 00:00:00+00 BC'"),
  bad("10000-01-01 00:00:00+00", "'10000-01-01 00:00:00+00'"),
  // 9999 as written, but 10000 in UTC.
  bad("9999-12-31 23:30:00.25-01", "'10000-01-01 00:30:00.25+00'"),
  bad("294276-12-31 23:59:59.999999+00", "'294276-12-31 23:59:59.999999+00'"),
  bad("infinity", "'infinity'", INFINITE),
  bad("-infinity", "'-infinity'", INFINITE)
]

const timeCases: ReadonlyArray<Case> = TIMES.flatMap((t): ReadonlyArray<Case> => {
  /** The line's members for a writable time, else the error naming `column`. */
  const expected = (column: string, members: (e: string) => Case["expected"]): Case["expected"] =>
    "error" in t ? { error: `job ${JOB}: cannot read ${column}: ${t.error}` } : members(t.exported)
  const week = "error" in t ? {} : { week: t.week }
  return [
    {
      name: `created_at ${t.stored}`,
      job: { created_at: t.stored },
      expected: expected("created_at", (e) => ({ created_at: e })),
      ...week
    },
    {
      name: `reviewed_at ${t.stored}`,
      job: { reviewed_at: t.stored },
      expected: expected("reviewed_at", (e) => ({ reviewed_at: e })),
      ...week,
      view: "reviewed_at"
    },
    {
      name: `corrected_at ${t.stored}`,
      event: { corrected_at: t.stored },
      expected: expected(`job_corrections.corrected_at (event ${EVENT})`, (e) => ({
        event: { corrected_at: e }
      })),
      view: "corrected_at"
    }
  ]
})

// --- review_flags -----------------------------------------------------------------------------------

/** U+0001–U+001F and U+007F, and how contract §6 writes them. */
const CONTROLS = `${Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).join("")}\x7f`
const CONTROLS_JSON =
  '"\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\\u0010' +
  '\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\x7f"'
const ASTRAL = "😀𝔸\u{10FFFF}\u2028\u2029e\u0301"

const flagCases: ReadonlyArray<Case> = (
  [
    ["{}", "[]"],
    ["{a,NULL}", '["a",null]'],
    ["{NULL}", "[null]"],
    ["{NULL,NULL}", "[null,null]"],
    ['{"NULL",null,NuLl}', '["NULL",null,null]'],
    ['{""}', '[""]'],
    ['{"a,b","c\\"d","e\\\\f"," x ","{}"}', '["a,b","c\\"d","e\\\\f"," x ","{}"]'],
    // Subscripts are not part of a list: the elements in order.
    ["[0:1]={a,b}", '["a","b"]'],
    [`{"${CONTROLS}",${ASTRAL}}`, `[${CONTROLS_JSON},"${ASTRAL}"]`]
  ] as const
)
  .flatMap(
    ([flags, exported]): ReadonlyArray<Case> => [
      {
        name: `review_flags ${JSON.stringify(flags)}`,
        job: { review_flags: flags },
        expected: { review_flags: exported }
      }
    ]
  )
  .concat(
    // hf: one Arrow type per column, a list of strings whose items may be null.
    [
      {
        name: 'review_flags "{a,NULL}" in hf',
        format: "hf",
        job: { review_flags: "{a,NULL}" },
        expected: { review_flags: '["a",null]' }
      },
      {
        name: 'review_flags "{NULL}" in hf',
        format: "hf",
        job: { review_flags: "{NULL}" },
        expected: { review_flags: "[null]" }
      }
    ],
    (
      [
        ["{{a,b},{c,d}}", 2],
        ["{{NULL,NULL}}", 2],
        ["[1:2][1:1]={{a},{b}}", 2],
        ["{{{a}}}", 3]
      ] as const
    ).map(([flags, n]) => ({
      name: `review_flags ${JSON.stringify(flags)}`,
      job: { review_flags: flags },
      expected: {
        error: `job ${JOB}: cannot read review_flags: a ${n}-dimensional array cannot be written as a list of flags`
      }
    }))
  )

// --- confidence -------------------------------------------------------------------------------------

const confidenceCases: ReadonlyArray<Case> = (
  [
    // JSON has no NaN nor infinity: null (docs/core.md, "Decisions where the contract is silent").
    ["NaN", "null", "null"],
    ["Infinity", "null", "null"],
    ["-Infinity", "null", "null"],
    // ECMAScript's Number#toString (contract §6) writes -0 as 0.
    ["-0", "0", "0.0"],
    ["0.78", "0.78", "0.78"],
    ["1", "1", "1.0"],
    ["5e-324", "5e-324", "5e-324"],
    ["-1.7976931348623157e308", "-1.7976931348623157e+308", "-1.7976931348623157e+308"],
    ["1e21", "1e+21", "1e+21"],
    ["123456789012345680000", "123456789012345680000", "123456789012345680000.0"],
    ["1e-7", "1e-7", "1e-7"],
    ["0.1", "0.1", "0.1"]
  ] as const
).flatMap(
  ([value, jsonl, hf]): ReadonlyArray<Case> => [
    { name: `confidence ${value}`, job: { confidence: value }, expected: { confidence: jsonl } },
    {
      name: `confidence ${value} in hf`,
      format: "hf",
      job: { confidence: value },
      expected: { confidence: hf }
    }
  ]
)

// --- text -------------------------------------------------------------------------------------------

const textCases: ReadonlyArray<Case> = [
  {
    name: "filename with every control character",
    job: { filename: CONTROLS },
    expected: { filename: CONTROLS_JSON }
  },
  { name: "empty filename", job: { filename: "" }, expected: { filename: '""' } },
  {
    name: "source_kind with quotes, backslashes and a slash",
    job: { source_kind: '"\\/' },
    expected: { source_kind: '"\\"\\\\/"' }
  },
  {
    name: "reviewed_by with astral characters",
    job: { reviewed_by: ASTRAL },
    expected: { reviewed_by: `"${ASTRAL}"` }
  },
  {
    name: "an event's texts with control and astral characters",
    job: { result: `{"${ASTRAL}": 2}` },
    event: { field_path: `["${ASTRAL}"]`, corrected_by: CONTROLS, reason: ASTRAL },
    expected: {
      initial_result: `{"${ASTRAL}":1}`,
      final_result: `{"${ASTRAL}":2}`,
      event: { field_path: `"[\\"${ASTRAL}\\"]"`, corrected_by: CONTROLS_JSON, reason: `"${ASTRAL}"` }
    }
  }
]

const cases: ReadonlyArray<Case> = [...timeCases, ...flagCases, ...confidenceCases, ...textCases]

// --- the run ----------------------------------------------------------------------------------------

const insert = (c: Case) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const j = { ...stored, ...c.job }
    yield* sql`
      INSERT INTO jobs (id, filename, source_kind, status, result, approved, reviewed_by, reviewed_at,
                        review_flags, confidence, created_at)
      VALUES (${JOB}::uuid, ${j.filename}, ${j.source_kind}, 'done', ${j.result}::jsonb, false, ${j.reviewed_by},
              ${j.reviewed_at}::timestamptz, ${j.review_flags}::text[], ${j.confidence}::float8,
              ${j.created_at}::timestamptz)`
    if (c.event === undefined) return
    const e = { ...storedEvent, ...c.event }
    yield* sql`
      INSERT INTO job_corrections (id, job_id, field_path, old_value, new_value, corrected_by, reason, corrected_at)
      OVERRIDING SYSTEM VALUE
      VALUES (${EVENT}::bigint, ${JOB}::uuid, ${e.field_path}, ${e.old_value}::jsonb, ${e.new_value}::jsonb,
              ${e.corrected_by}, ${e.reason}, ${e.corrected_at}::timestamptz)`
  })

const remove = Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DELETE FROM jobs WHERE id = ${JOB}::uuid`)

const exported = (format: "jsonl" | "hf") =>
  Effect.gen(function* () {
    const filter = yield* Filter.parse([
      ["approved_only", "false"],
      ["format", format]
    ])
    const exporter = yield* Export.Export
    const chunks = yield* Stream.runCollect(exporter.stream(filter))
    return Buffer.concat([...chunks]).toString("utf8")
  })

const check = (c: Case) =>
  Effect.gen(function* () {
    yield* insert(c)
    const result = yield* Effect.either(exported(c.format ?? "jsonl"))
    if ("error" in c.expected) {
      expect(Either.isLeft(result) ? [result.left._tag, result.left.message] : result.right).toEqual([
        "InvalidRow",
        c.expected.error
      ])
    } else {
      expect(Either.getOrThrow(result)).toBe(expectedLine(c))
    }

    // The report reads the sample time (`coalesce(reviewed_at, created_at)`) for its weeks.
    const stats = yield* Stats.Stats
    const coverage = yield* Effect.either(stats.coverage(Filter.defaults))
    const sampleTime = c.job?.reviewed_at !== undefined || c.job?.created_at !== undefined
    if (sampleTime && "error" in c.expected) {
      expect(Either.isLeft(coverage) ? [coverage.left._tag, coverage.left.message] : coverage.right).toEqual([
        "InvalidRow",
        c.expected.error
      ])
    } else {
      expect(Either.getOrThrow(coverage).weeks).toEqual([
        { week: c.week ?? "2024-12-30", jobs: 1, approved: 0 }
      ])
    }
    // Counting needs no time: stats work whatever the times are.
    expect((yield* stats.get(Filter.defaults)).total_jobs).toBe(1)

    if (c.view !== undefined) {
      const review = yield* Review.Review
      const view = yield* Effect.either(review.job(JOB))
      if ("error" in c.expected) {
        expect(Either.isLeft(view) ? [view.left._tag, view.left.message] : view.right).toEqual([
          "InvalidRow",
          c.expected.error
        ])
      } else {
        const shown =
          c.view === "reviewed_at" ? c.expected.reviewed_at : (c.expected.event?.corrected_at as string)
        const job = Either.getOrThrow(view)
        const time = c.view === "reviewed_at" ? job.reviewedAt : job.corrections[0]?.correctedAt
        expect(time === null || time === undefined ? "null" : JSON.stringify(Timestamp.format(time))).toBe(
          shown
        )
      }
    }
  }).pipe(Effect.ensuring(Effect.orDie(remove)))

const arrow = spawnSync("python3", ["-c", "import pyarrow"], { stdio: "ignore" }).status === 0
if (!arrow) console.log("Arrow check skipped: python3 with pyarrow is not available (.ci/run installs it)")

/** The Arrow schema pyarrow.json (as datasets.load_dataset("json") does) gives `review_flags`. */
const arrowFlags = (body: string): string => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gt-arrow-")), "corpus.jsonl")
  fs.writeFileSync(file, body)
  const r = spawnSync(
    "python3",
    [
      "-c",
      "import sys, pyarrow.json as j; print(j.read_json(sys.argv[1]).schema.field('review_flags').type)",
      file
    ],
    { encoding: "utf8" }
  )
  return r.status === 0 ? r.stdout.trim() : (r.stderr.trim().split("\n").pop() ?? "")
}

for (const target of TestDatabase.targets()) {
  layer(
    Layer.mergeAll(Export.Export.Default, Stats.Stats.Default, Review.Review.Default).pipe(
      Layer.provideMerge(target.layer)
    ),
    { timeout: 120_000, excludeTestServices: true }
  )(`column values on ${target.name}`, (it) => {
    it("the table covers each exported column", () => {
      expect(cases.length).toBeGreaterThan(90)
      expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length)
    })

    for (const c of cases) it.effect(c.name, () => check(c), 60_000)

    it.effect.skipIf(!arrow)(
      "hf: flags with NULL elements, all NULL or none read in Arrow as one column, a list of strings",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const flags = ["{NULL,NULL}", "{}", "{a,NULL}", "{b}"]
          for (const [i, f] of flags.entries()) {
            yield* sql`
              INSERT INTO jobs (id, filename, source_kind, status, review_flags, created_at)
              VALUES (${`c01a0000-0000-4000-8000-00000000000${i}`}::uuid, 'f.pdf', 'pdf', 'done', ${f}::text[],
                      ${`2025-01-0${i + 1} 00:00:00+00`}::timestamptz)`
          }
          const body = yield* exported("hf")
          expect(body.match(/"review_flags":\[[^\]]*\]/g)).toEqual([
            '"review_flags":[null,null]',
            '"review_flags":[]',
            '"review_flags":["a",null]',
            '"review_flags":["b"]'
          ])
          expect(arrowFlags(body)).toBe("list<item: string>")
        }).pipe(
          Effect.ensuring(
            Effect.orDie(
              Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DELETE FROM jobs WHERE filename = 'f.pdf'`)
            )
          )
        ),
      60_000
    )

    it.effect(
      "approve and reject read reviewed_at back: a time they cannot write is a typed error naming job and column, and changes nothing",
      () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const review = yield* Review.Review
          yield* insert({ name: "plain", expected: {} })
          // A trigger stands in for a clock beyond 9999 (or a HITL service that writes such times).
          yield* sql`
            CREATE FUNCTION gt_test_far_review() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN NEW.reviewed_at := 'infinity'; RETURN NEW; END $$`
          yield* sql`
            CREATE TRIGGER gt_test_far_review BEFORE UPDATE ON jobs
            FOR EACH ROW EXECUTE FUNCTION gt_test_far_review()`
          for (const decide of [review.approve, review.reject]) {
            const r = yield* Effect.either(decide(JOB, "reviewer-a"))
            expect(Either.isLeft(r) ? [r.left._tag, r.left.message] : r.right).toEqual([
              "InvalidRow",
              `job ${JOB}: cannot read reviewed_at: 'infinity' cannot be written as an RFC 3339 timestamp: ${INFINITE}`
            ])
          }
          // The decision is rolled back with the failed read: the job is as it was.
          expect(
            yield* sql`SELECT approved, reviewed_by, reviewed_at::text AS reviewed_at FROM jobs WHERE id = ${JOB}::uuid`
          ).toEqual([{ approved: false, reviewed_by: null, reviewed_at: null }])
        }).pipe(
          Effect.ensuring(
            Effect.orDie(
              Effect.flatMap(SqlClient.SqlClient, (sql) =>
                Effect.zipRight(sql`DROP FUNCTION IF EXISTS gt_test_far_review() CASCADE`, remove)
              )
            )
          )
        ),
      60_000
    )
  })
}
