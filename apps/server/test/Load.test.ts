/**
 * Load on one server process (`pnpm serve`, a pool of 4 connections reached through a counting TCP
 * proxy): 20 concurrent full exports while stats are polled give 20 identical bodies with the pool
 * and memory bounded; 200 downloads aborted at random points leave no busy connection behind, and
 * memory does not grow with them. Figures are printed.
 */
import * as http from "node:http"
import { expect, layer } from "@effect/vitest"
import { Demo, TestDatabase } from "@ground-truth/db"
import { Effect, Layer } from "effect"
import { freePort, memory, proxy, serverProcess } from "./server.js"

const JOBS = 10_000
const POOL = 4
const MB = 1024 * 1024

interface Download {
  readonly status: number
  readonly body: Buffer
}

const download = (url: string) =>
  Effect.promise(
    () =>
      new Promise<Download>((resolve, reject) => {
        http
          .get(url, (response) => {
            const chunks: Array<Buffer> = []
            response.on("data", (b: Buffer) => chunks.push(b))
            response.on("end", () =>
              resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) })
            )
            response.on("error", reject)
          })
          .on("error", reject)
      })
  )

/**
 * Starts a download and destroys its socket once `after` bytes of the body have arrived, or, when
 * `after` is negative, after `-after` milliseconds, whatever has arrived by then (headers or not).
 * Resolves with the bytes received, or `undefined` when nothing moved for 30 s (a server that stalls,
 * its connections all held by earlier aborted downloads, say).
 */
const aborted = (url: string, after: number) =>
  Effect.promise(
    () =>
      new Promise<number | undefined>((resolve) => {
        let received = 0
        let stall: NodeJS.Timeout | undefined
        const request = http.get(url, (response) => {
          response.on("data", (b: Buffer) => {
            watch()
            received += b.length
            if (after >= 0 && received >= after) request.destroy()
          })
          response.on("error", () => {})
        })
        const watch = () => {
          clearTimeout(stall)
          stall = setTimeout(() => {
            resolve(undefined)
            request.destroy()
          }, 30_000)
        }
        request.on("error", () => {})
        request.on("close", () => {
          clearTimeout(stall)
          resolve(received)
        })
        watch()
        if (after < 0) setTimeout(() => request.destroy(), -after)
      })
  )

