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
import { Cursor, Parquet } from "@ground-truth/core"
import { Chunk, Effect, Stream } from "effect"

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixture")

/** The fixture's jobs, by the names the comments in `fixture.sql` give them. */
export type JobKey = "J1" | "J2" | "J3" | "J4" | "J5" | "J6" | "J7" | "J8" | "J9" | "J10"

/** The fixture's SQL: inserts only; the tables come from the migrations. @since 0.1.0 */
export const fixtureSql: string = fs.readFileSync(path.join(fixture, "fixture.sql"), "utf8")

/**
 * Evaluation (contract §12): hand-written predictions scored by hand against the default filters'
 * reference jobs, J1 J3 J5 J6 J7 J8 J9 (approved, with a final result). The lines: J1 with a wrong
 * `perihal`; J2 (not approved: `unknown`); J3 as a fenced completion; J5 as TRL's conversational
 * completion without `personel[1].nrp`; J6 unreadable (`unparseable`); J7 none (`missing`); J8 with its
 * numbers spelled otherwise (`1.50`, `1e2`: equal by value); J9 exact; a job that does not exist (`unknown`).
 *
 * Two fields, worked:
 * - `header.perihal`: reference leaves J1, J7, J9 → support 3. Model: J1 ("Penyelidikan" ≠ "Penyelidikan
 *   kasus pencurian") and J9 (equal) predicted, J7 has no line → predicted 2, correct 1, precision 1/2 =
 *   0.5, recall 1/3 = 0.3333. Pipeline (initial results): J1 `null` (wrong), J7 "A" and J9 "Pengamanan"
 *   (right) → predicted 3, correct 2, precision = recall = 2/3 = 0.6667.
 * - `personel[].nrp`: reference leaves J1 `personel[0].nrp`, J5 `personel[1].nrp` → support 2. Model: J1's
 *   right, J5's line has none → predicted 1, correct 1, precision 1, recall 0.5. Pipeline: J1's initial
 *   has it right, J5's initial has no nrp → the same 1, 1, 1, 0.5.
 * Exact match: model J3, J8, J9 of 7 = 0.4286; pipeline J7, J9 (initial equals final) of 7 = 0.2857.
 *
 * @since 0.1.0
 */
export const evalPredictions: string = path.join(fixture, "eval", "predictions.jsonl")

/** The usage errors of §12, each with the start of the one message it must give (CLI and HTTP). @since 0.1.0 */
export const evalUsageCases: ReadonlyArray<readonly [string, string | Uint8Array, string]> = [
  ["a line that is not JSON", '{"job_id":"a","result":1}\n{"job_id":', "predictions line 2: not JSON"],
  ["a line that is not an object", "[1]\n", "predictions line 1: not an object"],
  ["no job_id", '{"result":1}\n', "predictions line 1: job_id must be a string"],
  ["neither result nor completion", '{"job_id":"a"}\n', 'predictions line 1: job a: exactly one of "result"'],
  [
    "both",
    '{"job_id":"a","result":1,"completion":"1"}\n',
    'predictions line 1: job a: exactly one of "result"'
  ],
  [
    "a completion of another type",
    '{"job_id":"a","completion":{}}\n',
    "predictions line 1: job a: completion must be"
  ],
  [
    "a job twice",
    '{"job_id":"a","result":1}\n{"job_id":"A","result":2}\n',
    "predictions line 2: job a is predicted twice (also line 1)"
  ],
  ["an empty line", '{"job_id":"a","result":1}\n\n', "predictions line 2: an empty line"],
  [
    "bytes that are not UTF-8",
    Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x7d, 0x0a]),
    "predictions line 1: not UTF-8"
  ]
]

/** The report of `evalPredictions` with the default filters. @since 0.1.0 */
export const expectedEval = (): Buffer => fs.readFileSync(path.join(fixture, "eval", "expected.json"))

/**
 * The report without predictions (contract §14): the pipeline alone, its scores those of `expectedEval`.
 * @since 0.1.0
 */
export const expectedEvalPipeline = (): Buffer =>
  fs.readFileSync(path.join(fixture, "eval", "expected-pipeline.json"))

/**
 * A calibration case (contract §14): its parameters (filters and `target_error`), and the file of its
 * hand-checked line.
 *
 * @since 0.1.0
 */
export interface CalibrationCase {
  readonly name: string
  readonly params: ReadonlyArray<readonly [string, string]>
  readonly file: string
}

