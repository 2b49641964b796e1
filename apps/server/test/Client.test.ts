/**
 * The API definition against what the server really sends: an `HttpApiClient` derived from the same
 * `Api` calls every endpoint and decodes each answer, errors included, with the schemas the OpenAPI
 * document is made from. A body or status the definition does not declare fails to decode here.
 */
import * as fs from "node:fs"
import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { expect, layer } from "@effect/vitest"
import { Cursor, Eval, Manifest, Stats } from "@ground-truth/core"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import {
  Api,
  BadRequest,
  Conflict,
  CorrectionEvent,
  CorrectionRequest,
  Decision,
  Forbidden,
  Gone,
  Health,
  JobView,
  NotFound,
  ServerError,
  Unauthorized
} from "@ground-truth/protocol/Api"
import { Effect, Layer, Option } from "effect"
import { ApiTokens } from "../src/Auth.js"
import { baseUrl, serve } from "./server.js"

const J9 = "9c6d3aa8-d173-44bb-9076-000000000009"
const UNKNOWN = "00000000-0000-4000-8000-000000000000"
const READ = "read-token-0123456789abcdef"
const REVIEW = "review-token-0123456789abcdef"

/** The API's client on the test server, presenting `token`. */
const client = (token: string | undefined) =>
  Effect.flatMap(baseUrl, (base) =>
    HttpApiClient.make(Api, {
      baseUrl: base,
      transformClient:
        token === undefined ? (c) => c : HttpClient.mapRequest(HttpClientRequest.bearerToken(token))
    })
  ).pipe(Effect.provide(FetchHttpClient.layer))

/** The failure an effect ends with (the test fails if it succeeds). */
const failureOf = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.flip(effect)

const [embedded] = TestDatabase.targets()
const tampered = "eeeeeeee-0000-4000-8000-00000000000e"

