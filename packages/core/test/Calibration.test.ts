/**
 * Calibration (contract §14) against an independent computation written here: the population, bins by
 * the decimal text of their bounds, thresholds, Wilson bounds by the center-and-margin form, ECE, Brier.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Stream } from "effect"
import { Calibration, Json } from "../src/index.js"
import type { Sample } from "../src/Sample.js"
import { sample } from "./samples.js"

const j = (text: string) => Either.getOrThrow(Json.parse(text))

const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`

/** A sample whose pipeline answer reviewers changed (`wrong`) or kept (`{"a":1.0}`: equal by value). */
const scored = (i: number, confidence: number | null, wrong: boolean, final = true): Sample =>
  sample(id(i), wrong ? j('{"a":2}') : j('{"a":1.0}'), final ? j('{"a":1}') : null, confidence)

/** Confidences at and around every edge: bounds, thresholds, out of range, not finite. */
const confidence = fc.oneof(
  fc.constantFrom(0, 0.1, 0.3, 0.30000000000000004, 0.5, 0.57, 0.9, 0.97, 0.99, 0.999, 1),
  fc.constantFrom(-0.01, 1.01, Number.NaN, Number.POSITIVE_INFINITY, null),
  fc.double({ min: 0, max: 1, noNaN: true })
)

const z = 1.959964

/** A ratio rounded to 4 decimals is within half a unit of the last place of the exact one. */
const near = (rounded: number | null, exact: number) => {
  expect(rounded).not.toBeNull()
  expect(Math.abs((rounded as number) - exact)).toBeLessThanOrEqual(0.00005 + 1e-12)
}

/** The upper end of the Wilson interval as center plus margin. */
const wilson = (k: number, n: number) => {
  const p = k / n
  const d = 1 + (z * z) / n
  return (p + (z * z) / (2 * n)) / d + (z / d) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))
}

describe("Calibration", () => {
  it.prop(
    "bins, thresholds, the recommendation, ECE and Brier as computed independently",
    [
      fc.array(fc.tuple(confidence, fc.boolean(), fc.boolean()), { maxLength: 60 }),
      fc.constantFrom(0.02, 0.3, 0.5, 0.9)
    ],
    ([rows, target]) => {
      const samples = rows.map(([c, wrong, final], i) => scored(i, c, wrong, final || i % 7 !== 0))
      const r = Calibration.of(samples, target)
      const population = samples.filter(
        (s) => typeof s.confidence === "number" && s.confidence >= 0 && s.confidence <= 1 && s.result !== null
      )
      // Right answers are `{"a":1.0}` for `{"a":1}`: equal by value (§3), so not wrong.
      const wrongIds = new Set(samples.filter((_, i) => rows[i]![1]).map((s) => s.id))
      const isWrong = (s: Sample) => wrongIds.has(s.id)
      expect([r.jobs, r.excluded]).toEqual([population.length, samples.length - population.length])
      const n = population.length
      // Bins by the decimal text of their bounds: `0.3` is in [0.3, 0.4).
      const binOf = (c: number) => [1, 2, 3, 4, 5, 6, 7, 8, 9].filter((i) => c >= Number(`0.${i}`)).length
      r.bins.forEach((b, i) => {
        const inBin = population.filter((s) => binOf(s.confidence as number) === i)
        const wrong = inBin.filter(isWrong).length
        expect([b.from, b.to, b.jobs, b.wrong]).toEqual([i / 10, (i + 1) / 10, inBin.length, wrong])
        if (inBin.length === 0)
          expect([b.error_rate, b.mean_confidence, b.wilson_high]).toEqual([null, null, null])
        else {
          near(b.error_rate, wrong / inBin.length)
          near(b.mean_confidence, inBin.reduce((a, s) => a + (s.confidence as number), 0) / inBin.length)
          near(b.wilson_high, wilson(wrong, inBin.length))
        }
      })
      expect(r.thresholds.map((t) => t.threshold)).toEqual(
        Array.from({ length: 50 }, (_, i) => Number(`0.${50 + i}`))
      )
      for (const t of r.thresholds) {
        const above = population.filter((s) => (s.confidence as number) >= Number(t.threshold.toFixed(2)))
        const wrong = above.filter(isWrong).length
        expect([t.auto_approved, t.wrong]).toEqual([above.length, wrong])
        if (above.length > 0) near(t.wilson_high, wilson(wrong, above.length))
        if (n > 0) near(t.share, above.length / n)
      }
      const first = r.thresholds.find(
        (t) => t.auto_approved > 0 && wilson(t.wrong, t.auto_approved) <= target
      )
      expect(r.recommended?.threshold ?? null).toBe(first?.threshold ?? null)
      if (n === 0) expect([r.ece, r.brier]).toEqual([null, null])
      else {
        const bins = r.bins.filter((b) => b.jobs > 0)
        const ece = bins.reduce((a, b) => {
          const inBin = population.filter((s) => binOf(s.confidence as number) === r.bins.indexOf(b))
          const mean = inBin.reduce((x, s) => x + (s.confidence as number), 0) / inBin.length
          const accuracy = inBin.filter((s) => !isWrong(s)).length / inBin.length
          return a + (inBin.length / n) * Math.abs(mean - accuracy)
        }, 0)
        const brier =
          population.reduce((a, s) => a + ((s.confidence as number) - (isWrong(s) ? 0 : 1)) ** 2, 0) / n
        near(r.ece, ece)
        near(r.brier, brier)
      }
    },
    { fastCheck: { numRuns: 300 } }
  )

  it("a well-calibrated history recommends the threshold that saves reviews within the target", () => {
    // 400 jobs at 0.99, none wrong; 100 at 0.6, half wrong: 0.61 and up auto-approve the 400 (80%).
    const samples = [
      ...Array.from({ length: 400 }, (_, i) => scored(i, 0.99, false)),
      ...Array.from({ length: 100 }, (_, i) => scored(400 + i, 0.6, i % 2 === 0))
    ]
    const r = Calibration.of(samples)
    // 0 of 400: the Wilson bound is z²/(400 + z²) = 0.0095, under 0.02.
    expect(r.recommended).toEqual({ threshold: 0.61, share: 0.8, error_rate: 0 })
    expect(r.thresholds.find((t) => t.threshold === 0.61)?.wilson_high).toBe(0.0095)
    expect(Calibration.encode(r)).toContain('"recommended":{"threshold":0.61,"share":0.8,"error_rate":0}')
    expect(Calibration.encode(r)).toContain('{"threshold":0.50,')
  })

  it("streams as it folds in memory", () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const samples = Array.from({ length: 30 }, (_, i) => scored(i, i / 29, i % 3 === 0))
        expect(yield* Calibration.run(Stream.fromIterable(samples), 0.3)).toEqual(
          Calibration.of(samples, 0.3)
        )
      })
    ))

  it.each([
    ["0.02", 0.02],
    [".5", 0.5],
    ["0.999999999999", 0.999999999999]
  ])("reads the target error %s", (text, value) => {
    expect(Calibration.parseTarget(text)).toEqual(Either.right(value))
  })

  it.each([
    "0",
    "1",
    "1.0",
    "0.0",
    "-0.1",
    "2e-2",
    "0,02",
    "",
    " 0.02",
    "0.5x"
  ])("refuses the target error %j", (text) => {
    expect(Either.isLeft(Calibration.parseTarget(text))).toBe(true)
  })
})
