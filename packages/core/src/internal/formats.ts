/**
 * Writes one sample in any export format (see `Format`): the contract's line and `hf` through
 * `line.ts`, the training formats from the canonical text of the two results and the letter's text.
 */
import type { Slot } from "../Correction.js"
import {
  type Format,
  type Input,
  instruction,
  instructionFromText,
  instructionWithText,
  pipelineHeading,
  textHeading
} from "../Format.js"
import type { Job } from "../Sample.js"
import type { ByteWriter } from "./byteWriter.js"
import type { ScanFailure } from "./lexer.js"
import { canonicalText, type ResultText, write as writeLine } from "./line.js"

/** What an export writes: its format, and what the model reads (see `Format.Input`). */
export interface Output {
  readonly format: Format
  readonly input: Input
}

/** `{"role":ROLE,"content":TEXT}`. */
const message = (w: ByteWriter, role: string, content: string): void => {
  w.text(`{"role":"${role}","content":`)
  w.string(content)
  w.byte(0x7d)
}

/** The system message and the user's, the sample's input. */
interface Turns {
  readonly system: string
  readonly user: string
}

/** `[system, user]`. */
const prompt = (w: ByteWriter, turns: Turns): void => {
  w.byte(0x5b)
  message(w, "system", turns.system)
  w.byte(0x2c)
  message(w, "user", turns.user)
  w.byte(0x5d)
}

/** `[assistant]`: one answer. */
const answer = (w: ByteWriter, content: string): void => {
  w.byte(0x5b)
  message(w, "assistant", content)
  w.byte(0x5d)
}

/**
 * The input of a training sample from the pipeline's JSON (`"null"` for none) and the letter's text,
 * or `undefined` when the input has nothing to show the model.
 */
const turns = (input: Input, before: string, text: string | null): Turns | undefined => {
  if (input === "text") return text === null ? undefined : { system: instructionFromText, user: text }
  if (input === "both" && text !== null) {
    return { system: instructionWithText, user: `${textHeading}\n${text}\n\n${pipelineHeading}\n${before}` }
  }
  return before === "null" ? undefined : { system: instruction, user: before }
}

/**
 * Appends the sample's line in `output`'s format, `text` the letter's OCR text (`null`: none kept).
 * The training formats write nothing for a job without a `final_result` (a model must not learn to
 * answer `null`) or without an input, and `preference` nothing for a job without a pipeline result or
 * whose results are equal. On failure appends nothing and returns it.
 */
export const write = (
  output: Output,
  w: ByteWriter,
  job: Omit<Job, "result">,
  initial: Slot | ResultText,
  final: Slot | ResultText,
  text: string | null
): ScanFailure | undefined => {
  const { format, input } = output
  if (format === "jsonl" || format === "hf") {
    return writeLine(w, job, initial, final, format === "hf", input === "pipeline" ? undefined : text)
  }
  const after = canonicalText(final)
  if (typeof after !== "string") return after
  if (after === "null") return undefined
  const before = final === initial ? after : canonicalText(initial)
  if (typeof before !== "string") return before
  if (format === "preference" && (before === after || before === "null")) return undefined
  const sample = turns(input, before, text)
  if (sample === undefined) return undefined
  w.text('{"job_id":')
  w.string(job.id.toLowerCase())
  switch (format) {
    case "prompt-completion":
      w.text(',"prompt":')
      prompt(w, sample)
      w.text(',"completion":')
      answer(w, after)
      break
    case "messages":
      w.text(',"messages":[')
      message(w, "system", sample.system)
      w.byte(0x2c)
      message(w, "user", sample.user)
      w.byte(0x2c)
      message(w, "assistant", after)
      w.byte(0x5d)
      break
    case "preference":
      w.text(',"prompt":')
      prompt(w, sample)
      w.text(',"chosen":')
      answer(w, after)
      w.text(',"rejected":')
      answer(w, before)
      break
  }
  w.text("}\n")
  return undefined
}

/** Formats with a line for every job that matches (the training formats leave some out). */
export const linePerJob = (format: Format): boolean => format === "jsonl" || format === "hf"
