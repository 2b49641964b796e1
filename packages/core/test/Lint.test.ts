import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import { Export, Filter, Json, Lint, Timestamp } from "../src/index.js"
import type { CorrectionEvent, Job } from "../src/Sample.js"

const j = (text: string): Json.Json => Either.getOrThrow(Json.parse(text))
const t = (text: string) => Either.getOrThrow(Timestamp.parse(text))

const id = (n: number) => `0000000${n}-0000-4000-8000-000000000000`
const event = (n: number, fieldPath: string, oldValue: string, newValue: string): CorrectionEvent => ({
  id: String(n),
  fieldPath,
  oldValue: j(oldValue),
  newValue: j(newValue),
  correctedBy: "reviewer-a",
  reason: null,
  correctedAt: t(`2025-06-0${n}T00:00:00Z`)
})
/** Job `n`, created on day `n` (so export order is `n` order), its final result `result`. */
const job = (n: number, result: string | undefined, events: ReadonlyArray<CorrectionEvent> = []): Job => ({
  id: id(n),
  filename: `${n}.pdf`,
  sourceKind: "pdf",
  approved: true,
  reviewedBy: "reviewer-a",
  reviewedAt: null,
  createdAt: t(`2025-05-0${n}T00:00:00Z`),
  result: result === undefined ? undefined : j(result),
  reviewFlags: [],
  confidence: null,
  events
})
const letter = (nomor: string, personel = "[]", perihal = "Tugas") =>
  `{"header":{"nomor_sprint":${JSON.stringify(nomor)},"perihal":${JSON.stringify(perihal)}},"personel":${personel}}`

const lint = (jobs: ReadonlyArray<Job>, filter: Filter.Filter = Filter.defaults) =>
  Lint.run(filter).pipe(Effect.provide(Export.Export.layerTest(jobs)), Effect.runPromise)

describe("Lint: keys", () => {
  it("names collapse ASCII whitespace and lower-case ASCII letters; NRPs lose their whitespace", () => {
    expect(Lint.nameKey("  BUDI \t SANTOSO ")).toBe("budi santoso")
    expect(Lint.nameKey("ÉDI\u00a0X")).toBe("Édi\u00a0x")
    expect(Lint.nrpKey(" 7706 0001\n")).toBe("77060001")
  })

  it("an NRP is a string of exactly 8 or 18 ASCII digits", () => {
    for (const ok of ['"77060001"', '"198001012005011001"']) expect(Lint.isNrp(j(ok))).toBe(true)
    for (const bad of [
      '"7706001"',
      '"7706 0001"',
      '"770600011"',
      "77060001",
      "null",
      '"٧٧٠٦٠٠٠١"',
      '"77060001\\n"'
    ])
      expect(Lint.isNrp(j(bad)), bad).toBe(false)
  })
})

