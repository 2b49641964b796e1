/**
 * Calibration over HTTP (contract §14): each golden case's body is the CLI's hand-checked line, on every
 * test database; a bad target_error, or one given twice, is a 400 naming it.
 */
import { expect, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Effect, Layer } from "effect"
import { baseUrl, bytes, type ErrorBody, get, json, serve } from "./server.js"

for (const target of TestDatabase.targets()) {
  layer(serve(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer))), {
    timeout: 120_000
  })(`HTTP calibration on ${target.name}`, (it) => {
    for (const c of Golden.calibrationCases) {
      it.effect(`calibration ${c.name}`, () =>
        Effect.gen(function* () {
          const base = yield* baseUrl
          const response = yield* get(`${base}/api/v1/ground-truth/calibration?${Golden.query(c.params)}`)
          expect(response.status).toBe(200)
          expect(response.headers.get("content-type")).toBe("application/json")
          expect((yield* bytes(response)).toString("utf8")).toBe(
            Golden.expectedCalibration(c).toString("utf8")
          )
        })
      )
    }
    for (const [query, code, parameter] of [
      ["target_error=1", "invalid_target_error", "target_error"],
      ["target_error=abc", "invalid_target_error", "target_error"],
      ["target_error=0.1&target_error=0.2", "repeated_parameter", "target_error"],
      ["format=hf", "unknown_parameter", "format"]
    ] as const) {
      it.effect(`calibration refuses ${query}`, () =>
        Effect.gen(function* () {
          const base = yield* baseUrl
          const response = yield* get(`${base}/api/v1/ground-truth/calibration?${query}`)
          expect(response.status).toBe(400)
          const body = (yield* json(response)) as ErrorBody
          expect([body.error.code, body.error.parameter]).toEqual([code, parameter])
        })
      )
    }
  })
}
