/**
 * The flags several commands share (filters, outputs, workers), the paths they name, and how a command
 * gets the live database.
 */
import * as os from "node:os"
import * as path from "node:path"
import { Options } from "@effect/cli"
import { Export, type Filter, Snapshot, Stats } from "@ground-truth/core"
import { Database } from "@ground-truth/db"
import * as Parameters from "@ground-truth/protocol/Parameters"
import { Console, Data, Duration, Effect, Either, Layer, Option } from "effect"
import * as Output from "./Output.js"

/**
 * A command line that cannot mean anything (exit status 2), found outside core's filter parser.
 *
 * @since 0.1.0
 * @category errors
 */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** Flags spelled as on the command line, for messages. */
export const flag = Parameters.flag

/** An export parameter's flag, its values and help from the protocol's table. */
const filterFlag = (name: Filter.Parameter) =>
  Options.text(flag(name).slice(2)).pipe(
    Options.withPseudoName(Parameters.table[name].values),
    Options.withDescription(Parameters.table[name].meaning(Parameters.cli)),
    Options.optional
  )

export const windowFlags = { since: filterFlag("since"), until: filterFlag("until") }

export const exportFlags = {
  approvedOnly: filterFlag("approved_only"),
  hasCorrections: filterFlag("has_corrections"),
  ...windowFlags,
  format: filterFlag("format"),
  input: filterFlag("input"),
  split: filterFlag("split"),
  splitRatios: filterFlag("split_ratios"),
  splitSeed: filterFlag("split_seed"),
  splitBy: filterFlag("split_by"),
  changedSince: filterFlag("changed_since")
}

/** The filter flags a corpus keeps: the export's, without --changed-since (sync takes it from the manifest). */
export const corpusFilterFlags = {
  approvedOnly: exportFlags.approvedOnly,
  hasCorrections: exportFlags.hasCorrections,
  ...windowFlags,
  format: exportFlags.format,
  input: exportFlags.input,
  split: exportFlags.split,
  splitRatios: exportFlags.splitRatios,
  splitSeed: exportFlags.splitSeed,
  splitBy: exportFlags.splitBy
}

/** The filter flags as core's parameter pairs, in a fixed order. */
export const parameters = (flags: {
  readonly approvedOnly?: Option.Option<string>
  readonly hasCorrections?: Option.Option<string>
  readonly since: Option.Option<string>
  readonly until: Option.Option<string>
  readonly format?: Option.Option<string>
  readonly input?: Option.Option<string>
  readonly split?: Option.Option<string>
  readonly splitRatios?: Option.Option<string>
  readonly splitSeed?: Option.Option<string>
  readonly splitBy?: Option.Option<string>
  readonly changedSince?: Option.Option<string>
}): Array<readonly [string, string]> => {
  const out: Array<readonly [string, string]> = []
  const add = (name: Filter.Parameter, value: Option.Option<string> | undefined) => {
    if (value !== undefined && Option.isSome(value)) out.push([name, value.value])
  }
  add("approved_only", flags.approvedOnly)
  add("has_corrections", flags.hasCorrections)
  add("since", flags.since)
  add("until", flags.until)
  add("format", flags.format)
  add("input", flags.input)
  add("split", flags.split)
  add("split_ratios", flags.splitRatios)
  add("split_seed", flags.splitSeed)
  add("split_by", flags.splitBy)
  add("changed_since", flags.changedSince)
  return out
}

/** Relative paths mean relative to where the user typed the command, not to the workspace root. */
const typedIn = () => process.env.INIT_CWD ?? process.cwd()
export const resolvePath = (p: string) => path.resolve(typedIn(), p)

/**
 * What `flag PATH` will write: the file itself or, through symbolic links, the one they name; anything
 * but a regular file (a folder, for `--dataset`) is a usage error. Resolved before the database is
 * opened. `..` is left for the kernel to follow, as a shell would (`link/../x` is beside what `link` names).
 */
export const outputTarget = (flag: string, p: string, kind: "file" | "folder" = "file") =>
  Output.target(flag, p, path.isAbsolute(p) ? p : `${typedIn()}/${p}`, kind)

/** An option's value as core parses it (`Eval.parseBy`, `Calibration.parseTarget`): none, or a usage error naming the flag. */
export const parsedOption = <A>(
  flag: string,
  given: Option.Option<string>,
  parse: (text: string) => Either.Either<A, string>
) =>
  Option.match(given, {
    onNone: () => Effect.succeed(Option.none<A>()),
    onSome: (text) =>
      Either.match(parse(text), {
        onLeft: (why) => Effect.fail(new UsageError({ message: `${flag} ${why}` })),
        onRight: (value) => Effect.succeed(Option.some(value))
      })
  })

