/**
 * The `ground-truth` commands. Each parses its flags, provides the live database layer and runs core;
 * the filter flags go through core's one parser, exactly like the HTTP query parameters.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Args, Command, Options } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { SqlClient } from "@effect/sql"
import {
  Calibration,
  DatasetCard,
  Eval,
  EvalMarkdown,
  Export,
  Features,
  Filter,
  Lint,
  Manifest,
  Parquet,
  Plan,
  ReportPage,
  Snapshot,
  Split,
  Stats,
  Version
} from "@ground-truth/core"
import { Database, Demo, Migrations } from "@ground-truth/db"
import { Console, Data, Duration, Effect, Either, Layer, Option, Schema, Stream } from "effect"
import type * as Chain from "./Chain.js"
import * as Help from "./Help.js"
import * as Output from "./Output.js"
import * as Predictions from "./Predictions.js"
import * as Sync from "./Sync.js"

/**
 * A command line that cannot mean anything (exit status 2), found outside core's filter parser.
 *
 * @since 0.1.0
 * @category errors
 */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** Flags spelled as on the command line, for messages. */
const flag = (name: string) => `--${name.replaceAll("_", "-")}`

const filterFlag = (name: Filter.Parameter, pseudoName: string, description: string) =>
  Options.text(flag(name).slice(2)).pipe(
    Options.withPseudoName(pseudoName),
    Options.withDescription(description),
    Options.optional
  )

const windowFlags = {
  since: filterFlag(
    "since",
    "TIME",
    "Only samples whose time (reviewed_at, else created_at) is at or after this RFC 3339 timestamp " +
      "(2025-06-01T10:15:00Z, 2025-06-01T17:15:00+07:00) or date (2025-06-01 = midnight UTC). A window for " +
      "analysis (what was reviewed in June), not for keeping a corpus current: use --changed-since or sync."
  ),
  until: filterFlag(
    "until",
    "TIME",
    "Only samples whose time is before this timestamp or date: windows [since, until) never overlap."
  )
}

const exportFlags = {
  approvedOnly: filterFlag(
    "approved_only",
    "true|false",
    "true (default) exports reviewer-approved jobs only; false exports every job. Accepts true, false, 1, 0."
  ),
  hasCorrections: filterFlag(
    "has_corrections",
    "true|false",
    "true: only jobs with at least one correction (hard examples); false: only jobs without (sanity set). " +
      "Default: both."
  ),
  ...windowFlags,
  format: filterFlag(
    "format",
    "FORMAT",
    "jsonl (default: the contract's sample), prompt-completion ({prompt, completion}), messages (chat: " +
      "system, user, assistant), preference ({prompt, chosen, rejected} for DPO; only jobs whose results " +
      "differ) or hf (the sample with results as JSON strings, for datasets.load_dataset)."
  ),
  input: filterFlag(
    "input",
    "both|text|pipeline",
    "What the model reads in the user turn. both (the training formats' default): the letter's OCR text " +
      "(where the database keeps it, in job_texts), then the pipeline's JSON; a job without a text gets " +
      "the JSON alone. text: the OCR text alone. pipeline: the pipeline's JSON alone. Jobs with nothing " +
      "to read are left out. In jsonl and hf (default pipeline), text or both add an ocr_text column."
  ),
  split: filterFlag(
    "split",
    "train|validation|test",
    "Only the jobs of this split, decided by a hash of the job's letter key (--split-by letter, the " +
      "default: every copy of a letter lands in one split) or of its job_id (--split-by job)."
  ),
  splitRatios: filterFlag(
    "split_ratios",
    "T,V,T",
    "With --split: whole-number ratios of train, validation and test. Default 80,10,10."
  ),
  splitSeed: filterFlag("split_seed", "SEED", "With --split: a seed for another, equally stable assignment."),
  splitBy: filterFlag(
    "split_by",
    "letter|job",
    "With --split: what decides a job's split. letter (default): its header.nomor_sprint without ASCII " +
      "whitespace, ASCII letters upper-cased (its job_id when it has none), so copies of one letter never " +
      "straddle train and test; a job moves only when a reviewer corrects its number. job: its job_id, the " +
      "assignment before letters."
  ),
  changedSince: filterFlag(
    "changed_since",
    "CURSOR",
    "Only the jobs changed since the export whose manifest (or Ground-Truth-Cursor header) gave this cursor, " +
      "and that still match the other filters; --manifest then lists in removed the changed jobs that no " +
      "longer match (contract §11). `sync` keeps a corpus current this way."
  )
}

