/**
 * Where an export goes: standard output, or a file that appears only when the export is complete.
 *
 * A file export writes to a temporary file beside the target and renames it over the target only on
 * success, so a failed, interrupted or killed export never leaves a partial corpus or clobbers the
 * previous one. A temporary file left by a process that died (SIGKILL, power loss) is removed by the
 * next export to the same target.
 *
 * A target is resolved before anything is written (`target`): a symbolic link is followed to the file
 * it names, which is replaced beside itself, so the link stays a link and shows the new bytes; a name
 * that is not a regular file (a device, a FIFO, a socket, a folder) is refused, since renaming over it
 * would replace the node itself (as root, `--out /dev/null` would replace the system's `/dev/null`).
 *
 * A new file is readable by its owner only (0600: a corpus holds personal data); a file replaced keeps
 * its permission bits and, where the writer may set them, its owner and group (where the group cannot be
 * kept, the group's bits are dropped rather than given to another group). A dataset folder is the same,
 * as a folder (0700); its files get the folder's bits without execute.
 *
 * @since 0.1.0
 */
import type { Stats } from "node:fs"
import * as nodeFs from "node:fs/promises"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import * as NodeSink from "@effect/platform-node/NodeSink"
import { type Format, Gzip, Jsonl, Manifest, Parquet } from "@ground-truth/core"
import { Embedded } from "@ground-truth/db"
import { Chunk, Console, Data, Effect, Exit, Option, type Scope, Stream } from "effect"

/**
 * The output could not be written.
 *
 * @since 0.1.0
 * @category errors
 */
export class OutputError extends Data.TaggedError("OutputError")<{ readonly message: string }> {}

/**
 * The user named something that cannot be written as asked (exit status 2): a device, a FIFO, a socket
 * or a folder where a file goes, a file where a folder goes, a loop of symbolic links.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidTarget extends Data.TaggedError("InvalidTarget")<{ readonly message: string }> {}

/**
 * A file or folder to write: `name` as the user wrote it, for messages; `file` where the bytes go, every
 * symbolic link followed.
 *
 * @since 0.1.0
 */
export interface Target {
  readonly name: string
  readonly file: string
}

/** A Node.js stream's error in its own words (`ENOSPC: no space left on device, write`). */
const describeCause = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/**
 * A file system error in the words of the call that failed: the Node.js error it wraps
 * (`EACCES: permission denied, open '…'`), else its description (`write returned 0 bytes written`).
 *
 * @since 0.1.0
 */
export const describe = (e: PlatformError): string =>
  e.cause instanceof Error ? e.cause.message : (e.description ?? e.message)

// `@effect/platform`'s FileSystem has no lstat: the resolution of a target calls Node.js itself.
const attempt = <A>(f: () => Promise<A>) =>
  Effect.tryPromise({ try: f, catch: (e) => e as NodeJS.ErrnoException })

/** `f`'s answer, or none where nothing is (ENOENT). */
const ifThere = <A>(f: () => Promise<A>) =>
  attempt(f).pipe(
    Effect.map(Option.some),
    Effect.catchIf(
      (e) => e.code === "ENOENT",
      () => Effect.succeedNone
    )
  )

/** What a path names, in words. */
const kindOf = (s: Stats): string =>
  s.isFile()
    ? "a regular file"
    : s.isDirectory()
      ? "a folder"
      : s.isCharacterDevice()
        ? "a character device"
        : s.isBlockDevice()
          ? "a block device"
          : s.isFIFO()
            ? "a FIFO"
            : s.isSocket()
              ? "a socket"
              : s.isSymbolicLink()
                ? "a symbolic link"
                : "not a regular file"

/** Linux's limit on the links one lookup follows (`ELOOP` beyond it). */
const MAX_LINKS = 40

const loop = (flag: string, name: string) =>
  new InvalidTarget({
    message: `${flag} ${name} is a loop of symbolic links (or a chain of more than ${MAX_LINKS})`
  })

/**
 * `raw` with its folder as the kernel finds it: in `a/link/../x`, `..` is the parent of what `link`
 * points at, not `a` (a lexical `path.resolve` would say `a/x`). A folder that does not exist is left as
 * written: creating the file there fails, and says so.
 */
