/**
 * `plan` (a snapshot held and cut into shards, contract §15) and `export --plan` (one shard of it).
 */
import { Command, Options } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Export, Filter, Parquet, Plan } from "@ground-truth/core"
import { Database } from "@ground-truth/db"
import { Console, Data, Duration, Effect, Option, Stream } from "effect"
import {
  corpusFilterFlags,
  type FolderFlags,
  flag,
  outOption,
  outputTarget,
  parameters,
  resolvePath,
  UsageError,
  withDatabase
} from "../Flags.js"
import { shardCount } from "../Folders.js"
import * as Output from "../Output.js"

/** The longest a plan holds its snapshot: an open transaction keeps VACUUM from what it could see. */
const HOLD_MAX = Duration.days(7)

/** `--hold` (`Plan.parseHold`), at most `HOLD_MAX`. */
const holdDuration = (given: string): Effect.Effect<Duration.Duration, UsageError> =>
  Option.match(
    Option.filter(Plan.parseHold(given), (hold) => Duration.lessThanOrEqualTo(hold, HOLD_MAX)),
    {
      onSome: Effect.succeed,
      onNone: () =>
        Effect.fail(
          new UsageError({
            message: `--hold must be a time from 1s to 7d (90s, 30m, 2h, 1d, or seconds), not ${JSON.stringify(given)}`
          })
        )
    }
  )

/**
 * A plan's database session ended while it held its snapshot (a restart, a cut connection, a terminated
 * backend): its shards can no longer be written.
 *
 * @since 0.1.0
 * @category errors
 */
export class PlanLost extends Data.TaggedError("PlanLost")<{ readonly id: string; readonly detail: string }> {
  override get message(): string {
    return `plan ${this.id}: its database session ended (${this.detail}): its shards can no longer be written; make a new plan`
  }
}

/** A plan's shards are read while it holds its snapshot: on other connections. */
const sessionsNeeded = Effect.flatMap(Database.servesOneSession, (one) =>
  one
    ? Effect.fail(
        new UsageError({
          message:
            "plans need a database that serves several sessions (PostgreSQL: set DATABASE_URL): the embedded " +
            "database serves one at a time, so no shard could be read while the plan holds its snapshot"
        })
      )
    : Effect.void
)

/**
 * `plan --shards N`: a snapshot exported and held, the export cut into N shards inside it, the plan
 * written; then held until `--hold` ends or Ctrl-C (contract §15).
 */
export const planCommand = Command.make(
  "plan",
  {
    shards: Options.integer("shards").pipe(
      Options.withPseudoName("N"),
      Options.withDescription("Cut the export into N shards of as many jobs (1 to 9999).")
    ),
    hold: Options.text("hold").pipe(
      Options.withPseudoName("TIME"),
      Options.withDescription(
        "How long the plan holds its snapshot: 90s, 30m, 2h, 1d (at most 7d), or seconds. Default 1h. Its " +
          "shards can be written until then; Ctrl-C (or SIGTERM) ends it sooner. An open snapshot keeps VACUUM " +
          "from removing what it can see: hold no longer than the shards take."
      ),
      Options.withDefault("1h")
    ),
    out: outOption(
      "plan (JSON: its id, snapshot, cursor, filters and each shard's range)",
      " Every machine that writes a shard reads it: ground-truth export --plan PATH --shard I --out FILE."
    ),
    // A full export's filters: a plan cuts no increment.
    ...corpusFilterFlags
  },
  (flags) =>
    Effect.gen(function* () {
      const count = yield* shardCount(flags.shards)
      const hold = yield* holdDuration(flags.hold)
      const filter = yield* Filter.parse(parameters(flags), { label: flag })
      const out = Option.getOrElse(flags.out, () => "-")
      if (out.endsWith(".gz")) {
        return yield* new UsageError({
          message: `--out ${out}: a plan is JSON, never gzipped: name a .json file`
        })
      }
      const outFile = out === "-" ? undefined : yield* outputTarget("--out", out)
      yield* withDatabase(
        Effect.gen(function* () {
          yield* sessionsNeeded
          const exporter = yield* Export.Export
          yield* Effect.scoped(
            Effect.gen(function* () {
              const { plan, watch, warning } = yield* exporter.plan(filter, count, hold)
              if (Option.isSome(warning)) yield* Console.error(`ground-truth: warning: ${warning.value}`)
              const text = Stream.make(new TextEncoder().encode(Plan.encode(plan)))
              yield* outFile === undefined ? Output.toStdout(text) : Output.toFile(outFile, text)
              yield* Console.error(
                `ground-truth: plan ${plan.id}: ${count} shard${count === 1 ? "" : "s"} of ${plan.jobs} jobs; its ` +
                  `snapshot is held until ${plan.expires_at} (Ctrl-C ends it sooner). Write shard I (0 to ${count - 1}) ` +
                  `with: ground-truth export --plan ${outFile === undefined ? "PLAN" : out} --shard I --out FILE`
              )
              yield* Effect.raceFirst(
                Effect.sleep(hold),
                Effect.catchAll(watch, (e) =>
                  Effect.fail(
                    new PlanLost({
                      id: plan.id,
                      detail:
                        Database.describeSqlError(e) +
                        (Option.isSome(warning)
                          ? "; on this standby, most likely replay: see the warning above"
                          : "")
                    })
                  )
                )
              ).pipe(
                Effect.onInterrupt(() =>
                  Console.error(`ground-truth: plan ${plan.id}: stopped; its snapshot is released`)
                )
              )
              yield* Console.error(`ground-truth: plan ${plan.id}: its hold ended; its snapshot is released`)
            })
          )
        }),
        { prepare: false }
      )
    })
).pipe(
  Command.withDescription(
    "Plan an export that other processes or machines write shard by shard, from one snapshot it holds " +
      "(contract §15): writes the plan, then holds the snapshot until --hold ends or Ctrl-C."
  )
)

