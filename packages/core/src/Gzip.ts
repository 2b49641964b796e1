/**
 * Gzip for streamed bytes: a compressor fed one batch at a time, for the server's compressed bodies and
 * the CLI's gzipped folder files (several open at once, each its own stream).
 *
 * @since 0.1.0
 */
import * as zlib from "node:zlib"
import { Chunk, Data, Effect, type Scope } from "effect"

/** zlib failed (it should not on bytes it compresses). @since 0.1.0 */
export class CompressionError extends Data.TaggedError("CompressionError")<{ readonly message: string }> {}

/**
 * One gzip stream, fed a batch at a time. Each batch comes out whole (a sync flush), so a client gets
 * what the export has produced so far, not what zlib chose to hold back; `end` gives the trailer. The
 * work runs on libuv's thread pool, beside the export. Lives in the scope: closing it frees zlib's memory.
 *
 * @since 0.1.0
 */
export const gzipper = (
  level: number
): Effect.Effect<
  {
    readonly write: (
      batch: Chunk.Chunk<Uint8Array>
    ) => Effect.Effect<Chunk.Chunk<Uint8Array>, CompressionError>
    readonly end: Effect.Effect<Chunk.Chunk<Uint8Array>, CompressionError>
  },
  never,
  Scope.Scope
> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => zlib.createGzip({ level })),
      (z) => Effect.sync(() => z.destroy())
    ),
    (z) => {
      let out: Array<Buffer> = []
      z.on("data", (b: Buffer) => out.push(b))
      // Flowing mode emits each output buffer as zlib pushes it, before the write's callback; `setImmediate`
      // lets any emission Node queued for the next tick land first all the same.
      const taken = (
        start: (done: (error?: Error | null) => void) => void
      ): Effect.Effect<Chunk.Chunk<Uint8Array>, CompressionError> =>
        Effect.async((resume) => {
          const failed = (e: Error) => resume(Effect.fail(new CompressionError({ message: e.message })))
          z.once("error", failed)
          start((error) =>
            setImmediate(() => {
              z.off("error", failed)
              if (error) return failed(error)
              const bytes = out
              out = []
              resume(Effect.succeed(Chunk.unsafeFromArray<Uint8Array>(bytes)))
            })
          )
        })
      return {
        write: (batch) =>
          taken((done) => {
            for (const buffer of batch) z.write(buffer)
            z.flush(zlib.constants.Z_SYNC_FLUSH, () => done())
          }),
        end: taken((done) => {
          z.once("end", () => done())
          z.end()
        })
      }
    }
  )