/**
 * The approved jobs with a confidence, J3 (none) excluded: J8 0.30000000000000004, J5 0.5, J1 0.78 (all
 * three corrected), J7 0.9 and J9 0.95 (not), J6 1 (corrected). No threshold's 95% bound reaches 0.02 with
 * six jobs; with `target_error=0.9`, 0.50 does (3 wrong of 5: 0.8824).
 *
 * @since 0.1.0
 */
export const calibrationCases: ReadonlyArray<CalibrationCase> = [
  { name: "approved jobs", params: [], file: "expected.json" },
  { name: "target_error=0.9", params: [["target_error", "0.9"]], file: "expected-0.9.json" }
]

/** The line a calibration case must print. @since 0.1.0 */
export const expectedCalibration = (c: CalibrationCase): Buffer =>
  fs.readFileSync(path.join(fixture, "calibration", c.file))

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
 * The jobs without a final result (J2, J4): the training formats leave them out. With the default input
 * (`both`), every other job has something to show the model: J3 has no pipeline result, but a text.
 */
const withoutFinal: ReadonlyArray<JobKey> = ["J2", "J4"]

/**
 * And `preference` the jobs whose results are equal: J9 (no events), J7 (corrected, then reverted), and
 * J3, whose pipeline result (the rejected answer) is none.
 */
const withoutPreference: ReadonlyArray<JobKey> = [...withoutFinal, "J3", "J7", "J9"]

/**
 * The formats over every job and over a filtered window (lines in `fixture/formats/`, derived from the
 * hand-written ones by `scripts/derive_formats.py`).
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
    jobs: all.filter(
      (j) => !(format === "hf" ? [] : format === "preference" ? withoutPreference : withoutFinal).includes(j)
    ),
    format
  },
  {
    name: `format=${format} has_corrections=true window=both`,
    params: [["format", format], ["has_corrections", "true"], ...windows.both],
    jobs: format === "preference" ? ["J1", "J5", "J6"] : ["J1", "J3", "J5", "J6"],
    format
  }
])

/**
 * The inputs (lines in `fixture/formats/pipeline/` and `fixture/formats/text/`). The jobs with a text:
 * J1 J3 J4 J5 J6 J9. `pipeline` leaves out J3 (no pipeline result); `text` every job without a text
 * (and J4, without a final result); `preference` needs a pipeline result that differs: J1 J5 J6 (and J8
 * J10, without a text, under `pipeline`). In `jsonl` and `hf`, `text` and `both` add `ocr_text` to every
 * line, `null` where there is none.
 */
const inputCases: ReadonlyArray<ExportCase> = [
  ...(["prompt-completion", "messages", "preference"] as const).flatMap(
    (format): Array<ExportCase> => [
      {
        name: `format=${format} input=pipeline approved_only=false`,
        params: [
          ["input", "pipeline"],
          ["format", format],
          ["approved_only", "false"]
        ],
        jobs:
          format === "preference"
            ? ["J1", "J5", "J6", "J8", "J10"]
            : all.filter((j) => !["J2", "J3", "J4"].includes(j)),
        format
      },
      {
        name: `format=${format} input=text approved_only=false`,
        params: [
          ["approved_only", "false"],
          ["format", format],
          ["input", "text"]
        ],
        jobs: format === "preference" ? ["J1", "J5", "J6"] : ["J1", "J3", "J5", "J6", "J9"],
        format
      }
    ]
  ),
  {
    name: "format=messages input=both split=train window=since",
    params: [["input", "both"], ["format", "messages"], ["split", "train"], ...windows.since],
    jobs: ["J1", "J5", "J6", "J7"],
    format: "messages"
  },
  {
    name: "input=both approved_only=false",
    params: [
      ["approved_only", "false"],
      ["input", "both"]
    ],
    jobs: all,
    format: "jsonl"
  },
  {
    name: "format=hf input=text has_corrections=true window=both",
    params: [["format", "hf"], ["input", "text"], ["has_corrections", "true"], ...windows.both],
    jobs: ["J1", "J3", "J5", "J6"],
    format: "hf"
  }
]

/**
 * Splits, worked out by the independent script (`scripts/derive_formats.py` prints each job's letter key
 * and split, by job and by letter). Only J1 (`SPRIN/1/I/2025`) and J3 (`SPRIN/3/II/2025`) have a number;
 * every other job's key is its id, so only those two can move. By job (the assignment before letters),
 * with 80/10/10 and no seed, J1 J8 J9 are validation, the rest train, none test (ten jobs are few); with
 * 50/25/25 and seed `sprin-2025`, J3 is validation, J2 test, the rest train. By letter (the default), J1
 * is train under 80/10/10; under 50/25/25 with the seed J1 is validation and J3 train.
 */
