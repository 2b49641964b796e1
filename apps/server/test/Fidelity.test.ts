/**
 * Data fidelity over HTTP: generated jobs full of values a lossy path would damage go into the database
 * in random JSON and SQL spellings; the body must hold exactly the lines the contract gives for them
 * (built independently, in `@ground-truth/golden`'s `Fidelity`).
 */
import { expect, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Fidelity } from "@ground-truth/golden"
import { Effect, Layer } from "effect"
import { baseUrl, bytes, get, serve } from "./server.js"

const data = Fidelity.make(300, 2026)
const expected = Buffer.from(data.lines.join(""))

for (const target of TestDatabase.targets()) {
  layer(serve(Layer.effectDiscard(Fidelity.load(data)).pipe(Layer.provideMerge(target.layer))), {
    timeout: 120_000
  })(`data fidelity over HTTP on ${target.name}`, (it) => {
    it.effect("every value survives byte for byte to the body", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const response = yield* get(`${base}/api/v1/ground-truth/export?approved_only=false`)
        expect(response.status).toBe(200)
        const body = yield* bytes(response)
        // Line by line first, for a readable failure; then the whole bytes.
        expect(body.toString("utf8").split(/(?<=\n)/)).toEqual(data.lines)
        expect(body.equals(expected)).toBe(true)
        console.log(`${target.name}, HTTP body: ${Fidelity.summary(data.lines)}, byte for byte`)
        // The letters' texts, as a last column.
        const texts = yield* bytes(
          yield* get(`${base}/api/v1/ground-truth/export?approved_only=false&input=text`)
        )
        expect(texts.toString("utf8").split(/(?<=\n)/)).toEqual(data.textLines)
        expect(texts.equals(Buffer.from(data.textLines.join("")))).toBe(true)
      })
    )
  })
}
