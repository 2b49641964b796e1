/**
 * Calibration through the CLI (contract §14): each golden case prints its hand-checked line on every
 * test database (the server's test gets the same bytes); a bad --target-error exits 2 naming it.
 */
import { expect, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Effect, Layer } from "effect"
import { run } from "./cli.js"

for (const target of TestDatabase.targets()) {
  const fixture = Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer))
  layer(fixture, { timeout: 300_000 })(`CLI calibration on ${target.name}`, (it) => {
    const env = Effect.map(TestDatabase.TestDatabase, (db) => ({ DATABASE_URL: db.url }))
    for (const c of Golden.calibrationCases) {
      it.effect(`calibration ${c.name}`, () =>
        Effect.gen(function* () {
          const r = yield* run(["calibration", ...Golden.flags(c.params)], yield* env)
          expect(r.stderr).toBe("")
          expect(r.code).toBe(0)
          expect(r.stdout.toString("utf8")).toBe(Golden.expectedCalibration(c).toString("utf8"))
        })
      )
    }
    it.effect("a target error that is not a decimal in (0, 1) exits 2 with one line naming the flag", () =>
      Effect.gen(function* () {
        for (const given of ["0", "1", "1.5", "-0.1", "2e-2", "x", ""]) {
          const r = yield* run(["calibration", "--target-error", given], yield* env)
          expect(r.code, given).toBe(2)
          expect(r.stdout.length).toBe(0)
          expect(r.stderr, given).toBe(
            `ground-truth: --target-error must be a decimal between 0 and 1, both excluded (0.02: a 2% error rate), not ${JSON.stringify(given)}\n`
          )
        }
      })
    )
  })
}