const inFolder = (raw: string) => {
  const base = path.basename(raw)
  if (base === "" || base === "." || base === "..") {
    return attempt(() => nodeFs.realpath(raw)).pipe(Effect.orElseSucceed(() => path.resolve(raw)))
  }
  return attempt(() => nodeFs.realpath(path.dirname(raw))).pipe(
    Effect.orElseSucceed(() => path.resolve(path.dirname(raw))),
    Effect.map((folder) => path.join(folder, base))
  )
}

/**
 * Resolves what `flag NAME` names (`raw`: NAME, absolute or joined to the folder it was typed in, not yet
 * normalized) before anything is written: the file itself, or the file a chain of symbolic links ends
 * at (a link that points nowhere yet: the file it names is created, as a shell's `>` would). Anything
 * but a regular file (a folder, with `kind: "folder"`) is refused.
 *
 * @since 0.1.0
 */
export const target = (
  flag: string,
  name: string,
  raw: string,
  kind: "file" | "folder" = "file"
): Effect.Effect<Target, InvalidTarget | OutputError> =>
  Effect.gen(function* () {
    const fits = (s: Stats) => (kind === "file" ? s.isFile() : s.isDirectory())
    const refuse = (what: string) =>
      new InvalidTarget({
        message:
          kind === "file"
            ? `${flag} ${name} is ${what}, not a regular file: name a file to write, or - for standard output`
            : `${flag} ${name} is ${what}, not a folder`
      })
    const found = (file: string, s: Stats) =>
      fits(s) ? Effect.succeed({ name, file }) : Effect.fail(refuse(kindOf(s)))
    const file = yield* inFolder(raw)
    const own = yield* ifThere(() => nodeFs.lstat(file))
    if (Option.isNone(own)) return { name, file }
    if (!own.value.isSymbolicLink()) return yield* found(file, own.value)
    const followed = yield* ifThere(() => nodeFs.stat(file))
    if (Option.isSome(followed)) {
      if (!fits(followed.value)) return yield* refuse(`a symbolic link to ${kindOf(followed.value)}`)
      const real = yield* attempt(() => nodeFs.realpath(file))
      // A link of /proc to a deleted file names a path where that file is not.
      const there = yield* ifThere(() => nodeFs.lstat(real))
      if (
        Option.isNone(there) ||
        there.value.dev !== followed.value.dev ||
        there.value.ino !== followed.value.ino
      ) {
        return yield* refuse("a symbolic link to a file that has no name to replace")
      }
      return { name, file: real }
    }
    // A link that points nowhere (yet): follow it, link by link, to the name the chain ends at.
    let at = file
    for (let hops = 0; hops <= MAX_LINKS; hops++) {
      const s = yield* ifThere(() => nodeFs.lstat(at))
      if (Option.isNone(s)) return { name, file: at }
      if (!s.value.isSymbolicLink()) return yield* found(at, s.value)
      const to = yield* attempt(() => nodeFs.readlink(at))
      at = yield* inFolder(path.isAbsolute(to) ? to : `${path.dirname(at)}/${to}`)
    }
    return yield* loop(flag, name)
  }).pipe(
    Effect.mapError((e) =>
      e instanceof InvalidTarget
        ? e
        : e.code === "ELOOP"
          ? loop(flag, name)
          : new OutputError({ message: `cannot resolve ${flag} ${name}: ${e.message}` })
    )
  )

/** The file or folder at `target` now, if any (not following a link). */
const present = (target: Target) =>
  ifThere(() => nodeFs.lstat(target.file)).pipe(
    Effect.mapError((e) => new OutputError({ message: `cannot read ${target.name}: ${e.message}` }))
  )

/**
 * Just before a rename: the target is still what `target` resolved (nothing, or a regular file, or a
 * folder), not a node that something put there since.
 */
const stillFits = (target: Target, kind: "file" | "folder") =>
  Effect.flatMap(present(target), (s) =>
    Option.isNone(s) || (kind === "file" ? s.value.isFile() : s.value.isDirectory())
      ? Effect.void
      : Effect.fail(
          new OutputError({
            message: `${target.name} became ${kindOf(s.value)} while it was written: left as it is`
          })
        )
  )

/**
 * `file` (new, ours) gets `mode`, and the owner and group of `from`, the file it replaces, as far as this
 * process may set them: root keeps both, a member of the group keeps the group. A group it cannot keep
 * gets no permission bits, so that replacing a file never opens it to another group.
 */
