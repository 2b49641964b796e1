import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { Json, Split } from "../src/index.js"

const ratios = fc.tuple(fc.nat(1000), fc.nat(1000), fc.nat(1000)).filter(([a, b, c]) => a + b + c > 0)

describe("Split", () => {
  // Points computed by Python's hashlib (scripts/derive_formats.py's formula), not by this code.
  it.each([
    ["c5da6747-1111-4222-8333-944455556666", "", 3607850926],
    ["0b4a2c1e-0000-4000-8000-000000000002", "sprin-2025", 3610203903],
    ["00000000-0000-4000-8000-000000000000", "", 3682620896],
    ["FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF", "é 😀", 3562829514]
  ])("the point of %s with seed %j is the first 32 bits of SHA-256", (id, seed, point) => {
    expect(Split.point(Split.key("job", id, null), seed)).toBe(point)
  })

  const j = (text: string) => Either.getOrThrow(Json.parse(text))
  const letter = (nomor: string) => j(`{"header":{"nomor_sprint":${JSON.stringify(nomor)}},"personel":[]}`)

  it("a letter key removes ASCII whitespace and upper-cases ASCII letters only; else the job id", () => {
    const id = "C5DA6747-1111-4222-8333-944455556666"
    expect(Split.keyOf("letter", id, letter(" sprin/12\t/v/2025\r\n\u000b\f"))).toBe("SPRIN/12/V/2025")
    // é, ß and the no-break space are not folded: SQL and any language compute the same key.
    expect(Split.keyOf("letter", id, letter("é\u00a0aß"))).toBe("é\u00a0Aß")
    expect(Split.keyOf("letter", id, letter(" \t"))).toBe(id.toLowerCase())
    expect(Split.keyOf("letter", id, j('{"header":{"nomor_sprint":12}}'))).toBe(id.toLowerCase())
    expect(Split.keyOf("letter", id, j('{"header":"SPRIN/1"}'))).toBe(id.toLowerCase())
    expect(Split.keyOf("letter", id, j('["SPRIN/1"]'))).toBe(id.toLowerCase())
    expect(Split.keyOf("letter", id, undefined)).toBe(id.toLowerCase())
    // By job, the number is not read.
    expect(Split.keyOf("job", id, letter("Sprin/1"))).toBe(id.toLowerCase())
  })

  it("copies of a letter spelled apart have one point", () => {
    // By Python's hashlib: int(sha256(b"SPRIN/3/II/2025").hexdigest()[:8], 16).
    const spellings = ["Sprin/3/II/2025", " sprin / 3 / ii / 2025", "SPRIN/3/II/2025\n"]
    const points = spellings.map((s) => Split.point(Split.key("letter", "x", s), ""))
    expect(new Set(points).size).toBe(1)
    expect(points[0]).toBe(2549957133)
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
