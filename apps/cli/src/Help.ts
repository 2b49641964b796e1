/**
 * The faces of the command line a person reads: `--help` without @effect/cli's filler sentences and with
 * the program's name in its usage lines, colour only on a terminal (never with `NO_COLOR`), and a
 * suggestion for a mistyped command or flag.
 *
 * @since 0.1.0
 */
import { Command, HelpDoc, Usage } from "@effect/cli"
import { Console, Data, Effect } from "effect"

/**
 * A command or flag that does not exist (exit status 2), with the closest one that does.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownName extends Data.TaggedError("UnknownName")<{ readonly message: string }> {}

/** What @effect/cli says of every option of a type, whatever the option: noise in a help page. */
const FILLER = new Set([
  "A user-defined piece of text.",
  "A user-defined piece of text that is confidential.",
  "A true or false value.",
  "An integer.",
  "A floating point number.",
  "This setting is optional."
])

const ANSI = /\x1b\[[0-9;]*m/g

/** Colour on a terminal only, and never when `NO_COLOR` is set to anything (no-color.org). */
const colourFor = (stream: NodeJS.WriteStream): boolean =>
  stream.isTTY === true && (process.env.NO_COLOR ?? "") === ""

/** A command's one-line summary: its description's first sentence. */
const firstSentence = (text: string): string => {
  const end = text.search(/[.:](\s|$)/)
  return end < 0 ? text : text.slice(0, end + 1).replace(/:$/, ".")
}

/**
 * @effect/cli's built-in options, which it lists on every page before or among the commands a person
 * came for, each with a filler sentence ("One of the following: sh, bash, fish, zsh"): here, last and
 * one line each.
 */
const BUILT_IN_HELP: ReadonlyArray<readonly [heading: string, flag: string, summary: string]> = [
  ["(-h, --help)", "-h, --help", "This help."],
  ["--version", "--version", "The version."],
  ["--log-level", "--log-level LEVEL", "all, trace, debug, info, warning, error, fatal or none."],
  ["--completions", "--completions SHELL", "A completion script for sh, bash, fish or zsh."],
  ["--wizard", "--wizard", "Asks for a command's flags one by one."]
]

/** The built-in options as the last section of a page. */
const builtIns = (colour: boolean): Array<string> => {
  const width = Math.max(...BUILT_IN_HELP.map(([, flag]) => flag.length))
  return [
    colour ? "\x1b[0;1mBUILT-IN OPTIONS\x1b[0m" : "BUILT-IN OPTIONS",
    "",
    ...BUILT_IN_HELP.map(([, flag, summary]) => `  ${flag.padEnd(width)}  ${summary}`),
    ""
  ]
}

/**
 * A page of @effect/cli's help, tidied: filler sentences out, `$ export` as `$ ground-truth export`, the
 * top level's command list as one sentence each followed by examples, the built-in options last and
 * terse (an `OPTIONS` section of nothing else left out).
 */
const tidy = (text: string, program: string, examples: ReadonlyArray<string>, colour: boolean): string => {
  const out: Array<string> = []
  let inCommands = false
  // Inside a built-in option's block (its heading, then its indented lines), which is left out.
  let inBuiltIn = false
  // The `OPTIONS` heading, held until an option of the command's own follows it.
  let optionsHeading: string | undefined
  const commands: Array<readonly [string, string]> = []
  for (const line of text.split("\n")) {
    const plain = line.replace(ANSI, "")
    const trimmed = plain.trim()
    if (FILLER.has(trimmed)) continue
    // A line at the margin starts a block: a section, or an option's heading.
    if (plain.length > 0 && !plain.startsWith(" ")) {
      inBuiltIn = BUILT_IN_HELP.some(([heading]) => plain === heading || plain.startsWith(`${heading} `))
      if (trimmed === "OPTIONS") {
        optionsHeading = line
        continue
      }
      if (optionsHeading !== undefined && !inBuiltIn && trimmed !== "COMMANDS") {
        out.push(optionsHeading, "")
        optionsHeading = undefined
      }
    }
    if (inBuiltIn) continue
    if (trimmed === "COMMANDS") {
      optionsHeading = undefined
      inCommands = true
      out.push(line)
      continue
    }
    if (inCommands) {
      const entry = /^\s*- (\S+) .*?\s{2,}(\S.*)$/.exec(plain) ?? /^\s*- (\S+)\s*()$/.exec(plain)
      if (entry !== null) commands.push([entry[1]!, firstSentence(entry[2]!)])
      continue
    }
    out.push(
      plain.startsWith("$ ") && !plain.startsWith(`$ ${program}`) ? line.replace("$ ", `$ ${program} `) : line
    )
  }
  if (commands.length > 0) {
    const width = Math.max(...commands.map(([name]) => name.length))
    out.push("", ...commands.map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`), "")
    out.push(colour ? "\x1b[0;1mEXAMPLES\x1b[0m" : "EXAMPLES", "", ...examples.map((e) => `  ${e}`), "")
    out.push(...builtIns(colour))
    out.push(`Run \`${program} <command> --help\` for a command's flags.`, "")
  } else out.push("", ...builtIns(colour))
  const joined = out.join("\n").replace(/\n{3,}/g, "\n\n")
  return colour ? joined : joined.replace(ANSI, "")
}

/**
 * Runs `effect` (the command line) with a console that tidies what @effect/cli prints: help pages and
 * its usage errors. Our own lines pass through as they are.
 *
 * @since 0.1.0
 */
export const tidied = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  program: string,
  examples: ReadonlyArray<string>
): Effect.Effect<A, E, R> =>
  Console.consoleWith((base) =>
    Effect.withConsole(effect, {
      ...base,
      // Only @effect/cli's help pages are rewritten, and its one-line texts (`--version`), which end in a
      // newline of their own before the log's; our own lines pass as they are.
      log: (...args: ReadonlyArray<unknown>) =>
        base.log(
          ...args.map((a) =>
            typeof a !== "string"
              ? a
              : /^(\x1b\[[0-9;]*m)*USAGE(\x1b\[[0-9;]*m)*$/m.test(a)
                ? tidy(a, program, examples, colourFor(process.stdout))
                : /^[^\n]*\n$/.test(a)
                  ? a.slice(0, -1)
                  : a
          )
        ),
      // @effect/cli's usage errors: plain unless on a terminal.
      error: (...args: ReadonlyArray<unknown>) =>
        base.error(
          ...args.map((a) => (typeof a === "string" && !colourFor(process.stderr) ? a.replace(ANSI, "") : a))
        )
    })
  )

/** Edit distance, for suggestions. */
const distance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    previous = row
  }
  return previous[b.length]!
}

