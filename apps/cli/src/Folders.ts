/**
 * Dataset folders and sharded exports: the files a folder holds, and how they are written from one
 * snapshot.
 */
import { DatasetCard, Export, Features, Filter, Manifest, Parquet, Plan, Split } from "@ground-truth/core"
import { Console, Effect, Option, Schema, Stream } from "effect"
import { type FolderFlags, flag, outputTarget, parameters, UsageError, withDatabase } from "./Flags.js"
import * as Output from "./Output.js"

/**
 * A folder's `features.json` (the format's `datasets` features), where the format has them (not jsonl) and
 * the files do not declare their own (Parquet).
 */
const featuresFile = (filter: Filter.Filter, parquet: boolean): ReadonlyArray<readonly [string, string]> => {
  const { format, input } = Filter.output(filter)
  const features = Features.json(format, input)
  return features === undefined || parquet ? [] : [["features.json", features]]
}

/**
 * How a folder's files are written from their lines (`format`'s): `.jsonl.gz` gzipped (`--gzip`),
 * `.parquet` as Parquet (`--parquet`), else as they are. `name` turns a file's name as lines
 * (`train.jsonl`) into its name as written; `file` a manifest's entry into the file as written (its
 * bytes and SHA-256 those of that file, its rows still the samples it holds).
 */
const folderFiles = (flags: FolderFlags, filter: Filter.Filter) => {
  const name = (lines: string) =>
    flags.parquet
      ? `${lines.slice(0, -".jsonl".length)}${Parquet.extension}`
      : flags.gzip
        ? `${lines}.gz`
        : lines
  return {
    name,
    encoder: flags.parquet
      ? Parquet.writer(filter.format, Filter.output(filter).input)
      : flags.gzip
        ? Output.gzipEncoder
        : undefined,
    file:
      (written: ReadonlyMap<string, Output.Written>) =>
      <F extends { readonly path: string; readonly bytes: number; readonly sha256: string }>(file: F): F => {
        const path = name(file.path)
        return { ...file, path, ...written.get(path) }
      },
    /** What the manifest says of the files, when they are not the lines. */
    marks: {
      ...(flags.gzip ? { compression: "gzip" as const } : {}),
      ...(flags.parquet ? { file_format: "parquet" as const } : {})
    }
  }
}

/** A folder's files are gzipped lines or Parquet, not both; a single file is picked by its name. */
const folderEncoding = (flags: FolderFlags): Effect.Effect<void, UsageError> =>
  flags.gzip && flags.parquet
    ? Effect.fail(
        new UsageError({
          message: "--gzip and --parquet: a Parquet file is compressed inside; give one of them"
        })
      )
    : Effect.void

/** The number `--shards` names: a whole number from 1 to `Plan.MAX_SHARDS`. */
export const shardCount = (count: number): Effect.Effect<number, UsageError> =>
  Number.isInteger(count) && count >= 1 && count <= Plan.MAX_SHARDS
    ? Effect.succeed(count)
    : Effect.fail(
        new UsageError({
          message: `--shards must be a whole number from 1 to ${Plan.MAX_SHARDS}, not ${count}`
        })
      )

/**
 * `export --dataset DIR`: the three splits of one snapshot, their card, features and manifest; with
 * `--shards N`, each split's file cut into N of as many of its jobs (contract §15).
 */
