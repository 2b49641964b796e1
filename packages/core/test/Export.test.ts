import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Option, Stream } from "effect"
import { Export, Filter, Json, Jsonl, Manifest, Replay, Timestamp } from "../src/index.js"
import type { Job } from "../src/Sample.js"

const j = (text: string): Json.Json => Either.getOrThrow(Json.parse(text))
const t = (text: string) => Either.getOrThrow(Timestamp.parse(text))

const job = (id: string, created: string, events: Job["events"] = []): Job => ({
  id,
  filename: `${id}.pdf`,
  sourceKind: "pdf",
  approved: true,
  reviewedBy: "reviewer-a",
  reviewedAt: null,
  createdAt: t(created),
  result: j('{"n":2}'),
  reviewFlags: [],
  confidence: 0.5,
  events
})

const jobs = [
  job("c5da6747-0000-4000-8000-000000000002", "2025-06-02T00:00:00Z"),
  job("c5da6747-0000-4000-8000-000000000001", "2025-06-01T00:00:00Z", [
    {
      id: "1",
      fieldPath: "n",
      oldValue: j("1"),
      newValue: j("2"),
      correctedBy: "reviewer-a",
      reason: null,
      correctedAt: t("2025-06-03T00:00:00Z")
    }
  ])
]

/** The lines of the reference, built from the pure functions. */
const expected = [...jobs]
  .sort((a, b) => Timestamp.Order(a.createdAt, b.createdAt))
  .map((job) => Jsonl.line(Either.getOrThrow(Replay.sample(job))))
  .join("")

const text = (chunks: Chunk.Chunk<Uint8Array>) =>
  Chunk.toReadonlyArray(chunks)
    .map((b) => Buffer.from(b).toString("utf8"))
    .join("")

const run = <A, E>(effect: Effect.Effect<A, E, Export.Export>) =>
  effect.pipe(Effect.provide(Export.Export.layerTest(jobs)), Effect.runPromise)

describe("Export (in memory)", () => {
  it("streams the corpus", async () => {
    const bytes = await run(
      Effect.flatMap(Export.Export, (e) => Stream.runCollect(e.stream(Filter.defaults)))
    )
    expect(text(bytes)).toBe(expected)
  })

  it("withSnapshot: taken is none before the stream runs, its snapshot after", async () => {
    const { before, after, bytes } = await run(
      Effect.gen(function* () {
        const exporter = yield* Export.Export
        const { stream, taken } = yield* exporter.withSnapshot(Filter.defaults)
        const before = yield* taken
        const bytes = yield* Stream.runCollect(stream)
        return { before, after: yield* taken, bytes }
      })
    )
    expect(before).toEqual(Option.none())
    expect(Option.isSome(after) && after.value.cursor).toMatch(/^gt2\./)
    expect(text(bytes)).toBe(expected)
  })

  it("withManifest: the manifest describes the bytes and names the snapshot taken", async () => {
    const { manifest, taken, bytes } = await run(
      Effect.gen(function* () {
        const exporter = yield* Export.Export
        const body = yield* exporter.withManifest(Filter.defaults)
        const bytes = yield* Stream.runCollect(body.stream)
        return { bytes, manifest: yield* body.manifest, taken: yield* body.taken }
      })
    )
    expect(text(bytes)).toBe(expected)
    expect(manifest.rows).toBe(2)
    expect(manifest.bytes).toBe(Buffer.byteLength(expected))
    const snapshot = Option.getOrThrow(taken)
    expect(manifest.cursor).toBe(snapshot.cursor)
    expect(manifest.snapshot_time).toBe(Timestamp.format(snapshot.time))
    expect(Manifest.encode(manifest).endsWith("\n")).toBe(true)
  })

  it("withManifest: taken is none until the stream has run", async () => {
    const taken = await run(
      Effect.gen(function* () {
        const exporter = yield* Export.Export
        const body = yield* exporter.withManifest(Filter.defaults)
        return yield* body.taken
      })
    )
    expect(taken).toEqual(Option.none())
  })
})

describe("Jsonl.countLines", () => {
  it.each([
    ["", 0],
    ["no newline", 0],
    ["\n", 1],
    ['{"a":1}\n{"b":2}\n', 2],
    ["\n\n\nx", 3]
  ])("counts the newlines of %j", (s, n) => {
    expect(Jsonl.countLines(Buffer.from(s, "utf8"))).toBe(n)
  })
})
