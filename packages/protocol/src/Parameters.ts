/**
 * The export's parameters, described once: each one's HTTP name, CLI flag, values and meaning. The
 * server's OpenAPI document, the CLI's flags and help, and the table in docs/cli.md are made from this
 * table; core's `Filter.parse` reads them (its `Parameter` names the keys, so a parameter added there
 * does not compile until it is described here).
 *
 * A meaning names other parameters as its reader spells them (`--split-by letter` on the command line,
 * `split_by=letter` in a query): it is written once, with a `Spelling`.
 *
 * @since 0.1.0
 */
import type { Filter } from "@ground-truth/core"

/**
 * How a surface spells a parameter, with a value or without.
 *
 * @since 0.1.0
 */
export type Spelling = (name: Filter.Parameter, value?: string) => string

/**
 * `--split-by`: a parameter as a CLI flag.
 *
 * @since 0.1.0
 */
export const flag = (name: string): string => `--${name.replaceAll("_", "-")}`

/** @since 0.1.0 */
export const cli: Spelling = (name, value) => (value === undefined ? flag(name) : `${flag(name)} ${value}`)

/** @since 0.1.0 */
export const http: Spelling = (name, value) => (value === undefined ? name : `${name}=${value}`)

/**
 * One parameter: the values it takes, as the CLI's help shows them, and what it means.
 *
 * @since 0.1.0
 */
export interface Described {
  readonly values: string
  readonly meaning: (spell: Spelling) => string
}

/**
 * Every export parameter, in the order the CLI and the docs list them.
 *
 * @since 0.1.0
 */
export const table: { readonly [P in Filter.Parameter]: Described } = {
  approved_only: {
    values: "true|false",
    meaning: () => "true (default): only reviewer-approved jobs; false: every job. Accepts true, false, 1, 0."
  },
  has_corrections: {
    values: "true|false",
    meaning: () =>
      "true: only jobs with at least one correction (hard examples); false: only jobs without (a sanity " +
      "set). Default: both."
  },
  since: {
    values: "TIME",
    meaning: (s) =>
      "Only samples whose time (reviewed_at, else created_at) is at or after this RFC 3339 timestamp with Z " +
      "or an offset (2025-06-01T10:15:00Z, 2025-06-01T17:15:00+07:00) or date (2025-06-01 = midnight UTC). " +
      "A window for analysis (what was reviewed in June), not for keeping a corpus current: use " +
      `${s("changed_since")}.`
  },
  until: {
    values: "TIME",
    meaning: (s) =>
      `Only samples whose time is before this timestamp or date: windows [${s("since")}, ${s("until")}) never ` +
      "overlap."
  },
  format: {
    values: "FORMAT",
    meaning: () =>
      "jsonl (default: the contract's sample), prompt-completion ({prompt, completion}), messages (chat: " +
      "system, user, assistant), preference ({prompt, chosen, rejected} for DPO; only jobs whose results " +
      "differ) or hf (the sample with results as JSON strings, one Arrow type per column, for " +
      "datasets.load_dataset)."
  },
  input: {
    values: "both|text|pipeline",
    meaning: () =>
      "What the model reads in the user turn. both (the training formats' default): the letter's OCR text " +
      "(where the database keeps it, in job_texts), then the pipeline's JSON; a job without a text gets " +
      "the JSON alone. text: the OCR text alone. pipeline: the pipeline's JSON alone. Jobs with nothing " +
      "to read are left out. In jsonl and hf (default pipeline), text or both add an ocr_text column."
  },
  split: {
    values: "train|validation|test",
    meaning: (s) =>
      "Only the jobs of this split, decided by a hash of the job's letter key " +
      `(${s("split_by", "letter")}, the default: every copy of a letter lands in one split) or of its ` +
      `job_id (${s("split_by", "job")}).`
  },
  split_ratios: {
    values: "T,V,T",
    meaning: (s) => `With ${s("split")}: whole-number ratios of train, validation and test. Default 80,10,10.`
  },
  split_seed: {
    values: "SEED",
    meaning: (s) => `With ${s("split")}: a seed for another, equally stable assignment. Default none.`
  },
  split_by: {
    values: "letter|job",
    meaning: (s) =>
      `With ${s("split")}: what decides a job's split. letter (default): its header.nomor_sprint without ` +
      "ASCII whitespace, ASCII letters upper-cased (its job_id when it has none), so copies of one letter " +
      "never straddle train and test; a job moves only when a reviewer corrects its number. job: its " +
      "job_id, the assignment before letters."
  },
  changed_since: {
    values: "CURSOR",
    meaning: () =>
      "Only the jobs changed since the export whose manifest (or Ground-Truth-Cursor header) gave this " +
      "cursor, and that still match the other filters; the export's manifest lists in removed the changed " +
      "jobs that no longer match (contract §11)."
  }
}

/**
 * The table as Markdown, as docs/cli.md shows it: flag, query parameter, values, meaning (spelled
 * for the command line).
 *
 * @since 0.1.0
 */
export const markdown = (): string =>
  [
    "| flag | query parameter | values | meaning |",
    "|---|---|---|---|",
    ...Object.entries(table).map(
      ([name, p]) =>
        `| \`${flag(name)}\` | \`${name}\` | \`${p.values.replaceAll("|", "\\|")}\` | ` +
        `${p.meaning(cli).replaceAll("|", "\\|")} |`
    )
  ].join("\n")
