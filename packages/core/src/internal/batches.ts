/**
 * Lines in batches: each batch of a stream's items written into one buffer (one write per batch rather
 * than one per sample), or, for a dataset, into one buffer per split and batch, each split's bytes
 * counted for the dataset's manifest.
 */
import { Chunk, Effect, Option, Stream } from "effect"
import type * as Filter from "../Filter.js"
import * as Manifest from "../Manifest.js"
import * as Split from "../Split.js"
import { ByteWriter } from "./ByteWriter.js"
import type { Taken } from "./cursor.js"
import type { Observer } from "./observed.js"

/** Appends an item's line to `w` (or nothing, when its format leaves it out); on failure, nothing. */
export type Write<A, E> = (w: ByteWriter, item: A) => E | undefined

/** A batch of items as one buffer of lines. */
const encodeBatch = <A, E>(
  w: ByteWriter,
  items: Chunk.Chunk<A>,
  write: Write<A, E>
): Effect.Effect<Chunk.Chunk<Uint8Array>, E> => {
  for (const item of items) {
    const failure = write(w, item)
    if (failure !== undefined) return Effect.fail(failure)
  }
  // A batch can write nothing (a split or the preference format may leave out every job in it).
  return Effect.succeed(w.pos === 0 ? Chunk.empty() : Chunk.of(w.take()))
}

/** The lines of a stream of items, a buffer per batch, written by one writer per run of the stream. */
export const encode = <A, E, R, E2>(
  items: Stream.Stream<A, E, R>,
  write: Write<A, E2>
): Stream.Stream<Uint8Array, E | E2, R> =>
  Stream.suspend(() => {
    const w = new ByteWriter(64 * 1024)
    return Stream.mapChunksEffect(items, (chunk) => encodeBatch(w, chunk, write))
  })

/**
 * One split's bytes of a dataset export: a batch of its lines.
 *
 * @since 0.1.0
 */
export interface Part {
  readonly split: Split.Name
  readonly bytes: Uint8Array
}

/** How a dataset assigns its jobs to splits. */
export interface Splitting {
  readonly ratios: readonly [number, number, number]
  readonly seed: string
}

/**
 * Items written by the writer of their split (`splitting`): a part per split and batch that has lines.
 * One set of writers per run of the stream.
 */
export const splitLines = <A, E, R, E2>(
  items: Stream.Stream<A, E, R>,
  splitting: Splitting,
  idOf: (item: A) => string,
  write: Write<A, E2>
): Stream.Stream<Part, E | E2, R> =>
  Stream.suspend(() => {
    const writers = { train: new ByteWriter(), validation: new ByteWriter(), test: new ByteWriter() }
    return Stream.mapChunksEffect(items, (chunk): Effect.Effect<Chunk.Chunk<Part>, E2> => {
      for (const item of chunk) {
        const failure = write(writers[Split.assign(idOf(item), splitting.ratios, splitting.seed)], item)
        if (failure !== undefined) return Effect.fail(failure)
      }
      const parts: Array<Part> = []
      for (const name of Split.Name.literals) {
        if (writers[name].pos > 0) parts.push({ split: name, bytes: writers[name].take() })
      }
      return Effect.succeed(Chunk.unsafeFromArray(parts))
    })
  })

/**
 * A dataset from the parts its stream reports to an observer: each split's bytes counted as they pass;
 * `manifest` describes them once the stream has ended.
 */
export const splitInto = <E, R>(
  filter: Filter.Filter,
  splitting: Splitting,
  parts: (observer: Observer) => Stream.Stream<Part, E, R>
) =>
  Effect.sync(() => {
    let taken = Option.none<Taken>()
    const counters = { train: Manifest.counter(), validation: Manifest.counter(), test: Manifest.counter() }
    const stream = Stream.tap(
      parts({
        taken: (t) => {
          taken = Option.some(t)
        },
        removed: () => undefined
      }),
      (part) => Effect.sync(() => counters[part.split].add(part.bytes))
    )
    const manifest = Effect.sync(() =>
      Manifest.dataset(filter, splitting, Option.getOrUndefined(taken), {
        train: counters.train.counts(),
        validation: counters.validation.counts(),
        test: counters.test.counts()
      })
    )
    return { stream, manifest }
  })

/**
 * One shard's bytes of a sharded export: a batch of its lines.
 *
 * @since 0.1.0
 */
export interface Shard {
  readonly shard: number
  readonly bytes: Uint8Array
}

/**
 * Which shard of `count` the item at `position` (from 0) of `total` goes to: the items cut into
 * contiguous runs that differ by one item at most.
 */
export const shardOf = (position: number, count: number, total: number): number =>
  Math.min(count - 1, Math.floor((position * count) / total))

/**
 * Items written into the shard their position gives (`shardOf`): a part per shard and batch that has
 * lines, after an empty part for every shard (`emptyShards`).
 */
export const shardLines = <A, E, R, E2>(
  items: Stream.Stream<A, E, R>,
  count: number,
  total: number,
  write: Write<A, E2>
): Stream.Stream<Shard, E | E2, R> =>
  Stream.suspend(() => {
    const w = new ByteWriter(64 * 1024)
    let position = 0
    const written = Stream.mapChunksEffect(items, (chunk): Effect.Effect<Chunk.Chunk<Shard>, E2> => {
      const parts: Array<Shard> = []
      let current = -1
      for (const item of chunk) {
        const shard = shardOf(position++, count, total)
        if (shard !== current && w.pos > 0) parts.push({ shard: current, bytes: w.take() })
        current = shard
        const failure = write(w, item)
        if (failure !== undefined) return Effect.fail(failure)
      }
      if (w.pos > 0) parts.push({ shard: current, bytes: w.take() })
      return Effect.succeed(Chunk.unsafeFromArray(parts))
    })
    return Stream.concat(emptyShards(count), written)
  })

/** An empty part for each of `count` shards, in order: every shard has its file, lines or none. */
export const emptyShards = (count: number): Stream.Stream<Shard> =>
  Stream.fromIterable(Array.from({ length: count }, (_, shard) => ({ shard, bytes: new Uint8Array(0) })))