layer(
  serve(
    Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(embedded.layer)),
    ApiTokens.make({ read: [READ], review: [REVIEW] })
  ),
  { timeout: 120_000, excludeTestServices: true }
)("the API's own client", (it) => {
  it.effect("decodes every success", () =>
    Effect.gen(function* () {
      const reader = yield* client(READ)
      const reviewer = yield* client(REVIEW)
      const corpus = yield* reader.groundTruth.export({ urlParams: {} })
      expect(corpus).toBe(Golden.expectedExport(Golden.exportCases[0]).toString("utf8"))
      const changes = yield* reader.groundTruth.changes({ urlParams: {} })
      expect(changes.startsWith(corpus)).toBe(true)
      const stats = yield* reader.groundTruth.stats({ urlParams: {} })
      expect(stats).toBeInstanceOf(Stats.Report)
      expect(`${JSON.stringify(stats)}`).toBe(
        JSON.stringify(JSON.parse(Golden.expectedStats(Golden.statsCases[0]).toString("utf8")))
      )
      const manifest = yield* reader.groundTruth.manifest({ urlParams: { format: "hf" } })
      expect(manifest).toBeInstanceOf(Manifest.Manifest)
      expect(manifest.format).toBe("hf")
      const report = yield* reader.groundTruth.report({ urlParams: {} })
      expect(report).toBe(Golden.expectedReport(Golden.reportCases[0]).toString("utf8"))
      const scored = yield* reader.groundTruth.eval({
        urlParams: {},
        payload: fs.readFileSync(Golden.evalPredictions, "utf8")
      })
      expect(scored).toBeInstanceOf(Eval.Report)
      expect(Eval.encode(scored)).toBe(Golden.expectedEval().toString("utf8"))
      const health = yield* reader.health.health()
      expect(health).toBeInstanceOf(Health)

      const event = yield* reviewer.jobs.correct({
        path: { id: J9 },
        headers: { "x-user-id": "client-test" },
        payload: new CorrectionRequest({
          field_path: "header.perihal",
          new_value: "via the client",
          reason: null
        })
      })
      expect(event).toBeInstanceOf(CorrectionEvent)
      expect(event.new_value).toBe("via the client")
      const view = yield* reader.jobs.job({ path: { id: J9 } })
      expect(view).toBeInstanceOf(JobView)
      expect(view.corrections.at(-1)?.event_id).toBe(event.event_id)
      const decision = yield* reviewer.jobs.approve({
        path: { id: J9 },
        headers: { "x-user-id": "client-test" }
      })
      expect(decision).toBeInstanceOf(Decision)
      expect(decision.approved).toBe(true)
      const rejected = yield* reviewer.jobs.reject({
        path: { id: J9 },
        headers: { "x-user-id": "client-test" }
      })
      expect(rejected.approved).toBe(false)
    })
  )

  it.effect("decodes every declared error as its class and code", () =>
    Effect.gen(function* () {
      const reader = yield* client(READ)
      const reviewer = yield* client(REVIEW)
      const anonymous = yield* client(undefined)
      const bad = yield* failureOf(reader.groundTruth.export({ urlParams: { approved_only: "maybe" } }))
      expect(bad).toBeInstanceOf(BadRequest)
      expect((bad as BadRequest).error.code).toBe("invalid_boolean")
      const badStats = yield* failureOf(reader.groundTruth.stats({ urlParams: { until: "yesterday" } }))
      expect((badStats as BadRequest).error.code).toBe("invalid_timestamp")
      const malformed = yield* failureOf(
        reader.groundTruth.manifest({
          urlParams: { changed_since: "gt1.1.1.000000000000.00000000.00000000" }
        })
      )
      expect((malformed as BadRequest).error.code).toBe("invalid_cursor")
      // This database's snapshot, tagged as another database's.
      const real = Option.getOrThrow(
        Cursor.decode((yield* reader.groundTruth.manifest({ urlParams: {} })).cursor)
      )
      const elsewhere = Cursor.encode({
        ...real,
        database: real.database === "0123456789ab" ? "ba9876543210" : "0123456789ab"
      })
      const stale = yield* failureOf(reader.groundTruth.changes({ urlParams: { changed_since: elsewhere } }))
      expect(stale).toBeInstanceOf(Gone)
      expect((stale as Gone).error.code).toBe("stale_cursor")
      const invalid = yield* failureOf(reader.groundTruth.eval({ urlParams: {}, payload: "[1]\n" }))
      expect((invalid as BadRequest).error.code).toBe("invalid_prediction")
      const unknown = yield* failureOf(reader.jobs.job({ path: { id: UNKNOWN } }))
      expect(unknown).toBeInstanceOf(NotFound)
      expect((unknown as NotFound).error.code).toBe("unknown_job")
      const conflict = yield* failureOf(
        reviewer.jobs.correct({
          path: { id: J9 },
          headers: { "x-user-id": "client-test" },
          payload: new CorrectionRequest({ field_path: "personel[999].nrp", new_value: 1, reason: null })
        })
      )
      expect(conflict).toBeInstanceOf(Conflict)
      expect((conflict as Conflict).error.code).toBe("precondition_failed")
      const missing = yield* failureOf(reviewer.jobs.approve({ path: { id: J9 }, headers: {} }))
      expect((missing as BadRequest).error.code).toBe("missing_reviewer")
      const forbidden = yield* failureOf(
        reader.jobs.approve({ path: { id: J9 }, headers: { "x-user-id": "x" } })
      )
      expect(forbidden).toBeInstanceOf(Forbidden)
      const unauthorized = yield* failureOf(anonymous.groundTruth.stats({ urlParams: {} }))
      expect(unauthorized).toBeInstanceOf(Unauthorized)
    })
  )
})

// A job whose result changed without an event: the export cannot start, and says why.
layer(
  serve(
    Layer.effectDiscard(Golden.insertTampered(tampered, "2025-01-01 00:00:00+00")).pipe(
      Layer.provideMerge(embedded.layer)
    )
  ),
  { timeout: 120_000, excludeTestServices: true }
)("the API's own client, a corpus that cannot be exported", (it) => {
  it.effect("decodes the 500", () =>
    Effect.gen(function* () {
      const reader = yield* client(undefined)
      const failed = yield* failureOf(reader.groundTruth.export({ urlParams: {} }))
      expect(failed).toBeInstanceOf(ServerError)
      expect((failed as ServerError).error.code).toBe("audit_trail_mismatch")
    })
  )
})
