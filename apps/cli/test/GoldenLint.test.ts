/**
 * `ground-truth lint` (contract §13) on the lint fixture, on every test database: each case prints its
 * hand-written report byte for byte (the server's test answers the same bytes) and exits 3 when a check
 * finds something, 0 when none does; a bad filter exits 2 with one line.
 */
import { expect, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Effect, Layer } from "effect"
import { run } from "./cli.js"

for (const target of TestDatabase.targets()) {
  layer(Layer.effectDiscard(Golden.loadLint).pipe(Layer.provideMerge(target.layer)), { timeout: 120_000 })(
    `CLI lint on ${target.name}`,
    (it) => {
      for (const c of Golden.lintCases) {
        it.effect(`lint ${c.name}`, () =>
          Effect.gen(function* () {
            const db = yield* TestDatabase.TestDatabase
            const r = yield* run(["lint", ...Golden.flags(c.params)], { DATABASE_URL: db.url })
            expect(r.stderr).toBe("")
            expect(r.stdout.toString("utf8")).toBe(Golden.expectedLint(c).toString("utf8"))
            expect(r.code).toBe(c.found ? 3 : 0)
          })
        )
      }
      it.effect("a filter lint cannot read exits 2 with one line naming it", () =>
        Effect.gen(function* () {
          const db = yield* TestDatabase.TestDatabase
          const r = yield* run(["lint", "--approved-only", "maybe"], { DATABASE_URL: db.url })
          expect([r.code, r.stdout.length]).toEqual([2, 0])
          expect(r.stderr).toMatch(/^ground-truth: .*--approved-only.*\n$/)
        })
      )
    }
  )
}
