/**
 * What one export was: its parameters, the database snapshot it read, and the exact bytes it produced
 * (rows, byte count, SHA-256), so a corpus file can be checked and reproduced later.
 *
 * `contract_version` names the contract the `jsonl` samples follow (`../shared/spec/contract.md`,
 * §1–§10); it changes when their bytes for the same database and parameters would. The other formats
 * also depend on their shape and on `Format.instruction`, which the contract does not cover.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { Option, Schema, Stream } from "effect"
import * as Cursor from "./Cursor.js"
import * as Filter from "./Filter.js"
import * as Format from "./Format.js"
import * as Jsonl from "./Jsonl.js"
import * as Split from "./Split.js"
import * as Timestamp from "./Timestamp.js"
import * as Version from "./Version.js"

/** @since 0.1.0 */
export const contractVersion = "1"

/** An export's filters, as its manifest names them. */
const Filters = Schema.Struct({
  approved_only: Schema.Boolean,
  has_corrections: Schema.NullOr(Schema.Boolean),
  since: Schema.NullOr(Schema.String),
  until: Schema.NullOr(Schema.String)
})

const filtersOf = (filter: Filter.Filter): typeof Filters.Type => ({
  approved_only: filter.approvedOnly,
  has_corrections: Option.getOrNull(filter.hasCorrections),
  since: Option.getOrNull(Option.map(filter.since, Timestamp.format)),
  until: Option.getOrNull(Option.map(filter.until, Timestamp.format))
})

/**
 * A folder's files written gzipped (`--gzip`): `FILE.jsonl.gz`, whose `bytes` and `sha256` are of the
 * file as written (`sha256sum FILE.jsonl.gz`), its `rows` the lines it holds.
 */
const Compression = Schema.Literal("gzip").annotations({
  description:
    "Absent: the files are the lines as they are. gzip: each file is gzipped (.jsonl.gz); its bytes and sha256 " +
    "are of the file as written, its rows the lines it holds once decompressed. A sharded export's own rows, " +
    "bytes and sha256 still describe the uncompressed body"
})

/**
 * A folder's files written as Parquet (`--parquet`): `FILE.parquet`, whose `bytes` and `sha256` are of the
 * file as written, its `rows` the samples it holds.
 */
const FileFormat = Schema.Literal("parquet").annotations({
  description:
    "Absent: the files are JSON lines. parquet: each file is a Parquet file of the lines' samples (.parquet; jsonl " +
    "as hf), its bytes and sha256 those of the file as written, its rows the samples it holds. A sharded " +
    "export's own rows, bytes and sha256 still describe the lines the files were made from"
})

/**
 * One file of a sharded export (`--shards`, contract §15): its name in the folder, its lines, bytes and
 * SHA-256.
 *
 * @since 0.1.0
 * @category models
 */
export class ShardFile extends Schema.Class<ShardFile>("ShardFile")({
  path: Schema.String,
  rows: Schema.Number,
  bytes: Schema.Number,
  sha256: Schema.String
}) {}

/**
 * The name of shard `index` of `count` (from 0): `part-00000-of-00004.jsonl`, the names `datasets` reads
 * as the shards of one split, in order.
 *
 * @since 0.1.0
 */
export const shardPath = (prefix: string, index: number, count: number): string =>
  `${prefix}-${String(index).padStart(5, "0")}-of-${String(count).padStart(5, "0")}.jsonl`

/**
 * @since 0.1.0
 * @category models
 */