export const exportDataset = (
  dir: string,
  flags: FolderFlags,
  workers: number,
  shards: Option.Option<number>,
  license: Option.Option<string>
) =>
  Effect.gen(function* () {
    for (const [given, name] of [
      [flags.out, "--out"],
      [flags.manifest, "--manifest"],
      [flags.split ?? Option.none(), "--split"],
      [flags.changedSince ?? Option.none(), "--changed-since"]
    ] as const) {
      if (Option.isSome(given)) {
        return yield* new UsageError({
          message: `--dataset writes every split of a full export into its folder: ${name} does not apply`
        })
      }
    }
    yield* folderEncoding(flags)
    const count = Option.isSome(shards) ? yield* shardCount(shards.value) : undefined
    if (Option.isSome(license) && !Schema.is(DatasetCard.License)(license.value)) {
      return yield* new UsageError({
        message:
          `--license must be a short SPDX-like id (letters, digits, ., - and +, at most 64: cc-by-nc-4.0, ` +
          `Apache-2.0, other), not ${JSON.stringify(license.value)}`
      })
    }
    // The split flags are read as --split's are; the dataset holds all three.
    const parsed = yield* Filter.parse([...parameters(flags), ["split", "train"]], { label: flag })
    const splitting: Split.Splitting = Option.getOrElse(parsed.split, () => Split.defaultSplitting)
    const filter: Filter.Filter = Parquet.madeFrom({ ...parsed, split: Option.none() }, flags.parquet)
    yield* Output.folderName("--dataset", dir)
    const written = folderFiles(flags, filter)
    const target = yield* outputTarget("--dataset", dir, "folder")
    yield* Output.recoverDataset(target)
    yield* withDatabase(
      Effect.gen(function* () {
        const exporter = yield* Export.Export
        const { stream, manifest } = yield* exporter.dataset(filter, splitting, count)
        yield* Output.toDataset(
          target,
          Stream.map(stream, (part) => ({
            file: written.name(Manifest.splitPath(part.split, part.shard, count)),
            bytes: part.bytes
          })),
          (files) =>
            Effect.map(manifest, (plain) => {
              const m = Manifest.DatasetManifest.make({
                ...plain,
                ...(written.encoder === undefined
                  ? {}
                  : {
                      files: plain.files.map((f) => Manifest.SplitFile.make(written.file(files)(f))),
                      ...written.marks
                    }),
                license: Option.getOrNull(license)
              })
              return [
                ["manifest.json", `${JSON.stringify(m)}\n`] as const,
                ["README.md", DatasetCard.render(m)] as const,
                ...featuresFile(filter, flags.parquet)
              ]
            }),
          written.encoder === undefined ? {} : { encoder: written.encoder }
        )
        const m = yield* manifest
        const rows = (split: Split.Name) => m.files.reduce((n, f) => (f.split === split ? n + f.rows : n), 0)
        const splits = Split.Name.literals.filter((split) => !m.empty_splits.includes(split))
        yield* Console.error(
          `${dir}: ${splits.map((split) => `${split} ${rows(split)}`).join(", ")}` +
            `${count === undefined ? "" : `, each in ${count} shard${count === 1 ? "" : "s"}`}` +
            `${m.empty_splits.length === 0 ? "" : ` (no rows: ${m.empty_splits.join(", ")})`} at ${m.cursor}`
        )
      }),
      { prepare: true, workers }
    )
  })

/**
 * `export --shards N --out DIR`: a full export cut into N files of as many jobs, from one snapshot, in a
 * folder with their manifest (contract §15).
 */
export const exportShards = (given: number, flags: FolderFlags, workers: number) =>
  Effect.gen(function* () {
    const count = yield* shardCount(given)
    if (Option.isSome(flags.changedSince ?? Option.none())) {
      return yield* new UsageError({ message: "--shards cuts a full export: --changed-since does not apply" })
    }
    if (Option.isSome(flags.manifest)) {
      return yield* new UsageError({
        message:
          "--shards writes its manifest into the --out folder (manifest.json): --manifest does not apply"
      })
    }
    const dir = Option.getOrElse(flags.out, () => "-")
    if (dir === "-") {
      return yield* new UsageError({
        message: "--shards writes a folder of files: --out names that folder, not standard output"
      })
    }
    yield* Output.folderName("--out", dir)
    yield* folderEncoding(flags)
    const parsed = yield* Filter.parse(parameters(flags), { label: flag })
    const filter = Parquet.madeFrom(parsed, flags.parquet)
    const written = folderFiles(flags, filter)
    const target = yield* outputTarget("--out", dir, "folder")
    yield* Output.recoverDataset(target)
    yield* withDatabase(
      Effect.gen(function* () {
        const exporter = yield* Export.Export
        const { stream, manifest } = yield* exporter.shards(filter, count)
        yield* Output.toDataset(
          target,
          Stream.map(stream, ({ shard, bytes }) => ({
            file: written.name(Manifest.shardPath("part", shard, count)),
            bytes
          })),
          // The format's features beside the shards: a shard of a few jobs may hold a column that is null
          // throughout, whose type datasets cannot guess from that file (a Parquet file declares its own).
          (files) =>
            Effect.map(manifest, (plain) => {
              // Encoded, the whole's rows, bytes and SHA-256 still describe the lines; each file is as written.
              const m =
                written.encoder === undefined
                  ? plain
                  : Manifest.Manifest.make({
                      ...plain,
                      files: (plain.files ?? []).map((f) => Manifest.ShardFile.make(written.file(files)(f))),
                      ...written.marks
                    })
              return [["manifest.json", Manifest.encode(m)] as const, ...featuresFile(filter, flags.parquet)]
            }),
          written.encoder === undefined ? {} : { encoder: written.encoder }
        )
        const m = yield* manifest
        yield* Console.error(
          `${dir}: ${m.rows} rows in ${count} shard${count === 1 ? "" : "s"} at ${m.cursor}`
        )
      }),
      { prepare: true, workers }
    )
  })
