/**
 * Evaluation over HTTP (contracts §12, §14): the golden predictions as the body give the CLI's hand-scored
 * bytes, as do the error-class fixture's; each usage error is a 400 naming the line; a body over the limit is a 413.
 */
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { expect, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { ConfigProvider, Effect, Layer } from "effect"
import { baseUrl, bytes, type ErrorBody, get, json, serve } from "./server.js"

const post = (url: string, body: string | Uint8Array) =>
  get(url, { method: "POST", headers: { "content-type": "application/x-ndjson" }, body })

/** A POST whose body streams in chunks, without a Content-Length. */
const chunked = (url: string, chunks: ReadonlyArray<string>) =>
  Effect.promise(
    () =>
      new Promise<{ readonly status: number; readonly body: string }>((resolve, reject) => {
        const request = http.request(url, { method: "POST" }, (response) => {
          let body = ""
          response.on("data", (b: Buffer) => {
            body += b.toString("utf8")
          })
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body }))
        })
        request.on("error", reject)
        for (const c of chunks) request.write(c)
        request.end()
      })
  )

for (const target of TestDatabase.targets()) {
  layer(serve(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer))), {
    timeout: 120_000,
    excludeTestServices: true
  })(`HTTP eval on ${target.name}`, (it) => {
    it.effect("the golden predictions give the hand-scored line, the CLI's bytes", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const response = yield* post(
          `${base}/api/v1/ground-truth/eval`,
          fs.readFileSync(Golden.evalPredictions)
        )
        expect(response.status).toBe(200)
        expect(response.headers.get("content-type")).toBe("application/json")
        expect((yield* bytes(response)).equals(Golden.expectedEval())).toBe(true)
      })
    )

    it.effect("an empty body scores the pipeline alone, the CLI's bytes without --predictions", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const response = yield* post(`${base}/api/v1/ground-truth/eval`, "")
        expect(response.status).toBe(200)
        expect((yield* bytes(response)).toString("utf8")).toBe(Golden.expectedEvalPipeline().toString("utf8"))
      })
    )

    it.effect("every usage error is a 400 invalid_prediction naming the line; filters as the export's", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        for (const [name, body, message] of Golden.evalUsageCases) {
          const response = yield* post(`${base}/api/v1/ground-truth/eval`, body)
          expect([name, response.status]).toEqual([name, 400])
          const error = (yield* json<ErrorBody>(response)).error
          expect([name, error.code, error.parameter]).toEqual([name, "invalid_prediction", "body"])
          expect(error.message.startsWith(message), `${name}: ${error.message}`).toBe(true)
        }
        const cursor = yield* post(`${base}/api/v1/ground-truth/eval?changed_since=x`, "")
        expect(cursor.status).toBe(400)
        expect((yield* json<ErrorBody>(cursor)).error.code).toBe("unknown_parameter")
      })
    )
  })
}