const splitCases: ReadonlyArray<ExportCase> = (["letter", "job"] as const).flatMap(
  (by): Array<ExportCase> => {
    const spelled = (params: ReadonlyArray<readonly [string, string]>) =>
      by === "letter" ? params : [...params, ["split_by", "job"] as const]
    const named = (name: string) => (by === "letter" ? name : `${name} split_by=job`)
    const bySeed = {
      letter: { train: ["J3", "J4", "J5", "J6", "J7", "J9", "J8", "J10"], validation: ["J1"], test: ["J2"] },
      job: { train: ["J1", "J4", "J5", "J6", "J7", "J9", "J8", "J10"], validation: ["J3"], test: ["J2"] }
    }[by] as Record<"train" | "validation" | "test", ReadonlyArray<JobKey>>
    return [
      {
        name: named("split=train approved_only=false"),
        params: spelled([
          ["approved_only", "false"],
          ["split", "train"]
        ]),
        jobs:
          by === "letter"
            ? ["J2", "J1", "J3", "J4", "J5", "J6", "J7", "J10"]
            : ["J2", "J3", "J4", "J5", "J6", "J7", "J10"],
        format: "jsonl"
      },
      {
        name: named("split=validation approved_only=false"),
        params: spelled([
          ["split", "validation"],
          ["approved_only", "false"]
        ]),
        jobs: by === "letter" ? ["J9", "J8"] : ["J1", "J9", "J8"],
        format: "jsonl"
      },
      {
        name: named("split=test approved_only=false"),
        params: spelled([
          ["approved_only", "false"],
          ["split", "test"]
        ]),
        jobs: [],
        format: "jsonl"
      },
      ...(["train", "validation", "test"] as const).map(
        (split): ExportCase => ({
          name: named(`split=${split} split_ratios=50,25,25 split_seed=sprin-2025 approved_only=false`),
          params: spelled([
            ["approved_only", "false"],
            ["split_seed", "sprin-2025"],
            ["split", split],
            ["split_ratios", "50,25,25"]
          ]),
          jobs: bySeed[split],
          format: "jsonl"
        })
      ),
      {
        name: named("split=train format=messages window=since"),
        params: spelled([["split", "train"], ["format", "messages"], ...windows.since]),
        jobs: by === "letter" ? ["J1", "J5", "J6", "J7"] : ["J5", "J6", "J7"],
        format: "messages"
      }
    ]
  }
)

/**
 * Every filter combination of contract §7 (`approved_only=true` spelled out in half of them and left to
 * its default in the other half, booleans alternating between `true`/`false` and `1`/`0`), then the
 * formats and the splits.
 *
 * @since 0.1.0
 */
export const exportCases: ReadonlyArray<ExportCase> = [
  ...filterCases,
  ...formatCases,
  ...splitCases,
  ...inputCases
]

/** @since 0.1.0 */
export const statsCases: ReadonlyArray<StatsCase> = [
  { name: "whole database", params: [], file: "all.json" },
  { name: "window", params: windows.both, file: "window.json" },
  { name: "until", params: windows.until, file: "until.json" }
]

/**
 * Where a format's lines with an input are, under `fixture/` (or `fixture/increment/`): the contract's
 * lines in `lines/`, the others in `formats/`, by input (see `scripts/derive_formats.py`).
 */
const folder = (format: Format, input: string | undefined): ReadonlyArray<string> => {
  const training = format !== "jsonl" && format !== "hf"
  const shown = input ?? (training ? "both" : "pipeline")
  if (shown === "pipeline")
    return training ? ["formats", "pipeline", format] : format === "hf" ? ["formats", "hf"] : ["lines"]
  if (shown === "text" || !training) return ["formats", "text", format]
  return ["formats", format]
}

const inputOf = (params: ReadonlyArray<readonly [string, string]>): string | undefined =>
  params.find(([k]) => k === "input")?.[1]

/** The bytes an export case must produce. @since 0.1.0 */
export const expectedExport = (c: ExportCase): Buffer =>
  Buffer.concat(
    c.jobs.map((job) =>
      fs.readFileSync(path.join(fixture, ...folder(c.format, inputOf(c.params)), `${job}.jsonl`))
    )
  )

