/**
 * The Hugging Face `datasets` features of each export format: one description, written as the JSON of
 * `Features.to_dict()` (for `Features.from_dict`) and as a dataset card's YAML (`dataset_info.features`).
 *
 * Declaring them makes every file of a format load with one schema, whatever its rows hold: an `hf`
 * export whose jobs have no corrections would otherwise type `corrections` as a list of nulls, and
 * could not be loaded together with one that has corrections.
 *
 * @since 0.1.0
 */
import { defaultInput, type Format, type Input, readsText } from "./Format.js"

/**
 * A feature: a scalar, a list of one, or a struct of named ones (in order).
 *
 * @since 0.1.0
 * @category models
 */
export type Feature = Value | { readonly _tag: "List"; readonly feature: Value | Struct } | Struct

/** @since 0.1.0 */
export interface Value {
  readonly _tag: "Value"
  readonly dtype: "string" | "bool" | "float64" | typeof INSTANT
}

/**
 * An instant: what `datasets` makes of the lines' RFC 3339 times (`…Z`, microseconds) when declared, and
 * what Parquet stores.
 *
 * @since 0.1.0
 */
export const INSTANT = "timestamp[us, tz=UTC]"

/** @since 0.1.0 */
export interface Struct {
  readonly _tag: "Struct"
  readonly fields: ReadonlyArray<readonly [string, Feature]>
}

const value = (dtype: Value["dtype"]): Value => ({ _tag: "Value", dtype })
const list = (feature: Value | Struct): Feature => ({ _tag: "List", feature })
const struct = (...fields: ReadonlyArray<readonly [string, Feature]>): Struct => ({ _tag: "Struct", fields })

const string = value("string")
const instant = value(INSTANT)
const turns = list(struct(["role", string], ["content", string]))

/** The columns of each format with stable features, in their order in a line. */
const columns: Partial<Record<Format, ReadonlyArray<readonly [string, Feature]>>> = {
  hf: [
    ["job_id", string],
    ["filename", string],
    ["source_kind", string],
    ["approved", value("bool")],
    ["reviewed_by", string],
    ["reviewed_at", instant],
    ["created_at", instant],
    ["initial_result", string],
    ["final_result", string],
    [
      "corrections",
      list(
        struct(
          ["field_path", string],
          ["old_value", string],
          ["new_value", string],
          ["corrected_by", string],
          ["reason", string],
          ["corrected_at", instant]
        )
      )
    ],
    ["review_flags", list(string)],
    ["confidence", value("float64")]
  ],
  "prompt-completion": [
    ["job_id", string],
    ["prompt", turns],
    ["completion", turns]
  ],
  messages: [
    ["job_id", string],
    ["messages", turns]
  ],
  preference: [
    ["job_id", string],
    ["prompt", turns],
    ["chosen", turns],
    ["rejected", turns]
  ]
}

/**
 * The columns of a format, or none for `jsonl`: its results are any JSON value, which no one Arrow
 * type holds (export `hf` for `datasets`). `hf` with an input that reads the letters' texts has their
 * column last, `ocr_text`.
 *
 * @since 0.1.0
 */
export const of = (
  format: Format,
  input: Input = defaultInput(format)
): ReadonlyArray<readonly [string, Feature]> | undefined => {
  const cs = columns[format]
  return cs !== undefined && format === "hf" && readsText(input) ? [...cs, ["ocr_text", string]] : cs
}

type Dict = { readonly [key: string]: unknown }

const toDict = (f: Feature): Dict =>
  f._tag === "Value"
    ? { dtype: f.dtype, _type: "Value" }
    : f._tag === "List"
      ? { feature: toDict(f.feature), _type: "List" }
      : Object.fromEntries(f.fields.map(([name, field]) => [name, toDict(field)]))

/**
 * The features as `Features.to_dict()` writes them, for `Features.from_dict(json.load(f))`; undefined
 * for `jsonl`.
 *
 * @since 0.1.0
 */
export const json = (format: Format, input?: Input): string | undefined => {
  const cs = of(format, input)
  return cs === undefined
    ? undefined
    : `${JSON.stringify(Object.fromEntries(cs.map(([name, f]) => [name, toDict(f)])))}\n`
}

/** One named feature as YAML list items, at `indent`. */
const yamlField = (name: string, f: Feature, indent: string): Array<string> => {
  switch (f._tag) {
    case "Value":
      return [`${indent}- name: ${name}`, `${indent}  dtype: ${f.dtype}`]
    case "List":
      return f.feature._tag === "Value"
        ? [`${indent}- name: ${name}`, `${indent}  list: ${f.feature.dtype}`]
        : [
            `${indent}- name: ${name}`,
            `${indent}  list:`,
            ...f.feature.fields.flatMap(([n, g]) => yamlField(n, g, `${indent}  `))
          ]
    case "Struct":
      return [
        `${indent}- name: ${name}`,
        `${indent}  struct:`,
        ...f.fields.flatMap(([n, g]) => yamlField(n, g, `${indent}  `))
      ]
  }
}

/**
 * The features as a dataset card declares them: the lines under `dataset_info:` (`features:` and its
 * items, indented by two spaces); undefined for `jsonl`.
 *
 * @since 0.1.0
 */
export const yaml = (format: Format, input?: Input): ReadonlyArray<string> | undefined => {
  const cs = of(format, input)
  return cs === undefined
    ? undefined
    : ["  features:", ...cs.flatMap(([name, f]) => yamlField(name, f, "  "))]
}
