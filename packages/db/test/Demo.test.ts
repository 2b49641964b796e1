import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import type { Sample } from "@ground-truth/core"
import { Export, Filter, Json, Replay, Stats } from "@ground-truth/core"
import { Effect, Either, Layer, Stream } from "effect"
import { Demo, TestDatabase } from "../src/index.js"

const micros = (us: number) => ({ seconds: Math.floor(us / 1e6), micros: us % 1e6 })

/** A demo job as core's in-memory job, for the reference export. */
const toJob = (j: Demo.DemoJob): Sample.Job => ({
  id: j.id,
  filename: j.filename,
  sourceKind: j.sourceKind,
  approved: j.approved,
  reviewedBy: j.reviewedBy,
  reviewedAt: j.reviewedAt === null ? null : micros(j.reviewedAt),
  createdAt: micros(j.createdAt),
  result: j.result,
  reviewFlags: j.reviewFlags,
  confidence: j.confidence,
  satuan: j.satuan,
  events: j.events.map((e, i) => ({
    id: String(i + 1),
    fieldPath: e.fieldPath,
    oldValue: e.oldValue,
    newValue: e.newValue,
    correctedBy: e.correctedBy,
    reason: e.reason,
    correctedAt: micros(e.correctedAt)
  }))
})

const generate = (count: number, seed: number) =>
  Array.from({ length: count }, (_, i) => Either.getOrThrow(Demo.job(seed, i)))

describe("demo jobs", () => {
  const jobs = generate(5000, 7)

  it("have audit trails that replay and re-apply to their results", () => {
    for (const j of jobs) {
      const job = toJob(j)
      const initial = Replay.undo(job.id, job.result, job.events)
      expect(Either.isRight(initial)).toBe(true)
      if (Either.isLeft(initial)) return
      expect(Replay.redo(job.id, initial.right, job.events)).toEqual(Either.right(job.result))
      if (job.events.length > 0) expect(initial.right).not.toEqual(job.result)
    }
  })

  it("look like the HITL corpus: ~70% approved, ~half corrected, a few hard-failed", () => {
    const share = (f: (j: Demo.DemoJob) => boolean) => jobs.filter(f).length / jobs.length
    expect(share((j) => j.approved)).toBeGreaterThan(0.66)
    expect(share((j) => j.approved)).toBeLessThan(0.74)
    expect(share((j) => j.events.length > 0)).toBeGreaterThan(0.4)
    expect(share((j) => j.events.length > 0)).toBeLessThan(0.55)
    expect(share((j) => j.result === undefined)).toBeGreaterThan(0.005)
    expect(share((j) => j.result === undefined)).toBeLessThan(0.03)
    expect(new Set(jobs.map((j) => j.id)).size).toBe(jobs.length)
    for (const j of jobs.slice(0, 200)) {
      if (j.result === undefined || !(j.result instanceof Map)) continue
      const personel = j.result.get("personel") as ReadonlyArray<ReadonlyMap<string, unknown>>
      expect(personel.length).toBeGreaterThanOrEqual(1)
      expect(personel.length).toBeLessThanOrEqual(9)
      for (const p of personel) if (p.get("pangkat") !== "PANGKAT") expect(p.get("nrp")).toMatch(/^\d{8}$|O/)
    }
  })

  it("hold a few letters scanned twice, each number otherwise its own letter's", () => {
    const byNumber = new Map<string, Array<Demo.DemoJob>>()
    for (const j of jobs) {
      if (!(j.result instanceof Map)) continue
      const nomor = (j.result.get("header") as ReadonlyMap<string, unknown>).get("nomor_sprint")
      // An unreviewed job may still hold the pipeline's misread number.
      if (!j.approved || typeof nomor !== "string") continue
      byNumber.set(nomor, [...(byNumber.get(nomor) ?? []), j])
    }
    const copies = [...byNumber.values()].filter((js) => js.length > 1)
    expect(copies.length).toBeGreaterThan(10)
    expect(copies.length).toBeLessThan(jobs.length * 0.02)
    for (const js of copies) {
      // Reviewed twice, the same letter: every approval agrees, the same unit, a day or more apart.
      for (const j of js.slice(1)) {
        expect(Json.equals(j.result!, js[0].result!)).toBe(true)
        expect(j.createdAt).not.toBe(js[0].createdAt)
      }
      expect(new Set(js.map((j) => j.satuan).filter((s) => s !== null)).size).toBeLessThanOrEqual(1)
    }
  })

  it("have a confidence that predicts the pipeline's mistakes", () => {
    // An approved job was wrong exactly when its reviewer had something to correct.
    const scored = jobs.filter((j) => j.approved && j.confidence !== null)
    const errorRate = (from: number, to: number) => {
      const inBin = scored.filter((j) => j.confidence! >= from && j.confidence! < to)
      return inBin.filter((j) => j.events.length > 0).length / inBin.length
    }
    const rates = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map((from) => errorRate(from, from + 0.1 + 1e-9))
    for (let i = 1; i < rates.length; i++) expect(rates[i]).toBeLessThan(rates[i - 1])
    expect(rates[0]).toBeGreaterThan(0.8)
    expect(rates[6]).toBeLessThan(0.03)
    // Yet not a perfect signal: some confident readings are wrong, some doubtful ones right.
    expect(scored.some((j) => j.confidence! >= 0.9 && j.events.length > 0)).toBe(true)
    expect(scored.some((j) => j.confidence! < 0.5 && j.events.length === 0)).toBe(true)
  })

  it("are reproducible for a seed and differ between seeds", () => {
    expect(generate(50, 7)).toEqual(jobs.slice(0, 50))
    expect(generate(50, 8).map((j) => j.id)).not.toEqual(jobs.slice(0, 50).map((j) => j.id))
  })
})

