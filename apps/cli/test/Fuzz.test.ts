/**
 * Hostile command lines: random flags and values (SQL fragments, odd characters, long values, repeats,
 * `--flag=value` and `--flag value` forms). The CLI must reject every invalid one with exit 2 and one
 * line, and accept every valid one (it then goes on to the database, here an unreachable one: exit 1,
 * one line). Never a stack trace, never another status, never a byte on standard output.
 */
import { expect, it } from "@effect/vitest"
import { Filter } from "@ground-truth/core"
import { Golden } from "@ground-truth/golden"
import { Effect, Either, FastCheck as fc } from "effect"
import { run } from "./cli.js"

const RUNS = 60
const unreachable = { DATABASE_URL: "postgres://postgres@127.0.0.1:9/none" }

const flag = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("--approved-only", "--has-corrections", "--since", "--until") },
  { weight: 1, arbitrary: fc.constantFrom("--approved", "--sinc", "--limit", "-x", "--") },
  { weight: 1, arbitrary: fc.stringMatching(/^--[a-z]{1,8}$/) }
)

const value = fc.oneof(
  fc.constantFrom(...Golden.hostileValues),
  fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.startsWith("-") && !s.includes("\u0000")),
  fc.string({ minLength: 500, maxLength: 2000 }).filter((s) => !s.startsWith("-") && !s.includes("\u0000"))
)

const commandLine = fc.tuple(
  fc.constantFrom("export" as const, "stats" as const),
  fc.array(fc.tuple(flag, value, fc.boolean()), { maxLength: 4 })
)

/** What the filter parser says of the same flags, or undefined when a flag is not a filter at all. */
const oracle = (command: "export" | "stats", flags: ReadonlyArray<readonly [string, string, boolean]>) => {
  const accept = command === "export" ? Filter.exportParameters : Filter.statsParameters
  const pairs: Array<[string, string]> = []
  for (const [f, v] of flags) {
    const name = f.slice(2).replaceAll("-", "_")
    if (!f.startsWith("--") || !(accept as ReadonlyArray<string>).includes(name)) return undefined
    pairs.push([name, v])
  }
  return Filter.parse(pairs, { accept })
}

it.effect(
  `${RUNS} hostile command lines: exit 2 or (valid) 1, one line each, nothing on stdout`,
  () =>
    Effect.gen(function* () {
      const cases = fc.sample(commandLine, { numRuns: RUNS, seed: 20261125 })
      const results = yield* Effect.forEach(
        cases,
        ([command, flags]) =>
          Effect.map(
            run(
              [command, ...flags.flatMap(([f, v, joined]) => (joined ? [`${f}=${v}`] : [f, v]))],
              unreachable
            ),
            (result) => ({ command, flags, result })
          ),
        { concurrency: 4 }
      )
      const codes = new Map<number | null, number>()
      for (const { command, flags, result } of results) {
        codes.set(result.code, (codes.get(result.code) ?? 0) + 1)
        const context = JSON.stringify([command, flags])
        const expected = oracle(command, flags)
        expect(result.code, context).toBe(expected !== undefined && Either.isRight(expected) ? 1 : 2)
        expect(result.stdout.length, context).toBe(0)
        expect(result.stderr.endsWith("\n"), context).toBe(true)
        expect(result.stderr.trimEnd().split("\n"), context).toHaveLength(1)
        expect(result.stderr, context).not.toMatch(/\n\s+at /)
      }
      console.log(
        `CLI fuzz: ${RUNS} hostile command lines, exit statuses ${JSON.stringify(Object.fromEntries(codes))}`
      )
    }),
  120_000
)
