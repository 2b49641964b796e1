/**
 * Evaluation through the CLI (contracts §12, §14): the golden predictions give the hand-scored line on every
 * test database; every usage error of §12 exits 2 with one line naming the line of the file.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { expect, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Effect, Layer } from "effect"
import { run } from "./cli.js"

/** A predictions file holding `bytes`. */
const file = (bytes: string | Uint8Array) => {
  const p = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "gt-eval-")), "predictions.jsonl")
  fs.writeFileSync(p, bytes)
  return p
}

for (const target of TestDatabase.targets()) {
  const fixture = Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer))
  layer(fixture, { timeout: 300_000 })(`CLI eval on ${target.name}`, (it) => {
    const env = Effect.map(TestDatabase.TestDatabase, (db) => ({ DATABASE_URL: db.url }))

    it.effect("the golden predictions give the hand-scored line", () =>
      Effect.gen(function* () {
        const r = yield* run(["eval", "--predictions", Golden.evalPredictions], yield* env)
        expect(r.stderr).toBe("")
        expect(r.code).toBe(0)
        expect(r.stdout.toString("utf8")).toBe(Golden.expectedEval().toString("utf8"))
      })
    )

    it.effect("without --predictions, or with an empty file, the pipeline alone: the hand-scored line", () =>
      Effect.gen(function* () {
        const none = yield* run(["eval"], yield* env)
        expect(none.stderr).toBe("")
        expect(none.code).toBe(0)
        expect(none.stdout.toString("utf8")).toBe(Golden.expectedEvalPipeline().toString("utf8"))
        const empty = yield* run(["eval", "--predictions", file("")], yield* env)
        expect(empty.stdout.toString("utf8")).toBe(Golden.expectedEvalPipeline().toString("utf8"))
      })
    )

    it.effect("--markdown: the same scores for people, worst fields first", () =>
      Effect.gen(function* () {
        const r = yield* run(["eval", "--markdown", "--predictions", Golden.evalPredictions], yield* env)
        expect(r.code).toBe(0)
        const lines = r.stdout.toString("utf8").split("\n")
        expect(lines[0]).toBe("# Evaluation against the ground truth")
        // The interval is the JSON's (a bootstrap checked against an independent one in core's tests).
        expect(lines).toContain("| exact match | 42.9% | 28.6% | +14.3 | −42.9 to +57.1 |")
        // header.perihal (see Golden.evalPredictions): model 1/3 and 1/2, pipeline 2/3 and 2/3.
        // F1: model 2·1/(2 + 3) = 0.4, pipeline 2·2/(3 + 3) = 0.667.
        expect(lines).toContain(
          "| `header.perihal` | 3 | 33.3% | 66.7% | −33.3 | 50.0% | 66.7% | −16.7 | −26.7 (−100.0 to ±0.0) |"
        )
        const errorsAt = lines.indexOf(
          "| field | errors of | missing | extra | format | ocr | value | fix first |"
        )
        expect(errorsAt).toBeGreaterThan(0)
        const fields = lines
          .slice(0, errorsAt)
          .filter((l) => l.startsWith("| `"))
          .map((l) => l.split("`")[1])
        // Recall 0 first (by name), then 1/3, 1/2, the 1s by name, and `hapus` (no reference leaf) last.
        expect(fields).toEqual([
          "header.catatan",
          'header["no. urut"]',
          "header.perihal",
          "personel[].nrp",
          "angka",
          "header.nomor_sprint",
          "ilmiah",
          "kosong",
          "personel",
          "personel[].nama",
          "personel[].pangkat",
          "skor",
          "hapus"
        ])
        // The classes, counted by hand (packages/golden/README.md, "Eval"), in the same order, each field's
        // model before its pipeline, those without errors left out; a tie points to the first class.
        const errors = lines.slice(errorsAt + 2).filter((l) => l.startsWith("| `"))
        expect(
          errors.map((l) => {
            const [field, who] = l.split(" | ")
            return `${field!.split("`")[1]} ${who}`
          })
        ).toEqual([
          "header.catatan model",
          'header["no. urut"] model',
          'header["no. urut"] pipeline',
          "header.perihal model",
          "header.perihal pipeline",
          "personel[].nrp model",
          "personel[].nrp pipeline",
          "header.nomor_sprint pipeline",
          "kosong pipeline",
          "personel[].nama pipeline",
          "skor pipeline",
          "hapus pipeline"
        ])
        expect(lines).toContain(
          '| `header["no. urut"]` | pipeline | 0 | 0 | 0 | 1 | 0 | OCR post-correction (0/O, 1/I, 5/S…) |'
        )
        expect(lines).toContain(
          "| `header.perihal` | model | 1 | 0 | 0 | 0 | 1 | the prompt (a field left out) |"
        )
        expect(lines).toContain("| `hapus` | pipeline | 0 | 1 | 0 | 0 | 0 | the prompt (a field invented) |")
      })
    )

    it.effect("every usage error exits 2 with one line naming the line; a missing file too", () =>
      Effect.gen(function* () {
        for (const [name, bytes, message] of Golden.evalUsageCases) {
          const r = yield* run(["eval", "--predictions", file(bytes)], yield* env)
          expect([name, r.code, r.stdout.length]).toEqual([name, 2, 0])
          expect(r.stderr.startsWith(`ground-truth: ${message}`), `${name}: ${r.stderr}`).toBe(true)
          expect(r.stderr.trimEnd().split("\n")).toHaveLength(1)
        }
        const missing = yield* run(["eval", "--predictions", "/nonexistent/p.jsonl"], yield* env)
        expect(missing.code).toBe(2)
        expect(missing.stderr).toMatch(
          /^ground-truth: cannot read the predictions file \/nonexistent\/p\.jsonl: ENOENT/
        )
        const cursor = yield* run(
          ["eval", "--predictions", Golden.evalPredictions, "--changed-since", "x"],
          yield* env
        )
        expect(cursor.code).toBe(2)
      })
    )
  })
}

