/**
 * The `ground-truth` command line: its commands (one module each under `commands/`), in the order the
 * help lists them, run on an argument vector with the checks @effect/cli does not make (a flag given twice).
 * Each command parses its flags, provides the live database layer and runs core; the filter flags go
 * through core's one parser, exactly like the HTTP query parameters.
 *
 * @since 0.1.0
 */
import { Command } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Filter, Version } from "@ground-truth/core"
import { Effect } from "effect"
import {
  calibrationCommand,
  featuresCommand,
  lintCommand,
  reportCommand,
  statsCommand
} from "./commands/CorpusCommands.js"
import { migrateCommand, seedCommand } from "./commands/DatabaseCommands.js"
import { evalCommand } from "./commands/EvalCommand.js"
import { exportCommand } from "./commands/ExportCommand.js"
import { planCommand } from "./commands/PlanCommand.js"
import { mergeCommand, syncCommand } from "./commands/SyncCommands.js"
import { flag, UsageError } from "./Flags.js"
import * as Help from "./Help.js"

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
