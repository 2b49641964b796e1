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
        const tally = Eval.add(Eval.empty(), { initial, final }, undefined)
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
    Either.getOrThrow(
      dup.push(
        new TextEncoder().encode(
          '{"job_id":"b","result":1}\n{"job_id":"a","result":1}\n{"job_id":"b","result":0}\n{"job_id":"A","result":2}\n'
        )
      )
    )
    const twice = dup.end()
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
    const tally = Eval.add(
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

  it("leaves at any depth: 200,000 nested arrays give one leaf at its full path", () => {
    let value: Json.Json = new Json.JsonNumber("1")
    for (let i = 0; i < 200_000; i++) value = [value]
    const [leaf, ...more] = Eval.leaves(value)
    expect(more).toHaveLength(0)
    expect(leaf?.path).toBe("[0]".repeat(200_000))
    expect(leaf?.field).toBe("[]".repeat(200_000))
  })

  it("ratios round half up on the exact fraction", () => {
    const tally = (correct: number, of: number) => {
      const t = Eval.empty()
      for (let i = 0; i < of; i++) {
        const v = Json.object([["a", new Json.JsonNumber(String(i < correct ? 1 : 2))]])
        Eval.add(t, { initial: v, final: Json.object([["a", new Json.JsonNumber("1")]]) }, undefined)
      }
      return Eval.report(t, 0).fields[0]!.pipeline.recall
    }
    expect(tally(57, 800)).toBe(0.0713)
    expect(tally(1, 32)).toBe(0.0313)
    expect(tally(2, 3)).toBe(0.6667)
    expect(tally(1, 3)).toBe(0.3333)
  })

  it("a line longer than MAX_LINE is refused before it is held whole", () => {
    const ix = Eval.index()
    const chunk = new Uint8Array(1024 * 1024).fill(0x20)
    let result: Either.Either<void, Eval.InvalidPrediction> = Either.void
    for (let i = 0; i <= Eval.MAX_LINE / chunk.length && Either.isRight(result); i++) result = ix.push(chunk)
    expect(Either.isLeft(result) && result.left.message).toBe(
      "predictions line 1: longer than 64 MiB (a prediction is one line)"
    )
  })
})