for (const target of TestDatabase.targets()) {
  const fixture = Layer.effectDiscard(Golden.loadClasses).pipe(Layer.provideMerge(target.layer))
  layer(fixture, { timeout: 120_000 })(`CLI eval of the error-class fixture on ${target.name}`, (it) => {
    it.effect(
      "each class as counted by hand, for the model and the pipeline alone, in Markdown and in details",
      () =>
        Effect.gen(function* () {
          const env = { DATABASE_URL: (yield* TestDatabase.TestDatabase).url }
          const scored = yield* run(["eval", "--predictions", Golden.classesPredictions], env)
          expect([scored.code, scored.stderr]).toEqual([0, ""])
          expect(scored.stdout.toString("utf8")).toBe(Golden.expectedClasses().toString("utf8"))
          const alone = yield* run(["eval"], env)
          expect([alone.code, alone.stderr]).toEqual([0, ""])
          expect(alone.stdout.toString("utf8")).toBe(Golden.expectedClassesPipeline().toString("utf8"))
          const markdown = yield* run(["eval", "--markdown", "--predictions", Golden.classesPredictions], env)
          expect([markdown.code, markdown.stderr]).toEqual([0, ""])
          expect(markdown.stdout.toString("utf8")).toBe(Golden.expectedClassesMarkdown().toString("utf8"))
          // --details: a line per job, beside the same report, from one pass.
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-details-"))
          const details = path.join(dir, "details.jsonl")
          const both = yield* run(
            ["eval", "--predictions", Golden.classesPredictions, "--details", details],
            env
          )
          expect([both.code, both.stderr]).toEqual([0, ""])
          expect(both.stdout.toString("utf8")).toBe(Golden.expectedClasses().toString("utf8"))
          expect(fs.readFileSync(details, "utf8")).toBe(Golden.expectedClassesDetails().toString("utf8"))
          const pipeline = yield* run(["eval", "--details", details], env)
          expect(pipeline.stdout.toString("utf8")).toBe(Golden.expectedClassesPipeline().toString("utf8"))
          expect(fs.readFileSync(details, "utf8")).toBe(
            Golden.expectedClassesDetailsPipeline().toString("utf8")
          )
          // The predictions are never replaced by their details; a folder is no file: nothing written.
          const copy = path.join(dir, "predictions.jsonl")
          fs.copyFileSync(Golden.classesPredictions, copy)
          for (const [target, message] of [
            [copy, `--details ${copy} is the predictions file: name a file of its own`],
            [dir, `--details ${dir} is a folder, not a regular file`]
          ] as const) {
            const refused = yield* run(["eval", "--predictions", copy, "--details", target], env)
            expect([refused.code, refused.stdout.length]).toEqual([2, 0])
            expect(refused.stderr).toContain(message)
          }
          expect(fs.readFileSync(copy)).toEqual(fs.readFileSync(Golden.classesPredictions))
          expect(fs.readdirSync(dir).sort()).toEqual(["details.jsonl", "predictions.jsonl"])
          fs.rmSync(dir, { recursive: true })
          // Slices: the report of each, as counted on a database of its jobs alone; a --by of no slice is a usage error.
          for (const c of Golden.sliceCases) {
            const sliced = yield* run(
              [
                "eval",
                "--by",
                c.by,
                ...(c.predictions ? ["--predictions", Golden.classesPredictions] : []),
                ...(c.markdown ? ["--markdown"] : [])
              ],
              env
            )
            expect([c.file, sliced.code, sliced.stderr]).toEqual([c.file, 0, ""])
            expect(sliced.stdout.toString("utf8")).toBe(Golden.expectedSlice(c).toString("utf8"))
          }
          // Two models: the second one's scores counted by hand, beside the first's and the pipeline's.
          const dir2 = fs.mkdtempSync(path.join(os.tmpdir(), "gt-against-"))
          const againstDetails = path.join(dir2, "details.jsonl")
          const compare = [
            "eval",
            "--predictions",
            Golden.classesPredictions,
            "--against",
            Golden.classesAgainst
          ]
          for (const [flags, view] of [
            [[], "json"],
            [["--markdown"], "markdown"],
            [["--details", againstDetails], "json"]
          ] as const) {
            const two = yield* run([...compare, ...flags], env)
            expect([view, two.code, two.stderr]).toEqual([view, 0, ""])
            expect(two.stdout.toString("utf8")).toBe(Golden.expectedClassesAgainst(view).toString("utf8"))
          }
          expect(fs.readFileSync(againstDetails, "utf8")).toBe(
            Golden.expectedClassesAgainst("details").toString("utf8")
          )
          fs.rmSync(dir2, { recursive: true })
          const alone2 = yield* run(["eval", "--against", Golden.classesAgainst], env)
          expect([alone2.code, alone2.stdout.length]).toEqual([2, 0])
          expect(alone2.stderr).toBe(
            "ground-truth: --against compares a second model with the first: give the first with --predictions\n"
          )
          const badBy = yield* run(["eval", "--by", "nrp"], env)
          expect([badBy.code, badBy.stdout.length]).toEqual([2, 0])
          expect(badBy.stderr).toMatch(/^ground-truth: .*--by.*\n$/)
        })
    )
  })
}
