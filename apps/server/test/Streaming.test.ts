/**
 * Streaming behaviour on a large corpus: the first bytes leave long before the export ends and memory
 * stays flat; aborted downloads give their connection back; a failure after the first bytes breaks the
 * transfer, one before them is a JSON error.
 */
import { type ChildProcess, execFile as execFileCallback, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import { promisify } from "node:util"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Jsonl } from "@ground-truth/core"
import { Demo, TestDatabase } from "@ground-truth/db"
import { Golden } from "@ground-truth/golden"
import { Effect, Layer } from "effect"
import { baseUrl, type ErrorBody, get, json, realSleep, requests, serve, serverProcess } from "./server.js"

const JOBS = 50_000

const execFile = promisify(execFileCallback)

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
      lines += Jsonl.countLines(value)
    }
    return { status: response.status, first, total: performance.now() - started, bytes, lines }
  })

/**
 * A client that asks for `target`, takes the first bytes, then reads nothing more (`rate` 0) or one
 * byte a second, until `finish` reads all that is left. `finish` resolves with whether the transfer
 * ended complete: the chunked body's last chunk received, without a connection error.
 */
const slowReader = (base: string, target: string, rate: 0 | 1) =>
  Effect.promise(
    () =>
      new Promise<{ readonly finish: () => Promise<{ readonly complete: boolean }> }>((resolve) => {
        const url = new URL(base)
        const socket = net.connect(Number(url.port), url.hostname)
        let tail = Buffer.alloc(0)
        let failed = false
        let trickle: NodeJS.Timeout | undefined
        const ended = new Promise<{ readonly complete: boolean }>((done) =>
          socket.on("close", () =>
            done({ complete: !failed && tail.toString("latin1").endsWith("\r\n0\r\n\r\n") })
          )
        )
        socket.on("error", () => {
          failed = true
        })
        socket.on("data", (b: Buffer) => {
          tail = Buffer.concat([tail, b]).subarray(-16)
        })
        socket.once("data", () => {
          socket.pause()
          if (rate === 1) trickle = setInterval(() => socket.read(1), 1000)
          resolve({
            finish: () => {
              clearInterval(trickle)
              socket.resume()
              return ended
            }
          })
        })
        socket.write(`GET ${target} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`)
      })
  )

/**
 * Reads `target` at about `rate` bytes a second through a socket with a small receive buffer (so that
 * the kernel cannot absorb megabytes on the reader's behalf, as a client across a real network cannot),
 * in Python: Node cannot size a socket's buffers. Resolves with the bytes received (headers and chunk
 * framing included) and whether the chunked body ended with its last chunk.
 */
const steadyReader = (base: string, target: string, rate: number) =>
  Effect.promise(async () => {
    const url = new URL(base)
    const script = `
import json, socket, sys, time
host, port, target, rate = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.connect((host, port))
s.sendall(f"GET {target} HTTP/1.1\\r\\nHost: {host}\\r\\nConnection: close\\r\\n\\r\\n".encode())
start, n, tail, reset = time.time(), 0, b"", False
while True:
    try:
        b = s.recv(16384)
    except ConnectionResetError:
        reset = True
        break
    if not b:
        break
    n += len(b)
    tail = (tail + b)[-16:]
    ahead = n / rate - (time.time() - start)
    if ahead > 0:
        time.sleep(ahead)
print(json.dumps({"bytes": n, "complete": not reset and tail.endswith(b"\\r\\n0\\r\\n\\r\\n")}))
`
    const { stdout } = await execFile("python3", ["-c", script, url.hostname, url.port, target, String(rate)])
    return JSON.parse(stdout) as { readonly bytes: number; readonly complete: boolean }
  })

/**
 * A client that asks for `target` over HTTP/`version`, takes the first bytes, then reads nothing more
 * until `finish` reads all that is left. `finish` resolves with whether the transfer ended complete as
 * the client can tell (over HTTP/1.1, the chunked body's last chunk; over HTTP/1.0, which has no framing,
 * a clean end of the connection) and whether the connection was reset. In Python: a Node socket reports
 * a reset that comes while received bytes are still unread as a clean end (libuv takes the hang-up after
 * a partial read for the end of the stream), so a Node client that lags behind cannot see one.
 */
