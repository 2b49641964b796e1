/**
 * `sync` and `merge`: a corpus file and its manifest, kept current with increments (contract §11) from
 * the database, from a server's `/changes`, or from `/changes` bodies saved to files (see `Chain`).
 *
 * Everything is checked before anything is written: the corpus against its manifest, each increment
 * against its manifest line and against the cursor the corpus is at. The new corpus then replaces the
 * old one atomically (`Output.toFile`), its manifest written just before: a run that fails or dies
 * leaves the old pair, or (killed between the two renames) the new manifest, the old corpus and the new
 * corpus in a temporary file beside it, which the next run checks against the manifest, byte for byte,
 * and puts in place (`verifyCorpus`). Never a corpus that silently lost or kept a sample.
 *
 * @since 0.1.0
 */
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Cursor, Export, type Filter, Manifest } from "@ground-truth/core"
import * as Changes from "@ground-truth/protocol/Changes"
import { Config, ConfigError, Console, Effect, Either, Option, Redacted, Stream } from "effect"
import * as Chain from "./Chain.js"
import * as Output from "./Output.js"
import { RemoteError } from "./RemoteError.js"

/**
 * The corpus file and its manifest: `file` to open (every symbolic link followed), `name` as the user
 * wrote it, for messages.
 *
 * @since 0.1.0
 */
export interface Paths {
  readonly corpus: Output.Target
  readonly manifest: Output.Target
}

/**
 * The manifest beside a corpus: `corpus.jsonl` → `corpus.manifest.json`, `corpus` → `corpus.manifest.json`.
 *
 * @since 0.1.0
 */
export const defaultManifest = (corpus: string): string =>
  `${corpus.endsWith(".jsonl") ? corpus.slice(0, -".jsonl".length) : corpus}.manifest.json`

const encoder = new TextEncoder()

const reason = (e: PlatformError): string =>
  e._tag === "SystemError" ? `${e.reason}: ${e.description ?? e.message}` : e.message

const takeFull = (paths: Paths) =>
  `take a full export: remove ${paths.manifest.name} and run sync again (or merge a full /changes body)`

/**
 * The corpus's manifest, if there is one. A manifest that cannot be read, or that is an increment's, is
 * a `CorpusError`.
 *
 * @since 0.1.0
 */
export const readManifest = (paths: Paths) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(paths.manifest.file).pipe(
      Effect.map(Option.some),
      Effect.catchIf(
        (e) => e._tag === "SystemError" && e.reason === "NotFound",
        () => Effect.succeedNone
      ),
      Effect.mapError(
        (e) => new Chain.CorpusError({ message: `cannot read ${paths.manifest.name}: ${reason(e)}` })
      )
    )
    if (Option.isNone(text)) return Option.none<Manifest.Manifest>()
    const manifest = Changes.parseManifest(text.value)
    if (Either.isLeft(manifest)) {
      return yield* new Chain.CorpusError({
        message: `${paths.manifest.name} is ${manifest.left}; ${takeFull(paths)}`
      })
    }
    if (manifest.right.changed_since !== null) {
      return yield* new Chain.CorpusError({
        message:
          `${paths.manifest.name} is an increment's manifest (changed_since ${manifest.right.changed_since}), ` +
          `not a corpus's; ${takeFull(paths)}`
      })
    }
    return Option.some(manifest.right)
  })

/** The counts of the first `length` bytes of `file`. */
const countFile = (file: string, length: number) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => {
    const counted = Changes.tally(fs.stream(file, { bytesToRead: length, chunkSize: 1 << 20 }))
    return Effect.as(Stream.runDrain(counted.stream), counted).pipe(Effect.map((c) => c.counts()))
  })

/**
 * How the first bytes of `file` differ from the corpus `manifest` describes, if they do: its size first
 * (what it has, what the manifest says), then its lines and SHA-256.
 */
