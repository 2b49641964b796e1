/**
 * `export --shards N --out DIR` (contract §15) through the CLI: golden cases cut into 3 files named as
 * `datasets` reads shards, concatenated in name order the golden bytes, with a manifest that hashes
 * each as sha256sum does, on one worker and (PostgreSQL) on two; what does not apply is a usage error
 * that writes nothing; `datasets` loads the folder's shards as one split.
 */
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { expect, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Effect, Layer } from "effect"
import { run } from "./cli.js"

const datasets = spawnSync("python3", ["-c", "import datasets"], { stdio: "ignore" }).status === 0
if (!datasets)
  console.log("Loading check skipped: python3 with datasets is not available (.ci/run installs it)")

const PARTS = ["part-00000-of-00003.jsonl", "part-00001-of-00003.jsonl", "part-00002-of-00003.jsonl"]

for (const target of TestDatabase.targets()) {
  const fixture = Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer))
  layer(fixture, { timeout: 300_000 })(`export --shards on ${target.name}`, (it) => {
    const env = Effect.map(TestDatabase.TestDatabase, (db) => ({
      DATABASE_URL: db.url,
      GROUND_TRUTH_WORKER_RANGE_ROWS: "2"
    }))

    it.effect(
      "golden cases in 3 shards: datasets' names, the golden bytes concatenated, a manifest of each",
      () =>
        Effect.gen(function* () {
          const e = yield* env
          const root = fs.mkdtempSync(path.join(os.tmpdir(), "gt-shards-"))
          // Filters, formats and splits; on PostgreSQL every other one on 2 workers.
          const cases = Golden.exportCases.filter((_, i) => i % 4 === 0)
          const results = yield* Effect.forEach(
            cases,
            (c, i) => {
              const dir = path.join(root, `case-${i}`)
              const workers = target.name === "postgres" && i % 2 === 1 ? ["--workers", "2"] : []
              return Effect.map(
                run(["export", "--shards", "3", "--out", dir, ...workers, ...Golden.flags(c.params)], e),
                (r) => ({ c, r, dir })
              )
            },
            { concurrency: target.name === "postgres" ? 3 : 1 }
          )
          for (const { c, r, dir } of results) {
            expect(r.code, c.name).toBe(0)
            expect(r.stdout.length, c.name).toBe(0)
            const m = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"))
            expect(r.stderr, c.name).toBe(`${dir}: ${c.jobs.length} rows in 3 shards at ${m.cursor}\n`)
            // The format's features beside them, but for jsonl (which has none).
            expect(fs.readdirSync(dir).sort(), c.name).toEqual(
              [...(c.format === "jsonl" ? [] : ["features.json"]), "manifest.json", ...PARTS].sort()
            )
            if (c.format !== "jsonl") {
              const features = yield* run(["features", "--format", c.format], e)
              expect(fs.readFileSync(path.join(dir, "features.json")).equals(features.stdout), c.name).toBe(
                true
              )
            }
            const parts = PARTS.map((f) => fs.readFileSync(path.join(dir, f)))
            const expected = Golden.expectedExport(c)
            expect(Buffer.concat(parts).toString("utf8"), c.name).toBe(expected.toString("utf8"))
            expect(m, c.name).toMatchObject({ format: c.format, rows: c.jobs.length, bytes: expected.length })
            expect(m.files, c.name).toEqual(
              PARTS.map((f, i) => ({
                path: f,
                rows: parts[i].toString("utf8").split("\n").length - 1,
                bytes: parts[i].length,
                sha256: execFileSync("sha256sum", [path.join(dir, f)], { encoding: "utf8" }).split(" ")[0]
              }))
            )
          }
          expect(results.length).toBeGreaterThan(8)

          // The format for datasets (hf: one JSON type per column, in every shard alike).
          if (datasets && target.name === "embedded") {
            const dir = path.join(root, "hf")
            const hf = yield* run(
              ["export", "--shards", "3", "--out", dir, "--format", "hf", "--approved-only", "false"],
              e
            )
            expect(hf.code).toBe(0)
            const rows = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")).rows
            expect(rows).toBeGreaterThan(3)
            // With the features.json beside the shards: a shard of a few jobs has columns that are all null,
            // whose type datasets cannot guess from that file alone.
            const features = path.join(dir, "features.json")
            const out = execFileSync(
              "python3",
              [
                "-c",
                "import sys, glob, json; from datasets import load_dataset, Features; " +
                  "features = Features.from_dict(json.load(open(sys.argv[2]))); " +
                  "print(load_dataset('json', data_files=sorted(glob.glob(sys.argv[1] + '/part-*.jsonl')), split='train', features=features).num_rows)",
                dir,
                features
              ],
              { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }
            )
            expect(Number(out.trim().split("\n").pop())).toBe(rows)
          }
        })
    )

    it.effect("what does not apply is a usage error in one line, and nothing is written", () =>
      Effect.gen(function* () {
        const e = yield* env
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "gt-shards-"))
        const dir = path.join(root, "out")
        for (const [args, line] of [
          [["--shards", "0", "--out", dir], "--shards must be a whole number from 1 to 9999, not 0"],
          [
            ["--shards", "2"],
            "--shards writes a folder of files: --out names that folder, not standard output"
          ],
          [
            ["--shards", "2", "--out", `${dir}.gz`],
            `--out ${dir}.gz: .gz is gzip, but it names a folder of files (--gzip gzips each of them, --parquet ` +
              "writes them as Parquet): name it without that extension"
          ],
          [
            ["--shards", "2", "--out", dir, "--manifest", path.join(root, "m.json")],
            "--shards writes its manifest into the --out folder (manifest.json): --manifest does not apply"
          ],
          [
            ["--shards", "2", "--out", dir, "--changed-since", "gt2.x"],
            "--shards cuts a full export: --changed-since does not apply"
          ]
        ] as const) {
          const r = yield* run(["export", ...args], e)
          expect(r.code, line).toBe(2)
          expect(r.stderr, line).toBe(`ground-truth: ${line}\n`)
        }
        expect(fs.readdirSync(root)).toEqual([])
      })
    )
  })
}