export class Manifest extends Schema.Class<Manifest>("Manifest")({
  contract_version: Schema.Literal(contractVersion),
  generator: Schema.optional(Schema.String).annotations({
    description: "What wrote it: ground-truth and its version (absent in manifests of 0.1.0 before it)"
  }),
  format: Format.Format,
  input: Schema.optional(Format.Input).annotations({
    description:
      "What the model reads (docs/formats.md, the letter's text): both, text or pipeline (absent in manifests from " +
      "before inputs: pipeline)"
  }),
  filters: Filters,
  split: Schema.NullOr(
    Schema.Struct({
      name: Split.Name,
      ratios: Schema.Tuple(Schema.Number, Schema.Number, Schema.Number),
      seed: Schema.String,
      by: Schema.optional(Split.By).annotations({
        description:
          "What the split hashes (contract §13): letter, the job's letter key, or job, its id (absent in " +
          "manifests from before letters: job)"
      })
    })
  ),
  changed_since: Schema.NullOr(Schema.String).annotations({
    description: "The cursor an increment starts from (contract §11); null for a full export"
  }),
  snapshot_time: Schema.String.annotations({
    description: "When the export's snapshot transaction began (RFC 3339, UTC)"
  }),
  cursor: Schema.String.annotations({
    description: "The snapshot this export read: pass it as changed_since to get what changed since"
  }),
  rows: Schema.Number.annotations({ description: "Samples (lines) in the body" }),
  bytes: Schema.Number.annotations({ description: "Bytes of the body" }),
  sha256: Schema.String.annotations({ description: "SHA-256 of the body, lowercase hex" }),
  corpus_rows: Schema.NullOr(Schema.Number).annotations({
    description:
      "In jsonl and hf (a line per job): the lines of a full export at this snapshot. An increment counts " +
      "them in the database, so that its corpus, once merged, can be checked against it: a corpus with " +
      "more lines holds jobs deleted since. Null in the training formats."
  }),
  removed: Schema.Array(Schema.String).annotations({
    description:
      "Of an increment: the ids (sorted) of jobs that changed after changed_since and have no line in this " +
      "export's corpus: drop their lines from the corpus it continues. Empty for a full export."
  }),
  files: Schema.optional(Schema.Array(ShardFile)).annotations({
    description:
      "Of a sharded export (--shards): its files, in order; concatenated they are the body that rows, bytes " +
      "and sha256 describe. Absent otherwise."
  }),
  compression: Schema.optional(Compression),
  file_format: Schema.optional(FileFormat)
}) {}

/**
 * What an export learns from its snapshot: when it began, its cursor, and (after the body has ended)
 * the ids an increment removes.
 *
 * @since 0.1.0
 */
export interface Snapshot {
  readonly time: Timestamp.Timestamp
  readonly cursor: string
  readonly removed: ReadonlyArray<string>
  /** Of an increment in jsonl or hf: the jobs that match at the snapshot (from the database). */
  readonly corpusRows: number | undefined
}

/**
 * The manifest as one line of JSON, `\n` included.
 *
 * @since 0.1.0
 */
export const encode = (manifest: Manifest): string => `${JSON.stringify(manifest)}\n`

/**
 * What a body is: its lines (`\n`s), bytes and SHA-256 (lowercase hex).
 *
 * @since 0.1.0
 */
export interface Counts {
  readonly rows: number
  readonly bytes: number
  readonly sha256: string
}

/**
 * Counts and hashes a body given chunk by chunk: `add` each chunk, then `counts` once at the end.
 *
 * @since 0.1.0
 */
export const counter = (): { readonly add: (chunk: Uint8Array) => void; readonly counts: () => Counts } => {
  const hash = createHash("sha256")
  let rows = 0
  let bytes = 0
  let sha256: string | undefined
  return {
    add: (chunk) => {
      hash.update(chunk)
      bytes += chunk.length
      rows += Jsonl.countLines(chunk)
    },
    counts: () => {
      sha256 ??= hash.digest("hex")
      return { rows, bytes, sha256 }
    }
  }
}

/**
 * Counts and hashes `body` as it passes; `finish`, called once after the body has ended, gives the
 * manifest with the snapshot the export reported.
 *
 * @since 0.1.0
 */
export const tally = <E, R>(
  filter: Filter.Filter,
  body: Stream.Stream<Uint8Array, E, R>,
  snapshot: () => Snapshot | undefined
): {
  readonly stream: Stream.Stream<Uint8Array, E, R>
  readonly finish: () => Manifest
} => {
  const count = counter()
  const stream = Stream.mapChunks(body, (chunks) => {
    for (const chunk of chunks) count.add(chunk)
    return chunks
  })
  return { stream, finish: () => describe(filter, count.counts(), snapshot()) }
}

/**
 * The manifest of a body exported with `filter`, with these counts, from this snapshot (`undefined`: the
 * export failed before it took one).
 *
 * @since 0.1.0
 */
