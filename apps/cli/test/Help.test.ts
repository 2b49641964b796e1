/**
 * What a person reads: `--help` of every command, piped and with NO_COLOR, holds no escape codes and none
 * of @effect/cli's filler; each usage line starts with the program's name; a mistyped command or flag
 * gets the closest one in one line (exit 2); one version everywhere.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Version } from "@ground-truth/core"
import { Effect } from "effect"
import { run } from "./cli.js"

const COMMANDS = ["export", "sync", "merge", "features", "stats", "eval", "report", "migrate", "seed-demo"]
const FILLER = [
  "A user-defined piece of text",
  "This setting is optional",
  "A true or false value",
  "An integer.",
  "One of the following",
  "Start wizard mode for a command"
]
const ESCAPE = /\x1b/

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")

describe("help", () => {
  for (const env of [{ NO_COLOR: "1" }, {}]) {
    const how = "NO_COLOR" in env ? "with NO_COLOR" : "piped"
    it.effect(`every command's --help, ${how}: plain, no filler, usage names the program`, () =>
      Effect.gen(function* () {
        const pages: Array<readonly [string, string]> = []
        for (const command of ["", ...COMMANDS]) {
          const args = command === "" ? ["--help"] : [command, "--help"]
          const r = yield* run(args, env)
          const text = r.stdout.toString("utf8")
          pages.push([command, text])
          expect([command, r.code]).toEqual([command, 0])
          expect(ESCAPE.test(text), command).toBe(false)
          for (const f of FILLER) expect(text, `${command}: ${f}`).not.toContain(f)
          const usage = text.split("\n").filter((l) => l.startsWith("$ "))
          expect(usage.length, command).toBeGreaterThan(0)
          for (const l of usage)
            expect(l.startsWith(`$ ground-truth${command === "" ? "" : ` ${command}`}`), l).toBe(true)
        }
        const top = pages[0]![1]
        // Every command with one sentence, and examples.
        for (const command of COMMANDS)
          expect(top).toMatch(new RegExp(`^  ${command} +[A-Z][^\\n]*\\.$`, "m"))
        expect(top).toMatch(/^EXAMPLES$/m)
        expect(top.match(/^ {2}ground-truth \S+ .*$/gm)?.length).toBeGreaterThanOrEqual(2)
        // The commands a person came for first; @effect/cli's built-ins last, one line each, on every page.
        const sections = top.split("\n").filter((l) => /^[A-Z][A-Z -]+$/.test(l))
        expect(sections).toEqual(["USAGE", "DESCRIPTION", "COMMANDS", "EXAMPLES", "BUILT-IN OPTIONS"])
        for (const [command, page] of pages) {
          const builtIn = page.slice(page.indexOf("\nBUILT-IN OPTIONS\n"))
          expect(builtIn.match(/^ {2}-\S.*$/gm), command).toEqual([
            expect.stringMatching(/^ {2}-h, --help {2,}\S/),
            expect.stringMatching(/^ {2}--version {2,}\S/),
            expect.stringMatching(/^ {2}--log-level LEVEL {2,}\S/),
            expect.stringMatching(/^ {2}--completions SHELL {2,}\S/),
            expect.stringMatching(/^ {2}--wizard {2,}\S/)
          ])
          // Nowhere else: no block of them among the command's own flags.
          expect(page.slice(0, page.indexOf("\nBUILT-IN OPTIONS\n")), command).not.toMatch(
            /^--(log-level|completions|wizard|version)\b/m
          )
        }
      })
    )
  }

  it.effect(
    "a mistyped flag of each command, and a mistyped command, get the closest name (exit 2, one line)",
    () =>
      Effect.gen(function* () {
        const flags: Record<string, string> = {
          export: "--format",
          sync: "--full-if-stale",
          merge: "--manifest",
          features: "--format",
          stats: "--since",
          eval: "--predictions",
          report: "--until",
          migrate: "--help",
          "seed-demo": "--jobs"
        }
        for (const [command, flag] of Object.entries(flags)) {
          // One letter dropped: --format → --formt.
          const typo = `${flag.slice(0, -2)}${flag.slice(-1)}`
          const r = yield* run([command, typo, "x"], { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" })
          expect([command, r.code, r.stdout.length]).toEqual([command, 2, 0])
          expect(r.stderr).toBe(`ground-truth: unknown flag ${typo} for ${command}; did you mean ${flag}?\n`)
        }
        const r = yield* run(["exprt", "--out", "x"])
        expect([r.code, r.stderr]).toEqual([
          2,
          'ground-truth: unknown command "exprt"; did you mean export?\n'
        ])
        // A flag's value is not a flag, whatever it looks like: the error is the --split one, not "unknown flag".
        const valued = yield* run(["export", "--split-seed", "--x", "--split", "tset"])
        expect([valued.code, valued.stderr]).toEqual([
          2,
          'ground-truth: --split must be train, validation or test, not "tset"\n'
        ])
        const far = yield* run(["frobnicate"])
        expect([far.code, far.stderr]).toEqual([
          2,
          'ground-truth: unknown command "frobnicate"; see ground-truth --help\n'
        ])
      })
  )

  // The OpenAPI document's version is checked by the server's tests, a manifest's by the golden suites.
  it.effect("one version: the root package.json's, shown by --version", () =>
    Effect.gen(function* () {
      const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
        version: string
      }
      expect(Version.version).toBe(pkg.version)
      const r = yield* run(["--version"])
      // The version and one newline: no empty line after it.
      expect(r.stdout.toString("utf8")).toBe(`${pkg.version}\n`)
      expect(Version.generator).toBe(`ground-truth ${pkg.version}`)
    })
  )
})
