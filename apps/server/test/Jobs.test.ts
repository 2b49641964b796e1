/**
 * The review endpoints over HTTP, on the golden database: a correction (a big integer kept exactly), a
 * removal, an approval, the job view, and the export that replays them; values the result schema refuses
 * get their 400 naming the path; then every kind of bad request gets its 4xx JSON error and changes
 * nothing.
 */
import * as http from "node:http"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Golden, Readme } from "@ground-truth/golden"
import { Effect, Layer } from "effect"
import {
  baseUrl,
  bytes,
  type ErrorBody,
  get,
  json,
  realSleep,
  requests,
  serve,
  serverProcess
} from "./server.js"

const J1 = "c5da6747-1111-4222-8333-944455556666"
const J2 = "0b4a2c1e-0000-4000-8000-000000000002"
const J9 = "9c6d3aa8-d173-44bb-9076-000000000009"
const BIG = "123456789012345678901234567890"

const post = (url: string, body: string | Uint8Array | undefined, reviewer: string | undefined) =>
  get(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(reviewer === undefined ? {} : { "x-user-id": reviewer })
    },
    ...(body === undefined ? {} : { body })
  })

const text = (response: Response) => Effect.promise(() => response.text())

/** A correction body of exactly `bytes` bytes: a valid one, but for its size. */
const longCorrection = (bytes: number) => {
  const head = '{"field_path":"header.perihal","new_value":"'
  return `${head}${"x".repeat(bytes - head.length - 2)}"}`
}

