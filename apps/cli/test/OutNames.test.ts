/**
 * An output name must not lie about its format (issue 30): the corpus is JSON Lines, gzipped when the
 * name ends in `.gz`, Parquet when it ends in `.parquet`, so a name whose extension says another format
 * (`x.zst`, `x.csv.gz`, `x.json`, `x.parquet.gz`) is a usage error, exit 2 in one line naming the flag and
 * the extension, before anything is written or the database opened. Names that say JSON Lines, gzip
 * around it, Parquet, or nothing are written.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { describe, expect, it, layer } from "@effect/vitest"
import { Demo, TestDatabase } from "@ground-truth/db"
import { Effect, Layer } from "effect"
import { run } from "./cli.js"

// Nothing may be opened before the command line is valid: a refused name never reaches this database.
const unreachable = { DATABASE_URL: "postgres://postgres@127.0.0.1:9/none" }

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "gt-out-names-"))

/** A name, the extension the message names, and what that extension is. */
const refused: ReadonlyArray<readonly [string, string, string]> = [
  ["all.pq", ".pq", "Parquet (name it .parquet)"],
  ["all.parq", ".parq", "Parquet (name it .parquet)"],
  ["x.jsonl.gzip", ".gzip", "gzip (name it .gz)"],
  ["x.jsonl.snappy", ".snappy", "Snappy"],
  ["x.lz", ".lz", "lzip"],
  ["x.tfrecord", ".tfrecord", "TFRecord"],
  ["x.zst", ".zst", "Zstandard"],
  ["x.jsonl.zst", ".zst", "Zstandard"],
  ["x.bz2", ".bz2", "bzip2"],
  ["x.xz", ".xz", "xz"],
  ["x.zip", ".zip", "a zip archive"],
  ["x.arrow", ".arrow", "Arrow IPC"],
  ["x.feather", ".feather", "Feather"],
  ["x.csv", ".csv", "CSV"],
  ["x.tsv", ".tsv", "TSV"],
  ["x.json", ".json", "one JSON document"],
  ["x.csv.gz", ".csv", "CSV"],
  ["x.json.gz", ".json", "one JSON document"],
  ["x.tar.gz", ".tar", "a tar archive"],
  ["x.gz.gz", ".gz.gz", "gzip inside gzip"]
]

describe("an --out whose extension says another format: exit 2, one line, nothing written", () => {
  it.each(refused)("export --out %s", (name, extension, format) =>
    Effect.gen(function* () {
      const dir = tmp()
      const r = yield* run(["export", "--out", name], { ...unreachable, INIT_CWD: dir })
      expect([r.code, r.stderr]).toEqual([
        2,
        `ground-truth: --out ${name}: ${extension} is ${format}, but export writes JSON Lines: ` +
          "name it .jsonl or .ndjson (.jsonl.gz gzipped, .parquet for Parquet), or with no extension\n"
      ])
      expect(r.stdout.length).toBe(0)
      expect(fs.readdirSync(dir)).toEqual([])
    }).pipe(Effect.runPromise))

  it.each([
    [
      ["export", "--out", "x.parquet", "--manifest", "m.json"],
      "--manifest describes a corpus of lines (its bytes and SHA-256): a Parquet --out has none"
    ],
    [["export", "--out", "x.parquet.gz"], "--out x.parquet.gz: a Parquet file is compressed inside"],
    [
      ["export", "--plan", "none.json", "--shard", "0", "--out", "x.zst"],
      "--out x.zst: .zst is Zstandard, but a shard is JSON Lines: name it .jsonl or .ndjson (.jsonl.gz gzipped, " +
        ".parquet for Parquet)"
    ],
    [
      ["sync", "--out", "x.csv"],
      "--out x.csv: .csv is CSV, but sync keeps a JSON Lines corpus: name it .jsonl or .ndjson, or with no extension"
    ],
    [["merge", "--out", "x.parquet", "changes.jsonl"], "merge keeps a plain corpus, not x.parquet"],
    [["sync", "--out", "x.jsonl.GZ"], "sync keeps a plain corpus, not x.jsonl.GZ"],
    [
      ["export", "--shards", "2", "--out", "parts.parquet"],
      "--out parts.parquet: .parquet is Parquet, but it names a folder of files (--gzip gzips each of them, " +
        "--parquet writes them as Parquet): name it without that extension"
    ],
    [
      ["export", "--shards", "2", "--out", "parts.gz/"],
      "--out parts.gz/: .gz is gzip, but it names a folder"
    ],
    [
      ["export", "--dataset", "sprin.arrow"],
      "--dataset sprin.arrow: .arrow is Arrow IPC, but it names a folder"
    ]
  ])("%j", (args, message) =>
    Effect.gen(function* () {
      const dir = tmp()
      const r = yield* run(args, { ...unreachable, INIT_CWD: dir })
      expect(r.code).toBe(2)
      expect(r.stderr.startsWith(`ground-truth: ${message}`), r.stderr).toBe(true)
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1)
      expect(r.stdout.length).toBe(0)
      expect(fs.readdirSync(dir)).toEqual([])
    }).pipe(Effect.runPromise))
})

describe("an --out that says JSON Lines, gzip, Parquet or nothing passes", () => {
  // Past the name, these reach the database: the unreachable one is a runtime failure, not a usage error.
  // Gzipped too: the gzip stream used to end cleanly on the failure, and the export exited 0 with an empty
  // corpus in place of the previous one.
  it.each([
    "x.jsonl",
    "x.ndjson",
    "x.txt",
    "corpus",
    "corpus.v2",
    "x.jsonl.gz",
    "x.ndjson.gz",
    "x.gz",
    "x.parquet",
    "X.PARQUET"
  ])("export --out %s reaches the database (exit 1, no file)", (name) =>
    Effect.gen(function* () {
      const dir = tmp()
      const r = yield* run(["export", "--out", name], { ...unreachable, INIT_CWD: dir })
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr).toMatch(/^ground-truth: database error: /)
      expect(fs.readdirSync(dir)).toEqual([])
    }).pipe(Effect.runPromise))
})

const target = TestDatabase.targets()[0]
layer(Layer.effectDiscard(Demo.seed({ jobs: 20, seed: 5 })).pipe(Layer.provideMerge(target.layer)), {
  timeout: 120_000
})(`honest names are written as they say on ${target.name}`, (it) => {
  it.effect("plain JSON Lines, or gzipped when the name ends in .gz (in any case)", () =>
    Effect.gen(function* () {
      const db = yield* TestDatabase.TestDatabase
      const dir = tmp()
      const plain = yield* run(["export", "--approved-only", "false"], { DATABASE_URL: db.url })
      expect(plain.code).toBe(0)
      for (const [name, gzip] of [
        ["x.ndjson", false],
        ["corpus", false],
        ["x.txt", false],
        ["x.JSONL.GZ", true]
      ] as const) {
        const r = yield* run(["export", "--approved-only", "false", "--out", name], {
          DATABASE_URL: db.url,
          INIT_CWD: dir
        })
        expect([r.code, r.stderr], name).toEqual([0, ""])
        const bytes = fs.readFileSync(path.join(dir, name))
        expect((gzip ? zlib.gunzipSync(bytes) : bytes).equals(plain.stdout), name).toBe(true)
      }
      expect(fs.readdirSync(dir).sort()).toEqual(["corpus", "x.JSONL.GZ", "x.ndjson", "x.txt"])
    })
  )
})