const stalledReader = (base: string, target: string, version: "1.0" | "1.1") =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{
          readonly child: ChildProcess
          readonly finish: () => Promise<{ readonly complete: boolean; readonly reset: boolean }>
        }>((resolve, reject) => {
          const url = new URL(base)
          const script = `
import json, socket, sys
host, port, target, version = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.create_connection((host, port))
close = "" if version == "1.0" else "Connection: close\\r\\n"
s.sendall(f"GET {target} HTTP/{version}\\r\\nHost: {host}\\r\\n{close}\\r\\n".encode())
tail, reset = s.recv(16384)[-16:], False
print("reading", flush=True)
sys.stdin.readline()
while True:
    try:
        b = s.recv(65536)
    except ConnectionResetError:
        reset = True
        break
    if not b:
        break
    tail = (tail + b)[-16:]
complete = not reset and (version == "1.0" or tail.endswith(b"\\r\\n0\\r\\n\\r\\n"))
print(json.dumps({"complete": complete, "reset": reset}))
`
          const child = spawn("python3", ["-c", script, url.hostname, url.port, target, version], {
            stdio: ["pipe", "pipe", "inherit"]
          })
          let out = ""
          const ended = new Promise<string>((done) => child.once("close", () => done(out)))
          child.once("close", (code) => reject(new Error(`the reader exited with ${code}: ${out}`)))
          child.stdout!.on("data", (b: Buffer) => {
            out += b.toString("utf8")
            if (out === "reading\n")
              resolve({
                child,
                finish: () => {
                  child.stdin!.end("\n")
                  return ended.then((o) => JSON.parse(o.slice("reading\n".length)))
                }
              })
          })
        })
    ),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  )

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
            // A grace longer than the export can take on a busy machine: the default 30 s is not.
            const server = yield* serverProcess(url, ["--max-old-space-size=64"], {
              GROUND_TRUTH_SHUTDOWN_GRACE: "10 minutes"
            })
            const exited = new Promise<number | null>((resolve) => server.child.once("exit", resolve))
            const result = yield* Effect.promise(async () => {
              // Plain, so the bytes logged (what left on the wire) are the corpus's own.
              const response = await fetch(
                `${server.base}/api/v1/ground-truth/export?approved_only=false&until=2026-01-01`,
                { headers: { "accept-encoding": "identity" } }
              )
              const reader = response.body!.getReader()
              await reader.read()
              server.child.kill("SIGTERM")
              // A request made as the signal lands is answered in full when the server took it before it
              // handled the signal (delivery is asynchronous: the kill returns first), answered 503 and its
              // connection closed when it came on a connection accepted just before, or refused; never
              // left waiting.
              const racing = await fetch(`${server.base}/healthz`, {
                signal: AbortSignal.timeout(20_000)
              }).then(
                (r) => r.status,
                (e: Error) => (e.name === "TimeoutError" ? "unanswered" : "refused")
              )
              await new Promise((resolve) => setTimeout(resolve, 200))
              const refused = await fetch(`${server.base}/healthz`, {
                signal: AbortSignal.timeout(20_000)
              }).then(
                (r) => r.status === 503,
                (e: Error) => e.name !== "TimeoutError"
              )
              let lines = 0
              for (;;) {
                const { done, value } = await reader.read()
                if (done) break
                lines += Jsonl.countLines(value)
              }
              return { racing, refused, lines, code: await exited }
            })
            expect([200, 503, "refused"]).toContain(result.racing)
            // The first chunk's lines were not counted: it holds whole lines, fewer than all of them.
            expect(result.refused).toBe(true)
            expect(result.lines).toBeGreaterThan(JOBS - 2000)
            expect(result.code).toBe(0)
            // The export's line: a racing request answered 503 is logged too, and before it (the export's
            // line is written when its last byte has left).
            const log = server
              .output()
              .split("\n")
              .filter((l) => l.startsWith("{"))
              .map((l) => JSON.parse(l) as { message: string; annotations: Record<string, unknown> })
              .find((l) => l.message === "request" && l.annotations.path !== "/healthz")
            expect(log?.annotations).toMatchObject({
              method: "GET",
              path: "/api/v1/ground-truth/export",
              status: 200
            })
            expect(log?.annotations.bytes).toBeGreaterThan(80_000_000)
            expect(typeof log?.annotations.duration_ms).toBe("number")
          }),
        600_000
      )

      // One server per framing: on the embedded database a second export would wait for the first's
      // transaction, and not begin within the grace.
      for (const version of ["1.0", "1.1"] as const)
        it.scoped(
          `SIGTERM: an HTTP/${version} download still running when the grace ends is reset, not closed, and logged as cut`,
          () =>
            Effect.gen(function* () {
              const { url, kind } = yield* TestDatabase.TestDatabase
              const server = yield* serverProcess(url, [], { GROUND_TRUTH_SHUTDOWN_GRACE: "1 second" })
              // "close", not "exit": by then all the process wrote has been read.
              const closed = new Promise<number | null>((resolve) => server.child.once("close", resolve))
              // 86 MB, taken no further than the first bytes: it cannot finish within the grace.
              const reader = yield* stalledReader(
                server.base,
                "/api/v1/ground-truth/export?approved_only=false&until=2026-01-01",
                version
              )
              const signalled = performance.now()
              server.child.kill("SIGTERM")
              const code = yield* Effect.promise(() => closed)
              const exitedAfter = performance.now() - signalled
              const transfer = yield* Effect.promise(reader.finish)
              console.log(
                `${kind}: HTTP/${version} export at SIGTERM with a 1 s grace: exit ${code} after ` +
                  `${exitedAfter.toFixed(0)} ms; the client saw ${transfer.reset ? "a reset" : "a clean end"}`
              )
              // Not a clean end, which a reader without chunked framing takes for a whole body.
              expect(transfer).toEqual({ complete: false, reset: true })
              expect(code).toBe(0)
              expect(exitedAfter).toBeGreaterThanOrEqual(1_000)
              expect(exitedAfter).toBeLessThan(15_000)
              const cut = server
                .output()
                .split("\n")
                .filter((l) => l.includes('"message":"request cut: the shutdown grace ended"'))
                .map((l) => JSON.parse(l) as { logLevel: string; annotations: Record<string, unknown> })
              expect(cut).toHaveLength(1)
              expect(cut[0]).toMatchObject({ logLevel: "WARN", annotations: { shutdown_grace: "1s" } })
              const entries = requests(server.output(), "/api/v1/ground-truth/export")
              expect(entries).toHaveLength(1)
              expect(entries[0]).toMatchObject({ status: 200, outcome: "cut at shutdown" })
            }),
          120_000
        )

      it.scoped(
        "a stalled and a trickling reader are cut after GROUND_TRUTH_SEND_TIMEOUT; their snapshots come back",
        () =>
          Effect.gen(function* () {
            const { url, kind } = yield* TestDatabase.TestDatabase
            const server = yield* serverProcess(url, [], {
              GROUND_TRUTH_DB_POOL: "2",
              GROUND_TRUTH_SEND_TIMEOUT: "3 seconds"
            })
            const target = "/api/v1/ground-truth/export?approved_only=false&until=2026-01-01"
            // 86 MB: far more than the socket buffers of both ends can hold.
            const readers = yield* Effect.all(
              [slowReader(server.base, target, 0), slowReader(server.base, target, 1)],
              {
                concurrency: "unbounded"
              }
            )
            const exports = () => requests(server.output(), "/api/v1/ground-truth/export")
            // The server cuts both and logs them (on the embedded database one after the other: it serves
            // one transaction at a time). Without a bound it never does.
            for (let i = 0; i < 600 && exports().length < 2; i++) yield* realSleep(100)
            const cut = exports()
            console.log(
              `${kind}: send timeout 3 s; the stalled and the 1 byte/s downloads were cut after ` +
                `${cut.map((r) => `${r.duration_ms} ms (${(r.bytes / 1e6).toFixed(1)} MB sent)`).join(" and ")}`
            )
            expect(cut).toHaveLength(2)
            // Each was cut 3 s after it stalled; on the embedded database the second waited for the first.
            for (const r of cut) {
              expect(r.duration_ms).toBeGreaterThanOrEqual(3_000)
              expect(r.duration_ms).toBeLessThan(kind === "embedded" ? 30_000 : 15_000)
            }
            expect(server.output().match(/export cut: the client took no data/g)).toHaveLength(2)
            // The clients cannot mistake what they got for a whole corpus.
            for (const reader of readers)
              expect(yield* Effect.promise(reader.finish)).toEqual({ complete: false })
            if (kind === "postgres") {
              // Both snapshots were rolled back: no backend of the server is left in a transaction.
              let states = yield* TestDatabase.backends("ground-truth")
              for (let i = 0; i < 50 && states.some((b) => b.state !== "idle"); i++) {
                yield* realSleep(100)
                states = yield* TestDatabase.backends("ground-truth")
              }
              expect(states.filter((b) => b.state !== "idle")).toEqual([])
            }
            // The pool of two is whole again: health, stats and a full export all answer.
            expect((yield* get(`${server.base}/healthz`)).status).toBe(200)
            expect((yield* get(`${server.base}/api/v1/ground-truth/stats`)).status).toBe(200)
            const r = yield* download(`${server.base}${target}`)
            expect(r.lines).toBe(JOBS)
          }),
        300_000
      )

      it.scoped(
        "a slow but steady reader is never cut, however long its download takes",
        () =>
          Effect.gen(function* () {
            const { url, kind } = yield* TestDatabase.TestDatabase
            // The kernel's send buffer (up to 4 MB here) lets a writer on only once about a third of it is
            // free: at 2 MB/s that is a pause of ~0.7 s, well within 3 s.
            const server = yield* serverProcess(url, [], { GROUND_TRUTH_SEND_TIMEOUT: "3 seconds" })
            const target = "/api/v1/ground-truth/export?approved_only=false&until=2025-02-01"
            const whole = yield* download(`${server.base}${target}`)
            const started = performance.now()
            const r = yield* steadyReader(server.base, target, 2 * 1024 * 1024)
            console.log(
              `${kind}: ${(r.bytes / 1e6).toFixed(1)} MB read at 2 MB/s through a 64 KB receive buffer in ` +
                `${((performance.now() - started) / 1000).toFixed(1)} s with a 3 s send timeout: ` +
                (r.complete ? "whole" : "cut")
            )
            expect(whole.bytes).toBeGreaterThan(8_000_000)
            expect(r.complete).toBe(true)
            expect(r.bytes).toBeGreaterThan(whole.bytes)
            expect(server.output()).not.toContain("export cut")
          }),
        300_000
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
