/**
 * `export --dataset DIR`: the three splits of one snapshot in one folder, each file byte-identical to
 * the per-split export of the same database, with a manifest that hashes them as sha256sum does and a
 * card that declares only the splits with rows; written atomically, and never over a folder of other
 * files. When python3 has `datasets`, the folder also loads as a DatasetDict with the declared features.
 */
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { expect, layer } from "@effect/vitest"
import { Demo, TestDatabase } from "@ground-truth/db"
import { Effect, Layer } from "effect"
import { run } from "./cli.js"
import { dead, tree } from "./files.js"

const datasets = spawnSync("python3", ["-c", "import datasets"], { stdio: "ignore" }).status === 0
if (!datasets)
  console.log("Loading check skipped: python3 with datasets is not available (.ci/run installs it)")

const sha256sum = (file: string) => execFileSync("sha256sum", [file], { encoding: "utf8" }).split(" ")[0]

for (const target of TestDatabase.targets()) {
  const seeded = Layer.effectDiscard(Demo.seed({ jobs: 300, seed: 21 })).pipe(
    Layer.provideMerge(target.layer)
  )
  layer(seeded, { timeout: 300_000 })(`export --dataset on ${target.name}`, (it) => {
    const env = Effect.map(TestDatabase.TestDatabase, (db) => ({ DATABASE_URL: db.url }))
    const cli = (args: ReadonlyArray<string>) => Effect.flatMap(env, (e) => run(args, e))

    it.effect(
      "writes each split as its own export would, a manifest that hashes them and a card of the splits with rows",
      () =>
        Effect.gen(function* () {
          const root = fs.mkdtempSync(path.join(os.tmpdir(), "gt-dataset-"))
          const dir = path.join(root, "sprin")
          const flags = ["--format", "hf", "--approved-only", "false", "--split-ratios", "70,20,10"]
          const r = yield* cli(["export", "--dataset", dir, ...flags])
          expect(r.code).toBe(0)
          expect(r.stderr.toString()).toMatch(/^.*sprin: train \d+, validation \d+, test \d+ at gt2\.\S+\n$/)
          expect(fs.readdirSync(dir).sort()).toEqual(
            [
              "README.md",
              "features.json",
              "manifest.json",
              "test.jsonl",
              "train.jsonl",
              "validation.jsonl"
            ].sort()
          )
          const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"))
          expect(manifest).toMatchObject({
            format: "hf",
            split_ratios: [70, 20, 10],
            split_seed: "",
            empty_splits: [],
            license: null
          })
          let total = 0
          for (const split of ["train", "validation", "test"]) {
            const single = path.join(root, `${split}.jsonl`)
            const e = yield* cli(["export", "--out", single, "--split", split, ...flags])
            expect(e.code).toBe(0)
            const file = path.join(dir, `${split}.jsonl`)
            expect(fs.readFileSync(file).equals(fs.readFileSync(single)), split).toBe(true)
            const lines = fs.readFileSync(file, "utf8").split("\n").length - 1
            total += lines
            expect(manifest.files.find((f: { split: string }) => f.split === split)).toEqual({
              split,
              path: `${split}.jsonl`,
              rows: lines,
              bytes: fs.statSync(file).size,
              sha256: sha256sum(file)
            })
          }
          const all = yield* cli(["export", "--format", "hf", "--approved-only", "false"])
          expect(total).toBe(all.stdout.toString().split("\n").length - 1)
          const card = fs.readFileSync(path.join(dir, "README.md"), "utf8")
          expect(
            card.startsWith('---\npretty_name: "Surat Perintah extractions (ground-truth export)"\n')
          ).toBe(true)
          expect(card).toContain("\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n")
          expect(card).toContain("dataset_info:\n  features:\n  - name: job_id\n    dtype: string\n")
          expect(card).toContain(`cursor \`${manifest.cursor}\``)
          // Every job, approved or not: the card says so, and that no license was set.
          expect(card).toContain("**This dataset includes jobs no reviewer approved**")
          expect(card).toContain('license: "other"')
          expect(card).toContain("No license was set for this export")
          expect(card).toContain("## Personal data")
          expect(JSON.parse(fs.readFileSync(path.join(dir, "features.json"), "utf8")).corrections._type).toBe(
            "List"
          )
          // `features` prints the same file, for loading single exports; jsonl has none.
          const printed = yield* cli(["features"])
          expect(printed.stdout.equals(fs.readFileSync(path.join(dir, "features.json")))).toBe(true)
          const none = yield* cli(["features", "--format", "jsonl"])
          expect([none.code, none.stderr.toString()]).toEqual([
            2,
            "ground-truth: jsonl declares no features: its results are any JSON value, which Arrow re-types; " +
              "export --format hf to load the samples with datasets\n"
          ])

          // A split without rows has no file and is left out of the card; the old folder is replaced.
          const again = yield* cli([
            "export",
            "--dataset",
            dir,
            "--format",
            "messages",
            "--split-ratios",
            "1,0,0",
            "--license",
            "cc-by-nc-4.0"
          ])
          expect(again.code).toBe(0)
          expect(fs.readdirSync(dir).sort()).toEqual([
            "README.md",
            "features.json",
            "manifest.json",
            "train.jsonl"
          ])
          const second = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"))
          expect(second.empty_splits).toEqual(["validation", "test"])
          expect(second.license).toBe("cc-by-nc-4.0")
          const secondCard = fs.readFileSync(path.join(dir, "README.md"), "utf8")
          expect(secondCard).toContain("Every job here was approved by a reviewer")
          expect(secondCard).toContain('license: "cc-by-nc-4.0"')
          expect(secondCard).not.toContain("split: validation")
          expect(secondCard).toContain("No rows in validation, test")
          // Nothing else was left beside it.
          expect(fs.readdirSync(root).sort()).toEqual([
            "sprin",
            "test.jsonl",
            "train.jsonl",
            "validation.jsonl"
          ])

          if (datasets && target.name === "embedded") {
            const out = execFileSync(
              "python3",
              [
                "-c",
                "import sys, json, os; from datasets import load_dataset; from huggingface_hub import DatasetCard; " +
                  "d = load_dataset(sys.argv[1]); c = DatasetCard.load(os.path.join(sys.argv[1], 'README.md')).data; " +
                  "print(json.dumps({'splits': {k: [d[k].num_rows, sorted(d[k].column_names)] for k in d}, " +
                  "'card': {k: c.to_dict()[k] for k in ('pretty_name', 'language', 'license', 'tags', 'size_categories')}}))",
                dir
              ],
              { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }
            )
            const rows = fs.readFileSync(path.join(dir, "train.jsonl"), "utf8").split("\n").length - 1
            expect(JSON.parse(out.trim().split("\n").pop() ?? "")).toEqual({
              splits: { train: [rows, ["job_id", "messages"]] },
              card: {
                pretty_name: "Surat Perintah extractions (ground-truth export)",
                language: ["id"],
                license: "cc-by-nc-4.0",
                tags: ["ocr", "information-extraction", "personal-data"],
                size_categories: ["n<1K"]
              }
            })
          }
        }),
      300_000
    )

    it.effect(
      "export --out NAME.gz writes the corpus gzipped; its manifest describes the corpus itself",
      () =>
        Effect.gen(function* () {
          const root = fs.mkdtempSync(path.join(os.tmpdir(), "gt-gzip-"))
          const plain = path.join(root, "corpus.jsonl")
          const packed = path.join(root, "corpus.jsonl.gz")
          const manifest = path.join(root, "corpus.manifest.json")
          expect((yield* cli(["export", "--format", "hf", "--out", plain])).code).toBe(0)
          const r = yield* cli(["export", "--format", "hf", "--out", packed, "--manifest", manifest])
          expect(r.code).toBe(0)
          const bytes = fs.readFileSync(packed)
          expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b])
          expect(zlib.gunzipSync(bytes).equals(fs.readFileSync(plain))).toBe(true)
          expect(bytes.length).toBeLessThan(fs.statSync(plain).size / 4)
          const m = JSON.parse(fs.readFileSync(manifest, "utf8"))
          expect([m.bytes, m.sha256]).toEqual([fs.statSync(plain).size, sha256sum(plain)])
          if (datasets && target.name === "embedded") {
            const out = execFileSync(
              "python3",
              [
                "-c",
                "import sys; from datasets import load_dataset; print(load_dataset('json', data_files=sys.argv[1], split='train').num_rows)",
                packed
              ],
              { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }
            )
            expect(Number(out.trim().split("\n").pop())).toBe(m.rows)
          }
        }),
      120_000
    )

    it.effect(
      "refuses flags that do not apply, and a folder that holds other files, changing nothing",
      () =>
        Effect.gen(function* () {
          const root = fs.mkdtempSync(path.join(os.tmpdir(), "gt-dataset-"))
          for (const [flag, value] of [
            ["--out", "x.jsonl"],
            ["--manifest", "m.json"],
            ["--split", "train"],
            ["--changed-since", "gt1.1.2.0123456789ab.0a1b2c3d.00000000"]
          ]) {
            const r = yield* cli(["export", "--dataset", path.join(root, "d"), flag, value])
            expect(r.code, flag).toBe(2)
            expect(r.stderr.toString(), flag).toBe(
              `ground-truth: --dataset writes every split of a full export into its folder: ${flag} does not apply\n`
            )
          }
          // A license that is no short SPDX-like id, or one without a dataset folder to name it.
          for (const [args, line] of [
            [
              ["--dataset", path.join(root, "d"), "--license", "CC BY 4.0"],
              '--license must be a short SPDX-like id (letters, digits, ., - and +, at most 64: cc-by-nc-4.0, Apache-2.0, other), not "CC BY 4.0"'
            ],
            [
              ["--out", path.join(root, "x.jsonl"), "--license", "mit"],
              "--license names the license of a dataset folder's card: give the folder with --dataset DIR"
            ]
          ] as const) {
            const r = yield* cli(["export", ...args])
            expect([r.code, r.stderr.toString()]).toEqual([2, `ground-truth: ${line}\n`])
          }
          const mine = path.join(root, "mine")
          fs.mkdirSync(mine)
          fs.writeFileSync(path.join(mine, "notes.txt"), "keep me")
          const r = yield* cli(["export", "--dataset", mine])
          expect(r.code).toBe(1)
          expect(r.stderr.toString()).toBe(
            `ground-truth: ${mine} holds other files and no manifest.json: not a dataset folder to replace\n`
          )
          expect(fs.readdirSync(mine)).toEqual(["notes.txt"])
          expect(fs.readdirSync(root).sort()).toEqual(["mine"])
        }),
      120_000
    )

    it.effect(
      "--dataset through a symbolic link: the folder it names is replaced beside itself, the link stays; a new folder is 0700 (files 0600), a replaced one keeps its mode",
      () =>
        Effect.gen(function* () {
          const root = fs.mkdtempSync(path.join(os.tmpdir(), "gt-dataset-"))
          fs.mkdirSync(path.join(root, "store"))
          fs.symlinkSync("store/sprin-v1", path.join(root, "sprin"))
          const real = path.join(root, "store", "sprin-v1")
          /** The folder's permission bits (under "") and each file's. */
          const modes = () =>
            Object.fromEntries(
              ["", ...fs.readdirSync(real)].map((n) => [n, fs.statSync(path.join(real, n)).mode & 0o777])
            )
          const expectModes = (folder: number, file: number) =>
            expect(modes()).toEqual(
              Object.fromEntries(Object.keys(modes()).map((n) => [n, n === "" ? folder : file]))
            )
          expect((yield* cli(["export", "--dataset", path.join(root, "sprin")])).code).toBe(0)
          expect(fs.readdirSync(real)).toContain("manifest.json")
          expectModes(0o700, 0o600)
          fs.chmodSync(real, 0o755)
          const again = yield* cli(["export", "--dataset", path.join(root, "sprin"), "--format", "messages"])
          expect(again.code).toBe(0)
          expect(JSON.parse(fs.readFileSync(path.join(real, "manifest.json"), "utf8")).format).toBe(
            "messages"
          )
          expectModes(0o755, 0o644)
          expect(fs.readlinkSync(path.join(root, "sprin"))).toBe("store/sprin-v1")
          expect(fs.readdirSync(root).sort()).toEqual(["sprin", "store"])
          expect(fs.readdirSync(path.join(root, "store"))).toEqual(["sprin-v1"])
        }),
      300_000
    )

    it.effect(
      "an export --dataset killed at any point: the next run puts the folder back or clears what was left, even when it then fails",
      () =>
        Effect.gen(function* () {
          const root = fs.mkdtempSync(path.join(os.tmpdir(), "gt-dataset-"))
          const made = path.join(root, "made")
          fs.mkdirSync(made)
          // The folder before (A) and the one the killed run was writing (B).
          expect((yield* cli(["export", "--dataset", path.join(made, "a"), "--format", "hf"])).code).toBe(0)
          expect(
            (yield* cli([
              "export",
              "--dataset",
              path.join(made, "b"),
              "--format",
              "messages",
              "--split-ratios",
              "1,0,0"
            ])).code
          ).toBe(0)
          const A = path.join(made, "a")
          const B = path.join(made, "b")
          const partial = `.sprin.${dead}.partial`
          const copy = (from: string, to: string, without: ReadonlyArray<string> = []) => {
            fs.cpSync(from, to, { recursive: true })
            for (const name of without) fs.rmSync(path.join(to, name))
          }
          // What a run killed by SIGKILL leaves at each point: it writes the new folder beside DIR (the
          // manifest last), moves DIR aside, moves the new one in, then removes the old one.
          const states: ReadonlyArray<readonly [string, (dir: string) => void, string]> = [
            [
              "writing the new folder",
              (dir) => {
                copy(A, path.join(dir, "sprin"))
                copy(B, path.join(dir, partial), ["manifest.json", "README.md"])
              },
              A
            ],
            [
              "before the first rename",
              (dir) => {
                copy(A, path.join(dir, "sprin"))
                copy(B, path.join(dir, partial))
              },
              A
            ],
            [
              "between the two renames",
              (dir) => {
                copy(B, path.join(dir, partial))
                copy(A, path.join(dir, `${partial}.old`))
              },
              A
            ],
            [
              "after the second rename",
              (dir) => {
                copy(B, path.join(dir, "sprin"))
                copy(A, path.join(dir, `${partial}.old`))
              },
              B
            ],
            [
              "removing the old folder",
              (dir) => {
                copy(B, path.join(dir, "sprin"))
                copy(A, path.join(dir, `${partial}.old`), ["train.jsonl", "manifest.json"])
              },
              B
            ],
            [
              "two runs, each between its two renames: the folder moved aside last comes back",
              (dir) => {
                copy(B, path.join(dir, "first"))
                copy(A, path.join(dir, "last"))
                fs.renameSync(path.join(dir, "first"), path.join(dir, `.sprin.${dead - 1}.partial.old`))
                // Renaming sets a folder's change time; a tick of the file system's clock between them.
                execFileSync("sleep", ["0.1"])
                fs.renameSync(path.join(dir, "last"), path.join(dir, `${partial}.old`))
              },
              A
            ]
          ]
          for (const [point, lay, expected] of states) {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-dataset-"))
            lay(dir)
            const sprin = path.join(dir, "sprin")
            // The database unreachable: the export fails, after the folder is back.
            const failed = yield* run(["export", "--dataset", sprin], {
              DATABASE_URL: "postgres://postgres@127.0.0.1:9/none"
            })
            expect(failed.code, point).toBe(1)
            expect(failed.stderr.trimEnd().split("\n").pop(), point).toMatch(
              /^ground-truth: database error: /
            )
            expect(fs.readdirSync(dir), point).toEqual(["sprin"])
            expect(tree(sprin), point).toEqual(tree(expected))
            const r = yield* cli(["export", "--dataset", sprin])
            expect(r.code, point).toBe(0)
            expect(fs.readdirSync(dir), point).toEqual(["sprin"])
            expect(JSON.parse(fs.readFileSync(path.join(sprin, "manifest.json"), "utf8")).format, point).toBe(
              "jsonl"
            )
          }
        }),
      300_000
    )
  })
}