const differs = (file: string, manifest: Manifest.Manifest) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(file)
    if (Number(info.size) !== manifest.bytes) {
      return Option.some({ found: `${info.size} bytes`, says: `${manifest.bytes}` })
    }
    const counts = yield* countFile(file, manifest.bytes)
    return Changes.matches(manifest, counts)
      ? Option.none()
      : Option.some({ found: Changes.showCounts(counts), says: Changes.showCounts(manifest) })
  })

/**
 * Checks that the corpus is the one its manifest describes. A run killed between its two renames (the
 * manifest's, then the corpus's) leaves the new manifest, the old corpus and, beside it, the temporary
 * file that holds the new one: if a dead process's temporary file is exactly the corpus the manifest
 * describes (rows, bytes, SHA-256), it takes the corpus's place, and says so.
 *
 * @since 0.1.0
 */
export const verifyCorpus = (paths: Paths, manifest: Manifest.Manifest) =>
  Effect.gen(function* () {
    const problem = yield* differs(paths.corpus.file, manifest).pipe(
      Effect.map(
        Option.map(
          ({ found, says }) =>
            `${paths.corpus.name} does not match ${paths.manifest.name} (it has ${found}, the manifest says ` +
            `${says}): it was changed after it was written; ${takeFull(paths)}`
        )
      ),
      Effect.catchIf(
        (e) => e._tag === "SystemError" && e.reason === "NotFound",
        () =>
          Effect.succeed(
            Option.some(
              `${paths.corpus.name} is missing, but ${paths.manifest.name} describes it; ${takeFull(paths)}`
            )
          )
      ),
      Effect.mapError(
        (e) => new Chain.CorpusError({ message: `cannot read ${paths.corpus.name}: ${reason(e)}` })
      )
    )
    if (Option.isNone(problem)) return
    const finished = yield* Output.takeOver(paths.corpus, (file) =>
      differs(file, manifest).pipe(
        Effect.map(Option.isNone),
        Effect.orElseSucceed(() => false)
      )
    )
    if (Option.isNone(finished)) return yield* new Chain.CorpusError({ message: problem.value })
    yield* Console.error(
      `${paths.corpus.name}: finished the replacement a killed run left half done: ${finished.value} ` +
        `holds the corpus ${paths.manifest.name} describes, and is now ${paths.corpus.name}`
    )
  })

const writeManifest = (paths: Paths, manifest: Manifest.Manifest) =>
  Output.toFile(paths.manifest, Stream.make(encoder.encode(Manifest.encode(manifest))))

/**
 * The lines of `base` (the first `length` bytes of a full export's file) with `increments` applied,
 * written over the corpus with the manifest of the corpus after `last`; one summary line on standard
 * error.
 */
const applyTo = (
  paths: Paths,
  base: { readonly file: string; readonly name: string; readonly length: number },
  increments: ReadonlyArray<Chain.Changes>,
  last: Manifest.Manifest
) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const corpus = fs
      .stream(base.file, { bytesToRead: base.length, chunkSize: 1 << 20 })
      .pipe(
        Stream.mapError((e) => new Chain.CorpusError({ message: `cannot read ${base.name}: ${reason(e)}` }))
      )
    const merged = Chain.apply(base.name, corpus, Chain.combine(increments))
    const counted = Changes.tally(merged.stream)
    yield* Output.toFile(
      paths.corpus,
      Output.withProgress(counted.stream, "merged"),
      Effect.suspend(() =>
        Effect.zipRight(
          Chain.checkCount(paths.corpus.name, last, counted.counts()),
          writeManifest(paths, Changes.continued(last, counted.counts()))
        )
      )
    )
    const applied = merged.applied()
    yield* Console.error(
      `${paths.corpus.name}: ${applied.samples} samples (${applied.changed} new or changed, ` +
        `${applied.removed} removed) at ${last.cursor}`
    )
  })

/**
 * Where `sync` takes its exports from: the database, or a server's `/changes`.
 *
 * @since 0.1.0
 */
export interface Source<E, R> {
  /** Named in messages. */
  readonly name: string
  /** A full export: its lines as they come and, once they have ended, its manifest. */
  readonly full: (filter: Filter.Filter) => Effect.Effect<
    {
      readonly stream: Stream.Stream<Uint8Array, E>
      readonly manifest: Effect.Effect<Manifest.Manifest, E>
    },
    E,
    R
  >
  /** An increment (`filter.changedSince` is set) as a `/changes` body: its lines, then its manifest. */
  readonly changes: (filter: Filter.Filter) => Effect.Effect<Uint8Array, E, R>
}