describe("Lint: the checks", () => {
  it("letter_conflict: copies of one letter spelled apart are one letter; only differing copies conflict", async () => {
    const person = (nama: string) => `[{"nrp":"77060001","nama":"${nama}","pangkat":"BRIPDA"}]`
    const r = await lint([
      job(1, letter("SPRIN/1/V/2025", person("Budi"))),
      job(2, letter("SPRIN/1/V/2025", person("Budi"))), // the same letter, the same answer
      job(3, letter("SPRIN/2/V/2025", person("Budi"))),
      // The same letter spelled apart (its number is part of its result, so that is a difference too),
      // with another perihal.
      job(4, letter("sprin / 2 / v / 2025", person("Budi"), "Lain")),
      job(5, letter("SPRIN/1/V/2025", person("Budi")))
    ])
    expect(r.jobs).toBe(5)
    expect([r.letters, r.letters_with_copies]).toEqual([2, 2])
    expect(r.letter_conflict.count).toBe(1)
    expect(r.letter_conflict.examples.map((e) => ({ ...e }))).toEqual([
      {
        key: "SPRIN/2/V/2025",
        jobs: 2,
        job_ids: [id(3), id(4)],
        fields: ["header.nomor_sprint", "header.perihal"]
      }
    ])
  })

  it("letter_conflict: numbers compare by value and keys unordered (§3); jobs without a number are letters of their own", async () => {
    const r = await lint([
      job(1, '{"header":{"nomor_sprint":"A"},"skor":1.50,"x":{"a":1,"b":2}}'),
      job(2, '{"x":{"b":2,"a":1},"skor":1.5,"header":{"nomor_sprint":"A"}}'),
      job(3, '{"header":{"nomor_sprint":7}}'),
      job(4, '{"header":{}}'),
      job(5, undefined)
    ])
    expect([r.letters, r.letters_with_copies, r.letter_conflict.count]).toEqual([4, 1, 0])
  })

  it("person_conflict: one NRP, two names (as compared), each with its jobs", async () => {
    const r = await lint([
      job(1, letter("A", '[{"nrp":"77060001","nama":"Budi Santoso"},{"nrp":"88010002","nama":"Ani"}]')),
      job(2, letter("B", '[{"nrp":"7706 0001","nama":"  budi   santoso"},{"nrp":"88010002","nama":"Ani"}]')),
      job(3, letter("C", '[{"nrp":"77060001","nama":"Budi Susanto"},{"nrp":"88010002","nama":null}]')),
      // Blank is no one: neither a blank NRP with two names nor a blank name is a conflict.
      job(
        4,
        letter("D", '[{"nrp":" ","nama":"Ani"},{"nrp":"","nama":"Budi"},{"nrp":"77060001","nama":" \\t"}]')
      )
    ])
    expect(r.person_conflict.count).toBe(1)
    expect(JSON.parse(Lint.encode(r)).person_conflict.examples).toEqual([
      {
        nrp: "77060001",
        name_count: 2,
        names: [
          { name: "budi santoso", jobs: 2, job_ids: [id(1), id(2)] },
          { name: "budi susanto", jobs: 1, job_ids: [id(3)] }
        ]
      }
    ])
  })

  it("reverted: a path corrected twice back to where the pipeline started, however it is spelled", async () => {
    const r = await lint([
      // perihal: A → B → A; the pipeline said A, so it ended where it started.
      job(1, letter("A", "[]", "A"), [
        event(1, "header.perihal", '"A"', '"B"'),
        event(2, 'header["perihal"]', '"B"', '"A"')
      ]),
      // corrected twice but moved on: A → B → C.
      job(2, letter("B", "[]", "C"), [
        event(1, "header.perihal", '"A"', '"B"'),
        event(2, "header.perihal", '"B"', '"C"')
      ]),
      // corrected once.
      job(3, letter("C", "[]", "B"), [event(1, "header.perihal", '"A"', '"B"')])
    ])
    expect(r.reverted.count).toBe(1)
    expect(r.reverted.examples.map((e) => ({ ...e }))).toEqual([
      { job_id: id(1), field_path: "header.perihal", events: 2 }
    ])
  })

  it("nrp_format: each malformed NRP value, null included, as JSON text", async () => {
    const r = await lint([
      job(1, letter("A", '[{"nrp":"77060001"},{"nrp":"7706 0001"},{"nrp":null},{"nama":"x"}]')),
      job(2, letter("B", '[{"nrp":77060001},{"nrp":"198001012005011001"}]'))
    ])
    expect(r.nrp_format.count).toBe(3)
    expect(r.nrp_format.examples.map((e) => [e.job_id, e.field_path, e.value])).toEqual([
      [id(1), "personel[1].nrp", '"7706 0001"'],
      [id(1), "personel[2].nrp", "null"],
      [id(2), "personel[0].nrp", "77060001"]
    ])
  })

  it("a clean corpus finds nothing; the filter chooses the jobs", async () => {
    const jobs = [
      job(1, letter("A", '[{"nrp":"77060001","nama":"Budi"}]')),
      { ...job(2, letter("A", '[{"nrp":"77060001","nama":"Ani"}]')), approved: false }
    ]
    const clean = await lint(jobs)
    expect([clean.jobs, Lint.found(clean)]).toEqual([1, false])
    const all = await lint(jobs, { ...Filter.defaults, approvedOnly: false })
    expect([all.jobs, all.letter_conflict.count, all.person_conflict.count, Lint.found(all)]).toEqual([
      2,
      1,
      1,
      true
    ])
    expect(Option.isNone(Filter.defaults.split)).toBe(true)
  })

  it("a letter of many jobs: its count, its first 20 ids, the paths at which its answers part", async () => {
    const numbered = (n: number, result: string) => ({
      ...job(1, result),
      id: `${String(n).padStart(8, "0")}-0000-4000-8000-000000000000`
    })
    const jobs = [
      ...Array.from({ length: 30 }, (_, n) =>
        numbered(n, '{"header":{"nomor_sprint":"-"},"personel":[{"nama":"A"}]}')
      ),
      // Another answer: a row more, and a name that differs.
      numbered(30, '{"header":{"nomor_sprint":"-"},"personel":[{"nama":"B"},{"nama":"C","nrp":"1"}]}')
    ]
    const r = await lint(jobs)
    expect([r.letters, r.letters_with_copies, r.letter_conflict.count]).toEqual([1, 1, 1])
    const [example] = r.letter_conflict.examples
    expect([example.jobs, example.job_ids]).toEqual([31, jobs.slice(0, 20).map((j) => j.id)])
    expect(example.fields).toEqual(["personel[0].nama", "personel[1]"])
  })

  it("a name of many jobs: its count and its first 20 ids", async () => {
    const jobs = Array.from({ length: 26 }, (_, n) => ({
      ...job(1, letter(`L${n}`, `[{"nrp":"77060001","nama":"${n < 25 ? "A" : "B"}"}]`)),
      id: `${String(n).padStart(8, "0")}-0000-4000-8000-000000000000`
    }))
    const [example] = (await lint(jobs)).person_conflict.examples
    expect(example.names.map((n) => [n.name, n.jobs, n.job_ids])).toEqual([
      ["a", 25, jobs.slice(0, 20).map((j) => j.id)],
      ["b", 1, [jobs[25].id]]
    ])
  })

  it("an NRP of many names: their count and the first 20, by their first job", async () => {
    const jobs = Array.from({ length: 25 }, (_, n) => ({
      ...job(1, letter(`L${n}`, `[{"nrp":"00000000","nama":"Nama ${String(n).padStart(2, "0")}"}]`)),
      id: `${String(n).padStart(8, "0")}-0000-4000-8000-000000000000`
    }))
    const [example] = (await lint(jobs)).person_conflict.examples
    expect(example.name_count).toBe(25)
    expect(example.names.map((n) => n.name)).toEqual(
      Array.from({ length: 20 }, (_, n) => `nama ${String(n).padStart(2, "0")}`)
    )
  })

  it("the paths at which two answers part stop at 20, however deep and wide the results", async () => {
    const deep = (leaf: number) =>
      `{"header":{"nomor_sprint":"A"},"v":${"[".repeat(3000)}${Array.from({ length: 50 }, () => leaf).join(",")}${"]".repeat(3000)}}`
    const r = await lint([job(1, deep(1)), job(2, deep(2))])
    const [example] = r.letter_conflict.examples
    expect(example.fields).toHaveLength(20)
    expect(example.fields[0]).toBe(`v${"[0]".repeat(3000)}`)
    expect(example.fields[19]).toBe(`v${"[0]".repeat(2999)}[19]`)
  })

  it("quotes at most 20 examples, in export order, and counts them all", async () => {
    const jobs = Array.from({ length: 25 }, (_, i) => job(1, letter(`L${i}`, `[{"nrp":"${i}"}]`))).map(
      (job, i) => ({ ...job, id: `${String(i).padStart(8, "0")}-0000-4000-8000-000000000000` })
    )
    const r = await lint(jobs)
    expect(r.nrp_format.count).toBe(25)
    expect(r.nrp_format.examples.map((e) => e.job_id)).toEqual(jobs.slice(0, 20).map((job) => job.id))
  })
})
