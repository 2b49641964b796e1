/**
 * `export --dataset DIR --shards N` and `--gzip` (contract §15) through the CLI: each split's shards,
 * named as `datasets` reads them, concatenated in name order are that split's file of `export --dataset`
 * (on PostgreSQL also on two workers with two-job ranges, so that shard ends of every split fall inside
 * ranges); a split of fewer jobs than shards gets empty shards, a split without jobs none; the manifest
 * and the card name every file, the manifest's counts checked against the files as read. Gzipped, the
 * files decompress to the same bytes and the manifest hashes what was written. When python3 has
 * `datasets`, the sharded folders (plain and gzipped) load as the same rows per split as the single one.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { expect, layer } from "@effect/vitest"
import { Demo, TestDatabase } from "@ground-truth/db"
import { Effect, Layer } from "effect"
import { run } from "./cli.js"

const datasets = spawnSync("python3", ["-c", "import datasets"], { stdio: "ignore" }).status === 0
if (!datasets)
  console.log("Loading check skipped: python3 with datasets is not available (.ci/run installs it)")

const SPLITS = ["train", "validation", "test"] as const

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex")

/** `train-00001-of-00003.jsonl`, written out here rather than by the code under test. */
const shardName = (split: string, i: number, n: number) =>
  `${split}-${String(i).padStart(5, "0")}-of-${String(n).padStart(5, "0")}.jsonl`

const lines = (b: Buffer) => b.toString("utf8").split("\n").length - 1

interface ManifestFile {
  readonly split: string
  readonly path: string
  readonly rows: number
  readonly bytes: number
  readonly sha256: string
}

/**
 * Checks a sharded dataset folder against the single one (`plain`): per split with rows, `n` shards whose
 * contents (`read`: the file's lines, gunzipped when gzipped) concatenate to the split's file and differ
 * by one line at most (hf: a line per job); the manifest's files are those, counted from the files as read.
 */
const checkSharded = (dir: string, plain: string, n: number, gz: "" | ".gz") => {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"))
  const single = JSON.parse(fs.readFileSync(path.join(plain, "manifest.json"), "utf8"))
  expect(manifest.cursor).toMatch(/^gt2\./)
  expect(manifest.empty_splits).toEqual(single.empty_splits)
  expect(manifest.compression).toBe(gz === "" ? undefined : "gzip")
  const expected: Array<ManifestFile> = []
  const card = fs.readFileSync(path.join(dir, "README.md"), "utf8")
  for (const split of SPLITS) {
    const whole = path.join(plain, `${split}.jsonl`)
    const names = Array.from({ length: n }, (_, i) => `${shardName(split, i, n)}${gz}`)
    if (!fs.existsSync(whole)) {
      expect(
        names.filter((f) => fs.existsSync(path.join(dir, f))),
        split
      ).toEqual([])
      expect(card, split).not.toContain(`split: ${split}`)
      continue
    }
    const written = names.map((f) => fs.readFileSync(path.join(dir, f)))
    const contents = written.map((b) => (gz === "" ? b : zlib.gunzipSync(b)))
    expect(Buffer.concat(contents).equals(fs.readFileSync(whole)), split).toBe(true)
    const rows = contents.map(lines)
    expect(Math.max(...rows) - Math.min(...rows), split).toBeLessThanOrEqual(1)
    expected.push(
      ...names.map((f, i) => ({
        split,
        path: f,
        rows: rows[i],
        bytes: written[i].length,
        sha256: sha256(written[i])
      }))
    )
    // The card gives datasets each split once, with its shards in order but those without rows (datasets
    // fails on an empty file that another follows).
    const full = names.filter((_, i) => rows[i] > 0)
    expect(card, split).toContain(
      full.length === 1
        ? `  - split: ${split}\n    path: ${full[0]}\n`
        : `  - split: ${split}\n    path:\n${full.map((f) => `    - ${f}\n`).join("")}`
    )
  }
  expect(manifest.files).toEqual(expected)
  expect(fs.readdirSync(dir).sort()).toEqual(
    ["README.md", "features.json", "manifest.json", ...expected.map((f) => f.path)].sort()
  )
  return expected
}