/**
 * The Parquet file of a case: its hand-written lines (for `jsonl`, the same jobs' `hf` lines: the lines a
 * Parquet file of the sample is made from) through core's Parquet writer. Unlike the lines, these bytes
 * come from the code: what they show is that the CLI's file and the server's body are the same bytes, and
 * the lines the file holds are the hand-written ones (the readers' tests check the types and values).
 *
 * @since 0.1.0
 */
export const expectedParquet = (c: ExportCase): Effect.Effect<Buffer, Parquet.ParquetError> =>
  Stream.make(expectedExport({ ...c, format: c.format === "jsonl" ? "hf" : c.format })).pipe(
    Parquet.encode(c.format, inputOf(c.params) as "both" | "text" | "pipeline" | undefined),
    Stream.runCollect,
    Effect.map((chunks) => Buffer.concat(Chunk.toArray(chunks)))
  )

/**
 * The file name the server gives a case's body, for a given day:
 * `ground-truth-2025-06-01[-<split>][-<format>].jsonl`.
 *
 * @since 0.1.0
 */
export const fileName = (
  c: { readonly params: ReadonlyArray<readonly [string, string]>; readonly format: Format },
  date: string
): string => {
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

/**
 * The jobs of the increment scenario: the fixture's, and J11, which its change inserts.
 *
 * @since 0.1.0
 */
export type IncrementJobKey = JobKey | "J11"

/** The jobs' ids, spelled again from `fixture.sql` and `increment/change.sql`. */
const ids: Record<IncrementJobKey, string> = {
  J1: "c5da6747-1111-4222-8333-944455556666",
  J2: "0b4a2c1e-0000-4000-8000-000000000002",
  J3: "3c0f9a42-7b1d-4e55-9a10-000000000003",
  J4: "4d1e8b53-8c2e-4f66-8b21-000000000004",
  J5: "5e2f7c64-9d3f-4077-9c32-000000000005",
  J6: "6f3a6d75-ae40-4188-ad43-000000000006",
  J7: "7a4b5e86-bf51-4299-be54-000000000007",
  J8: "8b5c4f97-c062-43aa-8f65-000000000008",
  J9: "9c6d3aa8-d173-44bb-9076-000000000009",
  J10: "0a7e2bb9-e284-45cc-a187-00000000000a",
  J11: "1b2c3d4e-5f60-4718-9a9b-00000000000b"
}

/** A job's id. @since 0.1.0 */
export const jobId = (job: IncrementJobKey): string => ids[job]

/**
 * The increment scenario's change (`fixture/increment/change.sql`): one transaction that withdraws J1's
 * approval, rewrites J6 and J10 with the same values, adds J9's first correction (so `has_corrections`
 * flips; `jobs.result` already holds its new value, so the trail replays) and inserts J11.
 *
 * @since 0.1.0
 */
export const changeSql: string = fs.readFileSync(path.join(fixture, "increment", "change.sql"), "utf8")

/**
 * Applies the increment scenario's change to the loaded fixture. Run it on a database of its own: the
 * other golden cases expect the fixture as loaded.
 *
 * @since 0.1.0
 */
export const change = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(changeSql)
})

const realSleep = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

/**
 * Waits (real time, at most a minute) until every transaction that had a transaction id when it
 * started has ended, on the whole server: a snapshot taken afterwards sees all of them, so a cursor
 * taken afterwards counts none of them as changed after it. Take a cursor only after loading (or
 * changing) and settling, or a transaction of another database on the same server, in flight at the
 * cut, would make the cursor's `xmin` reach back over the fixture and an increment repeat unchanged
 * jobs (allowed by contract §11, but not the lines the cases list). The embedded database runs one
 * transaction at a time: it is settled at once.
 *
 * @since 0.1.0
 */
export const settle = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [{ mark }] = yield* sql<{ readonly mark: string }>`SELECT pg_current_xact_id()::text AS mark`
  for (let attempt = 0; ; attempt++) {
    const [{ done }] = yield* sql<{
      readonly done: boolean
    }>`SELECT pg_snapshot_xmin(pg_current_snapshot()) > ${mark}::xid8 AS done`
    if (done) return
    if (attempt >= 600) {
      return yield* Effect.die(new Error(`a transaction older than ${mark} is still running after 60 s`))
    }
    yield* realSleep(100)
  }
})