const keepAccess = (file: string, from: Stats, mode: number) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const group = yield* fs.chown(file, from.uid, from.gid).pipe(
      Effect.orElse(() => fs.chown(file, -1, from.gid)),
      Effect.as(true),
      Effect.orElseSucceed(() => false)
    )
    yield* fs
      .chmod(file, group ? mode : mode & ~0o070)
      .pipe(
        Effect.mapError((e) => new OutputError({ message: `cannot set the mode of ${file}: ${describe(e)}` }))
      )
  })

/** `.corpus.jsonl.<pid>.partial` beside `corpus.jsonl`. */
const partialName = (file: string, pid: number) =>
  path.join(path.dirname(file), `.${path.basename(file)}.${pid}.partial`)

/**
 * What processes that died left beside `file`: their temporary files or folders (`suffix` `.partial`), or
 * the dataset folders they moved aside (`.partial.old`).
 */
const leftBehind = (file: string, suffix: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const prefix = `.${path.basename(file)}.`
    const names = yield* fs.readDirectory(path.dirname(file)).pipe(Effect.orElseSucceed(() => []))
    return names
      .filter((name) => {
        if (!name.startsWith(prefix) || !name.endsWith(suffix)) return false
        const pid = name.slice(prefix.length, -suffix.length)
        return /^[1-9]\d*$/.test(pid) && !Embedded.isAlive(Number(pid))
      })
      .map((name) => path.join(path.dirname(file), name))
  })

const removeStalePartials = (file: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    for (const partial of yield* leftBehind(file, ".partial")) {
      yield* Effect.ignore(fs.remove(partial, { recursive: true }))
    }
  })

/**
 * Finishes the replacement of `target` that a killed process left half done: the first temporary file
 * a dead process left beside it for which `fits` holds (its bytes are the ones a manifest describes, say)
 * is renamed over it. Its name, if one was.
 *
 * @since 0.1.0
 */
export const takeOver = <E, R>(target: Target, fits: (file: string) => Effect.Effect<boolean, E, R>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    for (const partial of yield* leftBehind(target.file, ".partial")) {
      if (!(yield* fits(partial))) continue
      yield* fs
        .rename(partial, target.file)
        .pipe(
          Effect.mapError(
            (e) =>
              new OutputError({ message: `cannot replace ${target.name} with ${partial}: ${describe(e)}` })
          )
        )
      return Option.some(partial)
    }
    return Option.none<string>()
  })

/**
 * Writes `stream` to `target` atomically: all of it, or nothing changes. `beforeReplace` runs once the
 * bytes are complete and synced, before they replace the target: if it fails, the target is untouched
 * (how a manifest is written only alongside its corpus).
 *
 * @since 0.1.0
 */
export const toFile = <E, R, E2 = never, R2 = never>(
  target: Target,
  stream: Stream.Stream<Uint8Array, E, R>,
  beforeReplace: Effect.Effect<void, E2, R2> = Effect.void as Effect.Effect<void, E2, R2>
): Effect.Effect<void, E | E2 | OutputError, R | R2 | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const partial = partialName(target.file, process.pid)
    const failed = (what: string) => (e: PlatformError) =>
      new OutputError({ message: `cannot ${what} ${partial}: ${describe(e)}` })
    yield* removeStalePartials(target.file)
    const write = Effect.scoped(
      Effect.gen(function* () {
        const previous = Option.filter(yield* present(target), (s) => s.isFile())
        const file = yield* fs
          .open(partial, { flag: "wx", mode: 0o600 })
          .pipe(Effect.mapError(failed("create")))
        if (Option.isSome(previous)) yield* keepAccess(partial, previous.value, previous.value.mode & 0o777)
        // writeAll fails on an empty buffer ("write returned 0 bytes written"): there is nothing to write.
        yield* Stream.runForEach(stream, (chunk) =>
          chunk.length === 0 ? Effect.void : Effect.mapError(file.writeAll(chunk), failed("write"))
        )
        yield* Effect.mapError(file.sync, failed("flush"))
        yield* beforeReplace
        yield* stillFits(target, "file")
      })
    )
    yield* Effect.onExit(write, (exit) =>
      Exit.isSuccess(exit) ? Effect.void : Effect.ignore(fs.remove(partial))
    )
    yield* fs.rename(partial, target.file).pipe(
      Effect.mapError((e) => new OutputError({ message: `cannot replace ${target.name}: ${describe(e)}` })),
      Effect.tapError(() => Effect.ignore(fs.remove(partial)))
    )
  })

