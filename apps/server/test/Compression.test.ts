/** Which requests get gzip, and that each batch leaves the compressor whole. */
import * as zlib from "node:zlib"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect } from "effect"
import { acceptsGzip, gzipper } from "../src/Compression.js"

describe("acceptsGzip", () => {
  const cases: ReadonlyArray<readonly [string | undefined, boolean]> = [
    [undefined, false],
    ["", false],
    ["identity", false],
    ["gzip", true],
    ["GZIP", true],
    ["x-gzip", true],
    ["gzip, deflate, br", true],
    ["br;q=1.0, gzip;q=0.8, *;q=0.1", true],
    ["gzip;q=0", false],
    ["gzip; q=0.000", false],
    ["gzip;q=0.5, identity;q=1", false],
    ["gzip;q=1, identity;q=0.5", true],
    ["*", true],
    ["*;q=0", false],
    ["gzip;q=0, *", false],
    ["deflate, br", false],
    ["gzip;q=nonsense", false]
  ]
  for (const [header, expected] of cases) {
    it(`${JSON.stringify(header)} → ${expected}`, () => expect(acceptsGzip(header)).toBe(expected))
  }
})

describe("gzipper", () => {
  it.scoped(
    "each write's output, as it comes, inflates to every batch so far; the end makes a whole gzip file",
    () =>
      Effect.gen(function* () {
        const gzip = yield* gzipper(4)
        const batches = ['{"a":1}\n', '{"b":"é"}\n{"c":3}\n'.repeat(5000), '{"d":4}\n'].map((s) =>
          Chunk.unsafeFromArray([Buffer.from(s.slice(0, 3)), Buffer.from(s.slice(3))])
        )
        const sent: Array<Buffer> = []
        let plain = ""
        for (const batch of batches) {
          sent.push(...Chunk.toReadonlyArray(yield* gzip.write(batch)).map((b) => Buffer.from(b)))
          plain += Chunk.toReadonlyArray(batch)
            .map((b) => b.toString())
            .join("")
          // Without the trailer: what a client can decode while the export is still running.
          const partial = zlib.gunzipSync(Buffer.concat(sent), { finishFlush: zlib.constants.Z_SYNC_FLUSH })
          expect(partial.toString()).toBe(plain)
        }
        sent.push(...Chunk.toReadonlyArray(yield* gzip.end).map((b) => Buffer.from(b)))
        expect(zlib.gunzipSync(Buffer.concat(sent)).toString()).toBe(plain)
      })
  )
})