/**
 * An increment case (contract §11): the filter, the full export it selects before the change (which
 * gives the cursor), the increment from that cursor after the change (its lines, in export order, and
 * the jobs its manifest removes, in id order) and the full export after the change. Taking the full
 * export before, dropping `removed`, replacing by `jobs` must give `after` (the chain law).
 *
 * @since 0.1.0
 */
export interface IncrementCase {
  readonly name: string
  readonly params: ReadonlyArray<readonly [string, string]>
  readonly format: Format
  readonly before: ReadonlyArray<JobKey>
  readonly jobs: ReadonlyArray<IncrementJobKey>
  readonly removed: ReadonlyArray<IncrementJobKey>
  readonly after: ReadonlyArray<IncrementJobKey>
}

/**
 * The increment cases, worked out by hand from the fixture's table above and the change:
 *
 * - changed: J1 (no longer approved), J6 and J10 (same values), J9 (now with an event), J11 (new,
 *   approved, no event, sample time 2025-06-04T09:00), and for the training formats, whose default
 *   input reads the letters' texts, J8 (its text arrived). Nothing else: the cursor was taken after the
 *   fixture was loaded and settled.
 * - order after the change: J2 J1 J3 J4 J5 J6 J7 J9 J8 J11 J10 (J11 created 06-02T12:00, after J8).
 * - ids in byte order: J10 0a7e…, J2 0b4a…, J11 1b2c…, J3, J4, J5, J6 6f3a…, J7, J8, J9 9c6d…, J1 c5da….
 * - removed: the changed jobs without a line (they no longer match, never matched, or, as preference,
 *   their results are equal); split by job, not those of another split (they never were in it); split
 *   by letter, those too (a corrected number moves a job between splits).
 * - splits (`scripts/derive_formats.py`): by job, 80/10/10 puts J11 in train; 50/25/25 with seed
 *   `sprin-2025` puts J11 in validation, beside J3, and J1 J6 J9 J10 in train. By letter (J11's key
 *   `SPRIN/11/VI/2025`), 80/10/10 puts J11 in validation and J1 in train; 50/25/25 with the seed puts
 *   J11 and J3 in train, J1 in validation.
 *
 * @since 0.1.0
 */
