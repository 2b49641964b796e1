import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { Json } from "../src/index.js"
import * as Arb from "./arbitraries.js"

const parse = (text: string) => Either.getOrThrow(Json.parse(text))
const canonical = (text: string) => Json.stringify(parse(text))

describe("parse", () => {
  it("keeps numbers exactly as written", () => {
    expect(canonical("12345678901234567890")).toBe("12345678901234567890")
    expect(canonical("[1.50, -0.0, 1e2, 2.5E-3, 100]")).toBe("[1.50,-0.0,1e2,2.5E-3,100]")
    expect(canonical('{"nrp": 77060000123456789012345}')).toBe('{"nrp":77060000123456789012345}')
  })

  it("reads PostgreSQL's jsonb output (spaces after ':' and ',')", () => {
    expect(canonical('{"a": [1, 2], "b": {"c": null}}')).toBe('{"a":[1,2],"b":{"c":null}}')
  })

  it("decodes escapes and keeps a later duplicate key, as jsonb does", () => {
    expect(parse('"a\\u00e9\\n\\/\\ud83d\\ude00"')).toBe("aé\n/😀")
    expect(canonical('{"k":1,"k":2}')).toBe('{"k":2}')
  })

  it("treats __proto__ as an ordinary key", () => {
    const v = parse('{"__proto__":{"polluted":true}}')
    expect(Json.isObject(v) && v.get("__proto__")).toEqual(new Map([["polluted", true]]))
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it.each([
    ["", 0, "unexpected end of input"],
    ["01", 1, "trailing characters"],
    ["1.", 2, "expected a digit after the decimal point"],
    ["-", 1, "expected a digit"],
    ["[1,]", 3, "expected a JSON value"],
    ["[1 2]", 3, "expected ',' or ']'"],
    ['{"a" 1}', 5, "expected ':'"],
    ['"tab\there"', 4, "control character must be escaped in a string"],
    ['"\\x"', 2, "invalid escape sequence"],
    ['"\\u12G4"', 5, "\\u must be followed by four hex digits"],
    ["nul", 0, "expected a JSON value"],
    ["{} {}", 3, "trailing characters"]
  ])("rejects %j at position %i", (text, position, reason) => {
    const r = Json.parse(text)
    expect(Either.isLeft(r)).toBe(true)
    if (Either.isRight(r)) return
    expect(r.left.position).toBe(position)
    expect(r.left.reason).toBe(reason)
  })

  it("builds numbers only from JSON number text", () => {
    expect(Either.isRight(Json.number("-1.5e3"))).toBe(true)
    expect(Either.isLeft(Json.number("1,5"))).toBe(true)
    expect(Either.isLeft(Json.number("NaN"))).toBe(true)
    expect(Either.isLeft(Json.number("+1"))).toBe(true)
  })
})

describe("parseWithin", () => {
  it("reads as parse does up to its bound of values, and stops at the first past it", () => {
    const text = '{"a":[1,2,{"b":null}],"c":"d"}'
    // The object, the array, 1, 2, the inner object, null and "d": seven values (keys are not values).
    expect(Json.parseWithin(text, 7)).toEqual(Json.parse(text))
    expect(Json.parseWithin(text, 6)).toEqual(Either.left(new Json.JsonTooLarge({ values: 6 })))
    expect(Json.parseWithin("{", 7)).toEqual(Json.parse("{"))
    // A bound is no cost to a later parse: the parser is shared.
    expect(Json.parse(text)).toEqual(Either.right(parse(text)))
    const many = `[${"0,".repeat(999_999)}0]`
    const started = Json.parseWithin(many, 10)
    expect(Either.isLeft(started) && started.left.message).toBe("more than 10 JSON values")
  })
})

describe("equals", () => {
  it.each([
    ["1.50", "1.5", true],
    ["1e2", "100", true],
    ["100", "1.00E+2", true],
    ["-0", "0", true],
    ["0.0", "0e10", true],
    ["12345678901234567890", "12345678901234567000", false],
    ["1", "-1", false],
    ["0.1", "0.01", false],
    ['{"a":1,"b":[1,2]}', '{"b":[1,2.0],"a":1}', true],
    ['{"a":1}', '{"a":1,"b":null}', false],
    ['{"a":null}', '{"b":null}', false],
    ["[1,2]", "[2,1]", false],
    ['"1"', "1", false],
    ["null", "false", false],
    ["[]", "{}", false]
  ])("%s = %s is %s", (a, b, expected) => {
    expect(Json.equals(parse(a), parse(b))).toBe(expected)
    expect(Json.equals(parse(b), parse(a))).toBe(expected)
  })

  /** A number's exact value by BigInt (an independent model): its significant digits and power of ten. */
  const exactly = (text: string): string => {
    const [, sign, whole, fraction = "", exponent = "0"] = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(
      text
    )!
    const digits = (whole + fraction).replace(/^0+/, "")
    const significant = digits.replace(/0+$/, "")
    const power = BigInt(exponent) - BigInt(fraction.length) + BigInt(digits.length - significant.length)
    return significant === "" ? "0" : `${sign}${significant}e${power}`
  }

  /** Digits from a few alphabets, so that runs of 9s and 0s (carries and borrows) come often. */
  const digitsOf = (min: number, max: number) =>
    fc
      .tuple(
        fc.constantFrom("0123456789", "09", "9", "0", "10"),
        fc.array(fc.nat(), { minLength: min, maxLength: max })
      )
      .map(([alphabet, picks]) => picks.map((p) => alphabet[p % alphabet.length]).join(""))

  /** One value spelled twice: moved decimal point, trailing zeros, exponent with sign and leading zeros. */
  const spellings = fc
    .record({
      negative: fc.boolean(),
      significant: digitsOf(1, 25).map((d) => `1${d}`),
      exponent: fc.oneof(
        fc.bigInt({ min: -40n, max: 40n }),
        fc.tuple(fc.boolean(), digitsOf(1, 40)).map(([minus, d]) => (minus ? -BigInt(d) : BigInt(d)))
      ),
      zeros: fc.array(fc.nat({ max: 20 }), { minLength: 2, maxLength: 2 }),
      points: fc.array(fc.nat({ max: 50 }), { minLength: 2, maxLength: 2 }),
      pads: fc.array(fc.nat({ max: 3 }), { minLength: 2, maxLength: 2 }),
      off: fc.constantFrom(0n, 0n, 1n, -1n)
    })
    .map(({ negative, significant, exponent, zeros, points, pads, off }) =>
      [0, 1].map((k) => {
        const digits = significant + "0".repeat(zeros[k]!)
        const point = Math.min(points[k]!, digits.length)
        const e = exponent - BigInt(zeros[k]!) + BigInt(point) + (k === 1 ? off : 0n)
        const mantissa = point === 0 ? digits : `${digits.slice(0, -point) || "0"}.${digits.slice(-point)}`
        const written = `${e < 0n ? "-" : pads[k]! % 2 === 1 ? "+" : ""}${"0".repeat(pads[k]!)}${e < 0n ? -e : e}`
        return `${negative ? "-" : ""}${mantissa}e${written}`
      })
    )

  it.prop(
    "numbers compare by exact value, exponents of any length (against BigInt)",
    [spellings],
    ([[a, b]]) => {
      expect([a, b, Json.equals(parse(a!), parse(b!))]).toEqual([a, b, exactly(a!) === exactly(b!)])
    }
  )

  it(
    "20-million-digit exponents compare exactly, never expanded (BigInt took ~20 s a number)",
    { timeout: 60_000 },
    () => {
      const n = (text: string) => Either.getOrThrow(Json.number(text))
      const nines = "9".repeat(20_000_000)
      const power = `1${"0".repeat(20_000_000)}`
      // 10 × 10^(99…9) = 10^(100…0): a carry through 20 million nines.
      expect(Json.equals(n(`10e${nines}`), n(`1e${power}`))).toBe(true)
      // 0.1 × 10^(100…0) = 10^(99…9): a borrow through 20 million zeros.
      expect(Json.equals(n(`0.1e${power}`), n(`1e${nines}`))).toBe(true)
      expect(Json.equals(n(`1e${nines}`), n(`1e${nines.slice(1)}8`))).toBe(false)
      expect(Json.equals(n(`-1e-${nines}`), n(`-10e-${power}`))).toBe(true)
    }
  )

  it.prop("a value equals its own re-parse and a deep copy", [Arb.json], ([v]) => {
    expect(Json.equals(v, parse(Json.stringify(v)))).toBe(true)
    expect(Json.equals(v, Arb.deepCopy(v))).toBe(true)
  })
})

describe("stringify", () => {
  it("sorts keys by UTF-16 code units: B, _, a_b, ab, b", () => {
    expect(canonical('{"b":1,"ab":2,"a_b":3,"_":4,"B":5}')).toBe('{"B":5,"_":4,"a_b":3,"ab":2,"b":1}')
  })

  it("sorts astral characters by their surrogates, before U+FFFD (RFC 8785)", () => {
    expect(canonical('{"\uFFFD":1,"😀":2,"\u00e9":3}')).toBe('{"é":3,"😀":2,"\uFFFD":1}')
  })

  it("escapes only quote, backslash and control characters", () => {
    expect(Json.stringify("Line1\n\u0001")).toBe('"Line1\\n\\u0001"')
    expect(Json.stringify('q"b\\\b\f\r\t\u001f\u007f')).toBe('"q\\"b\\\\\\b\\f\\r\\t\\u001f\u007f"')
    expect(Json.stringify("\u2028\u2029😀/é")).toBe('"\u2028\u2029😀/é"')
  })

  it.prop(
    "is independent of key insertion order",
    [Arb.json, fc.integer()],
    ([v, seed]) => {
      const shuffle = (x: Json.Json): Json.Json => {
        if (Array.isArray(x)) return x.map(shuffle)
        if (x instanceof Map) {
          const entries = Array.from(x, ([k, y]) => [k, shuffle(y)] as const)
          entries.sort((p, q) => ((p[0].length * 31 + seed) % 7) - ((q[0].length * 31 + seed) % 7))
          return new Map(entries.reverse())
        }
        return x
      }
      expect(Json.stringify(shuffle(v))).toBe(Json.stringify(v))
    },
    { fastCheck: { numRuns: 1000 } }
  )

  it.prop(
    "JSON.parse of the text gives the same structure",
    [Arb.json],
    ([v]) => {
      expect(JSON.parse(Json.stringify(v))).toEqual(Arb.toPlain(v))
    },
    { fastCheck: { numRuns: 1000 } }
  )
})