/**
 * Puts back a dataset folder that a killed `toDataset` left moved aside (`.DIR.<pid>.partial.old`, DIR
 * missing: killed between its two renames), removes the ones it left beside a folder already in place
 * (killed after them), and the temporary folders of dead processes. Of several moved aside (several
 * runs killed), the one moved last comes back. `toDataset` starts with it; the CLI also runs it before
 * it opens the database, so that the folder is back even when the export then fails.
 *
 * @since 0.1.0
 */
export const recoverDataset = (target: Target) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const aside = yield* leftBehind(target.file, ".partial.old")
    let restored: string | undefined
    if (aside.length > 0 && Option.isNone(yield* present(target))) {
      let newest = -1
      for (const old of aside) {
        const s = yield* ifThere(() => nodeFs.lstat(old)).pipe(Effect.orElseSucceed(() => Option.none()))
        if (Option.isSome(s) && s.value.ctimeMs > newest) {
          newest = s.value.ctimeMs
          restored = old
        }
      }
    }
    if (restored !== undefined) {
      const from = restored
      yield* fs
        .rename(from, target.file)
        .pipe(
          Effect.mapError(
            (e) => new OutputError({ message: `cannot restore ${target.name} from ${from}: ${describe(e)}` })
          )
        )
      yield* Console.error(
        `${target.name}: restored from ${path.basename(from)}, where an export that was killed had moved it aside`
      )
    }
    for (const old of aside) {
      if (old !== restored) yield* Effect.ignore(fs.remove(old, { recursive: true }))
    }
    yield* removeStalePartials(target.file)
  })

/** A file of a folder being written: its bytes written as they come (encoded), then closed. */
interface FolderFile {
  readonly path: string
  readonly write: (bytes: Uint8Array) => Effect.Effect<void, OutputError>
  /** Flushes it to disk: what it holds as written. */
  readonly close: Effect.Effect<Written, OutputError>
}

/**
 * How a folder's files are made from their lines, one encoder a file (several open at once): `write`
 * takes lines and gives what goes into the file so far, `end` the rest (gzip: `Gzip.gzipper`; Parquet:
 * `Parquet.writer`).
 *
 * @since 0.1.0
 */
export interface Encoder {
  readonly write: (bytes: Uint8Array) => Effect.Effect<Chunk.Chunk<Uint8Array>, { readonly message: string }>
  readonly end: Effect.Effect<Chunk.Chunk<Uint8Array>, { readonly message: string }>
}

/**
 * Creates `file` (new) in the scope; with an encoder, its bytes go through an encoder of their own, so
 * that the parts of several files can come interleaved, and are counted as written.
 */
const folderFile = (
  file: string,
  encoder: Effect.Effect<Encoder, never, Scope.Scope> | undefined,
  failed: (what: string, where: string) => (e: PlatformError) => OutputError
) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const handle = yield* fs
      .open(file, { flag: "wx", mode: 0o600 })
      .pipe(Effect.mapError(failed("create", file)))
    const writeAll = (bytes: Uint8Array) =>
      bytes.length === 0 ? Effect.void : Effect.mapError(handle.writeAll(bytes), failed("write", file))
    const sync = Effect.mapError(handle.sync, failed("flush", file))
    if (encoder === undefined) {
      return {
        path: file,
        write: writeAll,
        close: Effect.as(sync, { bytes: 0, sha256: "" })
      } satisfies FolderFile
    }
    const z = yield* encoder
    const count = Manifest.counter()
    const encoded = (chunks: Effect.Effect<Chunk.Chunk<Uint8Array>, { readonly message: string }>) =>
      chunks.pipe(
        Effect.mapError((e) => new OutputError({ message: `cannot encode ${file}: ${e.message}` })),
        Effect.flatMap((out) =>
          Effect.forEach(
            out,
            (bytes) =>
              Effect.zipRight(
                Effect.sync(() => count.add(bytes)),
                writeAll(bytes)
              ),
            {
              discard: true
            }
          )
        )
      )
    return {
      path: file,
      write: (bytes) => encoded(z.write(bytes)),
      close: Effect.gen(function* () {
        yield* encoded(z.end)
        yield* sync
        const { bytes, sha256 } = count.counts()
        return { bytes, sha256 }
      })
    } satisfies FolderFile
  })