/**
 * The database (core's export, one snapshot per export).
 *
 * @since 0.1.0
 */
export const database: Source<Export.ExportError, Export.Export> = {
  name: "the database",
  full: (filter) => Effect.flatMap(Export.Export, (exporter) => exporter.withManifest(filter)),
  changes: (filter) =>
    Effect.gen(function* () {
      const exporter = yield* Export.Export
      const { stream, manifest } = yield* exporter.withManifest(filter)
      return Buffer.concat([...(yield* Stream.runCollect(Changes.body(stream, manifest)))])
    })
}

/**
 * `GROUND_TRUTH_TOKEN`, the token `sync --url` sends: none when unset or set to the empty string; blanks
 * around it are dropped. Blanks alone, or a token a client cannot send after `Bearer ` (RFC 6750's
 * letters, digits, `-._~+/` and a final `=`), are refused in one line rather than sent (and answered 401,
 * or refused by the HTTP client as a header).
 *
 * @since 0.1.0
 */
export const token: Config.Config<Option.Option<Redacted.Redacted>> = Config.redacted(
  "GROUND_TRUTH_TOKEN"
).pipe(
  Config.option,
  Config.mapOrFail((value) => {
    if (Option.isNone(value) || Redacted.value(value.value) === "") return Either.right(Option.none())
    const text = Redacted.value(value.value).trim()
    const invalid = (why: string) => Either.left(ConfigError.InvalidData(["GROUND_TRUTH_TOKEN"], why))
    if (text === "") return invalid("holds only blanks; set it to a token the server accepts, or unset it")
    return /^[A-Za-z0-9\-._~+/]+=*$/.test(text)
      ? Either.right(Option.some(Redacted.make(text)))
      : invalid(
          'has characters a client cannot send after "Bearer " (RFC 6750: letters, digits, -._~+/ and a final =)'
        )
  })
)

/**
 * What `sync` was asked for: the filter of its flags, and which of them were given.
 *
 * @since 0.1.0
 */
export interface Asked {
  readonly filter: Filter.Filter
  readonly given: ReadonlyArray<Changes.Kept>
  /** A cursor the source cannot answer for starts the corpus again with a full export. */
  readonly fullIfStale: boolean
}

/**
 * A cursor the database (or the server, 410) cannot answer for says how to start again: the corpus's
 * own full export.
 */
const staleHint =
  (paths: Paths) =>
  <E>(e: E): E | Chain.ChainMismatch | RemoteError => {
    const hint = `; for ${paths.corpus.name}: remove ${paths.manifest.name} and run sync again`
    if (e instanceof Cursor.StaleCursor) return new Chain.ChainMismatch({ message: `${e.message}${hint}` })
    if (e instanceof RemoteError && e.stale) return new RemoteError({ ...e, message: `${e.message}${hint}` })
    return e
  }

/** A full export's manifest names the export asked for (a server could answer another). */
const asAsked = (source: string, filter: Filter.Filter, m: Manifest.Manifest) => {
  const asked = Changes.describeFilter(filter)
  const answered = Changes.describeManifest(m)
  const differ = Changes.differences(asked, answered)
  return differ.length === 0
    ? Effect.void
    : Effect.fail(
        new Chain.ChainMismatch({
          message:
            `${source} answered an export with ${Chain.showParameters(answered, differ)}, not ` +
            Chain.showParameters(asked, differ)
        })
      )
}

/**
 * Brings the corpus up to date from `source`: without a manifest, a full export with the filter
 * asked; with one, the increment since its cursor, with its filters, applied.
 *
 * @since 0.1.0
 */
