/**
 * One `/eval` request cannot stall or bloat the server (issue 28, finding 5), through the real
 * `serve.mjs` in its own process (so that its event loop is measured from outside):
 * - the finding's bodies (a 20 MB line whose number has a 20-million-digit exponent; a 24 MB line of
 *   nested brackets) are refused at once, and `/healthz` answers throughout (it waited 20 s and 45 s);
 *   a large eval within the limits is scored while `/healthz` keeps answering;
 * - a third concurrent eval is a 503 with `Retry-After`, at once; the slot of an eval's details is free
 *   once their last line has arrived;
 * - an upload slower than its timeout is a JSON 408, logged as such (it was Node's empty 408 at 300 s,
 *   logged 499);
 * - a bad line is answered while the rest of the body is still to come.
 */
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import { expect, layer } from "@effect/vitest"
import { TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Effect, Layer } from "effect"
import { memory, realSleep, requests, serverProcess } from "./server.js"

/** J8, a reference job of the golden fixture whose result holds numbers (`skor` 1.50). */
const J8 = "8b5c4f97-c062-43aa-8f65-000000000008"

interface Answer {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/**
 * A POST to `/eval` sent piece by piece: `send` writes, `end` ends the body, `answer` is the response
 * (or the error that ended the connection, or `undefined` once `wait` ms have passed without either).
 */
const upload = (base: string, headers: Record<string, string> = {}) => {
  const request = http.request(`${base}/api/v1/ground-truth/eval`, {
    method: "POST",
    headers: { "content-type": "application/x-ndjson", ...headers }
  })
  const answer = new Promise<Answer | { readonly error: string }>((resolve) => {
    request.on("response", (response) => {
      let body = ""
      response.on("data", (b: Buffer) => {
        body += b.toString("utf8")
      })
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }))
      response.on("error", (e) => resolve({ error: e.message }))
    })
    request.on("error", (e) => resolve({ error: e.message }))
  })
  return {
    send: (bytes: string | Uint8Array) =>
      new Promise<void>((resolve) => request.write(bytes, () => resolve())),
    end: (bytes: string | Uint8Array = "") => request.end(bytes),
    answer: (wait: number) =>
      Effect.promise(() =>
        Promise.race([
          answer,
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), wait))
        ])
      ),
    abort: () => request.destroy()
  }
}

const answered = (a: Answer | { readonly error: string } | undefined): Answer => {
  expect(a !== undefined && "status" in a ? "answered" : (a?.error ?? "no answer")).toBe("answered")
  return a as Answer
}

/**
 * Polls `/healthz` every 50 ms while `work` runs: the longest wait for an answer, and how many answers
 * came before `work` ended.
 */
const whileHealthPolled = <A>(base: string, work: Effect.Effect<A>) =>
  Effect.gen(function* () {
    let done = false
    let worst = 0
    let answers = 0
    const poll = (async () => {
      while (!done) {
        const started = performance.now()
        await fetch(`${base}/healthz`).then((r) => r.arrayBuffer())
        worst = Math.max(worst, performance.now() - started)
        if (!done) answers++
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    })()
    const result = yield* work
    done = true
    yield* Effect.promise(() => poll)
    return { result, worst, answers }
  })

const post = (base: string, body: Uint8Array | string) =>
  Effect.promise(async () => {
    const r = await fetch(`${base}/api/v1/ground-truth/eval`, { method: "POST", body })
    return { status: r.status, body: await r.text() }
  })

/** The spool folders a server process has open. */
const spools = (pid: number) =>
  fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith(`ground-truth-eval-${pid}-`))