/**
 * Gzip as a folder's encoder (`--gzip`): one gzip stream a file.
 *
 * @since 0.1.0
 */
export const gzipEncoder: Effect.Effect<Encoder, never, Scope.Scope> = Effect.map(
  Gzip.gzipper(zlib.constants.Z_DEFAULT_COMPRESSION),
  (z) => ({ write: (bytes) => z.write(Chunk.of(bytes)), end: z.end })
)

/**
 * A file of a folder as written, when its bytes are not the lines the export counted (gzipped, Parquet):
 * its bytes and SHA-256.
 *
 * @since 0.1.0
 */
export interface Written {
  readonly bytes: number
  readonly sha256: string
}

/**
 * Writes a folder of files atomically (a dataset, or shards): each part's bytes to its file (a file named
 * by no part is not written; an empty part makes an empty file), then `files` (name → content: the
 * manifest, the card, the features) once the parts are complete, in a temporary folder beside `target`
 * that replaces it only then. With an `encoder`, each part's file goes through one of its own (an empty
 * one too: a gzip stream, a Parquet file of no rows), and `files` is told what each holds as written;
 * else that map is empty (the bytes are the parts'). An
 * existing `target` is replaced only if it is a dataset folder (it holds a `manifest.json`) or empty: never
 * a folder of other files. Replacing takes two renames (the old folder aside, the new one in: Node.js has
 * no atomic exchange); a run killed between them leaves the folder aside, and the next run puts it back
 * (`recoverDataset`).
 *
 * @since 0.1.0
 */
export const toDataset = <E, R, E2, R2>(
  target: Target,
  parts: Stream.Stream<{ readonly file: string; readonly bytes: Uint8Array }, E, R>,
  files: (
    written: ReadonlyMap<string, Written>
  ) => Effect.Effect<ReadonlyArray<readonly [string, string]>, E2, R2>,
  options: { readonly encoder?: Effect.Effect<Encoder, never, Scope.Scope> } = {}
): Effect.Effect<void, E | E2 | OutputError, R | R2 | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    yield* recoverDataset(target)
    const partial = partialName(target.file, process.pid)
    const failed = (what: string, where: string) => (e: PlatformError) =>
      new OutputError({ message: `cannot ${what} ${where}: ${describe(e)}` })
    const existing = yield* fs.readDirectory(target.file).pipe(Effect.option)
    if (existing._tag === "Some" && existing.value.length > 0 && !existing.value.includes("manifest.json")) {
      return yield* new OutputError({
        message: `${target.name} holds other files and no manifest.json: not a dataset folder to replace`
      })
    }
    const previous = Option.filter(yield* present(target), (s) => s.isDirectory())
    // The files of a folder that is replaced are as open as the folder was.
    const access = (file: string, bits: number) =>
      Option.isSome(previous) ? keepAccess(file, previous.value, previous.value.mode & bits) : Effect.void
    const write = Effect.scoped(
      Effect.gen(function* () {
        yield* fs.makeDirectory(partial, { mode: 0o700 }).pipe(Effect.mapError(failed("create", partial)))
        const open = new Map<string, FolderFile>()
        yield* Stream.runForEach(parts, (part) =>
          Effect.gen(function* () {
            let out = open.get(part.file)
            if (out === undefined) {
              out = yield* folderFile(path.join(partial, part.file), options.encoder, failed)
              yield* access(out.path, 0o666)
              open.set(part.file, out)
            }
            // An empty part names a file that must exist, lines or none (a shard without jobs).
            if (part.bytes.length > 0) yield* out.write(part.bytes)
          })
        )
        const written = new Map<string, Written>()
        for (const [name, out] of open) {
          const counts = yield* out.close
          if (options.encoder !== undefined) written.set(name, counts)
        }
        for (const [name, content] of yield* files(written)) {
          const file = path.join(partial, name)
          yield* fs
            .writeFileString(file, content, { flag: "wx", mode: 0o600 })
            .pipe(Effect.mapError(failed("write", name)))
          yield* access(file, 0o666)
        }
        // Last: the old folder's bits could forbid writing into it.
        yield* access(partial, 0o777)
        yield* stillFits(target, "folder")
      })
    )
    yield* Effect.onExit(write, (exit) =>
      Exit.isSuccess(exit) ? Effect.void : Effect.ignore(fs.remove(partial, { recursive: true }))
    )
    // The old folder moves aside, the new one in, then the old one goes.
    const old = `${partial}.old`
    if (existing._tag === "Some") {
      yield* fs.rename(target.file, old).pipe(
        Effect.mapError(failed("move aside", target.name)),
        Effect.tapError(() => Effect.ignore(fs.remove(partial, { recursive: true })))
      )
    }
    yield* fs.rename(partial, target.file).pipe(
      Effect.mapError((e) => new OutputError({ message: `cannot replace ${target.name}: ${describe(e)}` })),
      Effect.tapError(() =>
        Effect.zipRight(
          Effect.ignore(fs.remove(partial, { recursive: true })),
          existing._tag === "Some" ? Effect.ignore(fs.rename(old, target.file)) : Effect.void
        )
      )
    )
    if (existing._tag === "Some") yield* Effect.ignore(fs.remove(old, { recursive: true }))
  })

