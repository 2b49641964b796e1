import * as zlib from "node:zlib"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { parquetMetadata, parquetReadObjects } from "hyparquet"
import { type Format, Parquet } from "../src/index.js"

// Written by hand in the shape of contract §5 as `hf` writes it, not produced by the code under test.
const hfLines = [
  '{"job_id":"c5da6747-1111-4222-8333-944455556666","filename":"sprint-042.pdf","source_kind":"pdf",' +
    '"approved":true,"reviewed_by":"reviewer-a","reviewed_at":"2025-06-01T10:15:00Z",' +
    '"created_at":"2025-05-28T08:02:17.000123Z","initial_result":"{\\"personel\\":[{\\"nrp\\":\\"08002851\\"}]}",' +
    '"final_result":"{\\"personel\\":[{\\"nrp\\":\\"08002852\\"}]}","corrections":[{"field_path":"personel[0].nrp",' +
    '"old_value":"\\"08002851\\"","new_value":"\\"08002852\\"","corrected_by":"reviewer-a","reason":null,' +
    '"corrected_at":"2025-05-30T14:00:00.5Z"}],"review_flags":["llm_fallback",null],"confidence":0.78}\n',
  '{"job_id":"00000000-1111-4222-8333-944455556666","filename":"scan.jpg","source_kind":"image",' +
    '"approved":false,"reviewed_by":null,"reviewed_at":null,"created_at":"2025-05-29T00:00:00Z",' +
    '"initial_result":null,"final_result":null,"corrections":[],"review_flags":[],"confidence":null}\n'
]

const bytesOf = (text: string) => new TextEncoder().encode(text)

/** The Parquet bytes of `text` fed in pieces of `size` bytes. */
const encoded = (format: Format.Format, text: string, size: number) => {
  const all = bytesOf(text)
  const pieces: Array<Uint8Array> = []
  for (let i = 0; i < all.length; i += size) pieces.push(all.subarray(i, i + size))
  return Effect.map(Stream.runCollect(Parquet.encode(format)(Stream.fromIterable(pieces))), (c) =>
    Buffer.concat(Chunk.toArray(c))
  )
}

/** A file's own bytes as an `ArrayBuffer`, as hyparquet reads them. */
const arrayBuffer = (file: Buffer): ArrayBuffer => new Uint8Array(file).buffer

const read = (file: Buffer) =>
  Effect.promise(() =>
    parquetReadObjects({
      file: arrayBuffer(file),
      compressors: { GZIP: (input: Uint8Array) => new Uint8Array(zlib.gunzipSync(input)) },
      utf8: true
    })
  )

describe("Parquet", () => {
  it.effect("writes the samples with their declared types, whatever the pieces the lines come in", () =>
    Effect.gen(function* () {
      const text = hfLines.join("")
      const whole = yield* encoded("hf", text, text.length)
      for (const size of [1, 7, 100]) expect(yield* encoded("hf", text, size)).toEqual(whole)
      expect(whole.subarray(0, 4).toString()).toBe("PAR1")
      expect(whole.subarray(-4).toString()).toBe("PAR1")
      const meta = parquetMetadata(arrayBuffer(whole))
      expect(meta.created_by).toMatch(/^ground-truth /)
      const times = meta.schema.filter((e) => e.logical_type?.type === "TIMESTAMP").map((e) => e.name)
      expect(times).toEqual(["reviewed_at", "created_at", "corrected_at"])
      for (const e of meta.schema.filter((e) => e.logical_type?.type === "TIMESTAMP")) {
        expect(e.logical_type).toEqual({ type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MICROS" })
      }
      const rows = yield* read(whole)
      expect(rows).toHaveLength(2)
      const [first, second] = rows
      expect(first?.created_at).toEqual(new Date("2025-05-28T08:02:17.000Z"))
      expect(first?.final_result).toBe('{"personel":[{"nrp":"08002852"}]}')
      expect(first?.corrections).toEqual([
        {
          field_path: "personel[0].nrp",
          old_value: '"08002851"',
          new_value: '"08002852"',
          corrected_by: "reviewer-a",
          reason: null,
          corrected_at: new Date("2025-05-30T14:00:00.500Z")
        }
      ])
      expect(first?.review_flags).toEqual(["llm_fallback", null])
      expect(first?.confidence).toBe(0.78)
      expect(second).toMatchObject({ approved: false, reviewed_at: null, corrections: [], confidence: null })
    })
  )

  it.effect("writes the training formats as lists of role and content", () =>
    Effect.gen(function* () {
      const line =
        '{"job_id":"c5da6747-1111-4222-8333-944455556666","messages":[{"role":"system","content":"S"},' +
        '{"role":"user","content":"null"},{"role":"assistant","content":"{\\"a\\":1}"}]}\n'
      const rows = yield* read(yield* encoded("messages", line, 9))
      expect(rows).toEqual([
        {
          job_id: "c5da6747-1111-4222-8333-944455556666",
          messages: [
            { role: "system", content: "S" },
            { role: "user", content: "null" },
            { role: "assistant", content: '{"a":1}' }
          ]
        }
      ])
    })
  )

  it.effect("cuts row groups every ROW_GROUP_ROWS samples", () =>
    Effect.gen(function* () {
      const many = Array.from(
        { length: Parquet.ROW_GROUP_ROWS + 1 },
        (_, i) => `{"job_id":"${i}","prompt":[],"completion":[]}\n`
      ).join("")
      const file = yield* encoded("prompt-completion", many, 4096)
      const meta = parquetMetadata(arrayBuffer(file))
      expect(meta.row_groups.map((g) => Number(g.num_rows))).toEqual([Parquet.ROW_GROUP_ROWS, 1])
    })
  )

  it.effect("an empty export is a Parquet file of no rows", () =>
    Effect.gen(function* () {
      const file = yield* encoded("hf", "", 1)
      expect(file.subarray(0, 4).toString()).toBe("PAR1")
      expect(yield* read(file)).toEqual([])
    })
  )

  it.effect("a line that does not fit its columns fails typed, naming the line", () =>
    Effect.gen(function* () {
      const bad = `${hfLines[1]}{"job_id":7}\n`
      const error = yield* Effect.flip(encoded("hf", bad, 10))
      expect(error._tag).toBe("ParquetError")
      expect(error.message).toContain("line 2: job_id holds number")
      const cut = yield* Effect.flip(encoded("hf", hfLines[1]?.slice(0, -1) ?? "", 10))
      expect(cut.message).toContain("line 1 does not end with a newline")
    })
  )
})
