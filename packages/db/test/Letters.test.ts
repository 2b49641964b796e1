/**
 * Leakage-safe splits (contract §13) on every test database, for random corpora: copies of a letter
 * spelled apart (ASCII whitespace, case) beside numbers that a looser folding would merge or part
 * (non-ASCII letters, nothing left after normalizing, not a string, no header, no result). By letter, no
 * letter spans two splits, and each job is where the documented formula puts its key: in a split's
 * export, in a dataset's files, sharded or not (cut by SQL's count of each split), and in SQL's count of
 * a split (an increment's `corpus_rows`). By job, every job is where it was before letters.
 */
import { createHash } from "node:crypto"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Export, Filter, Split } from "@ground-truth/core"
import { Chunk, Effect, FastCheck as fc, Layer, Stream } from "effect"
import { TestDatabase } from "../src/index.js"

const SPACES = [" ", "\t", "\n", "\v", "\f", "\r"]

/** A number spelled with its ASCII letters' case flipped at random and ASCII whitespace put in. */
const spelled = fc
  .tuple(
    fc.constantFrom("Sprin/1/I/2025", "Sprin/2/II/2025", "SPRIN/3/iii/2025", "Sprin/4/IV/2025"),
    fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
    fc.array(fc.tuple(fc.nat(16), fc.constantFrom(...SPACES)), { maxLength: 4 })
  )
  .map(([base, flips, spaces]) => {
    let s = [...base].map((c, i) =>
      flips[i] ? (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) : c
    )
    for (const [at, space] of spaces) s = [...s.slice(0, at), space, ...s.slice(at)]
    return s.join("")
  })

/** Numbers only ASCII folding keeps apart (é/É, ß, dotless ı, ǆ, full-width a), or that give no key. */
const odd = fc.constantFrom<unknown>(
  "é/1",
  "É/1",
  "ß/1",
  "SS/1",
  "ı/1",
  "I/1",
  "ǆ/1",
  "ａ/1",
  "Ａ/1",
  " \t\v\f",
  "",
  12,
  null,
  {
    n: 1
  }
)

/** A job's result: SQL NULL (`undefined`), or JSON with or without a header and a number in it. */
const result = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.oneof(spelled, odd).map((n) => ({ header: { nomor_sprint: n }, personel: [] }))
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(undefined, null, [1], { header: "Sprin/1/I/2025" }, { personel: [] })
  }
)

const corpus = fc.uniqueArray(fc.record({ id: fc.uuid(), result }), {
  minLength: 12,
  maxLength: 40,
  selector: (j) => j.id.toLowerCase()
})

const splitting = fc.record({
  ratios: fc.constantFrom<readonly [number, number, number]>(
    [80, 10, 10],
    [50, 25, 25],
    [1, 1, 1],
    [0, 3, 1]
  ),
  seed: fc.constantFrom("", "sprin-2025", "é 😀")
})

/** The letter key as docs/formats.md spells it, written here apart from the product's. */
const expectedKey = (id: string, r: unknown): string => {
  const header =
    typeof r === "object" && r !== null && !Array.isArray(r) ? (r as { header?: unknown }).header : undefined
  const n =
    typeof header === "object" && header !== null && !Array.isArray(header)
      ? (header as { nomor_sprint?: unknown }).nomor_sprint
      : undefined
  if (typeof n === "string") {
    const k = [...n]
      .filter((c) => !SPACES.includes(c))
      .map((c) => (c >= "a" && c <= "z" ? String.fromCharCode(c.charCodeAt(0) - 32) : c))
      .join("")
    if (k !== "") return k
  }
  return id.toLowerCase()
}

/** The split of a hashed text, by the formula of docs/formats.md (before letters, the text was the job id). */
const expectedSplit = (
  text: string,
  [a, b, c]: readonly [number, number, number],
  seed: string
): Split.Name => {
  const h = Number.parseInt(
    createHash("sha256")
      .update(seed === "" ? text : `${seed}:${text}`)
      .digest("hex")
      .slice(0, 8),
    16
  )
  if (h * (a + b + c) < a * 2 ** 32) return "train"
  if (h * (a + b + c) < (a + b) * 2 ** 32) return "validation"
  return "test"
}

const idsOf = (body: string): Array<string> =>
  body === ""
    ? []
    : body
        .slice(0, -1)
        .split("\n")
        .map((l) => JSON.parse(l).job_id as string)