for (const target of TestDatabase.targets()) {
  layer(Layer.effectDiscard(Demo.seed({ jobs: JOBS, seed: 17 })).pipe(Layer.provideMerge(target.layer)), {
    timeout: 600_000,
    excludeTestServices: true
  })(`load on ${target.name}`, (it) => {
    /** The server, its database reached through a proxy that counts the server's connections. */
    const setup = Effect.gen(function* () {
      const { url } = yield* TestDatabase.TestDatabase
      const port = yield* freePort
      const connections = yield* proxy(port, new URL(url))
      const via = new URL(url)
      via.hostname = "127.0.0.1"
      via.port = String(port)
      const server = yield* serverProcess(via.toString(), [], { GROUND_TRUTH_DB_POOL: String(POOL) })
      const pid = server.child.pid!
      const exportUrl = `${server.base}/api/v1/ground-truth/export?approved_only=false`
      const reference = yield* download(exportUrl)
      expect(reference.status).toBe(200)
      expect(reference.body.toString("utf8").split("\n").length - 1).toBe(JOBS)
      return { ...server, pid, connections, exportUrl, reference: reference.body }
    })

    it.scoped(
      "20 concurrent full exports while stats are polled: identical bodies, bounded pool and memory",
      () =>
        Effect.gen(function* () {
          const { base, pid, connections, exportUrl, reference } = yield* setup
          const before = memory(pid).rss
          let done = false
          let polls = 0
          const statsBodies = new Set<string>()
          const statuses = new Set<number>()
          let peakRss = before
          const poll = Effect.gen(function* () {
            while (!done) {
              const stats = yield* download(`${base}/api/v1/ground-truth/stats`)
              statuses.add(stats.status)
              statsBodies.add(stats.body.toString("utf8"))
              polls++
              peakRss = Math.max(peakRss, memory(pid).rss)
              yield* Effect.sleep("20 millis")
            }
          })
          const started = Date.now()
          const [bodies] = yield* Effect.all(
            [
              Effect.all(
                Array.from({ length: 20 }, () => download(exportUrl)),
                { concurrency: "unbounded" }
              ).pipe(
                Effect.ensuring(
                  Effect.sync(() => {
                    done = true
                  })
                )
              ),
              poll
            ],
            { concurrency: "unbounded" }
          )
          const seconds = (Date.now() - started) / 1000
          for (const body of bodies) {
            expect(body.status).toBe(200)
            expect(body.body.equals(reference)).toBe(true)
          }
          expect([...statuses]).toEqual([200])
          expect(statsBodies.size).toBe(1)
          expect(polls).toBeGreaterThan(0)
          expect(connections.peak()).toBeLessThanOrEqual(POOL)
          const grew = peakRss - before
          console.log(
            `${target.name}: 20 concurrent exports of ${reference.length} bytes (${JOBS} samples) in ${seconds.toFixed(1)} s, ` +
              `all identical; ${polls} stats polls, all 200 and equal; database connections at most ${connections.peak()} ` +
              `(pool ${POOL}, ${connections.total()} opened); server RSS ${(before / MB).toFixed(0)} MB before, ` +
              `${(peakRss / MB).toFixed(0)} MB at most (+${(grew / MB).toFixed(0)} MB for ${((20 * reference.length) / MB).toFixed(0)} MB sent)`
          )
        }),
      300_000
    )

    it.scoped(
      "200 downloads aborted at random points: no busy connection left, no growth in memory",
      () =>
        Effect.gen(function* () {
          const { pid, connections, exportUrl, reference } = yield* setup
          // A fixed seed: a failure can be replayed.
          let state = 12345
          const random = () => {
            state = (Math.imul(state, 1103515245) + 12345) >>> 0
            return state / 2 ** 32
          }
          // One in ten before the first byte (during the request or while waiting for a connection).
          const points = Array.from({ length: 200 }, () =>
            random() < 0.1 ? -Math.floor(1 + random() * 20) : Math.floor(random() * reference.length)
          )
          const round = (from: number, to: number) =>
            Effect.all(
              points.slice(from, to).map((after) => aborted(exportUrl, after)),
              { concurrency: 10 }
            )
          const settled = Effect.gen(function* () {
            // The server notices a closed socket, stops its export and returns the connection.
            for (let i = 0; i < 100 && connections.open() > POOL; i++) yield* Effect.sleep("50 millis")
            yield* Effect.sleep("500 millis")
            return memory(pid).rss
          })
          yield* round(0, 20)
          const warm = yield* settled
          const received = yield* round(20, 200)
          const after = yield* settled
          expect(received.filter((r) => r === undefined)).toHaveLength(0)

          let busy = -1
          if (target.name === "postgres") {
            const rows = yield* TestDatabase.backends("ground-truth")
            busy = rows.filter((row) => row.state !== "idle").length
            expect(busy).toBe(0)
          }
          expect(connections.open()).toBeLessThanOrEqual(POOL)
          // Every connection is usable again: as many full exports as the pool holds, plus one, all whole.
          const next = yield* Effect.all(
            Array.from({ length: POOL + 1 }, () => download(exportUrl)),
            { concurrency: "unbounded" }
          ).pipe(Effect.timeout("120 seconds"))
          for (const body of next) expect(body.body.equals(reference)).toBe(true)
          const growth = after - warm
          // Garbage collection makes RSS swing by tens of MB (+33 to +48 MB alone, +77 MB once with the whole
          // suite running beside it); what must not happen is growth with the number of aborts (a held
          // batch is ~2 MB: 180 of them would add 360 MB or more).
          expect(growth).toBeLessThan(160 * MB)
          const sum = received.reduce((a: number, b) => a + (b ?? 0), 0)
          console.log(
            `${target.name}: 200 aborted downloads (${points.filter((p) => p < 0).length} before the first byte, ` +
              `${(sum / MB).toFixed(0)} MB received in all); database connections open after: ${connections.open()} ` +
              `(pool ${POOL}, at most ${connections.peak()})` +
              (busy >= 0 ? `, busy: ${busy}` : "") +
              `; server RSS ${(warm / MB).toFixed(0)} MB after 20 aborts, ${(after / MB).toFixed(0)} MB after 200 ` +
              `(${growth >= 0 ? "+" : ""}${(growth / MB).toFixed(1)} MB, ${(growth / 180 / 1024).toFixed(0)} KB per abort); ${POOL + 1} full exports after: whole`
          )
        }),
      300_000
    )
  })
}