for (const target of TestDatabase.targets()) {
  layer(Layer.effectDiscard(Golden.load).pipe(Layer.provideMerge(target.layer)), {
    timeout: 300_000,
    excludeTestServices: true
  })(`/eval's bounds on ${target.name}`, (it) => {
    it.scoped(
      "the finding's lines are refused at once and a large eval is scored while /healthz keeps answering",
      () =>
        Effect.gen(function* () {
          const { url } = yield* TestDatabase.TestDatabase
          const server = yield* serverProcess(url)
          const pid = server.child.pid!
          const before = memory(pid).peak
          // 20 MB: `skor` (a number in the reference) with a 20-million-digit exponent.
          const exponent = Buffer.from(`{"job_id":"${J8}","result":{"skor":1e${"9".repeat(20_000_000)}}}\n`)
          // 24 MB: brackets 12 million deep.
          const brackets = Buffer.from(
            `{"job_id":"${J8}","result":${"[".repeat(12_000_000)}${"]".repeat(12_000_000)}}\n`
          )
          for (const [name, body] of [
            ["exponent", exponent],
            ["brackets", brackets]
          ] as const) {
            const { result, worst } = yield* whileHealthPolled(server.base, post(server.base, body))
            console.log(
              `${target.name}: the ${name} line: ${result.status}; /healthz waited at most ${worst.toFixed(0)} ms`
            )
            expect([name, result.status, JSON.parse(result.body).error.message]).toEqual([
              name,
              400,
              "predictions line 1: longer than 1 MiB (a prediction is one line)"
            ])
            expect(worst).toBeLessThan(5000)
          }
          // Within the limits, and much of it: 60 lines of ~0.5 MB (19,000 numbers each), then the golden
          // predictions.
          const numbers = Array.from({ length: 19_000 }, (_, i) => `${i + 1}${"0".repeat(20)}`).join(",")
          const large = Buffer.concat([
            ...Array.from({ length: 60 }, (_, i) =>
              Buffer.from(`{"job_id":"other-${i}","result":{"skor":[${numbers}]}}\n`)
            ),
            fs.readFileSync(Golden.evalPredictions)
          ])
          const { result, worst, answers } = yield* whileHealthPolled(server.base, post(server.base, large))
          const peak = memory(pid).peak
          console.log(
            `${target.name}: a ${(large.length / 1e6).toFixed(0)} MB eval: ${result.status}; /healthz answered ` +
              `${answers} times meanwhile, waiting at most ${worst.toFixed(0)} ms; peak RSS ` +
              `${(before / 1e6).toFixed(0)} → ${(peak / 1e6).toFixed(0)} MB`
          )
          expect([result.status, JSON.parse(result.body).unknown ?? result.body]).toEqual([200, 62])
          expect(answers).toBeGreaterThanOrEqual(3)
          expect(worst).toBeLessThan(5000)
          // The brackets took 2.6 GB (an unknown job) to 4 GB (a reference one).
          expect(peak - before).toBeLessThan(500e6)
        })
    )

    it.scoped(
      "a third eval while two are uploading is a 503 with Retry-After, at once; the two are scored",
      () =>
        Effect.gen(function* () {
          const { url } = yield* TestDatabase.TestDatabase
          const server = yield* serverProcess(url, [], { GROUND_TRUTH_EVAL_CONCURRENCY: "2" })
          const pid = server.child.pid!
          const golden = fs.readFileSync(Golden.evalPredictions)
          const first = golden.subarray(0, golden.indexOf(10) + 1)
          const slow = [upload(server.base), upload(server.base)]
          for (const u of slow) yield* Effect.promise(() => u.send(first))
          // Each has its slot once its body is being spooled.
          for (let i = 0; i < 300 && spools(pid).length < 2; i++) yield* realSleep(100)
          expect(spools(pid)).toHaveLength(2)
          const third = upload(server.base)
          third.end(golden)
          const busy = answered(yield* third.answer(30_000))
          expect(busy.status).toBe(503)
          expect(busy.headers["retry-after"]).toBe("10")
          expect(JSON.parse(busy.body).error).toEqual({
            code: "eval_busy",
            message: "2 evaluations are running (GROUND_TRUTH_EVAL_CONCURRENCY): try again in 10 seconds"
          })
          for (const u of slow) u.end(golden.subarray(first.length))
          for (const u of slow) {
            const done = answered(yield* u.answer(60_000))
            expect(done.status).toBe(200)
            expect(Buffer.from(done.body).equals(Golden.expectedEval())).toBe(true)
          }
          const after = yield* post(server.base, golden)
          expect(after.status).toBe(200)
        })
    )

    it.scoped(
      "the slot of an eval's details is free once their last line has arrived: the next eval is scored",
      () =>
        Effect.gen(function* () {
          const { url } = yield* TestDatabase.TestDatabase
          // One slot: an eval sent right after a details body has been read must find it free (the slot
          // was released with the request's scope, a moment after the body's end: a 503 now and then).
          const server = yield* serverProcess(url, [], { GROUND_TRUTH_EVAL_CONCURRENCY: "1" })
          const golden = fs.readFileSync(Golden.evalPredictions)
          for (let round = 0; round < 20; round++) {
            const details = upload(server.base, { accept: "application/x-ndjson" })
            details.end(golden)
            expect(answered(yield* details.answer(60_000)).status).toBe(200)
            const next = yield* post(server.base, golden)
            expect([round, next.status, next.body.slice(0, 200)]).toEqual([
              round,
              200,
              Golden.expectedEval().toString("utf8").slice(0, 200)
            ])
          }
        })
    )

    it.scoped("an upload slower than its timeout is a JSON 408, logged as one; the server answers on", () =>
      Effect.gen(function* () {
        const { url } = yield* TestDatabase.TestDatabase
        const server = yield* serverProcess(url, [], { GROUND_TRUTH_EVAL_UPLOAD_TIMEOUT: "2 seconds" })
        const stalled = upload(server.base, { "content-length": "1000" })
        yield* Effect.promise(() => stalled.send('{"job_id":"a","result":{"header":'))
        const started = performance.now()
        const timedOut = answered(yield* stalled.answer(60_000))
        console.log(
          `${target.name}: a stalled upload answered ${timedOut.status} after ${(performance.now() - started).toFixed(0)} ms`
        )
        expect(timedOut.status).toBe(408)
        expect(timedOut.headers.connection).toBe("close")
        expect(JSON.parse(timedOut.body).error).toEqual({
          code: "upload_timeout",
          message: "the body did not arrive within 2s (GROUND_TRUTH_EVAL_UPLOAD_TIMEOUT): 33 bytes came"
        })
        for (let i = 0; i < 50 && requests(server.output(), "/eval").length === 0; i++) yield* realSleep(100)
        // Logged as answered: not 499 with "Error: {" as when Node cut the connection.
        expect(requests(server.output(), "/eval").map((r) => [r.status, r.outcome ?? "answered"])).toEqual([
          [408, "answered"]
        ])
        const after = yield* post(server.base, fs.readFileSync(Golden.evalPredictions))
        expect(after.status).toBe(200)
      })
    )

    it.scoped(
      "a bad line is answered at once, the rest of the body not waited for (read and dropped as it comes)",
      () =>
        Effect.gen(function* () {
          const { url } = yield* TestDatabase.TestDatabase
          const server = yield* serverProcess(url)
          const big = upload(server.base, { "content-length": String(50 * 1024 * 1024) })
          yield* Effect.promise(() => big.send(`{"job_id":"a","result":1}\n[1]\n{"job_id":"b",`))
          const bad = answered(yield* big.answer(30_000))
          expect(bad.status).toBe(400)
          expect(JSON.parse(bad.body).error.message).toBe(
            'predictions line 2: not an object {"job_id", "result" or "completion"}'
          )
          big.abort()
        })
    )
  })
}