/** Two outputs of one command that are one file would overwrite each other: a usage error naming both. */
export const distinct = (
  [flagA, a]: readonly [string, Output.Target],
  [flagB, b]: readonly [string, Output.Target]
) =>
  a.file === b.file
    ? new UsageError({
        message:
          `${flagA} ${a.name} and ${flagB} ${b.name} are the same file` +
          `${a.file === resolvePath(a.name) && b.file === resolvePath(b.name) ? "" : ` (${a.file})`}: ` +
          "each needs a file of its own"
      })
    : Effect.void

/**
 * A command that reads the database waits for as long as another session holds a lock it needs (no
 * time limit: the user is there, and Ctrl-C cancels the statement); after a few seconds it says what it
 * waits for and on whom, once, on standard error.
 */
const waits = Layer.succeed(Snapshot.Waits, {
  lockTimeout: Option.none(),
  onLockWait: Option.some({
    after: Duration.seconds(5),
    report: (wait: Snapshot.LockWait) =>
      Console.error(
        `ground-truth: waiting ${Math.round(Duration.toSeconds(wait.waited))} s for a lock on ${wait.lock} ` +
          `(${wait.mode}) held by ${wait.blockers.length === 0 ? "another session" : `session ${wait.blockers.join(", ")}`}; ` +
          "Ctrl-C cancels"
      )
  })
})

/**
 * Runs `effect` against the live database; on a fresh embedded database, first applies the schema and
 * seeds demo data, and says so on standard error.
 */
export const withDatabase = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  options: { readonly prepare: boolean; readonly workers?: number }
) =>
  Effect.gen(function* () {
    const info = yield* Database.DatabaseInfo
    if (options.prepare) {
      const seeded = yield* Database.prepareEmbedded
      if (seeded > 0) {
        yield* Console.error(
          `The embedded database at ${info.location} was empty: seeded ${seeded} demo jobs. ` +
            "Set DATABASE_URL to export a real PostgreSQL database."
        )
      }
    }
    const asked = options.workers ?? 1
    const single = asked > 1 && (yield* Database.servesOneSession)
    if (single) {
      yield* Console.error(
        `ground-truth: the embedded database serves one connection at a time: exporting with 1 worker, not ${asked}`
      )
    }
    return yield* Effect.provide(
      effect,
      Layer.mergeAll(Export.Export.Default, Stats.Stats.Default).pipe(
        Layer.provide(Layer.merge(waits, Database.workers(single ? 1 : asked)))
      )
    )
  }).pipe(Effect.provide(Database.layer))

/** `--workers N|auto`: how many workers read an export (contract §15). */
export const workersOption = Options.text("workers").pipe(
  Options.withPseudoName("N|auto"),
  Options.withDescription(
    "Read the export with N workers (threads, each with its own database connection) from one snapshot: the " +
      "same bytes, sooner on a machine with cores to spare. auto: one per core available. Default 1. The " +
      "embedded database serves one connection at a time: there, one worker reads."
  ),
  Options.withDefault("1")
)

/** The number `--workers` names: a whole number from 1 to 64, or `auto` (the cores available). */
export const workerCount = (given: string): Effect.Effect<number, UsageError> => {
  if (given === "auto") return Effect.succeed(Math.min(64, os.availableParallelism()))
  const n = /^\d{1,3}$/.test(given) ? Number(given) : Number.NaN
  return n >= 1 && n <= 64
    ? Effect.succeed(n)
    : Effect.fail(
        new UsageError({
          message: `--workers must be a whole number from 1 to 64 or auto, not ${JSON.stringify(given)}`
        })
      )
}

/** `--out PATH`: where the command writes its `what`, atomically; absent or `-` is standard output. */
export const outOption = (what: string, more = "") =>
  Options.text("out").pipe(
    Options.withAlias("o"),
    Options.withPseudoName("PATH"),
    Options.withDescription(
      `Write the ${what} to this file (replaced only once it is complete; a symbolic link is followed to the file ` +
        `it names; a device, FIFO, socket or folder is refused).${more} Absent or -: standard output.`
    ),
    Options.optional
  )

/** The export flags a folder output (`--dataset`, `--shards`) reads, and the file flags it refuses. */
export type FolderFlags = Parameters<typeof parameters>[0] & {
  readonly out: Option.Option<string>
  readonly manifest: Option.Option<string>
  readonly gzip: boolean
  readonly parquet: boolean
}
