/**
 * `DATABASE_URL` is checked once, when the database layer is built: a malformed one stops the layer with
 * one line naming the variable and what is wrong, without quoting the URL (it may hold a password), and
 * before any connection is tried. (The pool connects on first use; unchecked, a bad port surfaced as the
 * driver's `TypeError: Invalid URL` at the first statement, and `garbage` as a connection to the host
 * `base`.)
 */
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option, Redacted } from "effect"
import { Configuration, Database } from "../src/index.js"

const withEnv = (env: Record<string, string>) =>
  Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

/** The layer on `url`, built: the database it names, or how it fails (as the front ends print it). */
const build = (url: string) =>
  Effect.map(Database.DatabaseInfo, (info) => ({ built: `${info.kind} ${info.location}` })).pipe(
    Effect.provide(Database.layer),
    Effect.provide(withEnv({ DATABASE_URL: url, GROUND_TRUTH_DATA_DIR: "memory://" })),
    Effect.catchAll((e) =>
      Effect.succeed({ refused: e._tag === "ConfigError" ? Configuration.describe(e) : e.message })
    )
  )

const SECRET = "s3cr3t-Pa55"

describe("DATABASE_URL", () => {
  it.effect.each([
    [`postgres://postgres:${SECRET}@127.0.0.1:99999/x`, "DATABASE_URL: its port is not a number 1–65535"],
    [`postgres://postgres:${SECRET}@127.0.0.1:0/x`, "DATABASE_URL: its port is not a number 1–65535"],
    [`postgres://postgres:${SECRET}@127.0.0.1:54x/x`, "DATABASE_URL: its port is not a number 1–65535"],
    ["garbage", "DATABASE_URL: is not a URL; expected postgres://user:password@host:5432/database"],
    [
      `mysql://root:${SECRET}@db/x`,
      "DATABASE_URL: is a mysql: URL; expected postgres://user:password@host:5432/database"
    ],
    ["postgres:garbage", "DATABASE_URL: is a postgres: URL; expected postgres://"],
    // A password with an unencoded / or ? would put its rest in the database name or the query.
    [`postgres://u:12/${SECRET}@db.example/x`, "DATABASE_URL: has an @ after its host; percent-encode"],
    [`postgres://u:12?${SECRET}@db.example/x`, "DATABASE_URL: has an @ after its host; percent-encode"],
    [`postgres://u:${SECRET}@bad host/x`, "DATABASE_URL: is not a valid URL; check the host"],
    ["   ", "DATABASE_URL: holds only blanks; unset it (or set it to nothing) for the embedded database"]
  ])("%j is refused with one line naming the variable, before connecting", ([url, line]) =>
    Effect.gen(function* () {
      const outcome = yield* build(url)
      expect(outcome).toHaveProperty("refused")
      const refused = (outcome as { readonly refused: string }).refused
      expect(refused.startsWith(line)).toBe(true)
      expect(refused).not.toContain("\n")
      expect(refused).not.toContain(SECRET)
    })
  )

  it.effect.each([
    [`postgres://postgres:${SECRET}@127.0.0.1:9/gt`, "postgres 127.0.0.1:9/gt"],
    [`postgresql://u:p%2Fq%40r@db.example:6432/gt?sslmode=disable`, "postgres db.example:6432/gt"],
    ["  postgres://[::1]:9/gt  ", "postgres [::1]:9/gt"],
    ["postgres://u@/gt?host=/var/run/postgresql", "postgres /var/run/postgresql/gt"],
    ["postgres://db.example", "postgres db.example"]
  ])("%j is accepted; its location holds no credentials", ([url, built]) =>
    Effect.map(build(url), (outcome) => expect(outcome).toEqual({ built }))
  )

  it.effect("unset or set to the empty string: the embedded database", () =>
    Effect.gen(function* () {
      expect(yield* build("")).toEqual({ built: "embedded memory://" })
      const unset = yield* Configuration.databaseUrl.pipe(Effect.provide(withEnv({})))
      expect(Option.isNone(unset)).toBe(true)
    })
  )

  it.effect("the accepted URL is kept whole, redacted", () =>
    Effect.gen(function* () {
      const url = `postgres://u:${SECRET}@db.example:6432/gt`
      const parsed = yield* Configuration.databaseUrl.pipe(Effect.provide(withEnv({ DATABASE_URL: url })))
      const value = Option.getOrThrow(parsed)
      expect(Redacted.value(value.url)).toBe(url)
      expect(String(value.url)).not.toContain(SECRET)
    })
  )

  it.effect("a refused URL opens nothing: no statement runs", () =>
    Effect.gen(function* () {
      const ran = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1`).pipe(
        Effect.provide(Database.layer),
        Effect.provide(withEnv({ DATABASE_URL: "postgres://postgres@127.0.0.1:99999/x" })),
        Effect.flip
      )
      expect(ran._tag).toBe("ConfigError")
    })
  )
})