for (const target of TestDatabase.targets()) {
  layer(serve(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer))), {
    timeout: 120_000,
    excludeTestServices: true
  })(`review endpoints on ${target.name}`, (it) => {
    it.effect("a correction, a removal and an approval are recorded, shown and exported", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const jobs = `${base}/api/v1/jobs/${J9}`
        // A big integer where the result schema lets a number be: a key it does not know.
        const created = yield* post(
          `${jobs}/corrections`,
          `{"field_path": "angka", "new_value": ${BIG}, "reason": "typed from the scan"}`,
          "reviewer-x"
        )
        expect(created.status).toBe(201)
        expect(created.headers.get("content-type")).toBe("application/json")
        const event = yield* text(created)
        expect(event).toMatch(
          new RegExp(
            `^\\{"event_id":"\\d+","job_id":"${J9}","field_path":"angka","old_value":null,"new_value":${BIG},"corrected_by":"reviewer-x","reason":"typed from the scan","corrected_at":"[^"]+Z"\\}\\n$`
          )
        )
        const removed = yield* post(`${jobs}/corrections`, '{"field_path": "angka"}', " reviewer-y ")
        expect(removed.status).toBe(201)
        expect(yield* text(removed)).toContain(
          `"old_value":${BIG},"new_value":null,"corrected_by":"reviewer-y"`
        )
        const retyped = yield* post(
          `${jobs}/corrections`,
          `{"field_path": "header.nomor_sprint", "new_value": "Sprin/9/VI/2025", "reason": null}`,
          "reviewer-x"
        )
        expect(retyped.status).toBe(201)

        // A reviewer's name in UTF-8 (HTTP headers arrive as bytes) is kept as written.
        const approved = yield* post(
          `${jobs}/approve`,
          undefined,
          Buffer.from("Kasat Réskrim", "utf8").toString("latin1")
        )
        expect(approved.status).toBe(200)
        expect(yield* json(approved)).toMatchObject({
          job_id: J9,
          approved: true,
          reviewed_by: "Kasat Réskrim"
        })

        const view = yield* get(jobs)
        expect(view.status).toBe(200)
        const shown = yield* text(view)
        expect(shown).toContain(
          '"result":{"header":{"nomor_sprint":"Sprin/9/VI/2025","perihal":"Pengamanan"},"personel":[]}'
        )
        expect(shown.match(/"event_id"/g)).toHaveLength(3)

        // The export replays the three events back to the pipeline's result.
        const body = (yield* bytes(
          yield* get(`${base}/api/v1/ground-truth/export?approved_only=false`)
        )).toString()
        const line = body.split("\n").find((l) => l.includes(J9))!
        expect(line).toContain('"initial_result":{"header":{"perihal":"Pengamanan"},"personel":[]}')
        expect(line).toContain(`"new_value":${BIG}`)
        expect(line).toContain('"reviewed_by":"Kasat Réskrim"')
      })
    )

    it.effect(
      "a value the result schema refuses is a 400 invalid_value naming the path and the type, and changes nothing",
      () =>
        Effect.gen(function* () {
          const base = yield* baseUrl
          const sql = yield* SqlClient.SqlClient
          const state = Effect.map(
            sql<{ readonly s: string }>`
              SELECT (SELECT string_agg(coalesce(result::text, '-') || updated_at::text, '|' ORDER BY id) FROM jobs) ||
                     (SELECT count(*)::text FROM job_corrections) AS s`,
            ([row]) => row.s
          )
          const before = yield* state
          const correct = (job: string, body: string) =>
            post(`${base}/api/v1/jobs/${job}/corrections`, body, "reviewer-x")
          // The example of docs/http.md, and the same with the NRP as a number, which it once was.
          const example = Readme.block("readme-test: correction")!
          const numeric = example.replace(/"new_value": "(\d+)"/, '"new_value": $1')
          expect(numeric).not.toBe(example)
          const refusal = yield* correct(J1, numeric)
          expect(refusal.status).toBe(400)
          expect(yield* text(refusal)).toBe(Readme.block("readme-test: refusal")!.trim())
          const cases: ReadonlyArray<readonly [string, string, string]> = [
            [
              J1,
              '{"field_path": "header.tanggal", "new_value": "01/06/2025"}',
              "header.tanggal must be a date YYYY-MM-DD or null, not a string of 10 characters in another form"
            ],
            [
              J1,
              '{"field_path": "personel[1]", "new_value": {"pangkat": "BRIPDA", "nrp": "7706OOO1"}}',
              "personel[1].nrp must be a string of ASCII digits or null, not a string of 8 characters, not all digits"
            ],
            [
              J1,
              '{"field_path": "header", "new_value": []}',
              "header must be an object, not an array of 0 elements"
            ],
            [
              J2,
              '{"field_path": "", "new_value": {"header": {"nomor_sprint": 1}}}',
              "header.nomor_sprint must be a string or null, not a number of 1 character"
            ],
            [
              J2,
              '{"field_path": "", "new_value": []}',
              "the result must be an object, not an array of 0 elements"
            ]
          ]
          for (const [job, body, message] of cases) {
            const response = yield* correct(job, body)
            expect([body, response.status]).toEqual([body, 400])
            expect(response.headers.get("content-type")).toBe("application/json")
            expect(yield* text(response)).toBe(
              JSON.stringify({ error: { code: "invalid_value", message, parameter: "new_value" } })
            )
          }
          expect(yield* state).toBe(before)
          // The example of docs/http.md as written is taken; so is an NRP with a leading zero, kept as it is.
          expect((yield* correct(J1, example)).status).toBe(201)
          expect(yield* text(yield* get(`${base}/api/v1/jobs/${J1}`))).toContain('"nrp":"77060001"')
          const zero = yield* correct(
            J1,
            '{"field_path": "personel[0].nrp", "new_value": "07060001", "reason": "typo"}'
          )
          expect(zero.status).toBe(201)
          expect(yield* text(yield* get(`${base}/api/v1/jobs/${J1}`))).toContain('"nrp":"07060001"')
        })
    )

    it.effect("bad requests get 4xx JSON errors and change nothing", () =>
      Effect.gen(function* () {
        const base = yield* baseUrl
        const sql = yield* SqlClient.SqlClient
        const jobs = `${base}/api/v1/jobs`
        const state = Effect.map(
          sql<{ readonly s: string }>`
            SELECT (SELECT string_agg(id::text || coalesce(result::text, '-') || approved::text ||
                                      coalesce(reviewed_by, '-') || updated_at::text, '|' ORDER BY id) FROM jobs) ||
                   (SELECT count(*)::text FROM job_corrections) AS s`,
          ([row]) => row.s
        )
        const before = yield* state
        const unknown = "9e000000-0000-4000-8000-999999999999"
        const cases: ReadonlyArray<readonly [string, Effect.Effect<Response>, number, string]> = [
          [
            "no X-User-Id",
            post(`${jobs}/${J9}/corrections`, '{"field_path":"a","new_value":1}', undefined),
            400,
            "missing_reviewer"
          ],
          [
            "blank X-User-Id",
            post(`${jobs}/${J9}/corrections`, '{"field_path":"a","new_value":1}', "  "),
            400,
            "missing_reviewer"
          ],
          [
            "unknown job",
            post(`${jobs}/${unknown}/corrections`, '{"field_path":"a","new_value":1}', "r"),
            404,
            "unknown_job"
          ],
          [
            "not a job id",
            post(`${jobs}/x'%3B--/corrections`, '{"field_path":"a","new_value":1}', "r"),
            404,
            "unknown_job"
          ],
          ["bad JSON", post(`${jobs}/${J9}/corrections`, '{"field_path": "a", ', "r"), 400, "invalid_body"],
          [
            "not an object",
            post(`${jobs}/${J9}/corrections`, '[{"field_path": "a"}]', "r"),
            400,
            "invalid_body"
          ],
          [
            "unknown member",
            post(`${jobs}/${J9}/corrections`, '{"field_path":"a","value":1}', "r"),
            400,
            "invalid_body"
          ],
          ["no field_path", post(`${jobs}/${J9}/corrections`, '{"new_value":1}', "r"), 400, "invalid_body"],
          [
            "a body of 1 MiB and one byte",
            post(`${jobs}/${J9}/corrections`, longCorrection(1024 * 1024 + 1), "r"),
            400,
            "invalid_body"
          ],
          [
            "a body of 20 MiB",
            post(`${jobs}/${J9}/corrections`, longCorrection(20 * 1024 * 1024), "r"),
            400,
            "invalid_body"
          ],
          [
            "a body that is not UTF-8",
            post(
              `${jobs}/${J9}/corrections`,
              Buffer.concat([
                Buffer.from('{"field_path":"header.perihal","new_value":"'),
                Buffer.from([0xc3, 0x28, 0x22, 0x7d])
              ]),
              "r"
            ),
            400,
            "invalid_body"
          ],
          [
            "reason not a string",
            post(`${jobs}/${J9}/corrections`, '{"field_path":"a","new_value":1,"reason":5}', "r"),
            400,
            "invalid_body"
          ],
          [
            "bad path",
            post(`${jobs}/${J9}/corrections`, '{"field_path":"header..perihal","new_value":1}', "r"),
            400,
            "invalid_path"
          ],
          [
            "parent missing",
            post(`${jobs}/${J9}/corrections`, '{"field_path":"lampiran.nomor","new_value":1}', "r"),
            409,
            "precondition_failed"
          ],
          [
            "index out of range",
            post(`${jobs}/${J9}/corrections`, '{"field_path":"personel[2]","new_value":{}}', "r"),
            409,
            "precondition_failed"
          ],
          [
            "no change",
            post(
              `${jobs}/${J9}/corrections`,
              '{"field_path":"header.perihal","new_value":"Pengamanan"}',
              "r"
            ),
            409,
            "no_change"
          ],
          [
            "approve without X-User-Id",
            post(`${jobs}/${J9}/approve`, undefined, undefined),
            400,
            "missing_reviewer"
          ],
          ["approve an unknown job", post(`${jobs}/${unknown}/approve`, undefined, "r"), 404, "unknown_job"],
          ["reject an unknown job", post(`${jobs}/${unknown}/reject`, undefined, "r"), 404, "unknown_job"],
          ["view an unknown job", get(`${jobs}/${unknown}`), 404, "unknown_job"],
          [
            "a number where a string belongs",
            post(`${jobs}/${J9}/corrections`, '{"field_path":"header.perihal","new_value":1}', "r"),
            400,
            "invalid_value"
          ],
          [
            "U+0000 in new_value",
            post(`${jobs}/${J9}/corrections`, '{"field_path":"a","new_value":"x\\u0000"}', "r"),
            400,
            "invalid_value"
          ],
          [
            "unpaired surrogate",
            post(`${jobs}/${J9}/corrections`, '{"field_path":"a","new_value":{"\\ud800":1}}', "r"),
            400,
            "invalid_value"
          ],
          [
            "number out of range",
            post(`${jobs}/${J9}/corrections`, '{"field_path":"a","new_value":1e-20000}', "r"),
            400,
            "invalid_value"
          ],
          [
            "U+0000 in field_path",
            post(`${jobs}/${J9}/corrections`, '{"field_path":"header[\\"\\u0000\\"]","new_value":1}', "r"),
            400,
            "invalid_value"
          ],
          [
            "U+0000 in reason",
            post(`${jobs}/${J9}/corrections`, '{"field_path":"a","new_value":1,"reason":"\\u0000"}', "r"),
            400,
            "invalid_value"
          ]
        ]
        for (const [name, request, status, code] of cases) {
          const response = yield* request
          expect([name, response.status]).toEqual([name, status])
          expect(response.headers.get("content-type"), name).toContain("application/json")
          const body = yield* json<ErrorBody>(response)
          expect([name, body.error.code]).toEqual([name, code])
          expect(body.error.message.length, name).toBeGreaterThan(0)
        }
        expect(yield* state).toBe(before)
        console.log(
          `${target.name}: ${cases.length} bad review requests, each its 4xx JSON error; database unchanged`
        )
      })
    )

    it.scoped(
      "body sizes: 1 MiB is taken, more is a logged 400, far more a logged cut; the server answers on",
      () =>
        Effect.gen(function* () {
          const { url } = yield* TestDatabase.TestDatabase
          const server = yield* serverProcess(url)
          const jobs = `${server.base}/api/v1/jobs/${J9}/corrections`
          /** A raw request: its status and body, or the connection error that ended it. */
          const send = (body: string) =>
            Effect.promise(
              () =>
                new Promise<{ readonly status: number; readonly body: string } | { readonly error: string }>(
                  (resolve) => {
                    const request = http.request(
                      jobs,
                      { method: "POST", headers: { "x-user-id": "r", "content-type": "application/json" } },
                      (response) => {
                        let text = ""
                        response.on("data", (b: Buffer) => {
                          text += b.toString("utf8")
                        })
                        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }))
                        response.on("error", (e) => resolve({ error: e.message }))
                      }
                    )
                    request.on("error", (e) => resolve({ error: e.message }))
                    request.end(body)
                  }
                )
            )
          const exact = yield* send(longCorrection(1024 * 1024))
          expect("status" in exact && exact.status).toBe(201)
          const over = yield* send(longCorrection(2 * 1024 * 1024))
          expect(over).toEqual({
            status: 400,
            body: JSON.stringify({
              error: {
                code: "invalid_body",
                message: `the body is larger than 1 MiB (${2 * 1024 * 1024} bytes)`,
                parameter: "body"
              }
            })
          })
          // Far beyond: the server answers without reading the rest and closes the connection (a client still
          // sending may see the reset rather than the 400).
          const huge = yield* send(longCorrection(80 * 1024 * 1024))
          if ("status" in huge) expect(huge.status).toBe(400)
          expect((yield* get(`${server.base}/healthz`)).status).toBe(200)
          const logged = () => requests(server.output(), "/corrections")
          for (let i = 0; i < 50 && logged().length < 3; i++) yield* realSleep(100)
          expect(logged().map((l) => l.status)).toEqual([201, 400, 400])
          expect(server.output()).toContain("correction body over 64 MiB: answered without reading the rest")
        })
    )
  })
}
