/**
 * The canonical bytes of the corpus (contract §5–§6): one compact JSON object per sample, keys in the
 * contract's fixed order, nested result keys sorted by UTF-16 code units, numbers as stored, timestamps
 * in UTC with their microseconds, each line ending in `\n`.
 *
 * @since 0.1.0
 */
import { ByteWriter } from "./internal/byteWriter.js"
import { write } from "./internal/line.js"
import type { Sample } from "./Sample.js"

const sampleBytes = (s: Sample): ByteWriter => {
  const w = new ByteWriter()
  // A job without events replays to its own result: the same object, serialized once.
  write(w, s, s.initialResult, s.result)
  return w
}

/**
 * One sample as its canonical line, `\n` included.
 *
 * @since 0.1.0
 */
export const line = (s: Sample): string => sampleBytes(s).toString()

/**
 * One sample as UTF-8 bytes (no BOM).
 *
 * @since 0.1.0
 */
export const encode = (s: Sample): Uint8Array => sampleBytes(s).take()

/**
 * The lines in a piece of a corpus: its `\n` bytes. Every sample ends in one and no line holds another
 * (the canonical form escapes it), so over the chunks of a body the sum is its samples, however the
 * chunks cut it.
 *
 * @since 0.1.0
 */
export const countLines = (bytes: Uint8Array): number => {
  let n = 0
  for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) n++
  return n
}
