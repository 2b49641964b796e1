/**
 * The scorer of contract §12 against an independent model: leaves found by plain recursion over
 * `JSON.parse`d values and counted with string keys, never through `Eval`'s own leaves or equality.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Stream } from "effect"
import { Eval, Json } from "../src/index.js"
import type { Sample } from "../src/Sample.js"
import { sprinResult } from "./arbitraries.js"

/**
 * A number as its exact decimal value (§3: `1.50` equals `1.5`, `12345678901234567890` does not equal
 * `12345678901234567000`): the digits without leading or trailing zeros, and the power of ten after them.
 */
class Decimal {
  readonly key: string
  constructor(text: string) {
    const [, sign, whole, fraction = "", exponent = "0"] = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(
      text
    )!
    const digits = (whole + fraction).replace(/^0+/, "")
    const significant = digits.replace(/0+$/, "")
    const power = BigInt(exponent) - BigInt(fraction.length) + BigInt(digits.length - significant.length)
    this.key = significant === "" ? "0" : `${sign}${significant}e${power}`
  }
}

/** path → value text of every leaf (a number's exact decimal value), by plain recursion. */
const plainLeaves = (v: unknown, path = "", out = new Map<string, string>()): Map<string, string> => {
  if (v instanceof Decimal) out.set(path, `number ${v.key}`)
  else if (Array.isArray(v) && v.length > 0) {
    for (let i = 0; i < v.length; i++) plainLeaves(v[i], `${path}[${i}]`, out)
  } else if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0)
    for (const [k, x] of Object.entries(v))
      plainLeaves(
        x,
        /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)
          ? path === ""
            ? k
            : `${path}.${k}`
          : `${path}[${JSON.stringify(k)}]`,
        out
      )
  else out.set(path, JSON.stringify(v))
  return out
}
const fieldOf = (path: string) => path.replace(/\[\d+\]/g, "[]")

/** The model's expected counts for one field over (reference, prediction) pairs. */
const expected = (pairs: ReadonlyArray<readonly [unknown, unknown | undefined]>) => {
  const fields = new Map<string, { support: number; predicted: number; correct: number }>()
  const at = (f: string) => {
    const c = fields.get(f) ?? { support: 0, predicted: 0, correct: 0 }
    fields.set(f, c)
    return c
  }
  for (const [reference, prediction] of pairs) {
    const ref = plainLeaves(reference)
    for (const p of ref.keys()) at(fieldOf(p)).support++
    if (prediction === undefined) continue
    const pred = plainLeaves(prediction)
    for (const p of pred.keys()) at(fieldOf(p)).predicted++
    for (const [p, v] of ref) if (pred.get(p) === v) at(fieldOf(p)).correct++
  }
  return fields
}

/** Plain JavaScript objects and arrays, with each number a `Decimal`: compared as §3's equality does. */
const plain = (v: Json.Json): unknown =>
  v instanceof Json.JsonNumber
    ? new Decimal(v.text)
    : Array.isArray(v)
      ? v.map(plain)
      : Json.isObject(v)
        ? Object.fromEntries([...v].map(([k, x]) => [k, plain(x)]))
        : v

const sample = (id: string, initial: Json.Json, final: Json.Json): Sample => ({
  id,
  filename: "f.pdf",
  sourceKind: "pdf",
  approved: true,
  reviewedBy: null,
  reviewedAt: null,
  createdAt: { seconds: 0, micros: 0 },
  result: final,
  reviewFlags: [],
  confidence: null,
  events: [],
  initialResult: initial
})

/** Scores prediction lines (bytes) against samples, through the same path as the front ends. */
const score = (samples: ReadonlyArray<Sample>, lines: string) =>
  Effect.gen(function* () {
    const bytes = new TextEncoder().encode(lines)
    const predictions = yield* Eval.indexed((position, length) =>
      Effect.succeed(bytes.subarray(position, Math.min(bytes.length, position + Math.min(length, 7))))
    )
    return yield* Eval.run("jsonl", Stream.fromIterable(samples), predictions)
  })