/** A plan of `Plan.MAX_SHARDS` shards takes ~2 MB. */
const PLAN_MAX_BYTES = 16 * 1024 * 1024

/** The export flags `--plan` refuses: the plan carries the filters and the format. */
type PlanFlags = FolderFlags & {
  readonly dataset: Option.Option<string>
  readonly shards: Option.Option<number>
  readonly workers: string
}

/** `export --plan PATH --shard I`: shard I of a plan, from the snapshot the plan holds. */
export const exportPlanShard = (planPath: string, shard: Option.Option<number>, flags: PlanFlags) =>
  Effect.gen(function* () {
    if (Option.isNone(shard)) {
      return yield* new UsageError({
        message: "--plan needs --shard I: the number of the shard to write, from 0"
      })
    }
    const given = parameters(flags)
    const refused = [
      ...(given.length > 0 ? [flag(given[0][0])] : []),
      ...(Option.isSome(flags.manifest) ? ["--manifest"] : []),
      ...(Option.isSome(flags.dataset) ? ["--dataset"] : []),
      ...(Option.isSome(flags.shards) ? ["--shards"] : []),
      ...(flags.workers !== "1" ? ["--workers"] : []),
      ...(flags.gzip ? ["--gzip (name the --out file .gz)"] : []),
      ...(flags.parquet ? ["--parquet (name the --out file .parquet)"] : [])
    ]
    if (refused.length > 0) {
      return yield* new UsageError({
        message: `--plan writes one shard of the plan's export, with its filters and format: ${refused[0]} does not apply`
      })
    }
    const out = Option.getOrElse(flags.out, () => "-")
    const encoding = out === "-" ? "lines" : yield* Output.corpusName("--out", out, "a shard is JSON Lines")
    const fs = yield* FileSystem.FileSystem
    const unreadable = (e: PlatformError) =>
      new UsageError({ message: `cannot read --plan ${planPath}: ${Output.describe(e)}` })
    const file = resolvePath(planPath)
    // A device or FIFO would be read for ever: a plan is a regular file, of 9999 shards at most.
    const info = yield* Effect.mapError(fs.stat(file), unreadable)
    if (info.type !== "File" || info.size > PLAN_MAX_BYTES) {
      return yield* new UsageError({
        message: `--plan ${planPath} is ${info.type !== "File" ? "not a regular file" : "too large"}: name the file ground-truth plan wrote`
      })
    }
    const text = yield* Effect.mapError(fs.readFileString(file), unreadable)
    const invalid = (e: Plan.PlanInvalid) => new UsageError({ message: `--plan ${planPath}: ${e.message}` })
    const written = yield* Effect.mapError(Plan.decode(text), invalid)
    const filter = Parquet.madeFrom(
      yield* Effect.mapError(Plan.filter(written), invalid),
      encoding === "parquet"
    )
    // A Parquet shard reads the lines it is made from; jsonl and hf have a line per job alike, so the
    // plan's shards hold the same jobs.
    const plan =
      encoding === "parquet"
        ? Plan.Plan.make({ ...written, parameters: { ...written.parameters, format: filter.format } })
        : written
    const index = shard.value
    if (!Number.isInteger(index) || index < 0 || index >= plan.shards.length) {
      return yield* new UsageError({
        message: `--shard must be from 0 to ${plan.shards.length - 1} (plan ${plan.id} has ${plan.shards.length}), not ${index}`
      })
    }
    const outFile = out === "-" ? undefined : yield* outputTarget("--out", out)
    yield* withDatabase(
      Effect.gen(function* () {
        yield* sessionsNeeded
        const exporter = yield* Export.Export
        const stream = Output.withProgress(exporter.shard(plan, index), `shard ${index}`)
        yield* outFile === undefined
          ? Output.toStdout(stream)
          : Output.toFile(outFile, Output.encoded(outFile, encoding, stream, Filter.output(filter)))
      }),
      { prepare: false }
    )
  })