/** What an extension says its file holds: JSON Lines, gzip around what the name says before it, or another format. */
type Claim = "lines" | "gzip" | "parquet" | { readonly other: string }

/**
 * The extensions that claim a format, and what each claims: one table, so that a new writer is one entry
 * moved (`.parquet` was). An extension not listed (`.txt`, `corpus.v2`) claims nothing and is accepted, as
 * is a name without one: only a name that says another format lies.
 */
const claims: ReadonlyMap<string, Claim> = new Map<string, Claim>([
  [".jsonl", "lines"],
  [".ndjson", "lines"],
  [".gz", "gzip"],
  [Parquet.extension, "parquet"],
  // One document: json.load and JSON.parse fail on a line per sample.
  [".json", { other: "one JSON document" }],
  ...(
    [
      [".pq", "Parquet (name it .parquet)"],
      [".parq", "Parquet (name it .parquet)"],
      [".arrow", "Arrow IPC"],
      [".ipc", "Arrow IPC"],
      [".feather", "Feather"],
      [".orc", "ORC"],
      [".avro", "Avro"],
      [".csv", "CSV"],
      [".tsv", "TSV"],
      [".xlsx", "a spreadsheet"],
      [".xls", "a spreadsheet"],
      [".yaml", "YAML"],
      [".yml", "YAML"],
      [".xml", "XML"],
      [".html", "HTML"],
      [".htm", "HTML"],
      [".pkl", "a Python pickle"],
      [".pickle", "a Python pickle"],
      [".npy", "NumPy"],
      [".npz", "NumPy"],
      [".h5", "HDF5"],
      [".hdf5", "HDF5"],
      [".msgpack", "MessagePack"],
      [".sqlite", "SQLite"],
      [".duckdb", "a DuckDB database"],
      [".tfrecord", "TFRecord"],
      [".tfrecords", "TFRecord"],
      [".lance", "Lance"],
      [".gzip", "gzip (name it .gz)"],
      [".zst", "Zstandard"],
      [".zstd", "Zstandard"],
      [".bz2", "bzip2"],
      [".xz", "xz"],
      [".lz4", "LZ4"],
      [".lzma", "LZMA"],
      [".lz", "lzip"],
      [".lzo", "LZO"],
      [".snappy", "Snappy"],
      [".sz", "Snappy"],
      [".br", "Brotli"],
      [".z", "compress"],
      [".zip", "a zip archive"],
      [".tar", "a tar archive"],
      [".tgz", "a gzipped tar archive"],
      [".7z", "a 7-Zip archive"],
      [".rar", "a RAR archive"]
    ] as const
  ).map(([extension, format]) => [extension, { other: format }] as const)
])

/** The extension of `name` (lowercase, `""` for none) and what it claims, if anything. */
const claimOf = (name: string): readonly [string, Claim | undefined] => {
  const extension = path.extname(name).toLowerCase()
  return [extension, claims.get(extension)]
}

/** How a corpus file is written: JSON Lines as they are, gzipped, or Parquet (`Parquet.encode`). */
export type Encoding = "lines" | "gzip" | "parquet"

