/**
 * The training formats and splits over a real database (demo data plus the golden fixture): `hf` has one
 * JSON type per column in every row and reads in Apache Arrow where the contract's form does not; the
 * training formats carry exactly the results of the `hf` sample (conversational, with job_id, and none
 * for a job without a final result); splits of two overlapping windows never
 * put one job in two splits, and each window's three splits partition it.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { expect, layer } from "@effect/vitest"
import { Export, Filter, Format } from "@ground-truth/core"
import { Golden } from "@ground-truth/golden"
import { Effect, Layer, Stream } from "effect"
import { Demo, TestDatabase } from "../src/index.js"

const exported = (params: ReadonlyArray<readonly [string, string]>) =>
  Effect.gen(function* () {
    const filter = yield* Filter.parse([["approved_only", "false"], ...params])
    const exporter = yield* Export.Export
    const bytes = yield* Stream.runCollect(exporter.stream(filter))
    return Buffer.concat([...bytes]).toString("utf8")
  })

const lines = (body: string) => body.split("\n").slice(0, -1)

/** The JSON type of a value as Arrow would see it: numbers split into integers and floats by their text. */
const typeOf = (value: unknown, text: string): string =>
  value === null
    ? "null"
    : Array.isArray(value)
      ? "list"
      : typeof value === "number"
        ? /[.eE]/.test(text)
          ? "float"
          : "integer"
        : typeof value

/** Every member of every object of `rows`, by name: the set of types its non-null values have. */
const columnTypes = (rows: ReadonlyArray<string>) => {
  const types = new Map<string, Set<string>>()
  const note = (column: string, value: unknown, text: string) => {
    const t = typeOf(value, text)
    if (t === "null") return
    if (!types.has(column)) types.set(column, new Set())
    types.get(column)!.add(t)
  }
  for (const row of rows) {
    const sample = JSON.parse(row) as Record<string, unknown>
    for (const [key, value] of Object.entries(sample)) {
      // The raw text of a top-level number, for the integer/float distinction JSON.parse loses.
      const raw = new RegExp(`"${key}":(-?[\\d.eE+-]+)`).exec(row)?.[1] ?? ""
      note(key, value, raw)
    }
    for (const event of sample.corrections as Array<Record<string, unknown>>) {
      for (const [key, value] of Object.entries(event)) note(`corrections[].${key}`, value, "")
    }
    for (const flag of sample.review_flags as Array<unknown>) note("review_flags[]", flag, "")
  }
  return types
}

const python = spawnSync("python3", ["-c", "import pyarrow"], { stdio: "ignore" })
const arrow = python.status === 0
if (!arrow) console.log("Arrow check skipped: python3 with pyarrow is not available (.ci/run installs it)")

/** Reads a JSONL file with pyarrow.json as datasets.load_dataset("json") does: the error, or undefined. */
const readWithArrow = (body: string) => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gt-arrow-")), "corpus.jsonl")
  fs.writeFileSync(file, body)
  const r = spawnSync(
    "python3",
    [
      "-c",
      "import sys, pyarrow.json as j; t = j.read_json(sys.argv[1], read_options=j.ReadOptions(block_size=16 << 10)); print(t.num_rows)",
      file
    ],
    { encoding: "utf8" }
  )
  return r.status === 0
    ? { rows: Number(r.stdout.trim()) }
    : { error: r.stderr.trim().split("\n").pop() ?? "" }
}

