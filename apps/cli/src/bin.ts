/**
 * `ground-truth` entry point. Exit status: 0 success, 2 usage error (bad flag or filter value, a cursor
 * the database cannot answer for, an output that is not a regular file or two outputs that are one file,
 * an unreadable or invalid predictions file for eval; a plan file that is not one, or a plan on the embedded database;
 * for sync and merge also a format without created_at, filters other than
 * the corpus's, an increment that does not continue it, a server's 400 or 410),
 * 1 runtime failure (a variable such as DATABASE_URL set wrong, database unreachable, a standby not ready
 * for a cursor, a plan no longer held or whose session ended, an audit trail that does not replay, an unwritable file; a
 * corpus that does not match its manifest, an incomplete increment, a server's other errors; a
 * predictions file that changed while eval read it),
 * 130 interrupted. Failures print one readable line on standard error, never a stack trace.
 */
import { ValidationError } from "@effect/cli"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { SqlError } from "@effect/sql/SqlError"
import { Configuration, Database, SqlFailure } from "@ground-truth/db"
import { absurd, Cause, Effect, Exit, Option } from "effect"
import * as Cli from "./Cli.js"

const USAGE = 2
const RUNTIME = 1

/** Every error a command can fail with: a new one is a type error in `report` until it has a status. */
type Failure = Effect.Effect.Error<ReturnType<typeof Cli.run>>

/** One line for a failure, and the exit status it means. */
const report = (error: Failure): readonly [string, number] => {
  // @effect/cli has already printed its own usage message.
  if (ValidationError.isValidationError(error)) return ["", USAGE]
  switch (error._tag) {
    case "InvalidParameter":
    case "UsageError":
    case "UnknownName":
    // An output that is not a regular file (a device, a FIFO, a folder) or a folder, as asked.
    case "InvalidTarget":
    // Only the user can act: take a full export instead.
    case "StaleCursor":
    // sync and merge: the corpus cannot go on this way (its format, its filters, its chain).
    case "UnsupportedFormat":
    case "ChainMismatch":
    case "CountMismatch":
    // eval: the predictions file named is unreadable, or a line of it is not a prediction.
    case "PredictionsError":
    case "InvalidPrediction":
    // eval --by: a column with more values than slices can be scored (ids, not units).
    case "TooManySlices":
    // A plan file that is not one (the CLI reads it first, and says so as a usage error).
    case "PlanInvalid":
      return [`ground-truth: ${error.message}`, USAGE]
    // A server's answer to /changes: a parameter refused and a stale cursor are the user's to act on.
    case "RemoteError":
      return [`ground-truth: ${error.message}`, error.usage ? USAGE : RUNTIME]
    // A standby that has not replayed the cursor's snapshot yet: retry later, or ask the primary.
    case "StandbyNotReady":
      return [`ground-truth: ${error.message}`, RUNTIME]
    case "SqlError": {
      const remedy = SqlFailure.remedy(error)
      const hint = remedy === undefined ? "" : ` (${remedy})`
      return [`ground-truth: database error: ${Database.describeSqlError(error)}${hint}`, RUNTIME]
    }
    // The environment, not the command line: a runtime failure, like an unreachable database.
    case "ConfigError":
      return [`ground-truth: ${Configuration.describe(error)}`, RUNTIME]
    // The database (its schema, its start, a stored value, an audit trail), a file, a corpus.
    case "MigrationError":
    case "DemoError":
    case "EmbeddedDatabaseError":
    case "InvalidRow":
    case "AuditTrailMismatch":
    case "InvalidCorrectionEvent":
    // An export's worker died, or the snapshot its workers were to import is gone.
    case "WorkerFailed":
    case "SnapshotGone":
    // A plan's snapshot is no longer held (stopped, its hold ended): plan again.
    case "PlanGone":
    case "PlanLost":
    case "OutputError":
    // A sample that does not fit its Parquet columns (a bug, as the export writes the lines).
    case "ParquetError":
    case "CorpusError":
    case "IncompleteChanges":
    case "InvalidLine":
    // eval: the predictions file was rewritten while it was being scored.
    case "PredictionsChanged":
      return [`ground-truth: ${error.message}`, RUNTIME]
    default:
      return absurd(error)
  }
}

const main = Effect.suspend(() => Cli.run(process.argv)).pipe(
  Effect.provide(Cli.layer),
  Effect.catchAllCause((cause) => {
    if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
    // A failed COMMIT (a full disk, say) is a defect: @effect/sql's transactions `orDie` it. It is still
    // a database error, and is reported as one.
    const failure = Option.orElse(Cause.failureOption(cause), () =>
      Option.filter(Cause.dieOption(cause), (d): d is SqlError => d instanceof SqlError)
    )
    const [line, code] = Option.isSome(failure)
      ? report(failure.value)
      : [`ground-truth: internal error: ${Cause.pretty(cause).split("\n")[0]}`, RUNTIME]
    return Effect.sync(() => {
      // @effect/cli has already printed its own usage message for validation errors.
      if (line !== "") process.stderr.write(`${line.replaceAll("\n", " ")}\n`)
      process.exitCode = code
    })
  })
)

/** Runs the command line; the launcher calls it once the modules are loaded (scripts/launch.mjs). */
export const start = (): void =>
  NodeRuntime.runMain(main, {
    disableErrorReporting: true,
    teardown: (exit, onExit) => onExit(Exit.isFailure(exit) ? 130 : 0)
  })
