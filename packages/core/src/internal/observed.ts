/**
 * What a running export reports, and how its caller gets it as a value. A corpus stream reports to an
 * `Observer` as it runs: its snapshot once taken (before the first row is read), each job an increment
 * removes, and the lines a full export at its snapshot holds. `withSnapshot` and `withManifest` pair the
 * stream with effects that read what it has reported so far: the snapshot, the manifest; `withShards` and
 * `splitInto` do the same for a sharded export's and a dataset's files.
 */
import { Effect, Option, Stream } from "effect"
import type * as Filter from "../Filter.js"
import * as Manifest from "../Manifest.js"
import * as Split from "../Split.js"
import type { Part, Shard } from "./batches.js"
import type { Taken } from "./cursor.js"

/** What a running export reports of its snapshot: once it is taken, then each removed id. */
export interface Observer {
  /** The snapshot is taken: before the first row is read. */
  readonly taken: (taken: Taken) => void
  /** An increment removes this job: it changed and has no line. */
  readonly removed: (id: string) => void
  /**
   * Of an increment in a format with a line per job: the lines a full export at its snapshot holds,
   * counted in the database only when this is given (for a manifest).
   */
  readonly counted?: (rows: number) => void
}

/** A corpus that reports to the observer it is given. */
export type Corpus<E> = (observer: Observer) => Stream.Stream<Uint8Array, E>

/**
 * A corpus and its snapshot: `taken` is `None` until the stream has taken its snapshot, which it does
 * before its first bytes (so `Some` once they, or the end, have come), and stays `None` if the stream
 * failed before.
 *
 * @since 0.1.0
 */
export interface WithSnapshot<E> {
  readonly stream: Stream.Stream<Uint8Array, E>
  readonly taken: Effect.Effect<Option.Option<Taken>>
}

/**
 * A corpus and its manifest: the stream counts and hashes its bytes as they pass; `manifest`, run after
 * the stream has ended, describes them; `taken` is its snapshot, as in `WithSnapshot`.
 *
 * @since 0.1.0
 */
export interface WithManifest<E> extends WithSnapshot<E> {
  readonly manifest: Effect.Effect<Manifest.Manifest>
}

/** The stream of `corpus` with the snapshot it reports. */
export const withSnapshot = <E>(corpus: Corpus<E>): Effect.Effect<WithSnapshot<E>> =>
  Effect.sync(() => {
    let taken = Option.none<Taken>()
    const stream = corpus({
      taken: (t) => {
        taken = Option.some(t)
      },
      removed: () => undefined
    })
    return { stream, taken: Effect.sync(() => taken) }
  })

/** The stream of `corpus` (exported with `filter`) with its manifest and snapshot. */
export const withManifest = <E>(filter: Filter.Filter, corpus: Corpus<E>): Effect.Effect<WithManifest<E>> =>
  Effect.sync(() => {
    let taken = Option.none<Taken>()
    const removed: Array<string> = []
    let corpusRows: number | undefined
    const { stream, finish } = Manifest.tally(
      filter,
      corpus({
        taken: (t) => {
          taken = Option.some(t)
        },
        removed: (id) => {
          removed.push(id)
        },
        counted: (rows) => {
          corpusRows = rows
        }
      }),
      // Job ids are lowercase UUIDs: code unit order is their byte order.
      () =>
        Option.match(taken, {
          onNone: () => undefined,
          onSome: (t) => ({ time: t.time, cursor: t.cursor, removed: removed.sort(), corpusRows })
        })
    )
    return { stream, manifest: Effect.sync(finish), taken: Effect.sync(() => taken) }
  })

/**
 * A sharded export and its manifest: the whole body counted and hashed as its shards pass (they come in
 * order: concatenated they are the body), each shard too; `manifest`, run after the stream has ended, is
 * the body's manifest with a file per shard (`Manifest.shardPath("part", …)`).
 *
 * @since 0.1.0
 */
export interface WithShards<E> {
  readonly stream: Stream.Stream<Shard, E>
  readonly manifest: Effect.Effect<Manifest.Manifest>
}

/** The shards of `source` (exported with `filter`, `count` of them) with their manifest. */
export const withShards = <E>(
  filter: Filter.Filter,
  count: number,
  source: (observer: Observer) => Stream.Stream<Shard, E>
): Effect.Effect<WithShards<E>> =>
  Effect.sync(() => {
    let taken = Option.none<Taken>()
    const whole = Manifest.counter()
    const shards = Array.from({ length: count }, () => Manifest.counter())
    const stream = Stream.tap(
      source({
        taken: (t) => {
          taken = Option.some(t)
        },
        removed: () => undefined
      }),
      (part) =>
        Effect.sync(() => {
          whole.add(part.bytes)
          shards[part.shard].add(part.bytes)
        })
    )
    const manifest = Effect.sync(() => {
      const snapshot = Option.getOrUndefined(
        Option.map(taken, (t) => ({ time: t.time, cursor: t.cursor, removed: [], corpusRows: undefined }))
      )
      const m = Manifest.describe(filter, whole.counts(), snapshot)
      const files = shards.map(
        (c, i) => new Manifest.ShardFile({ path: Manifest.shardPath("part", i, count), ...c.counts() })
      )
      return Manifest.Manifest.make({ ...m, files })
    })
    return { stream, manifest }
  })

/**
 * A dataset from the parts its stream reports to an observer: each split's (and shard's) bytes counted as
 * they pass; `manifest` describes them once the stream has ended. Sharded (`count` shards a split), every
 * shard of a split with lines gets its file: an empty part for each comes after the lines (a split
 * without lines has no file, sharded or not).
 */
export const splitInto = <E, R>(
  filter: Filter.Filter,
  splitting: Split.Splitting,
  count: number | undefined,
  parts: (observer: Observer) => Stream.Stream<Part, E, R>
) =>
  Effect.sync(() => {
    let taken = Option.none<Taken>()
    const counters = (): Array<ReturnType<typeof Manifest.counter>> =>
      Array.from({ length: count ?? 1 }, () => Manifest.counter())
    const files = { train: counters(), validation: counters(), test: counters() }
    const written = Stream.tap(
      parts({
        taken: (t) => {
          taken = Option.some(t)
        },
        removed: () => undefined
      }),
      (part) => Effect.sync(() => files[part.split][part.shard].add(part.bytes))
    )
    const lines = (name: Split.Name) => files[name].reduce((n, c) => n + c.counts().rows, 0)
    const empties = Stream.suspend(() =>
      Stream.fromIterable(
        count === undefined
          ? []
          : Split.Name.literals
              .filter((name) => lines(name) > 0)
              .flatMap((split) =>
                Array.from(
                  { length: count },
                  (_, shard): Part => ({ split, shard, bytes: new Uint8Array(0) })
                )
              )
      )
    )
    const manifest = Effect.sync(() =>
      Manifest.dataset(filter, splitting, Option.getOrUndefined(taken), count, {
        train: files.train.map((c) => c.counts()),
        validation: files.validation.map((c) => c.counts()),
        test: files.test.map((c) => c.counts())
      })
    )
    return { stream: Stream.concat(written, empties), manifest }
  })