export const sync = <E, R>(paths: Paths, asked: Asked, source: Source<E, R>) =>
  Effect.gen(function* () {
    const full = (filter: Filter.Filter) =>
      Effect.gen(function* () {
        yield* Chain.supported(filter.format)
        const { stream, manifest } = yield* source.full(filter)
        const written: Array<Manifest.Manifest> = []
        yield* Output.toFile(
          paths.corpus,
          Output.withProgress(stream, "exported"),
          Effect.flatMap(manifest, (m) =>
            asAsked(source.name, filter, m).pipe(
              Effect.zipRight(writeManifest(paths, m)),
              Effect.tap(() => written.push(m))
            )
          )
        )
        for (const m of written) {
          yield* Console.error(`${paths.corpus.name}: ${m.rows} samples (a full export) at ${m.cursor}`)
        }
      })
    const existing = yield* readManifest(paths)
    if (Option.isNone(existing)) return yield* full(asked.filter)
    const corpus = existing.value
    yield* Chain.supported(corpus.format)
    const kept = Changes.describeManifest(corpus)
    const differ = Changes.differences(kept, Changes.describeFilter(asked.filter), asked.given)
    if (differ.length > 0) {
      return yield* new Chain.ChainMismatch({
        message:
          `${paths.corpus.name} was exported with ${Chain.showParameters(kept, differ)}, not ` +
          `${Chain.showParameters(Changes.describeFilter(asked.filter), differ)}; sync keeps a corpus's filters: ` +
          `leave the filter flags out (they come from ${paths.manifest.name}), or remove ` +
          `${paths.manifest.name} to take a full export with the new ones`
      })
    }
    yield* verifyCorpus(paths, corpus)
    const filter = yield* Chain.filterAfter(paths.manifest.name, corpus)
    const stale = (e: unknown) => e instanceof Cursor.StaleCursor || (e instanceof RemoteError && e.stale)
    const answer = yield* source.changes(filter).pipe(
      Effect.map(Option.some),
      Effect.catchIf(
        (e) => asked.fullIfStale && stale(e),
        (e) =>
          Console.error(
            `${paths.corpus.name}: ${(e as { readonly message: string }).message}; taking a full export (--full-if-stale)`
          ).pipe(Effect.as(Option.none()))
      ),
      Effect.mapError(staleHint(paths))
    )
    if (Option.isNone(answer)) return yield* full({ ...filter, changedSince: Option.none() })
    const body = answer.value
    const changes = yield* Chain.parseChanges(source.name, body)
    if (changes.manifest.changed_since !== corpus.cursor) {
      return yield* new Changes.IncompleteChanges({
        source: source.name,
        detail: `it continues from ${changes.manifest.changed_since}, not from the corpus's cursor ${corpus.cursor}`
      })
    }
    yield* Chain.continues(
      { name: paths.corpus.name, manifest: corpus },
      { source: source.name, manifest: changes.manifest }
    )
    yield* applyTo(
      paths,
      { file: paths.corpus.file, name: paths.corpus.name, length: corpus.bytes },
      [changes],
      changes.manifest
    ).pipe(
      Effect.catchIf(
        (e): e is Chain.CountMismatch => asked.fullIfStale && e instanceof Chain.CountMismatch,
        (e) =>
          Effect.zipRight(
            Console.error(`${paths.corpus.name}: ${e.message} (--full-if-stale)`),
            full({ ...filter, changedSince: Option.none() })
          )
      )
    )
  })

const TAIL_BLOCK = 64 * 1024

/**
 * The manifest on the last line of a saved `/changes` body, where that line starts, and the file's
 * size; read from the end, so a full export's body is not read here.
 */
