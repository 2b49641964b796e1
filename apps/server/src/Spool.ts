/**
 * A request body spooled to a temporary file, so that a large upload (predictions to score) costs disk,
 * not memory; each chunk is handed to a reader as it arrives (the predictions are indexed while they
 * upload, so a bad line is answered at once), the upload has a deadline, and the file is read back a
 * range at a time and removed when the request's scope closes.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { HttpServerRequest } from "@effect/platform"
import { NodeHttpServerRequest, NodeStream } from "@effect/platform-node"
import { Duration, Effect, Stream } from "effect"
import { BadRequest, PayloadTooLarge, ServerError, UploadTimeout } from "./Api.js"

/** How much of a body beyond the limit is still read (and dropped) before answering. */
const DRAIN = 64 * 1024 * 1024

/** The rest of the body is not read: the connection cannot carry another request after it. */
const unread = (request: HttpServerRequest.HttpServerRequest) =>
  NodeHttpServerRequest.toServerResponse(request).setHeader("connection", "close")

/**
 * A request answered before its body was read (a bad line, no free slot): the rest is read and dropped
 * as it comes, so that a client still sending gets the answer rather than a reset, up to `DRAIN` bytes,
 * past which the connection is cut. Once the stream reading it has let go of it.
 *
 * @since 0.1.0
 */
export const dropRest = (request: HttpServerRequest.HttpServerRequest) => {
  const incoming = NodeHttpServerRequest.toIncomingMessage(request)
  let dropped = 0
  incoming.on("data", (chunk: Buffer) => {
    dropped += chunk.length
    if (dropped > DRAIN) incoming.socket.destroy()
  })
  incoming.resume()
}

const tooLarge = (request: HttpServerRequest.HttpServerRequest, limit: number, rest: "unread" | "read") => {
  if (rest === "unread") unread(request)
  return new PayloadTooLarge({
    error: {
      code: "payload_too_large",
      message: `the body is larger than ${limit} bytes (GROUND_TRUTH_EVAL_MAX_BYTES)`
    }
  })
}

const failed = (what: string) => (e: unknown) =>
  new ServerError({
    error: { code: "spool_failed", message: `${what}: ${e instanceof Error ? e.message : String(e)}` }
  })

const PREFIX = "ground-truth-eval-"
/** A spool folder's name, `ground-truth-eval-<pid>-…`: the pid of the server that made it. */
const FOLDER = new RegExp(`^${PREFIX}(\\d+)-`)

/**
 * Removes the spool folders of server processes that are gone: a request's scope removes its own, but a
 * process killed (or stopped at the end of its shutdown grace) mid-upload leaves one behind. Each folder
 * names its process (`ground-truth-eval-<pid>-…`), so a live server's uploads are never touched.
 *
 * @since 0.1.0
 */
export const sweep = Effect.promise(async () => {
  const tmp = os.tmpdir()
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0)
      return true
    } catch (e) {
      // EPERM: it exists, it is just not ours to signal.
      return (e as NodeJS.ErrnoException).code === "EPERM"
    }
  }
  const names = await fs.readdir(tmp).catch(() => [] as Array<string>)
  for (const name of names) {
    const pid = Number(FOLDER.exec(name)?.[1])
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid))
      await fs.rm(path.join(tmp, name), { recursive: true, force: true }).catch(() => undefined)
  }
})

/** What `spool` does with a body. */
export interface Options<E> {
  /** The most bytes taken: a larger body is a 413. */
  readonly limit: number
  /** How long the whole body may take to arrive: later, a 408 (the rest unread). */
  readonly timeout: Duration.Duration
  /** Each chunk as it arrives, before it is written; a failure answers at once (the rest dropped). */
  readonly take: (chunk: Uint8Array) => Effect.Effect<void, E>
}

/**
 * Writes the body to a temporary file (at most `limit` bytes: a larger one is a 413), within `timeout`,
 * handing each chunk to `take`, and gives a reader of byte ranges of it.
 *
 * @since 0.1.0
 */
export const spool = <E>(
  request: HttpServerRequest.HttpServerRequest,
  { limit, take, timeout }: Options<E>
) =>
  Effect.gen(function* () {
    const declared = Number(request.headers["content-length"] ?? Number.NaN)
    if (declared > limit + DRAIN) return yield* Effect.fail(tooLarge(request, limit, "unread"))
    const dir = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => fs.mkdtemp(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`)),
        catch: failed("cannot create a temporary file for the body")
      }),
      (d) => Effect.promise(() => fs.rm(d, { recursive: true, force: true }))
    )
    const handle = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => fs.open(path.join(dir, "body"), "w+"),
        catch: failed("cannot create a temporary file for the body")
      }),
      (h) => Effect.promise(() => h.close())
    )
    let size = 0
    const write = (chunk: Uint8Array) =>
      Effect.tryPromise({
        try: async () => {
          for (let done = 0; done < chunk.length; ) {
            const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, size + done)
            done += bytesWritten
          }
          size += chunk.length
        },
        catch: failed("cannot write the body to a temporary file")
      })
    // Past the limit the rest is read and dropped, so that the client gets its 413 rather than a reset
    // while still sending; past `DRAIN` more it is answered at once and the connection closed.
    let over = 0
    // Not `request.stream`: stopped early (a bad line, the limit, the deadline), it destroys the request
    // and its socket, and the answer is lost (the log said 499). Left open, the answer goes out with
    // `connection: close`, and Node drops the rest of the body.
    const body = NodeStream.fromReadable(
      () => NodeHttpServerRequest.toIncomingMessage(request),
      () =>
        new BadRequest({
          error: {
            code: "invalid_body",
            message: "the body cannot be read: the connection failed",
            parameter: "body"
          }
        }),
      { closeOnDone: false }
    )
    let refused = false
    yield* Stream.runForEach(body, (chunk): Effect.Effect<void, PayloadTooLarge | ServerError | E> => {
      if (over === 0 && size + chunk.length <= limit)
        return Effect.zipRight(
          Effect.tapError(take(chunk), () =>
            Effect.sync(() => {
              refused = true
            })
          ),
          write(chunk)
        )
      over += chunk.length
      return over > DRAIN ? Effect.fail(tooLarge(request, limit, "unread")) : Effect.void
    }).pipe(
      Effect.tapError(() => (refused ? Effect.sync(() => dropRest(request)) : Effect.void)),
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () => {
          unread(request)
          return new UploadTimeout({
            error: {
              code: "upload_timeout",
              message:
                `the body did not arrive within ${Duration.format(timeout)} ` +
                `(GROUND_TRUTH_EVAL_UPLOAD_TIMEOUT): ${size + over} bytes came`
            }
          })
        }
      })
    )
    if (over > 0) return yield* Effect.fail(tooLarge(request, limit, "read"))
    return (position: number, length: number) =>
      Effect.tryPromise({
        try: async () => {
          const buffer = Buffer.allocUnsafe(Math.max(0, Math.min(length, size - position)))
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, position)
          return buffer.subarray(0, bytesRead)
        },
        catch: failed("cannot read the spooled body")
      })
  })
