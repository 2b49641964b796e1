/**
 * Gzip for streamed bodies: whether a request takes it, and a compressor fed one batch at a time.
 *
 * @since 0.1.0
 */
import { Gzip } from "@ground-truth/core"

/**
 * Whether an `Accept-Encoding` header takes gzip (RFC 9110 §12.5.3): `gzip` (or `x-gzip`, or `*` when
 * gzip is not named) with a weight above 0, and not below an explicitly weighted `identity`.
 *
 * @since 0.1.0
 */
export const acceptsGzip = (header: string | undefined): boolean => {
  if (header === undefined) return false
  const weights = new Map<string, number>()
  for (const item of header.split(",")) {
    const [coding, ...params] = item.split(";").map((s) => s.trim().toLowerCase())
    if (coding === undefined || coding === "") continue
    const q = params.find((p) => /^q\s*=/.test(p))
    const weight = q === undefined ? 1 : Number(q.slice(q.indexOf("=") + 1).trim())
    weights.set(coding === "x-gzip" ? "gzip" : coding, Number.isFinite(weight) ? weight : 0)
  }
  const gzip = weights.get("gzip") ?? weights.get("*") ?? 0
  const identity = weights.get("identity")
  return gzip > 0 && (identity === undefined || gzip >= identity)
}

/** zlib failed (core's `Gzip`, shared with the CLI's gzipped folders). @since 0.1.0 */
export const CompressionError = Gzip.CompressionError

/** @since 0.1.0 */
export type CompressionError = Gzip.CompressionError

/** One gzip stream, fed a batch at a time: core's `Gzip.gzipper`. @since 0.1.0 */
export const gzipper = Gzip.gzipper
