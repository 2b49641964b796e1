#!/usr/bin/env node
/**
 * `ground-truth` entry point. Exit status: 0 success, 2 usage error (bad flag or filter value, a cursor
 * the database cannot answer for; for sync and merge also a format without created_at, filters other than
 * the corpus's, an increment that does not continue it, a server's 400 or 410),
 * 1 runtime failure (database unreachable, an audit trail that does not replay, an unwritable file; a
 * corpus that does not match its manifest, an incomplete increment, a server's other errors),
 * 130 interrupted. Failures print one readable line on standard error, never a stack trace.
 */
import { ValidationError } from "@effect/cli"
import { NodeRuntime } from "@effect/platform-node"
import type { SqlError } from "@effect/sql/SqlError"
import { Database } from "@ground-truth/db"
import { Cause, Effect, Exit, Option } from "effect"
import * as Cli from "./Cli.js"

const USAGE = 2
const RUNTIME = 1

/** One line for a failure, and the exit status it means. */
const report = (error: unknown): readonly [string, number] => {
  if (ValidationError.isValidationError(error)) return ["", USAGE]
  const e = error as {
    readonly _tag?: string
    readonly message?: string
    readonly cause?: unknown
    readonly status?: number
  }
  switch (e._tag) {
    case "InvalidParameter":
    case "UsageError":
    // Only the user can act: take a full export instead.
    case "StaleCursor":
    // sync and merge: the corpus cannot go on this way (its format, its filters, its chain).
    case "UnsupportedFormat":
    case "ChainMismatch":
    case "CountMismatch":
      return [`ground-truth: ${e.message}`, USAGE]
    // A server's answer to /changes: 400 (a parameter) and 410 (a stale cursor) are the user's to act on.
    case "RemoteError":
      return [`ground-truth: ${e.message}`, e.status === 400 || e.status === 410 ? USAGE : RUNTIME]
    case "SqlError": {
      const cause = e.cause as { readonly code?: string } | undefined
      // undefined_table: the schema was never created here.
      const hint = cause?.code === "42P01" ? " (run `pnpm ground-truth migrate` to create the tables)" : ""
      return [`ground-truth: database error: ${Database.describeSqlError(error as SqlError)}${hint}`, RUNTIME]
    }
    case "ConfigError":
      return [`ground-truth: configuration error: ${String(error)}`, RUNTIME]
    default:
      return [`ground-truth: ${e.message ?? String(error)}`, RUNTIME]
  }
}

const main = Effect.suspend(() => Cli.run(process.argv)).pipe(
  Effect.provide(Cli.layer),
  Effect.catchAllCause((cause) => {
    if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
    // A failed COMMIT (a full disk, say) is a defect: @effect/sql's transactions `orDie` it. It is still
    // a database error, and is reported as one.
    const failure = Option.orElse(Cause.failureOption(cause), () =>
      Option.filter(
        Cause.dieOption(cause),
        (d) => (d as { readonly _tag?: unknown } | null)?._tag === "SqlError"
      )
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

NodeRuntime.runMain(main, {
  disableErrorReporting: true,
  teardown: (exit, onExit) => onExit(Exit.isFailure(exit) ? 130 : 0)
})
