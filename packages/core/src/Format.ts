/**
 * Output formats of an export. `jsonl` is the contract's sample (§5–§6); the others are derived from it
 * for the tools that train on the corpus, each sample still one line:
 *
 * - `prompt-completion`: `{"prompt","completion"}`, the instruction and the pipeline's `initial_result`
 *   as the prompt, `final_result` as the completion (TRL's prompt-completion form, Axolotl's
 *   `input_output`-style pre-tokenized prompts);
 * - `messages`: `{"messages":[system, user, assistant]}`, the same content as a chat (TRL's
 *   conversational form, Axolotl's `chat_template`);
 * - `preference`: `{"prompt","chosen","rejected"}` with `chosen` = final and `rejected` = initial, for
 *   DPO; only jobs whose two results differ (a job corrected and reverted teaches no preference);
 * - `hf`: the contract's sample with `initial_result`, `final_result`, `old_value` and `new_value` as
 *   JSON-encoded strings (`null` stays `null`) and `confidence` always a float, so every column has one
 *   Arrow type in every row: `datasets.load_dataset("json")` reads it without ArrowInvalid.
 *
 * Results inside strings are their canonical JSON text (§6), so a completion is byte-identical to the
 * `final_result` of the `jsonl` sample.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** @since 0.1.0 */
export const Format = Schema.Literal("jsonl", "prompt-completion", "messages", "preference", "hf")

/** @since 0.1.0 */
export type Format = typeof Format.Type

/** The formats, in the order they are documented. @since 0.1.0 */
export const formats: ReadonlyArray<Format> = Format.literals

/**
 * The instruction of the prompt formats: the system message of `messages`, the first paragraph of the
 * prompt of `prompt-completion` and `preference` (then a blank line, then the initial result).
 *
 * @since 0.1.0
 */
export const instruction =
  "You correct the structured extraction of an Indonesian police order letter (Surat Perintah, " +
  '"Sprin"). The input is the pipeline\'s JSON: a header (nomor_sprint, perihal, ...) and a personnel ' +
  "table (personel: pangkat, nrp, nama, jabatan), or null when extraction failed. Answer with the " +
  "corrected JSON only."
