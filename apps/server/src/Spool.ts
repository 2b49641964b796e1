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
import { BadRequest, PayloadTooLarge, ServerError, UploadTimeout } from "@ground-truth/protocol/Api"
import { Duration, Effect, type Scope, Stream } from "effect"
import * as MP from "multipasta"

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

/** The bounds of a body. */
export interface Bounds {
  /** The most bytes taken: a larger body is a 413. */
  readonly limit: number
  /** How long the whole body may take to arrive: later, a 408 (the rest unread). */
  readonly timeout: Duration.Duration
}

/** What `spool` does with a body. */
export interface Options<E> extends Bounds {
  /** Each chunk as it arrives, before it is written; a failure answers at once (the rest dropped). */
  readonly take: (chunk: Uint8Array) => Effect.Effect<void, E>
}

/** A spooled file read back a byte range at a time. */
export type Reader = (position: number, length: number) => Effect.Effect<Uint8Array, ServerError>

const invalidBody = (message: string, parameter = "body") =>
  new BadRequest({ error: { code: "invalid_body", message, parameter } })

/** A temporary folder for a request's files, removed when its scope closes. */
const folder = Effect.acquireRelease(
  Effect.tryPromise({
    try: () => fs.mkdtemp(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`)),
    catch: failed("cannot create a temporary file for the body")
  }),
  (d) => Effect.promise(() => fs.rm(d, { recursive: true, force: true }))
)

/** A file of `dir` for the scope: written a chunk at a time, then read back through `reader`. */
const file = (dir: string, name: string) =>
  Effect.map(
    Effect.acquireRelease(
      Effect.tryPromise({
        try: () => fs.open(path.join(dir, name), "w+"),
        catch: failed("cannot create a temporary file for the body")
      }),
      (h) => Effect.promise(() => h.close())
    ),
    (handle) => {
      let size = 0
      return {
        write: (chunk: Uint8Array) =>
          Effect.tryPromise({
            try: async () => {
              for (let done = 0; done < chunk.length; ) {
                const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, size + done)
                done += bytesWritten
              }
              size += chunk.length
            },
            catch: failed("cannot write the body to a temporary file")
          }),
        reader: ((position: number, length: number) =>
          Effect.tryPromise({
            try: async () => {
              const buffer = Buffer.allocUnsafe(Math.max(0, Math.min(length, size - position)))
              const { bytesRead } = await handle.read(buffer, 0, buffer.length, position)
              return buffer.subarray(0, bytesRead)
            },
            catch: failed("cannot read the spooled body")
          })) satisfies Reader
      }
    }
  )

/**
 * Hands the body's chunks to `consume` as they arrive, at most `limit` bytes (a larger body is a 413),
 * within `timeout`. A failure of `consume` answers at once, the rest of the body read and dropped.
 */
const receive = <A, E, R>(
  request: HttpServerRequest.HttpServerRequest,
  { limit, timeout }: Bounds,
  consume: (body: Stream.Stream<Uint8Array, BadRequest | PayloadTooLarge>) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function* () {
    const declared = Number(request.headers["content-length"] ?? Number.NaN)
    if (declared > limit + DRAIN) return yield* Effect.fail(tooLarge(request, limit, "unread"))
    // Past the limit the rest is read and dropped, so that the client gets its 413 rather than a reset
    // while still sending; past `DRAIN` more it is answered at once and the connection closed.
    let [size, over] = [0, 0]
    let bodyFailed = false
    // Not `request.stream`: stopped early (a bad line, the limit, the deadline), it destroys the request
    // and its socket, and the answer is lost (the log said 499). Left open, the answer goes out with
    // `connection: close`, and Node drops the rest of the body.
    const body = NodeStream.fromReadable(
      () => NodeHttpServerRequest.toIncomingMessage(request),
      () => {
        bodyFailed = true
        return invalidBody("the body cannot be read: the connection failed")
      },
      { closeOnDone: false }
    ).pipe(
      Stream.filterEffect((chunk): Effect.Effect<boolean, PayloadTooLarge> => {
        if (over === 0 && size + chunk.length <= limit) {
          size += chunk.length
          return Effect.succeed(true)
        }
        over += chunk.length
        if (over <= DRAIN) return Effect.succeed(false)
        bodyFailed = true
        return Effect.fail(tooLarge(request, limit, "unread"))
      })
    )
    const result = yield* consume(body).pipe(
      // A body cut at the limit can fail its parser: the limit is what to say.
      Effect.catchAll(
        (e): Effect.Effect<never, E | PayloadTooLarge> =>
          over > 0 && !bodyFailed ? Effect.fail(tooLarge(request, limit, "read")) : Effect.fail(e)
      ),
      Effect.tapError(() => (bodyFailed ? Effect.void : Effect.sync(() => dropRest(request)))),
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
    return result
  })

/**
 * Writes the body to a temporary file (at most `limit` bytes: a larger one is a 413), within `timeout`,
 * handing each chunk to `take`, and gives a reader of byte ranges of it.
 *
 * @since 0.1.0
 */
export const spool = <E>(request: HttpServerRequest.HttpServerRequest, { take, ...bounds }: Options<E>) =>
  Effect.gen(function* () {
    const spooled = yield* file(yield* folder, "body")
    yield* receive(request, bounds, (body) =>
      Stream.runForEach(body, (chunk) => Effect.zipRight(take(chunk), spooled.write(chunk)))
    )
    return spooled.reader
  })

/**
 * Whether the request's body is `multipart/form-data` (what `parts` reads).
 *
 * @since 0.1.0
 */
export const isMultipart = (request: HttpServerRequest.HttpServerRequest): boolean =>
  (request.headers["content-type"] ?? "").toLowerCase().startsWith("multipart/form-data")

/** What the multipart parser found, in order, as it read a chunk. */
type PartEvent =
  | { readonly _tag: "Start"; readonly name: string }
  | { readonly _tag: "Chunk"; readonly chunk: Uint8Array }
  | { readonly _tag: "Failed"; readonly error: MP.MultipartError }

/** Why a multipart body cannot be read, for its 400. */
const unreadable = (error: MP.MultipartError, names: ReadonlyArray<string>): string => {
  switch (error._tag) {
    case "InvalidBoundary":
      return "the multipart body has no boundary in its content-type"
    case "BadHeaders":
      return "a part's headers cannot be read"
    case "InvalidDisposition":
      return "a part has no content-disposition with a name"
    case "ReachedLimit":
      return `the multipart body holds more than ${names.length} parts: the parts are ${names.join(", ")}`
    case "EndNotReached":
      return "the multipart body ends before its closing boundary"
  }
}

/**
 * Writes each part of a `multipart/form-data` body to a temporary file of its own, handing its chunks
 * to its `take` as they arrive (at most `limit` bytes in all, within `timeout`), and gives a reader of
 * each part that came. Every part is read as a file, streamed, whether it names one or not (`curl -F
 * name=@FILE` or `name=<FILE`). A part named otherwise, a part given twice, or a body that is not
 * multipart is a 400 naming it.
 *
 * The parser is multipasta's, driven here: @effect/platform's `Multipart` stream over it waits forever
 * for the rest of a part when the body ends inside one (a busy wait, until the upload timeout).
 *
 * @since 0.1.0
 */
export const parts = <E>(
  request: HttpServerRequest.HttpServerRequest,
  takes: Readonly<Record<string, (chunk: Uint8Array) => Effect.Effect<void, E>>>,
  bounds: Bounds
): Effect.Effect<
  ReadonlyMap<string, Reader>,
  E | BadRequest | PayloadTooLarge | UploadTimeout | ServerError,
  Scope.Scope
> =>
  Effect.gen(function* () {
    const dir = yield* folder
    const names = Object.keys(takes)
    const readers = new Map<string, Reader>()
    const events: Array<PartEvent> = []
    // The closing boundary was read: what follows it is no part (RFC 2046: an epilogue, ignored).
    let closed = false
    const parser = MP.make({
      headers: request.headers,
      isFile: () => true,
      maxParts: names.length,
      // Past the closing boundary, in the write that read it, the parser goes on: nothing it finds counts.
      onFile: (info) => {
        if (!closed) events.push({ _tag: "Start", name: info.name })
        return (chunk) => {
          if (chunk !== null && !closed) events.push({ _tag: "Chunk", chunk })
        }
      },
      // Never called: every part is a file.
      onField: () => undefined,
      onError: (error) => {
        if (!closed) events.push({ _tag: "Failed", error })
      },
      onDone: () => {
        closed = true
      }
    })
    let current:
      | {
          readonly take: (chunk: Uint8Array) => Effect.Effect<void, E>
          readonly write: (chunk: Uint8Array) => Effect.Effect<void, ServerError>
        }
      | undefined
    /** The events of the chunks read so far, in order. */
    const handle: Effect.Effect<void, E | BadRequest | ServerError, Scope.Scope> = Effect.suspend(() => {
      const pending = events.splice(0)
      return Effect.forEach(
        pending,
        (event): Effect.Effect<void, E | BadRequest | ServerError, Scope.Scope> =>
          Effect.gen(function* () {
            switch (event._tag) {
              case "Failed":
                return yield* Effect.fail(invalidBody(unreadable(event.error, names)))
              case "Chunk":
                if (current !== undefined)
                  yield* Effect.zipRight(current.take(event.chunk), current.write(event.chunk))
                return
              case "Start": {
                const take = Object.hasOwn(takes, event.name) ? takes[event.name] : undefined
                const name = event.name.slice(0, 100)
                if (take === undefined)
                  return yield* Effect.fail(
                    invalidBody(`the part ${JSON.stringify(name)} is none of ${names.join(", ")}`, name)
                  )
                if (readers.has(event.name))
                  return yield* Effect.fail(invalidBody(`the part ${name} is given twice`, name))
                const spooled = yield* file(dir, `part-${readers.size}`)
                readers.set(event.name, spooled.reader)
                current = { take, write: spooled.write }
              }
            }
          }),
        { discard: true }
      )
    })
    yield* receive(request, bounds, (body) =>
      Effect.zipRight(
        Stream.runForEach(body, (chunk) =>
          closed
            ? Effect.void
            : Effect.zipRight(
                Effect.sync(() => parser.write(chunk)),
                handle
              )
        ),
        Effect.suspend(() => {
          if (closed) return Effect.void
          parser.end()
          // multipasta says so only when the body ends inside a part's data: a body cut in a part's
          // headers, or after a boundary line, must not pass for a whole one.
          return Effect.zipRight(
            handle,
            Effect.suspend(() =>
              closed
                ? Effect.void
                : Effect.fail(invalidBody("the multipart body ends before its closing boundary"))
            )
          )
        })
      )
    )
    return readers as ReadonlyMap<string, Reader>
  })
