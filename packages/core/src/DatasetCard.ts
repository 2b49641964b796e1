/**
 * The dataset card (`README.md`) of a dataset folder: YAML that tells `datasets.load_dataset(DIR)`
 * which file holds which split and the features of the format, with the metadata a Hugging Face card
 * carries where it can be stated truthfully (name, language, license, tags, size); then what the folder
 * is: which jobs (approved or not, the filters as they were), its files, its license, and that it holds
 * personal data.
 *
 * A split without rows has no file and is left out of `configs`: datasets refuses a declared split
 * without data (`Instruction "test" corresponds to no data!`), even with its features declared.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Features from "./Features.js"
import type * as Format from "./Format.js"
import type * as Manifest from "./Manifest.js"
import * as Split from "./Split.js"

/**
 * A license as the card's `license:` names it: a short SPDX-like id (`cc-by-nc-4.0`, `Apache-2.0`,
 * `other`): letters, digits, `.`, `-` and `+`, starting with a letter or digit, at most 64 characters.
 *
 * @since 0.1.0
 */
export const License = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9.+-]{0,63}$/),
  Schema.annotations({ description: "A short SPDX-like license id: letters, digits, '.', '-', '+'" })
)

/**
 * What the card says when no license was set: the Hub's id for terms stated elsewhere.
 *
 * @since 0.1.0
 */
export const unsetLicense = "other"

/** A YAML scalar that stays a string whatever it holds (`no`, `1.0` and `null` would not, unquoted). */
const quoted = (text: string) => JSON.stringify(text)

/** The Hub's `size_categories` bucket of `rows`. */
const sizeCategory = (rows: number): string => {
  const buckets = ["1K", "10K", "100K", "1M", "10M", "100M", "1B"]
  const index = buckets.findIndex((_, i) => rows < 1000 * 10 ** i)
  return index === -1 ? "n>1B" : index === 0 ? "n<1K" : `${buckets[index - 1]}<n<${buckets[index]}`
}

/** What one line of each format holds; `final_result` is the result with every reviewer correction applied. */
const shapes: Record<Format.Format, string> = {
  jsonl:
    "the full sample: the job (file, approval, reviewer, times), the pipeline's first result " +
    "(`initial_result`), the corrected result (`final_result`) and every reviewer correction",
  hf: "the full sample as in `jsonl`, with the results and the corrections' values as JSON-encoded strings",
  "prompt-completion":
    "a prompt (the instruction and the input below) and its completion (the corrected result)",
  messages: "a conversation: the instruction, the input below, and the corrected result as the answer",
  preference:
    "a prompt (the instruction and the input below), the corrected result as `chosen` and the pipeline's first " +
    "result as `rejected` (only jobs whose two results differ)"
}

const TEXT_COLUMN = "A last column, `ocr_text`, holds the letter's OCR text (`null` for a job without one)."

/** What the model reads (the manifest's input; absent in manifests from before inputs: the pipeline's). */
const inputs: Record<Format.Input, { readonly training: string; readonly sample: string }> = {
  both: {
    training:
      "The input (the user turn) is the letter's OCR text, then the pipeline's first result as JSON; a job " +
      "without a text shows the result alone, and a job with neither is left out.",
    sample: TEXT_COLUMN
  },
  text: {
    training: "The input (the user turn) is the letter's OCR text alone; a job without a text is left out.",
    sample: TEXT_COLUMN
  },
  pipeline: {
    training:
      "The input (the user turn) is the pipeline's first result as JSON; a job without one is left out.",
    sample: ""
  }
}

const inputLine = (m: Manifest.DatasetManifest): string => {
  const input = inputs[m.input ?? "pipeline"]
  return showsApproval(m.format) ? input.sample : input.training
}

/** Whether a line says which jobs were approved: the full sample does, the training formats do not. */
const showsApproval = (format: Format.Format) => format === "jsonl" || format === "hf"

/** What the jobs are, by approval: what a reader must know before training on them. */
const approval = (m: Manifest.DatasetManifest): string =>
  m.filters.approved_only
    ? "Every job here was approved by a reviewer: its corrected result is the one the reviewer approved."
    : "**This dataset includes jobs no reviewer approved** (exported with `approved_only=false`): jobs never " +
      "reviewed, or rejected, are here beside approved ones, and their results may still hold OCR and LLM mistakes " +
      "that nobody corrected. " +
      (showsApproval(m.format)
        ? "The `approved` column tells which is which: filter on it before training."
        : "Its rows do not say which jobs were approved: export with `--approved-only true` to train on " +
          "reviewed output only.")

/**
 * The filters as they were, in words. A dataset folder is always a full export (`--changed-since` does not
 * apply to it), so there is no increment to state.
 */