for (const target of TestDatabase.targets()) {
  const data = Effect.zipRight(Demo.seed({ jobs: 2000, seed: 21 }), Golden.load)
  layer(
    Export.Export.Default.pipe(
      Layer.provideMerge(Layer.effectDiscard(data).pipe(Layer.provideMerge(target.layer)))
    ),
    { timeout: 240_000 }
  )(`formats and splits on ${target.name}`, (it) => {
    it.effect("hf: one JSON type per column in every row (confidence always a float)", () =>
      Effect.gen(function* () {
        const rows = lines(yield* exported([["format", "hf"]]))
        expect(rows.length).toBe(2010)
        const types = columnTypes(rows)
        for (const [column, set] of types) expect([column, [...set]]).toEqual([column, [...set].slice(0, 1)])
        expect([...types.get("confidence")!]).toEqual(["float"])
        expect([...types.get("corrections[].old_value")!]).toEqual(["string"])
        // The contract's form mixes types in the same columns: the reason hf exists.
        const mixed = [...columnTypes(lines(yield* exported([])))].filter(([, set]) => set.size > 1)
        expect(mixed.map(([column]) => column)).toContain("corrections[].old_value")
        console.log(
          `${target.name}: hf, ${rows.length} rows, ${types.size} columns, each of one type; jsonl mixes ${mixed
            .map(([column, set]) => `${column} (${[...set].join("/")})`)
            .join(", ")}`
        )
      })
    )

    it.effect.skipIf(!arrow)(
      "hf reads in Apache Arrow (pyarrow.json, as datasets does); jsonl does not",
      () =>
        Effect.gen(function* () {
          const hf = readWithArrow(yield* exported([["format", "hf"]]))
          expect(hf).toEqual({ rows: 2010 })
          const plain = readWithArrow(yield* exported([]))
          expect(plain).toMatchObject({ error: expect.stringMatching(/ArrowInvalid|ArrowNotImplemented/) })
          console.log(
            `${target.name}: pyarrow read ${hf.rows} hf rows; jsonl: ${"error" in plain ? plain.error : ""}`
          )
        })
    )

    it.effect("the training formats carry exactly the results of the sample", () =>
      Effect.gen(function* () {
        const hf = lines(yield* exported([["format", "hf"]])).map(
          (row) =>
            JSON.parse(row) as { job_id: string; initial_result: string | null; final_result: string | null }
        )
        // The pipeline's result as the input (the golden jobs have texts: the golden suites check those).
        const rows = (format: string) =>
          Effect.map(
            exported([
              ["format", format],
              ["input", "pipeline"]
            ]),
            (body) => lines(body).map((row) => JSON.parse(row))
          )
        const completion = yield* rows("prompt-completion")
        const messages = yield* rows("messages")
        const preference = yield* rows("preference")
        const system = { role: "system", content: Format.instruction }
        const expected = {
          completion: [] as Array<unknown>,
          messages: [] as Array<unknown>,
          preference: [] as Array<unknown>
        }
        let withoutFinal = 0
        let withoutInput = 0
        for (const sample of hf) {
          const before = sample.initial_result ?? "null"
          // A job without a final result teaches nothing: no training line.
          if (sample.final_result === null) {
            withoutFinal++
            continue
          }
          // Nor does one that shows the model nothing: no pipeline result (a letter a reviewer typed in).
          if (sample.initial_result === null) {
            withoutInput++
            continue
          }
          const after = sample.final_result
          const prompt = [system, { role: "user", content: before }]
          const answer = (content: string) => [{ role: "assistant", content }]
          expected.completion.push({ job_id: sample.job_id, prompt, completion: answer(after) })
          expected.messages.push({ job_id: sample.job_id, messages: [...prompt, ...answer(after)] })
          if (before !== after) {
            expected.preference.push({
              job_id: sample.job_id,
              prompt,
              chosen: answer(after),
              rejected: answer(before)
            })
          }
        }
        expect(completion).toEqual(expected.completion)
        expect(messages).toEqual(expected.messages)
        expect(preference).toEqual(expected.preference)
        // The demo data has jobs without a result (the pipeline failed): they are really left out.
        expect(withoutFinal).toBeGreaterThan(0)
        expect(withoutInput).toBeGreaterThan(0)
        console.log(
          `${target.name}: ${completion.length} prompt-completion and messages samples (${withoutFinal} jobs without a result and ${withoutInput} without an input left out), ${preference.length} preference pairs`
        )
      })
    )

    it.effect("splits: overlapping windows never place one job in two splits", () =>
      Effect.gen(function* () {
        // Incremental snapshots: two overlapping since windows, and an older until window.
        const windows = [
          [["since", "2025-03-01"]],
          [["since", "2025-05-01"]],
          [["until", "2025-04-15"]]
        ] as const
        const where = new Map<string, string>()
        let shared = 0
        for (const window of windows) {
          const whole = lines(yield* exported(window))
          const parts: Array<string> = []
          for (const split of ["train", "validation", "test"]) {
            for (const row of lines(yield* exported([...window, ["split", split]]))) {
              parts.push(row)
              const id = row.slice(11, 47)
              const before = where.get(id)
              if (before !== undefined) shared++
              expect(before ?? split).toBe(split)
              where.set(id, split)
            }
          }
          // The three splits of a window are the window, each line once.
          expect([...parts].sort()).toEqual([...whole].sort())
        }
        expect(shared).toBeGreaterThan(100)
        const count = (s: string) => [...where.values()].filter((v) => v === s).length
        console.log(
          `${target.name}: ${where.size} jobs in three overlapping windows (${shared} seen again): ` +
            `train ${count("train")}, validation ${count("validation")}, test ${count("test")}; none in two splits`
        )
      })
    )
  })
}