const collect = <E, R>(stream: Stream.Stream<Uint8Array, E, R>) =>
  Stream.runFold(stream, "", (s, b) => s + Buffer.from(b).toString("utf8"))

describe("seeded into a database", () => {
  for (const target of TestDatabase.targets()) {
    const services = Layer.mergeAll(Export.Export.Default, Stats.Stats.Default).pipe(
      Layer.provideMerge(target.layer)
    )
    layer(services, { timeout: 120_000 })(target.name, (it) => {
      it.effect("export exactly what the in-memory reference exports, for every filter", () =>
        Effect.gen(function* () {
          const count = 1500
          const seeded = yield* Demo.seed({ jobs: count, seed: 3, batchSize: 400 })
          expect(seeded.jobs).toBe(count)
          const reference = generate(count, 3).map(toJob)
          expect(seeded.events).toBe(reference.reduce((n, j) => n + j.events.length, 0))
          const live = yield* Export.Export
          const expected = yield* Export.Export.pipe(Effect.provide(Export.Export.layerTest(reference)))
          const filters = [
            [],
            [["approved_only", "false"]],
            [["has_corrections", "true"]],
            [
              ["approved_only", "0"],
              ["has_corrections", "0"]
            ],
            [
              ["since", "2025-02-01"],
              ["until", "2025-04-15T12:00:00.5Z"]
            ]
          ] as const
          for (const params of filters) {
            const filter = yield* Filter.parse(params)
            const actual = yield* collect(live.stream(filter))
            expect(actual.length).toBeGreaterThan(0)
            expect(actual).toBe(yield* collect(expected.stream(filter)))
          }
          const stats = yield* Stats.Stats
          const window = yield* Filter.parse([["since", "2025-03-01"]], { accept: Filter.statsParameters })
          expect(yield* stats.get(window)).toEqual(Stats.fromJobs(reference, window))
          // A second seed continues after the jobs already there.
          const sql = yield* SqlClient.SqlClient
          yield* Demo.seed({ jobs: 10, seed: 3, from: count })
          const [{ n }] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM jobs`
          expect(n).toBe(count + 10)
        })
      )
    })
  }
})
