/**
 * Where an export goes: standard output, or a file that appears only when the export is complete.
 *
 * A file export writes to a temporary file beside the target and renames it over the target only on
 * success, so a failed, interrupted or killed export never leaves a partial corpus or clobbers the
 * previous one. A temporary file left by a process that died (SIGKILL, power loss) is removed by the
 * next export to the same target.
 *
 * @since 0.1.0
 */
import * as path from "node:path"
import { FileSystem } from "@effect/platform"
import { NodeSink } from "@effect/platform-node"
import { Embedded } from "@ground-truth/db"
import { Data, Effect, Exit, Stream } from "effect"

/**
 * The output could not be written.
 *
 * @since 0.1.0
 * @category errors
 */
export class OutputError extends Data.TaggedError("OutputError")<{ readonly message: string }> {}

const describe = (e: unknown): string => {
  const error = e as {
    readonly message?: unknown
    readonly description?: unknown
    readonly cause?: { message?: unknown }
  }
  const text = error.cause?.message ?? error.description ?? error.message
  return typeof text === "string" ? text : String(e)
}

/** `.corpus.jsonl.<pid>.partial` beside `corpus.jsonl`. */
const partialName = (target: string, pid: number) =>
  path.join(path.dirname(target), `.${path.basename(target)}.${pid}.partial`)

const removeStalePartials = (target: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const prefix = `.${path.basename(target)}.`
    const names = yield* fs.readDirectory(path.dirname(target)).pipe(Effect.orElseSucceed(() => []))
    for (const name of names) {
      const pid = Number(name.slice(prefix.length, -".partial".length))
      if (
        name.startsWith(prefix) &&
        name.endsWith(".partial") &&
        Number.isInteger(pid) &&
        !Embedded.isAlive(pid)
      ) {
        yield* Effect.ignore(fs.remove(path.join(path.dirname(target), name)))
      }
    }
  })

/**
 * Writes `stream` to `target` atomically: all of it, or nothing changes. `beforeReplace` runs once the
 * bytes are complete and synced, before they replace the target: if it fails, the target is untouched
 * (how a manifest is written only alongside its corpus).
 *
 * @since 0.1.0
 */
export const toFile = <E, R, E2 = never, R2 = never>(
  target: string,
  stream: Stream.Stream<Uint8Array, E, R>,
  beforeReplace: Effect.Effect<void, E2, R2> = Effect.void as Effect.Effect<void, E2, R2>
): Effect.Effect<void, E | E2 | OutputError, R | R2 | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const partial = partialName(target, process.pid)
    const failed = (what: string) => (e: unknown) =>
      new OutputError({ message: `cannot ${what} ${partial}: ${describe(e)}` })
    yield* removeStalePartials(target)
    const write = Effect.scoped(
      Effect.gen(function* () {
        const file = yield* fs
          .open(partial, { flag: "wx", mode: 0o644 })
          .pipe(Effect.mapError(failed("create")))
        // writeAll fails on an empty buffer ("write returned 0 bytes written"): there is nothing to write.
        yield* Stream.runForEach(stream, (chunk) =>
          chunk.length === 0 ? Effect.void : Effect.mapError(file.writeAll(chunk), failed("write"))
        )
        yield* Effect.mapError(file.sync, failed("flush"))
        yield* beforeReplace
      })
    )
    yield* Effect.onExit(write, (exit) =>
      Exit.isSuccess(exit) ? Effect.void : Effect.ignore(fs.remove(partial))
    )
    yield* fs.rename(partial, target).pipe(
      Effect.mapError((e) => new OutputError({ message: `cannot replace ${target}: ${describe(e)}` })),
      Effect.tapError(() => Effect.ignore(fs.remove(partial)))
    )
  })

/**
 * Writes `stream` to standard output, waiting for the reader (back-pressure) between chunks.
 *
 * @since 0.1.0
 */
export const toStdout = <E, R>(
  stream: Stream.Stream<Uint8Array, E, R>
): Effect.Effect<void, E | OutputError, R> =>
  Stream.run(
    stream,
    NodeSink.fromWritable(
      () => process.stdout,
      (e) => new OutputError({ message: `cannot write to standard output: ${describe(e)}` }),
      { endOnDone: false }
    )
  )

/**
 * Counts samples (lines) as they pass and, when standard error is a terminal, shows a progress line.
 *
 * @since 0.1.0
 */
export const withProgress = <E, R>(
  stream: Stream.Stream<Uint8Array, E, R>,
  label: string
): Stream.Stream<Uint8Array, E, R> => {
  if (!process.stderr.isTTY) return stream
  let samples = 0
  let bytes = 0
  const started = Date.now()
  let shown = 0
  const show = (final: boolean) => {
    const seconds = (Date.now() - started) / 1000
    const rate = seconds > 0 ? Math.round(samples / seconds) : 0
    process.stderr.write(
      `\r\x1b[K${label}: ${samples.toLocaleString("en-US")} samples, ${(bytes / 1e6).toFixed(1)} MB, ${rate.toLocaleString("en-US")}/s${final ? "\n" : ""}`
    )
  }
  return stream.pipe(
    Stream.tap((chunk) =>
      Effect.sync(() => {
        for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) samples++
        bytes += chunk.length
        if (Date.now() - shown > 250) {
          shown = Date.now()
          show(false)
        }
      })
    ),
    Stream.ensuring(Effect.sync(() => show(true)))
  )
}
