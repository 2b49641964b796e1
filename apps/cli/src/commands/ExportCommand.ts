/**
 * `export`: a corpus, a dataset folder, shards, or a plan's shard.
 */
import { Command, Options } from "@effect/cli"
import { Export, Filter, Manifest, Parquet } from "@ground-truth/core"
import { Console, Effect, Option, Stream } from "effect"
import {
  distinct,
  exportFlags,
  flag,
  outOption,
  outputTarget,
  parameters,
  UsageError,
  withDatabase,
  workerCount,
  workersOption
} from "../Flags.js"
import { exportDataset, exportShards } from "../Folders.js"
import * as Output from "../Output.js"
import { exportPlanShard } from "./PlanCommand.js"

export const exportCommand = Command.make(
  "export",
  {
    out: outOption(
      "corpus",
      " A name ending in .gz is written gzipped (datasets reads .jsonl.gz as it is); the manifest still " +
        "describes the uncompressed corpus (zcat PATH | sha256sum). A name ending in .parquet is written as one " +
        "Parquet file with a declared schema (jsonl as hf: results as JSON text, times timestamp[us, tz=UTC], " +
        "corrections a list of structs; the training formats as lists of role and content), which pyarrow, " +
        "DuckDB, polars and datasets read with those types; not with --manifest. A name whose extension says another format (.csv, .json, .zst, .zip…) is refused."
    ),
    manifest: Options.text("manifest").pipe(
      Options.withPseudoName("PATH"),
      Options.withDescription(
        "Also write the export's manifest to this file (- for standard output, with --out) once the corpus " +
          "is complete, and before it replaces --out: parameters, snapshot time, rows, bytes and the SHA-256 " +
          "of the corpus (equal to sha256sum of the --out file)."
      ),
      Options.optional
    ),
    dataset: Options.text("dataset").pipe(
      Options.withPseudoName("DIR"),
      Options.withDescription(
        "Write a dataset folder instead: train.jsonl, validation.jsonl and test.jsonl (a split without rows gets " +
          "no file) from one snapshot, split by --split-ratios and --split-seed, with a dataset card (README.md: " +
          "the splits and the format's features, so datasets.load_dataset(DIR) gives a DatasetDict), " +
          "features.json and manifest.json (each file's rows, bytes and SHA-256, the cursor, the filters). " +
          "DIR is replaced only once complete, and only if it is a dataset folder or empty (a symbolic link is " +
          "followed to the folder it names); a run that was killed while replacing it is undone by the next."
      ),
      Options.optional
    ),
    workers: workersOption,
    plan: Options.text("plan").pipe(
      Options.withPseudoName("PATH"),
      Options.withDescription(
        "Write one shard of a plan (ground-truth plan --shards N --out PATH), from the snapshot the plan holds, " +
          "with the plan's filters and format: on any machine that reaches the database. With --shard I."
      ),
      Options.optional
    ),
    shard: Options.integer("shard").pipe(
      Options.withPseudoName("I"),
      Options.withDescription("With --plan: the shard to write, from 0 to N-1."),
      Options.optional
    ),
    shards: Options.integer("shards").pipe(
      Options.withPseudoName("N"),
      Options.withDescription(
        "Cut the export into N files of as many jobs, from one snapshot: --out then names a folder, which gets " +
          "part-00000-of-0000N.jsonl … (the names datasets reads as shards; concatenated in name order they are " +
          "the export's bytes), manifest.json (the whole's rows, bytes and SHA-256, each file's, one cursor) and, " +
          "but for jsonl, features.json (the format's datasets features, for Features.from_dict). " +
          "With --dataset, each split's file is cut so, into train-00000-of-0000N.jsonl … (N of as many of the " +
          "split's jobs), the card naming them all. The folder is replaced only once complete. A full export: " +
          "not with --changed-since."
      ),
      Options.optional
    ),
    license: Options.text("license").pipe(
      Options.withPseudoName("ID"),
      Options.withDescription(
        "With --dataset: the license its card (license:) and manifest name, a short SPDX-like id (cc-by-nc-4.0, " +
          "Apache-2.0, other). Unset, the card says other and that none was set, and whom to ask. Whatever the " +
          "license, the card says the dataset holds personal data (names and NRPs) not to be published."
      ),
      Options.optional
    ),
    gzip: Options.boolean("gzip").pipe(
      Options.withDescription(
        "Gzip each file of a folder output (--shards N --out DIR, --dataset DIR): part-00000-of-0000N.jsonl.gz, " +
          "train.jsonl.gz … (datasets reads them as they are; decompressed and concatenated in name order they " +
          "are the plain files' bytes). manifest.json then says compression gzip, and gives each file's bytes " +
          "and SHA-256 as written (sha256sum FILE.gz), its rows the lines it holds. A single file is gzipped " +
          "by its name instead: --out NAME.gz."
      )
    ),
    parquet: Options.boolean("parquet").pipe(
      Options.withDescription(
        "Write each file of a folder output (--shards N --out DIR, --dataset DIR) as Parquet: part-00000-of-0000N.parquet, " +
          "train.parquet … (the format's samples with a declared schema, jsonl as hf; datasets.load_dataset(DIR) " +
          "reads the folder). manifest.json then says file_format parquet, and gives each file's bytes and SHA-256 " +
          "as written, its rows the samples it holds. A single file is Parquet by its name instead: --out NAME.parquet."
      )
    ),
    ...exportFlags
  },
  (flags) =>
    Effect.gen(function* () {
      if (Option.isSome(flags.license) && Option.isNone(flags.dataset)) {
        return yield* new UsageError({
          message:
            "--license names the license of a dataset folder's card: give the folder with --dataset DIR"
        })
      }
      if (Option.isSome(flags.plan)) return yield* exportPlanShard(flags.plan.value, flags.shard, flags)
      if (Option.isSome(flags.shard)) {
        return yield* new UsageError({
          message: "--shard names a shard of a plan: give the plan with --plan PATH"
        })
      }
      const workers = yield* workerCount(flags.workers)
      if (Option.isSome(flags.dataset)) {
        return yield* exportDataset(flags.dataset.value, flags, workers, flags.shards, flags.license)
      }
      if (Option.isSome(flags.shards)) return yield* exportShards(flags.shards.value, flags, workers)
      if (flags.gzip || flags.parquet) {
        return yield* new UsageError({
          message: flags.gzip
            ? "--gzip gzips the files of a folder (--shards N --out DIR, --dataset DIR): " +
              "--out NAME.gz writes one file gzipped"
            : "--parquet writes the files of a folder as Parquet (--shards N --out DIR, --dataset DIR): " +
              "--out NAME.parquet writes one Parquet file"
        })
      }
      const out = Option.getOrElse(flags.out, () => "-")
      const parsed = yield* Filter.parse(parameters(flags), { label: flag })
      const encoding =
        out === "-" ? "lines" : yield* Output.corpusName("--out", out, "export writes JSON Lines")
      const filter = Parquet.madeFrom(parsed, encoding === "parquet")
      if (encoding === "parquet" && Option.isSome(flags.manifest)) {
        return yield* new UsageError({
          message:
            `--manifest describes a corpus of lines (its bytes and SHA-256): a Parquet --out has none; ` +
            "sha256sum the file, or export the lines with their manifest"
        })
      }
      if (out === "-" && Option.contains(flags.manifest, "-")) {
        return yield* new UsageError({
          message: "--manifest - needs --out PATH: standard output holds the corpus"
        })
      }
      const outFile = out === "-" ? undefined : yield* outputTarget("--out", out)
      const manifestFile =
        Option.isNone(flags.manifest) || flags.manifest.value === "-"
          ? undefined
          : yield* outputTarget("--manifest", flags.manifest.value)
      if (outFile !== undefined && manifestFile !== undefined) {
        yield* distinct(["--out", outFile], ["--manifest", manifestFile])
      }
      const corpusTo = <E, R>(stream: Stream.Stream<Uint8Array, E, R>) =>
        outFile === undefined
          ? Output.toStdout(stream)
          : Output.toFile(outFile, Output.encoded(outFile, encoding, stream, Filter.output(filter)))
      const run = Effect.gen(function* () {
        const exporter = yield* Export.Export
        if (Option.isNone(flags.manifest) && Option.isNone(filter.changedSince)) {
          return yield* corpusTo(Output.withProgress(exporter.stream(filter), "exported"))
        }
        if (Option.isNone(flags.manifest)) {
          // An increment's removals live in its manifest: without one, say that there are some.
          const { stream, manifest } = yield* exporter.withManifest(filter)
          yield* corpusTo(Output.withProgress(stream, "exported"))
          const { removed } = yield* manifest
          if (removed.length > 0) {
            yield* Console.error(
              `ground-truth: ${removed.length} changed job${removed.length === 1 ? " has" : "s have"} no line ` +
                "in this increment; --manifest PATH lists them (removed), to drop from the corpus it continues"
            )
          }
          return
        }
        const { stream, manifest } = yield* exporter.withManifest(filter)
        const writeManifest = Effect.flatMap(manifest, (m) => {
          const bytes = Stream.make(new TextEncoder().encode(Manifest.encode(m)))
          return manifestFile === undefined ? Output.toStdout(bytes) : Output.toFile(manifestFile, bytes)
        })
        const progress = Output.withProgress(stream, "exported")
        // A manifest that cannot be written leaves the previous corpus in place, not one it does not describe.
        yield* outFile === undefined
          ? Effect.zipRight(Output.toStdout(progress), writeManifest)
          : Output.toFile(
              outFile,
              Output.encoded(outFile, encoding, progress, Filter.output(filter)),
              writeManifest
            )
      })
      yield* withDatabase(run, { prepare: true, workers })
    })
).pipe(
  Command.withDescription(
    "Export the corpus as JSONL: one training sample per line (contract §5–§7), or in a training format."
  )
)