/** The filter flags a corpus keeps: the export's, without --changed-since (sync takes it from the manifest). */
const corpusFilterFlags = {
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
const parameters = (flags: {
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
const resolvePath = (p: string) => path.resolve(typedIn(), p)

/**
 * What `flag PATH` will write: the file itself or, through symbolic links, the one they name; anything
 * but a regular file (a folder, for `--dataset`) is a usage error. Resolved before the database is
 * opened. `..` is left for the kernel to follow, as a shell would (`link/../x` is beside what `link` names).
 */
const outputTarget = (flag: string, p: string, kind: "file" | "folder" = "file") =>
  Output.target(flag, p, path.isAbsolute(p) ? p : `${typedIn()}/${p}`, kind)

/** An option's value as core parses it (`Eval.parseBy`, `Calibration.parseTarget`): none, or a usage error naming the flag. */
const parsedOption = <A>(
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
const distinct = (
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
const withDatabase = <A, E, R>(
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
const workersOption = Options.text("workers").pipe(
  Options.withPseudoName("N|auto"),
  Options.withDescription(
    "Read the export with N workers (threads, each with its own database connection) from one snapshot: the " +
      "same bytes, sooner on a machine with cores to spare. auto: one per core available. Default 1. The " +
      "embedded database serves one connection at a time: there, one worker reads."
  ),
  Options.withDefault("1")
)

/** The number `--workers` names: a whole number from 1 to 64, or `auto` (the cores available). */
const workerCount = (given: string): Effect.Effect<number, UsageError> => {
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
const outOption = (what: string, more = "") =>
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
type FolderFlags = Parameters<typeof parameters>[0] & {
  readonly out: Option.Option<string>
  readonly manifest: Option.Option<string>
  readonly gzip: boolean
  readonly parquet: boolean
}

/**
 * A folder's `features.json` (the format's `datasets` features), where the format has them (not jsonl) and
 * the files do not declare their own (Parquet).
 */
const featuresFile = (filter: Filter.Filter, parquet: boolean): ReadonlyArray<readonly [string, string]> => {
  const { format, input } = Filter.output(filter)
  const features = Features.json(format, input)
  return features === undefined || parquet ? [] : [["features.json", features]]
}

/**
 * How a folder's files are written from their lines (`format`'s): `.jsonl.gz` gzipped (`--gzip`),
 * `.parquet` as Parquet (`--parquet`), else as they are. `name` turns a file's name as lines
 * (`train.jsonl`) into its name as written; `file` a manifest's entry into the file as written (its
 * bytes and SHA-256 those of that file, its rows still the samples it holds).
 */
const folderFiles = (flags: FolderFlags, filter: Filter.Filter) => {
  const name = (lines: string) =>
    flags.parquet
      ? `${lines.slice(0, -".jsonl".length)}${Parquet.extension}`
      : flags.gzip
        ? `${lines}.gz`
        : lines
  return {
    name,
    encoder: flags.parquet
      ? Parquet.writer(filter.format, Filter.output(filter).input)
      : flags.gzip
        ? Output.gzipEncoder
        : undefined,
    file:
      (written: ReadonlyMap<string, Output.Written>) =>
      <F extends { readonly path: string; readonly bytes: number; readonly sha256: string }>(file: F): F => {
        const path = name(file.path)
        return { ...file, path, ...written.get(path) }
      },
    /** What the manifest says of the files, when they are not the lines. */
    marks: {
      ...(flags.gzip ? { compression: "gzip" as const } : {}),
      ...(flags.parquet ? { file_format: "parquet" as const } : {})
    }
  }
}

/** A folder's files are gzipped lines or Parquet, not both; a single file is picked by its name. */
const folderEncoding = (flags: FolderFlags): Effect.Effect<void, UsageError> =>
  flags.gzip && flags.parquet
    ? Effect.fail(
        new UsageError({
          message: "--gzip and --parquet: a Parquet file is compressed inside; give one of them"
        })
      )
    : Effect.void

/** The number `--shards` names: a whole number from 1 to `Plan.MAX_SHARDS`. */
const shardCount = (count: number): Effect.Effect<number, UsageError> =>
  Number.isInteger(count) && count >= 1 && count <= Plan.MAX_SHARDS
    ? Effect.succeed(count)
    : Effect.fail(
        new UsageError({
          message: `--shards must be a whole number from 1 to ${Plan.MAX_SHARDS}, not ${count}`
        })
      )

/**
 * `export --dataset DIR`: the three splits of one snapshot, their card, features and manifest; with
 * `--shards N`, each split's file cut into N of as many of its jobs (contract §15).
 */
const exportDataset = (
  dir: string,
  flags: FolderFlags,
  workers: number,
  shards: Option.Option<number>,
  license: Option.Option<string>
) =>
  Effect.gen(function* () {
    for (const [given, name] of [
      [flags.out, "--out"],
      [flags.manifest, "--manifest"],
      [flags.split ?? Option.none(), "--split"],
      [flags.changedSince ?? Option.none(), "--changed-since"]
    ] as const) {
      if (Option.isSome(given)) {
        return yield* new UsageError({
          message: `--dataset writes every split of a full export into its folder: ${name} does not apply`
        })
      }
    }
    yield* folderEncoding(flags)
    const count = Option.isSome(shards) ? yield* shardCount(shards.value) : undefined
    if (Option.isSome(license) && !Schema.is(DatasetCard.License)(license.value)) {
      return yield* new UsageError({
        message:
          `--license must be a short SPDX-like id (letters, digits, ., - and +, at most 64: cc-by-nc-4.0, ` +
          `Apache-2.0, other), not ${JSON.stringify(license.value)}`
      })
    }
    // The split flags are read as --split's are; the dataset holds all three.
    const parsed = yield* Filter.parse([...parameters(flags), ["split", "train"]], { label: flag })
    const splitting: Split.Splitting = Option.getOrElse(parsed.split, () => Split.defaultSplitting)
    const filter: Filter.Filter = Parquet.madeFrom({ ...parsed, split: Option.none() }, flags.parquet)
    yield* Output.folderName("--dataset", dir)
    const written = folderFiles(flags, filter)
    const target = yield* outputTarget("--dataset", dir, "folder")
    yield* Output.recoverDataset(target)
    yield* withDatabase(
      Effect.gen(function* () {
        const exporter = yield* Export.Export
        const { stream, manifest } = yield* exporter.dataset(filter, splitting, count)
        yield* Output.toDataset(
          target,
          Stream.map(stream, (part) => ({
            file: written.name(Manifest.splitPath(part.split, part.shard, count)),
            bytes: part.bytes
          })),
          (files) =>
            Effect.map(manifest, (plain) => {
              const m = Manifest.DatasetManifest.make({
                ...plain,
                ...(written.encoder === undefined
                  ? {}
                  : {
                      files: plain.files.map((f) => Manifest.SplitFile.make(written.file(files)(f))),
                      ...written.marks
                    }),
                license: Option.getOrNull(license)
              })
              return [
                ["manifest.json", `${JSON.stringify(m)}\n`] as const,
                ["README.md", DatasetCard.render(m)] as const,
                ...featuresFile(filter, flags.parquet)
              ]
            }),
          written.encoder === undefined ? {} : { encoder: written.encoder }
        )
        const m = yield* manifest
        const rows = (split: Split.Name) => m.files.reduce((n, f) => (f.split === split ? n + f.rows : n), 0)
        const splits = Split.Name.literals.filter((split) => !m.empty_splits.includes(split))
        yield* Console.error(
          `${dir}: ${splits.map((split) => `${split} ${rows(split)}`).join(", ")}` +
            `${count === undefined ? "" : `, each in ${count} shard${count === 1 ? "" : "s"}`}` +
            `${m.empty_splits.length === 0 ? "" : ` (no rows: ${m.empty_splits.join(", ")})`} at ${m.cursor}`
        )
      }),
      { prepare: true, workers }
    )
  })

/**
 * `export --shards N --out DIR`: a full export cut into N files of as many jobs, from one snapshot, in a
 * folder with their manifest (contract §15).
 */
const exportShards = (given: number, flags: FolderFlags, workers: number) =>
  Effect.gen(function* () {
    const count = yield* shardCount(given)
    if (Option.isSome(flags.changedSince ?? Option.none())) {
      return yield* new UsageError({ message: "--shards cuts a full export: --changed-since does not apply" })
    }
    if (Option.isSome(flags.manifest)) {
      return yield* new UsageError({
        message:
          "--shards writes its manifest into the --out folder (manifest.json): --manifest does not apply"
      })
    }
    const dir = Option.getOrElse(flags.out, () => "-")
    if (dir === "-") {
      return yield* new UsageError({
        message: "--shards writes a folder of files: --out names that folder, not standard output"
      })
    }
    yield* Output.folderName("--out", dir)
    yield* folderEncoding(flags)
    const parsed = yield* Filter.parse(parameters(flags), { label: flag })
    const filter = Parquet.madeFrom(parsed, flags.parquet)
    const written = folderFiles(flags, filter)
    const target = yield* outputTarget("--out", dir, "folder")
    yield* Output.recoverDataset(target)
    yield* withDatabase(
      Effect.gen(function* () {
        const exporter = yield* Export.Export
        const { stream, manifest } = yield* exporter.shards(filter, count)
        yield* Output.toDataset(
          target,
          Stream.map(stream, ({ shard, bytes }) => ({
            file: written.name(Manifest.shardPath("part", shard, count)),
            bytes
          })),
          // The format's features beside the shards: a shard of a few jobs may hold a column that is null
          // throughout, whose type datasets cannot guess from that file (a Parquet file declares its own).
          (files) =>
            Effect.map(manifest, (plain) => {
              // Encoded, the whole's rows, bytes and SHA-256 still describe the lines; each file is as written.
              const m =
                written.encoder === undefined
                  ? plain
                  : Manifest.Manifest.make({
                      ...plain,
                      files: (plain.files ?? []).map((f) => Manifest.ShardFile.make(written.file(files)(f))),
                      ...written.marks
                    })
              return [["manifest.json", Manifest.encode(m)] as const, ...featuresFile(filter, flags.parquet)]
            }),
          written.encoder === undefined ? {} : { encoder: written.encoder }
        )
        const m = yield* manifest
        yield* Console.error(
          `${dir}: ${m.rows} rows in ${count} shard${count === 1 ? "" : "s"} at ${m.cursor}`
        )
      }),
      { prepare: true, workers }
    )
  })

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
const planCommand = Command.make(
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
const exportPlanShard = (planPath: string, shard: Option.Option<number>, flags: PlanFlags) =>
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

const exportCommand = Command.make(
  "export",
  {
    out: outOption(
      "corpus",
      " A name ending in .gz is written gzipped (datasets reads .jsonl.gz as it is); the manifest still " +
        "describes the uncompressed corpus (zcat PATH | sha256sum). A name ending in .parquet is written as one " +
        "Parquet file with a declared schema (jsonl as hf: results as JSON text, times timestamp[us, tz=UTC], " +
        "corrections a list of structs; the training formats as lists of role and content), which pyarrow, " +
        "DuckDB, polars and datasets read with those types; not with --manifest. A name whose extension says another format (.csv, .json, .zst, .zip…) is refused."
    ),
    manifest: Options.text("manifest").pipe(
      Options.withPseudoName("PATH"),
      Options.withDescription(
        "Also write the export's manifest to this file (- for standard output, with --out) once the corpus " +
          "is complete, and before it replaces --out: parameters, snapshot time, rows, bytes and the SHA-256 " +
          "of the corpus (equal to sha256sum of the --out file)."
      ),
      Options.optional
    ),
    dataset: Options.text("dataset").pipe(
      Options.withPseudoName("DIR"),
      Options.withDescription(
        "Write a dataset folder instead: train.jsonl, validation.jsonl and test.jsonl (a split without rows gets " +
          "no file) from one snapshot, split by --split-ratios and --split-seed, with a dataset card (README.md: " +
          "the splits and the format's features, so datasets.load_dataset(DIR) gives a DatasetDict), " +
          "features.json and manifest.json (each file's rows, bytes and SHA-256, the cursor, the filters). " +
          "DIR is replaced only once complete, and only if it is a dataset folder or empty (a symbolic link is " +
          "followed to the folder it names); a run that was killed while replacing it is undone by the next."
      ),
      Options.optional
    ),
    workers: workersOption,
    plan: Options.text("plan").pipe(
      Options.withPseudoName("PATH"),
      Options.withDescription(
        "Write one shard of a plan (ground-truth plan --shards N --out PATH), from the snapshot the plan holds, " +
          "with the plan's filters and format: on any machine that reaches the database. With --shard I."
      ),
      Options.optional
    ),
    shard: Options.integer("shard").pipe(
      Options.withPseudoName("I"),
      Options.withDescription("With --plan: the shard to write, from 0 to N-1."),
      Options.optional
    ),
    shards: Options.integer("shards").pipe(
      Options.withPseudoName("N"),
      Options.withDescription(
        "Cut the export into N files of as many jobs, from one snapshot: --out then names a folder, which gets " +
          "part-00000-of-0000N.jsonl … (the names datasets reads as shards; concatenated in name order they are " +
          "the export's bytes), manifest.json (the whole's rows, bytes and SHA-256, each file's, one cursor) and, " +
          "but for jsonl, features.json (the format's datasets features, for Features.from_dict). " +
          "With --dataset, each split's file is cut so, into train-00000-of-0000N.jsonl … (N of as many of the " +
          "split's jobs), the card naming them all. The folder is replaced only once complete. A full export: " +
          "not with --changed-since."
      ),
      Options.optional
    ),
    license: Options.text("license").pipe(
      Options.withPseudoName("ID"),
      Options.withDescription(
        "With --dataset: the license its card (license:) and manifest name, a short SPDX-like id (cc-by-nc-4.0, " +
          "Apache-2.0, other). Unset, the card says other and that none was set, and whom to ask. Whatever the " +
          "license, the card says the dataset holds personal data (names and NRPs) not to be published."
      ),
      Options.optional
    ),
    gzip: Options.boolean("gzip").pipe(
      Options.withDescription(
        "Gzip each file of a folder output (--shards N --out DIR, --dataset DIR): part-00000-of-0000N.jsonl.gz, " +
          "train.jsonl.gz … (datasets reads them as they are; decompressed and concatenated in name order they " +
          "are the plain files' bytes). manifest.json then says compression gzip, and gives each file's bytes " +
          "and SHA-256 as written (sha256sum FILE.gz), its rows the lines it holds. A single file is gzipped " +
          "by its name instead: --out NAME.gz."
      )
    ),
    parquet: Options.boolean("parquet").pipe(
      Options.withDescription(
        "Write each file of a folder output (--shards N --out DIR, --dataset DIR) as Parquet: part-00000-of-0000N.parquet, " +
          "train.parquet … (the format's samples with a declared schema, jsonl as hf; datasets.load_dataset(DIR) " +
          "reads the folder). manifest.json then says file_format parquet, and gives each file's bytes and SHA-256 " +
          "as written, its rows the samples it holds. A single file is Parquet by its name instead: --out NAME.parquet."
      )
    ),
    ...exportFlags
  },
  (flags) =>
    Effect.gen(function* () {
      if (Option.isSome(flags.license) && Option.isNone(flags.dataset)) {
        return yield* new UsageError({
          message:
            "--license names the license of a dataset folder's card: give the folder with --dataset DIR"
        })
      }
      if (Option.isSome(flags.plan)) return yield* exportPlanShard(flags.plan.value, flags.shard, flags)
      if (Option.isSome(flags.shard)) {
        return yield* new UsageError({
          message: "--shard names a shard of a plan: give the plan with --plan PATH"
        })
      }
      const workers = yield* workerCount(flags.workers)
      if (Option.isSome(flags.dataset)) {
        return yield* exportDataset(flags.dataset.value, flags, workers, flags.shards, flags.license)
      }
      if (Option.isSome(flags.shards)) return yield* exportShards(flags.shards.value, flags, workers)
      if (flags.gzip || flags.parquet) {
        return yield* new UsageError({
          message: flags.gzip
            ? "--gzip gzips the files of a folder (--shards N --out DIR, --dataset DIR): " +
              "--out NAME.gz writes one file gzipped"
            : "--parquet writes the files of a folder as Parquet (--shards N --out DIR, --dataset DIR): " +
              "--out NAME.parquet writes one Parquet file"
        })
      }
      const out = Option.getOrElse(flags.out, () => "-")
      const parsed = yield* Filter.parse(parameters(flags), { label: flag })
      const encoding =
        out === "-" ? "lines" : yield* Output.corpusName("--out", out, "export writes JSON Lines")
      const filter = Parquet.madeFrom(parsed, encoding === "parquet")
      if (encoding === "parquet" && Option.isSome(flags.manifest)) {
        return yield* new UsageError({
          message:
            `--manifest describes a corpus of lines (its bytes and SHA-256): a Parquet --out has none; ` +
            "sha256sum the file, or export the lines with their manifest"
        })
      }
      if (out === "-" && Option.contains(flags.manifest, "-")) {
        return yield* new UsageError({
          message: "--manifest - needs --out PATH: standard output holds the corpus"
        })
      }
      const outFile = out === "-" ? undefined : yield* outputTarget("--out", out)
      const manifestFile =
        Option.isNone(flags.manifest) || flags.manifest.value === "-"
          ? undefined
          : yield* outputTarget("--manifest", flags.manifest.value)
      if (outFile !== undefined && manifestFile !== undefined) {
        yield* distinct(["--out", outFile], ["--manifest", manifestFile])
      }
      const corpusTo = <E, R>(stream: Stream.Stream<Uint8Array, E, R>) =>
        outFile === undefined
          ? Output.toStdout(stream)
          : Output.toFile(outFile, Output.encoded(outFile, encoding, stream, Filter.output(filter)))
      const run = Effect.gen(function* () {
        const exporter = yield* Export.Export
        if (Option.isNone(flags.manifest) && Option.isNone(filter.changedSince)) {
          return yield* corpusTo(Output.withProgress(exporter.stream(filter), "exported"))
        }
        if (Option.isNone(flags.manifest)) {
          // An increment's removals live in its manifest: without one, say that there are some.
          const { stream, manifest } = yield* exporter.withManifest(filter)
          yield* corpusTo(Output.withProgress(stream, "exported"))
          const { removed } = yield* manifest
          if (removed.length > 0) {
            yield* Console.error(
              `ground-truth: ${removed.length} changed job${removed.length === 1 ? " has" : "s have"} no line ` +
                "in this increment; --manifest PATH lists them (removed), to drop from the corpus it continues"
            )
          }
          return
        }
        const { stream, manifest } = yield* exporter.withManifest(filter)
        const writeManifest = Effect.flatMap(manifest, (m) => {
          const bytes = Stream.make(new TextEncoder().encode(Manifest.encode(m)))
          return manifestFile === undefined ? Output.toStdout(bytes) : Output.toFile(manifestFile, bytes)
        })
        const progress = Output.withProgress(stream, "exported")
        // A manifest that cannot be written leaves the previous corpus in place, not one it does not describe.
        yield* outFile === undefined
          ? Effect.zipRight(Output.toStdout(progress), writeManifest)
          : Output.toFile(
              outFile,
              Output.encoded(outFile, encoding, progress, Filter.output(filter)),
              writeManifest
            )
      })
      yield* withDatabase(run, { prepare: true, workers })
    })
).pipe(
  Command.withDescription(
    "Export the corpus as JSONL: one training sample per line (contract §5–§7), or in a training format."
  )
)

/** `--out PATH` and `--manifest PATH` of a corpus that sync or merge keeps. */
const corpusFlags = {
  out: Options.text("out").pipe(
    Options.withAlias("o"),
    Options.withPseudoName("PATH"),
    Options.withDescription(
      "The corpus file (jsonl or hf format) to keep current, or a symbolic link to it. It is replaced only once " +
        "the new one is complete, its manifest written just before (a run killed between the two is finished " +
        "by the next)."
    )
  ),
  manifest: Options.text("manifest").pipe(
    Options.withPseudoName("PATH"),
    Options.withDescription(
      "The corpus's manifest: its filters, the cursor it has reached, and its rows, bytes and SHA-256, which " +
        "are checked before every run. Default: --out with .jsonl replaced by .manifest.json (corpus.jsonl → " +
        "corpus.manifest.json), or --out followed by .manifest.json."
    ),
    Options.optional
  )
}

/** The corpus and manifest paths of `--out` and `--manifest`, as files and as the user wrote them. */
const corpusPaths = (
  command: string,
  flags: { readonly out: string; readonly manifest: Option.Option<string> }
) =>
  Effect.gen(function* () {
    if (flags.out === "-" || flags.out === "") {
      return yield* new UsageError({
        message: `${command} needs --out PATH: a corpus file to keep current, not standard output`
      })
    }
    const encoding = yield* Output.corpusName(
      "--out",
      flags.out,
      `${command} keeps a JSON Lines corpus`,
      false
    )
    if (encoding !== "lines") {
      return yield* new UsageError({
        message: `${command} keeps a plain corpus, not ${flags.out}: ${encoding === "gzip" ? "gzip" : "convert"} a copy of it if you need one`
      })
    }
    const manifest = Option.getOrElse(flags.manifest, () => Sync.defaultManifest(flags.out))
    if (manifest === "-") {
      return yield* new UsageError({
        message: `${command} keeps its manifest in a file: --manifest - does not apply`
      })
    }
    const paths = {
      corpus: yield* outputTarget("--out", flags.out),
      manifest: yield* outputTarget("--manifest", manifest)
    } satisfies Sync.Paths
    yield* distinct(["--out", paths.corpus], ["--manifest", paths.manifest])
    return paths
  })

const syncCommand = Command.make(
  "sync",
  {
    ...corpusFlags,
    ...corpusFilterFlags,
    url: Options.text("url").pipe(
      Options.withPseudoName("URL"),
      Options.withDescription(
        "Read the increments from a ground-truth server (GET URL/api/v1/ground-truth/changes) instead of the " +
          "database, with Authorization: Bearer $GROUND_TRUTH_TOKEN when that variable is set."
      ),
      Options.optional
    ),
    fullIfStale: Options.boolean("full-if-stale").pipe(
      Options.withDescription(
        "When the database (or server) cannot answer for the manifest's cursor (rows were deleted, a restored " +
          "database), take a full export with the manifest's filters instead of stopping: for unattended cron."
      )
    )
  },
  (flags) =>
    Effect.gen(function* () {
      const params = parameters(flags)
      const filter = yield* Filter.parse(params, { label: flag })
      const asked: Sync.Asked = {
        filter,
        given: params.map(([name]) => name as Chain.Kept),
        fullIfStale: flags.fullIfStale
      }
      const paths = yield* corpusPaths("sync", flags)
      if (Option.isNone(flags.url)) {
        return yield* withDatabase(Sync.sync(paths, asked, Sync.database), { prepare: true })
      }
      const url = flags.url.value
      const base = URL.canParse(url) ? new URL(url) : undefined
      if (base === undefined || (base.protocol !== "http:" && base.protocol !== "https:")) {
        return yield* new UsageError({
          message: `--url must be an http:// or https:// URL, not ${JSON.stringify(url)}`
        })
      }
      const token = yield* Sync.token
      // Loaded here: the HTTP client (undici, and with it Node's http, http2 and tls) would cost every
      // command's start.
      const { layerUndici } = yield* Effect.promise(() => import("@effect/platform-node/NodeHttpClient"))
      yield* Sync.sync(paths, asked, Sync.server(base, token)).pipe(Effect.provide(layerUndici))
    })
).pipe(
  Command.withDescription(
    "Keep a corpus file current, for cron: `ground-truth sync --out corpus.jsonl` every night. The first run " +
      "(no manifest yet) takes a full export with the filter flags given and writes the corpus and its manifest. " +
      "Every later run keeps the manifest's filters, checks the corpus against it, takes only the jobs changed " +
      "since its cursor (contract §11: new, edited, approved, withdrawn) and rewrites the corpus to exactly the " +
      "bytes a full export would give now, with its manifest. jsonl and hf formats only (their lines carry job_id and created_at). " +
      "If the corpus no longer matches its manifest, or the database cannot answer for its cursor (rows deleted, " +
      "a restored database), it changes nothing, exits 1 or 2 and says so: remove the manifest, and the next run " +
      "is a full export (--full-if-stale does that by itself for a cursor that cannot be answered)."
  )
)

const mergeCommand = Command.make(
  "merge",
  {
    ...corpusFlags,
    changes: Args.text({ name: "CHANGES" }).pipe(
      Args.withDescription(
        "Saved bodies of GET /api/v1/ground-truth/changes, oldest first: each ends with its manifest line and " +
          "continues from the cursor the one before it reached (changed_since = the corpus's cursor); one " +
          "without changed_since is a full export and replaces the corpus."
      ),
      Args.atLeast(1)
    )
  },
  (flags) =>
    Effect.gen(function* () {
      const paths = yield* corpusPaths("merge", flags)
      const files = flags.changes.map((name) => ({ file: resolvePath(name), name }))
      yield* Sync.merge(paths, files)
    })
).pipe(
  Command.withDescription(
    "Apply saved /changes bodies to a corpus file. In order, to the corpus and its manifest, with the " +
      "checks sync makes (each body complete, continuing from the corpus's cursor, with its filters, format " +
      "and split): for a " +
      'machine that gets the bodies (curl "$URL/api/v1/ground-truth/changes?changed_since=$CURSOR") but ' +
      "reaches neither the database nor the server itself."
  )
)

const featuresCommand = Command.make(
  "features",
  { format: exportFlags.format, input: exportFlags.input },
  (flags) =>
    Effect.gen(function* () {
      const given: Array<readonly [string, string]> = [["format", Option.getOrElse(flags.format, () => "hf")]]
      if (Option.isSome(flags.input)) given.push(["input", flags.input.value])
      const filter = yield* Filter.parse(given, { accept: ["format", "input"], label: flag })
      const features = Features.json(filter.format, Filter.output(filter).input)
      if (features === undefined) {
        return yield* new UsageError({
          message:
            "jsonl declares no features: its results are any JSON value, which Arrow re-types; " +
            "export --format hf to load the samples with datasets"
        })
      }
      yield* Effect.sync(() => process.stdout.write(features))
    })
).pipe(
  Command.withDescription(
    "Print the datasets features of a format as JSON. hf by default; for " +
      'load_dataset("json", data_files=…, features=Features.from_dict(json.load(open("features.json")))): ' +
      "every file of the format then loads with one schema, whatever its rows hold."
  )
)

const statsCommand = Command.make("stats", windowFlags, (flags) =>
  Effect.gen(function* () {
    const window = yield* Filter.parse(parameters(flags), { accept: Filter.statsParameters, label: flag })
    const report = yield* withDatabase(
      Effect.flatMap(Stats.Stats, (stats) => stats.get(window)),
      { prepare: true }
    )
    yield* Effect.sync(() => process.stdout.write(Stats.encode(report)))
  })
).pipe(
  Command.withDescription(
    "Print coverage stats as JSON: jobs, approvals, corrections, most corrected fields (also grouped " +
      "across table rows, with rates) and readiness against the fine-tuning checklist."
  )
)

const { changedSince: _, input: __, ...evalFilterFlags } = exportFlags

const evalCommand = Command.make(
  "eval",
  {
    predictions: Options.text("predictions").pipe(
      Options.withPseudoName("FILE"),
      Options.withDescription(
        'A JSONL file, one line per job: {"job_id": …, "result": {…}} or {"job_id": …, "completion": "…"} ' +
          '(a model\'s raw answer, or TRL\'s [{"role":"assistant","content":"…"}], read as a chatty model writes ' +
          "it: <think> spans removed, then the whole text, its first ``` code block, or its first { to its last }). " +
          "Without it (or with an empty file), the pipeline's first answers are scored alone: where the " +
          "pipeline fails, and what kind of fix each field needs."
      ),
      Options.optional
    ),
    against: Options.text("against").pipe(
      Options.withPseudoName("FILE"),
      Options.withDescription(
        "A second model's predictions, in the same form, scored on the same jobs beside the first (and the " +
          "pipeline): the line gains against {predictions, missing, unknown, unparseable, completions}, an " +
          "against score beside model and pipeline everywhere, and intervals.against, the 95% intervals of " +
          "model − against from the same paired resamples. --markdown then compares the two models. Needs " +
          "--predictions."
      ),
      Options.optional
    ),
    markdown: Options.boolean("markdown").pipe(
      Options.withDescription(
        "Print a Markdown table for people instead of the JSON line: model and pipeline (with --against, the " +
          "two models) side by side per field, worst fields first, with the difference in points."
      )
    ),
    by: Options.text("by").pipe(
      Options.withPseudoName("satuan|source_kind|review_flag"),
      Options.withDescription(
        "Also score each slice of the reference jobs on its own: by satuan, source_kind or review_flag (each " +
          "flag of a job; none: null). The line gains slices {by, values: [{value, report}]}, and --markdown a " +
          "table of the slices: where the model helps, and where it hurts."
      ),
      Options.optional
    ),
    details: Options.text("details").pipe(
      Options.withPseudoName("FILE"),
      Options.withDescription(
        "Also write one JSON line per reference job to FILE, in export order, from the same snapshot: its " +
          "prediction (result, null, unparseable or missing) and line, whether the model and the pipeline " +
          "matched it exactly, and each wrong leaf with its path, class, expected and predicted values: the " +
          "letters a model gets wrong, to read or to grep. Written whole or not at all."
      ),
      Options.optional
    ),
    ...evalFilterFlags
  },
  (flags) =>
    Effect.gen(function* () {
      const filter = yield* Filter.parse(parameters(flags), { accept: Filter.evalParameters, label: flag })
      const detailsFile = Option.isNone(flags.details)
        ? undefined
        : yield* outputTarget("--details", flags.details.value)
      if (Option.isSome(flags.against) && Option.isNone(flags.predictions))
        return yield* new UsageError({
          message: "--against compares a second model with the first: give the first with --predictions"
        })
      if (detailsFile !== undefined)
        for (const [which, given] of [
          ["predictions", flags.predictions],
          ["--against", flags.against]
        ] as const) {
          if (Option.isNone(given)) continue
          // Replacing the predictions with their details would lose them.
          const read = Effect.option(Effect.try(() => fs.realpathSync(resolvePath(given.value))))
          if (Option.contains(yield* read, detailsFile.file))
            return yield* new UsageError({
              message: `--details ${detailsFile.name} is the ${which} file: name a file of its own`
            })
        }
      const by = yield* parsedOption("--by", flags.by, Eval.parseBy)
      const score = <E2>(
        exporter: Export.Export,
        predictions: Eval.Given<E2> | undefined,
        against: Eval.Given<E2> | undefined
      ) => {
        const options: Eval.Options<E2> = {
          split: filter.split,
          ...Option.match(by, { onNone: () => ({}), onSome: (slice) => ({ by: slice }) }),
          ...(against === undefined ? {} : { against })
        }
        if (detailsFile === undefined)
          return Eval.run(filter.format, exporter.samples(filter), predictions, options)
        const { lines, scored } = Eval.detailed(filter.format, exporter.samples(filter), predictions, options)
        const encoder = new TextEncoder()
        return Effect.zipRight(
          Output.toFile(
            detailsFile,
            Stream.map(lines, (line) => encoder.encode(line))
          ),
          scored
        )
      }
      const opened = (file: Option.Option<string>, which: Eval.PredictionsFile) =>
        Option.match(file, {
          onNone: () => Effect.succeed(undefined),
          onSome: (name) => Predictions.open(resolvePath(name), which)
        })
      const scored = yield* Effect.scoped(
        Effect.gen(function* () {
          const predictions = yield* opened(flags.predictions, "predictions")
          const against = yield* opened(flags.against, "against")
          return yield* withDatabase(
            Effect.flatMap(Export.Export, (exporter) => score(exporter, predictions, against)),
            { prepare: true }
          )
        })
      )
      const warnings = [scored.report.warning, scored.report.against?.warning]
      yield* Effect.sync(() => {
        for (const warning of warnings)
          if (warning !== undefined) process.stderr.write(`ground-truth: warning: ${warning}\n`)
        process.stdout.write(flags.markdown ? EvalMarkdown.markdown(scored) : Eval.encode(scored.report))
      })
    })
).pipe(
  Command.withDescription(
    "Score a model's predictions against the ground truth. The reference is the jobs an export with the " +
      "same filters holds, from one snapshot; each field is scored beside the pipeline's first answer: one " +
      "JSON line with precision, recall, f1 and error classes per field (missing, extra, format, ocr, value: " +
      "the prompt, a normalizer, OCR post-correction or fine-tuning) and exact match (contracts §12, §14). " +
      "With --against, a second model beside the first. Without --predictions, the pipeline alone."
  )
)

const { changedSince: ___, input: ____, format: _____, ...lintFlags } = exportFlags

/** What `lint` exits with when a check found something: a pipeline can stop on it (contract §13). */
const FINDINGS = 3

const lintCommand = Command.make("lint", lintFlags, (flags) =>
  Effect.gen(function* () {
    const filter = yield* Filter.parse(parameters(flags), { accept: Filter.lintParameters, label: flag })
    const report = yield* withDatabase(Lint.run(filter), { prepare: true })
    yield* Effect.sync(() => {
      process.stdout.write(Lint.encode(report))
      if (Lint.found(report)) process.exitCode = FINDINGS
    })
  })
).pipe(
  Command.withDescription(
    "Check the corpus (the jobs an export with these filters holds, from one snapshot) and print one JSON " +
      "line: letter_conflict (copies of one letter, by its nomor_sprint, with different final results), " +
      "person_conflict (one NRP with two names), reverted (a field corrected back to what the pipeline said) " +
      "and nrp_format (an NRP not 8 or 18 digits), each a count and its first 20 examples. Exits 3 when a " +
      "check finds something (contract §13)."
  )
)

const calibrationCommand = Command.make(
  "calibration",
  {
    targetError: Options.text("target-error").pipe(
      Options.withPseudoName("E"),
      Options.withDescription(
        "The error rate auto-approval may not exceed, at the upper end of its 95% Wilson interval: a " +
          `decimal between 0 and 1 (default ${Calibration.defaultTargetError}).`
      ),
      Options.optional
    ),
    ...lintFlags
  },
  (flags) =>
    Effect.gen(function* () {
      const filter = yield* Filter.parse(parameters(flags), { accept: Filter.lintParameters, label: flag })
      const target = Option.getOrElse(
        yield* parsedOption("--target-error", flags.targetError, Calibration.parseTarget),
        () => Calibration.defaultTargetError
      )
      const report = yield* withDatabase(
        Effect.flatMap(Export.Export, (exporter) => Calibration.run(exporter.samples(filter), target)),
        { prepare: true }
      )
      yield* Effect.sync(() => process.stdout.write(Calibration.encode(report)))
    })
).pipe(
  Command.withDescription(
    "Above which pipeline confidence could jobs be approved without a review? From the review history of " +
      "the jobs an export with these filters holds (one snapshot): a job was wrong when reviewers changed " +
      "the pipeline's answer. One JSON line: ten confidence bins (a reliability diagram), the jobs at or " +
      "above each threshold 0.50…0.99 and their error rate with its 95% Wilson upper bound, the smallest " +
      "threshold whose bound stays under --target-error (the reviews it saves), ECE and Brier (contract §14)."
  )
)

const reportCommand = Command.make(
  "report",
  {
    out: outOption("page"),
    ...windowFlags
  },
  (flags) =>
    Effect.gen(function* () {
      const window = yield* Filter.parse(parameters(flags), { accept: Filter.statsParameters, label: flag })
      const out = Option.getOrElse(flags.out, () => "-")
      const target = out === "-" ? undefined : yield* outputTarget("--out", out)
      const [coverage, sections] = yield* withDatabase(
        Effect.zip(
          Effect.flatMap(Stats.Stats, (stats) => stats.coverage(window)),
          ReportPage.sections(window)
        ),
        { prepare: true }
      )
      const page = Stream.make(new TextEncoder().encode(ReportPage.html({ ...coverage, window }, sections)))
      yield* target === undefined ? Output.toStdout(page) : Output.toFile(target, page)
    })
).pipe(
  Command.withDescription(
    "Write the coverage report: one self-contained HTML page with charts of readiness, corrections per " +
      "field, approved samples per satuan against 50, and approvals per week, the lint of the window's " +
      "approved jobs (ground-truth lint), its examples linked to their jobs, where to fix the pipeline " +
      "(ground-truth eval without predictions: each field's errors by kind and the lever it points to), and " +
      "when a job could skip review (ground-truth calibration, in words and as a reliability diagram)."
  )
)

const migrateCommand = Command.make(
  "migrate",
  {
    texts: Options.boolean("texts").pipe(
      Options.withDescription(
        "Also create job_texts (job_id, ocr_text), the optional table of the letters' OCR texts that the " +
          "training formats show the model (docs/formats.md: The letter's text)."
      )
    )
  },
  ({ texts }) =>
    withDatabase(
      Effect.gen(function* () {
        const applied = yield* Migrations.run
        if (texts) yield* Migrations.texts
        const info = yield* Database.DatabaseInfo
        yield* Console.log(
          applied.length === 0
            ? `Schema of ${info.location} is up to date.`
            : `Applied to ${info.location}: ${applied.map(([id, name]) => `${id}_${name}`).join(", ")}.`
        )
      }),
      { prepare: false }
    )
).pipe(
  Command.withDescription(
    "Create the jobs and job_corrections tables and the export's indexes when absent (with --texts, job_texts too)."
  )
)

const seedCommand = Command.make(
  "seed-demo",
  {
    jobs: Options.integer("jobs").pipe(
      Options.withPseudoName("N"),
      Options.withDefault(1000),
      Options.withDescription("How many demo jobs to add.")
    ),
    seed: Options.integer("seed").pipe(
      Options.withPseudoName("N"),
      Options.withDefault(1),
      Options.withDescription("Seed for reproducible data.")
    ),
    noTexts: Options.boolean("no-texts").pipe(
      Options.withDescription(
        "Write no OCR texts. By default each job the pipeline read gets its letter's text in job_texts " +
          "(created when absent), with the OCR's own misreads."
      )
    )
  },
  ({ jobs, seed, noTexts }) =>
    (jobs < 1 ? new UsageError({ message: `--jobs must be at least 1, not ${jobs}` }) : Effect.void).pipe(
      Effect.zipRight(
        withDatabase(
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            yield* Migrations.run
            if (!noTexts) yield* Migrations.texts
            // Continue numbering after the jobs already there, so repeated runs add rather than collide.
            const [{ count }] = yield* sql<{
              readonly count: number
            }>`SELECT count(*)::int AS count FROM jobs`
            const started = Date.now()
            const tty = process.stderr.isTTY
            const result = yield* Demo.seed({
              jobs,
              seed,
              from: count,
              texts: !noTexts,
              onProgress: (n) =>
                tty ? Effect.sync(() => process.stderr.write(`\rseeded ${n} of ${jobs} jobs`)) : Effect.void
            })
            if (tty) process.stderr.write("\n")
            const info = yield* Database.DatabaseInfo
            yield* Console.log(
              `Seeded ${result.jobs} demo jobs and ${result.events} corrections into ${info.location} ` +
                `in ${((Date.now() - started) / 1000).toFixed(1)} s.`
            )
          }),
          { prepare: false }
        )
      )
    )
).pipe(Command.withDescription("Add realistic demo jobs with pipeline mistakes and reviewer corrections."))

/** The commands, in the order the help lists them. */
const subcommands = [
  exportCommand,
  planCommand,
  syncCommand,
  mergeCommand,
  featuresCommand,
  statsCommand,
  lintCommand,
  evalCommand,
  calibrationCommand,
  reportCommand,
  migrateCommand,
  seedCommand
] as const

/** Each command's name and flags, for suggestions (one call each: a command's type is its own). */
const names = [
  Help.namesOf(exportCommand),
  Help.namesOf(planCommand),
  Help.namesOf(syncCommand),
  Help.namesOf(mergeCommand),
  Help.namesOf(featuresCommand),
  Help.namesOf(statsCommand),
  Help.namesOf(lintCommand),
  Help.namesOf(evalCommand),
  Help.namesOf(calibrationCommand),
  Help.namesOf(reportCommand),
  Help.namesOf(migrateCommand),
  Help.namesOf(seedCommand)
]

/** The top-level help's examples. */
const examples = [
  "ground-truth export --split train --format messages --out train.jsonl",
  "ground-truth eval --split test --predictions predictions.jsonl --markdown"
]

/** @since 0.1.0 */
export const command = Command.make("ground-truth").pipe(
  Command.withDescription(
    "Export a HITL review database of Surat Perintah extractions as training-data JSONL. " +
      "DATABASE_URL selects a PostgreSQL database; unset, an embedded one in .data/ (GROUND_TRUTH_DATA_DIR)."
  ),
  Command.withSubcommands(subcommands)
)

const cli = Command.run(command, { name: "ground-truth", version: Version.version })

/** Flags that name one thing: given twice, which one was meant? */
const filterFlags = new Set([
  ...Filter.exportParameters.map(flag),
  "--predictions",
  "--against",
  "--by",
  "--details",
  "--target-error"
])

/**
 * A filter flag given twice is a usage error that names the flag. (Left to @effect/cli, the second one
 * would be reported as an unknown argument.)
 */
const checkRepeats = (args: ReadonlyArray<string>): Effect.Effect<void, UsageError> => {
  const seen = new Set<string>()
  for (const arg of args) {
    const name = arg.split("=", 1)[0]
    if (!filterFlags.has(name)) continue
    if (seen.has(name)) return new UsageError({ message: `${name} is given more than once` })
    seen.add(name)
  }
  return Effect.void
}

/**
 * Runs the command line (`process.argv`: the first two entries are node and the script).
 *
 * @since 0.1.0
 */
export const run = (argv: ReadonlyArray<string>) => {
  const args = normalizeArgs(argv)
  return checkRepeats(args.slice(2)).pipe(
    Effect.zipRight(Help.checkNames("ground-truth", args.slice(2), names)),
    Effect.zipRight(Help.tidied(cli(args), "ground-truth", examples))
  )
}

/** @since 0.1.0 */
export const layer = NodeContext.layer

/**
 * A boolean filter flag with no value means `true` (`--has-corrections` alone); an explicit value is
 * passed on unchanged for core's parser to accept or reject.
 *
 * @since 0.1.0
 */
export const normalizeArgs = (args: ReadonlyArray<string>): Array<string> => {
  const bare = new Set(["--approved-only", "--has-corrections"])
  const out: Array<string> = []
  for (let i = 0; i < args.length; i++) {
    out.push(args[i])
    const next = args[i + 1]
    if (bare.has(args[i]) && (next === undefined || next.startsWith("-"))) out.push("true")
  }
  return out
}
