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
import * as zlib from "node:zlib"
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import * as NodeSink from "@effect/platform-node/NodeSink"
import * as NodeStream from "@effect/platform-node/NodeStream"
import { Jsonl } from "@ground-truth/core"
import { Embedded } from "@ground-truth/db"
import { Data, Effect, Exit, Stream } from "effect"

/**
 * The output could not be written.
 *
 * @since 0.1.0
 * @category errors
 */
export class OutputError extends Data.TaggedError("OutputError")<{ readonly message: string }> {}

/** A Node.js stream's error in its own words (`ENOSPC: no space left on device, write`). */
const describeCause = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/**
 * A file system error in the words of the call that failed: the Node.js error it wraps
 * (`EACCES: permission denied, open '…'`), else its description (`write returned 0 bytes written`).
 */
const describe = (e: PlatformError): string =>
  e.cause instanceof Error ? e.cause.message : (e.description ?? e.message)

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
        yield* Effect.ignore(fs.remove(path.join(path.dirname(target), name), { recursive: true }))
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
    const failed = (what: string) => (e: PlatformError) =>
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
 * Writes a dataset folder atomically: each split's parts to `<split>.jsonl` (a split without rows gets no
 * file), then `files` (name → content: the manifest, the card, the features) once the splits are
 * complete, in a temporary folder beside `target` that replaces it only then. An existing `target`
 * is replaced only if it is a dataset folder (it holds a `manifest.json`) or empty: never a folder of
 * other files.
 *
 * @since 0.1.0
 */
export const toDataset = <E, R, E2, R2>(
  target: string,
  parts: Stream.Stream<{ readonly split: string; readonly bytes: Uint8Array }, E, R>,
  files: Effect.Effect<ReadonlyArray<readonly [string, string]>, E2, R2>
): Effect.Effect<void, E | E2 | OutputError, R | R2 | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const partial = partialName(target, process.pid)
    const failed = (what: string, where: string) => (e: PlatformError) =>
      new OutputError({ message: `cannot ${what} ${where}: ${describe(e)}` })
    const existing = yield* fs.readDirectory(target).pipe(Effect.option)
    if (existing._tag === "Some" && existing.value.length > 0 && !existing.value.includes("manifest.json")) {
      return yield* new OutputError({
        message: `${target} holds other files and no manifest.json: not a dataset folder to replace`
      })
    }
    yield* removeStalePartials(target)
    const write = Effect.scoped(
      Effect.gen(function* () {
        yield* fs.makeDirectory(partial).pipe(Effect.mapError(failed("create", partial)))
        const open = new Map<string, FileSystem.File>()
        yield* Stream.runForEach(parts, (part) =>
          Effect.gen(function* () {
            const file = path.join(partial, `${part.split}.jsonl`)
            let handle = open.get(part.split)
            if (handle === undefined) {
              handle = yield* fs
                .open(file, { flag: "wx", mode: 0o644 })
                .pipe(Effect.mapError(failed("create", file)))
              open.set(part.split, handle)
            }
            yield* Effect.mapError(handle.writeAll(part.bytes), failed("write", file))
          })
        )
        for (const handle of open.values()) yield* Effect.mapError(handle.sync, failed("flush", partial))
        for (const [name, content] of yield* files) {
          yield* fs
            .writeFileString(path.join(partial, name), content)
            .pipe(Effect.mapError(failed("write", name)))
        }
      })
    )
    yield* Effect.onExit(write, (exit) =>
      Exit.isSuccess(exit) ? Effect.void : Effect.ignore(fs.remove(partial, { recursive: true }))
    )
    // The old folder moves aside, the new one in, then the old one goes.
    const old = `${partial}.old`
    if (existing._tag === "Some") {
      yield* fs.rename(target, old).pipe(
        Effect.mapError(failed("move aside", target)),
        Effect.tapError(() => Effect.ignore(fs.remove(partial, { recursive: true })))
      )
    }
    yield* fs.rename(partial, target).pipe(
      Effect.mapError((e) => new OutputError({ message: `cannot replace ${target}: ${describe(e)}` })),
      Effect.tapError(() =>
        Effect.zipRight(
          Effect.ignore(fs.remove(partial, { recursive: true })),
          existing._tag === "Some" ? Effect.ignore(fs.rename(old, target)) : Effect.void
        )
      )
    )
    if (existing._tag === "Some") yield* Effect.ignore(fs.remove(old, { recursive: true }))
  })

/**
 * The bytes a corpus file holds: gzip when its name ends in `.gz` (`datasets` reads `.jsonl.gz` as it
 * is), else the stream as it is. Its manifest still describes the uncompressed corpus.
 *
 * @since 0.1.0
 */
export const encodedFor = <E, R>(
  target: string,
  stream: Stream.Stream<Uint8Array, E, R>
): Stream.Stream<Uint8Array, E | OutputError, R> =>
  target.endsWith(".gz")
    ? NodeStream.pipeThroughDuplex(
        stream,
        () => zlib.createGzip(),
        (e) => new OutputError({ message: `cannot compress ${target}: ${describeCause(e)}` })
      )
    : stream

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
      (e) => new OutputError({ message: `cannot write to standard output: ${describeCause(e)}` }),
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
        samples += Jsonl.countLines(chunk)
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
