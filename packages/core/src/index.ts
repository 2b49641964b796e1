/**
 * `@ground-truth/core`: the driver-independent heart of the ground-truth exporter.
 *
 * - `Json`: lossless JSON values (numbers keep their decimal text), deep equality, canonical text.
 * - `FieldPath`: the path grammar of contract §2.
 * - `Correction`: what one event does to a result, forward (§3).
 * - `Replay`: undoing an audit trail to rebuild the original result (§4).
 * - `Sample`: the job, event and sample data.
 * - `Jsonl`: the canonical bytes of a sample (§5–§6).
 * - `Timestamp`: microsecond instants and their RFC 3339 text.
 * - `Filter`: the filter parameters of §7.
 * - `Snapshot`: the one read-only `REPEATABLE READ` transaction of §9.
 * - `Export`: the corpus as a stream of canonical bytes, from `SqlClient` (§5–§9), whole or as an
 *   increment since a `Cursor` (§11).
 * - `Cursor`: the snapshot an export read, which an increment continues from (§11).
 * - `Features`: the Hugging Face `datasets` features of each format, for a dataset card or `from_dict`.
 * - `ResultSchema`: what a reviewer's correction may write where (NRPs as digit strings, dates as
 *   `YYYY-MM-DD`, no field changing its JSON type), checked by `Review` before anything is written.
 * - `DatasetCard`: the `README.md` of a dataset folder (`export --dataset`).
 * - `Stats`: coverage stats (§8).
 * - `Lint`: the corpus checking itself (§13): letters with two ground truths, NRPs with two names,
 *   fields corrected back to where they started, malformed NRPs.
 * - `Version`: the version every front end and manifest shows.
 * - `Eval`: a model scored against the ground truth, field by field, beside the pipeline (§12), each
 *   error in its class, rows paired by content (§14); `EvalMarkdown`, its report as Markdown tables.
 * - `Calibration`: above which pipeline confidence a job could skip review, from the review history (§14).
 * - `Gzip`: a gzip stream fed a batch at a time (the server's bodies, the CLI's gzipped folders).
 * - `Workers`: an export read by many workers from one snapshot (§15), and what a worker does.
 * - `Parquet`: an export's samples as one Parquet file with a declared schema, a row group at a time.
 * - `Plan`: an export cut into shards other processes or machines write from one held snapshot (§15).
 *
 * @since 0.1.0
 */
export * as Calibration from "./Calibration.js"
export * as Correction from "./Correction.js"
export * as Cursor from "./Cursor.js"
export * as DatasetCard from "./DatasetCard.js"
export * as Eval from "./Eval.js"
export * as EvalMarkdown from "./EvalMarkdown.js"
export * as Export from "./Export.js"
export * as Features from "./Features.js"
export * as FieldPath from "./FieldPath.js"
export * as Filter from "./Filter.js"
export * as Format from "./Format.js"
export * as Gzip from "./Gzip.js"
export * as Json from "./Json.js"
export * as Jsonl from "./Jsonl.js"
export * as Lint from "./Lint.js"
export * as Manifest from "./Manifest.js"
export * as Parquet from "./Parquet.js"
export * as Plan from "./Plan.js"
export * as Random from "./Random.js"
export * as Replay from "./Replay.js"
export * as ReportPage from "./ReportPage.js"
export * as ResultSchema from "./ResultSchema.js"
export * as Review from "./Review.js"
export * as Sample from "./Sample.js"
export * as Snapshot from "./Snapshot.js"
export * as Split from "./Split.js"
export * as Stats from "./Stats.js"
export * as Timestamp from "./Timestamp.js"
export * as Version from "./Version.js"
export * as Workers from "./Workers.js"