/** Each split of a dataset folder as `datasets.load_dataset(DIR)` gives it: its rows, as JSON. */
const loaded = (dir: string) =>
  execFileSync(
    "python3",
    [
      "-c",
      "import sys, json; from datasets import load_dataset; d = load_dataset(sys.argv[1]); " +
        // default=str: the features declare the times as timestamps, which json cannot write as they are.
        "print(json.dumps({k: d[k].to_list() for k in sorted(d)}, default=str))",
      dir
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 256 * 1024 * 1024 }
  )
    .trim()
    .split("\n")
    .pop()

for (const target of TestDatabase.targets()) {
  const seeded = Layer.effectDiscard(Demo.seed({ jobs: 300, seed: 21 })).pipe(
    Layer.provideMerge(target.layer)
  )
  layer(seeded, { timeout: 300_000 })(`export --dataset --shards on ${target.name}`, (it) => {
    const env = Effect.map(TestDatabase.TestDatabase, (db) => ({
      DATABASE_URL: db.url,
      GROUND_TRUTH_WORKER_RANGE_ROWS: "2"
    }))
    const cli = (args: ReadonlyArray<string>) => Effect.flatMap(env, (e) => run(args, e))
    const ok = (args: ReadonlyArray<string>) =>
      Effect.map(cli(args), (r) => {
        expect(r.stderr, args.join(" ")).not.toContain("ground-truth:")
        expect(r.code, args.join(" ")).toBe(0)
        return r
      })
    // On PostgreSQL, the sharded folders are also read by 2 workers.
    const workers = target.name === "postgres" ? [[], ["--workers", "2"]] : [[]]

    it.effect("each split's shards concatenated are its file; the manifest and the card name them all", () =>
      Effect.gen(function* () {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "gt-dsshards-"))
        const flags = ["--format", "hf", "--approved-only", "false", "--split-ratios", "70,20,10"]
        const plain = path.join(root, "plain")
        yield* ok(["export", "--dataset", plain, ...flags])
        for (const w of workers) {
          const dir = path.join(root, `sharded${w.length}`)
          const r = yield* ok(["export", "--dataset", dir, "--shards", "3", ...flags, ...w])
          const files = checkSharded(dir, plain, 3, "")
          const rows = (split: string) =>
            files.filter((f) => f.split === split).reduce((n, f) => n + f.rows, 0)
          const cursor = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")).cursor
          expect(r.stderr).toBe(
            `${dir}: train ${rows("train")}, validation ${rows("validation")}, test ${rows("test")}, ` +
              `each in 3 shards at ${cursor}\n`
          )
          expect(
            fs
              .readFileSync(path.join(dir, "features.json"))
              .equals(fs.readFileSync(path.join(plain, "features.json")))
          ).toBe(true)
        }
      })
    )

    it.effect("a split of fewer jobs than shards gets empty shards; a split without jobs, no file", () =>
      Effect.gen(function* () {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "gt-dsshards-"))
        const flags = ["--format", "hf", "--split-ratios", "97,3,0"]
        const plain = path.join(root, "plain")
        yield* ok(["export", "--dataset", plain, ...flags])
        const validation = lines(fs.readFileSync(path.join(plain, "validation.jsonl")))
        expect(validation).toBeGreaterThan(0)
        expect(validation).toBeLessThan(12)
        for (const w of workers) {
          const dir = path.join(root, `sharded${w.length}`)
          yield* ok(["export", "--dataset", dir, "--shards", "12", ...flags, ...w])
          const files = checkSharded(dir, plain, 12, "")
          expect(files.filter((f) => f.split === "validation" && f.rows === 0).length).toBe(12 - validation)
          expect(files.filter((f) => f.rows === 0)[0]?.sha256).toBe(sha256(Buffer.alloc(0)))
        }
        if (datasets && target.name === "embedded") {
          expect(loaded(path.join(root, "sharded0"))).toBe(loaded(plain))
        }
      })
    )

    it.effect("--gzip: each file one gzip stream of its lines, the manifest hashing what was written", () =>
      Effect.gen(function* () {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "gt-dsshards-"))
        // A folder of shards: gunzipped in name order, the single export; the whole still described plain.
        const single = path.join(root, "corpus.jsonl")
        const singleManifest = path.join(root, "corpus.manifest.json")
        yield* ok(["export", "--out", single, "--manifest", singleManifest])
        const parts = path.join(root, "parts")
        yield* ok(["export", "--shards", "4", "--out", parts, "--gzip"])
        const names = Array.from(
          { length: 4 },
          (_, i) => `part-${String(i).padStart(5, "0")}-of-00004.jsonl.gz`
        )
        expect(fs.readdirSync(parts).sort()).toEqual(["manifest.json", ...names])
        const written = names.map((f) => fs.readFileSync(path.join(parts, f)))
        const contents = written.map((b) => zlib.gunzipSync(b))
        expect(Buffer.concat(contents).equals(fs.readFileSync(single))).toBe(true)
        const m = JSON.parse(fs.readFileSync(path.join(parts, "manifest.json"), "utf8"))
        const s = JSON.parse(fs.readFileSync(singleManifest, "utf8"))
        expect([m.rows, m.bytes, m.sha256, m.cursor === "", m.compression]).toEqual([
          s.rows,
          s.bytes,
          s.sha256,
          false,
          "gzip"
        ])
        expect(m.files).toEqual(
          names.map((f, i) => ({
            path: f,
            rows: lines(contents[i]),
            bytes: written[i].length,
            sha256: execFileSync("sha256sum", [path.join(parts, f)], { encoding: "utf8" }).split(" ")[0]
          }))
        )

        // A dataset folder, sharded and not.
        const flags = ["--format", "hf", "--split-ratios", "80,15,5"]
        const plain = path.join(root, "plain")
        yield* ok(["export", "--dataset", plain, ...flags])
        for (const w of workers) {
          const dir = path.join(root, `gz${w.length}`)
          yield* ok(["export", "--dataset", dir, "--shards", "2", "--gzip", ...flags, ...w])
          checkSharded(dir, plain, 2, ".gz")
        }
        const gzipped = path.join(root, "gzipped")
        yield* ok(["export", "--dataset", gzipped, "--gzip", ...flags])
        for (const split of SPLITS) {
          expect(
            zlib
              .gunzipSync(fs.readFileSync(path.join(gzipped, `${split}.jsonl.gz`)))
              .equals(fs.readFileSync(path.join(plain, `${split}.jsonl`))),
            split
          ).toBe(true)
        }
        if (datasets && target.name === "embedded") {
          const expected = loaded(plain)
          expect(loaded(path.join(root, "gz0"))).toBe(expected)
          expect(loaded(gzipped)).toBe(expected)
        }
      })
    )

    it.effect("what does not apply is a usage error in one line, and nothing is written", () =>
      Effect.gen(function* () {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "gt-dsshards-"))
        const dir = path.join(root, "d")
        for (const [args, line] of [
          [["--dataset", dir, "--shards", "0"], "--shards must be a whole number from 1 to 9999, not 0"],
          [
            ["--gzip"],
            "--gzip gzips the files of a folder (--shards N --out DIR, --dataset DIR): --out NAME.gz writes one file gzipped"
          ],
          [
            ["--gzip", "--out", path.join(root, "x.jsonl")],
            "--gzip gzips the files of a folder (--shards N --out DIR, --dataset DIR): --out NAME.gz writes one file gzipped"
          ],
          [
            ["--dataset", dir, "--shards", "2", "--out", path.join(root, "x")],
            "--dataset writes every split of a full export into its folder: --out does not apply"
          ]
        ] as const) {
          const r = yield* cli(["export", ...args])
          expect(r.code, line).toBe(2)
          expect(r.stderr, line).toBe(`ground-truth: ${line}\n`)
        }
        expect(fs.readdirSync(root)).toEqual([])
      })
    )
  })
}