/**
 * How a corpus file named `name` (given as `flag`) is written: gzipped when its name ends in `.gz`
 * (`datasets` reads `.jsonl.gz` as it is), Parquet when it ends in `.parquet`, else plain JSON Lines. A
 * name whose extension says another format (`x.zst`, `x.csv.gz`, `x.json`, `x.parquet.gz`: a Parquet file
 * is compressed inside) is refused before anything is written: the file would be read, or shared, as what
 * it is not. `writes` says what the command writes, and `gzip` whether it can gzip, for the message.
 *
 * @since 0.1.0
 */
export const corpusName = (
  flag: string,
  name: string,
  writes: string,
  gzip = true
): Effect.Effect<Encoding, InvalidTarget> => {
  const [outer, claim] = claimOf(name)
  const [inner, within] = claim === "gzip" ? claimOf(name.slice(0, -outer.length)) : ["", undefined]
  if (within === "parquet") {
    return Effect.fail(
      new InvalidTarget({
        message: `${flag} ${name}: a Parquet file is compressed inside (GZIP pages); name it ${name.slice(0, -outer.length)}`
      })
    )
  }
  const [extension, lie] =
    typeof claim === "object"
      ? [outer, claim.other]
      : within === "gzip"
        ? [`${inner}${outer}`, "gzip inside gzip"]
        : within !== undefined && within !== "lines"
          ? [inner, within.other]
          : [undefined, undefined]
  return lie === undefined
    ? Effect.succeed(claim === "gzip" ? "gzip" : claim === "parquet" ? "parquet" : "lines")
    : Effect.fail(
        new InvalidTarget({
          message:
            `${flag} ${name}: ${extension} is ${lie}, but ${writes}: name it .jsonl or .ndjson` +
            `${gzip ? " (.jsonl.gz gzipped, .parquet for Parquet)" : ""}, or with no extension`
        })
      )
}

/**
 * A folder's name (`--shards N --out DIR`, `--dataset DIR`) must not say it is a file of another format
 * or a gzip file (`corpus.parquet/` is how Spark names a folder of Parquet files): the folder holds JSON
 * Lines files, named by the export.
 *
 * @since 0.1.0
 */
export const folderName = (flag: string, name: string): Effect.Effect<void, InvalidTarget> => {
  const [extension, claim] = claimOf(name.replace(/\/+$/, ""))
  return claim === undefined || claim === "lines"
    ? Effect.void
    : Effect.fail(
        new InvalidTarget({
          message:
            `${flag} ${name}: ${extension} is ${claim === "gzip" ? "gzip" : claim === "parquet" ? "Parquet" : claim.other}, but it names a ` +
            "folder of files (--gzip gzips each of them, --parquet writes them as Parquet): name it without that " +
            "extension"
        })
      )
}

/**
 * The bytes a corpus file holds, by its encoding (`corpusName`): gzipped, Parquet (the lines of
 * `Parquet.source(format)` as `format`'s columns, with `input`'s), else the stream as it is. Its manifest still describes
 * the lines. The gzip stream is core's, fed batch by batch, so that a failure of the export fails the
 * file: piped through a Node.js duplex instead, a database that could not be reached ended the gzip
 * cleanly, and `--out x.jsonl.gz` replaced the corpus with an empty one, exit 0.
 *
 * @since 0.1.0
 */
export const encoded = <E, R>(
  target: Target,
  encoding: Encoding,
  stream: Stream.Stream<Uint8Array, E, R>,
  output: { readonly format: Format.Format; readonly input: Format.Input }
): Stream.Stream<Uint8Array, E | OutputError | Parquet.ParquetError, R> => {
  if (encoding === "parquet") return Parquet.encode(output.format, output.input)(stream)
  if (encoding === "lines") return stream
  const failed = Effect.mapError(
    (e: Gzip.CompressionError) => new OutputError({ message: `cannot compress ${target.name}: ${e.message}` })
  )
  return Stream.unwrapScoped(
    Effect.map(Gzip.gzipper(zlib.constants.Z_DEFAULT_COMPRESSION), (z) =>
      Stream.concat(
        Stream.mapChunksEffect(stream, (chunk) => failed(z.write(chunk))),
        Stream.fromIterableEffect(failed(z.end))
      )
    )
  )
}

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
