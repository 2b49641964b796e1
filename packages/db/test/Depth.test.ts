/**
 * Values nested thousands of levels deep on real databases (issue 13). PostgreSQL stores jsonb about
 * 14,000 levels deep (its stack, `max_stack_depth` 2 MB: ~14,380 for the shape here, ~14,540 for bare
 * arrays); PGlite runs PostgreSQL as WebAssembly on Node's stack and fails silently (no row, no error,
 * then a hung instance) from ~6,300 levels, so the review service refuses corrections deeper than
 * `Review.EMBEDDED_MAX_DEPTH` there, and the embedded database is tested at 5,000 levels only.
 *
 * Rows written by SQL, with and without an audit trail, export byte for byte in every format; the
 * review service records and exports corrections at those depths, and refuses with `InvalidValue` one
 * the database cannot store, changing nothing.
 */
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Export, Filter, Format, Json, Review, Timestamp } from "@ground-truth/core"
import { Effect, Either, Layer, Stream } from "effect"
import { TestDatabase } from "../src/index.js"

/** Nine arrays, then an object whose keys need sorting (`"b"` holds the next level, `"aa"` a number). */
const UNIT = 10

/** `levels` containers around `leaf`, as PostgreSQL prints them: shortest key first, spaces. */
const pg = (levels: number, leaf: string) =>
  `${"[".repeat(UNIT - 1)}{"b": `.repeat(levels / UNIT) +
  leaf +
  `, "aa": 0}${"]".repeat(UNIT - 1)}`.repeat(levels / UNIT)

/** The same, canonical. */
const canonical = (levels: number, leaf: string) =>
  `${"[".repeat(UNIT - 1)}{"aa":0,"b":`.repeat(levels / UNIT) +
  leaf +
  `}${"]".repeat(UNIT - 1)}`.repeat(levels / UNIT)

/** The field path of the innermost leaf. */
const leafPath = (levels: number) => `${"[0]".repeat(UNIT - 1)}.b`.repeat(levels / UNIT)

const arrays = (levels: number, leaf: string) => "[".repeat(levels) + leaf + "]".repeat(levels)

/**
 * The same `levels` containers with an object at the root, as the result schema wants a result: one
 * unit turned round (an object holding nine arrays) around `levels - UNIT` of `pg`'s, and its
 * canonical text and leaf path.
 */
const rooted = {
  pg: (levels: number, leaf: string) =>
    `{"b": ${"[".repeat(UNIT - 1)}${pg(levels - UNIT, leaf)}${"]".repeat(UNIT - 1)}, "aa": 0}`,
  canonical: (levels: number, leaf: string) =>
    `{"aa":0,"b":${"[".repeat(UNIT - 1)}${canonical(levels - UNIT, leaf)}${"]".repeat(UNIT - 1)}}`,
  leafPath: (levels: number) => `b${"[0]".repeat(UNIT - 1)}${leafPath(levels - UNIT)}`
}

const value = (text: string) => Either.getOrThrow(Json.parse(text))

/** The export of one window, in one format. */
const exported = (since: string, until: string, format: Format.Format) =>
  Effect.gen(function* () {
    const filter = yield* Filter.parse([
      ["approved_only", "false"],
      ["since", since],
      ["until", until],
      ["format", format]
    ])
    const chunks = yield* Stream.runCollect((yield* Export.Export).stream(filter))
    return Buffer.concat([...chunks]).toString("utf8")
  })

/** A sample's results and corrections, as text, rendered in each format independently of core. */
interface Expected {
  readonly id: string
  readonly filename: string
  readonly createdAt: string
  readonly initial: string
  readonly final: string
  readonly corrections: ReadonlyArray<{
    readonly path: string
    readonly old: string
    readonly new: string
    readonly reason: string | null
    readonly at: string
  }>
}