export const incrementCases: ReadonlyArray<IncrementCase> = [
  {
    name: "changed_since (approved_only by default)",
    params: [],
    format: "jsonl",
    before: ["J1", "J3", "J5", "J6", "J7", "J9", "J8"],
    jobs: ["J6", "J9", "J11"],
    removed: ["J10", "J1"],
    after: ["J3", "J5", "J6", "J7", "J9", "J8", "J11"]
  },
  {
    name: "changed_since approved_only=false",
    params: [["approved_only", "false"]],
    format: "jsonl",
    before: ["J2", "J1", "J3", "J4", "J5", "J6", "J7", "J9", "J8", "J10"],
    jobs: ["J1", "J6", "J9", "J11", "J10"],
    removed: [],
    after: ["J2", "J1", "J3", "J4", "J5", "J6", "J7", "J9", "J8", "J11", "J10"]
  },
  {
    name: "changed_since has_corrections=false",
    params: [["has_corrections", "false"]],
    format: "jsonl",
    before: ["J9"],
    jobs: ["J11"],
    removed: ["J10", "J6", "J9", "J1"],
    after: ["J11"]
  },
  {
    // Sample times below 06-03: J7 (06-03T15:00), J10 (06-03T09:00:00.000123) and J11 (06-04) are out.
    name: "changed_since approved_only=0 until=2025-06-03",
    params: [
      ["until", "2025-06-03"],
      ["approved_only", "0"]
    ],
    format: "jsonl",
    before: ["J2", "J1", "J3", "J4", "J5", "J6", "J9", "J8"],
    jobs: ["J1", "J6", "J9"],
    removed: ["J10", "J11"],
    after: ["J2", "J1", "J3", "J4", "J5", "J6", "J9", "J8"]
  },
  {
    // J9's results now differ, so it gets a preference line; J11's are equal; J1's line is the same;
    // J8's text arrived, which its prompt now shows. J4 has no final result and J3 no pipeline result:
    // no preference line, before or after.
    name: "changed_since format=preference approved_only=false",
    params: [
      ["format", "preference"],
      ["approved_only", "false"]
    ],
    format: "preference",
    before: ["J1", "J5", "J6", "J8", "J10"],
    jobs: ["J1", "J6", "J9", "J8", "J10"],
    removed: ["J11"],
    after: ["J1", "J5", "J6", "J9", "J8", "J10"]
  },
  {
    name: "changed_since format=hf approved_only=false has_corrections=1",
    params: [
      ["approved_only", "false"],
      ["has_corrections", "1"],
      ["format", "hf"]
    ],
    format: "hf",
    before: ["J1", "J3", "J4", "J5", "J6", "J7", "J8", "J10"],
    jobs: ["J1", "J6", "J9", "J10"],
    removed: ["J11"],
    after: ["J1", "J3", "J4", "J5", "J6", "J7", "J9", "J8", "J10"]
  },
  {
    // By job, train: J2 J3 J4 J5 J6 J7 J10 J11. J1 and J9 (validation) changed but are not named.
    name: "changed_since split=train split_by=job",
    params: [
      ["split", "train"],
      ["split_by", "job"]
    ],
    format: "jsonl",
    before: ["J3", "J5", "J6", "J7"],
    jobs: ["J6", "J11"],
    removed: ["J10"],
    after: ["J3", "J5", "J6", "J7", "J11"]
  },
  {
    // By letter, train: J2 J1 J3 J4 J5 J6 J7 J10; J11 is validation. Every changed job without a line is
    // named, J9 and J11 of another split too: a corrected number could have moved them out of this one.
    name: "changed_since split=train",
    params: [["split", "train"]],
    format: "jsonl",
    before: ["J1", "J3", "J5", "J6", "J7"],
    jobs: ["J6"],
    removed: ["J10", "J11", "J9", "J1"],
    after: ["J3", "J5", "J6", "J7"]
  },
  {
    name: "changed_since split=validation format=messages split_by=job",
    params: [
      ["format", "messages"],
      ["split", "validation"],
      ["split_by", "job"]
    ],
    format: "messages",
    before: ["J1", "J9", "J8"],
    jobs: ["J9", "J8"],
    removed: ["J1"],
    after: ["J9", "J8"]
  },
  {
    // By letter, validation: J9 J8 J11 (J1 is train).
    name: "changed_since split=validation format=messages",
    params: [
      ["format", "messages"],
      ["split", "validation"]
    ],
    format: "messages",
    before: ["J9", "J8"],
    jobs: ["J9", "J8", "J11"],
    removed: ["J10", "J6", "J1"],
    after: ["J9", "J8", "J11"]
  },
  {
    // Four changed jobs of other splits, none named.
    name: "changed_since split=validation split_ratios=50,25,25 split_seed=sprin-2025 approved_only=false split_by=job",
    params: [
      ["approved_only", "false"],
      ["split", "validation"],
      ["split_ratios", "50,25,25"],
      ["split_seed", "sprin-2025"],
      ["split_by", "job"]
    ],
    format: "jsonl",
    before: ["J3"],
    jobs: ["J11"],
    removed: [],
    after: ["J3", "J11"]
  },
  {
    // By letter, validation is J1 alone, before and after; the four other changed jobs are named.
    name: "changed_since split=validation split_ratios=50,25,25 split_seed=sprin-2025 approved_only=false",
    params: [
      ["approved_only", "false"],
      ["split", "validation"],
      ["split_ratios", "50,25,25"],
      ["split_seed", "sprin-2025"]
    ],
    format: "jsonl",
    before: ["J1"],
    jobs: ["J1"],
    removed: ["J10", "J11", "J6", "J9"],
    after: ["J1"]
  }
]

/** A job's bytes in a format: after the change (`increment/`) when its line changed, else the fixture's. */
const changedLine = (job: IncrementJobKey, format: Format): Buffer => {
  const file = (base: string) => path.join(base, ...folder(format, undefined), `${job}.jsonl`)
  const changed = file(path.join(fixture, "increment"))
  return fs.readFileSync(fs.existsSync(changed) ? changed : file(fixture))
}

/** The full export of an increment case's filter before the change. @since 0.1.0 */
export const expectedBefore = (c: IncrementCase): Buffer =>
  expectedExport({ name: c.name, params: c.params, jobs: c.before, format: c.format })

/** The increment's bytes: the changed jobs' lines after the change. @since 0.1.0 */
export const expectedIncrement = (c: IncrementCase): Buffer =>
  Buffer.concat(c.jobs.map((job) => changedLine(job, c.format)))

/** The full export of an increment case's filter after the change. @since 0.1.0 */
export const expectedAfter = (c: IncrementCase): Buffer =>
  Buffer.concat(c.after.map((job) => changedLine(job, c.format)))

