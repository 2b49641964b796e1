/**
 * Streaming behaviour on a large corpus: the first bytes leave long before the export ends and memory
 * stays flat; aborted downloads give their connection back; a failure after the first bytes breaks the
 * transfer, one before them is a JSON error.
 */
import * as fs from "node:fs"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Demo, TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Effect, Layer } from "effect"
import { baseUrl, type ErrorBody, get, json, serve, serverProcess } from "./server.js"

const JOBS = 50_000

// 50,000 demo jobs (2025), then a job whose result was changed without an event (2026): exports that
// reach it fail.
const fixture = Effect.zipRight(
  Demo.seed({ jobs: JOBS, seed: 11, batchSize: 5000 }),
  Golden.insertTampered("eeeeeeee-0000-4000-8000-00000000000e", "2026-01-01 00:00:00+00")
)

/** Reads a body chunk by chunk, noting when the first arrived. */
const download = (url: string) =>
  Effect.promise(async () => {
    const started = performance.now()
    const response = await fetch(url)
    const reader = response.body!.getReader()
    let first = 0
    let bytes = 0
    let lines = 0
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (first === 0) first = performance.now() - started
      bytes += value.length
      for (let i = value.indexOf(10); i >= 0; i = value.indexOf(10, i + 1)) lines++
    }
    return { status: response.status, first, total: performance.now() - started, bytes, lines }
  })

/**
 * The server in its own process with a 64 MB heap limit, so that its memory is its own: a server that
 * held the corpus would die serving it.
 */
const separateServer = (databaseUrl: string) => serverProcess(databaseUrl, ["--max-old-space-size=64"])

/** The peak resident set size of a process so far, from Linux's /proc. */
const peakRss = (pid: number): number => {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) * 1024
}

