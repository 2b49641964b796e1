import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { Split } from "../src/index.js"

const ratios = fc.tuple(fc.nat(1000), fc.nat(1000), fc.nat(1000)).filter(([a, b, c]) => a + b + c > 0)

describe("Split", () => {
  // Points computed by Python's hashlib (scripts/derive_formats.py's formula), not by this code.
  it.each([
    ["c5da6747-1111-4222-8333-944455556666", "", 3607850926],
    ["0b4a2c1e-0000-4000-8000-000000000002", "sprin-2025", 3610203903],
    ["00000000-0000-4000-8000-000000000000", "", 3682620896],
    ["FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF", "é 😀", 3562829514]
  ])("the point of %s with seed %j is the first 32 bits of SHA-256", (id, seed, point) => {
    expect(Split.point(id, seed)).toBe(point)
  })

  it("cuts at the ratios, exactly", () => {
    // 3607850926 / 2^32 = 0.8400…: validation under 80/10/10, train under 85/10/5, test under 10/74/16.
    const id = "c5da6747-1111-4222-8333-944455556666"
    expect(Split.assign(id, [80, 10, 10], "")).toBe("validation")
    expect(Split.assign(id, [85, 10, 5], "")).toBe("train")
    expect(Split.assign(id, [10, 74, 16], "")).toBe("test")
    expect(Split.assign(id, [0, 0, 1], "")).toBe("test")
  })

  it.prop(
    "a split whose ratio is 0 gets no job",
    [fc.uuid(), ratios, fc.string()],
    ([id, r, seed]) => {
      expect(r[["train", "validation", "test"].indexOf(Split.assign(id, r, seed))]).toBeGreaterThan(0)
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it("splits 20,000 random ids close to the ratios", () => {
    const counts = { train: 0, validation: 0, test: 0 }
    fc.sample(fc.uuid(), { numRuns: 20_000, seed: 7 }).forEach((id) => {
      counts[Split.assign(id, Split.defaultRatios, "")]++
    })
    expect(Math.abs(counts.train / 20_000 - 0.8)).toBeLessThan(0.015)
    expect(Math.abs(counts.validation / 20_000 - 0.1)).toBeLessThan(0.015)
    expect(Math.abs(counts.test / 20_000 - 0.1)).toBeLessThan(0.015)
  })

  it.prop(
    "another seed is another assignment",
    [fc.uniqueArray(fc.uuid(), { minLength: 200, maxLength: 200 })],
    ([ids]) => {
      const moved = ids.filter(
        (id) => Split.assign(id, [50, 25, 25], "a") !== Split.assign(id, [50, 25, 25], "b")
      )
      expect(moved.length).toBeGreaterThan(0)
    },
    { fastCheck: { numRuns: 50 } }
  )
})
