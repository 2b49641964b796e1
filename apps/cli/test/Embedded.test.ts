/**
 * The embedded default: with no DATABASE_URL, the CLI opens (or creates) a PGlite database under
 * GROUND_TRUTH_DATA_DIR, applies the schema, seeds demo data when it is empty, and exports it.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { run } from "./cli.js"

describe("the embedded default", () => {
  it(
    "exports a non-empty corpus on a fresh machine, seeding demo data once",
    () =>
      Effect.gen(function* () {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gt-embedded-"))
        const env = { DATABASE_URL: undefined, GROUND_TRUTH_DATA_DIR: path.join(dir, "pglite") }
        const out = path.join(dir, "corpus.jsonl")

        const first = yield* run(["export", "--out", out], env)
        expect(first.code).toBe(0)
        expect(first.stderr).toMatch(/was empty: seeded 1000 demo jobs/)
        const lines = fs.readFileSync(out, "utf8").split("\n")
        expect(lines.pop()).toBe("")
        expect(lines.length).toBeGreaterThan(500)
        for (const line of lines) expect(JSON.parse(line).approved).toBe(true)

        // Reopened, not seeded again: the same corpus, and stats agree with it.
        const second = yield* run(["export"], env)
        expect(second.code).toBe(0)
        expect(second.stderr).toBe("")
        expect(second.stdout.equals(fs.readFileSync(out))).toBe(true)
        const stats = yield* run(["stats"], env)
        const report = JSON.parse(stats.stdout.toString("utf8"))
        expect(report.total_jobs).toBe(1000)
        expect(report.approved_jobs).toBe(lines.length)
        // The lock is released when the process ends.
        expect(fs.existsSync(path.join(dir, "pglite.lock"))).toBe(false)
      }).pipe(Effect.runPromise),
    120_000
  )
})