const render = (s: Expected, format: Format.Format): string => {
  const hf = format === "hf"
  const v = (text: string) => (hf && text !== "null" ? JSON.stringify(text) : text)
  const system = `{"role":"system","content":${JSON.stringify(Format.instruction)}}`
  const user = `{"role":"user","content":${JSON.stringify(s.initial)}}`
  const assistant = (text: string) => `[{"role":"assistant","content":${JSON.stringify(text)}}]`
  const id = `{"job_id":"${s.id}"`
  // A training line needs an input: without texts, the pipeline's result (a root insert has none).
  if (format !== "jsonl" && format !== "hf" && s.initial === "null") return ""
  switch (format) {
    case "prompt-completion":
      return `${id},"prompt":[${system},${user}],"completion":${assistant(s.final)}}\n`
    case "messages":
      return `${id},"messages":[${system},${user},${assistant(s.final).slice(1, -1)}]}\n`
    case "preference":
      return s.initial === s.final
        ? ""
        : `${id},"prompt":[${system},${user}],"chosen":${assistant(s.final)},"rejected":${assistant(s.initial)}}\n`
    default: {
      const corrections = s.corrections.map(
        (c) =>
          `{"field_path":${JSON.stringify(c.path)},"old_value":${v(c.old)},"new_value":${v(c.new)},` +
          `"corrected_by":"r","reason":${JSON.stringify(c.reason)},"corrected_at":"${c.at}"}`
      )
      return (
        `{"job_id":"${s.id}","filename":"${s.filename}","source_kind":"pdf","approved":false,"reviewed_by":null,` +
        `"reviewed_at":null,"created_at":"${s.createdAt}","initial_result":${v(s.initial)},` +
        `"final_result":${v(s.final)},"corrections":[${corrections.join(",")}],"review_flags":[],"confidence":null}\n`
      )
    }
  }
}

const id = (depth: number, n: number) =>
  `d0000000-0000-4000-8000-${String(depth).padStart(6, "0")}${String(n).padStart(6, "0")}`

/** A day of its own for each depth and test, so that each export window holds only its jobs. */
const day = (depth: number, test: number) =>
  new Date(Date.UTC(2025, 6, 1) + (depth * 10 + test) * 86_400_000).toISOString().slice(0, 10)

const next = (date: string) => new Date(Date.parse(date) + 86_400_000).toISOString().slice(0, 10)

