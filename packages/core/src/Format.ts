/**
 * Output formats of an export. `jsonl` is the contract's sample (§5–§6); the others are derived from it
 * for the tools that train on the corpus, each sample still one line:
 *
 * - `prompt-completion`: TRL's conversational prompt-completion form,
 *   `{"job_id","prompt":[system, user],"completion":[assistant]}`: the instruction and the sample's
 *   input (below) as the prompt, `final_result` as the completion. The chat template marks where the
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
 * What the model reads (the user turn) is the sample's **input** (`Input`): the letter's OCR text (when
 * the database keeps it, in the optional `job_texts` table), the pipeline's `initial_result`, or both.
 *
 * The training formats (`prompt-completion`, `messages`, `preference`) leave out jobs without a
 * `final_result` (SQL NULL or JSON `null`: nothing to learn, and a model must not learn to answer
 * `null`), and jobs whose input is missing: no pipeline result (with `pipeline`), no text (with
 * `text`), neither (with `both`): a model shown nothing would learn to invent a letter. `preference`
 * also needs the pipeline's result, its rejected answer. Results inside strings are their canonical JSON text (§6), so a completion is byte-identical
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
 * What the user turn of the training formats holds:
 *
 * - `pipeline`: the pipeline's `initial_result` as canonical JSON, as before texts were kept;
 * - `text`: the letter's OCR text alone: a model that extracts the letter itself;
 * - `both` (the training formats' default): the OCR text, then the pipeline's JSON, so the model
 *   corrects the draft with the letter in front of it. A job without a text gets the `pipeline` turn
 *   (and its instruction): on a database without texts `both` writes what `pipeline` writes.
 *
 * In `jsonl` and `hf`, which carry the whole sample, `text` and `both` add the text as a last column,
 * `ocr_text` (a string, or `null` for a job without one); their default, `pipeline`, adds nothing, so
 * the contract's sample (§5) is unchanged.
 *
 * @since 0.1.0
 */
export const Input = Schema.Literal("both", "text", "pipeline")

/** @since 0.1.0 */
export type Input = typeof Input.Type

/** The input a format writes when none is asked for. @since 0.1.0 */
export const defaultInput = (format: Format): Input =>
  format === "jsonl" || format === "hf" ? "pipeline" : "both"

/** Does a format with this input read the letters' texts? @since 0.1.0 */
export const readsText = (input: Input): boolean => input !== "pipeline"

const TASK =
  'You correct the structured extraction of an Indonesian police order letter (Surat Perintah, "Sprin"). '
const SHAPE =
  "a header (nomor_sprint, perihal, ...) and a personnel table (personel: pangkat, nrp, nama, jabatan)"

/**
 * The instruction of the training formats: their system message, before the user's message, for a
 * user turn that holds the pipeline's result alone (`pipeline`, and `both` for a job without a text).
 *
 * @since 0.1.0
 */
export const instruction =
  `${TASK}The input is the pipeline's JSON: ${SHAPE}, or null when extraction failed. Answer with the ` +
  "corrected JSON only."

/**
 * The instruction for a user turn with the letter's OCR text and the pipeline's JSON (`both`): the
 * turn is `textHeading`, the text, a blank line, `pipelineHeading`, the JSON.
 *
 * @since 0.1.0
 */
export const instructionWithText =
  `${TASK}The input is the letter's OCR text, then the pipeline's JSON: ${SHAPE}, or null when extraction ` +
  "failed. Read the letter, fix what the pipeline got wrong or missed, and answer with the corrected JSON only."

/**
 * The instruction for a user turn with the letter's OCR text alone (`text`).
 *
 * @since 0.1.0
 */
export const instructionFromText =
  'You extract the structure of an Indonesian police order letter (Surat Perintah, "Sprin"). The input is ' +
  `the letter's OCR text. Answer with its JSON only: ${SHAPE}.`

/** The heading of the text in a `both` user turn, its own line. @since 0.1.0 */
export const textHeading = "OCR text:"

/** The heading of the pipeline's JSON in a `both` user turn, its own line. @since 0.1.0 */
export const pipelineHeading = "Pipeline JSON:"
