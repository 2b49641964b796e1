/**
 * Parquet folders through the CLI, on every test database: each file of `--shards N --out DIR --parquet`
 * and of `--dataset DIR --parquet [--shards N]` is byte for byte the Parquet file of the same folder's
 * JSON lines file (the lines `Parquet.source` names: `hf` for `jsonl`), so a folder holds the golden
 * jobs in the golden shards; the manifest names the files as written (`sha256sum`'s hashes, the samples
 * they hold, `file_format: parquet`), and the card declares no features (each file declares its schema).
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { expect, layer } from "@effect/vitest"
import { type Format, Parquet } from "@ground-truth/core"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Chunk, Effect, Layer, Stream } from "effect"
import { run } from "./cli.js"

/** The cases: the sample (written as hf) and two training formats, over every job. */
const cases: ReadonlyArray<readonly [Format.Format, Format.Format]> = [
  ["jsonl", "hf"],
  ["messages", "messages"],
  ["preference", "preference"]
]

const encoded = (format: Format.Format, lines: Buffer) =>
  Stream.make(new Uint8Array(lines)).pipe(
    Parquet.encode(format),
    Stream.runCollect,
    Effect.map((chunks) => Buffer.concat(Chunk.toArray(chunks)))
  )

const sha256sum = (file: string) => execFileSync("sha256sum", [file], { encoding: "utf8" }).split(" ")[0]

/**
 * `parquet` (a folder of .parquet files) against `lines` (the same export as JSON lines): every lines file
 * has its Parquet file, and the manifest describes the files as written.
 */
const sameFolder = (parquet: string, lines: string, format: Format.Format) =>
  Effect.gen(function* () {
    const manifest = JSON.parse(fs.readFileSync(path.join(parquet, "manifest.json"), "utf8"))
    const plain = JSON.parse(fs.readFileSync(path.join(lines, "manifest.json"), "utf8"))
    expect(manifest.file_format).toBe("parquet")
    expect(manifest.format).toBe(format)
    expect(manifest.files.length).toBe(plain.files.length)
    expect(manifest.files.length).toBeGreaterThan(0)
    for (const [i, file] of plain.files.entries()) {
      const name = file.path.replace(/\.jsonl$/, ".parquet")
      const written = fs.readFileSync(path.join(parquet, name))
      expect(written.equals(yield* encoded(format, fs.readFileSync(path.join(lines, file.path)))), name).toBe(
        true
      )
      expect(manifest.files[i]).toEqual({
        ...file,
        path: name,
        bytes: written.length,
        sha256: sha256sum(path.join(parquet, name))
      })
    }
    expect(fs.existsSync(path.join(parquet, "features.json"))).toBe(false)
  })

for (const target of TestDatabase.targets()) {
  const fixture = Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer))
  layer(fixture, { timeout: 300_000 })(`Parquet folders on ${target.name}`, (it) => {
    const env = Effect.map(TestDatabase.TestDatabase, (db) => ({ DATABASE_URL: db.url }))
    const exported = (args: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        const r = yield* run(["export", "--approved-only", "false", ...args], yield* env)
        expect(r.code, r.stderr).toBe(0)
      })

    it.effect(
      "--shards 3 --parquet: each part is the Parquet file of that part's lines",
      () =>
        Effect.gen(function* () {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-parquet-shards-"))
          for (const [format, source] of cases) {
            const parquet = path.join(dir, `${format}-parquet`)
            const lines = path.join(dir, `${format}-lines`)
            yield* exported(["--format", format, "--shards", "3", "--out", parquet, "--parquet"])
            yield* exported(["--format", source, "--shards", "3", "--out", lines])
            yield* sameFolder(parquet, lines, source)
            expect(fs.readdirSync(parquet).sort()).toEqual([
              "manifest.json",
              "part-00000-of-00003.parquet",
              "part-00001-of-00003.parquet",
              "part-00002-of-00003.parquet"
            ])
          }
          fs.rmSync(dir, { recursive: true, force: true })
        }),
      300_000
    )

    it.effect(
      "--dataset --parquet, whole and in 2 shards a split: each file is the Parquet file of its lines; the card names them",
      () =>
        Effect.gen(function* () {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-parquet-dataset-"))
          for (const [format, source] of cases) {
            for (const shards of [[], ["--shards", "2"]]) {
              const parquet = path.join(dir, `${format}-${shards.length}-parquet`)
              const lines = path.join(dir, `${format}-${shards.length}-lines`)
              yield* exported(["--format", format, "--dataset", parquet, "--parquet", ...shards])
              yield* exported(["--format", source, "--dataset", lines, ...shards])
              yield* sameFolder(parquet, lines, source)
              const card = fs.readFileSync(path.join(parquet, "README.md"), "utf8")
              expect(card).not.toContain("dataset_info:")
              expect(card).toContain(
                shards.length === 0 ? "path: train.parquet" : "- train-00000-of-00002.parquet"
              )
            }
          }
          fs.rmSync(dir, { recursive: true, force: true })
        }),
      300_000
    )

    it.effect(
      "--parquet refuses --gzip and a single file; .parquet.gz and --manifest beside a Parquet --out are refused",
      () =>
        Effect.gen(function* () {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-parquet-usage-"))
          const refused = [
            [["--dataset", path.join(dir, "d"), "--parquet", "--gzip"], "--gzip and --parquet"],
            [
              ["--out", path.join(dir, "x.parquet"), "--parquet"],
              "--out NAME.parquet writes one Parquet file"
            ],
            [["--out", path.join(dir, "x.parquet.gz")], "a Parquet file is compressed inside"],
            [["--out", path.join(dir, "x.parquet"), "--manifest", path.join(dir, "m.json")], "--manifest"]
          ] as const
          for (const [args, message] of refused) {
            const r = yield* run(["export", ...args], yield* env)
            expect(r.code, args.join(" ")).toBe(2)
            expect(r.stderr).toContain(message)
          }
          expect(fs.readdirSync(dir)).toEqual([])
          fs.rmSync(dir, { recursive: true, force: true })
        })
    )
  })
}