const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`
const line = (jobId: string, result: Json.Json) =>
  `{"job_id":"${jobId}","result":${Json.stringify(result)}}\n`

const jobs = fc.array(fc.tuple(sprinResult, sprinResult, sprinResult, fc.boolean()), {
  minLength: 1,
  maxLength: 12
})

describe("Eval", () => {
  it.effect("a perfect prediction scores 1 everywhere", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(jobs, async (js) => {
          const samples = js.map(([initial, final], i) => sample(id(i), initial, final))
          const lines = samples.map((s) => line(s.id, s.result as Json.Json)).join("")
          const r = await Effect.runPromise(score(samples, lines))
          expect(r.exact_match.model).toBe(1)
          for (const f of r.fields) {
            expect(f.model.recall).toBe(f.support > 0 ? 1 : null)
            expect(f.model.precision).toBe(f.model.predicted > 0 ? 1 : null)
          }
        }),
        { numRuns: 60 }
      )
    )
  )

  it.effect("every count equals the independent model's, for the model and the pipeline", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(jobs, async (js) => {
          const samples = js.map(([initial, final], i) => sample(id(i), initial, final))
          const lines = js
            .flatMap(([, , predicted, given], i) => (given ? [line(id(i), predicted)] : []))
            .join("")
          const r = await Effect.runPromise(score(samples, lines))
          const model = expected(
            js.map(([, final, predicted, given]) => [plain(final), given ? plain(predicted) : undefined])
          )
          const pipeline = expected(js.map(([initial, final]) => [plain(final), plain(initial)]))
          const given = js.filter(([, , , g]) => g)
          expect(r.jobs).toBe(js.length)
          expect(r.predictions).toBe(given.length)
          expect(r.missing).toBe(js.length - given.length)
          expect(r.unknown).toBe(0)
          for (const f of r.fields) {
            const m = model.get(f.field) ?? { support: 0, predicted: 0, correct: 0 }
            const p = pipeline.get(f.field) ?? { support: 0, predicted: 0, correct: 0 }
            expect([f.support, f.model.predicted, f.model.correct]).toEqual([
              m.support,
              m.predicted,
              m.correct
            ])
            expect([f.pipeline.predicted, f.pipeline.correct]).toEqual([p.predicted, p.correct])
            expect(f.model.recall).toBe(
              m.support === 0 ? null : Math.round((m.correct / m.support) * 1e4) / 1e4
            )
          }
          const listed = new Set(r.fields.map((f) => f.field))
          for (const [f, c] of model) if (c.support + c.predicted > 0) expect(listed.has(f)).toBe(true)
          const exact = js.filter(
            ([, final, predicted, g]) => g && Json.stringify(final) === Json.stringify(predicted)
          )
          expect(r.exact_match.model).toBe(Math.round((exact.length / js.length) * 1e4) / 1e4)
        }),
        { numRuns: 80 }
      )
    )
  )

  it.effect("permuting the prediction lines changes nothing", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          jobs.chain((js) =>
            fc.tuple(
              fc.constant(js),
              fc.shuffledSubarray(
                js.map((_, i) => i),
                { minLength: js.length }
              )
            )
          ),
          async ([js, order]) => {
            const samples = js.map(([initial, final], i) => sample(id(i), initial, final))
            const lines = (is: ReadonlyArray<number>) => is.map((i) => line(id(i), js[i][2])).join("")
            const a = await Effect.runPromise(score(samples, lines(js.map((_, i) => i))))
            const b = await Effect.runPromise(score(samples, lines(order)))
            expect(Eval.encode(b)).toBe(Eval.encode(a))
          }
        ),
        { numRuns: 40 }
      )
    )
  )

  it("the pipeline scores what the audit trail implies: a field never corrected has recall 1", () => {
    fc.assert(
      fc.property(sprinResult, fc.string(), (initial, perihal) => {
        // One reviewer correction, to header.perihal: the pipeline got every other leaf right.
        const header = new Map((initial as Json.JsonObject).get("header") as Json.JsonObject)
        header.set("perihal", perihal)
        const final = new Map(initial as Json.JsonObject).set("header", header)
        const tally = Either.getOrThrow(Eval.add(Eval.empty(), { initial, final }, undefined))
        for (const f of Eval.report(tally, 0).fields) {
          if (f.field !== "header.perihal") expect([f.field, f.pipeline.recall]).toEqual([f.field, 1])
        }
      }),
      { numRuns: 100 }
    )
  })

  it("reads completions: fenced, conversational, unparseable, null", () => {
    const p = (text: string) => Either.getOrThrow(Eval.parseLine(text, 1)).predicted
    expect(p('{"job_id":"A","completion":"```json\\n{\\"a\\": 1}\\n```"}')).toEqual({
      _tag: "Result",
      value: Json.object([["a", new Json.JsonNumber("1")]])
    })
    expect(p('{"job_id":"a","completion":[{"role":"assistant","content":" {\\"a\\":1} "}]}')._tag).toBe(
      "Result"
    )
    expect(p('{"job_id":"a","completion":"I think {\\"a\\":1}"}')).toEqual({ _tag: "Unparseable" })
    expect(p('{"job_id":"a","completion":"null"}')).toEqual({ _tag: "Nothing" })
    expect(p('{"job_id":"a","result":null}')).toEqual({ _tag: "Nothing" })
    expect(Either.getOrThrow(Eval.parseLine('{"job_id":"ABC","result":1}', 1)).jobId).toBe("abc")
    for (const [text, detail] of [
      ["[1]", "not an object"],
      ['{"result":1}', "job_id must be a string"],
      ['{"job_id":"a"}', "exactly one"],
      ['{"job_id":"a","result":1,"completion":"1"}', "exactly one"],
      ['{"job_id":"a","completion":1}', "completion must be"],
      ["{", "not JSON"]
    ] as const) {
      const e = Eval.parseLine(text, 7)
      expect(Either.isLeft(e) && e.left.message.startsWith("predictions line 7: ")).toBe(true)
      expect(Either.isLeft(e) && e.left.message).toContain(detail)
    }
  })

  it("index: byte ranges across chunk borders, a last line without newline, duplicates and non-UTF-8 named", () => {
    const text = '{"job_id":"a","result":1}\n{"job_id":"é","result":[2]}\n{"job_id":"c","result":3}'
    const bytes = new TextEncoder().encode(text)
    for (const size of [1, 2, 5, 64]) {
      const ix = Eval.index()
      for (let i = 0; i < bytes.length; i += size) Either.getOrThrow(ix.push(bytes.subarray(i, i + size)))
      const { find, lines } = Either.getOrThrow(ix.end())
      expect(lines).toBe(3)
      const decoded = ["a", "é", "c", "b", "", "ab"].map((job) => {
        const at = find(job)
        return at === undefined
          ? [job]
          : [job, at.line, new TextDecoder().decode(bytes.subarray(at.start, at.end))]
      })
      expect(decoded).toEqual([
        ...text.split("\n").map((l, i) => [JSON.parse(l).job_id, i + 1, l]),
        ["b"],
        [""],
        ["ab"]
      ])
    }
    // Named as a reader going line by line names them: the first line that repeats a job, even when a
    // later line is bad too.
    const dup = Eval.index()
    const twice = dup.push(
      new TextEncoder().encode(
        '{"job_id":"b","result":1}\n{"job_id":"a","result":1}\n{"job_id":"b","result":0}\n{"job_id":"A","result":2}\n'
      )
    )
    expect(Either.isLeft(twice) && twice.left.message).toBe(
      "predictions line 3: job b is predicted twice (also line 1)"
    )
    const thenBad = Eval.index()
    const pushed = thenBad.push(
      new TextEncoder().encode('{"job_id":"a","result":1}\n{"job_id":"a","result":2}\n{"job_id":3}\n')
    )
    expect(Either.isLeft(pushed) && pushed.left.message).toBe(
      "predictions line 2: job a is predicted twice (also line 1)"
    )
    const bad = Eval.index()
    const latin = bad.push(Uint8Array.from([0x7b, 0xff, 0x7d, 0x0a]))
    expect(Either.isLeft(latin) && latin.left.message).toBe("predictions line 1: not UTF-8")
  })

  it("markdown: model and pipeline side by side, worst fields first, the difference in points", () => {
    const n = (text: string) => new Json.JsonNumber(text)
    const tally = Either.getOrThrow(
      Eval.add(
        Eval.empty(),
        {
          initial: Json.object([
            ["a", n("1")],
            ["b", n("3")]
          ]),
          final: Json.object([
            ["a", n("1")],
            ["b", n("2")]
          ])
        },
        {
          _tag: "Result",
          value: Json.object([
            ["b", n("2.0")],
            ["a", n("0")]
          ])
        }
      )
    )
    expect(Eval.markdown(Eval.report(tally, 1))).toBe(
      [
        "# Evaluation against the ground truth",
        "",
        "1 reference jobs; 1 predicted, 0 missing, 0 unparseable; 0 lines for other jobs ignored.",
        "",
        "| | model | pipeline | Δ |",
        "|---|---:|---:|---:|",
        "| exact match | 0.0% | 0.0% | ±0.0 |",
        "",
        "| field | support | model recall | pipeline recall | Δ recall | model precision | pipeline precision | Δ precision |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        "| `a` | 1 | 0.0% | 100.0% | −100.0 | 0.0% | 100.0% | −100.0 |",
        "| `b` | 1 | 100.0% | 0.0% | +100.0 | 100.0% | 0.0% | +100.0 |",
        ""
      ].join("\n")
    )
  })

  it("fields at any depth: a reference 200,000 arrays deep and its prediction score one field", () => {
    let value: Json.Json = new Json.JsonNumber("1")
    for (let i = 0; i < 200_000; i++) value = [value]
    const tally = Either.getOrThrow(
      Eval.add(Eval.empty(), { initial: null, final: value }, { _tag: "Result", value }, 1)
    )
    const [field, ...more] = Eval.report(tally, 1).fields
    expect(more).toHaveLength(0)
    expect(field?.field).toBe("[]".repeat(200_000))
    expect([field?.support, field?.model.correct]).toEqual([1, 1])
  })

  it("ratios round half up on the exact fraction", () => {
    const tally = (correct: number, of: number) => {
      const t = Eval.empty()
      for (let i = 0; i < of; i++) {
        const v = Json.object([["a", new Json.JsonNumber(String(i < correct ? 1 : 2))]])
        Either.getOrThrow(
          Eval.add(t, { initial: v, final: Json.object([["a", new Json.JsonNumber("1")]]) }, undefined)
        )
      }
      return Eval.report(t, 0).fields[0]!.pipeline.recall
    }
    expect(tally(57, 800)).toBe(0.0713)
    expect(tally(1, 32)).toBe(0.0313)
    expect(tally(2, 3)).toBe(0.6667)
    expect(tally(1, 3)).toBe(0.3333)
  })

  it("a line longer than the limit is refused before it is held whole", () => {
    const ix = Eval.index()
    const chunk = new Uint8Array(64 * 1024).fill(0x20)
    let result: Either.Either<void, Eval.InvalidPrediction> = Either.void
    let pushed = 0
    for (; pushed <= Eval.limits.lineBytes && Either.isRight(result); pushed += chunk.length)
      result = ix.push(chunk)
    expect(Either.isLeft(result) && result.left.message).toBe(
      "predictions line 1: longer than 1 MiB (a prediction is one line)"
    )
    expect(pushed).toBe(Eval.limits.lineBytes + chunk.length)
  })

  describe("limits", () => {
    const refused = (lines: string, bounds: Eval.Limits = Eval.limits) => {
      const ix = Eval.index(bounds)
      const r = Either.flatMap(ix.push(new TextEncoder().encode(lines)), () => ix.end())
      return Either.isLeft(r) ? r.left.message : "accepted"
    }
    const nested = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`
    const key = (length: number) => "k".repeat(length)
    const ok = '{"job_id":"a","result":1}\n'

    it("each bound holds at its value and refuses one past it, naming the line and the job", () => {
      const { depth, number, field, jobId } = Eval.limits
      const cases: ReadonlyArray<readonly [string, string, string]> = [
        [nested(depth), nested(depth + 1), `the result nests deeper than ${depth} levels`],
        [
          `1${"0".repeat(number - 1)}`,
          `1${"0".repeat(number)}`,
          "the result holds a number longer than 1,000 characters"
        ],
        [
          `-0.${"5".repeat(number - 3)}`,
          `-0.${"5".repeat(number - 2)}`,
          "the result holds a number longer than 1,000 characters"
        ],
        [
          `{"${key(field)}":1}`,
          `{"${key(field + 1)}":1}`,
          "the result has a field longer than 1,000 characters"
        ],
        // `[]` is two characters of a field, `.k` two, `["k k"]` the quoted key and brackets.
        [
          `[{"${key(field - 3)}":1}]`,
          `[{"${key(field - 2)}":1}]`,
          "the result has a field longer than 1,000 characters"
        ],
        [
          `{"${key(field - 6)} k":{}}`,
          `{"${key(field - 5)} k":{}}`,
          "the result has a field longer than 1,000 characters"
        ]
      ]
      for (const [within, past, message] of cases) {
        expect(refused(`${ok}{"job_id":"b","result":${within}}\n`)).toBe("accepted")
        expect(refused(`${ok}{"job_id":"b","result":${past}}\n`)).toBe(
          `predictions line 2: job b: ${message}`
        )
      }
      // The line object, its job_id and the array are three values.
      const zeros = (n: number) => Array.from({ length: n }, () => "0").join(",")
      expect(refused(`${ok}{"job_id":"b","result":[${zeros(Eval.limits.values - 3)}]}\n`)).toBe("accepted")
      expect(refused(`${ok}{"job_id":"b","result":[${zeros(Eval.limits.values - 2)}]}\n`)).toBe(
        "predictions line 2: holds more than 20,000 JSON values"
      )
      expect(refused(`{"job_id":"${key(jobId)}","result":1}`)).toBe("accepted")
      expect(refused(`${ok}{"job_id":"${key(jobId + 1)}","result":1}`)).toBe(
        "predictions line 2: job_id is longer than 64 characters"
      )
      expect(refused(`${ok}${ok.replace('"a"', '"b"')}`, { ...Eval.limits, lines: 1 })).toBe(
        "predictions line 2: more than 1 lines"
      )
      const line = `{"job_id":"b","result":"${"x".repeat(100)}"}`
      expect(refused(`${line}\n`, { ...Eval.limits, lineBytes: line.length })).toBe("accepted")
      expect(refused(`${ok}${line}\n`, { ...Eval.limits, lineBytes: line.length - 1 })).toBe(
        `predictions line 2: longer than ${line.length - 1} bytes (a prediction is one line)`
      )
    })

    it("a completion past a bound is unparseable: the model's answer, not the file, is at fault", () => {
      const p = (content: string) =>
        Either.getOrThrow(Eval.parseLine(JSON.stringify({ job_id: "a", completion: content }), 1)).predicted
          ._tag
      expect(p(nested(Eval.limits.depth))).toBe("Result")
      expect(p(nested(Eval.limits.depth + 1))).toBe("Unparseable")
      expect(p(`{"n": 1e${"9".repeat(Eval.limits.number)}}`)).toBe("Unparseable")
      expect(p(`[${Array.from({ length: Eval.limits.values - 1 }, () => "0").join(",")}]`)).toBe("Result")
      expect(p(`[${Array.from({ length: Eval.limits.values }, () => "0").join(",")}]`)).toBe("Unparseable")
      expect(p(`{"${key(Eval.limits.field + 1)}": 1}`)).toBe("Unparseable")
    })

    it.effect(
      "the fields predictions add that no reference had are bounded over the whole file, naming the line",
      () =>
        Effect.gen(function* () {
          const final = Json.object([["a", new Json.JsonNumber("1")]])
          const samples = [0, 1, 2].map((i) => sample(id(i), null, final))
          const bytes = new TextEncoder().encode(
            [
              `{"job_id":"${id(0)}","result":{"a":1,"b":1,"c":1}}`,
              `{"job_id":"${id(1)}","result":{"a":{"x":1},"b":2}}`,
              `{"job_id":"${id(2)}","result":{"d":[1]}}`,
              ""
            ].join("\n")
          )
          const read = (position: number, length: number) =>
            Effect.succeed(bytes.subarray(position, position + length))
          const scored = (newFields: number) =>
            Effect.flatMap(Eval.indexed(read, { ...Eval.limits, newFields }), (predictions) =>
              Eval.run("jsonl", Stream.fromIterable(samples), predictions)
            ).pipe(Effect.either)
          // b, c; then a.x; then d, d[]: five in all.
          expect(Either.isRight(yield* scored(5))).toBe(true)
          const past = yield* scored(4)
          expect(Either.isLeft(past) && past.left.message).toBe(
            "predictions line 3: the predictions name more than 4 fields that no reference job has"
          )
          const early = yield* scored(2)
          expect(Either.isLeft(early) && early.left.message).toBe(
            "predictions line 2: the predictions name more than 2 fields that no reference job has"
          )
        })
    )

    it("290,000 leaves under a 990-character key are scored in one pass (a path per leaf: 290 M characters)", () => {
      // Past a line's values, but a reference from the database may be as large: the tally's own cost.
      const name = key(990)
      const leaves = Array.from({ length: 290_000 }, () => "0").join(",")
      const value = Either.getOrThrow(Json.parse(`{"${name}":[${leaves}]}`))
      const final = Json.object([[name, [new Json.JsonNumber("0")]]])
      const tally = Either.getOrThrow(
        Eval.add(Eval.empty(), { initial: value, final }, { _tag: "Result", value })
      )
      expect(
        Eval.report(tally, 1).fields.map((f) => [
          f.field,
          f.support,
          f.model.predicted,
          f.model.correct,
          f.pipeline.predicted
        ])
      ).toEqual([[`${name}[]`, 1, 290_000, 1, 290_000]])
    })
  })

  describe("a line read again is the line indexed", () => {
    const first = `{"job_id":"${id(0)}","result":{"a":1}}\n{"job_id":"${id(1)}","result":{"a":1}}\n`
    const final = Json.object([["a", new Json.JsonNumber("1")]])
    const samples = [sample(id(0), null, final), sample(id(1), null, final)]
    /** Scores a file whose bytes are `before` while it is indexed and `after` once it is. */
    const rewritten = (before: string, after: string) =>
      Effect.gen(function* () {
        let bytes = new TextEncoder().encode(before)
        const read = (position: number, length: number) =>
          Effect.succeed(bytes.subarray(position, position + length))
        const predictions = yield* Eval.indexed(read)
        bytes = new TextEncoder().encode(after)
        return yield* Eval.run("jsonl", Stream.fromIterable(samples), predictions).pipe(Effect.either)
      })

    it.effect(
      "a file rewritten in place fails naming the first line read that changed; nothing is scored",
      () =>
        Effect.gen(function* () {
          // The same length, another value; then another job at the same place; then a shorter file.
          for (const [after, line] of [
            [first.replace('"a":1}}\n{', '"a":2}}\n{'), 1],
            [first.replace(id(1), id(2)), 2],
            [first.slice(0, first.length - 10), 2]
          ] as const) {
            const r = yield* rewritten(first, after)
            expect(Either.isLeft(r) && r.left).toEqual(new Eval.LineChanged({ line }))
            expect(Either.isLeft(r) && r.left.message).toBe(
              `line ${line} changed after it was read: the predictions were rewritten while they were being scored`
            )
          }
          // The same bytes written again change nothing.
          const same = yield* rewritten(first, first)
          expect(Either.isRight(same) && same.right.exact_match.model).toBe(1)
        })
    )
  })

  it.prop(
    "the index finds each job's line, case aside, and no other; the first repeat is named",
    [
      fc.uniqueArray(fc.string({ minLength: 0, maxLength: 12 }), {
        minLength: 1,
        maxLength: 300,
        selector: (s) => s.toLowerCase()
      }),
      fc.nat()
    ],
    ([ids, pick]) => {
      const ix = Eval.index()
      const text = ids.map((j) => JSON.stringify({ job_id: j, result: 1 })).join("\n")
      const bytes = new TextEncoder().encode(text)
      Either.getOrThrow(ix.push(bytes))
      const { find, lines } = Either.getOrThrow(ix.end())
      expect(lines).toBe(ids.length)
      ids.forEach((j, i) => {
        const at = find(j.toLowerCase())
        expect(
          at === undefined ? undefined : [at.line, new TextDecoder().decode(bytes.subarray(at.start, at.end))]
        ).toEqual([i + 1, JSON.stringify({ job_id: j, result: 1 })])
      })
      expect(find(`${ids[0]!.toLowerCase()}\u0000`)).toBe(undefined)
      const again = ids[pick % ids.length]!
      const twice = Eval.index()
      const r = twice.push(
        new TextEncoder().encode(`${text}\n${JSON.stringify({ job_id: again.toUpperCase(), result: 2 })}\n`)
      )
      expect(Either.isLeft(r) && r.left.message).toBe(
        `predictions line ${ids.length + 1}: job ${again.toLowerCase()} is predicted twice (also line ${(pick % ids.length) + 1})`
      )
    }
  )
})
