/**
 * Lines in batches: each batch of a stream's items written into one buffer (one write per batch rather
 * than one per sample), or, for a dataset, into one buffer per split and batch (counted for the dataset's
 * manifest by `observed.ts`).
 */
import { Chunk, Effect, Stream } from "effect"
import * as Split from "../Split.js"
import { ByteWriter } from "./byteWriter.js"

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
 * One split's bytes of a dataset export: a batch of its lines, and the shard of the split they go to (0
 * when the dataset is not sharded).
 *
 * @since 0.1.0
 */
export interface Part {
  readonly split: Split.Name
  readonly shard: number
  readonly bytes: Uint8Array
}

/**
 * How a sharded dataset is cut: each split's jobs (`totals`, of the filter, counted in the snapshot) into
 * `count` shards of as many jobs, each job's shard given by its position in its split (`shardOf`).
 */
export interface SplitSharding {
  readonly count: number
  readonly totals: Readonly<Record<Split.Name, number>>
}

/** The shard of `split`'s job at `position` (from 0) of a sharded dataset; 0 when it is not sharded. */
export const splitShard = (
  sharding: SplitSharding | undefined,
  split: Split.Name,
  position: number
): number =>
  sharding === undefined || sharding.totals[split] === 0
    ? 0
    : shardOf(position, sharding.count, sharding.totals[split])

/**
 * Items written by the writer of their split (`splitting`, each item's key by `keyOf`): a part per split (and, sharded, per shard)
 * and batch that has lines. One set of writers per run of the stream.
 */
export const splitLines = <A, E, R, E2>(
  items: Stream.Stream<A, E, R>,
  splitting: Split.Splitting,
  keyOf: (item: A) => string,
  write: Write<A, E2>,
  sharding?: SplitSharding
): Stream.Stream<Part, E | E2, R> =>
  Stream.suspend(() => {
    const writers = { train: new ByteWriter(), validation: new ByteWriter(), test: new ByteWriter() }
    // Each split's jobs so far, and the shard its writer holds lines of.
    const positions = { train: 0, validation: 0, test: 0 }
    const current = { train: 0, validation: 0, test: 0 }
    return Stream.mapChunksEffect(items, (chunk): Effect.Effect<Chunk.Chunk<Part>, E2> => {
      const parts: Array<Part> = []
      for (const item of chunk) {
        const split = Split.assign(keyOf(item), splitting.ratios, splitting.seed)
        const shard = splitShard(sharding, split, positions[split]++)
        if (shard !== current[split] && writers[split].pos > 0) {
          parts.push({ split, shard: current[split], bytes: writers[split].take() })
        }
        current[split] = shard
        const failure = write(writers[split], item)
        if (failure !== undefined) return Effect.fail(failure)
      }
      for (const name of Split.Name.literals) {
        if (writers[name].pos > 0)
          parts.push({ split: name, shard: current[name], bytes: writers[name].take() })
      }
      return Effect.succeed(Chunk.unsafeFromArray(parts))
    })
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
