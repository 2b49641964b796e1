/**
 * The error of `sync --url` (`Remote`), in a module of its own: `Sync` reads it, and `Remote`, which is
 * loaded only by `sync --url`, imports nothing `Sync` does not (an import of `Sync` from `Remote` would
 * make the bundler wrap every module `Sync` reaches for lazy loading, and every start pays for that).
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * A server refused or failed a `/changes` request, or could not be reached (status 0: no answer). What
 * it answered decides the exit status (`usage`): a parameter refused or a cursor it cannot answer for
 * ask the user to act (2), the others are failures (1). See `Remote`.
 *
 * @since 0.1.0
 * @category errors
 */
export class RemoteError extends Data.TaggedError("RemoteError")<{
  readonly status: number
  readonly message: string
  /** The user must act (exit status 2): a parameter refused, a cursor the server cannot answer for. */
  readonly usage: boolean
  /** The server cannot answer for the corpus's cursor (the protocol's `Gone`). */
  readonly stale: boolean
}> {}
