import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { align } from "../src/internal/align.js"
import { brute } from "./pairing.js"

describe("rows aligned by content", () => {
  it.prop(
    "pairs as the brute force of the three rules does, ties included",
    [
      fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 })).chain(([n, m]) =>
        fc.tuple(
          fc.constant(n),
          fc.constant(m),
          // Few values: ties in equal leaves, and in distance, are common.
          fc.array(fc.array(fc.integer({ min: 0, max: 2 }), { minLength: m, maxLength: m }), {
            minLength: n,
            maxLength: n
          })
        )
      )
    ],
    ([[n, m, eq]]) => {
      expect(align(n, m, (i, j) => eq[i][j]!)).toEqual(brute(n, m, eq))
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it("more reference rows than predicted ones: a tie is settled by pairing the earliest rows", () => {
    // Found by the property above (seed 59792792): two pairings of equal leaves (5) and distance (7);
    // the rule takes reference 1 paired, reference 3 unpaired. Fixing a pair once only forbade the
    // others, and the method, free to leave a reference row out, dropped it.
    const eq = [
      [0, 2, 1, 0],
      [1, 0, 0, 0],
      [0, 0, 0, 1],
      [0, 0, 0, 0],
      [2, 2, 0, 0]
    ]
    expect(align(5, 4, (i, j) => eq[i]![j] as number)).toEqual([1, 2, 3, undefined, 0])
    expect(brute(5, 4, eq)).toEqual([1, 2, 3, undefined, 0])
  })

  it("a hallucinated first row shifts nothing: every real row keeps its partner", () => {
    // Reference rows 0..3; the prediction has an invented row first, then the four rows.
    const eq = (i: number, j: number) => (j === i + 1 ? 4 : 0)
    expect(align(4, 5, eq)).toEqual([1, 2, 3, 4])
  })

  it("two swapped rows pair crosswise", () => {
    const eq = (i: number, j: number) =>
      (i === 0 && j === 1) || (i === 1 && j === 0) || (i === j && i > 1) ? 3 : 0
    expect(align(3, 3, eq)).toEqual([1, 0, 2])
  })

  it("with nothing equal, rows pair by index; a longer reference leaves its last rows unpaired", () => {
    expect(align(3, 3, () => 0)).toEqual([0, 1, 2])
    expect(align(4, 2, () => 0)).toEqual([0, 1, undefined, undefined])
  })
})