const readTail = (file: { readonly file: string; readonly name: string }) =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const unreadable = (e: PlatformError) =>
        new Chain.CorpusError({ message: `cannot read ${file.name}: ${reason(e)}` })
      const incomplete = (detail: string) => new Changes.IncompleteChanges({ source: file.name, detail })
      const handle = yield* Effect.mapError(fs.open(file.file, { flag: "r" }), unreadable)
      const size = Number((yield* Effect.mapError(handle.stat, unreadable)).size)
      let tail: Uint8Array = new Uint8Array(0)
      let position = size
      for (;;) {
        const n = Math.min(position, TAIL_BLOCK)
        position -= n
        const block = new Uint8Array(n)
        yield* handle.seek(position, "start")
        for (let read = 0; read < n; ) {
          const got = Number(yield* Effect.mapError(handle.read(block.subarray(read)), unreadable))
          if (got === 0) return yield* incomplete("it shrank while it was read")
          read += got
        }
        tail = Buffer.concat([block, tail])
        const at = Changes.lastLine(tail)
        if (at < 0) {
          return yield* incomplete(
            size === 0 ? "it is empty" : "it does not end with a newline (a cut download?)"
          )
        }
        if (at > 0 || position === 0) {
          const manifest = Changes.parseManifest(new TextDecoder().decode(tail.subarray(at, tail.length - 1)))
          if (Either.isLeft(manifest)) {
            return yield* incomplete(
              `its last line is ${manifest.left}, where its manifest should be (a cut download?)`
            )
          }
          return { manifest: manifest.right, at: position + at, size }
        }
      }
    })
  )

/**
 * Applies saved `/changes` bodies, in order, to the corpus: each must continue from the cursor the
 * corpus has reached; a full export's body replaces the corpus.
 *
 * @since 0.1.0
 */
export const merge = (paths: Paths, files: ReadonlyArray<{ readonly file: string; readonly name: string }>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const existing = yield* readManifest(paths)
    if (Option.isSome(existing)) yield* Chain.supported(existing.value.format)
    // The chain first, from the manifests alone: nothing is read in full before it holds.
    let current = Option.map(existing, (manifest) => ({ name: "the corpus", manifest }))
    let base: Option.Option<{
      readonly file: string
      readonly name: string
      readonly at: number
      readonly size: number
      readonly manifest: Manifest.Manifest
    }> = Option.none()
    let pending: Array<{ readonly file: string; readonly name: string }> = []
    for (const file of files) {
      const tail = yield* readTail(file)
      const manifest = tail.manifest
      yield* Chain.supported(manifest.format)
      if (Option.isSome(current)) {
        yield* Chain.continues(current.value, { source: file.name, manifest })
      } else if (manifest.changed_since !== null) {
        return yield* new Chain.ChainMismatch({
          message:
            `${file.name} continues from ${manifest.changed_since}, and ${paths.corpus.name} has no manifest ` +
            `(${paths.manifest.name}) to continue: merge a full /changes body (without changed_since) first, ` +
            "or run sync"
        })
      }
      if (manifest.changed_since === null) {
        base = Option.some({ ...file, at: tail.at, size: tail.size, manifest })
        pending = []
      } else {
        pending.push(file)
      }
      current = Option.some({ name: `the corpus after ${file.name}`, manifest })
    }
    let from: { readonly file: string; readonly name: string; readonly length: number }
    if (Option.isSome(base)) {
      const b = base.value
      from = { file: b.file, name: b.name, length: b.at }
      const counts = yield* Effect.mapError(
        countFile(b.file, b.at),
        (e) => new Chain.CorpusError({ message: `cannot read ${b.name}: ${reason(e)}` })
      )
      if (!Changes.matches(b.manifest, counts) || b.at !== b.manifest.bytes) {
        return yield* new Changes.IncompleteChanges({
          source: b.name,
          detail:
            `its lines (${Changes.showCounts(counts)}) are not those its manifest describes ` +
            `(${Changes.showCounts(b.manifest)})`
        })
      }
    } else if (Option.isSome(existing)) {
      yield* verifyCorpus(paths, existing.value)
      from = { ...paths.corpus, length: existing.value.bytes }
    } else {
      return // no files: nothing to apply
    }
    const increments: Array<Chain.Changes> = []
    for (const file of pending) {
      const body = yield* fs
        .readFile(file.file)
        .pipe(
          Effect.mapError((e) => new Chain.CorpusError({ message: `cannot read ${file.name}: ${reason(e)}` }))
        )
      increments.push(yield* Chain.parseChanges(file.name, body))
    }
    if (Option.isSome(current)) yield* applyTo(paths, from, increments, current.value.manifest)
  })
