/**
 * The dataset card (`README.md`) of a dataset folder: YAML that tells `datasets.load_dataset(DIR)`
 * which file holds which split and the features of the format, then what the folder is.
 *
 * A split without rows has no file and is left out of `configs`: datasets refuses a declared split
 * without data (`Instruction "test" corresponds to no data!`), even with its features declared.
 *
 * @since 0.1.0
 */
import * as Features from "./Features.js"
import type * as Manifest from "./Manifest.js"
import * as Split from "./Split.js"

/**
 * The `data_files` of each split with rows: its file, or the list of its shards in order (datasets refuses
 * a split named twice). A shard without rows is left out: datasets 5 fails on an empty file that another
 * of the split follows (`IndexError` in `_prepare_split_single`), and it adds nothing.
 */
const dataFiles = (m: Manifest.DatasetManifest): ReadonlyArray<string> =>
  Split.Name.literals.flatMap((split) => {
    const paths = m.files.filter((f) => f.split === split && f.rows > 0).map((f) => f.path)
    if (paths.length === 0) return []
    return paths.length === 1
      ? [`  - split: ${split}`, `    path: ${paths[0]}`]
      : [`  - split: ${split}`, "    path:", ...paths.map((p) => `    - ${p}`)]
  })

/**
 * The card of a dataset folder, from its manifest.
 *
 * @since 0.1.0
 */
export const render = (m: Manifest.DatasetManifest): string => {
  // A Parquet file declares its own schema (times as timestamps, which the JSON features give as text).
  const parquet = m.file_format === "parquet"
  const features = parquet ? undefined : Features.yaml(m.format)
  const filters = [
    `approved_only=${m.filters.approved_only}`,
    ...(m.filters.has_corrections === null ? [] : [`has_corrections=${m.filters.has_corrections}`]),
    ...(m.filters.since === null ? [] : [`since=${m.filters.since}`]),
    ...(m.filters.until === null ? [] : [`until=${m.filters.until}`])
  ].join(", ")
  return [
    "---",
    "configs:",
    "- config_name: default",
    "  data_files:",
    ...dataFiles(m),
    ...(features === undefined ? [] : ["dataset_info:", ...features]),
    "---",
    "",
    "# ground-truth export",
    "",
    `Reviewed extractions of Indonesian police order letters (Surat Perintah), format \`${m.format}\`, ` +
      `exported from one database snapshot (${m.snapshot_time}, cursor \`${m.cursor}\`) with ${filters}.`,
    "",
    "| split | file | rows | bytes | sha256 |",
    "|---|---|---:|---:|---|",
    ...m.files.map((f) => `| ${f.split} | ${f.path} | ${f.rows} | ${f.bytes} | \`${f.sha256}\` |`),
    "",
    `Splits by a hash of job_id (ratios ${m.split_ratios.join("/")}${m.split_seed === "" ? "" : `, seed \`${m.split_seed}\``}): ` +
      "a job never changes split between snapshots.",
    ...(m.empty_splits.length === 0
      ? []
      : [
          "",
          `No rows in ${m.empty_splits.join(", ")}: left out of this card, since datasets refuses a declared ` +
            "split without data."
        ]),
    ...(parquet
      ? [
          "",
          "Parquet files: each declares its schema (times as `timestamp[us, tz=UTC]`), which datasets reads."
        ]
      : features === undefined
        ? [
            "",
            "`jsonl` declares no features: its results are any JSON value, which Arrow re-types (a string of " +
              "digits can come back as a number). Export `hf` to load it with `datasets`."
          ]
        : []),
    "",
    "```python",
    "from datasets import load_dataset",
    'ds = load_dataset("path/to/this/folder")',
    "```",
    ""
  ].join("\n")
}
