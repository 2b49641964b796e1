/**
 * The in-memory export behind `Export.layerTest`: the reference meaning of the contract over a list of
 * jobs, with the same bytes as the database's export, for tests and for programs that have no database.
 */
import { Clock, Duration, Effect, Either, Option, Stream } from "effect"
import * as Cursor from "../Cursor.js"
import * as Filter from "../Filter.js"
import * as Plan from "../Plan.js"
import * as Replay from "../Replay.js"
import type { Job, Sample } from "../Sample.js"
import * as Split from "../Split.js"
import * as Timestamp from "../Timestamp.js"
import { encode, shardLines, splitLines, type Write } from "./batches.js"
import * as Formats from "./formats.js"
import type { Inspector } from "./inspector.js"
import * as Observed from "./observed.js"

/**
 * The corpus and the dataset of `jobs`. The jobs given are the snapshot, taken when a stream starts. It
 * has no transaction ids, so an increment counts every job as changed: its lines are the full export's,
 * and it removes every job of the split without a line.
 */
export const reference = (jobs: ReadonlyArray<Job>) => {
  const cursor = Cursor.encode({
    version: 2,
    xmin: 0n,
    xmax: 0n,
    lsn: 0n,
    timeline: 1,
    database: "000000000000",
    files: "00000000",
    jobs: BigInt(jobs.length),
    events: BigInt(jobs.reduce((n, job) => n + job.events.length, 0)),
    old: 0n
  })
  /** The snapshot is taken: the jobs that match, in export order. */
  const selected = (filter: Filter.Filter, observer?: Observed.Observer): ReadonlyArray<Job> => {
    const now = Date.now()
    observer?.taken({ time: Timestamp.make(Math.floor(now / 1000), (now % 1000) * 1000), cursor })
    return jobs
      .filter((job) => Filter.matches(filter, job))
      .sort((a, b) => Timestamp.Order(a.createdAt, b.createdAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }
  const writeJob =
    (filter: Filter.Filter): Write<Job, Replay.ReplayError> =>
    (w, job) => {
      const sample = Replay.sample(job)
      if (Either.isLeft(sample)) return sample.left
      Formats.write(
        Filter.output(filter),
        w,
        job,
        sample.right.initialResult,
        job.result,
        job.ocrText ?? null
      )
      return undefined
    }
  const corpus = (
    filter: Filter.Filter,
    observer?: Observed.Observer
  ): Stream.Stream<Uint8Array, Replay.ReplayError> =>
    Stream.suspend(() => {
      const written = new Set<string>()
      const write = writeJob(filter)
      const chosen = selected(filter, observer)
      if (Option.isSome(filter.changedSince) && Formats.linePerJob(filter.format))
        observer?.counted?.(chosen.length)
      return encode(Stream.fromIterable(chosen), (w, job: Job) => {
        const before = w.pos
        const failure = write(w, job)
        if (w.pos > before) written.add(job.id)
        return failure
      }).pipe(
        Stream.ensuring(
          Effect.sync(() => {
            if (Option.isNone(filter.changedSince)) return
            for (const job of jobs) {
              const held = Option.isNone(filter.split) || Split.mayHaveHeld(filter.split.value, job.id)
              if (held && !written.has(job.id)) observer?.removed(job.id)
            }
          })
        )
      )
    })
  const dataset = (filter: Filter.Filter, splitting: Split.Splitting, count?: number) =>
    Observed.splitInto(filter, splitting, count, (observer) =>
      Stream.suspend(() => {
        const chosen = selected(filter, observer)
        const totals = { train: 0, validation: 0, test: 0 }
        const keyOf = (job: Job) => Split.keyOf(splitting.by, job.id, job.result)
        for (const job of chosen) totals[Split.assign(keyOf(job), splitting.ratios, splitting.seed)]++
        return splitLines(
          Stream.fromIterable(chosen),
          splitting,
          keyOf,
          writeJob(filter),
          count === undefined ? undefined : { count, totals }
        )
      })
    )
  const shards = (filter: Filter.Filter, count: number, observer: Observed.Observer) =>
    Stream.suspend(() => {
      const chosen = selected(filter, observer)
      return shardLines(Stream.fromIterable(chosen), count, chosen.length, writeJob(filter))
    })
  const samples = (filter: Filter.Filter): Stream.Stream<Sample, Replay.ReplayError> =>
    Stream.suspend(() => Stream.fromIterable(selected(filter))).pipe(Stream.mapEffect(Replay.sample))
  /** A plan over the jobs given: its snapshot is them, held as long as they are. */
  const plan = (filter: Filter.Filter, count: number, hold: Duration.Duration) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      const chosen = selected(filter)
      const plan = Plan.make({
        snapshot: "reference",
        transactionSnapshot: "reference",
        time: Timestamp.make(Math.floor(now / 1000), (now % 1000) * 1000),
        cursor,
        filter,
        count,
        total: chosen.length,
        keyAt: (position) => ({
          created_at: Timestamp.format(chosen[position - 1].createdAt),
          id: chosen[position - 1].id
        }),
        expiresAt: new Date(now + Duration.toMillis(hold))
      })
      // Held as long as the jobs are: nothing ends it.
      return { plan, watch: Effect.never, warning: Option.none() }
    })
  /** A plan's shard: the jobs at the positions its plan gives it. */
  const shard = (held: Plan.Plan, index: number) =>
    Stream.unwrap(
      Effect.map(Plan.filter(held), (filter) => {
        const start = held.shards.slice(0, index).reduce((n, s) => n + s.jobs, 0)
        const jobs = selected(filter).slice(start, start + (held.shards[index]?.jobs ?? 0))
        return encode(Stream.fromIterable(jobs), writeJob(filter))
      })
    )
  /** The samples folded in one pass; the results the inspector asks for are the jobs' own. */
  const inspect = <S, A, E>(filter: Filter.Filter, inspector: Inspector<S, A, E>) =>
    Effect.flatMap(Stream.runFold(samples(filter), inspector.initial(), inspector.step), (state) =>
      inspector.finish(state, (ids) => {
        const wanted = new Set(ids)
        return Effect.succeed(
          new Map(jobs.filter((job) => wanted.has(job.id)).map((job) => [job.id, job.result]))
        )
      })
    )
  return { corpus, dataset, shards, samples, plan, shard, inspect }
}