for (const target of TestDatabase.targets()) {
  layer(Layer.merge(target.layer, Export.Export.Default.pipe(Layer.provide(target.layer))), {
    timeout: 600_000,
    excludeTestServices: true
  })(`letters on ${target.name}`, (it) => {
    it.effect.prop(
      "no letter spans two splits, in exports, datasets and SQL's counts; by job, the assignment before letters",
      [corpus, splitting],
      ([jobs, { ratios, seed }]) =>
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const exporter = yield* Export.Export
          yield* sql`DELETE FROM jobs`
          for (const [i, job] of jobs.entries()) {
            yield* sql`
              INSERT INTO jobs (id, filename, source_kind, status, result, created_at)
              VALUES (${job.id}::uuid, 'sprin.pdf', 'pdf', 'done',
                      ${job.result === undefined ? null : JSON.stringify(job.result)}::jsonb,
                      ${new Date(Date.UTC(2025, 5, 1) + i * 60_000).toISOString()}::timestamptz)`
          }
          const body = (stream: Stream.Stream<Uint8Array, unknown>) =>
            Stream.runFold(stream, "", (s, b) => s + Buffer.from(b).toString("utf8"))
          // A cursor, then a change: each split's increment counts its full export in SQL.
          const base = yield* exporter.withManifest(yield* Filter.parse([["approved_only", "false"]]))
          yield* body(base.stream)
          const cursor = (yield* base.manifest).cursor
          yield* sql`UPDATE jobs SET status = status WHERE id = ${jobs[0].id}::uuid`

          for (const by of Split.By.literals) {
            const expected = new Map(
              jobs.map((j) => [
                j.id.toLowerCase(),
                expectedSplit(
                  by === "letter" ? expectedKey(j.id, j.result) : j.id.toLowerCase(),
                  ratios,
                  seed
                )
              ])
            )
            const params = (name: Split.Name) =>
              [
                ["approved_only", "false"],
                ["split", name],
                ["split_by", by],
                ["split_ratios", ratios.join(",")],
                ["split_seed", seed]
              ] as const
            const exported = new Map<string, Split.Name>()
            for (const name of Split.Name.literals) {
              const full = yield* exporter.withManifest(yield* Filter.parse(params(name)))
              const ids = idsOf(yield* body(full.stream))
              for (const id of ids) {
                expect(exported.has(id), `${id} in two splits`).toBe(false)
                exported.set(id, name)
              }
              const increment = yield* exporter.withManifest(
                yield* Filter.parse([...params(name), ["changed_since", cursor]])
              )
              yield* body(increment.stream)
              expect((yield* increment.manifest).corpus_rows, `${by} ${name}`).toBe(ids.length)
            }
            // Every job in the split the formula gives its key: a letter's copies in one.
            expect(exported).toEqual(expected)
            if (by === "letter") {
              const letters = new Map<string, Set<Split.Name>>()
              for (const j of jobs) {
                const key = expectedKey(j.id, j.result)
                letters.set(key, (letters.get(key) ?? new Set()).add(exported.get(j.id.toLowerCase())!))
              }
              for (const [key, splits] of letters) expect(splits.size, key).toBe(1)
            }
            // A dataset's files, whole and cut into two shards a split (by SQL's count of each split).
            const filter = yield* Filter.parse([["approved_only", "false"]])
            for (const shards of [undefined, 2]) {
              const { stream } = yield* exporter.dataset(filter, { by, ratios, seed }, shards)
              const parts = Chunk.toReadonlyArray(yield* Stream.runCollect(stream))
              const inFiles = new Map<string, Split.Name>()
              for (const part of parts) {
                for (const id of idsOf(Buffer.from(part.bytes).toString("utf8"))) inFiles.set(id, part.split)
              }
              expect(inFiles, `${by} dataset, ${shards ?? 1} shard(s)`).toEqual(expected)
              if (shards !== undefined) {
                for (const name of Split.Name.literals) {
                  const rows = [0, 1].map(
                    (shard) =>
                      parts
                        .filter((p) => p.split === name && p.shard === shard)
                        .flatMap((p) => idsOf(Buffer.from(p.bytes).toString("utf8"))).length
                  )
                  expect(Math.abs(rows[0] - rows[1]), `${by} ${name} shards ${rows}`).toBeLessThanOrEqual(1)
                }
              }
            }
          }
        }),
      { timeout: 600_000, fastCheck: { numRuns: target.name === "embedded" ? 8 : 12 } }
    )
  })
}