const filterLines = (m: Manifest.DatasetManifest): ReadonlyArray<string> => [
  m.filters.approved_only
    ? "- `approved_only=true`: only jobs a reviewer approved."
    : "- `approved_only=false`: every job, approved or not.",
  m.filters.has_corrections === null
    ? "- `has_corrections`: not set; jobs with and without reviewer corrections."
    : m.filters.has_corrections
      ? "- `has_corrections=true`: only jobs a reviewer corrected at least once (the pipeline's hard cases)."
      : "- `has_corrections=false`: only jobs without any reviewer correction.",
  ...(m.filters.since === null && m.filters.until === null
    ? ["- No time window: jobs of any time."]
    : [
        `- Sample time (\`reviewed_at\`, else \`created_at\`)${m.filters.since === null ? "" : ` at or after \`${m.filters.since}\``}` +
          `${m.filters.since !== null && m.filters.until !== null ? " and" : ""}` +
          `${m.filters.until === null ? "" : ` before \`${m.filters.until}\``}.`
      ])
]

/** The license as set (`--license`), or what to do about it when it was not. */
/** How the splits were cut: by letter (folders from before letters split by job). */
const splitLine = (m: Manifest.DatasetManifest): string => {
  const how = `ratios ${m.split_ratios.join("/")}${m.split_seed === "" ? "" : `, seed \`${m.split_seed}\``}`
  return (m.split_by ?? "job") === "letter"
    ? `Splits by a hash of each job's letter key (${how}): its \`header.nomor_sprint\` without ASCII whitespace, ` +
        "ASCII letters upper-cased (the job id when it has none), so every copy of a letter is in one split; a " +
        "job changes split only when its number is corrected (`split_by` letter)."
    : `Splits by a hash of job_id (${how}): a job never changes split between snapshots (\`split_by\` job).`
}

const licenseLines = (license: string | null | undefined): ReadonlyArray<string> =>
  license === null || license === undefined
    ? [
        `No license was set for this export, so the card says \`license: ${unsetLicense}\`. Ask the data owner (whoever ` +
          "is responsible for the review database it was exported from) under which terms it may be used, and " +
          "export it again with the license they give: `ground-truth export --dataset DIR --license ID` (an " +
          "SPDX-like id such as `cc-by-nc-4.0`)."
      ]
    : [
        `\`${license}\`, as set when it was exported (\`--license\`). It does not lift the duties of the personal-data ` +
          "notice below."
      ]

/** Who is named in the rows, by format: the reviewers' ids are only in the full sample. */
const personalData = (format: Format.Format): string =>
  "This dataset holds the names and NRPs (personnel numbers) of the police personnel listed in the letters" +
  `${showsApproval(format) ? ", and the reviewers' user ids" : ""}: personal data under Indonesia's Personal Data ` +
  "Protection Law (UU PDP, Law No. 27 of 2022). Do not publish it on a public hub: keep it where access is " +
  "controlled (a private or gated repository, files readable only by those who need them), and share it only as " +
  "its data controller allows. This notice describes the contents; it is not legal advice."

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
  const features = parquet ? undefined : Features.yaml(m.format, m.input)
  const rows = m.files.reduce((n, f) => n + f.rows, 0)
  const title = "Surat Perintah extractions (ground-truth export)"
  return [
    "---",
    `pretty_name: ${quoted(title)}`,
    "language:",
    "- id",
    `license: ${quoted(m.license ?? unsetLicense)}`,
    "tags:",
    "- ocr",
    "- information-extraction",
    "- personal-data",
    "size_categories:",
    `- ${sizeCategory(rows)}`,
    "configs:",
    "- config_name: default",
    "  data_files:",
    ...dataFiles(m),
    ...(features === undefined ? [] : ["dataset_info:", ...features]),
    "---",
    "",
    `# ${title}`,
    "",
    "Extractions of Indonesian police order letters (*Surat Perintah*): a pipeline read each letter (OCR) and " +
      "extracted its header and personnel table with an LLM, and reviewers corrected the result field by field. " +
      approval(m),
    "",
    `Each line (format \`${m.format}\`) holds ${shapes[m.format]}.${inputLine(m) === "" ? "" : ` ${inputLine(m)}`} ` +
      `Exported from one database snapshot (${m.snapshot_time}, cursor \`${m.cursor}\`) with these filters:`,
    "",
    ...filterLines(m),
    "",
    "| split | file | rows | bytes | sha256 |",
    "|---|---|---:|---:|---|",
    ...m.files.map((f) => `| ${f.split} | ${f.path} | ${f.rows} | ${f.bytes} | \`${f.sha256}\` |`),
    "",
    splitLine(m),
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
    "",
    "## License",
    "",
    ...licenseLines(m.license),
    "",
    "## Personal data",
    "",
    personalData(m.format),
    ""
  ].join("\n")
}
