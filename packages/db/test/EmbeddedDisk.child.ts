/**
 * The child process of EmbeddedDisk.test.ts, run with tsx: a broken PGlite session spins on the main
 * thread, where no test timeout can fire, so each scenario runs here and the test kills it past a
 * deadline. Opens the embedded database at argv[3] through `Database.layer`, runs the scenario argv[2],
 * and prints what happened as one JSON line on standard output.
 */
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Cause, ConfigProvider, Effect, Exit, Option } from "effect"
import { Database } from "../src/index.js"

const [scenario, dataDir] = process.argv.slice(2)

/** A failure or defect, as the CLI would print it. */
const outcome = <A>(exit: Exit.Exit<A, unknown>, ms: number) => {
  if (Exit.isSuccess(exit)) return { ok: exit.value, ms }
  const failure = Cause.failureOption(exit.cause)
  const e = Option.isSome(failure) ? failure.value : Option.getOrUndefined(Cause.dieOption(exit.cause))
  const error = e as { readonly _tag?: string; readonly message?: string }
  return {
    [Option.isSome(failure) ? "failure" : "defect"]:
      error?._tag === "SqlError" ? Database.describeSqlError(error as SqlError) : String(error?.message ?? e),
    ms
  }
}

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const started = Date.now()
    const exit = yield* Effect.exit(effect)
    return outcome(exit, Date.now() - started)
  })

const scenarios = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  // WAL only: a 1 MB logical message per statement, until PostgreSQL needs a new 16 MB WAL segment.
  const wal = Effect.forEach(
    Array.from({ length: 100 }),
    () => sql`SELECT pg_logical_emit_message(true, 'gt', repeat('x', 1000000))`,
    { discard: true }
  )
  // A table: 300 KB per statement, until it cannot grow.
  const table = Effect.zipRight(
    sql`CREATE TABLE IF NOT EXISTS filler (x text)`,
    Effect.forEach(
      Array.from({ length: 1000 }),
      () => sql`INSERT INTO filler SELECT repeat(md5(g::text), 32) FROM generate_series(1, 300) AS g`,
      { discard: true }
    )
  )
  // A transaction whose WAL crosses into the next segment by less than PostgreSQL's WAL buffers hold
  // (4 MB): its statements fit in memory, and its COMMIT, which must write them, fails.
  const commit = Effect.gen(function* () {
    const [{ left }] = yield* sql<{ readonly left: number }>`
      SELECT (16777216 - (pg_current_wal_insert_lsn() - '0/0'::pg_lsn) % 16777216)::int AS left`
    yield* sql.withTransaction(
      Effect.forEach(
        Array.from({ length: Math.ceil((left + 1_000_000) / 262144) }),
        () => sql`SELECT pg_logical_emit_message(true, 'gt', repeat('x', 262144))`,
        { discard: true }
      )
    )
  })
  const count = sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM pg_class`.pipe(
    Effect.map(([row]) => row.n)
  )
  switch (scenario) {
    case "open":
      return { count: yield* timed(count) }
    case "wal":
    case "wal-transaction":
    case "commit":
    case "table": {
      const fill = { wal, table, commit, "wal-transaction": sql.withTransaction(wal) }[scenario]
      const filled = yield* timed(fill)
      const after = yield* timed(count)
      // Past the guard's one second: every connection was dropped, a new one is refused in words.
      yield* Effect.sleep("1500 millis")
      const later = yield* timed(count)
      return { filled, after, later }
    }
  }
  return { unknown: scenario }
})

// When the scenario ended: the time from there to the end of the process is the layer's closing.
const program = Effect.map(scenarios, (result) => ({ ...result, ended: Date.now() }))

const started = Date.now()
const exit = await Effect.runPromiseExit(
  Effect.provide(program, Database.layer).pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["GROUND_TRUTH_DATA_DIR", dataDir]])))
  )
)
const result = Exit.isSuccess(exit)
  ? { ...exit.value, closeMs: Date.now() - exit.value.ended }
  : { start: outcome(exit, Date.now() - started) }
process.stdout.write(`${JSON.stringify(result)}\n`)