export const describe = (filter: Filter.Filter, counts: Counts, taken: Snapshot | undefined): Manifest => {
  const { rows, bytes, sha256 } = counts
  return Manifest.make({
    contract_version: contractVersion,
    generator: Version.generator,
    format: filter.format,
    input: Filter.output(filter).input,
    filters: filtersOf(filter),
    split: Option.getOrNull(
      Option.map(filter.split, (s) => ({
        name: s.name,
        ratios: [...s.ratios] as const,
        seed: s.seed,
        by: s.by
      }))
    ),
    changed_since: Option.getOrNull(Option.map(filter.changedSince, Cursor.encode)),
    snapshot_time: taken === undefined ? "" : Timestamp.format(taken.time),
    cursor: taken?.cursor ?? "",
    rows,
    bytes,
    sha256,
    corpus_rows:
      filter.format !== "jsonl" && filter.format !== "hf"
        ? null
        : Option.isNone(filter.changedSince)
          ? rows
          : (taken?.corpusRows ?? null),
    removed: taken?.removed ?? []
  })
}

/**
 * One split's file in a dataset folder.
 *
 * @since 0.1.0
 * @category models
 */
export class SplitFile extends Schema.Class<SplitFile>("SplitFile")({
  split: Split.Name,
  path: Schema.String,
  rows: Schema.Number,
  bytes: Schema.Number,
  sha256: Schema.String
}) {}

/**
 * What a dataset folder holds (`export --dataset`): its three splits from one snapshot, each file with
 * its rows, bytes and SHA-256 (sharded, `--shards N`: N files a split); a split without rows has no file
 * and is listed in `empty_splits`.
 *
 * @since 0.1.0
 * @category models
 */
export class DatasetManifest extends Schema.Class<DatasetManifest>("DatasetManifest")({
  contract_version: Schema.Literal(contractVersion),
  generator: Schema.optional(Schema.String),
  format: Format.Format,
  input: Schema.optional(Format.Input),
  filters: Filters,
  split_ratios: Schema.Tuple(Schema.Number, Schema.Number, Schema.Number),
  split_seed: Schema.String,
  split_by: Schema.optional(Split.By).annotations({
    description:
      "What the splits hash (contract §13): letter, each job's letter key, or job, its id (absent in folders " +
      "from before letters: job)"
  }),
  snapshot_time: Schema.String,
  cursor: Schema.String,
  files: Schema.Array(SplitFile),
  empty_splits: Schema.Array(Split.Name),
  compression: Schema.optional(Compression),
  license: Schema.optional(Schema.NullOr(Schema.String)).annotations({
    description:
      "The license of the folder's card (export --license): null when none was set (the card then says other " +
      "and who to ask); absent in folders written before it was recorded"
  }),
  file_format: Schema.optional(FileFormat)
}) {}

/**
 * The name of a split's file in a dataset folder: `train.jsonl`, or of shard `index` of a dataset cut into
 * `shards` files a split, `shardPath`'s (`train-00000-of-00004.jsonl`).
 *
 * @since 0.1.0
 */
export const splitPath = (split: Split.Name, index: number, shards: number | undefined): string =>
  shards === undefined ? `${split}.jsonl` : shardPath(split, index, shards)

/**
 * The dataset manifest, from the counts of each split's file: one each, or of a dataset sharded into
 * `shards` files a split (`shards` defined), one a shard (`splitPath`).
 *
 * @since 0.1.0
 */
export const dataset = (
  filter: Filter.Filter,
  split: Split.Splitting,
  taken: { readonly time: Timestamp.Timestamp; readonly cursor: string } | undefined,
  shards: number | undefined,
  counts: Readonly<Record<Split.Name, ReadonlyArray<Counts>>>
): DatasetManifest => {
  const rows = (name: Split.Name) => counts[name].reduce((n, c) => n + c.rows, 0)
  return DatasetManifest.make({
    contract_version: contractVersion,
    generator: Version.generator,
    format: filter.format,
    input: Filter.output(filter).input,
    filters: filtersOf(filter),
    split_ratios: [...split.ratios] as const,
    split_seed: split.seed,
    split_by: split.by,
    snapshot_time: taken === undefined ? "" : Timestamp.format(taken.time),
    cursor: taken?.cursor ?? "",
    files: Split.Name.literals
      .filter((name) => rows(name) > 0)
      .flatMap((name) =>
        counts[name].map((c, i) =>
          SplitFile.make({
            split: name,
            path: splitPath(name, i, shards),
            ...c
          })
        )
      ),
    empty_splits: Split.Name.literals.filter((name) => rows(name) === 0)
  })
}