/** The closest of `names` to `name`, if it is close enough to be what was meant. */
const closest = (name: string, names: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of names) {
    const d = distance(name, candidate)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined
}

/**
 * A command as suggestions see it: its name, and (worked out only when asked: it renders the command's
 * usage, ~1.5 ms a command) its flags and those of them that take a value.
 */
export interface Names {
  readonly name: string
  readonly usage: () => { readonly flags: ReadonlyArray<string>; readonly valued: ReadonlyArray<string> }
}

/**
 * A command's name and flags (`--out`, `-o`, …), read from @effect/cli's own usage of it: `--out PATH`
 * takes a value, `--full-if-stale` does not.
 *
 * @since 0.1.0
 */
export const namesOf = <Name extends string, R, E, A>(command: Command.Command<Name, R, E, A>): Names => ({
  name: Array.from(Command.getNames(command))[0] ?? "",
  usage: () => {
    const usage = HelpDoc.toAnsiText(Usage.getHelp(Command.getUsage(command))).replace(ANSI, "")
    const flags: Array<string> = []
    const valued: Array<string> = []
    for (const m of usage.matchAll(/(--?[A-Za-z][A-Za-z-]*),?( (?![-[(])[^\s\])]+)?/g)) {
      flags.push(m[1]!)
      if (m[2] !== undefined) valued.push(m[1]!)
    }
    return { flags, valued }
  }
})

/** Flags every command takes (@effect/cli's built-ins). */
const BUILT_IN = ["--help", "-h", "--version", "--wizard", "--completions", "--log-level"]

/**
 * A mistyped command or flag, with the closest that exists: `exprt` → "did you mean export?", `--formt` →
 * "did you mean --format?". Checks the arguments after the program (`args`), up to a `--`.
 *
 * @since 0.1.0
 */
export const checkNames = (
  program: string,
  args: ReadonlyArray<string>,
  subcommands: ReadonlyArray<Names>
): Effect.Effect<void, UnknownName> => {
  const first = args[0]
  if (first === undefined || first.startsWith("-")) return Effect.void
  const sub = subcommands.find((c) => c.name === first)
  if (sub === undefined) {
    const guess = closest(
      first,
      subcommands.map((c) => c.name)
    )
    return Effect.fail(
      new UnknownName({
        message:
          `unknown command ${JSON.stringify(first)}` +
          (guess === undefined ? `; see ${program} --help` : `; did you mean ${guess}?`)
      })
    )
  }
  const { flags, valued } = sub.usage()
  const known = [...flags, ...BUILT_IN]
  const rest = args.slice(1)
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!
    if (arg === "--") break
    // The value of a flag that takes one is not a flag, whatever it looks like (`--out --weird.jsonl`).
    if (valued.includes(arg)) {
      i++
      continue
    }
    if (!arg.startsWith("--")) continue
    const name = arg.split("=", 1)[0]!
    if (known.includes(name)) continue
    const guess = closest(
      name,
      known.filter((k) => k.startsWith("--"))
    )
    return Effect.fail(
      new UnknownName({
        message:
          `unknown flag ${name} for ${first}` +
          (guess === undefined ? `; see ${program} ${first} --help` : `; did you mean ${guess}?`)
      })
    )
  }
  return Effect.void
}
