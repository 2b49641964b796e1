/**
 * Writes one sample in any export format (see `Format`): the contract's line and `hf` through
 * `line.ts`, the training formats from the canonical text of the two results.
 */
import type { Slot } from "../Correction.js"
import { type Format, instruction } from "../Format.js"
import type { Job } from "../Sample.js"
import type { ByteWriter } from "./ByteWriter.js"
import type { ScanFailure } from "./lexer.js"
import { canonicalText, type ResultText, write as writeLine } from "./line.js"

/** `{"role":ROLE,"content":TEXT}`. */
const message = (w: ByteWriter, role: string, content: string): void => {
  w.text(`{"role":"${role}","content":`)
  w.string(content)
  w.byte(0x7d)
}

/** `[system, user]`: the instruction, then the pipeline's result. */
const prompt = (w: ByteWriter, before: string): void => {
  w.byte(0x5b)
  message(w, "system", instruction)
  w.byte(0x2c)
  message(w, "user", before)
  w.byte(0x5d)
}

/** `[assistant]`: one answer. */
const answer = (w: ByteWriter, content: string): void => {
  w.byte(0x5b)
  message(w, "assistant", content)
  w.byte(0x5d)
}

/**
 * Appends the sample's line in `format`. The training formats write nothing for a job without a
 * `final_result` (a model must not learn to answer `null`), and `preference` nothing for a job whose
 * results are equal. On failure appends nothing and returns it.
 */
export const write = (
  format: Format,
  w: ByteWriter,
  job: Omit<Job, "result">,
  initial: Slot | ResultText,
  final: Slot | ResultText
): ScanFailure | undefined => {
  if (format === "jsonl" || format === "hf") return writeLine(w, job, initial, final, format === "hf")
  const after = canonicalText(final)
  if (typeof after !== "string") return after
  if (after === "null") return undefined
  const before = final === initial ? after : canonicalText(initial)
  if (typeof before !== "string") return before
  if (format === "preference" && before === after) return undefined
  w.text('{"job_id":')
  w.string(job.id.toLowerCase())
  switch (format) {
    case "prompt-completion":
      w.text(',"prompt":')
      prompt(w, before)
      w.text(',"completion":')
      answer(w, after)
      break
    case "messages":
      w.text(',"messages":[')
      message(w, "system", instruction)
      w.byte(0x2c)
      message(w, "user", before)
      w.byte(0x2c)
      message(w, "assistant", after)
      w.byte(0x5d)
      break
    case "preference":
      w.text(',"prompt":')
      prompt(w, before)
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
