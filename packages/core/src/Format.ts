/**
 * Output formats of an export. `jsonl` is the contract's sample (§5–§6); the others are derived from it
 * for the tools that train on the corpus, each sample still one line:
 *
 * - `prompt-completion`: TRL's conversational prompt-completion form,
 *   `{"job_id","prompt":[system, user],"completion":[assistant]}`: the instruction and the pipeline's
 *   `initial_result` as the prompt, `final_result` as the completion. The chat template marks where the
 *   answer starts, so a tokenizer never merges the two, and TRL trains on the completion only;
 * - `messages`: `{"job_id","messages":[system, user, assistant]}`, the same content as one conversation
 *   (TRL's conversational language-modeling form, Axolotl's `chat_template`);
 * - `preference`: `{"job_id","prompt":[system, user],"chosen":[assistant],"rejected":[assistant]}` with
 *   `chosen` = final and `rejected` = initial, TRL's conversational preference form for DPO; only jobs
 *   whose two results differ (a job corrected and reverted teaches no preference);
 * - `hf`: the contract's sample with `initial_result`, `final_result`, `old_value` and `new_value` as
 *   JSON-encoded strings (`null` stays `null`) and `confidence` always a float, so every column has one
 *   Arrow type in every row (declare `Features.hf` when loading: a file without corrections cannot tell
 *   their type).
 *
 * The training formats (`prompt-completion`, `messages`, `preference`) leave out jobs without a
 * `final_result` (SQL NULL or JSON `null`: nothing to learn, and a model must not learn to answer
 * `null`). Results inside strings are their canonical JSON text (§6), so a completion is byte-identical
 * to the `final_result` of the `jsonl` sample. Every line starts with `job_id`, which TRL's trainers
 * leave alone, so a row can be traced back to its review and an increment can replace it.
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
 * The instruction of the training formats: their system message, before the user's message (the
 * initial result).
 *
 * @since 0.1.0
 */
export const instruction =
  "You correct the structured extraction of an Indonesian police order letter (Surat Perintah, " +
  '"Sprin"). The input is the pipeline\'s JSON: a header (nomor_sprint, perihal, ...) and a personnel ' +
  "table (personel: pangkat, nrp, nama, jabatan), or null when extraction failed. Answer with the " +
  "corrected JSON only."
