/**
 * The shared golden suite: a fixture database that covers the edges of the contract, and the bytes
 * every front end must produce from it, for every filter combination of contract §7 and for stats.
 *
 * The expected bytes are hand-written (`fixture/lines/*.jsonl`, `fixture/stats/*.json`) and the case
 * table below lists, by hand, which jobs each filter selects and in which order; see README.md for how
 * they were checked. Nothing here is produced by the code under test.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixture")

/** The fixture's jobs, by the names the comments in `fixture.sql` give them. */
export type JobKey = "J1" | "J2" | "J3" | "J4" | "J5" | "J6" | "J7" | "J8" | "J9" | "J10"

/** The fixture's SQL: inserts only; the tables come from the migrations. @since 0.1.0 */
export const fixtureSql: string = fs.readFileSync(path.join(fixture, "fixture.sql"), "utf8")

/**
 * Inserts the fixture's rows (the tables must exist and be empty).
 *
 * @since 0.1.0
 */
export const load = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(fixtureSql)
})

/**
 * Inserts a job whose result was changed without an event (`{"a": 3}`, while its one event says `a`
 * went from 1 to 2): its audit trail cannot replay, so an export that reaches it must fail, naming it.
 *
 * @since 0.1.0
 */
export const insertTampered = (id: string, createdAt: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      INSERT INTO jobs (id, filename, source_kind, status, result, approved, created_at)
      VALUES (${id}::uuid, 'tampered.pdf', 'pdf', 'done', '{"a": 3}', true, ${createdAt}::timestamptz)`
    yield* sql`
      INSERT INTO job_corrections (job_id, field_path, old_value, new_value, corrected_by, corrected_at)
      VALUES (${id}::uuid, 'a', '1', '2', 'reviewer-a', ${createdAt}::timestamptz + interval '1 minute')`
  })

/** The hand-written line of one job, `\n` included. @since 0.1.0 */
export const line = (job: JobKey): Buffer => fs.readFileSync(path.join(fixture, "lines", `${job}.jsonl`))

/** The export formats (core's `Format`), spelled here again: the suite does not take them from the code. */
export type Format = "jsonl" | "prompt-completion" | "messages" | "preference" | "hf"

/**
 * An export case: query parameters (the same pairs the CLI gets as flags), the jobs it selects and
 * the format their lines are in.
 */
export interface ExportCase {
  readonly name: string
  readonly params: ReadonlyArray<readonly [string, string]>
  readonly jobs: ReadonlyArray<JobKey>
  readonly format: Format
}

/** A stats case: the window and the hand-written JSON. */
export interface StatsCase {
  readonly name: string
  readonly params: ReadonlyArray<readonly [string, string]>
  readonly file: string
}

/**
 * The windows of the cases. Sample times (coalesce(reviewed_at, created_at)) of the jobs:
 * J1 06-01T10:15, J2 05-28T08:02:17, J3 05-31T12:00, J4 05-30T10:00, J5 06-02T08:30:00.000001,
 * J6 06-01T00:00, J7 06-03T15:00, J8 06-02T09:00, J9 06-02T00:00:00.5, J10 06-03T09:00:00.000123.
 * `both` starts exactly at J4's time (included) and ends exactly at J8's (excluded).
 */
const windows = {
  none: [],
  since: [["since", "2025-06-01"]],
  until: [["until", "2025-06-01"]],
  both: [
    ["since", "2025-05-30T17:00:00+07:00"],
    ["until", "2025-06-02T09:00:00Z"]
  ]
} as const satisfies Record<string, ReadonlyArray<readonly [string, string]>>

/**
 * Which jobs each filter selects, worked out by hand. Output order is created_at, then id:
 * J2 J1 J3 J4 J5 J6 J7 J9 J8 J10 (J2 and J1 share a created_at; J2's id is smaller).
 * Approved: J1 J3 J5 J6 J7 J8 J9. With events: all but J2 and J9.
 */
const selections: Record<string, ReadonlyArray<JobKey>> = {
  "approved_only=true window=none": ["J1", "J3", "J5", "J6", "J7", "J9", "J8"],
  "approved_only=true has_corrections=true window=none": ["J1", "J3", "J5", "J6", "J7", "J8"],
  "approved_only=true has_corrections=false window=none": ["J9"],
  "approved_only=true window=since": ["J1", "J5", "J6", "J7", "J9", "J8"],
  "approved_only=true has_corrections=true window=since": ["J1", "J5", "J6", "J7", "J8"],
  "approved_only=true has_corrections=false window=since": ["J9"],
  "approved_only=true window=until": ["J3"],
  "approved_only=true has_corrections=true window=until": ["J3"],
  "approved_only=true has_corrections=false window=until": [],
  "approved_only=true window=both": ["J1", "J3", "J5", "J6", "J9"],
  "approved_only=true has_corrections=true window=both": ["J1", "J3", "J5", "J6"],
  "approved_only=true has_corrections=false window=both": ["J9"],
  "approved_only=false window=none": ["J2", "J1", "J3", "J4", "J5", "J6", "J7", "J9", "J8", "J10"],
  "approved_only=false has_corrections=true window=none": ["J1", "J3", "J4", "J5", "J6", "J7", "J8", "J10"],
  "approved_only=false has_corrections=false window=none": ["J2", "J9"],
  "approved_only=false window=since": ["J1", "J5", "J6", "J7", "J9", "J8", "J10"],
  "approved_only=false has_corrections=true window=since": ["J1", "J5", "J6", "J7", "J8", "J10"],
  "approved_only=false has_corrections=false window=since": ["J9"],
  "approved_only=false window=until": ["J2", "J3", "J4"],
  "approved_only=false has_corrections=true window=until": ["J3", "J4"],
  "approved_only=false has_corrections=false window=until": ["J2"],
  "approved_only=false window=both": ["J1", "J3", "J4", "J5", "J6", "J9"],
  "approved_only=false has_corrections=true window=both": ["J1", "J3", "J4", "J5", "J6"],
  "approved_only=false has_corrections=false window=both": ["J9"]
}

const filterCases: ReadonlyArray<ExportCase> = Object.entries(selections).map(([name, jobs], i) => {
  const params: Array<readonly [string, string]> = []
  const spell = (b: boolean) => (i % 2 === 0 ? String(b) : b ? "1" : "0")
  if (name.includes("approved_only=false")) params.push(["approved_only", spell(false)])
  else if (i % 4 < 2) params.push(["approved_only", spell(true)])
  if (name.includes("has_corrections=true")) params.push(["has_corrections", spell(true)])
  if (name.includes("has_corrections=false")) params.push(["has_corrections", spell(false)])
  params.push(...windows[name.split("window=")[1] as keyof typeof windows])
  return { name, params, jobs, format: "jsonl" }
})

const all: ReadonlyArray<JobKey> = ["J2", "J1", "J3", "J4", "J5", "J6", "J7", "J9", "J8", "J10"]

/**
 * The training formats over every job and over a filtered window (lines in `fixture/formats/`, derived
 * from the hand-written ones by `scripts/derive_formats.py`). `preference` leaves out the jobs whose
 * initial and final results are equal: J2 and J9 (no events) and J7 (corrected, then reverted).
 */
const formatCases: ReadonlyArray<ExportCase> = (
  ["prompt-completion", "messages", "preference", "hf"] as const
).flatMap((format) => [
  {
    name: `format=${format} approved_only=false`,
    params: [
      ["approved_only", "false"],
      ["format", format]
    ],
    jobs: format === "preference" ? all.filter((j) => !["J2", "J7", "J9"].includes(j)) : all,
    format
  },
  {
    name: `format=${format} has_corrections=true window=both`,
    params: [["format", format], ["has_corrections", "true"], ...windows.both],
    jobs: ["J1", "J3", "J5", "J6"],
    format
  }
])

/**
 * Splits, worked out by the independent script (`scripts/derive_formats.py` prints each job's split):
 * with 80/10/10 and no seed, J1 J8 J9 are validation, the rest train, none test (ten jobs are few);
 * with 50/25/25 and seed `sprin-2025`, J3 is validation, J2 test, the rest train.
 */
const splitCases: ReadonlyArray<ExportCase> = [
  {
    name: "split=train approved_only=false",
    params: [
      ["approved_only", "false"],
      ["split", "train"]
    ],
    jobs: ["J2", "J3", "J4", "J5", "J6", "J7", "J10"],
    format: "jsonl"
  },
  {
    name: "split=validation approved_only=false",
    params: [
      ["split", "validation"],
      ["approved_only", "false"]
    ],
    jobs: ["J1", "J9", "J8"],
    format: "jsonl"
  },
  {
    name: "split=test approved_only=false",
    params: [
      ["approved_only", "false"],
      ["split", "test"]
    ],
    jobs: [],
    format: "jsonl"
  },
  ...(["train", "validation", "test"] as const).map(
    (split): ExportCase => ({
      name: `split=${split} split_ratios=50,25,25 split_seed=sprin-2025 approved_only=false`,
      params: [
        ["approved_only", "false"],
        ["split_seed", "sprin-2025"],
        ["split", split],
        ["split_ratios", "50,25,25"]
      ],
      jobs: { train: ["J1", "J4", "J5", "J6", "J7", "J9", "J8", "J10"], validation: ["J3"], test: ["J2"] }[
        split
      ] as ReadonlyArray<JobKey>,
      format: "jsonl"
    })
  ),
  {
    name: "split=train format=messages window=since",
    params: [["split", "train"], ["format", "messages"], ...windows.since],
    jobs: ["J5", "J6", "J7"],
    format: "messages"
  }
]

/**
 * Every filter combination of contract §7 (`approved_only=true` spelled out in half of them and left to
 * its default in the other half, booleans alternating between `true`/`false` and `1`/`0`), then the
 * formats and the splits.
 *
 * @since 0.1.0
 */
export const exportCases: ReadonlyArray<ExportCase> = [...filterCases, ...formatCases, ...splitCases]

/** @since 0.1.0 */
export const statsCases: ReadonlyArray<StatsCase> = [
  { name: "whole database", params: [], file: "all.json" },
  { name: "window", params: windows.both, file: "window.json" },
  { name: "until", params: windows.until, file: "until.json" }
]

/** The bytes an export case must produce. @since 0.1.0 */
export const expectedExport = (c: ExportCase): Buffer =>
  Buffer.concat(
    c.jobs.map((job) =>
      c.format === "jsonl"
        ? line(job)
        : fs.readFileSync(path.join(fixture, "formats", c.format, `${job}.jsonl`))
    )
  )

/**
 * The file name the server gives a case's body, for a given day:
 * `ground-truth-2025-06-01[-<split>][-<format>].jsonl`.
 *
 * @since 0.1.0
 */
export const fileName = (c: ExportCase, date: string): string => {
  const split = c.params.find(([k]) => k === "split")?.[1]
  return `ground-truth-${date}${split ? `-${split}` : ""}${c.format === "jsonl" ? "" : `-${c.format}`}.jsonl`
}

/**
 * The coverage report over the same windows as the stats: reviewed renderings (`fixture/report/*.html`,
 * see README.md), the page both front ends must serve byte for byte.
 *
 * @since 0.1.0
 */
export const reportCases: ReadonlyArray<StatsCase> = [
  { name: "whole database", params: [], file: "all.html" },
  { name: "window", params: windows.both, file: "window.html" }
]

/** The page a report case must produce. @since 0.1.0 */
export const expectedReport = (c: StatsCase): Buffer => fs.readFileSync(path.join(fixture, "report", c.file))

/** The bytes a stats case must produce. @since 0.1.0 */
export const expectedStats = (c: StatsCase): Buffer => fs.readFileSync(path.join(fixture, "stats", c.file))

/** Query string of a case, for HTTP. @since 0.1.0 */
export const query = (params: ReadonlyArray<readonly [string, string]>): string =>
  new URLSearchParams(params.map(([k, v]): [string, string] => [k, v])).toString()

/** Command-line flags of a case, for the CLI. @since 0.1.0 */
export const flags = (params: ReadonlyArray<readonly [string, string]>): Array<string> =>
  params.flatMap(([k, v]) => [`--${k.replaceAll("_", "-")}`, v])

/**
 * Filter values a fuzzer should always try, whatever the front end: valid and nearly valid booleans and
 * times, SQL fragments, characters that break naive encoders. Shared so every front end meets the same.
 *
 * @since 0.1.0
 */
export const hostileValues: ReadonlyArray<string> = [
  "true",
  "false",
  "1",
  "0",
  "TRUE",
  "yes",
  "2025-06-01",
  "2025-06-01T00:00:00Z",
  "2025-06-01 10:00:00+07:00",
  "2025-06-01T10:00:00+07:00",
  "2025-02-30",
  "2025-06-01T24:00:00Z",
  "9999-12-31T23:59:59.9999999Z",
  "0000-01-01",
  "' OR 1=1 --",
  "'; DROP TABLE jobs; --",
  "2025-06-01'::timestamptz; DELETE FROM jobs; --",
  "$1",
  "%",
  "%00",
  "😀",
  "\u2028"
]