for (const target of TestDatabase.targets()) {
  layer(serve(Layer.effectDiscard(fixture).pipe(Layer.provideMerge(target.layer))), { timeout: 300_000 })(
    `streaming on ${target.name}`,
    (it) => {
      it.effect(
        "the first bytes arrive long before the export ends",
        () =>
          Effect.gen(function* () {
            const base = yield* baseUrl
            const r = yield* download(
              `${base}/api/v1/ground-truth/export?approved_only=false&until=2026-01-01`
            )
            console.log(
              `${target.name}: ${r.lines} samples, ${(r.bytes / 1e6).toFixed(1)} MB, first bytes after ${r.first.toFixed(0)} ms, ` +
                `all after ${r.total.toFixed(0)} ms`
            )
            expect(r.status).toBe(200)
            expect(r.lines).toBe(JOBS)
            expect(r.first * 5).toBeLessThan(r.total)
          }),
        300_000
      )

      it.scoped(
        "a server process with a 64 MB heap serves the 86 MB export, its memory flat",
        () =>
          Effect.gen(function* () {
            const { url } = yield* TestDatabase.TestDatabase
            const server = yield* separateServer(url)
            const startup = peakRss(server.child.pid!)
            const r = yield* download(
              `${server.base}/api/v1/ground-truth/export?approved_only=false&until=2026-01-01`
            )
            const peak = peakRss(server.child.pid!)
            console.log(
              `${target.name}: separate server, ${(r.bytes / 1e6).toFixed(1)} MB served; peak RSS ${(startup / 1e6).toFixed(0)} MB ` +
                `after start, ${(peak / 1e6).toFixed(0)} MB after the export`
            )
            expect(r.status).toBe(200)
            expect(r.lines).toBe(JOBS)
            expect(peak - startup).toBeLessThan(r.bytes)
          }),
        300_000
      )

      it.scoped(
        "SIGTERM: new connections are refused, the running export finishes, then the process exits; requests are logged",
        () =>
          Effect.gen(function* () {
            const { url } = yield* TestDatabase.TestDatabase
            const server = yield* separateServer(url)
            const exited = new Promise<number | null>((resolve) => server.child.once("exit", resolve))
            const result = yield* Effect.promise(async () => {
              const response = await fetch(
                `${server.base}/api/v1/ground-truth/export?approved_only=false&until=2026-01-01`
              )
              const reader = response.body!.getReader()
              await reader.read()
              server.child.kill("SIGTERM")
              await new Promise((resolve) => setTimeout(resolve, 200))
              const refused = await fetch(`${server.base}/healthz`).then(
                () => false,
                () => true
              )
              let lines = 0
              for (;;) {
                const { done, value } = await reader.read()
                if (done) break
                for (let i = value.indexOf(10); i >= 0; i = value.indexOf(10, i + 1)) lines++
              }
              return { refused, lines, code: await exited }
            })
            // The first chunk's lines were not counted: it holds whole lines, fewer than all of them.
            expect(result.refused).toBe(true)
            expect(result.lines).toBeGreaterThan(JOBS - 2000)
            expect(result.code).toBe(0)
            const log = server
              .output()
              .split("\n")
              .filter((l) => l.startsWith("{"))
              .map((l) => JSON.parse(l) as { message: string; annotations: Record<string, unknown> })
              .find((l) => l.message === "request")
            expect(log?.annotations).toMatchObject({
              method: "GET",
              path: "/api/v1/ground-truth/export",
              status: 200
            })
            expect(log?.annotations.bytes).toBeGreaterThan(80_000_000)
            expect(typeof log?.annotations.duration_ms).toBe("number")
          }),
        120_000
      )

      it.effect(
        "100 downloads aborted mid-stream leave no connection busy, and the server still answers",
        () =>
          Effect.gen(function* () {
            const base = yield* baseUrl
            const aborted = yield* Effect.forEach(
              Array.from({ length: 100 }, (_, i) => i),
              (i) =>
                Effect.promise(async () => {
                  const controller = new AbortController()
                  const response = await fetch(
                    `${base}/api/v1/ground-truth/export?approved_only=false&until=2026-01-01`,
                    {
                      signal: controller.signal
                    }
                  )
                  const reader = response.body!.getReader()
                  // Read a few chunks (more for some), then walk away.
                  for (let k = 0; k <= i % 5; k++) await reader.read()
                  controller.abort()
                  return response.status
                }),
              { concurrency: 10 }
            )
            expect(aborted.every((s) => s === 200)).toBe(true)
            const { kind } = yield* TestDatabase.TestDatabase
            if (kind === "postgres") {
              const sql = yield* SqlClient.SqlClient
              const busy = Effect.map(
                sql<{ n: number }>`
                  SELECT count(*)::int AS n FROM pg_stat_activity
                  WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`,
                ([row]) => row.n
              )
              let n = yield* busy
              for (let i = 0; i < 50 && n > 0; i++) {
                // Real time, not the test clock: the database needs it to see the connections go idle.
                yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 100)))
                n = yield* busy
              }
              console.log(`${target.name}: connections not idle after 100 aborted downloads: ${n}`)
              expect(n).toBe(0)
            }
            // No transaction was left open: a new export and stats run to the end.
            const health = yield* get(`${base}/healthz`)
            expect(health.status).toBe(200)
            const r = yield* download(`${base}/api/v1/ground-truth/export?until=2025-01-15`)
            expect(r.status).toBe(200)
            expect(r.lines).toBeGreaterThan(0)
            const stats = yield* get(`${base}/api/v1/ground-truth/stats`)
            expect(((yield* Effect.promise(() => stats.json())) as { total_jobs: number }).total_jobs).toBe(
              JOBS + 1
            )
          }),
        300_000
      )

      it.effect(
        "a replay failure after the first bytes breaks the transfer; before them it is a 500 JSON error",
        () =>
          Effect.gen(function* () {
            const base = yield* baseUrl
            const late = yield* Effect.promise(async () => {
              const response = await fetch(`${base}/api/v1/ground-truth/export?since=2025-06-01`)
              const status = response.status
              try {
                await response.arrayBuffer()
                return { status, failed: false }
              } catch {
                return { status, failed: true }
              }
            })
            expect(late).toEqual({ status: 200, failed: true })

            const early = yield* get(`${base}/api/v1/ground-truth/export?since=2025-12-31`)
            expect(early.status).toBe(500)
            const body = yield* json<ErrorBody>(early)
            expect(body.error.code).toBe("audit_trail_mismatch")
            expect(body.error.message).toContain("eeeeeeee-0000-4000-8000-00000000000e")
          }),
        120_000
      )
    }
  )
}