/** The ids the increment's manifest lists in `removed`. @since 0.1.0 */
export const expectedRemoved = (c: IncrementCase): ReadonlyArray<string> => c.removed.map(jobId)

/** `2025-05-28T08:02:17Z` → a key that sorts as the instant does (fractions padded to 6 digits). */
const timeKey = (t: string): string => {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/.exec(t)
  if (m === null) throw new Error(`not a contract §6 time: ${t}`)
  return `${m[1]}.${(m[2] ?? "").padEnd(6, "0")}`
}

/**
 * The chain law of contract §11, read independently of the code: a corpus whose lines carry `job_id`
 * and `created_at` (the `jsonl` and `hf` formats), with an increment applied: lines replaced by
 * `job_id`, the `removed` ids dropped, the result in export order (`created_at`, then `job_id`).
 *
 * @since 0.1.0
 */
export const chain = (corpus: Buffer, increment: Buffer, removed: ReadonlyArray<string>): Buffer => {
  const lines = (b: Buffer) =>
    b.length === 0
      ? []
      : b
          .toString("utf8")
          .slice(0, -1)
          .split("\n")
          .map((text) => {
            const { job_id, created_at } = JSON.parse(text) as { job_id: string; created_at: string }
            return { id: job_id, key: `${timeKey(created_at)} ${job_id}`, text }
          })
  const fresh = lines(increment)
  const replaced = new Set([...fresh.map((l) => l.id), ...removed])
  return Buffer.from(
    [...lines(corpus).filter((l) => !replaced.has(l.id)), ...fresh]
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((l) => `${l.text}\n`)
      .join(""),
    "utf8"
  )
}

/**
 * Cursors a database cannot answer for, beside `real` (one of its own) and `otherDatabase` (one taken
 * on another database of the same kind): what the CLI refuses with exit 2 and the server with 410.
 *
 * @since 0.1.0
 */
export const staleCursors = (real: Cursor.Cursor, otherDatabase: string): ReadonlyArray<string> => [
  // Taken on another database of the same kind.
  otherDatabase,
  // This snapshot, tagged with another database.
  Cursor.encode({ ...real, database: real.database === "0123456789ab" ? "ba9876543210" : "0123456789ab" }),
  // This database, but a snapshot from far in its future (as a copy restored from a backup sees it).
  Cursor.encode({ ...real, xmax: 2n ** 62n }),
  Cursor.encode({ ...real, xmin: 2n ** 62n, xmax: 2n ** 62n }),
  Cursor.encode({ ...real, lsn: real.lsn + 2n ** 40n }),
  // Another timeline (a failover or a point-in-time restore since).
  Cursor.encode({ ...real, timeline: real.timeline + 1 }),
  // More rows than there are now: rows were deleted since.
  Cursor.encode({ ...real, jobs: real.jobs + 1_000_000n }),
  Cursor.encode({ ...real, events: real.events + 1_000_000n, old: real.old + 1_000_000n })
]

// ---------------------------------------------------------------------------------------------------------
// lint (contract §13)
// ---------------------------------------------------------------------------------------------------------

/**
 * Inserts the lint fixture's eight jobs, L1–L8 (`fixture/lint/fixture.sql`), into a database of their
 * own (the tables must exist and be empty): letters spelled apart, a conflicting copy, an NRP with two
 * names, a field corrected back to where it started, malformed NRPs.
 *
 * @since 0.1.0
 */
export const loadLint = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(fs.readFileSync(path.join(fixture, "lint", "fixture.sql"), "utf8"))
})

/** A lint case: its filters, the file of its hand-written report, and whether a check finds something. @since 0.1.0 */
export interface LintCase {
  readonly name: string
  readonly params: ReadonlyArray<readonly [string, string]>
  readonly file: string
  readonly found: boolean
}

/** @since 0.1.0 */
export const lintCases: ReadonlyArray<LintCase> = [
  { name: "approved jobs", params: [], file: "expected.json", found: true },
  {
    name: "approved_only=false",
    params: [["approved_only", "false"]],
    file: "expected-all.json",
    found: true
  },
  // L8 alone (reviewed on 2025-05-08): nothing to find.
  {
    name: "since=2025-05-08 (clean)",
    params: [["since", "2025-05-08"]],
    file: "expected-clean.json",
    found: false
  }
]

/** The report a lint case must print. @since 0.1.0 */
export const expectedLint = (c: LintCase): Buffer => fs.readFileSync(path.join(fixture, "lint", c.file))

