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

/**
 * Appends the sample's line in `format` (nothing for a `preference` sample whose results are equal).
 * On failure appends nothing and returns it.
 */
export const write = (
  format: Format,
  w: ByteWriter,
  job: Omit<Job, "result">,
  initial: Slot | ResultText,
  final: Slot | ResultText
): ScanFailure | undefined => {
  if (format === "jsonl" || format === "hf") return writeLine(w, job, initial, final, format === "hf")
  const before = canonicalText(initial)
  if (typeof before !== "string") return before
  const after = final === initial ? before : canonicalText(final)
  if (typeof after !== "string") return after
  switch (format) {
    case "prompt-completion":
      w.text('{"prompt":')
      w.string(`${instruction}\n\n${before}`)
      w.text(',"completion":')
      w.string(after)
      break
    case "messages":
      w.text('{"messages":[{"role":"system","content":')
      w.string(instruction)
      w.text('},{"role":"user","content":')
      w.string(before)
      w.text('},{"role":"assistant","content":')
      w.string(after)
      w.text("}]")
      break
    case "preference":
      if (before === after) return undefined
      w.text('{"prompt":')
      w.string(`${instruction}\n\n${before}`)
      w.text(',"chosen":')
      w.string(after)
      w.text(',"rejected":')
      w.string(before)
      break
  }
  w.text("}\n")
  return undefined
}
