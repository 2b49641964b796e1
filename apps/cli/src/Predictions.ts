/**
 * A predictions file of `eval` (`--predictions`, `--against`), opened for core's `Eval.indexed`: memory
 * holds its index (a job id, a byte range and a digest per line), not the file.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs/promises"
import { Eval } from "@ground-truth/core"
import { Data, Effect } from "effect"

/** How a message names each file: by its flag. */
const FLAG: Record<Eval.PredictionsFile, string> = { predictions: "predictions", against: "--against" }

/**
 * The predictions file cannot be read (exit status 2: the user named it).
 *
 * @since 0.1.0
 * @category errors
 */
export class PredictionsError extends Data.TaggedError("PredictionsError")<{ readonly message: string }> {}

/**
 * The file changed while it was being scored: a line read again is not the line indexed (exit status 1:
 * nothing is wrong with the command, and the same command succeeds once the file is written).
 *
 * @since 0.1.0
 * @category errors
 */
export class PredictionsChanged extends Data.TaggedError("PredictionsChanged")<{
  readonly file: string
  readonly line: number
  /** Which of eval's files: `--predictions` or `--against`. */
  readonly which: Eval.PredictionsFile
}> {
  override get message(): string {
    return (
      `the ${FLAG[this.which]} file ${this.file} changed while it was being scored (line ${this.line} is not the ` +
      "line read at first); nothing was scored: run eval again once the file is complete"
    )
  }
}

/**
 * Opens `file` for the scope and indexes it: what `Eval.run` reads predictions through. `which` says
 * which file it is, for the errors.
 *
 * @since 0.1.0
 */
export const open = (file: string, which: Eval.PredictionsFile = "predictions") => {
  const cannot = (e: unknown) =>
    new PredictionsError({
      message: `cannot read the ${FLAG[which]} file ${file}: ${e instanceof Error ? e.message : String(e)}`
    })
  return Effect.flatMap(
    Effect.acquireRelease(Effect.tryPromise({ try: () => fs.open(file, "r"), catch: cannot }), (h) =>
      Effect.promise(() => h.close())
    ),
    (handle) =>
      Effect.map(
        Eval.indexed(
          (position, length) =>
            Effect.tryPromise({
              try: async () => {
                const buffer = Buffer.allocUnsafe(length)
                const { bytesRead } = await handle.read(buffer, 0, length, position)
                return buffer.subarray(0, bytesRead)
              },
              catch: cannot
            }),
          Eval.limits,
          which
        ),
        (predictions) => ({
          ...predictions,
          read: (at: Eval.Located) =>
            Effect.catchTag(predictions.read(at), "LineChanged", (e) =>
              Effect.fail(new PredictionsChanged({ file, line: e.line, which }))
            )
        })
      )
  )
}