// ---------------------------------------------------------------------------------------------------------
// error classes (contract §14)
// ---------------------------------------------------------------------------------------------------------

/**
 * Inserts the error-class fixture's three jobs, C1–C3 (`fixture/classes/fixture.sql`), into a database
 * of their own (the tables must exist and be empty): personnel tables with an invented first row, a lost
 * row, two rows swapped, OCR confusions and spacing variants, each class at least twice for the model
 * and for the pipeline.
 *
 * @since 0.1.0
 */
export const loadClasses = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(fs.readFileSync(path.join(fixture, "classes", "fixture.sql"), "utf8"))
})

/** The predictions of the error-class fixture. @since 0.1.0 */
export const classesPredictions: string = path.join(fixture, "classes", "predictions.jsonl")

/** The report of `classesPredictions` against C1–C3, its classes counted by hand. @since 0.1.0 */
export const expectedClasses = (): Buffer => fs.readFileSync(path.join(fixture, "classes", "expected.json"))

/**
 * The Markdown view of `classesPredictions` (`eval --markdown`, or `Accept: text/markdown`), its
 * differences computed from the counts. @since 0.1.0
 */
export const expectedClassesMarkdown = (): Buffer =>
  fs.readFileSync(path.join(fixture, "classes", "expected.md"))

/**
 * The details lines of `classesPredictions` (`eval --details`, or `Accept: application/x-ndjson`): each
 * job's wrong leaves, the classes of the hand-counted table. @since 0.1.0
 */
export const expectedClassesDetails = (): Buffer =>
  fs.readFileSync(path.join(fixture, "classes", "expected-details.jsonl"))

/** The details lines of the pipeline alone on C1–C3. @since 0.1.0 */
export const expectedClassesDetailsPipeline = (): Buffer =>
  fs.readFileSync(path.join(fixture, "classes", "expected-details-pipeline.jsonl"))

/**
 * A sliced evaluation of the error-class fixture: `by` (the CLI's `--by`, HTTP's `by=`), whether with
 * `classesPredictions` or the pipeline alone, as JSON or Markdown, and its file. Each slice's report was
 * checked against an evaluation of a database holding that slice's jobs alone (README.md, 11).
 *
 * @since 0.1.0
 */
export interface SliceCase {
  readonly by: "satuan" | "source_kind" | "review_flag"
  readonly predictions: boolean
  readonly markdown: boolean
  readonly file: string
}

/** @since 0.1.0 */
export const sliceCases: ReadonlyArray<SliceCase> = [
  { by: "satuan", predictions: true, markdown: false, file: "expected-by-satuan.json" },
  { by: "source_kind", predictions: true, markdown: false, file: "expected-by-source_kind.json" },
  { by: "review_flag", predictions: true, markdown: false, file: "expected-by-review_flag.json" },
  { by: "review_flag", predictions: true, markdown: true, file: "expected-by-review_flag.md" },
  { by: "source_kind", predictions: false, markdown: false, file: "expected-pipeline-by-source_kind.json" },
  { by: "source_kind", predictions: false, markdown: true, file: "expected-pipeline-by-source_kind.md" }
]

/** The bytes a slice case must give. @since 0.1.0 */
export const expectedSlice = (c: SliceCase): Buffer => fs.readFileSync(path.join(fixture, "classes", c.file))

/**
 * A second model's predictions on C1–C3 (`eval --against`, HTTP's `against` part): C1 right, C2 with
 * its unit in capitals, an O for a 0 in an NRP and its second row lost, C3 not predicted, and a line for
 * a job that is not in the reference. Its scores were counted by hand (README.md, 12).
 *
 * @since 0.1.0
 */
export const classesAgainst: string = path.join(fixture, "classes", "against.jsonl")

/**
 * The two-model report, JSON, Markdown and details, of `classesPredictions` with `classesAgainst`.
 *
 * @since 0.1.0
 */
export const expectedClassesAgainst = (view: "json" | "markdown" | "details"): Buffer =>
  fs.readFileSync(
    path.join(
      fixture,
      "classes",
      view === "json"
        ? "expected-against.json"
        : view === "markdown"
          ? "expected-against.md"
          : "expected-against-details.jsonl"
    )
  )

/** The report of the pipeline alone on C1–C3 (no predictions). @since 0.1.0 */
export const expectedClassesPipeline = (): Buffer =>
  fs.readFileSync(path.join(fixture, "classes", "expected-pipeline.json"))
