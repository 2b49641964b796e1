/**
 * Lint over HTTP (contract §13) on the lint fixture, on every test database: each case's body is its
 * hand-written report byte for byte (the CLI's test prints the same bytes), 200 whatever it finds; a
 * parameter lint does not take is a 400 naming it. Stats count the fixture's letters as lint does.
 */
import { expect, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Effect, Layer } from "effect"
import { baseUrl, bytes, type ErrorBody, get, json, serve } from "./server.js"

for (const target of TestDatabase.targets()) {
  layer(serve(Layer.effectDiscard(Golden.loadLint).pipe(Layer.provideMerge(target.layer))), {
    timeout: 120_000
  })(`HTTP lint on ${target.name}`, (it) => {
    for (const c of Golden.lintCases) {
      it.effect(`lint ${c.name}`, () =>
        Effect.gen(function* () {
          const base = yield* baseUrl
          const response = yield* get(`${base}/api/v1/ground-truth/lint?${Golden.query(c.params)}`)
          expect(response.status).toBe(200)
          expect(response.headers.get("content-type")).toBe("application/json")
          const body = yield* bytes(response)
          expect(body.toString("utf8")).toBe(Golden.expectedLint(c).toString("utf8"))
        })
      )
    }
    it.effect("stats count the letters of every job as lint over all jobs does", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const stats = (yield* json(yield* get(`${base}/api/v1/ground-truth/stats`))) as Record<
          string,
          unknown
        >
        const all = Golden.lintCases.find((c) => c.file === "expected-all.json")!
        const lint = JSON.parse(Golden.expectedLint(all).toString("utf8")) as Record<string, unknown>
        // Eight jobs, four letters, two with copies (one spelled with spaces and in lower case).
        expect([stats.total_jobs, stats.letters, stats.letters_with_copies]).toEqual([8, 4, 2])
        expect([stats.letters, stats.letters_with_copies]).toEqual([lint.letters, lint.letters_with_copies])
      })
    )
    for (const parameter of ["format=hf", "input=text", "changed_since=x", "approved_only=maybe"]) {
      it.effect(`lint refuses ${parameter}`, () =>
        Effect.gen(function* () {
          const base = yield* baseUrl
          const response = yield* get(`${base}/api/v1/ground-truth/lint?${parameter}`)
          expect(response.status).toBe(400)
          const body = (yield* json(response)) as ErrorBody
          expect(body.error.parameter).toBe(parameter.split("=")[0])
        })
      )
    }
  })
}