for (const target of TestDatabase.targets()) {
  // PGlite cannot take 14,000 levels (see above): the embedded database is tested at what it stores.
  const depths = target.name === "postgres" ? [5_000, 14_000] : [5_000]
  layer(Layer.mergeAll(Review.Review.Default, Export.Export.Default).pipe(Layer.provideMerge(target.layer)), {
    timeout: 240_000,
    excludeTestServices: true
  })(`deep values on ${target.name}`, (it) => {
    for (const depth of depths) {
      it.effect(`${depth} levels written by SQL export byte for byte in every format`, () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const date = day(depth, 0)
          const at = (s: number) => `${date}T00:00:0${s}Z`
          // A job without events: its result goes from jsonb text to canonical bytes directly.
          const plain: Expected = {
            id: id(depth, 1),
            filename: "plain.pdf",
            createdAt: at(0),
            initial: canonical(depth, '"leaf"'),
            final: canonical(depth, '"leaf"'),
            corrections: []
          }
          // A job whose trail replays through deep values: the innermost leaf replaced, then the
          // whole result replaced by bare arrays as deep.
          const replayed: Expected = {
            id: id(depth, 2),
            filename: "replayed.pdf",
            createdAt: at(1),
            initial: canonical(depth, '"leaf"'),
            final: arrays(depth, "null"),
            corrections: [
              { path: leafPath(depth), old: '"leaf"', new: "1.50", reason: null, at: at(2) },
              {
                path: "",
                old: canonical(depth, "1.50"),
                new: arrays(depth, "null"),
                reason: "deep",
                at: at(3)
              }
            ]
          }
          yield* sql`
            INSERT INTO jobs (id, filename, source_kind, status, result, created_at) VALUES
              (${plain.id}::uuid, 'plain.pdf', 'pdf', 'done', ${pg(depth, '"leaf"')}::jsonb, ${at(0)}::timestamptz),
              (${replayed.id}::uuid, 'replayed.pdf', 'pdf', 'done', ${arrays(depth, "null")}::jsonb, ${at(1)}::timestamptz)`
          yield* sql`
            INSERT INTO job_corrections (job_id, field_path, old_value, new_value, corrected_by, reason, corrected_at) VALUES
              (${replayed.id}::uuid, ${leafPath(depth)}, '"leaf"', '1.50', 'r', NULL, ${at(2)}::timestamptz),
              (${replayed.id}::uuid, '', ${pg(depth, "1.50")}::jsonb, ${arrays(depth, "null")}::jsonb, 'r', 'deep',
               ${at(3)}::timestamptz)`
          for (const format of Format.formats) {
            const body = yield* exported(date, next(date), format)
            // Compared as text, not with a deep equality that would itself recurse.
            expect(body === render(plain, format) + render(replayed, format), format).toBe(true)
          }
        })
      )

      it.effect(`${depth} levels: Review.correct records, shows and exports them`, () =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const review = yield* Review.Review
          const date = day(depth, 1)
          const job = id(depth, 3)
          yield* sql`
            INSERT INTO jobs (id, filename, source_kind, status, result, created_at)
            VALUES (${job}::uuid, 'reviewed.pdf', 'pdf', 'done', NULL, ${`${date}T00:00:00Z`}::timestamptz)`
          const first = yield* review.correct(job, "", value(rooted.pg(depth, "2")), "r", null)
          expect(Json.stringify(first.newValue!) === rooted.canonical(depth, "2")).toBe(true)
          const second = yield* review.correct(job, rooted.leafPath(depth), value("1.50"), "r", "deep")
          expect([Json.stringify(second.oldValue!), Json.stringify(second.newValue!)]).toEqual(["2", "1.50"])
          const view = yield* review.job(job)
          expect(
            view.result !== undefined && Json.stringify(view.result) === rooted.canonical(depth, "1.50")
          ).toBe(true)
          const sample: Expected = {
            id: job,
            filename: "reviewed.pdf",
            createdAt: `${date}T00:00:00Z`,
            initial: "null",
            final: rooted.canonical(depth, "1.50"),
            corrections: [
              {
                path: "",
                old: "null",
                new: rooted.canonical(depth, "2"),
                reason: null,
                at: Timestamp.format(first.correctedAt)
              },
              {
                path: rooted.leafPath(depth),
                old: "2",
                new: "1.50",
                reason: "deep",
                at: Timestamp.format(second.correctedAt)
              }
            ]
          }
          for (const format of Format.formats) {
            const body = yield* exported(date, next(date), format)
            expect(body === render(sample, format), format).toBe(true)
          }
        })
      )
    }

    it.effect("a value deeper than the database stores is InvalidValue, and changes nothing", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const review = yield* Review.Review
        const job = id(0, 4)
        yield* sql`
          INSERT INTO jobs (id, filename, source_kind, status, result, created_at)
          VALUES (${job}::uuid, 'shallow.pdf', 'pdf', 'done', '{"a": [1]}', '2025-06-01T00:00:00Z')`
        const state = sql<{ readonly s: string }>`
          SELECT (SELECT result::text FROM jobs WHERE id = ${job}::uuid) ||
                 (SELECT count(*)::text FROM job_corrections WHERE job_id = ${job}::uuid) AS s`
        const [{ s: before }] = yield* state
        // Beyond PostgreSQL's stack (SQLSTATE 54001), and on the embedded database beyond its bound;
        // at the root and below an existing path.
        const tooDeep = [
          // A result is an object (the result schema): at the root, the deep arrays go under a key.
          ["", `{"a": ${arrays(20_000 - 1, "1")}}`],
          ["a[1]", arrays(20_000, "1")],
          ...(target.name === "embedded"
            ? [
                ["", `{"a": ${arrays(Review.EMBEDDED_MAX_DEPTH, "1")}}`],
                ["a[1]", arrays(Review.EMBEDDED_MAX_DEPTH - 1, "1")]
              ]
            : [])
        ]
        for (const [path, text] of tooDeep) {
          const refused = yield* Effect.flip(review.correct(job, path, value(text), "r", null))
          expect(refused).toBeInstanceOf(Review.InvalidValue)
          expect((refused as Review.InvalidValue).field).toBe("new_value")
        }
        const [{ s: after }] = yield* state
        expect(after).toBe(before)
        // The database still answers, and a correction it can store is recorded.
        yield* review.correct(job, "a[1]", value(arrays(100, "2")), "r", null)
        const [{ n }] = yield* sql<{
          readonly n: number
        }>`SELECT count(*)::int AS n FROM job_corrections WHERE job_id = ${job}::uuid`
        expect(n).toBe(1)
      })
    )
  })
}