for (const target of TestDatabase.targets()) {
  layer(serve(Layer.effectDiscard(Golden.loadClasses).pipe(Layer.provideMerge(target.layer))), {
    timeout: 120_000,
    excludeTestServices: true
  })(`HTTP eval of the error-class fixture on ${target.name}`, (it) => {
    it.effect(
      "each class as counted by hand, the CLI's bytes with the predictions, without, in Markdown and details",
      () =>
        Effect.gen(function* () {
          const url = `${yield* baseUrl}/api/v1/ground-truth/eval`
          const scored = yield* post(url, fs.readFileSync(Golden.classesPredictions))
          expect(scored.status).toBe(200)
          expect((yield* bytes(scored)).toString("utf8")).toBe(Golden.expectedClasses().toString("utf8"))
          const alone = yield* post(url, "")
          expect(alone.status).toBe(200)
          expect((yield* bytes(alone)).toString("utf8")).toBe(
            Golden.expectedClassesPipeline().toString("utf8")
          )
          // Asked for Markdown: what `eval --markdown` prints.
          const markdown = yield* get(url, {
            method: "POST",
            headers: { "content-type": "application/x-ndjson", accept: "text/markdown" },
            body: fs.readFileSync(Golden.classesPredictions)
          })
          expect(markdown.status).toBe(200)
          expect(markdown.headers.get("content-type")).toBe("text/markdown; charset=utf-8")
          expect((yield* bytes(markdown)).toString("utf8")).toBe(
            Golden.expectedClassesMarkdown().toString("utf8")
          )
          // Asked for lines: what `eval --details` writes, with the predictions and without.
          for (const [body, expected] of [
            [fs.readFileSync(Golden.classesPredictions), Golden.expectedClassesDetails()],
            ["", Golden.expectedClassesDetailsPipeline()]
          ] as const) {
            const details = yield* get(url, {
              method: "POST",
              headers: { "content-type": "application/x-ndjson", accept: "application/x-ndjson" },
              body
            })
            expect(details.status).toBe(200)
            expect(details.headers.get("content-type")).toBe("application/x-ndjson")
            expect((yield* bytes(details)).toString("utf8")).toBe(expected.toString("utf8"))
          }
          // Slices (by=), each a report of its jobs alone; a by of no slice, or given twice, is a 400 naming it.
          for (const c of Golden.sliceCases) {
            const sliced = yield* get(`${url}?by=${c.by}`, {
              method: "POST",
              headers: {
                "content-type": "application/x-ndjson",
                ...(c.markdown ? { accept: "text/markdown" } : {})
              },
              body: c.predictions ? fs.readFileSync(Golden.classesPredictions) : ""
            })
            expect([c.file, sliced.status]).toEqual([c.file, 200])
            expect((yield* bytes(sliced)).toString("utf8")).toBe(Golden.expectedSlice(c).toString("utf8"))
          }
          // Two models: a multipart body of the parts predictions and against, the CLI's --against bytes.
          const form = (parts: ReadonlyArray<readonly [string, Uint8Array | string]>) => {
            const f = new FormData()
            for (const [name, content] of parts) f.append(name, new Blob([content]), `${name}.jsonl`)
            return f
          }
          const two = [
            ["predictions", fs.readFileSync(Golden.classesPredictions)],
            ["against", fs.readFileSync(Golden.classesAgainst)]
          ] as const
          for (const [accept, view] of [
            ["application/json", "json"],
            ["text/markdown", "markdown"],
            ["application/x-ndjson", "details"]
          ] as const) {
            const compared = yield* get(url, { method: "POST", headers: { accept }, body: form(two) })
            expect([view, compared.status]).toEqual([view, 200])
            expect((yield* bytes(compared)).toString("utf8")).toBe(
              Golden.expectedClassesAgainst(view).toString("utf8")
            )
          }
          // After the closing boundary, an epilogue (RFC 2046): ignored.
          const epilogue = Buffer.concat([
            Buffer.from('--xx\r\nContent-Disposition: form-data; name="predictions"; filename="p"\r\n\r\n'),
            fs.readFileSync(Golden.classesPredictions),
            Buffer.from('\r\n--xx--\r\nContent-Disposition: form-data; name="predictions"\r\n\r\nzzz')
          ])
          const closed = yield* get(url, {
            method: "POST",
            headers: { "content-type": "multipart/form-data; boundary=xx" },
            body: epilogue
          })
          expect((yield* bytes(closed)).toString("utf8")).toBe(Golden.expectedClasses().toString("utf8"))
          // The predictions part alone is the plain body's report.
          const one = yield* get(url, { method: "POST", body: form([two[0]]) })
          expect((yield* bytes(one)).toString("utf8")).toBe(Golden.expectedClasses().toString("utf8"))
          // A body the parts cannot be read from is a 400 naming the part, never a wait.
          const truncated = new TextEncoder().encode(
            '--xx\r\nContent-Disposition: form-data; name="predictions"; filename="p"\r\n\r\n{"job_id":"a","result":1}\n'
          )
          for (const [body, headers, parameter, message] of [
            [form([two[1]]), {}, "against", "the part against compares a second model with the first"],
            [form([...two, ["other", "x"]]), {}, "body", "the multipart body holds more than 2 parts"],
            [form([two[0], ["other", "x"]]), {}, "other", 'the part "other" is none of predictions, against'],
            [form([two[0], two[0]]), {}, "predictions", "the part predictions is given twice"],
            // Cut in a part's data, in a part's headers, right after a boundary line, or empty: no whole body.
            ...[truncated, "--xx\r\nContent-Disposition: form-da", "--xx\r\n", ""].map(
              (cut) =>
                [
                  cut,
                  { "content-type": "multipart/form-data; boundary=xx" },
                  "body",
                  "the multipart body ends before its closing boundary"
                ] as const
            ),
            [
              form([two[0], ["against", '{"job_id":"a","result":1}\nnot json\n']]),
              {},
              "against",
              "against line 2: not JSON"
            ]
          ] as const) {
            const refused = yield* get(url, { method: "POST", headers, body })
            expect([message, refused.status]).toEqual([message, 400])
            const error = (yield* json<ErrorBody>(refused)).error
            expect([error.parameter, error.message.startsWith(message)]).toEqual([parameter, true])
          }
          for (const [query, code] of [
            ["by=nrp", "invalid_by"],
            ["by=satuan&by=satuan", "repeated_parameter"]
          ] as const) {
            const refused = yield* post(`${url}?${query}`, "")
            expect(refused.status).toBe(400)
            expect((yield* json<ErrorBody>(refused)).error).toMatchObject({ code, parameter: "by" })
          }
        })
    )
  })
}

const [embedded] = TestDatabase.targets()

// What a server killed mid-upload leaves behind (its pid gone): the next server's start removes it.
const leftover = path.join(os.tmpdir(), "ground-truth-eval-2147483646-test")
fs.mkdirSync(leftover, { recursive: true })
fs.writeFileSync(path.join(leftover, "body"), "half an upload")
layer(
  serve(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(embedded.layer))).pipe(
    Layer.provide(
      Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["GROUND_TRUTH_EVAL_MAX_BYTES", "100"]])))
    )
  ),
  { timeout: 120_000, excludeTestServices: true }
)("HTTP eval with GROUND_TRUTH_EVAL_MAX_BYTES=100", (it) => {
  it.effect(
    "a body over the limit is a 413 (the rest read and dropped, so the client gets it); one at the limit is scored",
    () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const url = `${base}/api/v1/ground-truth/eval`
        const declared = yield* post(url, "x".repeat(101))
        expect(declared.status).toBe(413)
        expect((yield* json<ErrorBody>(declared)).error.code).toBe("payload_too_large")
        const streamed = yield* chunked(url, ['{"job_id":"a",', `"result":"${"y".repeat(80)}"}\n`])
        expect(streamed.status).toBe(413)
        expect(JSON.parse(streamed.body).error.code).toBe("payload_too_large")
        expect(fs.existsSync(leftover)).toBe(false)
        const line = `{"job_id":"a","result":"${"z".repeat(100 - 27)}"}\n`
        expect(line.length).toBe(100)
        const fits = yield* post(url, line)
        expect(fits.status).toBe(200)
        expect(JSON.parse((yield* bytes(fits)).toString("utf8")).unknown).toBe(1)
      })
  )
})
